// The AWS roles of .github/workflows/deploy.yml, created by the delivery project when asked
// (githubActionsStacks): GitHub's OIDC provider and, per stack, a role only that repository's
// jobs in the stack's GitHub environment can assume, with the stack's Deployments permissions.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ConfigError } from "../config";
import { parseDeliveryConfig } from "../delivery/config";
import { delivery } from "../delivery/program";
import { Json, PlannedResource, PlanResult, runProgram } from "../harness/run";
import { resolveStackConfig, ROOT } from "../harness/stackConfig";
import { all, input, one, parsePolicy } from "./helpers";

const DELIVERY_DIR = path.join(ROOT, "delivery");
const GITHUB_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";

function planDelivery(sets: readonly string[] = []): Promise<PlanResult> {
    return runProgram(() => delivery(), resolveStackConfig("example", sets, DELIVERY_DIR));
}

/** Policy ARNs attached to a role, by the role's name. */
function attached(plan: PlanResult, roleName: string): string[] {
    return all(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => input(a, "role") === roleName).map((a) => input<string>(a, "policyArn")).sort();
}

describe("delivery: GitHub Actions roles", function () {
    this.timeout(60000);

    it("are off by default: no GitHub provider, no role", async () => {
        const plan = await planDelivery();
        assert.deepStrictEqual(all(plan, GITHUB_PROVIDER).map((p) => input(p, "url")), ["https://api.pulumi.com/oidc"]);
        assert.deepStrictEqual(all(plan, "delivery:index:GithubActionsRole"), []);
        assert.deepStrictEqual(plan.outputs.githubDeployRoles, {});
    });

    it("trust only the repository's jobs in the stack's environment, with the STS audience, and carry the stack's deploy policies", async () => {
        const plan = await planDelivery(["githubActionsStacks[0]=dev", "githubActionsStacks[1]=prod"]);
        const provider = all(plan, GITHUB_PROVIDER).find((p) => input(p, "url") === "https://token.actions.githubusercontent.com")!;
        assert.deepStrictEqual(input(provider, "clientIdLists"), ["sts.amazonaws.com"]);
        for (const stack of ["dev", "prod"]) {
            const role = one(plan, "aws:iam/role:Role", `-${stack}-github`);
            const trust = parsePolicy(role, "assumeRolePolicy");
            assert.strictEqual(trust.Statement.length, 1);
            const s = trust.Statement[0] as Record<string, Json>;
            assert.strictEqual(s.Effect, "Allow");
            assert.strictEqual(s.Action, "sts:AssumeRoleWithWebIdentity");
            assert.deepStrictEqual(s.Principal, { Federated: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" });
            // Exact match, no wildcard: neither another repository, nor a ref without the environment, nor another stack's environment.
            assert.deepStrictEqual(s.Condition, {
                StringEquals: {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": `repo:acme/flask-platform:environment:${stack}`,
                },
            });
            assert.strictEqual(input(role, "path"), "/pulumi-deploy/");
            // The same permissions as the stack's Pulumi Deployments role, no more.
            const github = attached(plan, `flask-platform-${stack}-github`);
            assert.ok(github.length > 0);
            assert.deepStrictEqual(github, attached(plan, `flask-platform-${stack}-deploy`));
            assert.ok(github.every((arn) => arn.includes(`flask-platform-${stack}-deploy-`)), "only this stack's deploy policies");
        }
        assert.deepStrictEqual(Object.keys(plan.outputs.githubDeployRoles as Record<string, Json>).sort(), ["dev", "prod"]);
    });

    it("match what deploy.yml's up job presents: environment = STACK, session length within the role's", async () => {
        const workflow = yaml.load(fs.readFileSync(path.join(ROOT, ".github", "workflows", "deploy.yml"), "utf8")) as {
            env: Record<string, string>;
            jobs: Record<string, { environment?: string; steps: { uses?: string; with?: Record<string, unknown> }[] }>;
        };
        const stack = workflow.env.STACK;
        const up = workflow.jobs.up;
        // A job with `environment:` gets `repo:<owner>/<repo>:environment:<name>` as its subject.
        assert.strictEqual(up.environment, stack);
        const plan = await planDelivery([`githubActionsStacks[0]=${stack}`]);
        const role = one(plan, "aws:iam/role:Role", `-${stack}-github`);
        const sub = ((parsePolicy(role, "assumeRolePolicy").Statement[0].Condition as Record<string, Record<string, string>>).StringEquals)["token.actions.githubusercontent.com:sub"];
        assert.strictEqual(sub, `repo:acme/flask-platform:environment:${up.environment}`);
        const creds = up.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
        assert.ok(Number(creds.with!["role-duration-seconds"]) <= input<number>(role, "maxSessionDuration"));
        // The role ARN the workflow names is the one delivery/ creates (path and name).
        assert.match(workflow.env.AWS_DEPLOY_ROLE_ARN, new RegExp(`:role${input<string>(role, "path")}${input<string>(role, "name")}$`));
        // configure-aws-credentials requests the default audience, which the provider lists.
        assert.strictEqual(creds.with!.audience, undefined);
    });

    it("adopt the account's existing GitHub provider by ARN", async () => {
        const adopted = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
        const plan = await planDelivery(["githubActionsStacks[0]=dev", `githubOidcProviderArn=${adopted}`]);
        assert.deepStrictEqual(all(plan, GITHUB_PROVIDER).map((p) => input(p, "url")), ["https://api.pulumi.com/oidc"]);
        const role: PlannedResource = one(plan, "aws:iam/role:Role", "-dev-github");
        assert.deepStrictEqual(parsePolicy(role, "assumeRolePolicy").Statement[0].Principal, { Federated: adopted });
    });

    it("refuse stacks the delivery does not know and a provider ARN for another issuer, naming the key", () => {
        const problems = (raw: Record<string, string>): readonly string[] => {
            try {
                parseDeliveryConfig({ org: "acme", repository: "acme/app", ...raw });
            } catch (e) {
                assert.ok(e instanceof ConfigError);
                return e.problems;
            }
            assert.fail("accepted");
        };
        assert.deepStrictEqual(problems({ githubActionsStacks: '["dev","staging"]' }),
            ['githubActionsStacks must name stacks among dev, prod (got "staging"): the role takes that stack\'s deploy policies']);
        assert.match(problems({ githubActionsStacks: '"dev"' })[0], /^githubActionsStacks must be a list of distinct stack names/);
        assert.match(problems({ githubOidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/api.pulumi.com/oidc" })[0],
            /^githubOidcProviderArn must be arn:aws:iam::<account>:oidc-provider\/token\.actions\.githubusercontent\.com/);
    });
});
