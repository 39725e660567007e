// One CloudWatch dashboard per stack (issue 13): the golden signals (requests, errors, latency,
// saturation) of whichever target serves, and the database's. Its name is the stack's, never the
// target's, so its URL survives a target switch; only the body's dimensions change.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LoadBalancerRef, PlatformSignals } from "../targets/types";

/** The platform's own dimensions, resolved. */
export type DashboardPlatform =
    | { readonly kind: "beanstalk"; readonly environmentName: string; readonly autoScalingGroupName: string }
    | { readonly kind: "ecs"; readonly clusterName: string; readonly serviceName: string }
    | { readonly kind: "eks"; readonly clusterName: string; readonly namespace: string; readonly serviceName: string };

export interface DashboardInputs {
    readonly title: string;
    readonly region: string;
    readonly loadBalancerArnSuffix: string;
    readonly targetGroupArnSuffix: string;
    readonly dbIdentifier: string;
    readonly platform: DashboardPlatform;
    /** ARNs of the stack's alarms, shown as one status widget. */
    readonly alarmArns: readonly string[];
}

type Metric = (string | Record<string, string>)[];
interface Widget {
    readonly type: "metric" | "text" | "alarm";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, unknown>;
}

const W = 8;
const H = 6;

/** The dashboard body (CloudWatch API, CloudWatch-Dashboard-Body-Structure): pure, so tests read it. */
export function dashboardBody(d: DashboardInputs): string {
    const lb = ["LoadBalancer", d.loadBalancerArnSuffix];
    const tg = ["TargetGroup", d.targetGroupArnSuffix, "LoadBalancer", d.loadBalancerArnSuffix];
    const alb = (metric: string, dims: string[], stat: string, label: string): Metric => ["AWS/ApplicationELB", metric, ...dims, { stat, label }];
    const rds = (metric: string, stat: string): Metric => ["AWS/RDS", metric, "DBInstanceIdentifier", d.dbIdentifier, { stat }];
    const graph = (title: string, metrics: Metric[], extra: Record<string, unknown> = {}) => ({
        title, region: d.region, view: "timeSeries", stacked: false, period: 60, metrics, ...extra,
    });
    const rows: Record<string, unknown>[][] = [
        [
            graph("Requests", [alb("RequestCount", lb, "Sum", "requests")]),
            graph("Errors", [
                alb("HTTPCode_Target_5XX_Count", lb, "Sum", "app 5xx"),
                alb("HTTPCode_ELB_5XX_Count", lb, "Sum", "load balancer 5xx"),
                alb("HTTPCode_Target_4XX_Count", lb, "Sum", "app 4xx"),
            ]),
            graph("Latency (target response time, s)", [
                alb("TargetResponseTime", lb, "p50", "p50"),
                alb("TargetResponseTime", lb, "p90", "p90"),
                alb("TargetResponseTime", lb, "p99", "p99"),
            ]),
        ],
        [
            graph("Targets", [alb("HealthyHostCount", tg, "Minimum", "healthy"), alb("UnHealthyHostCount", tg, "Maximum", "unhealthy")]),
            ...platformWidgets(d, graph),
        ],
        [
            graph("Database CPU and connections", [rds("CPUUtilization", "Average"), [...rds("DatabaseConnections", "Maximum").slice(0, 4), { stat: "Maximum", yAxis: "right" }]]),
            graph("Database memory and storage (bytes)", [rds("FreeableMemory", "Minimum"), rds("FreeStorageSpace", "Minimum")]),
            graph("Database latency (s)", [rds("ReadLatency", "Average"), rds("WriteLatency", "Average")]),
        ],
    ];
    const widgets: Widget[] = [{
        type: "text", x: 0, y: 0, width: 24, height: 2,
        properties: { markdown: `## ${d.title}\nRequests, errors, latency and saturation of the app on **${d.platform.kind}**, and of its database. Alarms below publish to the stack's topic.` },
    }];
    rows.forEach((row, r) => row.forEach((properties, c) => widgets.push({ type: "metric", x: c * W, y: 2 + r * H, width: W, height: H, properties })));
    widgets.push({
        type: "alarm", x: 0, y: 2 + rows.length * H, width: 24, height: 4,
        properties: { title: "Alarms", alarms: [...d.alarmArns], sortBy: "stateUpdatedTimestamp" },
    });
    return JSON.stringify({ widgets });
}

function platformWidgets(d: DashboardInputs, graph: (title: string, metrics: Metric[]) => Record<string, unknown>): Record<string, unknown>[] {
    const p = d.platform;
    switch (p.kind) {
        case "beanstalk":
            return [
                graph("Saturation: instance CPU (%)", [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", p.autoScalingGroupName, { stat: "Average" }]]),
                graph("Environment health (0 ok, 15 warning, 20 degraded, 25 severe)", [["AWS/ElasticBeanstalk", "EnvironmentHealth", "EnvironmentName", p.environmentName, { stat: "Maximum" }]]),
            ];
        case "ecs":
            return [
                graph("Saturation: task CPU and memory (%)", [
                    ["AWS/ECS", "CPUUtilization", "ClusterName", p.clusterName, "ServiceName", p.serviceName, { stat: "Average" }],
                    ["AWS/ECS", "MemoryUtilization", "ClusterName", p.clusterName, "ServiceName", p.serviceName, { stat: "Average" }],
                ]),
                graph("Running tasks", [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", p.clusterName, "ServiceName", p.serviceName, { stat: "Minimum" }]]),
            ];
        case "eks":
            return [
                graph("Saturation: pod CPU and memory (% of limit)", [
                    ["ContainerInsights", "pod_cpu_utilization_over_pod_limit", "ClusterName", p.clusterName, "Namespace", p.namespace, "Service", p.serviceName, { stat: "Average" }],
                    ["ContainerInsights", "pod_memory_utilization_over_pod_limit", "ClusterName", p.clusterName, "Namespace", p.namespace, "Service", p.serviceName, { stat: "Average" }],
                ]),
                graph("Running pods", [["ContainerInsights", "service_number_of_running_pods", "ClusterName", p.clusterName, "Namespace", p.namespace, "Service", p.serviceName, { stat: "Minimum" }]]),
            ];
    }
}

/** Arguments of {@link Dashboard}. */
export interface DashboardArgs {
    /** The dashboard's name: the stack's name prefix, the same on every target. */
    readonly dashboardName: string;
    readonly title: string;
    readonly loadBalancer: LoadBalancerRef;
    readonly dbIdentifier: pulumi.Input<string>;
    readonly platform: PlatformSignals;
    readonly alarmArns: pulumi.Input<string>[];
}

/** The platform's dimensions, resolved for the body. */
export function resolvePlatform(p: PlatformSignals): pulumi.Output<DashboardPlatform> {
    switch (p.kind) {
        case "beanstalk":
            return pulumi.all([p.environmentName, p.autoScalingGroupName])
                .apply(([environmentName, autoScalingGroupName]): DashboardPlatform => ({ kind: "beanstalk", environmentName, autoScalingGroupName }));
        case "ecs":
            return pulumi.all([p.clusterName, p.serviceName]).apply(([clusterName, serviceName]): DashboardPlatform => ({ kind: "ecs", clusterName, serviceName }));
        case "eks":
            return pulumi.all([p.clusterName, p.namespace]).apply(([clusterName, namespace]): DashboardPlatform => ({ kind: "eks", clusterName, namespace, serviceName: p.serviceName }));
    }
}

/** The stack's dashboard; `url` opens it in the console. */
export class Dashboard extends pulumi.ComponentResource {
    readonly name: string;
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: DashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:dashboard:Dashboard", name, {}, opts);
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(args.dashboardName)) {
            throw new Error(`Dashboard ${name}: ${JSON.stringify(args.dashboardName)} is not a valid dashboard name (letters, digits, - and _, at most 255)`);
        }
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const lb = args.loadBalancer;
        const inputs = pulumi.all([region, lb.arnSuffix, lb.targetGroupArnSuffix, args.dbIdentifier, resolvePlatform(args.platform), pulumi.all(args.alarmArns)])
            .apply(([r, loadBalancerArnSuffix, targetGroupArnSuffix, dbIdentifier, platform, alarmArns]): DashboardInputs => ({
                title: args.title, region: r, loadBalancerArnSuffix, targetGroupArnSuffix, dbIdentifier, platform, alarmArns,
            }));
        new aws.cloudwatch.Dashboard(`${name}-dashboard`, {
            dashboardName: args.dashboardName,
            dashboardBody: inputs.apply(dashboardBody),
        }, { parent: this });
        this.name = args.dashboardName;
        this.url = inputs.apply((d) => `https://${d.region}.console.aws.amazon.com/cloudwatch/home?region=${d.region}#dashboards/dashboard/${args.dashboardName}`);
        this.registerOutputs({ url: this.url });
    }
}
