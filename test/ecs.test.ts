// target: ecs, on the committed dev and prod stacks (switched with `--set target=ecs`), under the
// mock cloud. Assertions are on the exact inputs ECS, ELB, ECR, IAM and Docker would receive.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RELEASE_VERIFICATION_TYPE } from "../components/releaseVerification";
import { PlanResult } from "../harness/run";
import { contextDigest } from "../lib/dockerContext";
import { gunicornWorkers } from "../lib/sizing";
import { ignoreAutoscaledDesiredCount } from "../targets/ecs";
import { all, APP_DIR, appCopy, diffPlans, input, one, parsePolicy, planStack, stackLevel, withoutOperations, platformOutput } from "./helpers";

type Container = {
    name: string; image: string; essential: boolean; user: string; readonlyRootFilesystem: boolean; stopTimeout: number;
    portMappings: { containerPort: number; hostPort: number; protocol: string }[];
    environment: { name: string; value: string }[];
    secrets: { name: string; valueFrom: string }[];
    healthCheck: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
    logConfiguration: { logDriver: string; options: Record<string, string> };
    mountPoints: { sourceVolume: string; containerPath: string }[];
};

function containers(plan: PlanResult): Container[] {
    return JSON.parse(input<string>(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions"));
}

/** Fargate's accepted task sizes, transcribed from the AWS ECS developer guide ("Task CPU and memory"). */
const FARGATE_SIZES: Record<string, number[]> = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
    4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
    8192: Array.from({ length: 12 }, (_, i) => 16384 + i * 4096),
    16384: Array.from({ length: 12 }, (_, i) => 32768 + i * 8192),
};

describe("target: ecs", function () {
    this.timeout(120000);
    let dev: PlanResult;
    let prod: PlanResult;
    before(async () => {
        dev = await planStack("dev", ["target=ecs"]);
        prod = await planStack("prod", ["target=ecs"]);
    });

    describe("image", () => {
        it("lives in a private ECR repository: scanned on push, immutable tags, encrypted, old builds expired", () => {
            for (const [plan, keep] of [[dev, 20], [prod, 50]] as const) {
                const repo = one(plan, "aws:ecr/repository:Repository");
                assert.strictEqual(input(repo, "name"), `flask-app-${plan.stack}`);
                assert.strictEqual(input(repo, "imageTagMutability"), "IMMUTABLE");
                assert.deepStrictEqual(input(repo, "imageScanningConfiguration"), { scanOnPush: true });
                assert.deepStrictEqual(input(repo, "encryptionConfigurations"), [{ encryptionType: "AES256" }]);
                const rules = JSON.parse(input<string>(one(plan, "aws:ecr/lifecyclePolicy:LifecyclePolicy"), "policy")).rules;
                // Tagged images only (one per build); nothing expires for being untagged (see lifecyclePolicy).
                assert.deepStrictEqual(rules.map((r: { selection: Record<string, unknown> }) => [r.selection.tagStatus, r.selection.tagPatternList, r.selection.countType, r.selection.countNumber]),
                    [["tagged", ["*"], "imageCountMoreThan", keep]]);
            }
            // Only a disposable stack's repository may be deleted with images still in it.
            assert.strictEqual(input(one(dev, "aws:ecr/repository:Repository"), "forceDelete"), true);
            assert.strictEqual(input(one(prod, "aws:ecr/repository:Repository"), "forceDelete"), false);
        });

        it("imageBuilder local: is built from app/Dockerfile for the configured platform, tagged by content and build id, and pushed", async () => {
            const local = await planStack("prod", ["target=ecs", "imageBuilder=local"]);
            const image = one(local, "docker-build:index:Image");
            const digest = contextDigest(APP_DIR, "linux/amd64").sha256;
            assert.deepStrictEqual(input(image, "context"), { location: "app" });
            assert.deepStrictEqual(input(image, "dockerfile"), { location: "app/Dockerfile" });
            assert.deepStrictEqual(input(image, "platforms"), ["linux/amd64"]);
            const buildId = one(local, "random:index/randomId:RandomId", "-image-build");
            assert.deepStrictEqual(input(buildId, "keepers"), {
                files: contextDigest(APP_DIR, "linux/amd64").buildSha256, context: "app", dockerfile: "app/Dockerfile", builder: "docker-build 0.0.22",
            });
            assert.match(input<string[]>(image, "tags")[0], new RegExp(`^123456789012\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/flask-app-prod:amd64-${digest.slice(0, 12)}-[0-9a-f]{8}$`));
            assert.strictEqual(input(image, "push"), true);
            assert.strictEqual(input(image, "buildOnPreview"), false);
            const [registry] = input<{ address: string; username: string; password: string }[]>(image, "registries");
            assert.deepStrictEqual(registry, { address: "123456789012.dkr.ecr.us-east-1.amazonaws.com/flask-app-prod", username: "AWS", password: "[secret]" });
            // The task runs exactly the pushed digest.
            assert.match(containers(local)[0].image, new RegExp(`^123456789012\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/flask-app-prod:amd64-${digest.slice(0, 12)}-[0-9a-f]{8}@sha256:[0-9a-f]{64}$`));
        });

        it("digests what Docker receives: the .dockerignore'd tests do not change the tag, the code does", () => {
            const base = contextDigest(APP_DIR, "linux/amd64");
            assert.ok(base.files.includes("wsgi.py") && base.files.includes("Dockerfile") && base.files.includes("clients_service/__init__.py"));
            assert.ok(!base.files.some((f) => f.startsWith("tests/") || f.includes("__pycache__")), base.files.join(", "));
            const testsOnly = appCopy((dir) => fs.writeFileSync(path.join(dir, "tests", "test_extra.py"), "def test_x():\n    pass\n"));
            assert.strictEqual(contextDigest(testsOnly, "linux/amd64").sha256, base.sha256);
            const code = appCopy((dir) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# change\n"));
            assert.notStrictEqual(contextDigest(code, "linux/amd64").sha256, base.sha256);
            assert.notStrictEqual(contextDigest(APP_DIR, "linux/arm64").sha256, base.sha256);
            // Group-writable files (umask 002): the content is the same, docker-build's hash is not.
            const groupWritable = appCopy((dir) => fs.chmodSync(path.join(dir, "wsgi.py"), 0o664));
            fs.chmodSync(path.join(testsOnly, "wsgi.py"), 0o644);
            assert.strictEqual(contextDigest(groupWritable, "linux/amd64").sha256, contextDigest(testsOnly, "linux/amd64").sha256);
            assert.notStrictEqual(contextDigest(groupWritable, "linux/amd64").buildSha256, contextDigest(testsOnly, "linux/amd64").buildSha256);
        });

        it("builds for arm64 and runs the tasks on ARM64 when imagePlatform says so", async () => {
            const arm = await planStack("dev", ["target=ecs", "imagePlatform=linux/arm64", "imageBuilder=local"]);
            assert.deepStrictEqual(input(one(arm, "docker-build:index:Image"), "platforms"), ["linux/arm64"]);
            assert.match(input<string[]>(one(arm, "docker-build:index:Image"), "tags")[0], /:arm64-[0-9a-f]{12}-[0-9a-f]{8}$/);
            assert.deepStrictEqual(input(one(arm, "aws:ecs/taskDefinition:TaskDefinition"), "runtimePlatform"), { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" });
            assert.deepStrictEqual(input(one(dev, "aws:ecs/taskDefinition:TaskDefinition"), "runtimePlatform"), { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" });
        });
    });

    describe("cluster and load balancer", () => {
        it("turns Container Insights on (enhanced in prod) and offers Fargate and Fargate Spot", () => {
            assert.deepStrictEqual(input(one(dev, "aws:ecs/cluster:Cluster"), "settings"), [{ name: "containerInsights", value: "enabled" }]);
            assert.deepStrictEqual(input(one(prod, "aws:ecs/cluster:Cluster"), "settings"), [{ name: "containerInsights", value: "enhanced" }]);
            const cp = one(dev, "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders");
            assert.deepStrictEqual(input(cp, "capacityProviders"), ["FARGATE", "FARGATE_SPOT"]);
            assert.strictEqual(input(cp, "clusterName"), "flask-app-dev");
        });

        it("puts the ALB in the public subnets behind a group that admits only 80 and 443", () => {
            for (const plan of [dev, prod]) {
                const alb = one(plan, "awsx:lb:ApplicationLoadBalancer");
                assert.strictEqual(input<string[]>(alb, "subnetIds").length, plan.stack === "prod" ? 3 : 2);
                assert.ok(!input<string[]>(alb, "subnetIds").some((id) => input<string[]>(one(plan, "aws:rds/subnetGroup:SubnetGroup"), "subnetIds").includes(id)), "public, not the private subnets");
                assert.deepStrictEqual(input(alb, "defaultSecurityGroup"), { skip: true }, "awsx's default group would have no rules we chose");
                assert.strictEqual(input(alb, "dropInvalidHeaderFields"), true);
                const albSg = one(plan, "aws:ec2/securityGroup:SecurityGroup", "-ecs-alb");
                assert.strictEqual(input(albSg, "ingress"), undefined, "no inline rules to fight with the rule resources");
                assert.strictEqual(input<string[]>(alb, "securityGroups").length, 1);
                const ingress = all(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => input(r, "securityGroupId") === input<string[]>(alb, "securityGroups")[0]);
                assert.deepStrictEqual(ingress.map((r) => [input(r, "fromPort"), input(r, "toPort"), input(r, "cidrIpv4"), input(r, "ipProtocol")]).sort(),
                    [[443, 443, "0.0.0.0/0", "tcp"], [80, 80, "0.0.0.0/0", "tcp"]]);
                const egress = all(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => input(r, "securityGroupId") === input<string[]>(alb, "securityGroups")[0]);
                const tasksSg = input<{ securityGroups: string[] }>(one(plan, "awsx:ecs:FargateService"), "networkConfiguration").securityGroups[0];
                assert.deepStrictEqual(egress.map((r) => [input(r, "referencedSecurityGroupId"), input(r, "fromPort"), input(r, "toPort")]), [[tasksSg, 8000, 8000]]);
            }
        });

        it("health-checks /health quickly on the app's port and drains a task in at most 30 s", () => {
            for (const plan of [dev, prod]) {
                const tg = one(plan, "awsx:lb:ApplicationLoadBalancer").inputs.defaultTargetGroup as { port: number; targetType: string; deregistrationDelay: number; healthCheck: Record<string, number | string> };
                const c = containers(plan)[0];
                const portEnv = Number(c.environment.find((e) => e.name === "PORT")?.value);
                assert.strictEqual(tg.port, 8000);
                assert.strictEqual(c.portMappings[0].containerPort, tg.port, "container port = target group port");
                assert.strictEqual(portEnv, tg.port, "the app's PORT = target group port");
                assert.strictEqual(tg.targetType, "ip");
                assert.ok((tg.deregistrationDelay as number) <= 30);
                assert.strictEqual(tg.healthCheck.path, "/health");
                assert.strictEqual(tg.healthCheck.matcher, "200");
                assert.ok((tg.healthCheck.interval as number) <= 15 && (tg.healthCheck.healthyThreshold as number) <= 3);
            }
        });

        it("listens on HTTP only without a domain", () => {
            assert.deepStrictEqual(input(one(dev, "awsx:lb:ApplicationLoadBalancer"), "listeners"), [{ port: 80, protocol: "HTTP" }]);
            assert.match(dev.outputs.url as string, /^http:\/\/flask-app-alb-.*\.elb\.amazonaws\.com$/);
        });

        it("serves HTTPS with the validated certificate and redirects HTTP when a domain is set", async () => {
            const plan = await planStack("prod", ["target=ecs", "domainName=app.example.com"]);
            const [http, https] = one(plan, "awsx:lb:ApplicationLoadBalancer").inputs.listeners as Record<string, unknown>[];
            assert.deepStrictEqual(http, { port: 80, protocol: "HTTP", defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }] });
            assert.strictEqual(https.port, 443);
            assert.strictEqual(https.protocol, "HTTPS");
            assert.strictEqual(https.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
            assert.match(String(https.certificateArn), /^arn:aws:acm:us-east-1:123456789012:certificate\//);
            assert.ok(plan.resources.some((r) => r.type === "aws:acm/certificateValidation:CertificateValidation"), "listener waits for validation");
            const alias = all(plan, "aws:route53/record:Record").find((r) => input(r, "type") === "A")!;
            assert.strictEqual(input(alias, "name"), "app.example.com");
            assert.match(JSON.stringify(input(alias, "aliases")), /flask-app-alb-.*elb\.amazonaws\.com/);
            assert.strictEqual(plan.outputs.url, "https://app.example.com");
            assert.strictEqual(plan.outputs.healthUrl, "https://app.example.com/health");
        });
    });

    describe("service and task", () => {
        it("runs tasks in private subnets without public IPs, reachable only from the ALB's group", () => {
            for (const plan of [dev, prod]) {
                const svc = one(plan, "awsx:ecs:FargateService");
                const net = input<{ subnets: string[]; securityGroups: string[]; assignPublicIp: boolean }>(svc, "networkConfiguration");
                const db = one(plan, "aws:rds/subnetGroup:SubnetGroup");
                assert.deepStrictEqual(net.subnets, input(db, "subnetIds"), "the private subnets");
                assert.strictEqual(net.assignPublicIp, false);
                const tasksSg = net.securityGroups[0];
                const albSg = input<string[]>(one(plan, "awsx:lb:ApplicationLoadBalancer"), "securityGroups")[0];
                const ingress = all(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => input(r, "securityGroupId") === tasksSg);
                assert.deepStrictEqual(ingress.map((r) => [input(r, "referencedSecurityGroupId"), input(r, "fromPort"), input(r, "toPort"), input(r, "cidrIpv4")]), [[albSg, 8000, 8000, undefined]]);
                const egress = all(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => input(r, "securityGroupId") === tasksSg);
                assert.deepStrictEqual(egress.map((r) => [input(r, "fromPort"), input(r, "cidrIpv4") ?? "sg"]).sort(), [[443, "0.0.0.0/0"], [5432, "sg"]]);
                assert.deepStrictEqual(input(svc, "loadBalancers"), [{ containerName: "app", containerPort: 8000, targetGroupArn: input<{ targetGroupArn: string }[]>(svc, "loadBalancers")[0].targetGroupArn }]);
                assert.match(input<{ targetGroupArn: string }[]>(svc, "loadBalancers")[0].targetGroupArn, /:targetgroup\/flask-app-alb-/);
            }
        });

        it("admits exactly the tasks' group to the database, and nothing wider", () => {
            for (const plan of [dev, prod]) {
                const dbSg = input<string[]>(one(plan, "aws:rds/instance:Instance"), "vpcSecurityGroupIds")[0];
                const rules = all(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => input(r, "securityGroupId") === dbSg);
                const tasksSg = input<{ securityGroups: string[] }>(one(plan, "awsx:ecs:FargateService"), "networkConfiguration").securityGroups[0];
                assert.deepStrictEqual(rules.map((r) => [input(r, "referencedSecurityGroupId"), input(r, "fromPort"), input(r, "cidrIpv4")]), [[tasksSg, 5432, undefined]]);
            }
        });

        it("rolls back a failing deploy, replaces tasks healthy-first, spreads across AZs, and waits for steady state", () => {
            for (const plan of [dev, prod]) {
                const svc = one(plan, "awsx:ecs:FargateService");
                assert.deepStrictEqual(input(svc, "deploymentCircuitBreaker"), { enable: true, rollback: true });
                assert.strictEqual(input(svc, "deploymentMinimumHealthyPercent"), 100);
                assert.strictEqual(input(svc, "deploymentMaximumPercent"), 200);
                assert.strictEqual(input(svc, "continueBeforeSteadyState"), false);
                assert.strictEqual(input(svc, "availabilityZoneRebalancing"), "ENABLED");
                assert.strictEqual(input(svc, "enableExecuteCommand"), false);
                assert.strictEqual(input(svc, "name"), `flask-app-${plan.stack}`);
                // The capacity providers must be associated before the service uses one.
                const cp = one(plan, "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders");
                assert.ok(svc.options.dependsOn.includes(cp.urn));
            }
        });

        it("runs one Spot task in dev and at least two on-demand tasks in prod", () => {
            assert.strictEqual(input(one(dev, "awsx:ecs:FargateService"), "desiredCount"), 1);
            assert.deepStrictEqual(input(one(dev, "awsx:ecs:FargateService"), "capacityProviderStrategies"), [{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
            assert.ok(input<number>(one(prod, "awsx:ecs:FargateService"), "desiredCount") >= 2);
            assert.deepStrictEqual(input(one(prod, "awsx:ecs:FargateService"), "capacityProviderStrategies"), [{ capacityProvider: "FARGATE", weight: 1 }]);
        });

        it("runs 2 gunicorn workers per vCPU + 1, 2 to 8, as the app's gunicorn.conf.py does", () => {
            const expected: Record<number, number> = { 0.25: 2, 0.5: 2, 1: 3, 1.5: 4, 2: 5, 4: 8, 8: 8, 16: 8 };
            for (const [vcpus, workers] of Object.entries(expected)) {
                assert.strictEqual(gunicornWorkers(Number(vcpus)), workers, `${vcpus} vCPU`);
            }
        });

        it("sizes the task with a CPU/memory pair Fargate accepts, and rejects one it does not", async () => {
            for (const plan of [dev, prod]) {
                const td = one(plan, "aws:ecs/taskDefinition:TaskDefinition");
                const cpu = input<string>(td, "cpu");
                assert.ok(FARGATE_SIZES[cpu]?.includes(Number(input(td, "memory"))), `${cpu}/${input(td, "memory")}`);
                assert.deepStrictEqual(input(td, "requiresCompatibilities"), ["FARGATE"]);
                assert.strictEqual(input(td, "networkMode"), "awsvpc");
                assert.strictEqual(containers(plan)[0].environment.find((e) => e.name === "WEB_CONCURRENCY")?.value, String(gunicornWorkers(Number(cpu) / 1024)));
            }
            await assert.rejects(planStack("dev", ["target=ecs", "ecsCpu=256", "ecsMemory=4096"]),
                /ecsMemory must be one of 512, 1024, 2048 for ecsCpu=256 \(got 4096\)/);
        });

        it("passes the database credentials only as an ECS secret; no secret value in the environment", () => {
            for (const plan of [dev, prod]) {
                const [c] = containers(plan);
                const secretArn = plan.outputs.databaseSecretArn as string;
                assert.deepStrictEqual(c.secrets, [{ name: "DB_SECRET", valueFrom: secretArn }]);
                assert.deepStrictEqual(c.environment.map((e) => e.name).sort(), ["APP_RELEASE", "DB_HOST", "DB_NAME", "DB_PORT", "DB_SSLMODE", "PORT", "WEB_CONCURRENCY"]);
                for (const e of c.environment) {
                    assert.ok(!/secret|password|token|\[secret\]|arn:/i.test(e.value), `${e.name}=${e.value}`);
                }
                assert.strictEqual(c.environment.find((e) => e.name === "DB_SSLMODE")?.value, "verify-full");
                assert.ok(!input<string>(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions").includes("[secret]"));
            }
        });

        it("hardens the container: non-root, read-only root with a /tmp volume, health check, graceful stop, logs with retention", () => {
            for (const plan of [dev, prod]) {
                const [c] = containers(plan);
                assert.strictEqual(c.user, "10001:10001");
                assert.strictEqual(c.readonlyRootFilesystem, true);
                assert.deepStrictEqual(c.mountPoints.map((m) => [m.sourceVolume, m.containerPath]), [["tmp", "/tmp"]]);
                assert.deepStrictEqual(input(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "volumes"), [{ name: "tmp" }]);
                assert.strictEqual(c.healthCheck.command[0], "CMD");
                assert.match(c.healthCheck.command.join(" "), /http:\/\/127\.0\.0\.1:8000\/health/);
                assert.ok(c.stopTimeout > 25, "longer than gunicorn's graceful timeout");
                const group = all(plan, "aws:cloudwatch/logGroup:LogGroup").find((g) => input(g, "name") === `/ecs/flask-app-${plan.stack}`)!;
                assert.strictEqual(input(group, "retentionInDays"), plan.stack === "prod" ? 90 : 14);
                assert.strictEqual(c.logConfiguration.logDriver, "awslogs");
                assert.strictEqual(c.logConfiguration.options["awslogs-group"], `/ecs/flask-app-${plan.stack}`);
                assert.strictEqual(c.logConfiguration.options["awslogs-region"], "us-east-1");
            }
        });
    });

    describe("IAM", () => {
        it("trusts only ECS tasks of this account (the task role; the execution role carries no source condition, issue 10 item 13)", () => {
            assert.deepStrictEqual(parsePolicy(one(prod, "aws:iam/role:Role", "-ecs-execution"), "assumeRolePolicy").Statement, [{
                Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole",
            }]);
            for (const suffix of ["-ecs-task"]) {
                const trust = parsePolicy(one(prod, "aws:iam/role:Role", suffix), "assumeRolePolicy");
                assert.deepStrictEqual(trust.Statement, [{
                    Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*" } },
                }]);
            }
        });

        it("lets the execution role pull this image, write this log group and read this secret, nothing more", () => {
            const td = one(prod, "aws:ecs/taskDefinition:TaskDefinition");
            const execRole = one(prod, "aws:iam/role:Role", "-ecs-execution");
            assert.strictEqual(input(execRole, "managedPolicyArns"), undefined);
            // The image builder's role (components/codeBuildImage.ts) is tested in test/codebuildImage.test.ts.
            const policies = all(prod, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.includes("-ecs-") && !p.name.includes("-codebuild-"));
            assert.deepStrictEqual(policies.map((p) => p.name), ["flask-app-ecs-execution"]);
            const statements = parsePolicy(policies[0]).Statement;
            const repoArn = "arn:aws:ecr:us-east-1:123456789012:repository/flask-app-prod";
            const secretArn = prod.outputs.databaseSecretArn as string;
            assert.deepStrictEqual(statements.map((s) => [s.Action, s.Resource]), [
                ["ecr:GetAuthorizationToken", "*"],
                [["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], repoArn],
                [["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/flask-app-prod:log-stream:*"],
                [["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], secretArn],
                ["kms:Decrypt", input(one(prod, "aws:rds/instance:Instance"), "kmsKeyId")],
            ]);
            assert.deepStrictEqual(statements[4].Condition, { StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" } });
            assert.strictEqual(input(td, "executionRoleArn"), `arn:aws:iam::123456789012:role/${input(policies[0], "role")}`);
        });

        it("gives the app's task role no permissions at all", () => {
            const taskRole = one(prod, "aws:iam/role:Role", "-ecs-task");
            assert.strictEqual(input(taskRole, "managedPolicyArns"), undefined);
            const attached = prod.resources.filter((r) => (r.type === "aws:iam/rolePolicy:RolePolicy" || r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                && String(input(r, "role")).startsWith("flask-app-ecs-task"));
            assert.deepStrictEqual(attached, []);
            assert.match(input<string>(one(prod, "aws:ecs/taskDefinition:TaskDefinition"), "taskRoleArn"), /:role\/flask-app-ecs-task-/);
        });
    });

    describe("autoscaling", () => {
        it("tracks CPU and requests per task between the configured bounds", () => {
            const target = one(prod, "aws:appautoscaling/target:Target");
            assert.deepStrictEqual([input(target, "minCapacity"), input(target, "maxCapacity")], [2, 6]);
            assert.strictEqual(input(target, "resourceId"), "service/flask-app-prod/flask-app-prod");
            assert.strictEqual(input(target, "scalableDimension"), "ecs:service:DesiredCount");
            const policies = all(prod, "aws:appautoscaling/policy:Policy");
            const config = (name: string) => input<{ targetValue: number; predefinedMetricSpecification: { predefinedMetricType: string; resourceLabel?: string } }>(
                policies.find((p) => p.name.endsWith(name))!, "targetTrackingScalingPolicyConfiguration");
            assert.strictEqual(config("-scale-cpu").predefinedMetricSpecification.predefinedMetricType, "ECSServiceAverageCPUUtilization");
            assert.strictEqual(config("-scale-cpu").targetValue, 60);
            const requests = config("-scale-requests");
            assert.strictEqual(requests.predefinedMetricSpecification.predefinedMetricType, "ALBRequestCountPerTarget");
            assert.strictEqual(requests.targetValue, 1000);
            // "app/<lb>/<id>/targetgroup/<tg>/<id>": the load balancer's and target group's ARN suffixes.
            assert.match(requests.predefinedMetricSpecification.resourceLabel!, /^app\/flask-app-alb-[0-9a-f]{7}\/[0-9a-f]{16}\/targetgroup\/flask-app-alb-[0-9a-f]{7}\/[0-9a-f]{16}$/);
            for (const p of policies) {
                assert.strictEqual(input(p, "resourceId"), "service/flask-app-prod/flask-app-prod");
            }
        });

        it("keeps `pulumi up` from resetting the task count autoscaling chose", async () => {
            assert.strictEqual(one(prod, "awsx:ecs:FargateService").options.transforms, 1);
            const fixed = await planStack("prod", ["target=ecs", "minCapacity=3", "maxCapacity=3"]);
            assert.strictEqual(one(fixed, "awsx:ecs:FargateService").options.transforms, 0);
            assert.deepStrictEqual(all(fixed, "aws:appautoscaling/target:Target"), []);
            assert.strictEqual(input(one(fixed, "awsx:ecs:FargateService"), "desiredCount"), 3);
            // What the transform does to the awsx component's children:
            const opts: pulumi.CustomResourceOptions = { protect: false };
            const onService = await ignoreAutoscaledDesiredCount({ type: "aws:ecs/service:Service", name: "s", custom: true, props: { desiredCount: 2 }, opts });
            assert.deepStrictEqual(onService?.opts?.ignoreChanges, ["desiredCount"]);
            assert.deepStrictEqual(onService?.props, { desiredCount: 2 });
            assert.strictEqual(await ignoreAutoscaledDesiredCount({ type: "aws:ecs/taskDefinition:TaskDefinition", name: "t", custom: true, props: {}, opts }), undefined);
        });
    });

    it("exports the outputs contract plus image URI and service name", () => {
        for (const plan of [dev, prod]) {
            const o = plan.outputs;
            assert.strictEqual(o.target, "ecs");
            assert.match(o.url as string, /^http:\/\//);
            assert.strictEqual(o.healthUrl, `${o.url}/health`);
            assert.strictEqual(platformOutput(plan, "serviceName"), `flask-app-${plan.stack}`);
            assert.strictEqual(platformOutput(plan, "clusterName"), `flask-app-${plan.stack}`);
            assert.strictEqual(platformOutput(plan, "imageUri"), containers(plan)[0].image);
        }
    });

    describe("changes", () => {
        it("rebuilds nothing and changes nothing when the code is unchanged", async () => {
            const again = await planStack("dev", ["target=ecs"]);
            assert.deepStrictEqual(diffPlans(dev, again), { added: [], removed: [], changed: new Map() });
        });

        it("a code-only change gives a new image and task definition revision and nothing else", async () => {
            const edited = appCopy((dir) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a code change\n"));
            const after = await planStack("dev", ["target=ecs"], { appDir: edited, cwd: path.dirname(edited) });
            const d = diffPlans(dev, after);
            assert.deepStrictEqual([d.added, d.removed], [[], []], "no resource created or deleted");
            const changed = [...d.changed.entries()].map(([urn, keys]) => [urn.split("::").pop(), keys]).sort();
            assert.deepStrictEqual(changed, [
                // The context object (a new content-addressed key) and the build step; see
                // test/codebuildImage.test.ts for the same with imageBuilder local.
                ["flask-app-ecs-image-codebuild-context", ["key", "source"]],
                ["flask-app-ecs-image-codebuild-image-build", ["contextSha256", "key", "tag"]],
                ["flask-app-ecs-service", ["taskDefinition"]],
                ["flask-app-ecs-task", ["containerDefinitions"]],
                ["flask-app-release-check", ["release"]], // the new tag, checked on the live endpoint
            ]);
            const build = one(after, "pulumi-nodejs:dynamic/codebuild:ImageBuild");
            assert.notStrictEqual(input(build, "tag"), input(one(dev, "pulumi-nodejs:dynamic/codebuild:ImageBuild"), "tag"));
            // The service moves to the new revision in place: an update, never a replacement.
            assert.notStrictEqual(input(one(after, "awsx:ecs:FargateService"), "taskDefinition"), input(one(dev, "awsx:ecs:FargateService"), "taskDefinition"));
        });

        it("with a domain, the move updates the one alias record in place instead of racing a second one", async () => {
            const sets = ["domainName=app.example.com"];
            const before = await planStack("prod", sets);
            const after = await planStack("prod", [...sets, "target=ecs"]);
            const record = (plan: PlanResult) => {
                const records = all(plan, "aws:route53/record:Record").filter((r) => input(r, "type") === "A");
                assert.strictEqual(records.length, 1, "exactly one A record for the domain");
                return records[0];
            };
            assert.strictEqual(record(before).urn, record(after).urn);
            assert.ok(stackLevel(after)(record(after)), "owned by the stack, not by a target");
            assert.deepStrictEqual(diffPlans(before, after).changed.get(record(after).urn), ["aliases"]);
            assert.match(input<{ name: string }[]>(record(before), "aliases")[0].name, /elasticbeanstalk\.com$/);
            assert.match(input<{ name: string }[]>(record(after), "aliases")[0].name, /^flask-app-alb-.*\.elb\.amazonaws\.com$/);
        });

        it("moving a stack from beanstalk to ecs keeps the VPC, the database and its secret untouched", async () => {
            const before = await planStack("dev");
            const d = diffPlans(before, dev);
            const [wasStackLevel, isStackLevel] = [stackLevel(before), stackLevel(dev)];
            const byUrnBefore = new Map(before.resources.map((r) => [r.urn, r]));
            const byUrnAfter = new Map(dev.resources.map((r) => [r.urn, r]));
            assert.ok(d.removed.every((u) => !wasStackLevel(byUrnBefore.get(u)!) && u.includes("beanstalk")), "only beanstalk resources go");
            assert.ok(d.added.every((u) => !isStackLevel(byUrnAfter.get(u)!) && /-ecs|platform:ecs:EcsTarget\$/.test(u)), "only ecs resources come");
            // Only the post-deploy check (issue 11 §3: new URL, release and events command) and the
            // alarms' and dashboard's load balancer (issue 13) follow the app.
            assert.deepStrictEqual(withoutOperations(d.changed).filter((u) => !u.includes(RELEASE_VERIFICATION_TYPE)), [], "no other stack-level input changes");
            for (const type of ["awsx:ec2:Vpc", "aws:rds/instance:Instance", "aws:secretsmanager/secretRotation:SecretRotation", "aws:rds/subnetGroup:SubnetGroup"]) {
                assert.strictEqual(one(before, type).urn, one(dev, type).urn, type);
            }
            for (const key of ["-db-key", "-alarms-key"]) {
                assert.strictEqual(one(before, "aws:kms/key:Key", key).urn, one(dev, "aws:kms/key:Key", key).urn, key);
            }
            assert.strictEqual(before.outputs.databaseSecretArn, dev.outputs.databaseSecretArn);
            // The one database-side change: the rule admitting the app moves from the EB group to the tasks' group.
            const rule = (plan: PlanResult) => all(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.name.endsWith("-db-access")).map((r) => r.name);
            assert.deepStrictEqual([rule(before), rule(dev)], [["flask-app-beanstalk-db-access"], ["flask-app-ecs-db-access"]]);
        });
    });
});
