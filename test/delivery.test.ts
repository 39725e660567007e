// The delivery project (delivery/) under the mock cloud, and the deploy role's permissions held
// against what the app program actually creates in every committed stack and target.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ConfigError, TARGET_NAMES } from "../config";
import { DELIVERY_SCHEMA, parseDeliveryConfig } from "../delivery/config";
import { delivery, NOTIFY_EVENTS } from "../delivery/program";
import {
    actionMatches, actionsFor, allGrantedTokens, boundaryPolicy, deployPolicy, documentAllows, GRANTS, MANAGED_POLICY_MAX_CHARS, PACKAGED_CHILDREN,
    PolicyDocument, ungranted,
} from "../delivery/permissions";
import { deploymentSubject, GATE_COMMANDS, pathFilters } from "../delivery/stackDelivery";
import { Json, PlannedResource, PlanResult, runProgram } from "../harness/run";
import { availableStacks, resolveStackConfig, ROOT } from "../harness/stackConfig";
import { parseArgs } from "../scripts/plan";
import { all, EKS, input, one, parsePolicy, planStack } from "./helpers";

const DELIVERY_DIR = path.join(ROOT, "delivery");
const BOUNDARY = "arn:aws:iam::123456789012:policy/pulumi-deploy/flask-platform-dev-app-boundary";

function planDelivery(sets: readonly string[] = []): Promise<PlanResult> {
    return runProgram(() => delivery(), resolveStackConfig("example", sets, DELIVERY_DIR));
}

function doc(r: PlannedResource): PolicyDocument {
    return JSON.parse(input<string>(r, "policy")) as PolicyDocument;
}

/** Minimal glob matcher with Deployments' semantics: `**` crosses directories, `*` does not. */
function globMatches(glob: string, file: string): boolean {
    let re = "";
    for (let i = 0; i < glob.length; i++) {
        if (glob.startsWith("**/", i)) {
            re += "(?:.*/)?";
            i += 2;
        } else if (glob.startsWith("**", i)) {
            re += ".*";
            i += 1;
        } else if (glob[i] === "*") {
            re += "[^/]*";
        } else {
            re += glob[i].replace(/[.+?^${}()|[\]\\]/g, "\\$&");
        }
    }
    return new RegExp(`^${re}$`).test(file);
}
function triggers(filters: readonly string[], file: string): boolean {
    const include = filters.filter((f) => !f.startsWith("!"));
    const exclude = filters.filter((f) => f.startsWith("!")).map((f) => f.slice(1));
    return (include.length === 0 || include.some((g) => globMatches(g, file))) && !exclude.some((g) => globMatches(g, file));
}

describe("delivery project", function () {
    let plan: PlanResult;
    before(async () => {
        plan = await planDelivery();
    });

    it("creates the Pulumi OIDC provider with the organization as audience, or adopts an existing one", async () => {
        const provider = one(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        assert.strictEqual(input(provider, "url"), "https://api.pulumi.com/oidc");
        assert.deepStrictEqual(input(provider, "clientIdLists"), ["acme"]);

        const adopted = "arn:aws:iam::123456789012:oidc-provider/api.pulumi.com/oidc";
        const adopting = await planDelivery([`oidcProviderArn=${adopted}`]);
        assert.strictEqual(all(adopting, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
        for (const role of all(adopting, "aws:iam/role:Role")) {
            assert.strictEqual(parsePolicy(role, "assumeRolePolicy").Statement[0].Principal && (parsePolicy(role, "assumeRolePolicy").Statement[0].Principal as Record<string, Json>).Federated, adopted);
        }
    });

    it("trusts each deploy role to its own stack's deployments only (Pulumi's documented sub format)", () => {
        assert.strictEqual(deploymentSubject("acme", "flask-platform", "dev"), "pulumi:deploy:org:acme:project:flask-platform:stack:dev:operation:*:scope:write");
        for (const stack of ["dev", "prod"]) {
            const role = one(plan, "aws:iam/role:Role", `-${stack}-deploy`);
            const trust = parsePolicy(role, "assumeRolePolicy");
            assert.strictEqual(trust.Statement.length, 1);
            const s = trust.Statement[0] as Record<string, Json>;
            assert.strictEqual(s.Action, "sts:AssumeRoleWithWebIdentity");
            assert.deepStrictEqual(s.Principal, { Federated: "arn:aws:iam::123456789012:oidc-provider/api.pulumi.com/oidc" });
            assert.deepStrictEqual(s.Condition, {
                StringEquals: { "api.pulumi.com/oidc:aud": "acme" },
                StringLike: { "api.pulumi.com/oidc:sub": `pulumi:deploy:org:acme:project:flask-platform:stack:${stack}:operation:*:scope:write` },
            });
            // The deploy role lives outside every app stack's IAM path, so no stack can rewrite it.
            assert.strictEqual(input(role, "path"), "/pulumi-deploy/");
        }
    });

    it("gives each stack deployment settings: repo, branch, path filters, PR previews, its own role, the gate, caching", () => {
        for (const stack of ["dev", "prod"]) {
            const s = one(plan, "pulumiservice:index:DeploymentSettings", `-${stack}-settings`);
            assert.strictEqual(input(s, "organization"), "acme");
            assert.strictEqual(input(s, "project"), "flask-platform");
            assert.strictEqual(input(s, "stack"), stack);
            assert.strictEqual(s.inputs.github, undefined, "the deprecated github block must not be used");
            const vcs = input<Record<string, Json>>(s, "vcs");
            assert.strictEqual(vcs.provider, "github");
            assert.strictEqual(vcs.repository, "acme/flask-platform");
            assert.strictEqual(vcs.previewPullRequests, true);
            assert.strictEqual(vcs.deployCommits, stack === "dev", "dev deploys on push, prod never does");
            assert.deepStrictEqual(input(s, "sourceContext"), { git: { branch: "main", repoDir: "." } });
            const op = input<Record<string, Record<string, Json>>>(s, "operationContext");
            assert.deepStrictEqual(op.preRunCommands, [...GATE_COMMANDS]);
            const role = one(plan, "aws:iam/role:Role", `-${stack}-deploy`);
            const oidc = (op.oidc as Record<string, Record<string, Json>>).aws;
            assert.strictEqual(oidc.roleARN, `arn:aws:iam::123456789012:role/${input(role, "name")}`);
            assert.deepStrictEqual(input(s, "cacheOptions"), { enable: true });

            const paths = vcs.paths as string[];
            assert.ok(triggers(paths, "program.ts") && triggers(paths, "targets/ecs.ts") && triggers(paths, "app/app.py") && triggers(paths, `Pulumi.${stack}.yaml`));
            for (const quiet of ["README.md", "app/README.md", "delivery/program.ts", ".github/workflows/deploy.yml", "Jenkinsfile", "test/ecs.test.ts", `Pulumi.${stack === "dev" ? "prod" : "dev"}.yaml`, "app/tests/test_api.py"]) {
                assert.ok(!triggers(paths, quiet), `${quiet} must not deploy ${stack}`);
            }
        }
        assert.deepStrictEqual(pathFilters("infra", "dev").slice(0, 2), ["infra/Pulumi.yaml", "infra/Pulumi.dev.yaml"]);
    });

    it("the gate is the repository's own offline checks", () => {
        const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        for (const command of GATE_COMMANDS) {
            assert.ok(scripts[command.replace(/^npm run /, "")], `${command} is not a package.json script`);
        }
    });

    it("promotes prod only after dev's update succeeded, and never on push", () => {
        const hooks = all(plan, "pulumiservice:index:Webhook").filter((w) => input(w, "format") === "pulumi_deployments");
        assert.strictEqual(hooks.length, 1, "exactly one deployment webhook");
        const promote = hooks[0];
        assert.strictEqual(input(promote, "stackName"), "dev");
        assert.strictEqual(input(promote, "payloadUrl"), "flask-platform/prod");
        assert.deepStrictEqual(input(promote, "filters"), ["update_succeeded"]);
        assert.strictEqual(input(promote, "active"), true);
        const prodSettings = one(plan, "pulumiservice:index:DeploymentSettings", "-prod-settings");
        assert.ok(promote.options.dependsOn.includes(prodSettings.urn), "the webhook needs prod's settings to exist");
    });

    it("notifies on failures and drift through a secret URL, and schedules drift detection on prod", () => {
        for (const stack of ["dev", "prod"]) {
            const hook = one(plan, "pulumiservice:index:Webhook", `notify-${stack}`);
            assert.strictEqual(input(hook, "payloadUrl"), "[secret]");
            assert.strictEqual(input(hook, "stackName"), stack);
            assert.deepStrictEqual(input(hook, "filters"), [...NOTIFY_EVENTS]);
            for (const event of ["update_failed", "deployment_failed", "drift_detected"]) {
                assert.ok((input<string[]>(hook, "filters")).includes(event));
            }
        }
        const drift = one(plan, "pulumiservice:index:DriftSchedule");
        assert.strictEqual(input(drift, "stack"), "prod");
        assert.strictEqual(input(drift, "scheduleCron"), "0 6 * * *");
        assert.strictEqual(input(drift, "autoRemediate"), false);
    });

    it("leaves drift detection and notifications out when turned off", async () => {
        const bare = await planDelivery(["driftCron=off", "notifyUrl="]);
        assert.strictEqual(all(bare, "pulumiservice:index:DriftSchedule").length, 0);
        assert.deepStrictEqual(all(bare, "pulumiservice:index:Webhook").map((w) => w.name), ["promote"]);
    });

    it("rejects bad config naming the key, the value and what is allowed", () => {
        const problems = (raw: Record<string, string>): readonly string[] => {
            try {
                parseDeliveryConfig(raw);
            } catch (e) {
                assert.ok(e instanceof ConfigError);
                return e.problems;
            }
            assert.fail("accepted");
        };
        const ok = { org: "acme", repository: "acme/app" };
        assert.doesNotThrow(() => parseDeliveryConfig(ok));
        assert.deepStrictEqual(problems({}), ["org is required (a Pulumi organization name)", "repository is required (owner/name of a GitHub repository)"]);
        assert.deepStrictEqual(problems({ ...ok, promoteTo: "staging" }), ['promoteTo must be one of the stacks dev, prod (got "staging")']);
        assert.deepStrictEqual(problems({ ...ok, promoteTo: "dev" }), ['promoteTo must differ from pushStack (both "dev"): a stack cannot be promoted after itself']);
        assert.deepStrictEqual(problems({ ...ok, notifyFormat: "teams" }), ['notifyFormat must be one of raw, slack, ms_teams (got "teams")']);
        assert.deepStrictEqual(problems({ ...ok, repository: "https://github.com/acme/app" }), ['repository must be owner/name of a GitHub repository (got "https://github.com/acme/app")']);
        assert.match(problems({ ...ok, stakcs: "[]" })[0], /unknown config key "stakcs"/);
        assert.match(problems({ ...ok, stacks: '["dev","dev"]' })[0], /stacks must be a non-empty list of distinct stack names/);
    });

    it("declares the same config keys in delivery/Pulumi.yaml as delivery/config.ts", () => {
        const project = yaml.load(fs.readFileSync(path.join(DELIVERY_DIR, "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, { secret?: boolean }> };
        assert.strictEqual(project.name, "flask-delivery");
        assert.deepStrictEqual(Object.keys(project.config).sort(), Object.keys(DELIVERY_SCHEMA).sort());
        // Optional, so not `secret: true` (the CLI would refuse the plaintext default); the program keeps it secret.
        assert.strictEqual(project.config.notifyUrl.secret, undefined);
    });

    it("`npm run plan -- --project delivery` selects the delivery project", () => {
        assert.strictEqual(parseArgs(["--project", "delivery", "--stack", "example"]).project, "delivery");
        assert.strictEqual(parseArgs(["--stack", "dev"]).project, undefined);
        assert.throws(() => parseArgs(["--project", "nope", "--stack", "dev"]), /--project must be one of \., delivery \(got "nope"\)/);
    });
});

describe("deploy role permissions", function () {
    // Every committed stack on every target, plus a domain (Route 53 and ACM appear only then) and
    // the boundary key set (the app as the deploy role will run it).
    const variants: { stack: string; sets: string[] }[] = [];
    for (const stack of availableStacks()) {
        for (const target of TARGET_NAMES) {
            variants.push({ stack, sets: [...(target === "eks" ? EKS : [`target=${target}`]), `iamPermissionsBoundary=${BOUNDARY}`] });
        }
        variants.push({ stack, sets: ["target=ecs", "domainName=app.example.com"] });
        // Issue 12: the local docker-build builder (the default is codebuild).
        variants.push({ stack, sets: ["target=ecs", "imageBuilder=local"] });
        // issue 13: subscriptions and maintenance mode's listener lookup appear only when configured.
        variants.push({ stack, sets: ["target=ecs", "domainName=app.example.com", "maintenanceMode=true", "alarmEmails[0]=oncall@example.com", "alarmHttpsEndpoint=https://hooks.example.com/alarms"] });
    }
    // Issue 16: an existing VPC and an existing EKS cluster (subnet and cluster lookups).
    const adopt = ["existingVpcId=vpc-0a1b2c3d4e5f60718", "existingPrivateSubnetIds[0]=subnet-0aaaaaaaaaaaaaaa0", "existingPrivateSubnetIds[1]=subnet-0aaaaaaaaaaaaaaa1",
        "existingPublicSubnetIds[0]=subnet-0bbbbbbbbbbbbbbb0", "existingPublicSubnetIds[1]=subnet-0bbbbbbbbbbbbbbb1"];
    variants.push({ stack: "dev", sets: ["target=eks", "eksExistingCluster=platform-shared", ...adopt] });
    // Issue 16 §5: ECS Exec's task-role grant, under the boundary.
    variants.push({ stack: "dev", sets: ["target=ecs", "ecsExec=true", `iamPermissionsBoundary=${BOUNDARY}`] });
    const plans: { name: string; plan: PlanResult }[] = [];
    before(async function () {
        this.timeout(300000);
        for (const v of variants) {
            plans.push({ name: `${v.stack} ${v.sets.join(" ")}`, plan: await planStack(v.stack, v.sets) });
        }
    });
    const tokens = () => new Set(plans.flatMap(({ plan }) => [...plan.resources.map((r) => r.type), ...plan.invokes.map((i) => i.token)]));

    it("grants every resource type and invoke in every offline plan", () => {
        assert.deepStrictEqual(ungranted(tokens()), []);
        assert.ok(tokens().has("aws:route53/record:Record") && tokens().has("eks:index:Cluster") && tokens().has("aws:elasticbeanstalk/environment:Environment"),
            "the plans cover every target and the domain");
    });

    it("fails for a resource type the grant table does not know", () => {
        assert.deepStrictEqual(ungranted([...tokens(), "aws:sqs/queue:Queue", "awsx:ec2:Vpc"]), ["aws:sqs/queue:Queue"]);
        // And for a packaged component whose children are not listed.
        assert.deepStrictEqual(ungranted(["awsx:cloudtrail:Trail"]), ["awsx:cloudtrail:Trail"]);
    });

    it("carries no grant for a type no plan or packaged component creates", () => {
        const seen = tokens();
        const children = new Set(Object.entries(PACKAGED_CHILDREN).filter(([c]) => seen.has(c)).flatMap(([, kids]) => kids));
        const stale = Object.keys(GRANTS).filter((t) => !seen.has(t) && !children.has(t));
        assert.deepStrictEqual(stale, []);
    });

    it("every action of every planned type is in the deploy policy, IAM only under the stack's path", async () => {
        const plan = await planDelivery();
        for (const stack of ["dev", "prod"]) {
            const docs = all(plan, "aws:iam/policy:Policy").filter((p) => p.name.includes(`-${stack}-deploy-`)).map(doc);
            assert.ok(docs.length >= 1);
            for (const d of docs) {
                assert.ok(JSON.stringify(d).length <= MANAGED_POLICY_MAX_CHARS, "each document fits a managed policy");
            }
            for (const action of actionsFor(tokens())) {
                assert.ok(documentAllows(docs, action), `${stack}: ${action} not granted`);
            }
            const statements = docs.flatMap((d) => d.Statement);
            const iamAllows = statements.filter((s) => s.Effect === "Allow" && ([] as string[]).concat(s.Action).some((a) => a.startsWith("iam:")));
            for (const s of iamAllows) {
                const resources = ([] as string[]).concat(s.Resource);
                assert.ok(resources.every((r) => r.startsWith(`arn:aws:iam::123456789012:role/flask-platform/${stack}/`) || r.startsWith(`arn:aws:iam::123456789012:instance-profile/flask-platform/${stack}/`)
                    || (s.Sid === "ServiceLinkedRoles" && r === "arn:aws:iam::123456789012:role/aws-service-role/*")), `${s.Sid} reaches ${resources.join(", ")}`);
            }
            const create = statements.find((s) => ([] as string[]).concat(s.Action).includes("iam:CreateRole"));
            const boundary = one(plan, "aws:iam/policy:Policy", `-${stack}-boundary`);
            assert.deepStrictEqual(create?.Condition, { StringEquals: { "iam:PermissionsBoundary": `arn:aws:iam::123456789012:policy/${input(boundary, "name")}` } });
            const denied = statements.filter((s) => s.Effect === "Deny").flatMap((s) => ([] as string[]).concat(s.Action));
            assert.ok(denied.includes("iam:DeleteRolePermissionsBoundary") && denied.includes("iam:CreatePolicyVersion"));
        }
    });

    it("the app's roles, with the boundary key set, carry the boundary and the stack's IAM path", () => {
        for (const { name, plan } of plans.filter((p) => p.name.includes("iamPermissionsBoundary"))) {
            const roles = all(plan, "aws:iam/role:Role");
            assert.ok(roles.length > 0);
            for (const r of [...roles, ...all(plan, "aws:iam/instanceProfile:InstanceProfile")]) {
                assert.strictEqual(input(r, "path"), `/flask-platform/${plan.stack}/`, `${name}: ${r.name}`);
            }
            for (const r of roles) {
                assert.strictEqual(input(r, "permissionsBoundary"), BOUNDARY, `${name}: ${r.name}`);
            }
        }
        const without = plans.find((p) => !p.name.includes("iamPermissionsBoundary"));
        assert.ok(without && all(without.plan, "aws:iam/role:Role").every((r) => r.inputs.permissionsBoundary === undefined && r.inputs.path === undefined));
    });

    it("the boundary allows every action the app's own inline role policies grant, and no IAM writes", () => {
        const boundary = boundaryPolicy({ partition: "aws", accountId: "123456789012", project: "flask-platform", stack: "dev" });
        let checked = 0;
        for (const { plan } of plans) {
            for (const rp of all(plan, "aws:iam/rolePolicy:RolePolicy")) {
                for (const s of parsePolicy(rp).Statement.filter((x) => x.Effect === "Allow")) {
                    for (const action of ([] as Json[]).concat(s.Action as Json)) {
                        assert.ok(documentAllows(boundary, String(action)), `${rp.name}: ${action} is outside the boundary`);
                        checked++;
                    }
                }
            }
        }
        assert.ok(checked > 50, `only ${checked} actions checked`);
        for (const write of ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreateUser", "iam:CreateAccessKey", "iam:DeleteRolePermissionsBoundary", "organizations:LeaveOrganization", "sts:AssumeRole"]) {
            assert.ok(!documentAllows(boundary, write), `the boundary allows ${write}`);
        }
    });

    it("rejects a bad boundary ARN naming the key", async () => {
        await assert.rejects(planStack("dev", ["iamPermissionsBoundary=arn:aws:iam::123456789012:role/not-a-policy"]),
            /iamPermissionsBoundary must be an IAM managed policy ARN/);
    });

    it("matches IAM wildcards as IAM does", () => {
        assert.ok(actionMatches("ec2:Describe*", "ec2:DescribeVpcs"));
        assert.ok(actionMatches("s3:GetBucket*", "S3:getbucketpolicy"));
        assert.ok(!actionMatches("ec2:Describe*", "ec2:DeleteVpc"));
        assert.ok(!actionMatches("kms:Decrypt", "kms:DecryptX"));
        assert.strictEqual(deployPolicy({ partition: "aws", accountId: "1", project: "p", stack: "s", boundaryArn: "b" }).length > 0, true);
        assert.ok(allGrantedTokens().length > 40);
    });
});
