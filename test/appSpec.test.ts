// Issue 16 §1: bring your own app. One app config (source directory, plain and secret environment,
// port, health and readiness paths) reaches Elastic Beanstalk's settings, the ECS task definition
// and the Kubernetes Deployment identically; bad values are refused with the key and the rule.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PlanResult } from "../harness/run";
import { ROOT } from "../harness/stackConfig";
import { all, APP_DIR, configProblems, EKS, ebSettings, input, one, parsePolicy, planStack } from "./helpers";

const API_KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/api-key-AbCdEf";
const TOKEN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-XyZ123";
const APP = [
    "appEnv.LOG_LEVEL=debug", "appEnv.FEATURE_FLAGS=a,b", "appSecrets.API_KEY=" + API_KEY_ARN, "appSecrets.TOKEN=" + TOKEN_ARN,
    "appPort=9000", "appHealthPath=/healthz", "appReadyPath=/readyz",
];

/** What one target made of the app config, in one shape for all three. */
interface Seen {
    env: Record<string, string>;
    secrets: Record<string, string>;
    port: string;
    lbHealthPath: string;
    containerHealthPath?: string;
    readyPath?: string;
    healthUrl: string;
    /** ARNs the identity that resolves the secrets may read with GetSecretValue, beyond the database's. */
    readable: string[];
}

const APP_ENV_NAMES = ["LOG_LEVEL", "FEATURE_FLAGS", "API_KEY", "TOKEN", "PORT"];

function appSecretStatement(policy: { Statement: Record<string, unknown>[] }): string[] {
    const s = policy.Statement.find((st) => st.Sid === "AppSecrets");
    return s === undefined ? [] : ([] as string[]).concat(s.Resource as string | string[]).sort();
}

function fromBeanstalk(plan: PlanResult): Seen {
    const settings = ebSettings(one(plan, "aws:elasticbeanstalk/environment:Environment"));
    const pick = (ns: string) => Object.fromEntries([...settings].filter(([k]) => k.startsWith(`${ns}/`)).map(([k, v]) => [k.slice(ns.length + 1), v]));
    const env = pick("aws:elasticbeanstalk:application:environment");
    const secrets = pick("aws:elasticbeanstalk:application:environmentsecrets");
    return {
        env: Object.fromEntries(Object.entries(env).filter(([k]) => APP_ENV_NAMES.includes(k) && k !== "PORT")),
        secrets: Object.fromEntries(Object.entries(secrets).filter(([k]) => k !== "DB_SECRET")),
        port: env.PORT,
        lbHealthPath: settings.get("aws:elasticbeanstalk:environment:process:default/HealthCheckPath") ?? "",
        healthUrl: String(plan.outputs.healthUrl),
        readable: appSecretStatement(parsePolicy(one(plan, "aws:iam/rolePolicy:RolePolicy", "-instance-app"))),
    };
}

interface Container {
    environment: { name: string; value: string }[];
    secrets: { name: string; valueFrom: string }[];
    portMappings: { containerPort: number }[];
    healthCheck: { command: string[] };
}

function fromEcs(plan: PlanResult): Seen {
    const [c] = JSON.parse(input<string>(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions")) as Container[];
    const tg = one(plan, "awsx:lb:ApplicationLoadBalancer").inputs.defaultTargetGroup as { healthCheck: { path: string } };
    return {
        env: Object.fromEntries(c.environment.filter((e) => APP_ENV_NAMES.includes(e.name) && e.name !== "PORT").map((e) => [e.name, e.value])),
        secrets: Object.fromEntries(c.secrets.filter((e) => e.name !== "DB_SECRET").map((e) => [e.name, e.valueFrom])),
        port: String(c.portMappings[0].containerPort),
        lbHealthPath: tg.healthCheck.path,
        containerHealthPath: /127\.0\.0\.1:\d+(\/[^']*)'/.exec(c.healthCheck.command.join(" "))?.[1],
        healthUrl: String(plan.outputs.healthUrl),
        readable: appSecretStatement(parsePolicy(one(plan, "aws:iam/rolePolicy:RolePolicy", "-execution"))),
    };
}

interface K8sEnv { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }

function fromEks(plan: PlanResult): Seen {
    const spec = (one(plan, "kubernetes:apps/v1:Deployment").inputs.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec;
    const c = spec.containers[0] as { env: K8sEnv[]; ports: { containerPort: number }[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } };
    const ingress = one(plan, "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as { annotations: Record<string, string> };
    // The synced Secret: its keys are the variables; the value in state is a secret.
    // The Kubernetes provider marks all of stringData secret, so the plan shows the object, not its keys.
    const secretObjects = all(plan, "kubernetes:core/v1:Secret").filter((r) => (r.inputs.metadata as { name: string }).name === "app-secrets");
    assert.strictEqual(secretObjects.length, 1, "one app-secrets Secret");
    assert.strictEqual(secretObjects[0].inputs.stringData, "[secret]", "its values are secrets in state");
    const secrets: Record<string, string> = {};
    for (const e of c.env.filter((x) => x.valueFrom?.secretKeyRef !== undefined && x.name !== "DB_SECRET")) {
        assert.deepStrictEqual(e.valueFrom?.secretKeyRef, { name: "app-secrets", key: e.name });
        secrets[e.name] = "(synced)";
    }
    // The ARNs the program reads at deploy time to fill it (besides the database's secret).
    const read = plan.invokes.filter((i) => i.token === "aws:secretsmanager/getSecretVersion:getSecretVersion")
        .map((i) => String(i.inputs.secretId)).filter((arn) => !arn.includes(":secret:rds!"));
    return {
        env: Object.fromEntries(c.env.filter((e) => APP_ENV_NAMES.includes(e.name) && e.name !== "PORT" && e.value !== undefined).map((e) => [e.name, e.value as string])),
        secrets,
        port: String(c.ports[0].containerPort),
        lbHealthPath: ingress.annotations["alb.ingress.kubernetes.io/healthcheck-path"],
        containerHealthPath: c.livenessProbe.httpGet.path,
        readyPath: c.readinessProbe.httpGet.path,
        healthUrl: String(plan.outputs.healthUrl),
        // Read by the deployer at deploy time; the pods need no AWS permission for it.
        readable: [...new Set(read)].sort(),
    };
}

describe("bring your own app (issue 16 §1)", function () {
    this.timeout(180000);
    let seen: Record<string, Seen>;
    let plans: Record<string, PlanResult>;

    before(async () => {
        plans = {
            beanstalk: await planStack("dev", ["target=beanstalk", ...APP]),
            ecs: await planStack("dev", ["target=ecs", ...APP]),
            eks: await planStack("dev", [...EKS, ...APP]),
        };
        seen = { beanstalk: fromBeanstalk(plans.beanstalk), ecs: fromEcs(plans.ecs), eks: fromEks(plans.eks) };
    });

    it("the same app config reaches Beanstalk settings, the ECS task definition and the Kubernetes Deployment", () => {
        const expected = {
            env: { FEATURE_FLAGS: "a,b", LOG_LEVEL: "debug" },
            secrets: { API_KEY: API_KEY_ARN, TOKEN: TOKEN_ARN },
            port: "9000",
            lbHealthPath: "/healthz",
            readable: [API_KEY_ARN, TOKEN_ARN],
        };
        for (const [target, s] of Object.entries(seen)) {
            const secrets = target === "eks" ? expected.secrets : s.secrets;
            assert.deepStrictEqual(Object.keys(s.secrets).sort(), ["API_KEY", "TOKEN"], `${target} secret names`);
            assert.deepStrictEqual({ env: s.env, secrets, port: s.port, lbHealthPath: s.lbHealthPath, readable: s.readable }, expected, target);
            assert.match(s.healthUrl, /\/healthz$/, `${target} healthUrl`);
        }
        assert.strictEqual(seen.ecs.containerHealthPath, "/healthz");
        assert.strictEqual(seen.eks.containerHealthPath, "/healthz");
        assert.strictEqual(seen.eks.readyPath, "/readyz");
    });

    it("never puts a secret's value in plain text: ARNs on Beanstalk and ECS, a secret in state on EKS", () => {
        for (const plan of Object.values(plans)) {
            const text = JSON.stringify(plan.resources);
            assert.ok(!text.includes("mock-password-"), "a secret value is in the plan");
        }
    });

    it("with no app secrets: no extra grant and no app-secrets object", async () => {
        const eks = await planStack("dev", [...EKS]);
        assert.strictEqual(all(eks, "kubernetes:core/v1:Secret").filter((r) => (r.inputs.metadata as { name: string }).name === "app-secrets").length, 0);
        const ecs = await planStack("dev", ["target=ecs"]);
        assert.deepStrictEqual(appSecretStatement(parsePolicy(one(ecs, "aws:iam/rolePolicy:RolePolicy", "-execution"))), []);
    });

    it("builds from the configured source directory, relative to the project root", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "own-app-"));
        fs.cpSync(APP_DIR, dir, { recursive: true });
        fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a team's change\n");
        const rel = path.relative(ROOT, dir);
        const mine = await planStack("dev", ["target=beanstalk", `appSourceDir=${rel}`]);
        const bundled = await planStack("dev", ["target=beanstalk"]);
        const label = (p: PlanResult) => String(one(p, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion").name);
        assert.notStrictEqual(label(mine), label(bundled), "the bundle is built from the configured directory");
    });
});

describe("app config validation (issue 16 §1)", () => {
    const problems = (raw: Record<string, string>, projectRoot = ROOT): string[] => configProblems(raw, { projectRoot }, "dev");

    it("accepts the bundled app on every target", () => {
        for (const target of ["beanstalk", "ecs"]) {
            assert.deepStrictEqual(problems({ target }), []);
        }
    });

    it("refuses bad and reserved variable names, bad ARNs, a name in both maps", () => {
        const p = problems({
            target: "ecs",
            appEnv: JSON.stringify({ "lower": "x", "1ST": "x", DB_HOST: "x", PORT: "1", APP_RELEASE: "r", SHARED: "x", OK_NAME: 3 }),
            appSecrets: JSON.stringify({ BAD: "arn:aws:ssm:us-east-1:123456789012:parameter/x" }),
        }).join("\n");
        assert.match(p, /appEnv has the variable name "lower": names must match \[A-Z_\]\[A-Z0-9_\]\*/);
        assert.match(p, /appEnv has the variable name "1ST"/);
        for (const reserved of ["DB_HOST", "PORT", "APP_RELEASE"]) {
            assert.match(p, new RegExp(`appEnv sets ${reserved}, which the program sets itself`));
        }
        assert.match(p, /appSecrets: BAD must be a full Secrets Manager secret ARN/);
        // A partial ARN (no six-character suffix) would give an IAM grant that never matches.
        assert.match(problems({ target: "ecs", appSecrets: JSON.stringify({ API_KEY: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/api-key" }) }).join("\n"),
            /appSecrets: API_KEY must be a full Secrets Manager secret ARN, with the six characters Secrets Manager appends/);
        assert.match(problems({ target: "ecs", appEnv: "{\"SHARED\":\"x\"}", appSecrets: JSON.stringify({ SHARED: API_KEY_ARN }) }).join("\n"),
            /SHARED is in both appEnv and appSecrets/);
        assert.doesNotMatch(p, /OK_NAME/, "a YAML number is taken as its text");
    });

    it("refuses a map given as text, and bad health paths", () => {
        const p = problems({ target: "ecs", appEnv: "LOG_LEVEL=debug", appHealthPath: "health" }).join("\n");
        assert.match(p, /appEnv must be a map of NAME: value \(pulumi config set --path 'appEnv.NAME' <value>\)/);
        assert.match(p, /appHealthPath must be an absolute URL path such as \/health \(got "health"\)/);
    });

    it("checks the source directory for what the target needs", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "app-src-"));
        fs.mkdirSync(path.join(root, "web"));
        fs.writeFileSync(path.join(root, "web", "wsgi.py"), "");
        assert.match(problems({ target: "ecs", appSourceDir: "web" }, root).join("\n"), /appSourceDir "web" has no Dockerfile: target ecs builds/);
        assert.match(problems({ target: "beanstalk", appSourceDir: "web" }, root).join("\n"), /appSourceDir "web" has neither a Procfile nor an application.py/);
        assert.match(problems({ target: "eks", appSourceDir: "missing" }, root).join("\n"), /appSourceDir "missing" is not a directory/);
        assert.match(problems({ target: "ecs", appSourceDir: "/abs/app" }, root).join("\n"), /appSourceDir must be a directory relative to the project root/);
        fs.writeFileSync(path.join(root, "web", "application.py"), "");
        fs.writeFileSync(path.join(root, "web", "Dockerfile"), "");
        assert.deepStrictEqual(problems({ target: "beanstalk", appSourceDir: "web" }, root), []);
        assert.deepStrictEqual(problems({ target: "ecs", appSourceDir: "web" }, root), []);
    });
});
