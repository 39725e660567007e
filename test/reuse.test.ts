// Issue 16 §2: reuse what the account has. An existing VPC and its subnets instead of a new VPC
// (components/network.ts adopt mode), validated all-or-nothing; an existing EKS cluster by name.
import * as assert from "assert";
import { PlanResult } from "../harness/run";
import { all, configProblems, EKS, ebSettings, input, one, planStack, platformOutput } from "./helpers";
import { validateK8s } from "./k8sSchema";

const VPC = "vpc-0a1b2c3d4e5f60718";
// The mock puts an id ending in an even hex digit in AZ a, odd in AZ b.
const PRIVATE = ["subnet-0aaaaaaaaaaaaaaa0", "subnet-0aaaaaaaaaaaaaaa1"];
const PUBLIC = ["subnet-0bbbbbbbbbbbbbbb0", "subnet-0bbbbbbbbbbbbbbb1"];
const ADOPT = [
    `existingVpcId=${VPC}`,
    `existingPrivateSubnetIds[0]=${PRIVATE[0]}`, `existingPrivateSubnetIds[1]=${PRIVATE[1]}`,
    `existingPublicSubnetIds[0]=${PUBLIC[0]}`, `existingPublicSubnetIds[1]=${PUBLIC[1]}`,
];

function problems(raw: Record<string, string>): string {
    return configProblems(raw, {}, "dev").join("\n");
}

describe("an existing VPC (issue 16 §2)", function () {
    this.timeout(120000);

    function assertAdopted(plan: PlanResult): void {
        assert.strictEqual(all(plan, "awsx:ec2:Vpc").length, 0, "no VPC created");
        assert.strictEqual(all(plan, "aws:ec2/vpcEndpoint:VpcEndpoint").length, 0, "no S3 endpoint on someone else's route tables");
        assert.strictEqual(all(plan, "aws:ec2/flowLog:FlowLog").length, 0, "flow logs are the VPC owner's");
        assert.strictEqual(plan.outputs.vpcId, VPC);
        assert.deepStrictEqual(input(one(plan, "aws:rds/subnetGroup:SubnetGroup"), "subnetIds"), PRIVATE, "the database in the given private subnets");
        assert.deepStrictEqual(input(one(plan, "aws:ec2/securityGroup:SecurityGroup", "-db-sg"), "vpcId"), VPC);
        const checked = plan.invokes.filter((i) => i.token === "aws:ec2/getSubnet:getSubnet").map((i) => [i.inputs.id, i.inputs.vpcId]);
        assert.deepStrictEqual(checked.sort(), [...PRIVATE, ...PUBLIC].map((id) => [id, VPC]).sort(), "every subnet checked to be in the VPC");
    }

    it("Beanstalk: instances in the given private subnets, the load balancer in the public ones", async () => {
        // prod sets flowLogs, natGateways and availabilityZones: they have no effect on an adopted VPC.
        const plan = await planStack("prod", ADOPT);
        assertAdopted(plan);
        const s = ebSettings(one(plan, "aws:elasticbeanstalk/environment:Environment"));
        assert.strictEqual(s.get("aws:ec2:vpc/VPCId"), VPC);
        assert.strictEqual(s.get("aws:ec2:vpc/Subnets"), PRIVATE.join(","));
        assert.strictEqual(s.get("aws:ec2:vpc/ELBSubnets"), PUBLIC.join(","));
    });

    it("ECS: tasks in the private subnets, the ALB in the public ones", async () => {
        const plan = await planStack("dev", ["target=ecs", ...ADOPT]);
        assertAdopted(plan);
        assert.deepStrictEqual(input(one(plan, "awsx:lb:ApplicationLoadBalancer"), "subnetIds"), PUBLIC);
        const service = one(plan, "awsx:ecs:FargateService").inputs.networkConfiguration as { subnets: string[] };
        assert.deepStrictEqual(service.subnets, PRIVATE);
    });

    it("EKS (a new cluster in the existing VPC): nodes in the private subnets", async () => {
        const plan = await planStack("dev", [...EKS, ...ADOPT]);
        assertAdopted(plan);
        assert.deepStrictEqual(input(one(plan, "eks:index:ManagedNodeGroup"), "subnetIds"), PRIVATE);
    });

    it("fails the plan when a subnet is in another VPC, as DescribeSubnets does", async () => {
        await assert.rejects(planStack("dev", ADOPT, { cloud: { subnets: { [PRIVATE[1]]: { vpcId: "vpc-0ffffffffffffffff", availabilityZone: "us-east-1b" } } } }),
            /no matching EC2 Subnet found \(id subnet-0aaaaaaaaaaaaaaa1 is in vpc-0ffffffffffffffff/);
    });

    it("fails the plan when the private subnets are all in one AZ", async () => {
        await assert.rejects(planStack("dev", ADOPT, { cloud: { subnets: { [PRIVATE[1]]: { vpcId: VPC, availabilityZone: "us-east-1a" } } } }),
            /existingPrivateSubnetIds subnet-0aaaaaaaaaaaaaaa0, subnet-0aaaaaaaaaaaaaaa1 are all in us-east-1a: they must span at least two availability zones/);
    });

    it("is all or nothing, with valid ids, and private and public apart", () => {
        assert.match(problems({ target: "ecs", existingVpcId: VPC }),
            /an existing VPC needs all of existingVpcId, existingPrivateSubnetIds and existingPublicSubnetIds; missing: existingPrivateSubnetIds \(at least two, in different AZs\), existingPublicSubnetIds/);
        assert.match(problems({ target: "ecs", existingPrivateSubnetIds: JSON.stringify(PRIVATE), existingPublicSubnetIds: JSON.stringify(PUBLIC) }),
            /missing: existingVpcId$/m);
        assert.match(problems({ target: "ecs", existingVpcId: "vpc-123" }), /existingVpcId must be a VPC id such as vpc-0123456789abcdef0 \(got "vpc-123"\)/);
        assert.match(problems({ target: "ecs", existingVpcId: VPC, existingPrivateSubnetIds: JSON.stringify(["subnet-xyz", PRIVATE[1]]), existingPublicSubnetIds: JSON.stringify(PUBLIC) }),
            /existingPrivateSubnetIds must hold only a subnet id such as subnet-0123456789abcdef0 \(got "subnet-xyz"\)/);
        assert.match(problems({ target: "ecs", existingVpcId: VPC, existingPrivateSubnetIds: JSON.stringify(PRIVATE), existingPublicSubnetIds: JSON.stringify([PUBLIC[0], PRIVATE[0]]) }),
            /existingPrivateSubnetIds and existingPublicSubnetIds share subnet-0aaaaaaaaaaaaaaa0/);
        assert.strictEqual(problems({ target: "ecs", existingVpcId: VPC, existingPrivateSubnetIds: JSON.stringify(PRIVATE), existingPublicSubnetIds: JSON.stringify(PUBLIC) }), "");
    });
});

describe("an existing EKS cluster: config (issue 16 §2)", () => {
    it("has an effect only with target eks, and needs the cluster's VPC", () => {
        assert.match(problems({ target: "ecs", eksExistingCluster: "shared" }), /eksExistingCluster is set \("shared"\) but target is ecs: it has an effect only with target eks/);
        assert.match(problems({ target: "eks", eksExistingCluster: "shared", eksDeployerRoleArns: "[]" }), /eksExistingCluster needs existingVpcId and its subnets/);
        assert.match(problems({ target: "eks", eksExistingCluster: "-bad" }), /eksExistingCluster must be an EKS cluster name/);
    });
});

describe("an existing EKS cluster: the app only (issue 16 §2)", function () {
    this.timeout(120000);
    const SHARED = ["target=eks", "eksExistingCluster=platform-shared", ...ADOPT];
    let plan: PlanResult;
    before(async () => {
        plan = await planStack("dev", SHARED);
    });

    it("the running-pods alarm does not page on silence there: the cluster's Container Insights add-on is its owner's", async () => {
        const runningPods = (p: PlanResult) => all(p, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => input<string>(a, "metricName") === "service_number_of_running_pods")!;
        const [shared, own] = [await planStack("prod", SHARED), await planStack("prod", [...EKS])];
        assert.strictEqual(input(runningPods(own), "treatMissingData"), "breaching", "a cluster of the stack's own: prod pages on silence");
        assert.strictEqual(input(runningPods(shared), "treatMissingData"), "missing");
    });

    it("gets the cluster token as the stack's aws:profile when it has one, the identity the AWS provider deploys with", async () => {
        type Exec = { env?: { name: string; value: string }[] };
        const exec = (p: PlanResult) => {
            const kubeconfig = JSON.parse(input<string>(one(p, "pulumi:providers:kubernetes"), "kubeconfig")) as { users: { user: { exec: Exec } }[] };
            return kubeconfig.users[0].user.exec;
        };
        assert.strictEqual(exec(plan).env, undefined, "no profile: the default credential chain");
        const withProfile = await planStack("dev", [...SHARED, "aws:profile=platform-dev"]);
        assert.deepStrictEqual(exec(withProfile).env, [{ name: "AWS_PROFILE", value: "platform-dev" }]);
    });

    it("creates no cluster, nodes, add-ons, controllers or access entries, and needs no deployer roles or endpoint CIDRs", () => {
        for (const type of ["eks:index:Cluster", "eks:index:ManagedNodeGroup", "aws:eks/addon:Addon", "aws:eks/podIdentityAssociation:PodIdentityAssociation", "kubernetes:helm.sh/v3:Release", "aws:kms/key:Key"]) {
            // The database's key and the alarm topic's (issue 13) are stack-level, not the cluster's.
            const found = all(plan, type).filter((r) => !r.name.startsWith("flask-app-db") && r.name !== "flask-app-alarms-key");
            assert.deepStrictEqual(found.map((r) => r.name), [], type);
        }
        assert.ok(plan.invokes.some((i) => i.token === "aws:eks/getCluster:getCluster" && i.inputs.name === "platform-shared"));
        assert.strictEqual(platformOutput(plan, "clusterName"), "platform-shared");
    });

    it("deploys the same app objects into a namespace of its own (app and stack), through the cluster's provider", () => {
        const ns = one(plan, "kubernetes:core/v1:Namespace");
        assert.strictEqual((ns.inputs.metadata as { name: string }).name, "flask-app-dev");
        for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget"]) {
            assert.strictEqual((one(plan, type).inputs.metadata as { namespace: string }).namespace, "flask-app-dev", type);
        }
        const annotations = (one(plan, "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as { annotations: Record<string, string> }).annotations;
        assert.strictEqual(annotations["alb.ingress.kubernetes.io/healthcheck-path"], "/health");
        const kubeconfig = JSON.parse(String(one(plan, "pulumi:providers:kubernetes").inputs.kubeconfig)) as { users: { user: { exec: { args: string[] } } }[] };
        assert.deepStrictEqual(kubeconfig.users[0].user.exec.args.slice(-4), ["--cluster-name", "platform-shared", "--output", "json"], "a token from aws eks get-token");
    });

    it("sends only objects valid against the Kubernetes API schema", () => {
        const objects = plan.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes");
        assert.ok(objects.length >= 7, objects.map((r) => r.type).join(", "));
        for (const r of objects) {
            const sent = { ...r.inputs, ...(r.inputs.stringData === "[secret]" ? { stringData: { DB_SECRET: "(secret)" } } : {}) };
            assert.deepStrictEqual(validateK8s(sent as { apiVersion?: unknown; kind?: unknown }), [], `${r.type} ${r.name}`);
        }
    });

    it("admits the cluster security group to the database", () => {
        const rule = all(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find((r) => r.name.includes("eks-shared-db-access"));
        assert.ok(rule, "a database ingress rule for the shared cluster");
        assert.match(String(rule.inputs.referencedSecurityGroupId), /^sg-/);
    });

    it("fails the plan when the cluster is in another VPC than existingVpcId", async () => {
        await assert.rejects(planStack("dev", SHARED, { cloud: { clusters: { "platform-shared": { vpcId: "vpc-0ffffffffffffffff" } } } }),
            /eksExistingCluster platform-shared is in vpc-0ffffffffffffffff, but existingVpcId is vpc-0a1b2c3d4e5f60718/);
    });
});
