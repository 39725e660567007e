// The physical names this program (and the components it uses) derive from `appName` and the stack
// name, with the limit AWS documents for each. config.ts refuses a combination whose longest name
// does not fit, so a too-long name fails before anything is created, not halfway through `up`.
// test/names.test.ts walks every name-ish input of the plan against the same limits independently.

/** Where a name is used: on every target (stack-level) or on one. */
export type NameScope = "stack" | "beanstalk" | "ecs" | "eks";

export interface NameRule {
    readonly resource: string;
    readonly scope: NameScope;
    /** The name, from the app name and the stack's name prefix (`${appName}-${stack}`). */
    readonly name: (appName: string, namePrefix: string) => string;
    /** Characters the provider or AWS appends (random suffix of autonaming or `namePrefix`). */
    readonly suffix: number;
    readonly max: number;
    /** The AWS (or provider) document that states the limit. */
    readonly doc: string;
}

/**
 * Pulumi autonaming appends "-" and 7 random characters to the logical name (pulumi/pulumi-aws#1317:
 * "name '...' plus 7 random chars is longer than maximum length 63"); a Terraform `name_prefix` /
 * `bucket_prefix` gets 26 (terraform-plugin-sdk helper/id/id.go: `UniqueIDSuffixLength = 26`, the
 * timestamp-and-counter suffix of PrefixedUniqueId).
 */
export const AUTONAME_SUFFIX = 8;
export const PREFIX_SUFFIX = 26;

const ELB = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html (Name: \"a maximum of 32 characters\"; API_CreateTargetGroup.html likewise)";
const IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (role name 64 characters)";
const LOGS = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html (logGroupName length 1-512)";
const SG = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html (GroupName \"Up to 255 characters\")";
const KMS = "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html (AliasName maximum length 256)";

export const NAME_RULES: readonly NameRule[] = [
    // Stack-level: network and database (components/network.ts, components/database.ts).
    { resource: "RDS DB instance identifier", scope: "stack", name: (_a, p) => `${p}-db`, suffix: 0, max: 63,
        doc: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints (DB instance identifier: 1 to 63 letters, digits or hyphens)" },
    { resource: "RDS final snapshot identifier", scope: "stack", name: (_a, p) => `${p}-db-final`, suffix: 0, max: 255,
        doc: "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html (FinalDBSnapshotIdentifier: 1 to 255 letters, digits or hyphens)" },
    { resource: "RDS subnet and parameter group (namePrefix)", scope: "stack", name: (_a, p) => `${p}-db-`, suffix: PREFIX_SUFFIX, max: 255,
        doc: "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html (DBParameterGroupName: 1 to 255 letters, digits or hyphens)" },
    { resource: "database security group (namePrefix)", scope: "stack", name: (_a, p) => `${p}-db-`, suffix: PREFIX_SUFFIX, max: 255, doc: SG },
    { resource: "database KMS alias", scope: "stack", name: (_a, p) => `alias/${p}-db`, suffix: 0, max: 256, doc: KMS },
    { resource: "RDS log export log group", scope: "stack", name: (_a, p) => `/aws/rds/instance/${p}-db/postgresql`, suffix: 0, max: 512, doc: LOGS },
    { resource: "VPC flow-log log group", scope: "stack", name: (_a, p) => `/vpc/${p}/flow-logs`, suffix: 0, max: 512, doc: LOGS },
    { resource: "VPC flow-log IAM role (autonamed)", scope: "stack", name: (a) => `${a}-flow-logs`, suffix: AUTONAME_SUFFIX, max: 64, doc: IAM },
    // issue 13: operations (components/notifications.ts, monitoring.ts, platformAlarms.ts, waf.ts).
    { resource: "alarm SNS topic", scope: "stack", name: (_a, p) => `${p}-alarms`, suffix: 0, max: 256,
        doc: "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (Name: \"Up to 256 characters\")" },
    { resource: "alarm topic KMS alias", scope: "stack", name: (_a, p) => `alias/${p}-alarms`, suffix: 0, max: 256, doc: KMS },
    { resource: "CloudWatch alarm name", scope: "stack", name: (_a, p) => `${p}-environment-health`, suffix: 0, max: 255,
        doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (AlarmName length 1-255)" },
    { resource: "WAF web ACL", scope: "stack", name: (_a, p) => `${p}-waf`, suffix: 0, max: 128,
        doc: "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html (Name length 1-128)" },
    { resource: "ECS deployment-failure EventBridge rule (autonamed)", scope: "ecs", name: (a) => `${a}-platform-alarms-deploy-failed`, suffix: AUTONAME_SUFFIX, max: 64,
        doc: "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (Name length 1-64)" },

    // Elastic Beanstalk (targets/beanstalk.ts).
    { resource: "Elastic Beanstalk environment name", scope: "beanstalk", name: (_a, p) => p, suffix: 0, max: 40,
        doc: "https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateEnvironment.html (EnvironmentName: length 4 to 40)" },
    // No CNAMEPrefix is set: "If not specified, the CNAME is generated automatically by appending a
    // random alphanumeric string to the environment name" (API_CreateEnvironment, CNAMEPrefix), so
    // the environment's 40-character limit keeps that DNS label within 63 (RFC 1035).
    { resource: "Elastic Beanstalk application name", scope: "beanstalk", name: (_a, p) => p, suffix: 0, max: 100,
        doc: "https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateApplication.html (ApplicationName: length 1 to 100)" },
    { resource: "Elastic Beanstalk version label", scope: "beanstalk", name: (_a, p) => `${p}-${"0".repeat(12)}`, suffix: 0, max: 100,
        doc: "https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateApplicationVersion.html (VersionLabel: length 1 to 100)" },
    { resource: "Elastic Beanstalk bundle S3 bucket (bucketPrefix)", scope: "beanstalk", name: (_a, p) => `${p}-eb-`, suffix: PREFIX_SUFFIX, max: 63,
        doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (\"between 3 (min) and 63 (max) characters long\")" },
    { resource: "Elastic Beanstalk instance security group (namePrefix)", scope: "beanstalk", name: (_a, p) => `${p}-eb-app-`, suffix: PREFIX_SUFFIX, max: 255, doc: SG },
    { resource: "Elastic Beanstalk instance role (autonamed)", scope: "beanstalk", name: (a) => `${a}-beanstalk-instance`, suffix: AUTONAME_SUFFIX, max: 64, doc: IAM },

    // ECS (targets/ecs.ts).
    { resource: "ECS ECR repository", scope: "ecs", name: (_a, p) => p, suffix: 0, max: 256,
        doc: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName length 2-256)" },
    { resource: "ECS cluster, service and task family", scope: "ecs", name: (_a, p) => p, suffix: 0, max: 255,
        doc: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html (\"Up to 255 letters\"; CreateService, RegisterTaskDefinition likewise)" },
    { resource: "ECS log group", scope: "ecs", name: (_a, p) => `/ecs/${p}`, suffix: 0, max: 512, doc: LOGS },
    { resource: "ECS task security group (namePrefix)", scope: "ecs", name: (_a, p) => `${p}-ecs-tasks-`, suffix: PREFIX_SUFFIX, max: 255, doc: SG },
    // awsx names the ALB and its default target group after the component (pulumi-awsx
    // awsx/lb/applicationLoadBalancer.ts: `new aws.lb.LoadBalancer(name, ...)`, `new aws.lb.TargetGroup(name, ...)`),
    // and both are autonamed.
    { resource: "ECS load balancer and target group (awsx, autonamed)", scope: "ecs", name: (a) => `${a}-alb`, suffix: AUTONAME_SUFFIX, max: 32, doc: ELB },
    { resource: "ECS execution role (autonamed)", scope: "ecs", name: (a) => `${a}-ecs-execution`, suffix: AUTONAME_SUFFIX, max: 64, doc: IAM },
    // Issue 12: the CodeBuild image builder (components/codeBuildImage.ts), on ECS and EKS alike.
    ...(["ecs", "eks"] as const).flatMap((t): NameRule[] => [
        { resource: `${t.toUpperCase()} CodeBuild project`, scope: t, name: (_a, p) => `${p}-image`, suffix: 0, max: 255,
            doc: "https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html (name: length 2-255)" },
        { resource: `${t.toUpperCase()} CodeBuild log group`, scope: t, name: (_a, p) => `/aws/codebuild/${p}-image`, suffix: 0, max: 512, doc: LOGS },
        { resource: `${t.toUpperCase()} build context S3 bucket (bucketPrefix)`, scope: t, name: (a) => `${a}-ctx-`, suffix: PREFIX_SUFFIX, max: 63,
            doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (\"between 3 (min) and 63 (max) characters long\")" },
        { resource: `${t.toUpperCase()} CodeBuild role (autonamed)`, scope: t, name: (a) => `${a}-${t}-image-codebuild-build`, suffix: AUTONAME_SUFFIX, max: 64, doc: IAM },
    ]),

    // EKS (targets/eks.ts and what pulumi-eks derives from it).
    { resource: "EKS cluster name", scope: "eks", name: (_a, p) => p, suffix: 0, max: 100,
        doc: "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html (name length 1-100)" },
    { resource: "EKS node group name (nodeGroupNamePrefix)", scope: "eks", name: (_a, p) => `${p}-`, suffix: PREFIX_SUFFIX, max: 63,
        doc: "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html (nodegroupName length 1-63)" },
    { resource: "EKS ECR repository", scope: "eks", name: (_a, p) => `${p}-eks`, suffix: 0, max: 256,
        doc: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName length 2-256)" },
    { resource: "EKS secrets KMS alias", scope: "eks", name: (_a, p) => `alias/${p}-eks-secrets`, suffix: 0, max: 256, doc: KMS },
    { resource: "Container Insights log group", scope: "eks", name: (_a, p) => `/aws/containerinsights/${p}/performance`, suffix: 0, max: 512, doc: LOGS },
    // pulumi-eks nodejs/eks/cluster/cluster.ts: `new ServiceRole(`${name}-eksRole`)`, whose role is `${name}-role` (servicerole.ts), autonamed.
    { resource: "EKS cluster service role (pulumi-eks, autonamed)", scope: "eks", name: (a) => `${a}-eks-cluster-eksRole-role`, suffix: AUTONAME_SUFFIX, max: 64, doc: IAM },
    { resource: "EKS Load Balancer Controller role (autonamed)", scope: "eks", name: (a) => `${a}-eks-load-balancer-controller`, suffix: AUTONAME_SUFFIX, max: 64, doc: IAM },
    { resource: "Kubernetes namespace", scope: "eks", name: (a) => a, suffix: 0, max: 63,
        doc: "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names (at most 63 characters)" },
];

export interface NameProblem {
    readonly rule: NameRule;
    readonly name: string;
    readonly length: number;
}

/** The rules a stack on `target` must satisfy, and the names among them that do not fit. */
export function nameProblems(appName: string, namePrefix: string, target: Exclude<NameScope, "stack">): NameProblem[] {
    return NAME_RULES
        .filter((r) => r.scope === "stack" || r.scope === target)
        .map((rule) => {
            const name = rule.name(appName, namePrefix);
            return { rule, name, length: name.length + rule.suffix };
        })
        .filter((p) => p.length > p.rule.max);
}

/** The longest stack name that fits every rule of `target` with this app name (0: none fits). */
export function longestStackName(appName: string, target: Exclude<NameScope, "stack">): number {
    let length = 0;
    while (length < 100 && nameProblems(appName, `${appName}-${"s".repeat(length + 1)}`, target).length === 0) {
        length++;
    }
    return length;
}
