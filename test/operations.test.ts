// issue 13: the day after the deploy. The alarm topic, the alarms, the dashboard, the WAF and
// maintenance mode, on every target and on the committed dev and prod stacks, under the mock cloud.
import * as assert from "assert";
import { ConfigError, parseConfig, TARGET_NAMES, TargetName } from "../config";
import { dashboardBody, DashboardInputs } from "../components/dashboard";
import { FIXED_RESPONSE_MAX, maintenancePage } from "../components/maintenance";
import { topicKeyPolicy } from "../components/notifications";
import { UNLIMITED_PATHS_REGEX, unlimitedPathsRegex, webAclRules } from "../components/waf";
import { PlannedResource, PlanResult } from "../harness/run";
import { defaultMaxConnections, instanceClassMemoryGiB } from "../lib/rdsMemory";
import { loadBalancerArnSuffix, targetGroupArnSuffix } from "../lib/loadBalancers";
import { all, diffPlans, EKS, input, one, planStack, stackLevel, withoutOperations } from "./helpers";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const sets = (target: TargetName, extra: string[] = []) => [...(target === "eks" ? EKS : [`target=${target}`]), ...extra];

type Statement = { Sid: string; Effect: string; Principal: Record<string, string>; Action: string | string[]; Condition?: Record<string, Record<string, string>> };
const statements = (text: string): Statement[] => (JSON.parse(text) as { Statement: Statement[] }).Statement;

function alarms(plan: PlanResult): Map<string, PlannedResource> {
    return new Map(all(plan, ALARM).map((a) => [input<string>(a, "name").slice(`flask-app-${plan.stack}-`.length), a]));
}
const dims = (a: PlannedResource) => input<Record<string, string>>(a, "dimensions");

/** The alarms each target adds to the stack-level ones. */
const PLATFORM_ALARMS: Record<TargetName, string[]> = {
    beanstalk: ["environment-health"],
    ecs: ["running-tasks"],
    eks: ["running-pods", "pod-restarts"],
};
const STACK_ALARMS = ["db-connections", "db-cpu", "db-free-storage", "db-freeable-memory", "lb-5xx", "no-healthy-targets", "p99-latency", "target-5xx", "unhealthy-targets"];

describe("operations (issue 13)", function () {
    this.timeout(300000);
    const plans = new Map<string, PlanResult>();
    const plan = (stack: string, target: TargetName) => plans.get(`${stack}/${target}`)!;
    before(async () => {
        for (const stack of ["dev", "prod"]) {
            for (const target of TARGET_NAMES) {
                plans.set(`${stack}/${target}`, await planStack(stack, sets(target)));
            }
        }
    });

    describe("notifications", () => {
        it("one KMS-encrypted topic per stack with a key CloudWatch and EventBridge may use, and its ARN as an output", () => {
            for (const p of plans.values()) {
                const topic = one(p, "aws:sns/topic:Topic");
                assert.strictEqual(input(topic, "name"), `flask-app-${p.stack}-alarms`);
                const key = one(p, "aws:kms/key:Key", "-alarms-key");
                // A customer managed key of the stack, never the AWS managed alias/aws/sns.
                assert.match(input<string>(topic, "kmsMasterKeyId"), /^arn:aws:kms:us-east-1:123456789012:key\//);
                assert.ok(!String(input(topic, "kmsMasterKeyId")).includes("alias/aws/sns"));
                assert.strictEqual(input(key, "enableKeyRotation"), true);
                const policy = statements(input<string>(key, "policy"));
                const cw = policy.find((s) => s.Principal.Service === "cloudwatch.amazonaws.com")!;
                assert.deepStrictEqual(cw.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
                assert.strictEqual(cw.Condition?.StringEquals["aws:SourceAccount"], "123456789012");
                assert.strictEqual(cw.Condition?.ArnLike["aws:SourceArn"], "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*");
                const events = policy.find((s) => s.Principal.Service === "events.amazonaws.com")!;
                assert.deepStrictEqual(events.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
                assert.strictEqual(events.Condition, undefined, "EventBridge's KMS calls carry no source keys");
                assert.ok(policy.some((s) => s.Principal.AWS === "arn:aws:iam::123456789012:root" && s.Action === "kms:*"), "the account keeps control of the key");

                const topicPolicy = one(p, "aws:sns/topicPolicy:TopicPolicy");
                const topicArn = `arn:aws:sns:us-east-1:123456789012:flask-app-${p.stack}-alarms`;
                assert.strictEqual(input(topicPolicy, "arn"), topicArn);
                const publishers = statements(input<string>(topicPolicy, "policy")).filter((s) => s.Action === "sns:Publish").map((s) => s.Principal.Service).sort();
                assert.deepStrictEqual(publishers, ["cloudwatch.amazonaws.com", "events.amazonaws.com"]);
                assert.strictEqual(p.outputs.alarmTopicArn, topicArn);
                assert.strictEqual(all(p, "aws:sns/topicSubscription:TopicSubscription").length, 0, "no subscription unless configured");
                assert.ok(stackLevel(p)(topic), "the topic belongs to the stack, not the target");
            }
        });

        it("subscribes the configured email addresses and HTTPS endpoint", async () => {
            const p = await planStack("dev", ["alarmEmails[0]=oncall@example.com", "alarmEmails[1]=lead@example.com", "alarmHttpsEndpoint=https://hooks.example.com/x"]);
            const subs = all(p, "aws:sns/topicSubscription:TopicSubscription").map((s) => [input(s, "protocol"), input(s, "endpoint"), input(s, "topic")]);
            const topicArn = "arn:aws:sns:us-east-1:123456789012:flask-app-dev-alarms";
            assert.deepStrictEqual(subs.sort(), [
                ["email", "lead@example.com", topicArn], ["email", "oncall@example.com", topicArn], ["https", "https://hooks.example.com/x", topicArn],
            ]);
        });

        it("refuses a malformed address or a non-HTTPS endpoint, naming the key", () => {
            const problems = (raw: Record<string, string>) => {
                try {
                    parseConfig("flask-platform", "dev", { target: "ecs", ...raw }, { implementedTargets: [...TARGET_NAMES] });
                } catch (e) {
                    return (e as ConfigError).problems.join("\n");
                }
                return "";
            };
            assert.match(problems({ alarmEmails: '["not-an-address"]' }), /alarmEmails must hold only an email address/);
            assert.match(problems({ alarmHttpsEndpoint: "http://hooks.example.com" }), /alarmHttpsEndpoint must be an https:\/\/ URL/);
            assert.match(problems({ wafRateLimit: "5" }), /wafRateLimit must be a whole number from 10 to 2000000000/);
        });

        it("keeps the topic, the dashboard and the stack-level alarms (same URNs) across every target switch", () => {
            for (const stack of ["dev", "prod"]) {
                const [b, e, k] = TARGET_NAMES.map((t) => plan(stack, t));
                for (const type of ["aws:sns/topic:Topic", "aws:cloudwatch/dashboard:Dashboard"]) {
                    assert.strictEqual(one(b, type).urn, one(e, type).urn, type);
                    assert.strictEqual(one(b, type).urn, one(k, type).urn, type);
                }
                for (const id of STACK_ALARMS) {
                    assert.strictEqual(alarms(b).get(id)!.urn, alarms(e).get(id)!.urn, id);
                    assert.strictEqual(alarms(b).get(id)!.urn, alarms(k).get(id)!.urn, id);
                }
                assert.strictEqual(b.outputs.dashboardUrl, k.outputs.dashboardUrl);
                // Only the load balancer the alarms and the dashboard watch changes.
                const changed = diffPlans(b, e).changed;
                assert.deepStrictEqual(withoutOperations(changed).filter((u) => /Monitoring|Dashboard|Notifications/.test(u)), []);
                assert.ok([...changed.keys()].some((u) => u.endsWith("::flask-app-monitoring-target-5xx")));
                assert.ok(![...changed.keys()].some((u) => u.endsWith("::flask-app-monitoring-db-cpu")), "database alarms do not change");
            }
        });
    });

    describe("alarms", () => {
        it("every target gets the load balancer and database alarms plus its platform's, each paging the topic with what to look at first", () => {
            for (const p of plans.values()) {
                const target = p.outputs.target as TargetName;
                const byId = alarms(p);
                assert.deepStrictEqual([...byId.keys()].sort(), [...STACK_ALARMS, ...PLATFORM_ALARMS[target]].sort(), `${p.stack}/${target}`);
                for (const [id, a] of byId) {
                    assert.deepStrictEqual(input(a, "alarmActions"), [p.outputs.alarmTopicArn], id);
                    assert.deepStrictEqual(input(a, "okActions"), [p.outputs.alarmTopicArn], id);
                    assert.match(input<string>(a, "alarmDescription"), /Look first at/, id);
                    assert.strictEqual(stackLevel(p)(a), !PLATFORM_ALARMS[target].includes(id), `${id}: platform alarms go with the target`);
                }
            }
        });

        it("watches the load balancer and target group of whichever target serves", () => {
            const expected: Record<TargetName, RegExp> = {
                beanstalk: /^app\/awseb--AWSEB-[0-9a-f]+\/[0-9a-f]{16}$/, // from the environment's loadBalancers (an ARN)
                ecs: /^app\/flask-app-alb-[0-9a-f]{7}\/[0-9a-f]{16}$/, // the awsx ALB
                eks: /^app\/k8s-[0-9a-f]+\/[0-9a-f]{16}$/, // found by the controller's tags
            };
            for (const p of plans.values()) {
                const target = p.outputs.target as TargetName;
                const byId = alarms(p);
                const lb = dims(byId.get("target-5xx")!).LoadBalancer;
                assert.match(lb, expected[target]);
                for (const id of ["lb-5xx", "p99-latency"]) {
                    assert.deepStrictEqual(dims(byId.get(id)!), { LoadBalancer: lb }, id);
                }
                for (const id of ["unhealthy-targets", "no-healthy-targets"]) {
                    assert.strictEqual(dims(byId.get(id)!).LoadBalancer, lb);
                    assert.match(dims(byId.get(id)!).TargetGroup, /^targetgroup\/[\w-]+\/[0-9a-f]{16}$/);
                }
                assert.strictEqual(input(byId.get("p99-latency")!, "extendedStatistic"), "p99");
                assert.strictEqual(input(byId.get("target-5xx")!, "metricName"), "HTTPCode_Target_5XX_Count");
                assert.strictEqual(input(byId.get("lb-5xx")!, "metricName"), "HTTPCode_ELB_5XX_Count");
            }
            // EKS: the controller's ALB and target group, looked up by the tags it puts on them.
            const eks = plan("dev", "eks");
            const lookups = eks.invokes.filter((i) => i.token === "aws:lb/getLoadBalancer:getLoadBalancer" || i.token === "aws:lb/getTargetGroup:getTargetGroup");
            assert.deepStrictEqual(lookups.map((i) => i.inputs.tags as Record<string, string>).sort((a, b) => Object.keys(a).length - Object.keys(b).length), [
                { "elbv2.k8s.aws/cluster": "flask-app-dev", "ingress.k8s.aws/stack": "flask-app/app" },
                { "elbv2.k8s.aws/cluster": "flask-app-dev", "ingress.k8s.aws/resource": "flask-app/app-app:http", "ingress.k8s.aws/stack": "flask-app/app" },
            ]);
            // Beanstalk: the default process's target group, by the tags EB and CloudFormation set.
            const eb = plan("dev", "beanstalk").invokes.find((i) => i.token === "aws:lb/getTargetGroup:getTargetGroup")!;
            assert.deepStrictEqual(eb.inputs.tags, { "elasticbeanstalk:environment-name": "flask-app-dev", "aws:cloudformation:logical-id": "AWSEBV2LoadBalancerTargetGroup" });
        });

        it("takes thresholds from config, tighter in prod, and pages on silence in prod only where silence is an outage", () => {
            for (const target of TARGET_NAMES) {
                const [d, p] = [alarms(plan("dev", target)), alarms(plan("prod", target))];
                const t = (m: Map<string, PlannedResource>, id: string) => input<number>(m.get(id)!, "threshold");
                assert.deepStrictEqual([t(d, "target-5xx"), t(d, "lb-5xx"), t(d, "p99-latency"), t(d, "db-cpu")], [25, 25, 2, 90]);
                assert.deepStrictEqual([t(p, "target-5xx"), t(p, "lb-5xx"), t(p, "p99-latency"), t(p, "db-cpu")], [10, 10, 1, 80]);
                // max_connections = LEAST(memory/9531392, 5000): db.t4g.micro 1 GiB -> 112, db.m7g.large 8 GiB -> 901; 80% of each.
                assert.deepStrictEqual([t(d, "db-connections"), t(p, "db-connections")], [89, 720]);
                // Free storage: 10% of 20 GiB (dev) and of 50 GiB (prod), in bytes.
                assert.deepStrictEqual([t(d, "db-free-storage"), t(p, "db-free-storage")], [2147483648, 5368709120]);
                // Freeable memory: 5% of 1 GiB (dev), 10% of 8 GiB (prod).
                assert.deepStrictEqual([t(d, "db-freeable-memory"), t(p, "db-freeable-memory")], [53687091, 858993459]);
                const outage = ["no-healthy-targets", "db-free-storage", ...PLATFORM_ALARMS[target].filter((id) => id !== "pod-restarts")];
                for (const [id, a] of p) {
                    assert.strictEqual(input(a, "treatMissingData"), outage.includes(id) ? "breaching" : "notBreaching", `prod ${id}`);
                }
                for (const [id, a] of d) {
                    assert.strictEqual(input(a, "treatMissingData"), outage.includes(id) ? "missing" : "notBreaching", `dev ${id}`);
                }
            }
        });

        it("watches each platform's own health signal with the stack's minimum capacity", () => {
            const eb = alarms(plan("prod", "beanstalk")).get("environment-health")!;
            assert.deepStrictEqual([input(eb, "namespace"), input(eb, "metricName"), dims(eb), input(eb, "threshold")],
                ["AWS/ElasticBeanstalk", "EnvironmentHealth", { EnvironmentName: "flask-app-prod" }, 20]);
            const ecs = alarms(plan("prod", "ecs")).get("running-tasks")!;
            assert.deepStrictEqual([input(ecs, "namespace"), input(ecs, "metricName"), dims(ecs), input(ecs, "threshold"), input(ecs, "comparisonOperator")],
                ["ECS/ContainerInsights", "RunningTaskCount", { ClusterName: "flask-app-prod", ServiceName: "flask-app-prod" }, 2, "LessThanThreshold"]);
            const pods = alarms(plan("prod", "eks")).get("running-pods")!;
            assert.deepStrictEqual([input(pods, "namespace"), input(pods, "metricName"), dims(pods), input(pods, "threshold")],
                ["ContainerInsights", "service_number_of_running_pods", { ClusterName: "flask-app-prod", Namespace: "flask-app", Service: "app" }, 2]);
            assert.strictEqual(input(alarms(plan("dev", "ecs")).get("running-tasks")!, "threshold"), 1);
        });

        it("sends ECS deployment failures to the topic through an EventBridge rule on the service", () => {
            for (const stack of ["dev", "prod"]) {
                const p = plan(stack, "ecs");
                const rule = one(p, "aws:cloudwatch/eventRule:EventRule");
                const pattern = JSON.parse(input<string>(rule, "eventPattern"));
                assert.deepStrictEqual(pattern, {
                    source: ["aws.ecs"], "detail-type": ["ECS Deployment State Change"],
                    resources: [`arn:aws:ecs:us-east-1:123456789012:service/flask-app-${stack}`],
                    detail: { eventName: ["SERVICE_DEPLOYMENT_FAILED"] },
                });
                assert.strictEqual(input(one(p, "aws:cloudwatch/eventTarget:EventTarget"), "arn"), p.outputs.alarmTopicArn);
                for (const other of ["beanstalk", "eks"] as const) {
                    assert.strictEqual(all(plan(stack, other), "aws:cloudwatch/eventRule:EventRule").length, 0);
                }
            }
        });

        it("derives max_connections from the instance class, and asks for it where the class is unknown", () => {
            assert.deepStrictEqual(["db.t4g.micro", "db.t3.medium", "db.m7g.large", "db.r6g.2xlarge", "db.x2g.large"].map(instanceClassMemoryGiB), [1, 4, 8, 64, undefined]);
            assert.deepStrictEqual([1, 8, 64, 1024].map(defaultMaxConnections), [112, 901, 5000, 5000]);
            const parse = (raw: Record<string, string>) => parseConfig("flask-platform", "dev", { target: "ecs", ...raw }, { implementedTargets: [...TARGET_NAMES] });
            assert.throws(() => parse({ dbInstanceClass: "db.x2g.large" }), /alarmDbMaxConnections must be set for dbInstanceClass "db.x2g.large"/);
            assert.strictEqual(parse({ dbInstanceClass: "db.x2g.large", alarmDbMaxConnections: "1500" }).operations.dbMaxConnections, 1500);
        });
    });

    describe("dashboard", () => {
        it("one dashboard per stack, named after the stack, whose widgets read this stack's load balancer, database, platform and alarms", () => {
            for (const p of plans.values()) {
                const target = p.outputs.target as TargetName;
                const dashboard = one(p, "aws:cloudwatch/dashboard:Dashboard");
                assert.strictEqual(input(dashboard, "dashboardName"), `flask-app-${p.stack}`);
                assert.ok(stackLevel(p)(dashboard));
                const body = JSON.parse(input<string>(dashboard, "dashboardBody")) as { widgets: { type: string; properties: { metrics?: unknown[][]; alarms?: string[] } }[] };
                const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []).map((m) => m.filter((x) => typeof x === "string") as string[]);
                const lb = dims(alarms(p).get("target-5xx")!).LoadBalancer;
                const tg = dims(alarms(p).get("unhealthy-targets")!).TargetGroup;
                const db = input<string>(one(p, "aws:rds/instance:Instance"), "identifier");
                const uses = (ns: string, metric: string, ...kv: string[]) => metrics.some((m) => m[0] === ns && m[1] === metric && kv.every((v) => m.includes(v)));
                // Requests, errors, latency on the load balancer; targets on its target group.
                assert.ok(uses("AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb));
                assert.ok(uses("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb) && uses("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb));
                assert.ok(uses("AWS/ApplicationELB", "TargetResponseTime", lb));
                assert.ok(uses("AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", tg, lb));
                for (const m of ["CPUUtilization", "DatabaseConnections", "FreeableMemory", "FreeStorageSpace"]) {
                    assert.ok(uses("AWS/RDS", m, "DBInstanceIdentifier", db), m);
                }
                // Saturation from the platform that runs.
                const saturation: Record<TargetName, boolean> = {
                    beanstalk: uses("AWS/EC2", "CPUUtilization", "AutoScalingGroupName") && uses("AWS/ElasticBeanstalk", "EnvironmentHealth", `flask-app-${p.stack}`),
                    ecs: uses("AWS/ECS", "CPUUtilization", "ClusterName", `flask-app-${p.stack}`, "ServiceName") && uses("ECS/ContainerInsights", "RunningTaskCount"),
                    eks: uses("ContainerInsights", "pod_cpu_utilization_over_pod_limit", `flask-app-${p.stack}`, "flask-app", "app"),
                };
                assert.ok(saturation[target], `${p.stack}/${target} saturation`);
                // No widget reads another platform's metrics.
                const foreign = { beanstalk: ["AWS/ECS", "ContainerInsights"], ecs: ["AWS/ElasticBeanstalk", "ContainerInsights"], eks: ["AWS/ECS", "AWS/ElasticBeanstalk"] }[target];
                assert.ok(!metrics.some((m) => foreign.includes(m[0])), `${target} dashboard reads only its own platform`);
                // The alarm widget lists exactly the stack's alarms.
                const alarmWidget = body.widgets.find((w) => w.type === "alarm")!;
                const arns = all(p, ALARM).map((a) => `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${input(a, "name")}`).sort();
                assert.deepStrictEqual([...alarmWidget.properties.alarms!].sort(), arns);
                assert.strictEqual(p.outputs.dashboardUrl, `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/flask-app-${p.stack}`);
            }
        });

        it("lays the widgets out on CloudWatch's 24-column grid without overlap (pure body)", () => {
            const inputs: DashboardInputs = {
                title: "t", region: "eu-west-1", loadBalancerArnSuffix: "app/a/1", targetGroupArnSuffix: "targetgroup/t/2", dbIdentifier: "db",
                platform: { kind: "ecs", clusterName: "c", serviceName: "s" }, alarmArns: ["arn:a"],
            };
            const widgets = (JSON.parse(dashboardBody(inputs)) as { widgets: { x: number; y: number; width: number; height: number; properties: { region?: string } }[] }).widgets;
            const cells = new Set<string>();
            for (const w of widgets) {
                assert.ok(w.x + w.width <= 24);
                for (let x = w.x; x < w.x + w.width; x++) {
                    for (let y = w.y; y < w.y + w.height; y++) {
                        assert.ok(!cells.has(`${x},${y}`), `overlap at ${x},${y}`);
                        cells.add(`${x},${y}`);
                    }
                }
                assert.ok(w.properties.region === undefined || w.properties.region === "eu-west-1");
            }
        });
    });

    describe("WAF", () => {
        it("dev has none; prod has a REGIONAL web ACL with the managed rule groups and a rate limit that spares /health (not /ready, which queries the database)", async () => {
            for (const target of TARGET_NAMES) {
                assert.strictEqual(all(plan("dev", target), "aws:wafv2/webAcl:WebAcl").length, 0);
                const acl = one(plan("prod", target), "aws:wafv2/webAcl:WebAcl");
                assert.strictEqual(input(acl, "scope"), "REGIONAL");
                assert.deepStrictEqual(input(acl, "defaultAction"), { allow: {} });
                type Rule = { name: string; priority: number; statement: Record<string, Record<string, unknown>>; visibilityConfig: Record<string, unknown> };
                const rules = acl.inputs.rules as unknown as Rule[];
                assert.deepStrictEqual(rules.filter((r) => r.statement.managedRuleGroupStatement).map((r) => r.statement.managedRuleGroupStatement.name),
                    ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]);
                const rate = rules.find((r) => r.statement.rateBasedStatement)!.statement.rateBasedStatement as Record<string, unknown>;
                assert.deepStrictEqual([rate.limit, rate.aggregateKeyType], [2000, "IP"]);
                assert.deepStrictEqual(rate.scopeDownStatement, { notStatement: { statement: { regexMatchStatement: {
                    regexString: UNLIMITED_PATHS_REGEX, fieldToMatch: { uriPath: {} }, textTransformations: [{ priority: 0, type: "NONE" }],
                } } } });
                assert.deepStrictEqual(new Set(rules.map((r) => r.priority)).size, rules.length, "distinct priorities");
                for (const v of [...rules.map((r) => r.visibilityConfig), acl.inputs.visibilityConfig as Record<string, unknown>]) {
                    assert.deepStrictEqual([v.sampledRequestsEnabled, v.cloudwatchMetricsEnabled], [true, true]);
                }
                assert.ok(stackLevel(plan("prod", target))(acl));
            }
            const re = new RegExp(UNLIMITED_PATHS_REGEX);
            assert.deepStrictEqual(["/health", "/ready", "/healthz", "/clients", "/ready/x"].map((p) => re.test(p)), [true, false, false, false, false], "/ready counts: each request is a database ping");
            assert.throws(() => webAclRules(5), /from 10 to 2000000000/);
            // The app's own check paths (issue 16's appHealthPath/appReadyPath), regex characters escaped.
            const custom = new RegExp(unlimitedPathsRegex(["/v1.0/healthz", "/ready"]));
            assert.deepStrictEqual(["/v1.0/healthz", "/v1x0/healthz", "/ready", "/health"].map((p) => custom.test(p)), [true, false, true, false]);
            const own = await planStack("prod", ["target=ecs", "appHealthPath=/healthz", "appReadyPath=/readyz"]);
            const ownRules = one(own, "aws:wafv2/webAcl:WebAcl").inputs.rules as unknown as { statement: { rateBasedStatement?: { scopeDownStatement: { notStatement: { statement: { regexMatchStatement: { regexString: string } } } } } } }[];
            const scope = ownRules.find((r) => r.statement.rateBasedStatement)!.statement.rateBasedStatement!.scopeDownStatement;
            assert.strictEqual(scope.notStatement.statement.regexMatchStatement.regexString, "^(/healthz)$");
        });

        it("is associated with the serving load balancer: by the stack on Beanstalk and ECS, through the Ingress annotation on EKS", async () => {
            for (const target of ["beanstalk", "ecs"] as const) {
                const p = plan("prod", target);
                const assoc = one(p, "aws:wafv2/webAclAssociation:WebAclAssociation");
                const lb = dims(alarms(p).get("target-5xx")!).LoadBalancer;
                assert.ok(input<string>(assoc, "resourceArn").endsWith(`:loadbalancer/${lb}`), target);
                assert.strictEqual(input(assoc, "webAclArn"), p.outputs.webAclArn);
            }
            const eks = plan("prod", "eks");
            assert.strictEqual(all(eks, "aws:wafv2/webAclAssociation:WebAclAssociation").length, 0, "the controller associates it");
            const annotations = (one(eks, "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as { annotations: Record<string, string> }).annotations;
            assert.strictEqual(annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"], eks.outputs.webAclArn);
            assert.match(String(eks.outputs.webAclArn), /^arn:aws:wafv2:us-east-1:123456789012:regional\/webacl\/flask-app-prod-waf\//);
            const devIngress = (one(plan("dev", "eks"), "kubernetes:networking.k8s.io/v1:Ingress").inputs.metadata as { annotations: Record<string, string> }).annotations;
            // Off says so: the controller keeps an ACL associated while the annotation is absent.
            assert.strictEqual(devIngress["alb.ingress.kubernetes.io/wafv2-acl-arn"], "none");
            // The controller's IAM policy lets it associate the ACL.
            const lbcPolicy = all(eks, "aws:iam/rolePolicy:RolePolicy").find((r) => r.name.endsWith("-load-balancer-controller"))!;
            assert.ok(input<string>(lbcPolicy, "policy").includes("wafv2:AssociateWebACL"));
            const limited = await planStack("prod", ["target=ecs", "wafRateLimit=500"]);
            const rate = input<{ statement: { rateBasedStatement?: { limit: number } } }[]>(one(limited, "aws:wafv2/webAcl:WebAcl"), "rules").find((r) => r.statement.rateBasedStatement)!;
            assert.strictEqual(rate.statement.rateBasedStatement!.limit, 500);
        });
    });

    describe("maintenance mode", () => {
        const MAINT = "maintenanceMode=true";

        it("the page is a complete HTML document within the ALB's 1024-character fixed-response limit", () => {
            const page = maintenancePage("abcdefghij-klmnopqrs");
            assert.ok(page.length <= FIXED_RESPONSE_MAX, `${page.length}`);
            assert.match(page, /^<!doctype html>.*<\/html>$/);
            assert.ok(!maintenancePage("<script>").includes("<script>"));
        });

        for (const target of ["beanstalk", "ecs"] as const) {
            it(`${target}: a top-priority listener rule answers 503 on the serving listener, and nothing of the app is redeployed`, async () => {
                for (const [domain, port] of [[[], 80], [["domainName=app.example.com"], 443]] as const) {
                    const off = await planStack("dev", sets(target, [...domain]));
                    const on = await planStack("dev", sets(target, [...domain, MAINT]));
                    const rule = one(on, "aws:lb/listenerRule:ListenerRule");
                    assert.strictEqual(input(rule, "priority"), 1);
                    assert.deepStrictEqual(input(rule, "conditions"), [{ pathPattern: { values: ["/*"] } }]);
                    const [action] = input<{ type: string; fixedResponse: { statusCode: string; contentType: string; messageBody: string } }[]>(rule, "actions");
                    assert.deepStrictEqual([action.type, action.fixedResponse.statusCode, action.fixedResponse.contentType], ["fixed-response", "503", "text/html"]);
                    assert.strictEqual(action.fixedResponse.messageBody, maintenancePage("flask-app"));
                    // On the load balancer the alarms watch, on the listener that serves (443 with a domain; 80 only redirects then).
                    const lookup = on.invokes.find((i) => i.token === "aws:lb/getListener:getListener")!;
                    assert.strictEqual(lookup.inputs.port, port);
                    assert.ok(String(lookup.inputs.loadBalancerArn).endsWith(`:loadbalancer/${dims(alarms(on).get("target-5xx")!).LoadBalancer}`));
                    assert.ok(String(input(rule, "listenerArn")).includes(":listener/app/"));
                    // Switching it on adds the rule and silences the load balancer 5xx alarm; the app is untouched.
                    const d = diffPlans(off, on);
                    assert.deepStrictEqual(d.added.map((u) => u.split("::").pop()).sort(), ["flask-app-maintenance", "flask-app-maintenance-rule"]);
                    // The live release check cannot pass behind a 503 page: it stays out until maintenance ends.
                    assert.deepStrictEqual(d.removed.map((u) => u.split("::").pop()), ["flask-app-release-check"]);
                    assert.deepStrictEqual([...d.changed].map(([u, keys]) => [u.split("::").pop(), keys]), [["flask-app-monitoring-lb-5xx", ["actionsEnabled"]]]);
                    assert.strictEqual(input(alarms(on).get("lb-5xx")!, "actionsEnabled"), false);
                    assert.strictEqual(on.outputs.maintenanceMode, true);
                }
            });
        }

        it("eks: the Ingress routes every path to a fixed-response action first, keeps the app's rule behind it, and the pods are untouched", async () => {
            const off = plan("dev", "eks");
            const on = await planStack("dev", sets("eks", [MAINT]));
            const ingress = one(on, "kubernetes:networking.k8s.io/v1:Ingress");
            const meta = ingress.inputs.metadata as { annotations: Record<string, string> };
            const action = JSON.parse(meta.annotations["alb.ingress.kubernetes.io/actions.maintenance"]);
            assert.deepStrictEqual(action, { type: "fixed-response", fixedResponseConfig: { contentType: "text/html", statusCode: "503", messageBody: maintenancePage("flask-app") } });
            type Path = { path: string; pathType: string; backend: { service: { name: string; port: { name: string } } } };
            const paths = (ingress.inputs.spec as { rules: { http: { paths: Path[] } }[] }).rules[0].http.paths;
            assert.deepStrictEqual(paths.map((p) => [p.path, p.backend.service.name, p.backend.service.port.name]), [["/", "maintenance", "use-annotation"], ["/", "app", "http"]]);
            assert.strictEqual(all(on, "aws:lb/listenerRule:ListenerRule").length, 0, "the controller owns the ALB's rules");
            const d = diffPlans(off, on);
            assert.deepStrictEqual([d.added, d.removed.map((u) => u.split("::").pop())], [[], ["flask-app-release-check"]]);
            assert.deepStrictEqual([...d.changed].map(([u, keys]) => [u.split("::").pop(), keys]).sort(), [
                ["flask-app-eks-ingress", ["metadata", "spec"]], ["flask-app-monitoring-lb-5xx", ["actionsEnabled"]],
            ]);
            const offPaths = (one(off, "kubernetes:networking.k8s.io/v1:Ingress").inputs.spec as { rules: { http: { paths: Path[] } }[] }).rules[0].http.paths;
            assert.deepStrictEqual(offPaths.map((p) => p.backend.service.name), ["app"]);
        });
    });

    it("ARN suffixes are what CloudWatch's dimensions expect", () => {
        assert.strictEqual(loadBalancerArnSuffix("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/awseb-AWSEB-1X/50dc6c495c0c9188"), "app/awseb-AWSEB-1X/50dc6c495c0c9188");
        assert.strictEqual(targetGroupArnSuffix("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/awseb-AWSEB-2Y/73e2d6bc24d8a067"), "targetgroup/awseb-AWSEB-2Y/73e2d6bc24d8a067");
        assert.throws(() => loadBalancerArnSuffix("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/n/1"), /not an Application Load Balancer ARN/);
        assert.ok(topicKeyPolicy("111122223333", "eu-west-1").includes("arn:aws:cloudwatch:eu-west-1:111122223333:alarm:*"));
    });
});
