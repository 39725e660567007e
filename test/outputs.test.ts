// Issue 16 §5: operate the same way on every target. One operations contract of stack outputs
// (the same keys on Beanstalk, ECS, EKS and EKS on an existing cluster, each non-empty, each the
// value the platform really uses), and ECS Exec off by default, on by config.
import * as assert from "assert";
import { TARGET_NAMES } from "../config";
import { boundaryPolicy, documentAllows } from "../delivery/permissions";
import { Json, PlanResult } from "../harness/run";
import { loadBalancerArnSuffix, targetGroupArnSuffix } from "../lib/loadBalancers";
import { ECS_EXEC_ACTIONS } from "../targets/ecs";
import { all, EKS, ebSettings, input, one, parsePolicy, planStack } from "./helpers";

/** The shared-cluster mode with the config test/reuse.test.ts uses. */
const SHARED = ["target=eks", "eksExistingCluster=platform-shared", "existingVpcId=vpc-0a1b2c3d4e5f60718",
    "existingPrivateSubnetIds[0]=subnet-0aaaaaaaaaaaaaaa0", "existingPrivateSubnetIds[1]=subnet-0aaaaaaaaaaaaaaa1",
    "existingPublicSubnetIds[0]=subnet-0bbbbbbbbbbbbbbb0", "existingPublicSubnetIds[1]=subnet-0bbbbbbbbbbbbbbb1"];

type Container = { name: string; environment: { name: string; value: string }[]; readonlyRootFilesystem: boolean; logConfiguration: { options: Record<string, string> } };
const container = (plan: PlanResult): Container => (JSON.parse(input<string>(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions")) as Container[])[0];
const platform = (plan: PlanResult) => plan.outputs.platform as Record<string, Json>;

function isEmpty(v: Json): boolean {
    return v === null || v === "" || v === "[unknown]" || (typeof v === "object" && Object.keys(v).length === 0);
}

describe("the operations contract of outputs (issue 16 §5)", function () {
    this.timeout(600000);
    const plans = new Map<string, PlanResult>();
    before(async () => {
        for (const stack of ["dev", "prod"]) {
            for (const target of TARGET_NAMES) {
                plans.set(`${stack}/${target}`, await planStack(stack, target === "eks" ? [...EKS] : [`target=${target}`]));
            }
        }
        plans.set("dev/eks-shared", await planStack("dev", SHARED));
    });

    it("exports exactly the same keys on every target and stack, each non-empty", () => {
        // webAclArn follows the `waf` key (on in prod), not the target.
        const keys = (p: PlanResult) => Object.keys(p.outputs).filter((k) => k !== "webAclArn").sort();
        const reference = keys(plans.get("dev/beanstalk")!);
        for (const key of ["region", "logGroupName", "loadBalancerArn", "targetGroupArn", "repositoryUrl", "databaseHost", "databasePort", "databaseEndpoint", "platform"]) {
            assert.ok(reference.includes(key), `${key} is part of the contract`);
        }
        for (const [name, p] of plans) {
            assert.deepStrictEqual(keys(p), reference, name);
            for (const [k, v] of Object.entries(p.outputs)) {
                assert.ok(!isEmpty(v), `${name}: ${k} is empty`);
            }
            assert.strictEqual("webAclArn" in p.outputs, p.stack === "prod", `${name}: webAclArn with waf only`);
            assert.strictEqual(platform(p).kind, p.outputs.target, name);
        }
    });

    it("names the region the stack deploys to, and the database's host and port apart", () => {
        for (const [name, p] of plans) {
            assert.strictEqual(p.outputs.region, p.config["aws:region"], name);
            assert.strictEqual(p.outputs.databaseEndpoint, `${p.outputs.databaseHost}:${p.outputs.databasePort}`, name);
            assert.strictEqual(typeof p.outputs.databasePort, "number", name);
        }
        const ecs = plans.get("prod/ecs")!;
        const env = new Map(container(ecs).environment.map((e) => [e.name, e.value]));
        assert.deepStrictEqual([env.get("DB_HOST"), env.get("DB_PORT"), env.get("DB_NAME")],
            [ecs.outputs.databaseHost, String(ecs.outputs.databasePort), ecs.outputs.databaseName], "the values the app itself connects with");
    });

    it("exports the load balancer and target group the alarms watch", () => {
        for (const [name, p] of plans) {
            const alarm = all(p, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => input<string>(a, "name").endsWith("-unhealthy-targets"));
            assert.ok(alarm, name);
            const dims = input<Record<string, string>>(alarm, "dimensions");
            assert.strictEqual(loadBalancerArnSuffix(String(p.outputs.loadBalancerArn)), dims.LoadBalancer, name);
            assert.strictEqual(targetGroupArnSuffix(String(p.outputs.targetGroupArn)), dims.TargetGroup, name);
        }
        // Where the stack creates the target group itself (ECS), the output is that very resource's ARN.
        const ecs = plans.get("dev/ecs")!;
        assert.match(String(ecs.outputs.targetGroupArn), /:targetgroup\/flask-app-alb-/);
    });

    it("exports the log group the app's output really goes to on each platform", () => {
        for (const stack of ["dev", "prod"]) {
            const eb = plans.get(`${stack}/beanstalk`)!;
            assert.strictEqual(ebSettings(one(eb, "aws:elasticbeanstalk/environment:Environment")).get("aws:elasticbeanstalk:cloudwatch:logs/StreamLogs"), "true");
            assert.strictEqual(eb.outputs.logGroupName, `/aws/elasticbeanstalk/${platform(eb).environmentName}/var/log/web.stdout.log`);

            const ecs = plans.get(`${stack}/ecs`)!;
            assert.strictEqual(ecs.outputs.logGroupName, container(ecs).logConfiguration.options["awslogs-group"]);
            assert.ok(all(ecs, "aws:cloudwatch/logGroup:LogGroup").some((g) => input(g, "name") === ecs.outputs.logGroupName), "a group of the stack");

            const eks = plans.get(`${stack}/eks`)!;
            assert.strictEqual(eks.outputs.logGroupName, `/aws/containerinsights/${platform(eks).clusterName}/application`);
            assert.ok(all(eks, "aws:cloudwatch/logGroup:LogGroup").some((g) => input(g, "name") === eks.outputs.logGroupName), "created with the add-on that writes it");
        }
        const shared = plans.get("dev/eks-shared")!;
        assert.strictEqual(shared.outputs.logGroupName, "/aws/containerinsights/platform-shared/application");
        assert.strictEqual(platform(shared).clusterOwnedByStack, false);
    });

    it("exports where deploys put the artifact: the ECR repository, or Beanstalk's bundle prefix", () => {
        for (const [name, p] of plans) {
            if (p.outputs.target === "beanstalk") {
                const version = one(p, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion");
                assert.strictEqual(p.outputs.repositoryUrl, `s3://${input(version, "bucket")}/bundles/`, name);
                assert.ok(input<string>(version, "key").startsWith("bundles/"), name);
            } else {
                assert.match(String(p.outputs.repositoryUrl), /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/flask-app-/, name);
                assert.ok(String(platform(p).imageUri).startsWith(`${p.outputs.repositoryUrl}:`), `${name}: the image is in that repository`);
            }
        }
    });

    it("names the platform's own objects under `platform`, the kubeconfig kept secret", () => {
        const ecs = plans.get("prod/ecs")!;
        const svc = one(ecs, "awsx:ecs:FargateService");
        assert.strictEqual(platform(ecs).serviceName, input(svc, "name"));
        assert.strictEqual(platform(ecs).containerName, container(ecs).name, "the --container of aws ecs execute-command");
        assert.strictEqual(platform(ecs).execEnabled, false);
        for (const name of ["dev/eks", "prod/eks", "dev/eks-shared"]) {
            const p = plans.get(name)!;
            assert.strictEqual(platform(p).kubeconfig, "[secret]", name);
            const deployment = one(p, "kubernetes:apps/v1:Deployment").inputs.metadata as { name: string; namespace: string };
            assert.deepStrictEqual([platform(p).deploymentName, platform(p).namespace], [deployment.name, deployment.namespace], name);
        }
        const eb = plans.get("prod/beanstalk")!;
        assert.strictEqual(platform(eb).environmentName, input(one(eb, "aws:elasticbeanstalk/environment:Environment"), "name"));
    });

    it("lets Session Manager reach Beanstalk's instances (shell and database port forwarding)", () => {
        const eb = plans.get("prod/beanstalk")!;
        const role = one(eb, "aws:iam/role:Role", "-beanstalk-instance");
        const attached = all(eb, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.name.startsWith(`${role.name}-`));
        assert.ok(attached.some((a) => input(a, "policyArn") === "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"));
        // The instances reach the SSM endpoints over HTTPS through NAT: they sit in the private subnets.
        assert.strictEqual(ebSettings(one(eb, "aws:elasticbeanstalk/environment:Environment")).get("aws:ec2:vpc/AssociatePublicIpAddress"), "false");
    });
});

describe("ECS Exec (issue 16 §5)", function () {
    this.timeout(300000);
    let off: PlanResult;
    let on: PlanResult;
    before(async () => {
        off = await planStack("prod", ["target=ecs"]);
        on = await planStack("prod", ["target=ecs", "ecsExec=true"]);
    });
    const execPolicies = (p: PlanResult) => all(p, "aws:iam/rolePolicy:RolePolicy").filter((r) => r.name.endsWith("-task-exec"));

    it("is off by default: no execute-command, no grant, a read-only root filesystem", () => {
        assert.strictEqual(input(one(off, "awsx:ecs:FargateService"), "enableExecuteCommand"), false);
        assert.deepStrictEqual(execPolicies(off), []);
        assert.strictEqual(container(off).readonlyRootFilesystem, true);
        assert.strictEqual(platform(off).execEnabled, false);
    });

    it("on by config: the service allows it, the task role gets exactly the four ssmmessages actions before tasks start", () => {
        assert.strictEqual(input(one(on, "awsx:ecs:FargateService"), "enableExecuteCommand"), true);
        const [policy] = execPolicies(on);
        assert.ok(policy, "a task-role policy for ECS Exec");
        assert.ok(String(input(policy, "role")).startsWith("flask-app-ecs-task"), "on the task role, not the execution role");
        assert.deepStrictEqual(parsePolicy(policy).Statement, [{ Effect: "Allow", Action: ECS_EXEC_ACTIONS, Resource: "*" }]);
        const td = one(on, "aws:ecs/taskDefinition:TaskDefinition");
        assert.ok(td.options.dependsOn.includes(policy.urn), "tasks start only once the grant exists");
        assert.strictEqual(container(on).readonlyRootFilesystem, false, "ECS Exec does not support a read-only root filesystem");
        assert.strictEqual(platform(on).execEnabled, true);
    });

    it("stays inside the app roles' permissions boundary", () => {
        const boundary = boundaryPolicy({ partition: "aws", accountId: "123456789012", project: "flask-platform", stack: "prod" });
        for (const action of ECS_EXEC_ACTIONS) {
            assert.ok(documentAllows(boundary, action), action);
        }
    });

    it("adds no resource but the grant when switched on", () => {
        const before = new Map(off.resources.map((r) => [r.urn, r]));
        const added = on.resources.filter((r) => !before.has(r.urn)).map((r) => r.type);
        assert.deepStrictEqual(added, ["aws:iam/rolePolicy:RolePolicy"]);
    });
});
