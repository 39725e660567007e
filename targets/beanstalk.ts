// target: beanstalk. What the source documents 000 (GitHub Actions + bash), 001 (eb CLI and
// .ebextensions) and 004 (Jenkins) did by hand, as code: the bundle in a private bucket, an
// application whose versions are named by content, and a load-balanced environment in the stack's
// VPC with the database credentials injected from Secrets Manager.
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ArtifactBucket } from "../components/artifactBucket";
import { appSecretReadStatements, beanstalkEnvironment, beanstalkSecrets } from "../lib/appSpec";
import { attachManagedPolicies } from "../lib/iam";
import { beanstalkLoadBalancer } from "../lib/loadBalancers";
import { SSL_POLICY } from "../lib/tls";
import { bundleDirectory } from "../lib/zip";
import { isArmInstanceType, StackConfig } from "../config";
import { Target, TargetArgs, TargetOps, TargetOutputs, TargetRelease } from "./types";

/** Newest Amazon Linux 2023 platform for the Python minor the app is tested on (Debian 12: 3.11). */
export const SOLUTION_STACK_REGEX = "^64bit Amazon Linux 2023 v\\d+\\.\\d+\\.\\d+ running Python 3\\.11$";

const MANAGED_POLICY = (name: string) => `arn:aws:iam::aws:policy/${name}`;
// AmazonSSMManagedInstanceCore (issue 16 §5): a shell on an instance, and a port forward to the
// private database, through Session Manager (docs/operate.md), with no SSH key and no inbound port.
// The SSM agent is preinstalled on Amazon Linux 2023 AMIs; the agent needs this policy to register
// the instance (Systems Manager User Guide, setup-instance-permissions: "AmazonSSMManagedInstanceCore
// ... the minimum permissions"). Who may open a session is decided by the caller's ssm:StartSession.
export const INSTANCE_MANAGED_POLICIES = [MANAGED_POLICY("AWSElasticBeanstalkWebTier"), MANAGED_POLICY("AmazonSSMManagedInstanceCore")];

/**
 * The log group of the app's stdout/stderr with instance log streaming on (StreamLogs): Elastic
 * Beanstalk names each streamed file's group `/aws/elasticbeanstalk/<environment>/<path of the
 * file>` (Elastic Beanstalk DG, AWSHowTo.cloudwatchlogs, "Instance log streaming"), and on the
 * Amazon Linux 2/2023 platforms the web process's output is /var/log/web.stdout.log.
 */
export function beanstalkAppLogGroup(environmentName: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`/aws/elasticbeanstalk/${environmentName}/var/log/web.stdout.log`;
}
export const SERVICE_MANAGED_POLICIES = [
    MANAGED_POLICY("service-role/AWSElasticBeanstalkEnhancedHealth"),
    MANAGED_POLICY("AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy"),
];

export interface EbSetting {
    readonly namespace: string;
    readonly name: string;
    readonly value: string;
    /** Always "": the provider stores it, and leaving it out shows a diff on every update. */
    readonly resource: string;
}

type SettingValue = pulumi.Input<string | number | boolean>;
/** namespace -> option name -> value; `undefined` values are left out. */
export type SettingsSpec = Record<string, Record<string, SettingValue | undefined>>;

/**
 * Flattens a settings spec into the provider's list, sorted by namespace then name, so the same
 * inputs always give the same list in the same order and a second `pulumi up` shows no diff.
 */
export function flattenSettings(spec: SettingsSpec): pulumi.Output<EbSetting[]> {
    const entries: pulumi.Output<EbSetting>[] = [];
    for (const namespace of Object.keys(spec).sort()) {
        const options = spec[namespace];
        for (const name of Object.keys(options).sort()) {
            const value = options[name];
            if (value !== undefined) {
                entries.push(pulumi.output(value).apply((v) => ({ namespace, name, value: String(v), resource: "" })));
            }
        }
    }
    return pulumi.all(entries);
}

/** Files the program adds to the app's bundle; only what Elastic Beanstalk cannot take as an option. */
export function generatedBundleFiles(config: StackConfig): Record<string, string> {
    const files: Record<string, string> = {
        // The Auto Scaling group replaces instances that fail the load balancer's health check, not
        // only those whose EC2 status check fails (no option setting exists for this).
        ".ebextensions/00-asg-elb-health.config": [
            "Resources:",
            "  AWSEBAutoScalingGroup:",
            "    Type: \"AWS::AutoScaling::AutoScalingGroup\"",
            "    Properties:",
            "      HealthCheckType: ELB",
            "      HealthCheckGracePeriod: 300",
            "",
        ].join("\n"),
    };
    if (config.domain) {
        // Elastic Beanstalk's listener options cannot redirect, so the port-80 listener's default
        // action is overridden to a permanent redirect to HTTPS.
        files[".ebextensions/01-http-to-https.config"] = [
            "Resources:",
            "  AWSEBV2LoadBalancerListener:",
            "    Type: \"AWS::ElasticLoadBalancingV2::Listener\"",
            "    Properties:",
            "      LoadBalancerArn:",
            "        Ref: AWSEBV2LoadBalancer",
            "      Port: 80",
            "      Protocol: HTTP",
            "      DefaultActions:",
            "        - Type: redirect",
            "          RedirectConfig:",
            "            Host: \"#{host}\"",
            "            Path: \"/#{path}\"",
            "            Port: \"443\"",
            "            Protocol: HTTPS",
            "            Query: \"#{query}\"",
            "            StatusCode: HTTP_301",
            "",
        ].join("\n");
    }
    return files;
}

/** Arguments of {@link BeanstalkTarget}: the common target arguments; `appDir`'s content names the version. */
export type BeanstalkTargetArgs = TargetArgs;

/** The app on Elastic Beanstalk: bundle bucket, IAM, application, version and environment. */
export class BeanstalkTarget extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly environmentName: pulumi.Output<string>;
    readonly applicationName: pulumi.Output<string>;
    readonly versionLabel: pulumi.Output<string>;
    readonly bundleBucket: pulumi.Output<string>;
    /** The platform version deployed: the pinned `ebSolutionStack`, or the newest one found. */
    readonly solutionStack: pulumi.Output<string>;
    /** The environment's CNAME and Elastic Beanstalk's zone, for the stack's alias record. */
    readonly endpoint: TargetOutputs["endpoint"];
    /** The version label the environment runs (APP_RELEASE) and how to check it (issue 11 §3). */
    readonly release: TargetRelease;
    /** The ALB Elastic Beanstalk made and the environment's health, for the stack's operations (issue 13). */
    readonly ops: TargetOps;

    constructor(name: string, args: BeanstalkTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:beanstalk:BeanstalkTarget", name, {}, opts);
        const { config, network, database, domain } = args;
        const eb = config.beanstalk;
        const prefix = config.namePrefix;
        if (prefix.length > 40) {
            throw new Error(`BeanstalkTarget: environment name ${prefix} is longer than Elastic Beanstalk's 40 characters; shorten appName or the stack name`);
        }

        // --- Source bundle: content-addressed, uploaded once per distinct content. ---
        const bundle = bundleDirectory(args.appDir, generatedBundleFiles(config));
        const digest = bundle.sha256.slice(0, 12);
        // Superseded versions are retained, so Elastic Beanstalk still holds the label of earlier
        // content when a revert (or a domain switched off and on, which changes .ebextensions)
        // brings it back, and CreateApplicationVersion refuses it ("Application Version <label>
        // already exists", InvalidParameterValue). A deploy id that changes whenever the bundle
        // does gives every deployment of a bundle a label of its own; unchanged content keeps it.
        const deployId = new random.RandomId(`${name}-version-id`, { byteLength: 3, keepers: { bundle: bundle.sha256 } }, { parent: this });
        const label = pulumi.interpolate`${prefix}-${digest}-${deployId.hex}`;
        fs.mkdirSync(args.buildDir, { recursive: true });
        const zipPath = path.join(args.buildDir, `${prefix}-${digest}.zip`);
        fs.writeFileSync(zipPath, bundle.bytes);

        const bucket = new ArtifactBucket(`${name}-bundles`, { namePrefix: `${prefix}-eb`, forceDestroy: !config.database.deletionProtection }, { parent: this });
        // Old bundles and versions are retained when a new one replaces them in the program, so
        // Elastic Beanstalk can roll back; its version lifecycle below deletes the oldest.
        const object = new aws.s3.BucketObjectv2(`${name}-bundle-${digest}`, {
            bucket: bucket.bucket,
            key: pulumi.interpolate`bundles/${label}.zip`,
            source: new pulumi.asset.FileAsset(zipPath),
            contentType: "application/zip",
        }, { parent: this, retainOnDelete: true });

        // --- IAM: the service role (health, managed updates, version lifecycle) and the instances'. ---
        const serviceRole = new aws.iam.Role(`${name}-service`, {
            description: `Elastic Beanstalk service role of ${prefix}`,
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "elasticbeanstalk.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "sts:ExternalId": "elasticbeanstalk" } },
                }],
            }),
        }, { parent: this });
        // Separate resources now, so the environment must wait for them (the role alone no longer implies them).
        const serviceGrants = attachManagedPolicies(`${name}-service`, serviceRole, SERVICE_MANAGED_POLICIES, { parent: this });
        // The lifecycle deletes old bundles from this bucket (the managed policy covers only
        // elasticbeanstalk-* buckets).
        new aws.iam.RolePolicy(`${name}-service-bundles`, {
            role: serviceRole.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: ["s3:DeleteObject", "s3:GetObject"], Resource: pulumi.interpolate`${bucket.arn}/bundles/*` }],
            }),
        }, { parent: this });

        const instanceRole = new aws.iam.Role(`${name}-instance`, {
            description: `EC2 instances of Elastic Beanstalk environment ${prefix}`,
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        }, { parent: this });
        const instanceManaged = attachManagedPolicies(`${name}-instance`, instanceRole, INSTANCE_MANAGED_POLICIES, { parent: this });
        // Instances fetch the bundle from our bucket and the database secret at bootstrap.
        const instanceInline = new aws.iam.RolePolicy(`${name}-instance-app`, {
            role: instanceRole.id,
            policy: pulumi.all([bucket.arn, database.secretReadStatements()]).apply(([bucketArn, secretStatements]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `${bucketArn}/bundles/*` },
                    ...secretStatements,
                    ...appSecretReadStatements(config.app),
                ],
            })),
        }, { parent: this });
        const instanceGrants = [...instanceManaged, instanceInline];
        // IAM grants are separate resources from the role: without these dependencies the first
        // instances can boot before their role may read the bundle and the secret.
        const instanceProfile = new aws.iam.InstanceProfile(`${name}-instance`, { role: instanceRole.name }, { parent: this, dependsOn: instanceGrants });

        // --- Network: our own group on the instances is what the database admits. ---
        const appSg = new aws.ec2.SecurityGroup(`${name}-app`, {
            namePrefix: `${prefix}-eb-app-`,
            description: `Elastic Beanstalk instances of ${prefix}; the database admits this group`,
            vpcId: network.vpcId,
        }, { parent: this });
        database.allowFrom(`${name}-db-access`, appSg.id, { parent: this });

        // --- Application, version, environment. ---
        const application = new aws.elasticbeanstalk.Application(`${name}-app`, {
            name: prefix,
            description: `${config.appName} (${config.stack})`,
            appversionLifecycle: { serviceRole: serviceRole.arn, maxCount: eb.keepVersions, deleteSourceFromS3: true },
        }, { parent: this });

        const version = new aws.elasticbeanstalk.ApplicationVersion(`${name}-version-${digest}`, {
            name: label,
            application: application.name,
            description: `bundle sha256 ${bundle.sha256}`,
            bucket: bucket.bucket,
            key: object.key,
        }, { parent: this, retainOnDelete: true });

        const solutionStack = eb.solutionStack
            ? pulumi.output(eb.solutionStack)
            : aws.elasticbeanstalk.getSolutionStackOutput({ nameRegex: SOLUTION_STACK_REGEX, mostRecent: true }, { parent: this }).name;

        const settings = flattenSettings(beanstalkSettings({
            config,
            vpcId: network.vpcId,
            privateSubnetIds: network.privateSubnetIds,
            publicSubnetIds: network.publicSubnetIds,
            instanceProfile: instanceProfile.name,
            serviceRole: serviceRole.arn,
            appSecurityGroup: appSg.id,
            dbHost: database.address,
            dbPort: database.port,
            dbName: database.dbName,
            dbSecretArn: database.secretArn,
            certificateArn: domain?.certificateArn,
            release: label,
        }));

        const env = new aws.elasticbeanstalk.Environment(`${name}-env`, {
            name: prefix,
            application: application.name,
            description: `${config.appName} on Elastic Beanstalk (${config.stack})`,
            tier: "WebServer",
            solutionStackName: solutionStack,
            version: version.name,
            settings,
            waitForReadyTimeout: "30m",
        }, { parent: this, dependsOn: [...serviceGrants, ...instanceGrants] });

        this.endpoint = { dnsName: env.cname, zoneId: aws.elasticbeanstalk.getHostedZoneOutput({}, { parent: this }).id };
        // The label is set in APP_RELEASE with the version in one UpdateEnvironment call
        // (terraform-provider-aws internal/service/elasticbeanstalk/environment.go,
        // resourceEnvironmentUpdate: OptionSettings and VersionLabel in one request), and the
        // environment resource waits until Elastic Beanstalk reports Ready.
        this.release = {
            value: label,
            platform: "Elastic Beanstalk",
            eventsCommand: pulumi.interpolate`aws elasticbeanstalk describe-events --environment-name ${env.name} --region ${aws.getRegionOutput({}, { parent: this }).region} --max-items 20`,
            rollout: [env],
        };
        this.ops = {
            loadBalancer: beanstalkLoadBalancer(env, { parent: this }),
            component: this,
            stackOwnsListenerRules: true,
            servingPort: domain ? 443 : 80,
            platform: { kind: "beanstalk", environmentName: env.name, autoScalingGroupName: env.autoscalingGroups.apply((groups) => groups?.[0] ?? "") },
            dependsOn: [env],
        };

        this.url = domain ? domain.url : pulumi.interpolate`http://${env.cname}`;
        this.healthUrl = pulumi.interpolate`${this.url}${config.app.healthPath}`;
        this.environmentName = env.name;
        this.applicationName = application.name;
        this.versionLabel = version.name;
        this.bundleBucket = bucket.bucket;
        this.solutionStack = solutionStack;
        this.registerOutputs({
            solutionStack: this.solutionStack,
            url: this.url, healthUrl: this.healthUrl, environmentName: this.environmentName,
            applicationName: this.applicationName, versionLabel: this.versionLabel, bundleBucket: this.bundleBucket,
        });
    }
}

interface SettingsInputs {
    readonly config: StackConfig;
    readonly vpcId: pulumi.Input<string>;
    readonly privateSubnetIds: pulumi.Input<string[]>;
    readonly publicSubnetIds: pulumi.Input<string[]>;
    readonly instanceProfile: pulumi.Input<string>;
    readonly serviceRole: pulumi.Input<string>;
    readonly appSecurityGroup: pulumi.Input<string>;
    readonly dbHost: pulumi.Input<string>;
    readonly dbPort: pulumi.Input<number>;
    readonly dbName: string;
    readonly dbSecretArn: pulumi.Input<string>;
    readonly certificateArn?: pulumi.Input<string>;
    /** The version label, reported by the app in GET /health (APP_RELEASE). */
    readonly release: pulumi.Input<string>;
}

const join = (ids: pulumi.Input<string[]>) => pulumi.output(ids).apply((list) => list.join(","));

/** Every option setting of the environment, by namespace. Values from the EB docs (see test/data/eb-options.json). */
export function beanstalkSettings(i: SettingsInputs): SettingsSpec {
    const { config } = i;
    const eb = config.beanstalk;
    const arm = isArmInstanceType(eb.instanceType);
    const safeDeploy = eb.deploymentPolicy === "Immutable" || eb.deploymentPolicy === "TrafficSplitting";
    const spec: SettingsSpec = {
        "aws:elasticbeanstalk:environment": {
            EnvironmentType: "LoadBalanced",
            LoadBalancerType: "application",
            ServiceRole: i.serviceRole,
        },
        "aws:ec2:vpc": {
            VPCId: i.vpcId,
            Subnets: join(i.privateSubnetIds),
            ELBSubnets: join(i.publicSubnetIds),
            ELBScheme: "public",
            AssociatePublicIpAddress: false,
        },
        "aws:ec2:instances": {
            InstanceTypes: eb.instanceType,
            SupportedArchitectures: arm ? "arm64" : "x86_64",
        },
        "aws:autoscaling:launchconfiguration": {
            IamInstanceProfile: i.instanceProfile,
            SecurityGroups: i.appSecurityGroup,
            DisableIMDSv1: true,
            RootVolumeType: "gp3",
            RootVolumeSize: 16,
            MonitoringInterval: "1 minute",
        },
        "aws:autoscaling:asg": {
            MinSize: config.scaling.min,
            MaxSize: config.scaling.max,
        },
        "aws:autoscaling:trigger": triggerSettings(config),
        "aws:autoscaling:updatepolicy:rollingupdate": {
            // Configuration changes that replace instances do it on fresh instances first in prod.
            RollingUpdateEnabled: true,
            RollingUpdateType: safeDeploy ? "Immutable" : "Health",
        },
        "aws:elasticbeanstalk:command": {
            DeploymentPolicy: eb.deploymentPolicy,
            Timeout: 900,
            IgnoreHealthCheck: false,
            ...(eb.deploymentPolicy === "Rolling" || eb.deploymentPolicy === "RollingWithAdditionalBatch"
                ? { BatchSizeType: "Percentage", BatchSize: 50 } : {}),
        },
        "aws:elasticbeanstalk:environment:process:default": {
            HealthCheckPath: config.app.healthPath,
            Port: 80,
            Protocol: "HTTP",
            MatcherHTTPCode: "200",
            HealthCheckInterval: 15,
            HealthCheckTimeout: 5,
            HealthyThresholdCount: 3,
            UnhealthyThresholdCount: 3,
            DeregistrationDelay: 20,
        },
        "aws:elasticbeanstalk:environment:proxy": { ProxyServer: "nginx" },
        "aws:elasticbeanstalk:healthreporting:system": {
            SystemType: "enhanced",
            EnhancedHealthAuthEnabled: true,
        },
        // The log groups Elastic Beanstalk creates for these streams are not Pulumi's: they go
        // with the environment (DeleteOnTerminate) when the stack lets destroy delete data
        // (dbDeletionProtection false, as in dev), and stay when it does not (prod; their
        // events expire by RetentionInDays), like the bundle bucket and the image repository.
        "aws:elasticbeanstalk:cloudwatch:logs": {
            StreamLogs: true,
            DeleteOnTerminate: !config.database.deletionProtection,
            RetentionInDays: config.logRetentionDays,
        },
        "aws:elasticbeanstalk:cloudwatch:logs:health": {
            HealthStreamingEnabled: true,
            DeleteOnTerminate: !config.database.deletionProtection,
            RetentionInDays: config.logRetentionDays,
        },
        "aws:elasticbeanstalk:managedactions": {
            ManagedActionsEnabled: true,
            PreferredStartTime: eb.maintenanceWindow,
            // The service role carries the managed-updates policy, so no service-linked role (and no
            // iam:CreateServiceLinkedRole for the deployer) is needed.
            ServiceRoleForManagedUpdates: i.serviceRole,
        },
        "aws:elasticbeanstalk:managedactions:platformupdate": {
            UpdateLevel: "minor",
            InstanceRefreshEnabled: false,
        },
        "aws:elasticbeanstalk:application:environment": {
            PORT: config.appPort,
            DB_HOST: i.dbHost,
            DB_PORT: i.dbPort,
            DB_NAME: i.dbName,
            DB_SSLMODE: "verify-full", // the app trusts its bundled RDS CAs (app/clients_service/rds-ca-bundle.pem)
            APP_RELEASE: i.release, // issue 11 §3: what /health reports, what the post-deploy check waits for
            ...beanstalkEnvironment(config.app), // appEnv (issue 16; reserved names refused in config.ts)
        },
        // Fetched from Secrets Manager at instance bootstrap; the console shows only the ARN. The
        // variable holds the secret's whole SecretString, the JSON text as stored (Elastic
        // Beanstalk DG, AWSHowTo.secrets.env-vars: an option value is the secret's ARN, and its
        // "Extracting JSON keys from Secrets Manager secrets" section picks a key out with jq in a
        // platform hook, i.e. Beanstalk itself cannot select one). The app parses DB_SECRET as
        // JSON on every platform (app/clients_service/config.py), so no key selection is needed.
        "aws:elasticbeanstalk:application:environmentsecrets": {
            DB_SECRET: i.dbSecretArn,
            ...beanstalkSecrets(config.app), // appSecrets: ARNs, fetched at bootstrap like DB_SECRET (issue 16)
        },
    };
    if (eb.deploymentPolicy === "TrafficSplitting") {
        spec["aws:elasticbeanstalk:trafficsplitting"] = { NewVersionPercent: 10, EvaluationTime: 5 };
    }
    if (i.certificateArn !== undefined) {
        spec["aws:elbv2:listener:443"] = {
            ListenerEnabled: true,
            Protocol: "HTTPS",
            SSLCertificateArns: i.certificateArn,
            SSLPolicy: SSL_POLICY,
            DefaultProcess: "default",
        };
    }
    return spec;
}

function triggerSettings(config: StackConfig): Record<string, SettingValue> {
    const eb = config.beanstalk;
    const unit: Record<typeof eb.scalingMetric, string> = {
        CPUUtilization: "Percent",
        RequestCount: "Count",
        NetworkOut: "Bytes",
        TargetResponseTime: "Seconds",
    };
    return {
        MeasureName: eb.scalingMetric,
        Statistic: eb.scalingMetric === "RequestCount" ? "Sum" : "Average",
        Unit: unit[eb.scalingMetric],
        UpperThreshold: eb.scaleUpThreshold,
        LowerThreshold: eb.scaleDownThreshold,
        // Two consecutive one-minute periods (BreachDuration must equal Period x EvaluationPeriods).
        Period: 1,
        EvaluationPeriods: 2,
        BreachDuration: 2,
        UpperBreachScaleIncrement: 1,
        LowerBreachScaleIncrement: -1,
    };
}

/** The registry entry: builds the component and maps it onto the outputs contract. */
export const beanstalk: Target = {
    name: "beanstalk",
    deploy(args: TargetArgs, opts?: pulumi.ComponentResourceOptions): TargetOutputs {
        const t = new BeanstalkTarget(`${args.config.appName}-beanstalk`, args, opts);
        return {
            url: t.url,
            healthUrl: t.healthUrl,
            endpoint: t.endpoint,
            ops: t.ops,
            operations: {
                logGroupName: beanstalkAppLogGroup(t.environmentName),
                repositoryUrl: pulumi.interpolate`s3://${t.bundleBucket}/bundles/`,
                platform: {
                    kind: "beanstalk",
                    environmentName: t.environmentName,
                    applicationName: t.applicationName,
                    versionLabel: t.versionLabel,
                    bundleBucket: t.bundleBucket,
                    // Shown in the plan and the stack outputs, so a platform change is visible.
                    solutionStack: t.solutionStack,
                },
            },
            release: t.release,
        };
    },
};
