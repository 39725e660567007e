// target: eks, on the committed dev and prod stacks (switched with `--set target=eks`), under the
// mock cloud: the cluster and node group inputs, the controllers' IAM wiring, and every Kubernetes
// object, each also validated against the Kubernetes API's strict schema.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { RELEASE_VERIFICATION_TYPE } from "../components/releaseVerification";
import { Json, PlannedResource, PlanResult } from "../harness/run";
import { CLUSTER_AUTOSCALER_IMAGE, NODE_MANAGED_POLICIES } from "../targets/eks";
import { all, appCopy, DEPLOYER_ROLE, diffPlans, EKS, input, one, parsePolicy, planStack, stackLevel, withoutOperations, platformOutput } from "./helpers";
import { validateK8s } from "./k8sSchema";

type Obj = Record<string, Json>;
type Container = {
    name: string; image: string; ports: { name: string; containerPort: number }[];
    env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    readinessProbe: { httpGet: { path: string; port: string } }; livenessProbe: { httpGet: { path: string; port: string } };
    securityContext: Record<string, Json>; volumeMounts: { name: string; mountPath: string }[];
};

const k8sObjects = (plan: PlanResult) => plan.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/"));
const podSpec = (plan: PlanResult) => (one(plan, "kubernetes:apps/v1:Deployment").inputs.spec as Obj & { template: { spec: Obj } }).template.spec;
const appContainer = (plan: PlanResult) => (podSpec(plan).containers as unknown as Container[])[0];
const release = (plan: PlanResult, suffix: string) => one(plan, "kubernetes:helm.sh/v3:Release", suffix);

/** The object as the API server receives it; Pulumi's secret marker stands in for a string map. */
function asSent(r: PlannedResource): Obj {
    const obj = { ...r.inputs };
    if (obj.stringData === "[secret]") {
        obj.stringData = { DB_SECRET: "(secret)" };
    }
    return obj;
}

describe("target: eks", function () {
    this.timeout(120000);
    let dev: PlanResult;
    let prod: PlanResult;
    before(async () => {
        dev = await planStack("dev", [...EKS]);
        prod = await planStack("prod", [...EKS]);
    });

    describe("Kubernetes objects", () => {
        it("are all valid against the Kubernetes API schema, unknown fields included", async () => {
            const https = await planStack("prod", [...EKS, "domainName=app.example.com"]);
            for (const plan of [dev, prod, https]) {
                const objects = k8sObjects(plan).filter((r) => r.type !== "pulumi:providers:kubernetes");
                assert.deepStrictEqual(objects.map((r) => r.type.split(":")[2]).sort(),
                    ["Deployment", "HorizontalPodAutoscaler", "Ingress", "Namespace", "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"]);
                for (const r of objects) {
                    assert.deepStrictEqual(validateK8s(asSent(r)), [], `${r.type} ${r.name}`);
                }
            }
        });

        it("the schema check fails on a misspelled field, a wrong type and a misplaced field", () => {
            const deployment = JSON.parse(JSON.stringify(asSent(one(prod, "kubernetes:apps/v1:Deployment"))));
            deployment.spec.template.spec.containers[0].readinessProbe.httpGet.pathh = "/ready";
            assert.deepStrictEqual(validateK8s(deployment), ["/spec/template/spec/containers/0/readinessProbe/httpGet must NOT have additional properties (pathh)"]);
            const replicas = JSON.parse(JSON.stringify(asSent(one(prod, "kubernetes:apps/v1:Deployment"))));
            replicas.spec.replicas = "two";
            assert.match(validateK8s(replicas).join("\n"), /\/spec\/replicas must be integer/);
            const ingress = JSON.parse(JSON.stringify(asSent(one(prod, "kubernetes:networking.k8s.io/v1:Ingress"))));
            ingress.spec.ingresClassName = ingress.spec.ingressClassName;
            assert.match(validateK8s(ingress).join("\n"), /additional properties \(ingresClassName\)/);
        });

        it("are every one explicitly named, in the app's namespace, through the cluster's provider", () => {
            const provider = one(prod, "pulumi:providers:kubernetes");
            for (const r of k8sObjects(prod).filter((o) => o.type !== "pulumi:providers:kubernetes")) {
                const meta = r.inputs.metadata as Obj;
                assert.ok(typeof meta.name === "string" && meta.name !== "", `${r.name} has no metadata.name`);
                if (r.type !== "kubernetes:core/v1:Namespace") {
                    assert.strictEqual(meta.namespace, "flask-app", r.name);
                }
            }
            assert.strictEqual(input<Obj>(one(prod, "kubernetes:core/v1:Namespace"), "metadata").name, "flask-app");
            // The provider talks to this cluster only, once nodes exist.
            assert.strictEqual(JSON.parse(input<string>(provider, "kubeconfig")).users[0].user.exec.args.includes("flask-app-prod"), true);
            assert.ok(provider.options.dependsOn.includes(one(prod, "eks:index:ManagedNodeGroup").urn));
            assert.deepStrictEqual(input<Obj>(one(prod, "kubernetes:core/v1:Namespace"), "metadata").labels, { "pod-security.kubernetes.io/enforce": "restricted" });
        });

        it("runs a hardened Deployment: probes, resources, non-root, read-only root, no escalation, zero-downtime rollout", () => {
            for (const plan of [dev, prod]) {
                const spec = one(plan, "kubernetes:apps/v1:Deployment").inputs.spec as Obj;
                assert.deepStrictEqual(spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
                const c = appContainer(plan);
                assert.deepStrictEqual(c.readinessProbe.httpGet, { path: "/ready", port: "http" });
                assert.deepStrictEqual(c.livenessProbe.httpGet, { path: "/health", port: "http" });
                assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory);
                assert.strictEqual(c.resources.limits.memory, c.resources.requests.memory, "memory limit = request: no overcommit, no OOM surprises");
                assert.deepStrictEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
                const pod = podSpec(plan);
                assert.strictEqual((pod.securityContext as Obj).runAsUser, 10001);
                assert.strictEqual(pod.automountServiceAccountToken, false);
                assert.deepStrictEqual(c.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }], "the app's SQLite/tmp files need a writable /tmp");
                assert.strictEqual(c.ports[0].containerPort, Number(c.env.find((e) => e.name === "PORT")?.value), "containerPort = PORT");
                assert.strictEqual(c.image, platformOutput(plan, "imageUri"));
                assert.deepStrictEqual(one(plan, "kubernetes:apps/v1:Deployment").options.ignoreChanges, ["spec.replicas"], "the HPA owns replicas");
            }
            assert.deepStrictEqual(appContainer(prod).resources, { requests: { cpu: "500m", memory: "1024Mi" }, limits: { cpu: "1000m", memory: "1024Mi" } });
        });

        it("runs at least two replicas in prod, spread across zones", () => {
            const spec = one(prod, "kubernetes:apps/v1:Deployment").inputs.spec as Obj;
            assert.ok((spec.replicas as number) >= 2);
            const spread = podSpec(prod).topologySpreadConstraints as Obj[];
            assert.ok(spread.some((t) => t.topologyKey === "topology.kubernetes.io/zone" && t.maxSkew === 1));
            assert.strictEqual(input<Obj>(one(prod, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"), "spec").minReplicas, 2);
        });

        it("passes the database credentials from a Kubernetes Secret, never as a plain value", () => {
            for (const plan of [dev, prod]) {
                const secret = one(plan, "kubernetes:core/v1:Secret");
                assert.strictEqual(input(secret, "stringData"), "[secret]", "a Pulumi secret: encrypted in state, hidden in previews");
                const env = appContainer(plan).env;
                assert.deepStrictEqual(env.find((e) => e.name === "DB_SECRET")?.valueFrom, { secretKeyRef: { name: "db-credentials", key: "DB_SECRET" } });
                for (const e of env.filter((x) => x.value !== undefined)) {
                    assert.ok(!/password|mock-password|\[secret\]/i.test(e.value!), `${e.name}=${e.value}`);
                }
                assert.strictEqual(env.find((e) => e.name === "DB_SSLMODE")?.value, "verify-full");
                assert.ok(!JSON.stringify(plan.outputs).includes("mock-password"));
                assert.strictEqual(platformOutput(plan, "kubeconfig"), "[secret]");
            }
        });

        it("guards disruptions, scales on CPU between the configured bounds, and serves through a Service", () => {
            for (const plan of [dev, prod]) {
                const labels = (one(plan, "kubernetes:apps/v1:Deployment").inputs.spec as { selector: { matchLabels: Obj } }).selector.matchLabels;
                const pdb = input<Obj>(one(plan, "kubernetes:policy/v1:PodDisruptionBudget"), "spec");
                assert.deepStrictEqual(pdb, { maxUnavailable: 1, selector: { matchLabels: labels } });
                const hpa = input<Obj & { metrics: Obj[] }>(one(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"), "spec");
                assert.deepStrictEqual(hpa.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "app" });
                assert.deepStrictEqual([hpa.minReplicas, hpa.maxReplicas], plan.stack === "prod" ? [2, 6] : [1, 2]);
                assert.deepStrictEqual(hpa.metrics, [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }]);
                const svc = input<Obj>(one(plan, "kubernetes:core/v1:Service"), "spec");
                assert.deepStrictEqual(svc.selector, labels);
                assert.deepStrictEqual(svc.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
                assert.strictEqual(svc.type, "ClusterIP", "only the ALB is public");
            }
            // The metrics API the HPA reads.
            assert.ok(all(prod, "aws:eks/addon:Addon").some((a) => input(a, "addonName") === "metrics-server"));
        });

        it("exposes the app through an internet-facing ALB from the controller, checking /health", () => {
            const ing = one(dev, "kubernetes:networking.k8s.io/v1:Ingress");
            const meta = input<{ annotations: Record<string, string> }>(ing, "metadata");
            assert.strictEqual(input<Obj>(ing, "spec").ingressClassName, "alb");
            assert.strictEqual(meta.annotations["alb.ingress.kubernetes.io/scheme"], "internet-facing");
            assert.strictEqual(meta.annotations["alb.ingress.kubernetes.io/target-type"], "ip");
            assert.strictEqual(meta.annotations["alb.ingress.kubernetes.io/healthcheck-path"], "/health");
            assert.strictEqual(meta.annotations["alb.ingress.kubernetes.io/listen-ports"], '[{"HTTP": 80}]');
            assert.strictEqual(meta.annotations["alb.ingress.kubernetes.io/certificate-arn"], undefined);
            assert.match(meta.annotations["alb.ingress.kubernetes.io/target-group-attributes"], /deregistration_delay\.timeout_seconds=15/);
            // Deleted before the controller, so the controller removes the ALB it made (teardown trap).
            assert.ok(ing.options.dependsOn.includes(release(dev, "-load-balancer-controller").urn));
            assert.match(dev.outputs.url as string, /^http:\/\/k8s-flask-ap-app-.*\.elb\.amazonaws\.com$/);
        });

        it("serves HTTPS with the ACM certificate and redirects HTTP when a domain is set", async () => {
            const plan = await planStack("prod", [...EKS, "domainName=app.example.com"]);
            const ing = one(plan, "kubernetes:networking.k8s.io/v1:Ingress");
            const a = input<{ annotations: Record<string, string> }>(ing, "metadata").annotations;
            assert.match(a["alb.ingress.kubernetes.io/certificate-arn"], /^arn:aws:acm:us-east-1:123456789012:certificate\//);
            assert.strictEqual(a["alb.ingress.kubernetes.io/ssl-redirect"], "443");
            assert.strictEqual(a["alb.ingress.kubernetes.io/listen-ports"], '[{"HTTP": 80}, {"HTTPS": 443}]');
            assert.strictEqual(a["alb.ingress.kubernetes.io/ssl-policy"], "ELBSecurityPolicy-TLS13-1-2-2021-06");
            assert.strictEqual((input<{ rules: Obj[] }>(ing, "spec").rules[0]).host, "app.example.com");
            const alias = all(plan, "aws:route53/record:Record").find((r) => input(r, "type") === "A")!;
            assert.deepStrictEqual(input<Obj[]>(alias, "aliases")[0].zoneId, "Z35SXDOTRQ7X7K");
            assert.match(String(input<Obj[]>(alias, "aliases")[0].name), /^k8s-flask-ap-app-.*\.us-east-1\.elb\.amazonaws\.com$/);
            assert.strictEqual(plan.outputs.url, "https://app.example.com");
        });
    });

    describe("cluster and nodes", () => {
        it("creates the cluster with access entries, private nodes, all control-plane logs and KMS-encrypted Secrets", () => {
            for (const plan of [dev, prod]) {
                const c = one(plan, "eks:index:Cluster");
                assert.strictEqual(input(c, "name"), `flask-app-${plan.stack}`);
                assert.strictEqual(input(c, "authenticationMode"), "API");
                assert.strictEqual(input(c, "version"), "1.35");
                assert.deepStrictEqual(input(c, "upgradePolicy"), { supportType: "STANDARD" });
                assert.deepStrictEqual(input(c, "enabledClusterLogTypes"), ["api", "audit", "authenticator", "controllerManager", "scheduler"]);
                assert.strictEqual(input(c, "encryptionConfigKeyArn"), `arn:aws:kms:us-east-1:123456789012:key/${input(one(plan, "aws:kms/alias:Alias", "-eks-secrets"), "targetKeyId")}`);
                assert.strictEqual(input(one(plan, "aws:kms/key:Key", "-eks-secrets"), "enableKeyRotation"), true);
                assert.strictEqual(input(c, "skipDefaultNodeGroup"), true);
                assert.deepStrictEqual(input(c, "privateSubnetIds"), input(one(plan, "aws:rds/subnetGroup:SubnetGroup"), "subnetIds"));
                const logs = one(plan, "aws:cloudwatch/logGroup:LogGroup", "-control-plane");
                assert.strictEqual(input(logs, "name"), `/aws/eks/flask-app-${plan.stack}/cluster`);
                assert.ok(c.options.dependsOn.includes(logs.urn), "log group (with retention) exists before EKS writes to it");
                assert.deepStrictEqual(Object.keys(input(c, "accessEntries") as object), ["deployer-123456789012-deployer"]);
            }
        });

        it("grants each configured deployer role cluster admin through an access entry", async () => {
            const admins = "arn:aws:iam::210987654321:role/platform-admins";
            const plan = await planStack("dev", ["target=eks", `eksDeployerRoleArns[0]=${DEPLOYER_ROLE}`, `eksDeployerRoleArns[1]=${admins}`, "eksPublicAccessCidrs=private"]);
            const entry = (principalArn: string) => ({ principalArn, accessPolicies: { clusterAdmin: { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } } } });
            assert.deepStrictEqual(input(one(plan, "eks:index:Cluster"), "accessEntries"), {
                "deployer-123456789012-deployer": entry(DEPLOYER_ROLE),
                "deployer-210987654321-platform-admins": entry(admins),
            });
            // The creator-only bootstrap admin is why the list is required (see config.ts).
            await assert.rejects(planStack("dev", ["target=eks"]), /eksDeployerRoleArns is required with target eks/);
        });

        it("runs a managed node group in the private subnets with IMDSv2, sized dev small and prod 2 to 5", () => {
            for (const [plan, sizes, type] of [[dev, [1, 2, 1], "t3.medium"], [prod, [2, 5, 2], "m6i.large"]] as const) {
                const ng = one(plan, "eks:index:ManagedNodeGroup");
                assert.deepStrictEqual(input(ng, "subnetIds"), input(one(plan, "aws:rds/subnetGroup:SubnetGroup"), "subnetIds"));
                // IMDSv2 with hop limit 1 comes from our own launch template (test/hardening.test.ts).
                assert.strictEqual(input(ng, "enableIMDSv2"), undefined);
                assert.strictEqual(input(ng, "ignoreScalingChanges"), true, "the autoscaler owns desiredSize");
                const s = input<{ minSize: number; maxSize: number; desiredSize: number }>(ng, "scalingConfig");
                assert.deepStrictEqual([s.minSize, s.maxSize, s.desiredSize], sizes);
                assert.deepStrictEqual(input(ng, "instanceTypes"), [type]);
                assert.strictEqual(input(ng, "amiType"), "AL2023_x86_64_STANDARD");
                assert.strictEqual(input(ng, "cluster"), one(plan, "eks:index:Cluster").urn);
                const role = one(plan, "aws:iam/role:Role", "-eks-nodes");
                // Attached by RolePolicyAttachment (test/hardening.test.ts checks which).
                assert.strictEqual(input(role, "managedPolicyArns"), undefined);
                assert.strictEqual(NODE_MANAGED_POLICIES.length, 3);
                assert.match(input<string>(ng, "nodeRoleArn"), /^arn:aws:iam::123456789012:role\/flask-app-eks-nodes-[0-9a-f]{7}$/);
            }
        });

        it("matches the node AMI to an arm64 image on Graviton nodes, and refuses a mismatch", async () => {
            const arm = await planStack("dev", [...EKS, "imagePlatform=linux/arm64", "eksNodeInstanceType=t4g.medium"]);
            assert.strictEqual(input(one(arm, "eks:index:ManagedNodeGroup"), "amiType"), "AL2023_ARM_64_STANDARD");
            await assert.rejects(planStack("dev", [...EKS, "imagePlatform=linux/arm64"]),
                /eksNodeInstanceType "t3.medium" is x86_64 but imagePlatform is linux\/arm64/);
        });

        it("admits the nodes' (and pods') security group to the database, and nothing wider", () => {
            for (const plan of [dev, prod]) {
                const dbSg = input<string[]>(one(plan, "aws:rds/instance:Instance"), "vpcSecurityGroupIds")[0];
                const rules = all(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => input(r, "securityGroupId") === dbSg);
                // The EKS-created cluster security group, which managed nodes and their pods use.
                const clusterSg = rules[0] && input<string>(rules[0], "referencedSecurityGroupId");
                assert.match(clusterSg, /^sg-/);
                assert.deepStrictEqual(rules.map((r) => [input(r, "referencedSecurityGroupId"), input(r, "fromPort"), input(r, "toPort"), input(r, "cidrIpv4")]), [[clusterSg, 5432, 5432, undefined]]);
            }
        });
    });

    describe("controllers and their IAM (Pod Identity)", () => {
        const trustOk = (role: PlannedResource) => assert.deepStrictEqual(parsePolicy(role, "assumeRolePolicy").Statement,
            [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }]);
        const association = (plan: PlanResult, suffix: string) => one(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", suffix);

        it("scales nodes with the Cluster Autoscaler, allowed to resize only this cluster's tagged groups", () => {
            const role = one(prod, "aws:iam/role:Role", "-cluster-autoscaler");
            trustOk(role);
            const assoc = association(prod, "-cluster-autoscaler");
            assert.deepStrictEqual([input(assoc, "namespace"), input(assoc, "serviceAccount"), input(assoc, "clusterName")], ["kube-system", "cluster-autoscaler", "flask-app-prod"]);
            assert.match(input<string>(assoc, "roleArn"), /:role\/flask-app-eks-cluster-autoscaler-/);
            const statements = parsePolicy(one(prod, "aws:iam/rolePolicy:RolePolicy", "-cluster-autoscaler")).Statement;
            const writes = statements.filter((s) => (s.Action as string[]).some((a) => /Set|Terminate/.test(a)));
            assert.deepStrictEqual(writes.map((s) => s.Condition), [{ StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true", "aws:ResourceTag/k8s.io/cluster-autoscaler/flask-app-prod": "owned" } }]);
            assert.ok(statements.filter((s) => !s.Condition).every((s) => (s.Action as string[]).every((a) => /:(Describe|Get)/.test(a))), "unconditioned grants are read-only");
            const values = input<Obj>(release(prod, "-cluster-autoscaler"), "values");
            assert.deepStrictEqual(values.autoDiscovery, { clusterName: "flask-app-prod" });
            assert.deepStrictEqual(values.rbac, { serviceAccount: { create: true, name: input(assoc, "serviceAccount") } });
            assert.deepStrictEqual(values.image, { tag: CLUSTER_AUTOSCALER_IMAGE["1.35"] });
            assert.strictEqual(values.awsRegion, "us-east-1");
            assert.ok(release(prod, "-cluster-autoscaler").options.dependsOn.includes(assoc.urn));
        });

        it("runs the AWS Load Balancer Controller with its official policy, bound to its service account", () => {
            const role = one(prod, "aws:iam/role:Role", "-load-balancer-controller");
            trustOk(role);
            const official = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "targets", "iam", "aws-load-balancer-controller-v3.5.0.json"), "utf8"));
            assert.deepStrictEqual(parsePolicy(one(prod, "aws:iam/rolePolicy:RolePolicy", "-load-balancer-controller")), official);
            const assoc = association(prod, "-load-balancer-controller");
            const r = release(prod, "-load-balancer-controller");
            const values = input<{ clusterName: string; vpcId: string; region: string; serviceAccount: Obj }>(r, "values");
            assert.deepStrictEqual([input(assoc, "namespace"), input(assoc, "serviceAccount")], ["kube-system", values.serviceAccount.name]);
            assert.strictEqual(values.clusterName, "flask-app-prod");
            assert.strictEqual(values.vpcId, prod.outputs.vpcId);
            assert.strictEqual(values.region, "us-east-1");
            assert.deepStrictEqual([input(r, "chart"), input(r, "version"), input<Obj>(r, "repositoryOpts").repo], ["aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts"]);
        });

        it("ships container logs and metrics to CloudWatch through the Observability add-on", () => {
            const addons = all(prod, "aws:eks/addon:Addon");
            const cw = addons.find((a) => input(a, "addonName") === "amazon-cloudwatch-observability")!;
            const role = one(prod, "aws:iam/role:Role", "-cloudwatch-agent");
            trustOk(role);
            assert.strictEqual(input(role, "managedPolicyArns"), undefined, "attached by RolePolicyAttachment (test/hardening.test.ts)");
            assert.deepStrictEqual(input<Obj[]>(cw, "podIdentityAssociations").map((p) => p.serviceAccount), ["cloudwatch-agent"]);
            const agent = addons.find((a) => input(a, "addonName") === "eks-pod-identity-agent")!;
            assert.ok(cw.options.dependsOn.includes(agent.urn));
        });
    });

    it("exports the outputs contract plus cluster name and kubeconfig (secret)", () => {
        for (const plan of [dev, prod]) {
            assert.strictEqual(plan.outputs.target, "eks");
            assert.strictEqual(plan.outputs.healthUrl, `${plan.outputs.url}/health`);
            assert.strictEqual(platformOutput(plan, "clusterName"), `flask-app-${plan.stack}`);
            assert.strictEqual(platformOutput(plan, "kubeconfig"), "[secret]");
        }
    });

    describe("changes", () => {
        it("a code-only change changes only the image and the Deployment's image", async () => {
            const edited = appCopy((dir) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a code change\n"));
            const after = await planStack("dev", [...EKS], { appDir: edited, cwd: path.dirname(edited) });
            const d = diffPlans(dev, after);
            assert.deepStrictEqual([d.added, d.removed], [[], []]);
            const changed = [...d.changed.entries()].map(([urn, keys]) => [urn.split("::").pop(), keys]).sort();
            // The context object and the CodeBuild build step (imageBuilder codebuild, the default),
            // and the release check, whose release is the new tag.
            assert.deepStrictEqual(changed, [
                ["flask-app-eks-deployment", ["spec"]],
                ["flask-app-eks-image-codebuild-context", ["key", "source"]],
                ["flask-app-eks-image-codebuild-image-build", ["contextSha256", "key", "tag"]],
                ["flask-app-release-check", ["release"]],
            ]);
            const strip = (plan: PlanResult) => {
                const spec = JSON.parse(JSON.stringify(one(plan, "kubernetes:apps/v1:Deployment").inputs.spec));
                const container = spec.template.spec.containers[0];
                delete container.image;
                // The release the app reports is the image's tag (issue 11 §3): it moves with the image.
                const release = container.env.find((e: { name: string }) => e.name === "APP_RELEASE");
                const build = plan.resources.find((r) => r.urn.endsWith("::flask-app-eks-image-codebuild-image-build"));
                assert.ok(container.image === undefined && release && build && build.inputs.tag === release.value);
                delete release.value;
                return spec;
            };
            assert.deepStrictEqual(strip(after), strip(dev), "nothing but the image (and its tag in APP_RELEASE) differs in the Deployment");
            assert.notStrictEqual(appContainer(after).image, appContainer(dev).image);
        });

        for (const [from, to] of [["beanstalk", "eks"], ["eks", "ecs"]] as const) {
            it(`moving a stack from ${from} to ${to} keeps the VPC, the database and its secret untouched`, async () => {
                const before = from === "eks" ? dev : await planStack("dev", [`target=${from}`]);
                const after = to === "eks" ? dev : await planStack("dev", [`target=${to}`]);
                const d = diffPlans(before, after);
                const [wasStackLevel, isStackLevel] = [stackLevel(before), stackLevel(after)];
                const byUrn = (plan: PlanResult, urn: string) => plan.resources.find((r) => r.urn === urn)!;
                assert.deepStrictEqual(d.removed.filter((u) => wasStackLevel(byUrn(before, u))), [], "no stack-level resource goes");
                assert.deepStrictEqual(d.added.filter((u) => isStackLevel(byUrn(after, u))), [], "no stack-level resource comes");
                // Only the post-deploy check (issue 11 §3) and the alarms' and dashboard's load balancer (issue 13) follow the app.
                assert.deepStrictEqual(withoutOperations(d.changed).filter((u) => !u.includes(RELEASE_VERIFICATION_TYPE)), [], "no other stack-level input changes");
                for (const type of ["awsx:ec2:Vpc", "aws:rds/instance:Instance", "aws:secretsmanager/secretRotation:SecretRotation", "aws:kms/key:Key"]) {
                    const a = all(before, type).filter(wasStackLevel);
                    const b = all(after, type).filter(isStackLevel);
                    assert.deepStrictEqual(a.map((r) => r.urn), b.map((r) => r.urn), type);
                }
                assert.strictEqual(before.outputs.databaseSecretArn, after.outputs.databaseSecretArn);
            });
        }
    });
});
