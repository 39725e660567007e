// The stack-level pieces every target shares: network and database, on the committed stacks.
import * as assert from "assert";
import { PlanResult } from "../harness/run";
import { all, input, one, parsePolicy, planStack, stackLevel } from "./helpers";

describe("network and database (stack level)", function () {
    this.timeout(120000);
    let dev: PlanResult;
    let prod: PlanResult;
    before(async () => {
        dev = await planStack("dev");
        prod = await planStack("prod");
    });

    it("spans AZs with public and private subnets; one NAT in dev, one per AZ in prod", () => {
        const d = one(dev, "awsx:ec2:Vpc");
        const p = one(prod, "awsx:ec2:Vpc");
        assert.strictEqual(input(d, "cidrBlock"), "10.0.0.0/16");
        assert.strictEqual(input(d, "numberOfAvailabilityZones"), 2);
        assert.strictEqual(input(p, "numberOfAvailabilityZones"), 3);
        assert.deepStrictEqual(input(d, "natGateways"), { strategy: "Single" });
        assert.deepStrictEqual(input(p, "natGateways"), { strategy: "OnePerAz" });
        const specs = input<{ type: string; cidrMask: number }[]>(d, "subnetSpecs");
        assert.deepStrictEqual(specs.map((s) => [s.type, s.cidrMask]), [["Public", 22], ["Private", 20]]);
        assert.strictEqual(input(d, "enableDnsHostnames"), true);
    });

    it("records flow logs in prod only, to a log group with retention, through a scoped role", () => {
        assert.strictEqual(all(dev, "aws:ec2/flowLog:FlowLog").length, 0);
        const flow = one(prod, "aws:ec2/flowLog:FlowLog");
        assert.strictEqual(input(flow, "trafficType"), "ALL");
        assert.strictEqual(input(flow, "logDestinationType"), "cloud-watch-logs");
        const group = all(prod, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.name.endsWith("flow-logs"))!;
        assert.strictEqual(input(group, "retentionInDays"), 90);
        const trust = parsePolicy(one(prod, "aws:iam/role:Role", "-flow-logs"), "assumeRolePolicy");
        assert.deepStrictEqual(trust.Statement[0].Principal, { Service: "vpc-flow-logs.amazonaws.com" });
        assert.deepStrictEqual(trust.Statement[0].Condition, { StringEquals: { "aws:SourceAccount": "123456789012" } });
    });

    it("keeps the database private, encrypted with its own key, TLS-only, its password in Secrets Manager", () => {
        for (const plan of [dev, prod]) {
            const db = one(plan, "aws:rds/instance:Instance");
            assert.strictEqual(input(db, "publiclyAccessible"), false);
            assert.strictEqual(input(db, "storageEncrypted"), true);
            assert.match(input<string>(db, "kmsKeyId"), /^arn:aws:kms:/);
            assert.strictEqual(input(db, "manageMasterUserPassword"), true);
            assert.strictEqual(input(db, "password"), undefined, "no password passes through Pulumi");
            assert.strictEqual(input(db, "engine"), "postgres");
            const params = one(plan, "aws:rds/parameterGroup:ParameterGroup");
            assert.strictEqual(input(params, "family"), `postgres${input(db, "engineVersion")}`);
            assert.deepStrictEqual(input<{ name: string; value: string }[]>(params, "parameters").find((p) => p.name === "rds.force_ssl"), { name: "rds.force_ssl", value: "1" });
            const subnets = one(plan, "aws:rds/subnetGroup:SubnetGroup");
            assert.strictEqual(input<string[]>(subnets, "subnetIds").length, plan.stack === "prod" ? 3 : 2);
            assert.strictEqual(input(one(plan, "aws:kms/key:Key", "-db-key"), "enableKeyRotation"), true);
            // Rotation would lock out running app servers that read the secret at start-up.
            assert.strictEqual(input(one(plan, "aws:secretsmanager/secretRotation:SecretRotation"), "rotationEnabled"), false);
            assert.ok(!JSON.stringify(plan.outputs).toLowerCase().includes("password"));
        }
    });

    it("sizes dev small and disposable, prod Multi-AZ, protected, backed up and observed", () => {
        const d = one(dev, "aws:rds/instance:Instance");
        const p = one(prod, "aws:rds/instance:Instance");
        assert.deepStrictEqual(
            [input(d, "multiAz"), input(d, "deletionProtection"), input(d, "skipFinalSnapshot"), input(d, "instanceClass"), input(d, "performanceInsightsEnabled")],
            [false, false, true, "db.t4g.micro", false],
        );
        assert.deepStrictEqual(
            [input(p, "multiAz"), input(p, "deletionProtection"), input(p, "skipFinalSnapshot"), input(p, "finalSnapshotIdentifier"), input(p, "performanceInsightsEnabled")],
            [true, true, false, "flask-app-prod-db-final", true],
        );
        assert.ok(input<number>(p, "backupRetentionPeriod") >= 7);
        assert.strictEqual(input(p, "applyImmediately"), false);
        assert.strictEqual(input(p, "maxAllocatedStorage"), 500);
    });

    it("names stack-level resources without the target, so a target switch keeps them", async () => {
        // Everything not under the target's component, following parent links.
        const atStackLevel = dev.resources.filter(stackLevel(dev));
        for (const r of atStackLevel) {
            assert.ok(!/beanstalk|ecs|eks/i.test(r.urn), r.urn);
        }
        assert.ok(atStackLevel.some((r) => r.type === "aws:rds/instance:Instance"));
    });
});
