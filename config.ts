// Every config key the program reads is declared here, once: its type, default, allowed values and
// description. `loadConfig` reads and validates all of them into one typed object and reports every
// problem in a single error, so a stack with three mistakes fails once, not three times.
// `Pulumi.yaml` declares the same keys for the CLI; test/config.test.ts keeps the two in step.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EnumeratedKind, enumerationProblem } from "./lib/awsEnumerations";
import { AppSpec, appSourceProblems, envNameProblems, HTTP_PATH, SECRET_ARN } from "./lib/appSpec";
import { longestStackName, nameProblems } from "./lib/names";
import { defaultMaxConnections, instanceClassMemoryGiB } from "./lib/rdsMemory";
import { appPodsPerNode, largerSizes, NodeShape, nodeAllocatable, nodeShape } from "./lib/eksCapacity";
import { otherTargetWarnings } from "./lib/keyTargets";
import { nearest } from "./lib/suggest";
import { defaultTagsProblems } from "./lib/tags";

export const TARGET_NAMES = ["beanstalk", "ecs", "eks"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const NAT_STRATEGIES = ["single", "onePerAz"] as const;
export type NatStrategy = (typeof NAT_STRATEGIES)[number];

export const DB_ENGINE_VERSIONS = ["15", "16", "17"] as const;

export const DEPLOYMENT_POLICIES = ["AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting"] as const;
export type DeploymentPolicy = (typeof DEPLOYMENT_POLICIES)[number];

export const SCALING_METRICS = ["CPUUtilization", "RequestCount", "NetworkOut", "TargetResponseTime"] as const;
export type ScalingMetric = (typeof SCALING_METRICS)[number];

/**
 * Retention periods both CloudWatch Logs and Elastic Beanstalk's log streaming accept (Beanstalk's
 * list is the shorter one), so the same value works on every target.
 */
/** CPU architectures the image is built for; it decides Fargate's runtime platform and EKS's node AMI. */
export const IMAGE_PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
export type ImagePlatform = (typeof IMAGE_PLATFORMS)[number];

// --- Issue 12: where the container image is built. ---
/** `codebuild`: in the stack's AWS account (no Docker where pulumi runs); `local`: docker-build on this machine. */
export const IMAGE_BUILDERS = ["codebuild", "local"] as const;
export type ImageBuilder = (typeof IMAGE_BUILDERS)[number];

/** Fargate task CPU units and, per CPU, the memory sizes (MiB) Fargate accepts (AWS ECS "Task size"). */
export const FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;
export function fargateMemoryChoices(cpu: number): number[] {
    const range = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
    switch (cpu) {
        case 256: return [512, 1024, 2048];
        case 512: return range(1024, 4096, 1024);
        case 1024: return range(2048, 8192, 1024);
        case 2048: return range(4096, 16384, 1024);
        case 4096: return range(8192, 30720, 1024);
        case 8192: return range(16384, 61440, 4096);
        case 16384: return range(32768, 122880, 8192);
        default: return [];
    }
}

export const CONTAINER_INSIGHTS = ["enabled", "enhanced"] as const;

/** EKS versions in AWS standard support in late 2026 (1.33 left it in July 2026; see README). */
export const EKS_VERSIONS = ["1.33", "1.34", "1.35"] as const;
export type EksVersion = (typeof EKS_VERSIONS)[number];

/**
 * End of EKS standard support per version (UTC dates), from AWS's release calendar (EKS User
 * Guide, kubernetes-versions: "A minor version is under standard support in Amazon EKS for the first
 * 14 months after it's released"; dates as listed there and on endoflife.date/amazon-eks, read
 * 2026-11-23). The cluster runs `upgradePolicy: STANDARD`, under which EKS upgrades a cluster
 * itself at the end of standard support, so a version past it is refused.
 */
export const EKS_STANDARD_SUPPORT_END: Readonly<Record<EksVersion, string>> = {
    "1.33": "2026-07-29",
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
};

/** Graviton instance families (m7g, t4g, c6gn...) are arm64; everything else this program accepts is x86_64. */
export function isArmInstanceType(instanceType: string): boolean {
    return /^[a-z]+\d+g[a-z]*\./.test(instanceType);
}

export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] as const;

interface BaseSpec {
    readonly description: string;
    /**
     * The stack must set it. Any other key without a default is optional: Pulumi.yaml declares it
     * with `default: ""`, which the CLI passes as "" and `Reader.get` reads as unset.
     */
    readonly required?: boolean;
}
interface StringSpec extends BaseSpec {
    readonly type: "string";
    readonly default?: string;
    readonly oneOf?: readonly string[];
    readonly pattern?: RegExp;
    /** What `pattern` means, in words, for the error message. */
    readonly patternHint?: string;
}
interface IntegerSpec extends BaseSpec {
    readonly type: "integer";
    readonly default?: number;
    readonly min: number;
    readonly max: number;
    readonly oneOf?: readonly number[];
}
interface BooleanSpec extends BaseSpec {
    readonly type: "boolean";
    readonly default?: boolean;
}
/** A list of strings (Pulumi config type `array`; the CLI hands it to the program as JSON). */
interface StringListSpec extends BaseSpec {
    readonly type: "array";
    readonly default?: readonly string[];
    /** Each item must match. */
    readonly itemPattern: RegExp;
    readonly itemHint: string;
}
/**
 * A map of names to strings (Pulumi config type `object`; the CLI hands it over as JSON). Numbers
 * and booleans in YAML (`WORKERS: 4`) are taken as their text, as environment variables are text.
 */
interface StringMapSpec extends BaseSpec {
    readonly type: "object";
    readonly default: Readonly<Record<string, string>>;
    /** What a value must be, in words, when `valuePattern` is set. */
    readonly valuePattern?: RegExp;
    readonly valueHint?: string;
}
export type KeySpec = StringSpec | IntegerSpec | BooleanSpec | StringListSpec | StringMapSpec;

/**
 * The schema. Keys without a default are optional unless `loadConfig` says otherwise (only `target`
 * is required). Names are flat because Pulumi's project-level config block types only scalars and
 * arrays; the prefix (`db`, `eb`, ...) groups them.
 */
export const CONFIG_SCHEMA = {
    target: {
        type: "string", oneOf: TARGET_NAMES, required: true,
        description: "The platform the app runs on: beanstalk (Elastic Beanstalk), ecs (ECS Fargate behind an ALB) or eks (EKS). Changing it moves the app; the network and database stay.",
    },
    appName: {
        type: "string", default: "flask-app", pattern: /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/,
        patternHint: "3-20 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (it prefixes AWS names with tight length limits)",
        description: "Short name that prefixes every AWS resource name.",
    },
    appPort: {
        type: "integer", default: 8000, min: 1024, max: 65535,
        description: "Port the app's gunicorn listens on (PORT); load balancers and health checks target it.",
    },
    logRetentionDays: {
        type: "integer", default: 30, min: 1, max: 3653, oneOf: LOG_RETENTION_DAYS,
        description: "CloudWatch Logs retention for app, platform and flow logs.",
    },
    vpcCidr: {
        type: "string", default: "10.0.0.0/16", pattern: /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(1[6-9]|20)$/,
        patternHint: "an IPv4 CIDR block from /16 to /20, e.g. 10.0.0.0/16",
        description: "The VPC's IPv4 CIDR block.",
    },
    availabilityZones: {
        type: "integer", default: 2, min: 2, max: 3,
        description: "How many availability zones the VPC spans (public and private subnet in each).",
    },
    natGateways: {
        type: "string", default: "single", oneOf: NAT_STRATEGIES,
        description: "NAT gateways for the private subnets' egress: single (one, cheap) or onePerAz (survives an AZ outage).",
    },
    flowLogs: {
        type: "boolean", default: false,
        description: "Send VPC flow logs to CloudWatch Logs.",
    },
    dbEngineVersion: {
        type: "string", default: "17", oneOf: DB_ENGINE_VERSIONS,
        description: "PostgreSQL major version; RDS applies minor upgrades automatically.",
    },
    dbInstanceClass: {
        type: "string", default: "db.t4g.micro", pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/,
        patternHint: "an RDS instance class such as db.t4g.micro or db.m7g.large",
        description: "RDS instance class.",
    },
    dbAllocatedStorage: {
        type: "integer", default: 20, min: 20, max: 65536,
        description: "Initial gp3 storage in GiB.",
    },
    dbMaxAllocatedStorage: {
        type: "integer", default: 100, min: 20, max: 65536,
        description: "Storage autoscaling ceiling in GiB (must be at least dbAllocatedStorage).",
    },
    dbMultiAz: {
        type: "boolean", default: false,
        description: "Run a synchronous standby in a second AZ.",
    },
    dbBackupRetentionDays: {
        type: "integer", default: 1, min: 1, max: 35,
        description: "Automated backup retention in days.",
    },
    dbDeletionProtection: {
        type: "boolean", default: false,
        description: "Refuse to delete the database until this is turned off.",
    },
    dbFinalSnapshot: {
        type: "boolean", default: false,
        description: "Take a final snapshot when the database is deleted.",
    },
    dbPerformanceInsights: {
        type: "boolean", default: false,
        description: "Enable Performance Insights (7 days, free tier).",
    },
    domainName: {
        type: "string", pattern: /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        patternHint: "a lowercase DNS name such as app.example.com",
        description: "Optional. Serve the app on this name over HTTPS (ACM certificate, HTTP redirected). Empty: the load balancer's own name over HTTP.",
    },
    hostedZoneName: {
        type: "string", pattern: /^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
        patternHint: "a lowercase DNS zone name such as example.com",
        description: "Existing Route 53 public hosted zone for domainName. Default: domainName without its first label.",
    },
    minCapacity: {
        type: "integer", default: 1, min: 1, max: 100,
        description: "Fewest app instances, tasks or pods.",
    },
    maxCapacity: {
        type: "integer", default: 2, min: 1, max: 100,
        description: "Most app instances, tasks or pods (at least minCapacity).",
    },
    ebInstanceType: {
        type: "string", default: "t4g.small", pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
        patternHint: "an EC2 instance type such as t4g.small or m7g.large",
        description: "Elastic Beanstalk: EC2 instance type (Graviton types are cheaper for the Python platform).",
    },
    ebSolutionStack: {
        // Python 3.11 only: the minor app/scripts/venv.sh tests with and the image runs (test/appenv.test.ts).
        type: "string", pattern: /^64bit Amazon Linux 2023 v\d+\.\d+\.\d+ running Python 3\.11$/,
        patternHint: "a full Amazon Linux 2023 Python 3.11 solution stack name such as \"64bit Amazon Linux 2023 v4.5.0 running Python 3.11\" (the app is tested on Python 3.11)",
        description: "Elastic Beanstalk: pin a platform version. Empty: the newest Amazon Linux 2023 Python platform.",
    },
    ebDeploymentPolicy: {
        type: "string", default: "AllAtOnce", oneOf: DEPLOYMENT_POLICIES,
        description: "Elastic Beanstalk: how new versions roll out. Immutable and TrafficSplitting roll back on failed health.",
    },
    ebScalingMetric: {
        type: "string", default: "CPUUtilization", oneOf: SCALING_METRICS,
        description: "Elastic Beanstalk: the CloudWatch metric of the scaling trigger.",
    },
    ebScaleUpThreshold: {
        type: "integer", default: 70, min: 1, max: 100000,
        description: "Elastic Beanstalk: scale out above this value of ebScalingMetric (percent for CPU).",
    },
    ebScaleDownThreshold: {
        type: "integer", default: 30, min: 0, max: 100000,
        description: "Elastic Beanstalk: scale in below this value (must be under ebScaleUpThreshold).",
    },
    ebKeepVersions: {
        type: "integer", default: 10, min: 1, max: 1000,
        description: "Elastic Beanstalk: application versions kept; older ones and their S3 bundles are deleted.",
    },
    ebMaintenanceWindow: {
        type: "string", default: "Sun:03:00", pattern: /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d$/,
        patternHint: "Day:HH:MM in UTC, e.g. Sun:03:00",
        description: "Elastic Beanstalk: weekly window (UTC) for managed platform updates.",
    },
    imagePlatform: {
        type: "string", default: "linux/amd64", oneOf: IMAGE_PLATFORMS,
        description: "ECS and EKS: the CPU architecture the container image is built for and runs on (arm64 = Graviton, cheaper; with imageBuilder local, building it on an x86 machine needs QEMU).",
    },
    imageKeepCount: {
        type: "integer", default: 20, min: 1, max: 1000,
        description: "ECS and EKS: images kept in the ECR repository; older ones expire.",
    },
    cpuTargetPercent: {
        type: "integer", default: 60, min: 10, max: 90,
        description: "ECS and EKS: average CPU utilization (%) that target tracking / the HPA holds by adding or removing tasks or pods.",
    },
    ecsCpu: {
        type: "integer", default: 256, min: 256, max: 16384, oneOf: FARGATE_CPU,
        description: "ECS: task CPU units (1024 = 1 vCPU).",
    },
    ecsMemory: {
        type: "integer", default: 512, min: 512, max: 122880,
        description: "ECS: task memory (MiB); must be a size Fargate accepts for ecsCpu.",
    },
    ecsSpot: {
        type: "boolean", default: false,
        description: "ECS: run tasks on Fargate Spot (about 70% cheaper, interrupted with two minutes' notice). For dev.",
    },
    ecsContainerInsights: {
        type: "string", default: "enabled", oneOf: CONTAINER_INSIGHTS,
        description: "ECS: CloudWatch Container Insights level for the cluster (enhanced adds per-task and per-container metrics).",
    },
    // issue 16 §5: a shell in a running task, off by default.
    ecsExec: {
        type: "boolean", default: false,
        description: "ECS: enable ECS Exec (aws ecs execute-command) on the service; the task role gets the four ssmmessages actions and the root filesystem becomes writable, which ECS Exec needs.",
    },
    ecsRequestsPerTarget: {
        type: "integer", default: 1000, min: 10, max: 100000,
        description: "ECS: ALB requests per task per minute that target tracking holds.",
    },
    eksVersion: {
        type: "string", default: "1.35", oneOf: EKS_VERSIONS,
        description: "EKS: Kubernetes version of the control plane and nodes (upgrade one minor at a time).",
    },
    eksNodeInstanceType: {
        type: "string", default: "t3.medium", pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, patternHint: "an EC2 instance type such as t3.medium",
        description: "EKS: instance type of the managed node group; its architecture must match imagePlatform.",
    },
    eksNodeMin: {
        type: "integer", default: 1, min: 1, max: 100,
        description: "EKS: fewest nodes; the Cluster Autoscaler never goes below.",
    },
    eksNodeMax: {
        type: "integer", default: 3, min: 1, max: 100,
        description: "EKS: most nodes the Cluster Autoscaler may add.",
    },
    eksPodCpu: {
        type: "integer", default: 250, min: 50, max: 16000,
        description: "EKS: CPU request of each app pod (millicores); the HPA's utilization is relative to it.",
    },
    eksPodCpuLimit: {
        type: "integer", default: 1000, min: 50, max: 16000,
        description: "EKS: CPU limit of each app pod (millicores).",
    },
    eksPodMemory: {
        type: "integer", default: 512, min: 128, max: 65536,
        description: "EKS: memory request and limit of each app pod (MiB).",
    },
    eksDeployerRoleArns: {
        type: "array", default: [], itemPattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, itemHint: "an IAM role ARN, e.g. arn:aws:iam::123456789012:role/deployer",
        description: "EKS: IAM roles that run pulumi up for this stack (teammates, CI, Pulumi Deployments' OIDC role); each gets cluster admin through an access entry. EKS makes only the cluster's creator admin otherwise, per principal. Required with target eks.",
    },
    eksPublicAccessCidrs: {
        type: "string", default: "", pattern: /^(private|(\d{1,3}(\.\d{1,3}){3}\/\d{1,2})(,\d{1,3}(\.\d{1,3}){3}\/\d{1,2})*)$/,
        patternHint: "private, or comma-separated IPv4 CIDR blocks such as 198.51.100.0/24,203.0.113.7/32",
        description: "EKS: where the cluster's API endpoint is reached from (pulumi up and kubectl talk to it): comma-separated CIDR blocks open the public endpoint to those networks only; private keeps it inside the VPC, so pulumi up must run there. Required with target eks.",
    },
    eksAddonVersions: {
        type: "string", default: "", pattern: /^[a-z0-9-]+=v[\w.+-]+(,[a-z0-9-]+=v[\w.+-]+)*$/,
        patternHint: "comma-separated add-on=version pairs such as metrics-server=v0.8.0-eksbuild.1",
        description: "EKS: pin add-on versions (the eksAddonVersions output shows what runs). Empty: EKS's default version for the cluster, taken at creation.",
    },
    // Issue 12: the image builder.
    imageBuilder: {
        type: "string", default: "codebuild", oneOf: IMAGE_BUILDERS,
        description: "ECS and EKS: where the container image is built. codebuild: an AWS CodeBuild project of the stack builds and pushes it (no Docker where pulumi up runs, e.g. Pulumi Deployments; native arm64 builds). local: docker-build on the machine running pulumi up (needs a Docker daemon, and QEMU for a foreign platform).",
    },
    // --- issue 13: operations (notifications, alarms, dashboard, WAF, maintenance mode) ---
    alarmEmails: {
        type: "array", default: [], itemPattern: /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i, itemHint: "an email address, e.g. oncall@example.com",
        description: "Addresses subscribed to the stack's alarm topic (each must confirm the email AWS sends). Empty: no email subscription.",
    },
    alarmHttpsEndpoint: {
        type: "string", pattern: /^https:\/\/[^\s]+$/, patternHint: "an https:// URL, e.g. https://events.pagerduty.com/integration/<key>/enqueue",
        description: "Optional. An HTTPS endpoint (pager, chat webhook) subscribed to the alarm topic; it must confirm the subscription.",
    },
    alarmTarget5xxCount: {
        type: "integer", default: 25, min: 1, max: 1000000,
        description: "Alarm when the app (the load balancer's targets) answers more than this many 5xx in 5 minutes.",
    },
    alarmLb5xxCount: {
        type: "integer", default: 25, min: 1, max: 1000000,
        description: "Alarm when the load balancer itself answers more than this many 5xx in 5 minutes (no healthy target, timeouts, resets).",
    },
    alarmP99LatencyMs: {
        type: "integer", default: 2000, min: 50, max: 60000,
        description: "Alarm when the 99th percentile target response time stays above this many milliseconds for 15 minutes.",
    },
    alarmDbCpuPercent: {
        type: "integer", default: 90, min: 10, max: 100,
        description: "Alarm when the database's average CPU stays above this percentage for 15 minutes.",
    },
    alarmDbFreeStoragePercent: {
        type: "integer", default: 10, min: 1, max: 50,
        description: "Alarm when the database's free storage falls below this percentage of dbAllocatedStorage.",
    },
    alarmDbFreeMemoryPercent: {
        type: "integer", default: 5, min: 1, max: 50,
        description: "Alarm when the database's freeable memory falls below this percentage of the instance class's memory.",
    },
    alarmDbConnectionsPercent: {
        type: "integer", default: 80, min: 10, max: 100,
        description: "Alarm when database connections exceed this percentage of max_connections (derived from the instance class, or alarmDbMaxConnections).",
    },
    alarmDbMaxConnections: {
        type: "integer", default: 0, min: 0, max: 262143,
        description: "The database's max_connections, for the connections alarm. 0: derived from dbInstanceClass as RDS's default parameter group does.",
    },
    alarmMissingDataIsOutage: {
        type: "boolean", default: false,
        description: "Alarms whose silence means an outage (no healthy host count, no environment health, no running-task metric) fire on missing data.",
    },
    waf: {
        type: "boolean", default: false,
        description: "Put an AWS WAF web ACL (managed rules and a per-IP rate limit) in front of the load balancer.",
    },
    wafRateLimit: {
        type: "integer", default: 2000, min: 10, max: 2000000000,
        description: "WAF: requests one IP may send in 5 minutes before it is blocked (appHealthPath, /health, is not counted; the readiness path is, since it queries the database).",
    },
    maintenanceMode: {
        type: "boolean", default: false,
        description: "Answer every public request with a 503 maintenance page at the load balancer; the app keeps running and is not redeployed.",
    },
    // --- Issue 16 §1: bring your own app (lib/appSpec.ts renders these for every target). ---
    appSourceDir: {
        type: "string", default: "app", pattern: /^(?![/\\])[^\0]+$/,
        patternHint: "a directory relative to the project root (where Pulumi.yaml is), e.g. app or ../services/api",
        description: "The app's source directory, relative to the project root: the Beanstalk bundle (needs a Procfile or application.py), or the image's build context (needs a Dockerfile) on ECS and EKS. Default: the bundled Flask app.",
    },
    appEnv: {
        type: "object", default: {},
        description: "Plain environment variables of the app, NAME: value (names [A-Z_][A-Z0-9_]*; DB_*, PORT, APP_RELEASE and WEB_CONCURRENCY are set by the program). Same on every target. Not for secrets: use appSecrets.",
    },
    appSecrets: {
        type: "object", default: {}, valuePattern: SECRET_ARN,
        valueHint: "a full Secrets Manager secret ARN, with the six characters Secrets Manager appends, such as arn:aws:secretsmanager:us-east-1:123456789012:secret:app/api-key-AbCdEf",
        description: "Secret environment variables, NAME: Secrets Manager secret ARN. Injected at start by the platform (Beanstalk environmentsecrets, ECS task secrets, a Kubernetes Secret on EKS); only the ARN is in config and state, except on EKS (docs/bring-your-own-app.md).",
    },
    appHealthPath: {
        type: "string", default: "/health", pattern: HTTP_PATH, patternHint: "an absolute URL path such as /health",
        description: "Shallow health path: load balancer health checks, the container health check and the liveness probe on every target, and the healthUrl output.",
    },
    appReadyPath: {
        type: "string", default: "/ready", pattern: HTTP_PATH, patternHint: "an absolute URL path such as /ready",
        description: "Readiness path (answers 200 when the app's dependencies do): the Kubernetes readiness probe.",
    },
    // --- Issue 16 §2: reuse what the account has (components/network.ts adopt mode; targets/eks.ts). ---
    existingVpcId: {
        type: "string", pattern: /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/, patternHint: "a VPC id such as vpc-0123456789abcdef0",
        description: "Optional. Deploy into this existing VPC instead of creating one (no VPC, NAT gateways, S3 endpoint or flow logs are created; vpcCidr, availabilityZones, natGateways and flowLogs then have no effect). Needs existingPrivateSubnetIds and existingPublicSubnetIds.",
    },
    existingPrivateSubnetIds: {
        type: "array", default: [], itemPattern: /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/, itemHint: "a subnet id such as subnet-0123456789abcdef0",
        description: "With existingVpcId: subnets for the app and the database, in at least two AZs, with egress to the internet (NAT) for image pulls and AWS APIs.",
    },
    existingPublicSubnetIds: {
        type: "array", default: [], itemPattern: /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/, itemHint: "a subnet id such as subnet-0123456789abcdef0",
        description: "With existingVpcId: subnets for the internet-facing load balancer, in at least two AZs, routed to an internet gateway.",
    },
    eksExistingCluster: {
        type: "string", pattern: /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, patternHint: "an EKS cluster name (letters, digits, hyphens, underscores; up to 100)",
        description: "Optional, target eks. Deploy into this existing EKS cluster instead of creating one (docs/bring-your-own-app.md: the access and controllers it needs). Requires existingVpcId (the cluster's VPC).",
    },
    iamPermissionsBoundary: {
        type: "string", pattern: /^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/, patternHint: "an IAM managed policy ARN, e.g. arn:aws:iam::123456789012:policy/flask-platform/dev/app-boundary",
        description: "Optional. Set when deploying through the delivery project's role: every IAM role and instance profile the program creates gets this permissions boundary and the IAM path /<project>/<stack>/ that role may write (README, Delivery).",
    },
    // --- Issue 11 §3: the deploy verified against the live endpoint (components/releaseVerification.ts). ---
    verifyDeploy: {
        type: "boolean", default: true,
        description: "After pulumi up rolls out a new release, poll the public URL until GET /health reports it and GET /ready answers 200, and fail the update otherwise (naming the likely cause and the command that shows the platform's events). Needs the runner to reach the URL. Off: nothing is checked.",
    },
    verifyTimeoutSeconds: {
        type: "integer", default: 600, min: 30, max: 3600,
        description: "How long the post-deploy check waits for the new release and /ready before it fails pulumi up (seconds).",
    },
    // --- Issue 16 §4: the escape from the provider's enumerations (lib/awsEnumerations.ts). ---
    acceptUnlisted: {
        type: "array", default: [], itemPattern: /^[a-z0-9][a-z0-9.-]*$/, itemHint: "an instance type, RDS class or region such as r8i.large or eu-central-1",
        description: "Instance types (ebInstanceType, eksNodeInstanceType), RDS classes (dbInstanceClass) and regions (aws:region) to accept although the @pulumi/aws enumerations this program checks against do not list them (released after the provider). Anything else unlisted is refused as a likely typo.",
    },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

/** Everything the program needs to know about a stack, validated. */
export interface StackConfig {
    readonly project: string;
    readonly stack: string;
    readonly target: TargetName;
    readonly appName: string;
    /** `${appName}-${stack}`: the prefix of physical names, unique per stack in one account. */
    readonly namePrefix: string;
    /** Boundary (and IAM path) for every role the program creates; see lib/iamGuardrails.ts. */
    readonly iamPermissionsBoundary?: string;
    readonly appPort: number;
    /** The app to ship and its environment (issue 16 §1); `app.port` is `appPort`. */
    readonly app: AppSpec;
    readonly logRetentionDays: number;
    /** Issue 11 §3: the post-deploy check of the live endpoint; absent when verifyDeploy is false. */
    readonly verify?: { readonly timeoutSeconds: number };
    readonly network: {
        /** Issue 16: an existing VPC to deploy into; nothing of the network is created then. */
        readonly existing?: { readonly vpcId: string; readonly privateSubnetIds: readonly string[]; readonly publicSubnetIds: readonly string[] };
        readonly cidr: string;
        readonly azCount: number;
        readonly natGateways: NatStrategy;
        readonly flowLogs: boolean;
    };
    readonly database: {
        readonly engineVersion: string;
        readonly instanceClass: string;
        readonly allocatedStorage: number;
        readonly maxAllocatedStorage: number;
        readonly multiAz: boolean;
        readonly backupRetentionDays: number;
        readonly deletionProtection: boolean;
        readonly finalSnapshot: boolean;
        readonly performanceInsights: boolean;
    };
    /** Present only when `domainName` is set. */
    readonly domain?: { readonly name: string; readonly zoneName: string };
    readonly scaling: { readonly min: number; readonly max: number };
    readonly beanstalk: {
        readonly instanceType: string;
        readonly solutionStack?: string;
        readonly deploymentPolicy: DeploymentPolicy;
        readonly scalingMetric: ScalingMetric;
        readonly scaleUpThreshold: number;
        readonly scaleDownThreshold: number;
        readonly keepVersions: number;
        readonly maintenanceWindow: string;
    };
    /** The container image shared by the ECS and EKS targets. */
    readonly image: {
        readonly platform: ImagePlatform; readonly keep: number; readonly builder: ImageBuilder;
        /** The stack's `aws:profile`: the CodeBuild step's SDK clients use the identity the AWS provider uses (issue 12). */
        readonly awsProfile?: string;
    };
    /** Target average CPU (%) for task and pod autoscaling. */
    readonly cpuTargetPercent: number;
    readonly ecs: {
        readonly cpu: number;
        readonly memory: number;
        readonly spot: boolean;
        readonly containerInsights: (typeof CONTAINER_INSIGHTS)[number];
        readonly requestsPerTarget: number;
        /** ecsExec (issue 16 §5). */
        readonly exec: boolean;
    };
    readonly eks: {
        readonly version: EksVersion;
        readonly nodeInstanceType: string;
        readonly nodeMin: number;
        readonly nodeMax: number;
        /** Millicores. */
        readonly podCpu: number;
        readonly podCpuLimit: number;
        /** MiB. */
        readonly podMemory: number;
        /** Roles given cluster admin through access entries (the identities that run `pulumi up`). */
        readonly deployerRoleArns: readonly string[];
        /** Pinned add-on versions by add-on name; unlisted add-ons take EKS's default. */
        readonly addonVersions: Readonly<Record<string, string>>;
        /** Networks allowed on the public API endpoint; empty: the endpoint is private only. */
        readonly publicAccessCidrs: readonly string[];
        /** Issue 16: deploy into this existing cluster instead of creating one. */
        readonly existingCluster?: string;
    };
    /** issue 13: who is paged, on what, and what guards the public endpoint. */
    readonly operations: OperationsConfig;
    /** Issue 16 §4: what is accepted but probably not meant (keys of another target); loadConfig logs them. */
    readonly warnings: readonly string[];
}

/** Notifications, alarm thresholds, WAF and maintenance mode (issue 13). */
export interface OperationsConfig {
    readonly emails: readonly string[];
    readonly httpsEndpoint?: string;
    readonly target5xxCount: number;
    readonly lb5xxCount: number;
    readonly p99LatencyMs: number;
    readonly dbCpuPercent: number;
    readonly dbFreeStoragePercent: number;
    readonly dbFreeMemoryPercent: number;
    readonly dbConnectionsPercent: number;
    /** max_connections the connections alarm is judged against (configured or derived). */
    readonly dbMaxConnections: number;
    /** Memory of the database's instance class in GiB; undefined when the class is not in lib/rdsMemory.ts. */
    readonly dbMemoryGiB?: number;
    readonly missingDataIsOutage: boolean;
    readonly waf: { readonly enabled: boolean; readonly rateLimit: number };
    readonly maintenanceMode: boolean;
}

/** Thrown with every problem found; each line names the key, the bad value and what is allowed. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

type Raw = Readonly<Record<string, string | undefined>>;
type Value<K extends ConfigKey> = (typeof CONFIG_SCHEMA)[K] extends IntegerSpec ? number
    : (typeof CONFIG_SCHEMA)[K] extends BooleanSpec ? boolean
    : (typeof CONFIG_SCHEMA)[K] extends StringListSpec ? readonly string[]
    : (typeof CONFIG_SCHEMA)[K] extends StringMapSpec ? Readonly<Record<string, string>> : string;

/** Reads one key, records any problem, and returns the parsed value or the key's default. */
class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: Raw) {}

    get<K extends ConfigKey>(key: K): Value<K> | undefined {
        const spec: KeySpec = CONFIG_SCHEMA[key];
        const text = this.raw[key];
        if (text === undefined || text === "") {
            return spec.default as Value<K> | undefined;
        }
        const parsed = parseValue(key, spec, text);
        if (typeof parsed === "object" && "problem" in parsed) {
            this.problems.push(parsed.problem);
            return spec.default as Value<K> | undefined;
        }
        return parsed as Value<K>;
    }

    /** Keys with a default always have a value; this narrows away `undefined` for them. */
    must<K extends ConfigKey>(key: K): Value<K> {
        const v = this.get(key);
        if (v === undefined) {
            throw new Error(`internal: config key ${key} has no default`);
        }
        return v;
    }
}

function quote(text: string): string {
    return JSON.stringify(text);
}

function parseValue(key: string, spec: KeySpec, text: string): string | number | boolean | readonly string[] | Readonly<Record<string, string>> | { problem: string } {
    switch (spec.type) {
        case "object": {
            let map: unknown;
            try {
                map = JSON.parse(text);
            } catch {
                map = undefined;
            }
            if (map === null || typeof map !== "object" || Array.isArray(map)) {
                return { problem: `${key} must be a map of NAME: value (pulumi config set --path '${key}.NAME' <value>) (got ${quote(text)})` };
            }
            const out: Record<string, string> = {};
            const bad: string[] = [];
            for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
                if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
                    bad.push(`${k} must be a string (got ${quote(JSON.stringify(v))})`);
                } else if (spec.valuePattern && !spec.valuePattern.test(String(v))) {
                    bad.push(`${k} must be ${spec.valueHint} (got ${quote(String(v))})`);
                } else {
                    out[k] = String(v);
                }
            }
            if (bad.length > 0) {
                return { problem: `${key}: ${bad.join("; ")}` };
            }
            return out;
        }
        case "array": {
            let list: unknown;
            try {
                list = JSON.parse(text);
            } catch {
                list = undefined;
            }
            if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) {
                return { problem: `${key} must be a list (pulumi config set --path '${key}[0]' <value>) of ${spec.itemHint} (got ${quote(text)})` };
            }
            const bad = list.filter((item: string) => !spec.itemPattern.test(item));
            if (bad.length > 0) {
                return { problem: `${key} must hold only ${spec.itemHint} (got ${bad.map(quote).join(", ")})` };
            }
            return list as string[];
        }
        case "boolean":
            if (text === "true" || text === "false") {
                return text === "true";
            }
            return { problem: `${key} must be true or false (got ${quote(text)})` };
        case "integer": {
            if (!/^-?\d+$/.test(text)) {
                return { problem: `${key} must be a whole number from ${spec.min} to ${spec.max} (got ${quote(text)})` };
            }
            const n = Number(text);
            if (spec.oneOf && !spec.oneOf.includes(n)) {
                return { problem: `${key} must be one of ${spec.oneOf.join(", ")} (got ${quote(text)})` };
            }
            if (n < spec.min || n > spec.max) {
                return { problem: `${key} must be a whole number from ${spec.min} to ${spec.max} (got ${quote(text)})` };
            }
            return n;
        }
        case "string":
            if (spec.oneOf && !spec.oneOf.includes(text)) {
                return { problem: `${key} must be one of ${spec.oneOf.join(", ")} (got ${quote(text)})` };
            }
            if (spec.pattern && !spec.pattern.test(text)) {
                return { problem: `${key} must be ${spec.patternHint ?? `like ${spec.pattern}`} (got ${quote(text)})` };
            }
            return text;
    }
}

export interface LoadOptions {
    /** The targets that exist today; selecting any other is a config error that says so. */
    readonly implementedTargets: readonly TargetName[];
    /** The date version support is judged against; tests pin it. Default: now. */
    readonly now?: Date;
    /** The stack's `aws:profile`, if set: passed to the CodeBuild step, which calls AWS itself (issue 12). */
    readonly awsProfile?: string;
    /** The stack's `aws:defaultTags` as the CLI passes it (JSON), checked against the derived tags (issue 16). */
    readonly awsDefaultTags?: string;
    /** Where relative paths (appSourceDir) start: the project root. Default: the working directory, as Pulumi runs programs there. */
    readonly projectRoot?: string;
    /** The stack's `aws:region`, checked against the provider's list of regions (issue 16 §4). */
    readonly awsRegion?: string;
    /** The stack's `aws:assumeRoles` (or v6's `aws:assumeRole`), if set: the CodeBuild step does not follow it, and says so. */
    readonly awsAssumeRoles?: string;
}

/**
 * Validates raw config (key without the project prefix -> string, as Pulumi hands it over) into a
 * StackConfig. Pure, so tests can feed it tables of bad input without a Pulumi runtime.
 */
export function parseConfig(project: string, stack: string, raw: Raw, opts: LoadOptions): StackConfig {
    const r = new Reader(raw);
    const problems = r.problems;

    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_SCHEMA)) {
            // Issue 16 §4: a misspelt key is the likeliest unknown one; name its nearest known spelling.
            const guess = nearest(key, Object.keys(CONFIG_SCHEMA));
            problems.push(guess !== undefined
                ? `unknown config key ${project}:${key}; did you mean ${guess}?`
                : `unknown config key ${project}:${key} (known keys: ${Object.keys(CONFIG_SCHEMA).join(", ")})`);
        }
    }

    // Issue 16: the stack and project tags are derived (lib/tags.ts); a copied stack file must not override them.
    problems.push(...defaultTagsProblems(opts.awsDefaultTags, project, stack));

    const target = r.get("target");
    if (raw.target === undefined || raw.target === "") {
        problems.push(`target is required: set it to one of ${TARGET_NAMES.join(", ")} (pulumi config set target ecs)`);
    } else if (target !== undefined && TARGET_NAMES.includes(target as TargetName) && !opts.implementedTargets.includes(target as TargetName)) {
        problems.push(`target ${quote(target)} is not available yet: this version of the program implements ${opts.implementedTargets.length ? opts.implementedTargets.join(", ") : "no target"}`);
    }

    const min = r.must("minCapacity");
    const max = r.must("maxCapacity");
    if (min > max) {
        problems.push(`maxCapacity must be at least minCapacity (got minCapacity=${min}, maxCapacity=${max})`);
    }
    const allocated = r.must("dbAllocatedStorage");
    const maxAllocated = r.must("dbMaxAllocatedStorage");
    if (maxAllocated < allocated) {
        problems.push(`dbMaxAllocatedStorage must be at least dbAllocatedStorage (got ${maxAllocated} < ${allocated})`);
    }
    const up = r.must("ebScaleUpThreshold");
    const down = r.must("ebScaleDownThreshold");
    if (down >= up) {
        problems.push(`ebScaleDownThreshold must be below ebScaleUpThreshold (got ${down} >= ${up})`);
    }
    const cidr = r.must("vpcCidr");
    if (cidr.split("/")[0].split(".").some((octet) => Number(octet) > 255)) {
        problems.push(`vpcCidr must be a valid IPv4 CIDR block (got ${quote(cidr)})`);
    }

    const ecsCpu = r.must("ecsCpu");
    const ecsMemory = r.must("ecsMemory");
    const memoryChoices = fargateMemoryChoices(ecsCpu);
    if (memoryChoices.length > 0 && !memoryChoices.includes(ecsMemory)) {
        problems.push(`ecsMemory must be one of ${memoryChoices.join(", ")} for ecsCpu=${ecsCpu} (got ${ecsMemory}): Fargate accepts only these CPU/memory pairs`);
    }

    const nodeMin = r.must("eksNodeMin");
    const nodeMax = r.must("eksNodeMax");
    if (nodeMin > nodeMax) {
        problems.push(`eksNodeMax must be at least eksNodeMin (got eksNodeMin=${nodeMin}, eksNodeMax=${nodeMax})`);
    }
    const podCpu = r.must("eksPodCpu");
    const podCpuLimit = r.must("eksPodCpuLimit");
    if (podCpuLimit < podCpu) {
        problems.push(`eksPodCpuLimit must be at least eksPodCpu (got ${podCpuLimit} < ${podCpu} millicores)`);
    }
    const platform = r.must("imagePlatform") as ImagePlatform;
    const nodeType = r.must("eksNodeInstanceType");
    // Only where both are used: an ECS stack going arm64 must not need an EKS key changed.
    if (target === "eks" && isArmInstanceType(nodeType) !== (platform === "linux/arm64")) {
        problems.push(`eksNodeInstanceType ${quote(nodeType)} is ${isArmInstanceType(nodeType) ? "arm64 (Graviton)" : "x86_64"} but imagePlatform is ${platform}: pick a matching instance type or platform`);
    }

    // EKS grants cluster admin only to the principal that created the cluster
    // (bootstrapClusterCreatorAdminPermissions, which pulumi-eks 4.3 sets): any other identity gets
    // Unauthorized on every Kubernetes resource at its first `pulumi up`. An error, not a warning:
    // a stack that only one session's role can update is found out on the second run, by someone
    // else, when the fix needs the creator; naming the deployers up front costs one config line.
    const deployerRoleArns = r.get("eksDeployerRoleArns") ?? [];
    // An existing cluster (issue 16) is not created here: its access is its owner's (docs/bring-your-own-app.md).
    const sharedCluster = raw.eksExistingCluster !== undefined && raw.eksExistingCluster !== "";
    if (target === "eks" && !sharedCluster && deployerRoleArns.length === 0 && !problems.some((p) => p.startsWith("eksDeployerRoleArns "))) {
        problems.push("eksDeployerRoleArns is required with target eks: list the IAM roles that run pulumi up for this stack "
            + "(pulumi config set --path 'eksDeployerRoleArns[0]' arn:aws:iam::<account>:role/<deployer>); EKS makes only the cluster's creator admin");
    }

    const eksVersion = r.must("eksVersion") as EksVersion;
    const today = (opts.now ?? new Date()).toISOString().slice(0, 10);
    if (target === "eks" && EKS_STANDARD_SUPPORT_END[eksVersion] !== undefined && EKS_STANDARD_SUPPORT_END[eksVersion] < today) {
        const supported = EKS_VERSIONS.filter((v) => EKS_STANDARD_SUPPORT_END[v] >= today);
        problems.push(`eksVersion ${quote(eksVersion)} left EKS standard support on ${EKS_STANDARD_SUPPORT_END[eksVersion]}, and the cluster's upgradePolicy is STANDARD ` +
            `(EKS would upgrade it by itself; extended support costs six times as much): use one of ${supported.join(", ") || "(none: update EKS_VERSIONS)"}`);
    }

    // A choice, not a default: with a private endpoint the Kubernetes half of the first `pulumi up`
    // times out from any machine outside the VPC, after the cluster (15 minutes) already exists;
    // a public default would open the API to the internet, which this key exists to prevent.
    const endpointAccess = r.must("eksPublicAccessCidrs");
    if (target === "eks" && !sharedCluster && endpointAccess === "" && !problems.some((p) => p.startsWith("eksPublicAccessCidrs "))) {
        problems.push("eksPublicAccessCidrs is required with target eks: name the networks where pulumi up and kubectl run "
            + "(comma-separated CIDR blocks, e.g. 198.51.100.0/24), or private if they run inside the VPC");
    }
    const publicAccessCidrs = endpointAccess === "private" ? [] : endpointAccess.split(",").filter((c) => c !== "");
    for (const c of publicAccessCidrs) {
        const [address, bits] = c.split("/");
        if (address.split(".").some((o) => Number(o) > 255) || Number(bits) > 32) {
            problems.push(`eksPublicAccessCidrs must hold valid IPv4 CIDR blocks (got ${quote(c)})`);
        } else if (Number(bits) === 0) {
            // The API endpoint open to the internet is what this key exists to prevent.
            problems.push(`eksPublicAccessCidrs must not contain ${quote(c)} (the whole internet): name the networks where pulumi and kubectl run, or private for a private endpoint`);
        }
    }

    const domainName = r.get("domainName");
    const zoneName = r.get("hostedZoneName");
    if (zoneName !== undefined && domainName === undefined) {
        problems.push(`hostedZoneName is set (${quote(zoneName)}) but domainName is not: set domainName too, or remove hostedZoneName`);
    }
    let domain: StackConfig["domain"];
    if (domainName !== undefined) {
        const zone = zoneName ?? domainName.split(".").slice(1).join(".");
        if (domainName !== zone && !domainName.endsWith(`.${zone}`)) {
            problems.push(`domainName ${quote(domainName)} must be inside hostedZoneName ${quote(zone)}`);
        }
        if (!zone.includes(".")) {
            problems.push(`hostedZoneName could not be derived from domainName ${quote(domainName)}: set hostedZoneName`);
        }
        domain = { name: domainName, zoneName: zone };
    }

    // Issue 16 §1: the app, its environment and health paths.
    const appEnv = r.must("appEnv");
    const appSecrets = r.must("appSecrets");
    problems.push(...envNameProblems("appEnv", Object.keys(appEnv)), ...envNameProblems("appSecrets", Object.keys(appSecrets)));
    for (const both of Object.keys(appEnv).filter((n) => n in appSecrets)) {
        problems.push(`${both} is in both appEnv and appSecrets: keep it in one`);
    }
    const appPort = r.must("appPort");
    const sourceDir = r.must("appSourceDir");
    const appDir = path.resolve(opts.projectRoot ?? process.cwd(), sourceDir);
    if (target !== undefined && TARGET_NAMES.includes(target as TargetName) && !problems.some((p) => p.startsWith("appSourceDir "))) {
        problems.push(...appSourceProblems(sourceDir, appDir, target));
    }

    // Issue 16 §2: an existing VPC is all or nothing; an existing cluster lives in an existing VPC.
    const existingVpcId = r.get("existingVpcId");
    const existingPrivate = r.must("existingPrivateSubnetIds");
    const existingPublic = r.must("existingPublicSubnetIds");
    let existingVpc: StackConfig["network"]["existing"];
    if (existingVpcId !== undefined || existingPrivate.length > 0 || existingPublic.length > 0) {
        const missing = [
            existingVpcId === undefined ? "existingVpcId" : "",
            existingPrivate.length < 2 ? "existingPrivateSubnetIds (at least two, in different AZs)" : "",
            existingPublic.length < 2 ? "existingPublicSubnetIds (at least two, in different AZs)" : "",
        ].filter((m) => m !== "");
        const both = existingPrivate.filter((id) => existingPublic.includes(id));
        const dupes = [...existingPrivate, ...existingPublic].filter((id, i, list) => list.indexOf(id) !== i && !both.includes(id));
        if (missing.length > 0 && !problems.some((p) => p.startsWith("existing"))) {
            problems.push(`an existing VPC needs all of existingVpcId, existingPrivateSubnetIds and existingPublicSubnetIds; missing: ${missing.join(", ")}`);
        }
        if (both.length > 0) {
            problems.push(`existingPrivateSubnetIds and existingPublicSubnetIds share ${both.join(", ")}: the database and the app belong in private subnets, the load balancer in public ones`);
        }
        if (dupes.length > 0) {
            problems.push(`existing subnet ids listed twice: ${[...new Set(dupes)].join(", ")}`);
        }
        if (existingVpcId !== undefined) {
            existingVpc = { vpcId: existingVpcId, privateSubnetIds: existingPrivate, publicSubnetIds: existingPublic };
        }
    }
    const existingCluster = r.get("eksExistingCluster");
    if (existingCluster !== undefined && target !== "eks") {
        problems.push(`eksExistingCluster is set (${quote(existingCluster)}) but target is ${target ?? "unset"}: it has an effect only with target eks; remove it or set target eks`);
    }
    if (existingCluster !== undefined && existingVpcId === undefined) {
        problems.push(`eksExistingCluster needs existingVpcId and its subnets: the database and the load balancer go into the cluster's VPC`);
    }

    // Issue 16 §4: typos in AWS names fail here, not in AWS; only where the target reads the key.
    const acceptUnlisted = r.must("acceptUnlisted");
    const enumerated: [string, string | undefined, EnumeratedKind][] = [
        ["ebInstanceType", target === "beanstalk" ? raw.ebInstanceType : undefined, "ec2"],
        ["eksNodeInstanceType", target === "eks" && !sharedCluster ? raw.eksNodeInstanceType : undefined, "ec2"],
        ["dbInstanceClass", raw.dbInstanceClass, "rds"],
        ["aws:region", opts.awsRegion, "region"],
    ];
    for (const [key, value, kind] of enumerated) {
        const problem = value === undefined || value === "" || problems.some((p) => p.startsWith(`${key} `)) ? undefined : enumerationProblem(key, value, kind, acceptUnlisted);
        if (problem !== undefined) {
            problems.push(problem);
        }
    }

    // Issue 16 §4: the app's pods must fit the node group it creates (lib/eksCapacity.ts).
    const warnings: string[] = [];
    const podMemory = r.must("eksPodMemory");
    const shape = nodeShape(nodeType);
    if (target === "eks" && !sharedCluster && !problems.some((p) => /^(eksNodeInstanceType|eksPod|minCapacity|maxCapacity|eksNodeM)/.test(p))) {
        if (shape === undefined) {
            warnings.push(`eksNodeInstanceType ${quote(nodeType)}: whether eksPodMemory, eksPodCpu and minCapacity fit its nodes is not checked `
                + "(lib/eksCapacity.ts models t3/t3a/t4g, m5/m6i/m6a/m6g/m7i/m7a/m7g/m8g, r5/r6i/r6g/r7i/r7g/r8g large to 16xlarge and c5/c6i/c6g/c7i/c7g/c8g large to 4xlarge)");
        } else {
            const a = nodeAllocatable(shape);
            const bigger = (fits: (t: string) => boolean) => {
                const t = largerSizes(nodeType).find(fits);
                return t !== undefined ? ` (${t} fits it)` : "";
            };
            const sizing = `${shape.memoryGiB * 1024} MiB, less about 6% the kernel keeps, ${a.kubeReservedMiB} MiB kube-reserved for ${a.maxPods} max pods (11 x ${a.maxPods} + 255) and the 100 MiB eviction threshold`;
            if (podMemory > a.memoryMiB) {
                problems.push(`eksPodMemory=${podMemory} MiB does not fit on a ${nodeType} node: about ${a.memoryMiB} MiB is allocatable (${sizing}); `
                    + `use an eksNodeInstanceType with more memory${bigger((t) => podMemory <= nodeAllocatable(nodeShape(t) as NodeShape).memoryMiB)} or lower eksPodMemory`);
            }
            if (podCpu > a.cpuMillis) {
                problems.push(`eksPodCpu=${podCpu}m does not fit on a ${nodeType} node: ${a.cpuMillis}m is allocatable (${shape.vcpus} vCPUs less ${a.kubeReservedMillis}m kube-reserved); `
                    + "use an eksNodeInstanceType with more vCPUs or lower eksPodCpu");
            }
            const perNode = appPodsPerNode(a, podMemory, podCpu);
            // targets/eks.ts rolls out with maxSurge 1, maxUnavailable 0: one pod more than minCapacity.
            const needed = min + 1;
            if (perNode.pods > 0 && perNode.pods * nodeMax < needed) {
                problems.push(`minCapacity=${min} app pods (${needed} during a rollout, which surges one) do not fit on eksNodeMax=${nodeMax} ${nodeType} nodes: `
                    + `each holds at most ${perNode.pods} (limited by ${perNode.limit}), ${perNode.pods * nodeMax} in all; `
                    + `raise eksNodeMax to at least ${Math.ceil(needed / perNode.pods)}, use a larger eksNodeInstanceType, or lower minCapacity or the pod's requests`);
            } else if (perNode.pods > 0 && perNode.pods * nodeMax < max) {
                warnings.push(`maxCapacity=${max}: eksNodeMax=${nodeMax} ${nodeType} nodes hold at most ${perNode.pods * nodeMax} app pods (${perNode.pods} each, limited by ${perNode.limit}); `
                    + "pods the autoscaler adds beyond that stay Pending");
            }
        }
    }

    const appName = r.must("appName");
    // Runs of other characters become one hyphen and none trails: RDS identifiers may neither
    // contain "--" nor end with "-" (RDS_Limits.Constraints), Elastic Beanstalk environment names
    // may not end with "-".
    const namePrefix = `${appName}-${stack}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-{2,}/g, "-").replace(/-+$/, "");
    if (target !== undefined && TARGET_NAMES.includes(target as TargetName)) {
        for (const p of nameProblems(appName, namePrefix, target as TargetName)) {
            const random = p.rule.suffix > 0 ? ` plus ${p.rule.suffix} characters AWS or Pulumi append` : "";
            problems.push(`appName ${quote(appName)} and stack name ${quote(stack)} make the ${p.rule.resource} ${quote(p.name)}${random}, ${p.length} characters; ` +
                `AWS allows at most ${p.rule.max} (${p.rule.doc}). Shorten appName or the stack name: with this appName, target ${target} takes stack names of up to ${longestStackName(appName, target as TargetName)} characters`);
        }
    }
    // Issue 11 §3. Both keys read always, so a bad timeout is reported while the check is off too.
    const verifyTimeoutSeconds = r.must("verifyTimeoutSeconds");
    const verify = r.must("verifyDeploy") ? { timeoutSeconds: verifyTimeoutSeconds } : undefined;
    // issue 13: the connections alarm needs max_connections; derived from the class where known.
    const dbInstanceClass = r.must("dbInstanceClass");
    const dbMemoryGiB = instanceClassMemoryGiB(dbInstanceClass);
    const configuredMaxConnections = r.must("alarmDbMaxConnections");
    if (configuredMaxConnections === 0 && dbMemoryGiB === undefined && !problems.some((p) => p.startsWith("dbInstanceClass "))) {
        problems.push(`alarmDbMaxConnections must be set for dbInstanceClass ${quote(dbInstanceClass)}: its memory (and so RDS's default max_connections) is not known to this program; `
            + "set it to the instance's max_connections (SHOW max_connections), or use a t3/t4g, m5/m6g/m6i/m7g/m7i/m8g or r5/r6g/r6i/r7g/r7i/r8g class");
    }
    const operations: OperationsConfig = {
        emails: r.must("alarmEmails"),
        httpsEndpoint: r.get("alarmHttpsEndpoint"),
        target5xxCount: r.must("alarmTarget5xxCount"),
        lb5xxCount: r.must("alarmLb5xxCount"),
        p99LatencyMs: r.must("alarmP99LatencyMs"),
        dbCpuPercent: r.must("alarmDbCpuPercent"),
        dbFreeStoragePercent: r.must("alarmDbFreeStoragePercent"),
        dbFreeMemoryPercent: r.must("alarmDbFreeMemoryPercent"),
        dbConnectionsPercent: r.must("alarmDbConnectionsPercent"),
        dbMaxConnections: configuredMaxConnections > 0 ? configuredMaxConnections : defaultMaxConnections(dbMemoryGiB ?? 0),
        dbMemoryGiB,
        missingDataIsOutage: r.must("alarmMissingDataIsOutage"),
        waf: { enabled: r.must("waf"), rateLimit: r.must("wafRateLimit") },
        maintenanceMode: r.must("maintenanceMode"),
    };
    const config: StackConfig = {
        project,
        stack,
        target: (target ?? "beanstalk") as TargetName,
        appName,
        namePrefix,
        iamPermissionsBoundary: r.get("iamPermissionsBoundary"),
        appPort,
        app: {
            dir: appDir, sourceDir, env: appEnv, secrets: appSecrets, port: appPort,
            healthPath: r.must("appHealthPath"), readyPath: r.must("appReadyPath"),
        },
        logRetentionDays: r.must("logRetentionDays"),
        verify,
        network: {
            ...(existingVpc ? { existing: existingVpc } : {}),
            cidr,
            azCount: r.must("availabilityZones"),
            natGateways: r.must("natGateways") as NatStrategy,
            flowLogs: r.must("flowLogs"),
        },
        database: {
            engineVersion: r.must("dbEngineVersion"),
            instanceClass: r.must("dbInstanceClass"),
            allocatedStorage: allocated,
            maxAllocatedStorage: maxAllocated,
            multiAz: r.must("dbMultiAz"),
            backupRetentionDays: r.must("dbBackupRetentionDays"),
            deletionProtection: r.must("dbDeletionProtection"),
            finalSnapshot: r.must("dbFinalSnapshot"),
            performanceInsights: r.must("dbPerformanceInsights"),
        },
        domain,
        scaling: { min, max },
        beanstalk: {
            instanceType: r.must("ebInstanceType"),
            solutionStack: r.get("ebSolutionStack"),
            deploymentPolicy: r.must("ebDeploymentPolicy") as DeploymentPolicy,
            scalingMetric: r.must("ebScalingMetric") as ScalingMetric,
            scaleUpThreshold: up,
            scaleDownThreshold: down,
            keepVersions: r.must("ebKeepVersions"),
            maintenanceWindow: r.must("ebMaintenanceWindow"),
        },
        image: { platform, keep: r.must("imageKeepCount"), builder: r.must("imageBuilder") as ImageBuilder, awsProfile: opts.awsProfile || undefined },
        cpuTargetPercent: r.must("cpuTargetPercent"),
        ecs: {
            cpu: ecsCpu,
            memory: ecsMemory,
            spot: r.must("ecsSpot"),
            containerInsights: r.must("ecsContainerInsights") as (typeof CONTAINER_INSIGHTS)[number],
            requestsPerTarget: r.must("ecsRequestsPerTarget"),
            exec: r.must("ecsExec"), // issue 16 §5
        },
        eks: {
            version: eksVersion,
            nodeInstanceType: nodeType,
            nodeMin,
            nodeMax,
            podCpu,
            podCpuLimit,
            podMemory,
            deployerRoleArns,
            publicAccessCidrs,
            ...(existingCluster !== undefined ? { existingCluster } : {}),
            addonVersions: Object.fromEntries(r.must("eksAddonVersions").split(",").filter((p) => p !== "").map((p) => p.split("=") as [string, string])),
        },
        operations,
        // eksExistingCluster with another target is an error above, not a warning.
        warnings: [...(target !== undefined && TARGET_NAMES.includes(target as TargetName)
            ? otherTargetWarnings(Object.fromEntries(Object.entries(raw).filter(([k]) => k !== "eksExistingCluster")), CONFIG_SCHEMA, target as TargetName)
            : []), ...warnings,
        // The build step calls CodeBuild and ECR with the AWS SDK itself (lib/codebuildRun.ts):
        // aws:profile or the default chain, not the provider's role chain.
        ...(opts.awsAssumeRoles && (target === "ecs" || target === "eks") && r.must("imageBuilder") === "codebuild"
            ? [`aws:assumeRoles is set, but the CodeBuild image builder (imageBuilder: codebuild) calls CodeBuild and ECR itself with aws:profile or the default credential chain, not through the assumed role: `
                + "run pulumi up with that role's credentials in the environment (or a profile that assumes it, as aws:profile), "
                + "or that identity needs codebuild:StartBuild and codebuild:BatchGetBuilds on the stack's image project and ecr:DescribeImages on its repository"]
            : [])],
    };
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return config;
}

/** Reads this stack's config from the Pulumi runtime (CLI or mocks) and validates it. */
export function loadConfig(opts: LoadOptions): StackConfig {
    const project = pulumi.getProject();
    const prefix = `${project}:`;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            raw[key.slice(prefix.length)] = value;
        }
    }
    const all = pulumi.runtime.allConfig();
    const config = parseConfig(project, pulumi.getStack(), raw, {
        awsDefaultTags: all["aws:defaultTags"], awsRegion: all["aws:region"], awsProfile: all["aws:profile"],
        awsAssumeRoles: all["aws:assumeRoles"] ?? all["aws:assumeRole"], ...opts,
    });
    // The CLI shows these among the update's diagnostics; the offline plan prints them (harness/run.ts).
    for (const warning of config.warnings) {
        void pulumi.log.warn(warning);
    }
    return config;
}
