// Issue 10, items 8 to 13: the pre-deployment review's hardening findings, each checked on the plan
// of every committed stack and target under the mock cloud.
import * as assert from "assert";
import { ConfigError, parseConfig, TARGET_NAMES } from "../config";
import { Json, PlannedResource, PlanResult } from "../harness/run";
import { hex } from "../harness/mocks";
import { all, DEPLOYER_ROLE, EKS, input, planStack, platformOutput } from "./helpers";

const EKS_RAW = { target: "eks", eksDeployerRoleArns: JSON.stringify([DEPLOYER_ROLE]), eksPublicAccessCidrs: "private" };

const TARGETS = ["beanstalk", "ecs", "eks"] as const;

/** Every committed stack on every target, planned once. */
const plans = new Map<string, PlanResult>();
async function planOf(stack: string, target: string): Promise<PlanResult> {
    const key = `${stack}/${target}`;
    if (!plans.has(key)) {
        plans.set(key, await planStack(stack, target === "eks" ? [...EKS] : [`target=${target}`]));
    }
    return plans.get(key)!;
}

/** The managed policies attached to `role` by RolePolicyAttachment resources. */
function attached(plan: PlanResult, role: PlannedResource): string[] {
    const roleName = role.name;
    return all(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        .filter((a) => a.name.startsWith(`${roleName}-`) && input(a, "role") !== undefined)
        .map((a) => input<string>(a, "policyArn"))
        .sort();
}

describe("hardening (issue 10, items 8-13)", function () {
    this.timeout(300000);

    describe("item 12: managed policies are RolePolicyAttachments, never the deprecated managedPolicyArns", () => {
        for (const target of TARGETS) {
            it(`on ${target}`, async () => {
                const plan = await planOf("prod", target);
                for (const role of all(plan, "aws:iam/role:Role")) {
                    assert.strictEqual(input(role, "managedPolicyArns"), undefined, `${role.name} uses managedPolicyArns`);
                }
                for (const a of all(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
                    assert.match(input<string>(a, "policyArn"), /^arn:aws:iam::aws:policy\//);
                    assert.ok(input<string>(a, "role"), `${a.name} names no role`);
                }
            });
        }

        it("attaches what each role needs, and what runs under a role waits for its attachments", async () => {
            const eb = await planOf("prod", "beanstalk");
            const role = (plan: PlanResult, suffix: string) => all(plan, "aws:iam/role:Role").find((r) => r.name.endsWith(suffix))!;
            // AmazonSSMManagedInstanceCore: Session Manager shells and database port forwarding (issue 16 §5).
            assert.deepStrictEqual(attached(eb, role(eb, "-beanstalk-instance")), ["arn:aws:iam::aws:policy/AWSElasticBeanstalkWebTier", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
            assert.deepStrictEqual(attached(eb, role(eb, "-beanstalk-service")), [
                "arn:aws:iam::aws:policy/AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy",
                "arn:aws:iam::aws:policy/service-role/AWSElasticBeanstalkEnhancedHealth",
            ]);
            const env = all(eb, "aws:elasticbeanstalk/environment:Environment")[0];
            for (const a of all(eb, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
                assert.ok(env.options.dependsOn.includes(a.urn), `environment does not wait for ${a.name}`);
            }

            const eks = await planOf("prod", "eks");
            assert.deepStrictEqual(attached(eks, role(eks, "-eks-nodes")), [
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            ]);
            assert.deepStrictEqual(attached(eks, role(eks, "-eks-cloudwatch-agent")), ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]);
            const ng = all(eks, "eks:index:ManagedNodeGroup")[0];
            const nodeAttachments = all(eks, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.name.includes("-eks-nodes-"));
            assert.strictEqual(nodeAttachments.length, 3);
            for (const a of nodeAttachments) {
                assert.ok(ng.options.dependsOn.includes(a.urn), `node group does not wait for ${a.name}`);
            }
            const cw = all(eks, "aws:eks/addon:Addon").find((a) => input(a, "addonName") === "amazon-cloudwatch-observability")!;
            const cwAttachment = all(eks, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").find((a) => a.name.includes("-cloudwatch-agent-"))!;
            assert.ok(cw.options.dependsOn.includes(cwAttachment.urn));
        });
    });

    describe("item 9: log groups unique per stack, and the ones AWS would create pre-created with the stack's retention", () => {
        it("names the flow-log group after the stack, so two stacks of one app do not collide", async () => {
            const plan = await planOf("prod", "ecs");
            const group = all(plan, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.name.endsWith("-flow-logs"))!;
            assert.strictEqual(input(group, "name"), "/vpc/flask-app-prod/flow-logs");
            assert.strictEqual(input(group, "retentionInDays"), 90);
        });

        for (const target of TARGETS) {
            it(`${target}: RDS's exported logs go to groups the stack owns, which the instance waits for`, async () => {
                const plan = await planOf("prod", target);
                const db = all(plan, "aws:rds/instance:Instance")[0];
                const exported = input<string[]>(db, "enabledCloudwatchLogsExports");
                assert.deepStrictEqual(exported, ["postgresql", "upgrade"]);
                for (const log of exported) {
                    const group = all(plan, "aws:cloudwatch/logGroup:LogGroup").find((g) => input(g, "name") === `/aws/rds/instance/${input(db, "identifier")}/${log}`);
                    assert.ok(group, `no log group for RDS ${log} logs`);
                    assert.strictEqual(input(group, "retentionInDays"), 90);
                    assert.ok(db.options.dependsOn.includes(group.urn), `the instance does not wait for ${group.name}`);
                }
            });
        }

        it("eks: Container Insights' four log groups exist with the stack's retention before the add-on", async () => {
            const plan = await planOf("prod", "eks");
            const cw = all(plan, "aws:eks/addon:Addon").find((a) => input(a, "addonName") === "amazon-cloudwatch-observability")!;
            const cluster = input<string>(all(plan, "eks:index:Cluster")[0], "name");
            for (const kind of ["application", "dataplane", "host", "performance"]) {
                const group = all(plan, "aws:cloudwatch/logGroup:LogGroup").find((g) => input(g, "name") === `/aws/containerinsights/${cluster}/${kind}`);
                assert.ok(group, `no ${kind} log group`);
                assert.strictEqual(input(group, "retentionInDays"), 90);
                assert.ok(cw.options.dependsOn.includes(group.urn), `the add-on does not wait for ${kind}`);
            }
        });
    });

    describe("item 10: an S3 gateway endpoint on the private route tables", () => {
        for (const stack of ["dev", "prod"]) {
            it(`${stack}`, async () => {
                const plan = await planOf(stack, "ecs");
                const endpoints = all(plan, "aws:ec2/vpcEndpoint:VpcEndpoint");
                assert.strictEqual(endpoints.length, 1);
                const ep = endpoints[0];
                assert.strictEqual(input(ep, "serviceName"), "com.amazonaws.us-east-1.s3");
                assert.strictEqual(input(ep, "vpcEndpointType"), "Gateway");
                assert.strictEqual(input(ep, "vpcId"), plan.outputs.vpcId);
                const vpc = all(plan, "awsx:ec2:Vpc")[0];
                assert.ok(vpc, "no VPC");
                // The mock cloud gives awsx's one route table per subnet; the endpoint takes exactly the private subnets' tables.
                const azs = stack === "prod" ? 3 : 2;
                const table = (kind: string, i: number) => `rtb-${hex(`${vpc.name}${kind}rt${i}`)}`;
                const privateTables = Array.from({ length: azs }, (_, i) => table("private", i)).sort();
                assert.deepStrictEqual(input<string[]>(ep, "routeTableIds"), privateTables);
            });
        }
    });

    describe("item 8: EKS API endpoint restricted, IMDS out of pods' reach", () => {
        it("keeps the API endpoint private unless networks are named, and then public to those only", async () => {
            const dev = await planOf("dev", "eks");
            const cluster = all(dev, "eks:index:Cluster")[0];
            assert.strictEqual(input(cluster, "endpointPublicAccess"), false);
            assert.strictEqual(input(cluster, "endpointPrivateAccess"), true);
            assert.strictEqual(input(cluster, "publicAccessCidrs"), undefined);
            const open = await planStack("dev", [...EKS, "eksPublicAccessCidrs=198.51.100.0/24,203.0.113.7/32"]);
            const c2 = all(open, "eks:index:Cluster")[0];
            assert.strictEqual(input(c2, "endpointPublicAccess"), true);
            assert.deepStrictEqual(input(c2, "publicAccessCidrs"), ["198.51.100.0/24", "203.0.113.7/32"]);
        });

        it("refuses the whole internet and malformed blocks, naming the key", () => {
            const problems = (value: string) => {
                try {
                    parseConfig("flask-platform", "dev", { ...EKS_RAW, eksPublicAccessCidrs: value }, { implementedTargets: [...TARGET_NAMES] });
                } catch (e) {
                    return (e as ConfigError).problems.join("\n");
                }
                return "";
            };
            assert.match(problems("0.0.0.0/0"), /eksPublicAccessCidrs must not contain "0.0.0.0\/0" \(the whole internet\)/);
            assert.match(problems("10.0.0.0/8,300.1.1.1/32"), /eksPublicAccessCidrs must hold valid IPv4 CIDR blocks \(got "300.1.1.1\/32"\)/);
            assert.strictEqual(problems("10.0.0.0"), 'eksPublicAccessCidrs must be private, or comma-separated IPv4 CIDR blocks such as 198.51.100.0/24,203.0.113.7/32 (got "10.0.0.0")');
            assert.strictEqual(problems("10.0.0.0/8"), "");
            assert.strictEqual(problems("private"), "");
            // No silent default: a private endpoint fails the first run from outside the VPC.
            assert.match(problems(""), /^eksPublicAccessCidrs is required with target eks: name the networks where pulumi up and kubectl run/);
        });

        it("runs nodes from a launch template with IMDSv2 and a hop limit of 1, and the controllers without IMDS", async () => {
            const plan = await planOf("prod", "eks");
            const templates = all(plan, "aws:ec2/launchTemplate:LaunchTemplate");
            assert.strictEqual(templates.length, 1);
            const lt = templates[0];
            assert.deepStrictEqual(input(lt, "metadataOptions"), { httpEndpoint: "enabled", httpPutResponseHopLimit: 1, httpTokens: "required" });
            const disk = input<{ deviceName: string; ebs: Record<string, string | number> }[]>(lt, "blockDeviceMappings")[0];
            assert.strictEqual(disk.ebs.encrypted, "true");
            assert.strictEqual(disk.ebs.volumeSize, 30);
            const ng = all(plan, "eks:index:ManagedNodeGroup")[0];
            assert.strictEqual(input(ng, "enableIMDSv2"), undefined, "pulumi-eks would build its own template with hop limit 2");
            assert.strictEqual(input(ng, "diskSize"), undefined);
            assert.deepStrictEqual(input(ng, "launchTemplate"), { id: `lt-${hex(`aws:ec2/launchTemplate:LaunchTemplate::${lt.name}`)}`, version: "1" });
            // Controllers that would otherwise ask IMDS for region and VPC get them explicitly.
            const lbc = all(plan, "kubernetes:helm.sh/v3:Release").find((r) => r.name.endsWith("-load-balancer-controller"))!;
            const values = input<Record<string, Json>>(lbc, "values");
            assert.strictEqual(values.region, "us-east-1");
            assert.strictEqual(values.vpcId, plan.outputs.vpcId);
            const ca = all(plan, "kubernetes:helm.sh/v3:Release").find((r) => r.name.endsWith("-cluster-autoscaler"))!;
            assert.strictEqual(input<Record<string, Json>>(ca, "values").awsRegion, "us-east-1");
        });
    });

    describe("item 11: supported EKS versions only, pinned platform in prod, chosen versions in the plan", () => {
        const parse = (raw: Record<string, string>, now: string) => {
            try {
                parseConfig("flask-platform", "dev", raw, { implementedTargets: [...TARGET_NAMES], now: new Date(now) });
                return "";
            } catch (e) {
                return (e as ConfigError).problems.join("\n");
            }
        };

        it("refuses an eksVersion past the end of standard support, on the date it ends", () => {
            assert.match(parse({ ...EKS_RAW, eksVersion: "1.33" }, "2026-11-23T12:00:00Z"),
                /^eksVersion "1.33" left EKS standard support on 2026-07-29, and the cluster's upgradePolicy is STANDARD .*use one of 1.34, 1.35$/);
            assert.strictEqual(parse({ ...EKS_RAW, eksVersion: "1.34" }, "2026-12-02T23:00:00Z"), "");
            assert.match(parse({ ...EKS_RAW, eksVersion: "1.34" }, "2026-12-03T00:00:00Z"), /use one of 1.35$/);
            // Only where the version is used: a Beanstalk stack is not broken by an EKS key.
            assert.strictEqual(parse({ target: "beanstalk", eksVersion: "1.33" }, "2026-11-23T12:00:00Z"), "");
        });

        it("pins the Beanstalk platform in prod, takes the newest in dev, and shows the chosen one as an output", async () => {
            const prod = await planOf("prod", "beanstalk");
            const dev = await planOf("dev", "beanstalk");
            const env = (plan: PlanResult) => all(plan, "aws:elasticbeanstalk/environment:Environment")[0];
            assert.strictEqual(input(env(prod), "solutionStackName"), "64bit Amazon Linux 2023 v4.7.1 running Python 3.11");
            assert.ok(!prod.invokes.some((i) => i.token.includes("getSolutionStack")), "prod must not look the newest up");
            assert.ok(dev.invokes.some((i) => i.token.includes("getSolutionStack")), "dev takes the newest");
            for (const plan of [prod, dev]) {
                assert.strictEqual(platformOutput(plan, "solutionStack"), input(env(plan), "solutionStackName"));
            }
        });
    });

    describe("item 11: EKS add-on versions pinnable and shown", () => {
        it("pins the listed add-ons, leaves the others to EKS, and exports what runs", async () => {
            const plan = await planStack("prod", [...EKS, "eksAddonVersions=metrics-server=v0.8.0-eksbuild.1"]);
            const addon = (n: string) => all(plan, "aws:eks/addon:Addon").find((a) => input(a, "addonName") === n)!;
            assert.strictEqual(input(addon("metrics-server"), "addonVersion"), "v0.8.0-eksbuild.1");
            assert.strictEqual(input(addon("eks-pod-identity-agent"), "addonVersion"), undefined);
            assert.deepStrictEqual(platformOutput(plan, "addonVersions"), {
                "amazon-cloudwatch-observability": "v1.0.0-eksbuild.1", "eks-pod-identity-agent": "v1.0.0-eksbuild.1", "metrics-server": "v0.8.0-eksbuild.1",
            });
        });
    });

    it("item 9, ecs: the Container Insights performance log group is the stack's, before the cluster", async () => {
        const plan = await planOf("prod", "ecs");
        const cluster = all(plan, "aws:ecs/cluster:Cluster")[0];
        const group = all(plan, "aws:cloudwatch/logGroup:LogGroup").find((g) => input(g, "name") === `/aws/ecs/containerinsights/${input(cluster, "name")}/performance`);
        assert.ok(group, "no Container Insights log group");
        assert.strictEqual(input(group, "retentionInDays"), 90);
        assert.ok(cluster.options.dependsOn.includes(group.urn));
    });
});
