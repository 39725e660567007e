import * as assert from "assert";
import * as yaml from "js-yaml";
import * as fs from "fs";
import * as path from "path";
import { CONFIG_SCHEMA, parseConfig, StackConfig, TARGET_NAMES } from "../config";
import { readProjectFile, resolveStackConfig, ROOT } from "../harness/stackConfig";
import { projectConfigBlock } from "../scripts/sync-project-config";
import { implementedTargets } from "../targets";
import { configProblems } from "./helpers";

const ALL = { implementedTargets: [...TARGET_NAMES] };

/** A minimal valid EKS stack: target plus the deployer role it requires. */
const EKS_RAW = { target: "eks", eksDeployerRoleArns: '["arn:aws:iam::123456789012:role/deployer"]', eksPublicAccessCidrs: "private" };

function parse(raw: Record<string, string>, opts = ALL): StackConfig {
    return parseConfig("flask-platform", "test", raw, opts);
}

/** A committed stack's project-namespace config, validated as the program would see it. */
function stackConfig(stack: string, opts = ALL): StackConfig {
    const resolved = resolveStackConfig(stack);
    const prefix = `${resolved.project}:`;
    const raw = Object.fromEntries(Object.entries(resolved.values).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    return parseConfig(resolved.project, stack, raw, opts);
}

function problemsOf(raw: Record<string, string>, opts = ALL): readonly string[] {
    const problems = configProblems(raw, opts);
    assert.ok(problems.length > 0, `config ${JSON.stringify(raw)} was accepted`);
    return problems;
}

describe("config", () => {
    it("applies the schema's defaults to a minimal stack", () => {
        const c = parse({ target: "beanstalk" });
        assert.strictEqual(c.appName, "flask-app");
        assert.strictEqual(c.namePrefix, "flask-app-test");
        assert.strictEqual(c.appPort, 8000);
        assert.deepStrictEqual(c.network, { cidr: "10.0.0.0/16", azCount: 2, natGateways: "single", flowLogs: false });
        assert.strictEqual(c.database.engineVersion, "17");
        assert.strictEqual(c.database.multiAz, false);
        assert.strictEqual(c.domain, undefined);
        assert.deepStrictEqual(c.scaling, { min: 1, max: 2 });
    });

    it("names the key, the bad value and the allowed values", () => {
        assert.deepStrictEqual(problemsOf({ target: "ecs2" }), ['target must be one of beanstalk, ecs, eks (got "ecs2")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", natGateways: "three" }), ['natGateways must be one of single, onePerAz (got "three")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", dbMultiAz: "yes" }), ['dbMultiAz must be true or false (got "yes")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", appPort: "80" }), ['appPort must be a whole number from 1024 to 65535 (got "80")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", appPort: "8000.5" }), ['appPort must be a whole number from 1024 to 65535 (got "8000.5")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", logRetentionDays: "10" }), [`logRetentionDays must be one of ${CONFIG_SCHEMA.logRetentionDays.oneOf.join(", ")} (got "10")`]);
        assert.match(problemsOf({ target: "ecs", appName: "Flask_App" })[0], /^appName must be 3-20 characters: lowercase letters.*\(got "Flask_App"\)$/);
        assert.match(problemsOf({ target: "ecs", vpcCidr: "10.0.0.0/8" })[0], /^vpcCidr must be an IPv4 CIDR block from \/16 to \/20/);
        assert.match(problemsOf({ target: "ecs", vpcCidr: "300.0.0.0/16" })[0], /^vpcCidr must be a valid IPv4 CIDR block \(got "300.0.0.0\/16"\)$/);
    });

    it("checks the container settings: platform, Fargate CPU and the CPU/memory pair", () => {
        assert.deepStrictEqual(problemsOf({ target: "ecs", imagePlatform: "linux/386" }), ['imagePlatform must be one of linux/amd64, linux/arm64 (got "linux/386")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", ecsCpu: "300" }), ['ecsCpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (got "300")']);
        assert.deepStrictEqual(problemsOf({ target: "ecs", ecsCpu: "1024", ecsMemory: "1024" }),
            ["ecsMemory must be one of 2048, 3072, 4096, 5120, 6144, 7168, 8192 for ecsCpu=1024 (got 1024): Fargate accepts only these CPU/memory pairs"]);
        assert.strictEqual(parse({ target: "ecs", ecsCpu: "8192", ecsMemory: "16384" }).ecs.memory, 16384);
        assert.deepStrictEqual(problemsOf({ target: "ecs", ecsCpu: "8192", ecsMemory: "17408" })[0].split(":")[0], "ecsMemory must be one of 16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440 for ecsCpu=8192 (got 17408)");
        assert.deepStrictEqual(problemsOf({ target: "ecs", ecsContainerInsights: "on" }), ['ecsContainerInsights must be one of enabled, enhanced (got "on")']);
    });

    it("checks the EKS settings: node bounds, CPU request vs limit, version, and node architecture vs image", () => {
        assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksNodeMin: "4", eksNodeMax: "2" }), ["eksNodeMax must be at least eksNodeMin (got eksNodeMin=4, eksNodeMax=2)"]);
        assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksPodCpu: "500", eksPodCpuLimit: "250" }), ["eksPodCpuLimit must be at least eksPodCpu (got 250 < 500 millicores)"]);
        assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksVersion: "1.29" }), ['eksVersion must be one of 1.33, 1.34, 1.35 (got "1.29")']);
        assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksNodeInstanceType: "m7g.large" }),
            ['eksNodeInstanceType "m7g.large" is arm64 (Graviton) but imagePlatform is linux/amd64: pick a matching instance type or platform']);
        // The same pair is fine where EKS is not the target.
        assert.strictEqual(parse({ target: "ecs", eksNodeInstanceType: "m7g.large" }).eks.nodeInstanceType, "m7g.large");
    });

    it("requires the EKS deployer roles as a list of IAM role ARNs, and only for target eks", () => {
        assert.deepStrictEqual(parse(EKS_RAW).eks.deployerRoleArns, ["arn:aws:iam::123456789012:role/deployer"]);
        assert.match(problemsOf({ target: "eks" })[0], /^eksDeployerRoleArns is required with target eks: list the IAM roles that run pulumi up/);
        assert.deepStrictEqual(problemsOf({ target: "eks", eksDeployerRoleArns: "[]" }), problemsOf({ target: "eks" }));
        assert.deepStrictEqual(problemsOf({ target: "eks", eksPublicAccessCidrs: "private", eksDeployerRoleArns: '["platform-admins"]' }),
            ['eksDeployerRoleArns must hold only an IAM role ARN, e.g. arn:aws:iam::123456789012:role/deployer (got "platform-admins")']);
        assert.deepStrictEqual(problemsOf({ target: "eks", eksPublicAccessCidrs: "private", eksDeployerRoleArns: '["arn:aws:iam::123456789012:user/alice"]' }),
            ['eksDeployerRoleArns must hold only an IAM role ARN, e.g. arn:aws:iam::123456789012:role/deployer (got "arn:aws:iam::123456789012:user/alice")']);
        assert.match(problemsOf({ target: "eks", eksPublicAccessCidrs: "private", eksDeployerRoleArns: "arn:aws:iam::123456789012:role/deployer" })[0],
            /^eksDeployerRoleArns must be a list \(pulumi config set --path 'eksDeployerRoleArns\[0\]' <value>\) of an IAM role ARN.*\(got "arn:aws:iam::123456789012:role\/deployer"\)$/);
        // Other targets do not need it.
        assert.deepStrictEqual(parse({ target: "ecs" }).eks.deployerRoleArns, []);
    });

    it("reports every problem at once", () => {
        const problems = problemsOf({ target: "nope", minCapacity: "5", maxCapacity: "2", dbAllocatedStorage: "200", dbMaxAllocatedStorage: "100", tragte: "ecs" });
        assert.strictEqual(problems.length, 4, problems.join("\n"));
        assert.ok(problems.includes("unknown config key flask-platform:tragte; did you mean target?"), problems.join("\n"));
        assert.ok(problems.includes('target must be one of beanstalk, ecs, eks (got "nope")'));
        assert.ok(problems.includes("maxCapacity must be at least minCapacity (got minCapacity=5, maxCapacity=2)"));
        assert.ok(problems.includes("dbMaxAllocatedStorage must be at least dbAllocatedStorage (got 100 < 200)"));
    });

    it("requires a target", () => {
        assert.deepStrictEqual(problemsOf({}), ["target is required: set it to one of beanstalk, ecs, eks (pulumi config set target ecs)"]);
    });

    it("refuses a target that is not implemented yet, saying which are", () => {
        assert.deepStrictEqual(
            problemsOf(EKS_RAW, { implementedTargets: ["beanstalk"] }),
            ['target "eks" is not available yet: this version of the program implements beanstalk'],
        );
    });

    it("derives the hosted zone from the domain and checks they agree", () => {
        assert.deepStrictEqual(parse({ target: "ecs", domainName: "app.example.com" }).domain, { name: "app.example.com", zoneName: "example.com" });
        assert.deepStrictEqual(parse({ target: "ecs", domainName: "a.b.example.com", hostedZoneName: "example.com" }).domain, { name: "a.b.example.com", zoneName: "example.com" });
        assert.deepStrictEqual(problemsOf({ target: "ecs", domainName: "app.example.com", hostedZoneName: "other.org" }), ['domainName "app.example.com" must be inside hostedZoneName "other.org"']);
        assert.match(problemsOf({ target: "ecs", hostedZoneName: "example.com" })[0], /^hostedZoneName is set \("example.com"\) but domainName is not/);
        assert.match(problemsOf({ target: "ecs", domainName: "App.Example.com" })[0], /^domainName must be a lowercase DNS name/);
    });

    it("keeps scale-in below scale-out", () => {
        assert.deepStrictEqual(problemsOf({ target: "beanstalk", ebScaleUpThreshold: "40", ebScaleDownThreshold: "40" }), ["ebScaleDownThreshold must be below ebScaleUpThreshold (got 40 >= 40)"]);
    });

    it("Pulumi.yaml declares exactly the schema's keys, types and defaults", () => {
        const declared = readProjectFile().config ?? {};
        assert.deepStrictEqual(declared, projectConfigBlock(), "run: npx ts-node scripts/sync-project-config.ts");
    });

    for (const stack of ["dev", "prod"]) {
        it(`Pulumi.${stack}.yaml validates and sets only declared keys`, () => {
            const prefix = "flask-platform:";
            const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
            for (const key of Object.keys(doc.config)) {
                assert.ok(!key.startsWith(prefix) || key.slice(prefix.length) in CONFIG_SCHEMA, `${key} is not declared`);
                const v = doc.config[key];
                assert.ok(typeof v !== "object" || v === null || !("secure" in v) || key.startsWith(prefix), `${key} must not hold a secret`);
            }
            assert.strictEqual(stackConfig(stack, { implementedTargets: implementedTargets() }).stack, stack);
        });
    }

    it("dev is small and prod is highly available", () => {
        const dev = stackConfig("dev");
        const prod = stackConfig("prod");
        assert.strictEqual(dev.network.natGateways, "single");
        assert.strictEqual(prod.network.natGateways, "onePerAz");
        assert.ok(prod.network.azCount >= 2 && prod.network.flowLogs);
        assert.ok(prod.database.multiAz && prod.database.deletionProtection && prod.database.finalSnapshot && prod.database.performanceInsights);
        assert.ok(prod.database.backupRetentionDays >= 7);
        assert.ok(!dev.database.multiAz && !dev.database.finalSnapshot);
        assert.ok(prod.scaling.min >= 2);
        assert.ok(["Immutable", "TrafficSplitting"].includes(prod.beanstalk.deploymentPolicy));
        assert.strictEqual(dev.beanstalk.deploymentPolicy, "AllAtOnce");
    });
});
