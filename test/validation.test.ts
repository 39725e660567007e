// Issue 16 §4: the validation gaps an adopter found (pod fit on EKS nodes, typos in free text,
// keys of another target, misspelt keys, the offline plan's one hosted zone).
import * as assert from "assert";
import * as childProcess from "child_process";
import { CONFIG_SCHEMA, parseConfig, StackConfig, TARGET_NAMES } from "../config";
import { targetsReading } from "../lib/keyTargets";
import { appPodsPerNode, DAEMONSET_PODS_PER_NODE, nodeAllocatable, nodeShape } from "../lib/eksCapacity";
import { ROOT } from "../harness/stackConfig";
import { editDistance, nearest } from "../lib/suggest";
import { configProblems, planStack } from "./helpers";
import { EC2_INSTANCE_TYPES, PROVIDER_VERSION } from "../lib/awsEnumerations";
import * as enums from "@pulumi/aws/types/enums";

const ALL = { implementedTargets: [...TARGET_NAMES] };
const EKS_RAW = { target: "eks", eksDeployerRoleArns: '["arn:aws:iam::123456789012:role/deployer"]', eksPublicAccessCidrs: "private" };

function parse(raw: Record<string, string>, opts: Partial<Parameters<typeof parseConfig>[3]> = {}): StackConfig {
    return parseConfig("flask-platform", "test", raw, { ...ALL, ...opts });
}

function problemsOf(raw: Record<string, string>, opts: Partial<Parameters<typeof parseConfig>[3]> = {}): readonly string[] {
    const problems = configProblems(raw, opts);
    assert.ok(problems.length > 0, `config ${JSON.stringify(raw)} was accepted`);
    return problems;
}

describe("config validation gaps (issue 16 §4)", () => {
    describe("unknown keys", () => {
        it("measures edits and suggests only near misses", () => {
            assert.strictEqual(editDistance("minCapacty", "minCapacity"), 1);
            assert.strictEqual(editDistance("kitten", "sitting"), 3);
            assert.strictEqual(editDistance("tragte", "target"), 2, "a swap of neighbours is one edit");
            assert.strictEqual(nearest("minCapacty", ["maxCapacity", "minCapacity"]), "minCapacity");
            assert.strictEqual(nearest("zzzzzz", ["minCapacity", "target"]), undefined);
        });

        it("names the nearest known key", () => {
            assert.deepStrictEqual(problemsOf({ target: "ecs", minCapacty: "2" }), ["unknown config key flask-platform:minCapacty; did you mean minCapacity?"]);
            assert.deepStrictEqual(problemsOf({ target: "ecs", EKSNODEMAX: "2" }), ["unknown config key flask-platform:EKSNODEMAX; did you mean eksNodeMax?"]);
        });

        it("lists the known keys when nothing is near", () => {
            const [problem] = problemsOf({ target: "ecs", colour: "blue" });
            assert.match(problem, /^unknown config key flask-platform:colour \(known keys: target, appName, /);
        });
    });

    describe("a real domain in the offline plan", () => {
        it("says the mock cloud knows only its example zone", async () => {
            await assert.rejects(planStack("dev", ["target=ecs", "domainName=app.nowhere.org"]), (e: Error) => {
                assert.match(e.message, /^invoke aws:route53\/getZone:getZone failed: no matching Route 53 Hosted Zone found \(name nowhere\.org\): the offline plan's mock cloud only knows the zone example\.com, not your account's zones\. /);
                assert.match(e.message, /Plan offline with a domainName under example\.com \(e\.g\. app\.example\.com\); whether nowhere\.org exists is checked by pulumi preview against the account$/);
                return true;
            });
        });

        it("lists every zone the mock cloud was given, and plans a domain in one of them", async () => {
            const cloud = { hostedZones: ["example.com", "example.org"] };
            await assert.rejects(planStack("dev", ["target=ecs", "domainName=app.nowhere.org"], { cloud }), /only knows the zones example\.com, example\.org, /);
            const plan = await planStack("dev", ["target=ecs", "domainName=app.example.org"], { cloud });
            assert.ok(plan.resources.some((r) => r.type === "aws:route53/record:Record"));
        });
    });

    describe("typos in AWS names", () => {
        const stale = (value: string) => `That list is frozen at the provider's release: if "${value}" is newer and does exist, add it to acceptUnlisted (pulumi config set --path 'acceptUnlisted[0]' ${value})`;

        it("refuses an unlisted instance type, class or region with the nearest listed one", () => {
            assert.deepStrictEqual(problemsOf({ target: "beanstalk", ebInstanceType: "t3.smal" }),
                [`ebInstanceType "t3.smal" is not an EC2 instance type @pulumi/aws ${PROVIDER_VERSION} lists (ec2.InstanceType); did you mean t3.small? ${stale("t3.smal")}`]);
            assert.deepStrictEqual(problemsOf({ target: "ecs", dbInstanceClass: "db.t4g.micr" }),
                [`dbInstanceClass "db.t4g.micr" is not an RDS instance class @pulumi/aws ${PROVIDER_VERSION} lists (rds.InstanceType and db. + ec2.InstanceType); did you mean db.t4g.micro? ${stale("db.t4g.micr")}`]);
            assert.deepStrictEqual(problemsOf({ target: "ecs" }, { awsRegion: "eu-centrl-1" }),
                [`aws:region "eu-centrl-1" is not an AWS region @pulumi/aws ${PROVIDER_VERSION} lists (Region); did you mean eu-central-1? ${stale("eu-centrl-1")}`]);
            assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksNodeInstanceType: "m6i.larg" }).map((p) => p.split("?")[0]),
                ['eksNodeInstanceType "m6i.larg" is not an EC2 instance type @pulumi/aws ' + PROVIDER_VERSION + " lists (ec2.InstanceType); did you mean m6i.large"]);
        });

        it("reports all of them at once, and no suggestion when nothing is near", () => {
            const problems = problemsOf({ target: "beanstalk", ebInstanceType: "t3.smal", dbInstanceClass: "db.t4g.micr" }, { awsRegion: "mars-north-9" });
            assert.strictEqual(problems.length, 3, problems.join("\n"));
            assert.ok(problems[2].startsWith(`aws:region "mars-north-9" is not an AWS region @pulumi/aws ${PROVIDER_VERSION} lists (Region). That list`), problems[2]);
        });

        it("accepts what the provider lists, RDS classes of listed EC2 types, and what acceptUnlisted vouches for", () => {
            assert.ok(Object.values(enums.ec2.InstanceType).length > 1000 && EC2_INSTANCE_TYPES.includes("t3.small"));
            assert.strictEqual(parse({ target: "beanstalk", ebInstanceType: "m7g.large" }, { awsRegion: "eu-central-1" }).beanstalk.instanceType, "m7g.large");
            // rds.InstanceType lacks the m7g family; m7g.large is an EC2 type, so db.m7g.large passes.
            assert.ok(!(Object.values(enums.rds.InstanceType) as string[]).includes("db.m7g.large"));
            assert.strictEqual(parse({ target: "ecs", dbInstanceClass: "db.m7g.large" }).database.instanceClass, "db.m7g.large");
            const vouched = parse({ target: "beanstalk", ebInstanceType: "q9z.large", dbInstanceClass: "db.q9z.large", acceptUnlisted: '["q9z.large","db.q9z.large","eu-east-9"]', alarmDbMaxConnections: "1000" }, { awsRegion: "eu-east-9" });
            assert.deepStrictEqual([vouched.beanstalk.instanceType, vouched.database.instanceClass], ["q9z.large", "db.q9z.large"]);
            assert.match(problemsOf({ target: "beanstalk", ebInstanceType: "q9z.large", acceptUnlisted: '["q9z.xlarge"]' })[0], /^ebInstanceType "q9z.large" is not an EC2 instance type/);
        });

        it("checks an instance type only where the target uses it", () => {
            assert.strictEqual(parse({ target: "ecs", ebInstanceType: "t3.smal", eksNodeInstanceType: "t3.mediun" }).beanstalk.instanceType, "t3.smal");
        });
    });

    describe("keys only another target reads", () => {
        it("warns, naming the target that reads the key, and still accepts the stack", () => {
            const c = parse({ target: "beanstalk", eksNodeMax: "5", imagePlatform: "linux/arm64", ecsSpot: "true", ebKeepVersions: "3" });
            assert.deepStrictEqual(c.warnings, [
                "eksNodeMax has no effect with target beanstalk (read by target eks)",
                "imagePlatform has no effect with target beanstalk (read by targets ecs and eks)",
                "ecsSpot has no effect with target beanstalk (read by target ecs)",
            ]);
            assert.deepStrictEqual(parse({ ...EKS_RAW, ebKeepVersions: "3", ecsSpot: "true", imagePlatform: "linux/amd64" }).warnings,
                ["ebKeepVersions has no effect with target eks (read by target beanstalk)", "ecsSpot has no effect with target eks (read by target ecs)"]);
        });

        it("warns that the CodeBuild step does not follow aws:assumeRoles, only where it runs", () => {
            const roles = JSON.stringify([{ roleArn: "arn:aws:iam::210987654321:role/deployer", sessionName: "pulumi" }]);
            for (const target of ["ecs", "eks"]) {
                const raw = target === "eks" ? EKS_RAW : { target };
                const [warning] = parse(raw, { awsAssumeRoles: roles }).warnings;
                assert.match(warning ?? "", /^aws:assumeRoles is set, but the CodeBuild image builder \(imageBuilder: codebuild\) calls CodeBuild and ECR itself/, target);
                assert.deepStrictEqual(parse({ ...raw, imageBuilder: "local" }, { awsAssumeRoles: roles }).warnings, [], `${target} with imageBuilder local`);
                assert.deepStrictEqual(parse(raw).warnings, [], `${target} without assumed roles`);
            }
            assert.deepStrictEqual(parse({ target: "beanstalk" }, { awsAssumeRoles: roles }).warnings, [], "beanstalk builds no image");
        });

        it("stays quiet about defaults (the CLI passes every declared key) and keys every target reads", () => {
            assert.deepStrictEqual(parse({ target: "ecs", ebInstanceType: "t4g.small", eksDeployerRoleArns: "[]", eksNodeMax: "3", ebSolutionStack: "", minCapacity: "2", dbInstanceClass: "db.t4g.small" }).warnings, []);
        });

        it("agrees with each key's description (Elastic Beanstalk:, ECS:, EKS:, ECS and EKS:)", () => {
            const byPrefix: Record<string, readonly string[]> = { "Elastic Beanstalk:": ["beanstalk"], "ECS:": ["ecs"], "EKS:": ["eks"], "ECS and EKS:": ["ecs", "eks"], "Optional, target eks.": ["eks"] };
            for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
                const prefix = Object.keys(byPrefix).find((p) => spec.description.startsWith(p));
                assert.deepStrictEqual(targetsReading(key), prefix === undefined ? undefined : byPrefix[prefix], `${key}: ${spec.description}`);
            }
        });

        it("reaches the plan's warnings through pulumi.log.warn, and npm run plan prints them on stderr", async function () {
            this.timeout(120000);
            const plan = await planStack("dev", ["target=ecs", "ebKeepVersions=3"]);
            assert.ok(plan.warnings.includes("ebKeepVersions has no effect with target ecs (read by target beanstalk)"), plan.warnings.join("\n"));
            const run = childProcess.spawnSync("npx", ["ts-node", "--transpile-only", "scripts/plan.ts", "--stack", "dev", "--set", "target=ecs", "--set", "ebKeepVersions=3"], { cwd: ROOT, encoding: "utf8" });
            assert.strictEqual(run.status, 0, run.stderr);
            assert.match(run.stderr, /^warning: ebKeepVersions has no effect with target ecs \(read by target beanstalk\)$/m);
            assert.match(run.stdout, /^Stack flask-platform\/dev: \d+ resources/);
            assert.ok(!run.stdout.includes("has no effect"));
        });
    });

    describe("EKS pods against the node group", () => {
        it("derives allocatable memory and CPU the way the EKS AMI reserves them", () => {
            // eni-max-pods.txt: t3.medium 17, t3a.small 8, m6i.large 29; m5.4xlarge's 234 is capped at 110 (under 30 vCPUs).
            assert.deepStrictEqual(["t3.medium", "t3a.small", "m6i.large", "m5.4xlarge", "m7g.16xlarge"].map((t) => nodeShape(t)?.maxPods), [17, 8, 29, 110, 250]);
            const a = nodeAllocatable({ vcpus: 2, memoryGiB: 4, maxPods: 17 });
            assert.strictEqual(a.kubeReservedMiB, 11 * 17 + 255);
            assert.strictEqual(a.memoryMiB, Math.floor(4096 * 0.94) - (11 * 17 + 255) - 100);
            assert.strictEqual(a.kubeReservedMillis, 70, "6% of the first core, 1% of the second");
            assert.strictEqual(nodeAllocatable({ vcpus: 16, memoryGiB: 64, maxPods: 110 }).kubeReservedMillis, 60 + 10 + 2 * 5 + 12 * 2.5);
            assert.strictEqual(nodeShape("c5.8xlarge"), undefined, "c5 has no 8xlarge");
            assert.strictEqual(nodeShape("t2.medium"), undefined);
            // Slots bind when pods are tiny: max-pods less the DaemonSets.
            assert.strictEqual(appPodsPerNode(a, 128, 50).pods, 17 - DAEMONSET_PODS_PER_NODE);
        });

        it("refuses a pod larger than a node, naming what is allocatable and a size that fits", () => {
            assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksPodMemory: "16384" }), [
                "eksPodMemory=16384 MiB does not fit on a t3.medium node: about 3308 MiB is allocatable (4096 MiB, less about 6% the kernel keeps, 442 MiB kube-reserved for 17 max pods (11 x 17 + 255) "
                + "and the 100 MiB eviction threshold); use an eksNodeInstanceType with more memory (t3.2xlarge fits it) or lower eksPodMemory",
            ]);
            assert.deepStrictEqual(problemsOf({ ...EKS_RAW, eksPodCpu: "2000", eksPodCpuLimit: "2000" }),
                ["eksPodCpu=2000m does not fit on a t3.medium node: 1930m is allocatable (2 vCPUs less 70m kube-reserved); use an eksNodeInstanceType with more vCPUs or lower eksPodCpu"]);
            assert.strictEqual(parse({ ...EKS_RAW, eksPodMemory: "16384", eksNodeInstanceType: "t3.2xlarge" }).eks.podMemory, 16384);
        });

        it("refuses more pods than eksNodeMax nodes hold, counting the rollout's surge pod", () => {
            assert.deepStrictEqual(problemsOf({ ...EKS_RAW, minCapacity: "20", maxCapacity: "20", eksNodeMax: "2" }), [
                "minCapacity=20 app pods (21 during a rollout, which surges one) do not fit on eksNodeMax=2 t3.medium nodes: each holds at most 6 (limited by memory: 3308 MiB allocatable / 512 MiB per pod), 12 in all; "
                + "raise eksNodeMax to at least 4, use a larger eksNodeInstanceType, or lower minCapacity or the pod's requests",
            ]);
            // 6 per node x 2 nodes hold 11 plus the surge pod, not 12.
            assert.strictEqual(parse({ ...EKS_RAW, minCapacity: "11", maxCapacity: "11", eksNodeMax: "2" }).scaling.min, 11);
            assert.match(problemsOf({ ...EKS_RAW, minCapacity: "12", maxCapacity: "12", eksNodeMax: "2" })[0], /^minCapacity=12 app pods \(13 during a rollout/);
            // The same stack on ECS has no node group to fit.
            assert.strictEqual(parse({ target: "ecs", minCapacity: "20", maxCapacity: "20", eksNodeMax: "2" }).scaling.min, 20);
        });

        it("warns when the autoscaler's ceiling exceeds the nodes, and when the type is not modelled", () => {
            assert.deepStrictEqual(parse({ ...EKS_RAW, maxCapacity: "30" }).warnings,
                ["maxCapacity=30: eksNodeMax=3 t3.medium nodes hold at most 18 app pods (6 each, limited by memory: 3308 MiB allocatable / 512 MiB per pod); pods the autoscaler adds beyond that stay Pending"]);
            assert.match(parse({ ...EKS_RAW, eksNodeInstanceType: "x2gd.large", imagePlatform: "linux/arm64" }).warnings[0],
                /^eksNodeInstanceType "x2gd.large": whether eksPodMemory, eksPodCpu and minCapacity fit its nodes is not checked/);
        });

        it("reports the misfits together with every other problem", () => {
            const problems = problemsOf({ ...EKS_RAW, eksPodMemory: "16384", minCapacty: "3", dbInstanceClass: "db.t4g.micr" });
            assert.strictEqual(problems.length, 3, problems.join("\n"));
        });
    });
});
