// The stack's alarms (issue 13): the load balancer in front of the app, the database and the
// platform's own health, all publishing to the stack's one topic. Which target runs decides only
// the dimensions and the platform alarms; names and thresholds stay, so a move keeps the pages.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { OperationsConfig } from "../config";
import { LoadBalancerRef, PlatformSignals } from "../targets/types";

export type TreatMissingData = "breaching" | "notBreaching" | "ignore" | "missing";

/** One alarm, as data: what it watches, when it fires, and what to look at first. */
export interface AlarmSpec {
    /** Suffix of the alarm's name (`<prefix>-<id>`) and of its logical name. */
    readonly id: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, pulumi.Input<string>>;
    /** A statistic (Sum, Average, Minimum, Maximum) or a percentile (p99). */
    readonly statistic: string;
    readonly period: number;
    readonly evaluationPeriods: number;
    readonly datapointsToAlarm?: number;
    readonly comparison: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold";
    readonly threshold: number;
    readonly treatMissingData: TreatMissingData;
    /** What fired and what to look at first: shown in the notification. */
    readonly description: string;
    /** False while a known cause makes the alarm meaningless (maintenance mode's 503s). */
    readonly actionsEnabled?: boolean;
}

export interface AlarmInputs {
    readonly namePrefix: string;
    readonly ops: OperationsConfig;
    readonly loadBalancer: LoadBalancerRef;
    readonly platform: PlatformSignals;
    readonly dbIdentifier: pulumi.Input<string>;
    readonly dbAllocatedStorageGiB: number;
    /** The app's minimum capacity (instances, tasks or pods): fewer running is an alarm. */
    readonly minCapacity: number;
}

const GiB = 1024 ** 3;

function outageTreatment(o: OperationsConfig): TreatMissingData {
    return o.missingDataIsOutage ? "breaching" : "missing";
}

/**
 * The alarms on the load balancer and the database: stack-level, the same names on every target
 * (only the load balancer's dimensions change on a switch). Silence means an outage only for gauges that are always reported while
 * the thing exists (healthy hosts, environment health, running tasks or pods, free storage); with
 * `alarmMissingDataIsOutage` (prod) those fire on missing data. Counts such as 5xx are reported
 * only when non-zero, so their silence is good news.
 */
export function stackAlarmSpecs(i: AlarmInputs): AlarmSpec[] {
    const o = i.ops;
    const outage = outageTreatment(o);
    const lb = { LoadBalancer: i.loadBalancer.arnSuffix };
    const tg = { TargetGroup: i.loadBalancer.targetGroupArnSuffix, LoadBalancer: i.loadBalancer.arnSuffix };
    const alb = "AWS/ApplicationELB";
    const where = platformWords(i.platform.kind);
    const specs: AlarmSpec[] = [
        {
            id: "target-5xx", namespace: alb, metricName: "HTTPCode_Target_5XX_Count", dimensions: lb, statistic: "Sum",
            period: 300, evaluationPeriods: 1, comparison: "GreaterThanThreshold", threshold: o.target5xxCount, treatMissingData: "notBreaching",
            description: `The app answered more than ${o.target5xxCount} 5xx in 5 minutes. Look first at the app's logs (${where.logs}) for tracebacks, `
                + "then at /ready (database reachable?) and at the last deploy.",
        },
        {
            id: "lb-5xx", namespace: alb, metricName: "HTTPCode_ELB_5XX_Count", dimensions: lb, statistic: "Sum",
            period: 300, evaluationPeriods: 1, comparison: "GreaterThanThreshold", threshold: o.lb5xxCount, treatMissingData: "notBreaching",
            // Maintenance mode's 503s come from the load balancer itself: expected, not a page.
            actionsEnabled: !o.maintenanceMode,
            description: `The load balancer itself answered more than ${o.lb5xxCount} 5xx in 5 minutes (502: targets reset or sent bad responses, `
                + "503: no healthy target, 504: target timed out). Look first at the healthy-host alarms and the target group's health in the EC2 console, "
                + `then at ${where.platform}.`,
        },
        {
            id: "p99-latency", namespace: alb, metricName: "TargetResponseTime", dimensions: lb, statistic: "p99",
            period: 300, evaluationPeriods: 3, comparison: "GreaterThanThreshold", threshold: o.p99LatencyMs / 1000, treatMissingData: "notBreaching",
            description: `The slowest 1% of requests took over ${o.p99LatencyMs} ms for 15 minutes. Look first at the database alarms (CPU, connections) `
                + `and the dashboard's saturation row (${where.saturation}), then at slow statements in the database's postgresql log.`,
        },
        {
            id: "unhealthy-targets", namespace: alb, metricName: "UnHealthyHostCount", dimensions: tg, statistic: "Maximum",
            period: 60, evaluationPeriods: 5, datapointsToAlarm: 3, comparison: "GreaterThanOrEqualToThreshold", threshold: 1, treatMissingData: "notBreaching",
            description: "At least one target failed the load balancer's /health check in 3 of the last 5 minutes. Look first at the target group's "
                + `health reasons in the EC2 console, then at ${where.platform}.`,
        },
        {
            id: "no-healthy-targets", namespace: alb, metricName: "HealthyHostCount", dimensions: tg, statistic: "Minimum",
            period: 60, evaluationPeriods: 3, comparison: "LessThanThreshold", threshold: 1, treatMissingData: outage,
            description: "No target has passed the /health check for 3 minutes: the app is down for every user. Look first at "
                + `${where.platform}, then at the last deploy and the app's logs (${where.logs}).`,
        },
        {
            id: "db-cpu", namespace: "AWS/RDS", metricName: "CPUUtilization", dimensions: { DBInstanceIdentifier: i.dbIdentifier }, statistic: "Average",
            period: 300, evaluationPeriods: 3, comparison: "GreaterThanThreshold", threshold: o.dbCpuPercent, treatMissingData: "notBreaching",
            description: `The database's CPU has been above ${o.dbCpuPercent}% for 15 minutes. Look first at Performance Insights' top SQL (prod) `
                + "or the postgresql log's slow statements, then at the request rate on the dashboard; a bigger dbInstanceClass is the last resort.",
        },
        {
            id: "db-free-storage", namespace: "AWS/RDS", metricName: "FreeStorageSpace", dimensions: { DBInstanceIdentifier: i.dbIdentifier }, statistic: "Minimum",
            period: 300, evaluationPeriods: 1, comparison: "LessThanThreshold",
            threshold: Math.round((i.dbAllocatedStorageGiB * GiB * o.dbFreeStoragePercent) / 100), treatMissingData: outage,
            description: `The database has less than ${o.dbFreeStoragePercent}% of its ${i.dbAllocatedStorageGiB} GiB free. Storage autoscaling grows it `
                + "up to dbMaxAllocatedStorage. Look first at whether it is already there (RDS console, Storage), then at table and log growth.",
        },
        {
            id: "db-connections", namespace: "AWS/RDS", metricName: "DatabaseConnections", dimensions: { DBInstanceIdentifier: i.dbIdentifier }, statistic: "Maximum",
            period: 300, evaluationPeriods: 2, comparison: "GreaterThanThreshold",
            threshold: Math.floor((o.dbMaxConnections * o.dbConnectionsPercent) / 100), treatMissingData: "notBreaching",
            description: `Database connections exceeded ${o.dbConnectionsPercent}% of max_connections (${o.dbMaxConnections}) for 10 minutes; `
                + "new connections fail beyond it. Look first at how many app instances, tasks or pods run (each holds a pool), then at idle sessions in pg_stat_activity.",
        },
    ];
    if (o.dbMemoryGiB !== undefined) {
        specs.push({
            id: "db-freeable-memory", namespace: "AWS/RDS", metricName: "FreeableMemory", dimensions: { DBInstanceIdentifier: i.dbIdentifier }, statistic: "Minimum",
            period: 300, evaluationPeriods: 3, comparison: "LessThanThreshold",
            threshold: Math.round((o.dbMemoryGiB * GiB * o.dbFreeMemoryPercent) / 100), treatMissingData: "notBreaching",
            description: `The database's freeable memory has been below ${o.dbFreeMemoryPercent}% of its ${o.dbMemoryGiB} GiB for 15 minutes; it swaps next. `
                + "Look first at the connection count (each backend holds memory), then at work_mem-heavy queries.",
        });
    }
    return specs;
}

/** Every alarm of a stack: the stack-level ones, then the platform's. */
export function alarmSpecs(i: AlarmInputs): AlarmSpec[] {
    return [...stackAlarmSpecs(i), ...platformAlarmSpecs(i)];
}

function platformWords(kind: PlatformSignals["kind"]): { logs: string; platform: string; saturation: string } {
    switch (kind) {
        case "beanstalk":
            return { logs: "the environment's /aws/elasticbeanstalk log groups", platform: "the environment's health page (eb health) and recent events", saturation: "instance CPU" };
        case "ecs":
            return { logs: "the /ecs/<stack> log group", platform: "the ECS service's events and stopped tasks' stop reasons", saturation: "task CPU and memory" };
        case "eks":
            return { logs: "the Container Insights application log group", platform: "kubectl -n <app> get pods and describe pod (events, probes)", saturation: "pod CPU and memory" };
    }
}

/** Alarms on the platform's own health signals: they belong to the target and go with it. */
export function platformAlarmSpecs(i: AlarmInputs): AlarmSpec[] {
    const outage = outageTreatment(i.ops);
    const p = i.platform;
    switch (p.kind) {
        case "beanstalk":
            // Enhanced health (on for every environment here) publishes EnvironmentHealth without a
            // ConfigDocument (Elastic Beanstalk DG, health-enhanced-cloudwatch; from that page as
            // remembered, not re-read offline: README, Operations, lists it as unverified).
            // 0 Ok, 1 Info, 5 Unknown, 10 No data, 15 Warning, 20 Degraded, 25 Severe.
            return [{
                id: "environment-health", namespace: "AWS/ElasticBeanstalk", metricName: "EnvironmentHealth", dimensions: { EnvironmentName: p.environmentName },
                statistic: "Maximum", period: 60, evaluationPeriods: 5, datapointsToAlarm: 3, comparison: "GreaterThanOrEqualToThreshold", threshold: 20,
                treatMissingData: outage,
                description: "Elastic Beanstalk rates the environment Degraded or Severe. Look first at `eb health` / the console's Health page for the causes "
                    + "it lists (failed deploy, 5xx, CPU), then at recent events.",
            }];
        case "ecs":
            // Container Insights (on for every ECS stack) reports tasks per service (CloudWatch
            // User Guide, Container-Insights-metrics-ECS: RunningTaskCount, ClusterName+ServiceName).
            return [{
                id: "running-tasks", namespace: "ECS/ContainerInsights", metricName: "RunningTaskCount", dimensions: { ClusterName: p.clusterName, ServiceName: p.serviceName },
                statistic: "Minimum", period: 60, evaluationPeriods: 3, comparison: "LessThanThreshold", threshold: i.minCapacity, treatMissingData: outage,
                description: `Fewer than ${i.minCapacity} tasks have run for 3 minutes. Look first at the service's events and the stopped tasks' stop reasons `
                    + "(image pull, secret access, failed health checks, Spot interruptions).",
            }];
        case "eks": {
            // The CloudWatch Observability add-on reports per Service and per pod (CloudWatch User
            // Guide, Container-Insights-metrics-EKS). The stack installs it on a cluster of its own;
            // on a shared cluster it is the owner's, so silence there may only mean no add-on and
            // must not page forever: missing data stays "missing" (INSUFFICIENT_DATA) instead.
            const dims = { ClusterName: p.clusterName, Namespace: p.namespace };
            const podsMissing = p.clusterOwnedByStack ? outage : "missing";
            return [
                {
                    id: "running-pods", namespace: "ContainerInsights", metricName: "service_number_of_running_pods", dimensions: { ...dims, Service: p.serviceName },
                    statistic: "Minimum", period: 60, evaluationPeriods: 3, comparison: "LessThanThreshold", threshold: i.minCapacity, treatMissingData: podsMissing,
                    description: `Fewer than ${i.minCapacity} pods behind the app's Service have run for 3 minutes. Look first at kubectl get pods and describe pod `
                        + "(Pending: no node fits, the Cluster Autoscaler's log; CrashLoopBackOff: the app's log; not Ready: /ready and the database).",
                },
                {
                    id: "pod-restarts", namespace: "ContainerInsights", metricName: "pod_number_of_container_restarts", dimensions: { ...dims, PodName: p.deploymentName },
                    statistic: "Maximum", period: 300, evaluationPeriods: 1, comparison: "GreaterThanThreshold", threshold: 3, treatMissingData: "notBreaching",
                    description: "An app pod's containers restarted more than 3 times. Look first at kubectl logs --previous and describe pod "
                        + "(OOMKilled: raise eksPodMemory; liveness probe failures: the app stalls on /health).",
                },
            ];
        }
    }
}

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs extends AlarmInputs {
    /** Where every alarm publishes. */
    readonly topicArn: pulumi.Input<string>;
}

/** One CloudWatch alarm from its spec, publishing its state changes to the topic. */
export function createAlarm(name: string, namePrefix: string, s: AlarmSpec, topicArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(`${name}-${s.id}`, {
        name: `${namePrefix}-${s.id}`,
        alarmDescription: s.description,
        namespace: s.namespace,
        metricName: s.metricName,
        dimensions: s.dimensions,
        ...(s.statistic.startsWith("p") ? { extendedStatistic: s.statistic } : { statistic: s.statistic }),
        period: s.period,
        evaluationPeriods: s.evaluationPeriods,
        datapointsToAlarm: s.datapointsToAlarm ?? s.evaluationPeriods,
        comparisonOperator: s.comparison,
        threshold: s.threshold,
        treatMissingData: s.treatMissingData,
        actionsEnabled: s.actionsEnabled ?? true,
        alarmActions: [topicArn],
        okActions: [topicArn],
    }, opts);
}

/** The stack-level alarms ({@link stackAlarmSpecs}): load balancer and database, to the stack's topic. */
export class Monitoring extends pulumi.ComponentResource {
    /** The alarms' ARNs, in stackAlarmSpecs order, for the dashboard's alarm widget. */
    readonly alarmArns: pulumi.Output<string>[];

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:monitoring:Monitoring", name, {}, opts);
        this.alarmArns = stackAlarmSpecs(args).map((s) => createAlarm(name, args.namePrefix, s, args.topicArn, { parent: this }).arn);
        this.registerOutputs({ alarmArns: this.alarmArns });
    }
}

/** The EventBridge pattern of a failed deployment of one ECS service. */
export function deploymentFailedPattern(serviceArn: pulumi.Input<string>): Record<string, unknown> {
    return {
        source: ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        resources: [serviceArn],
        detail: { eventName: ["SERVICE_DEPLOYMENT_FAILED"] },
    };
}
