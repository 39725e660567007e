// target: ecs. What source document 003 built with Terraform and CodePipeline (Flask in Docker on
// ECS Fargate behind an ALB), as one component: the image in ECR named by its content, a cluster
// with Container Insights, an ALB that is the only way in, and a Fargate service in private
// subnets that reads the database credentials from Secrets Manager and rolls back a bad deploy.
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { ContainerImage } from "../components/containerImage";
import { fargateMemoryChoices, StackConfig } from "../config";
import { appSecretReadStatements, ecsEnvironment, ecsSecrets } from "../lib/appSpec";
import { gunicornWorkers } from "../lib/sizing";
import { SSL_POLICY } from "../lib/tls";
import { Target, TargetArgs, TargetOps, TargetOutputs, TargetRelease } from "./types";

/** The container's name in the task definition; the load balancer and logs refer to it. */
export const CONTAINER_NAME = "app";

/** What the task role needs for ECS Exec (issue 16 §5), and nothing else. */
export const ECS_EXEC_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"];

/** Arguments of {@link EcsTarget}: the common target arguments; `appDir` is the image's build context. */
export type EcsTargetArgs = TargetArgs;

/**
 * Keeps `pulumi up` from resetting the running task count to the configured minimum while
 * autoscaling owns it (awsx's FargateService always sends a desiredCount). A transform, because
 * the ECS service is a child of the awsx component, where resource options cannot reach directly.
 */
export const ignoreAutoscaledDesiredCount: pulumi.ResourceTransform = (args) => {
    if (args.type !== "aws:ecs/service:Service") {
        return undefined;
    }
    return { props: args.props, opts: pulumi.mergeOptions(args.opts, { ignoreChanges: ["desiredCount"] }) };
};

/** The app on ECS Fargate behind an Application Load Balancer. */
export class EcsTarget extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly imageUri: pulumi.Output<string>;
    readonly repositoryUrl: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;
    readonly loadBalancerDnsName: pulumi.Output<string>;
    /** The app container's log group (awslogs driver). */
    readonly logGroupName: pulumi.Output<string>;
    /** The ALB, for the stack's alias record. */
    readonly endpoint: TargetOutputs["endpoint"];
    /** The image tag the task definition runs (APP_RELEASE) and how to check it (issue 11 §3). */
    readonly release: TargetRelease;
    /** The ALB and the service, for the stack's operations (issue 13). */
    readonly ops: TargetOps;

    constructor(name: string, args: EcsTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:ecs:EcsTarget", name, {}, opts);
        const { config, network, database, domain } = args;
        const ecs = config.ecs;
        const prefix = config.namePrefix;
        // parseConfig checks this too; a component used on its own must not trust its caller.
        if (!fargateMemoryChoices(ecs.cpu).includes(ecs.memory)) {
            throw new Error(`EcsTarget: Fargate does not accept cpu=${ecs.cpu} with memory=${ecs.memory}; allowed: ${fargateMemoryChoices(ecs.cpu).join(", ") || "none"}`);
        }
        const autoscaled = config.scaling.max > config.scaling.min;
        const region = aws.getRegionOutput({}, { parent: this }).region;

        // --- Image: built from app/Dockerfile, tagged by content, pushed to a private repository. ---
        const image = new ContainerImage(`${name}-image`, {
            repositoryName: prefix,
            contextDir: args.appDir,
            platform: config.image.platform,
            keepImages: config.image.keep,
            builder: config.image.builder,
            codebuild: { appName: config.appName, namePrefix: prefix, buildDir: args.buildDir, logRetentionDays: config.logRetentionDays, awsProfile: config.image.awsProfile },
            forceDelete: !config.database.deletionProtection,
        }, { parent: this });

        // --- Cluster: Container Insights on; Fargate and Fargate Spot available to the service. ---
        // Container Insights writes performance events to `/aws/ecs/containerinsights/<cluster>/performance`
        // (CloudWatch User Guide, Container-Insights-reference-performance-logs-ECS), a group it
        // creates itself outside the stack. Created first, it has the stack's retention and goes with it.
        const insightsLogs = new aws.cloudwatch.LogGroup(`${name}-insights`, {
            name: `/aws/ecs/containerinsights/${prefix}/performance`,
            retentionInDays: config.logRetentionDays,
        }, { parent: this });
        const cluster = new aws.ecs.Cluster(`${name}-cluster`, {
            name: prefix,
            settings: [{ name: "containerInsights", value: ecs.containerInsights }],
        }, { parent: this, dependsOn: [insightsLogs] });
        const capacityProviders = new aws.ecs.ClusterCapacityProviders(`${name}-capacity`, {
            clusterName: cluster.name,
            capacityProviders: ["FARGATE", "FARGATE_SPOT"],
            defaultCapacityProviderStrategies: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
        }, { parent: this });

        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
            name: `/ecs/${prefix}`,
            retentionInDays: config.logRetentionDays,
        }, { parent: this });

        // --- Security groups: internet -> ALB on 80/443 only; ALB -> tasks on the app port only. ---
        const albSg = new aws.ec2.SecurityGroup(`${name}-alb`, {
            namePrefix: `${prefix}-alb-`,
            description: `Load balancer of ${prefix}: HTTP and HTTPS from the internet`,
            vpcId: network.vpcId,
        }, { parent: this });
        const appSg = new aws.ec2.SecurityGroup(`${name}-tasks`, {
            namePrefix: `${prefix}-ecs-tasks-`,
            description: `Fargate tasks of ${prefix}: the app port from the load balancer only`,
            vpcId: network.vpcId,
        }, { parent: this });
        for (const port of [80, 443]) {
            new aws.vpc.SecurityGroupIngressRule(`${name}-alb-in-${port}`, {
                securityGroupId: albSg.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: port, toPort: port,
                description: port === 80 ? "HTTP from anywhere (redirected when HTTPS is on)" : "HTTPS from anywhere",
            }, { parent: this });
        }
        new aws.vpc.SecurityGroupEgressRule(`${name}-alb-to-tasks`, {
            securityGroupId: albSg.id, referencedSecurityGroupId: appSg.id, ipProtocol: "tcp",
            fromPort: config.appPort, toPort: config.appPort, description: "To the tasks on the app port",
        }, { parent: this });
        new aws.vpc.SecurityGroupIngressRule(`${name}-tasks-from-alb`, {
            securityGroupId: appSg.id, referencedSecurityGroupId: albSg.id, ipProtocol: "tcp",
            fromPort: config.appPort, toPort: config.appPort, description: "App port from the load balancer",
        }, { parent: this });
        // Tasks reach ECR, Secrets Manager and CloudWatch Logs over HTTPS (through NAT) and the database.
        new aws.vpc.SecurityGroupEgressRule(`${name}-tasks-https`, {
            securityGroupId: appSg.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: 443, toPort: 443,
            description: "HTTPS to AWS APIs (image pull, secret, logs)",
        }, { parent: this });
        new aws.vpc.SecurityGroupEgressRule(`${name}-tasks-db`, {
            securityGroupId: appSg.id, referencedSecurityGroupId: database.securityGroupId, ipProtocol: "tcp",
            fromPort: 5432, toPort: 5432, description: "PostgreSQL",
        }, { parent: this });
        database.allowFrom(`${name}-db-access`, appSg.id, { parent: this });

        // --- Load balancer (awsx): public subnets, our security group, a fast /health check. ---
        const listeners: awsx.types.input.lb.ListenerArgs[] = domain
            ? [
                {
                    port: 80, protocol: "HTTP",
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                },
                { port: 443, protocol: "HTTPS", certificateArn: domain.certificateArn, sslPolicy: SSL_POLICY },
            ]
            : [{ port: 80, protocol: "HTTP" }];
        // awsx names the load balancer and its target group after this component and autonames both
        // (logical name + 8 characters, at most 32: see lib/names.ts). `${appName}-alb` fits for
        // the longest appName; the alias keeps stacks deployed under the old name (the engine
        // carries it to awsx's children, pulumi pkg/resource/deploy/step_generator.go, inheritedChildAlias).
        const alb = new awsx.lb.ApplicationLoadBalancer(`${config.appName}-alb`, {
            subnetIds: network.publicSubnetIds,
            securityGroups: [albSg.id],
            defaultSecurityGroup: { skip: true },
            dropInvalidHeaderFields: true,
            idleTimeout: 60,
            defaultTargetGroup: {
                port: config.appPort,
                protocol: "HTTP",
                targetType: "ip",
                // Deploys and scale-in wait this long per task for in-flight requests (default 300 s).
                deregistrationDelay: 15,
                healthCheck: {
                    path: config.app.healthPath, matcher: "200", protocol: "HTTP", port: "traffic-port",
                    interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3,
                },
            },
            listeners,
        }, { parent: this, aliases: [{ name: `${name}-alb` }] });
        const targetGroup = alb.defaultTargetGroup;

        // --- IAM: the agent's execution role (pull, logs, secret) and the app's task role (nothing). ---
        const trust = pulumi.all([aws.getCallerIdentityOutput({}, { parent: this }).accountId, region]).apply(([account, r]) => JSON.stringify({
            Version: "2012-10-17",
            Statement: [{
                Effect: "Allow",
                Principal: { Service: "ecs-tasks.amazonaws.com" },
                Action: "sts:AssumeRole",
                // Only ECS on behalf of this account may assume these roles (confused deputy).
                Condition: {
                    StringEquals: { "aws:SourceAccount": account },
                    ArnLike: { "aws:SourceArn": `arn:aws:ecs:${r}:${account}:*` },
                },
            }],
        }));
        // The execution role is assumed by the ECS agent / Fargate for the image pull, logs and
        // secrets, not by the task. AWS documents the confused-deputy conditions for the task role
        // (ECS Developer Guide, task-iam-roles: "use the aws:SourceAccount or aws:SourceArn condition
        // keys ... in the trust relationship") but its execution-role page (task_execution_IAM_role)
        // shows a trust policy without them and is silent on whether the agent's AssumeRole carries
        // aws:SourceArn; a condition on a key that is absent denies, and every task start would fail.
        // So the robust form: no condition here. Cross-account misuse still needs iam:PassRole on
        // this role, which only principals of this account can hold.
        const executionRole = new aws.iam.Role(`${name}-execution`, {
            description: `ECS agent for ${prefix}: pulls the image, writes logs, injects the DB secret`,
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        }, { parent: this });
        const executionGrants = new aws.iam.RolePolicy(`${name}-execution`, {
            role: executionRole.id,
            policy: pulumi.all([image.pullStatements(), logGroup.arn, database.secretReadStatements()]).apply(([pull, logArn, secret]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    ...pull,
                    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logArn}:log-stream:*` },
                    ...secret,
                    // appSecrets (issue 16): exactly those ARNs, resolved by the agent at task start.
                    ...appSecretReadStatements(config.app),
                ],
            })),
        }, { parent: this });
        // The app calls no AWS API: its task role exists so none is inherited, and grants nothing
        // unless ECS Exec is on.
        const taskRole = new aws.iam.Role(`${name}-task`, {
            description: ecs.exec ? `The ${prefix} app's own identity; ECS Exec's channels only` : `The ${prefix} app's own identity; deliberately without permissions`,
            assumeRolePolicy: trust,
        }, { parent: this });
        // ecsExec (issue 16 §5): the SSM agent ECS injects into the task opens its channels with the
        // task role (ECS Developer Guide, ecs-exec, "IAM permissions required for ECS Exec": these
        // four ssmmessages actions, Resource "*"; they support no resource-level permissions).
        const execGrants = ecs.exec ? [new aws.iam.RolePolicy(`${name}-task-exec`, {
            role: taskRole.id,
            policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ECS_EXEC_ACTIONS, Resource: "*" }] }),
        }, { parent: this })] : [];

        // --- Task definition: one read-only, non-root container; credentials as ECS secrets. ---
        const taskDefinition = new aws.ecs.TaskDefinition(`${name}-task`, {
            family: prefix,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: String(ecs.cpu),
            memory: String(ecs.memory),
            runtimePlatform: {
                operatingSystemFamily: "LINUX",
                cpuArchitecture: config.image.platform === "linux/arm64" ? "ARM64" : "X86_64",
            },
            executionRoleArn: executionRole.arn,
            taskRoleArn: taskRole.arn,
            // Scratch space for the read-only root filesystem.
            volumes: [{ name: "tmp" }],
            containerDefinitions: pulumi.jsonStringify([containerDefinition({
                config,
                image: image.imageUri,
                logGroup: logGroup.name,
                region,
                dbHost: database.address,
                dbPort: database.port,
                dbName: database.dbName,
                dbSecretArn: database.secretArn,
                release: image.tag,
            })]),
        }, {
            parent: this,
            // The grants are a resource of their own: tasks must not start (and fail to pull the
            // image or read the secret) before the execution role has them.
            dependsOn: [executionGrants, ...execGrants],
        });

        // --- Service (awsx): private subnets, no public IP, circuit breaker with rollback. ---
        const service = new awsx.ecs.FargateService(`${name}-service`, {
            name: prefix,
            cluster: cluster.arn,
            taskDefinition: taskDefinition.arn,
            desiredCount: config.scaling.min,
            networkConfiguration: {
                subnets: network.privateSubnetIds,
                securityGroups: [appSg.id],
                assignPublicIp: false,
            },
            loadBalancers: [{ targetGroupArn: targetGroup.arn, containerName: CONTAINER_NAME, containerPort: config.appPort }],
            capacityProviderStrategies: [{ capacityProvider: ecs.spot ? "FARGATE_SPOT" : "FARGATE", weight: 1 }],
            platformVersion: "LATEST",
            // New tasks must be healthy before old ones stop; a deploy that never gets healthy is
            // stopped and rolled back to the last good task definition, and `pulumi up` fails.
            deploymentMinimumHealthyPercent: 100,
            deploymentMaximumPercent: 200,
            deploymentCircuitBreaker: { enable: true, rollback: true },
            continueBeforeSteadyState: false,
            healthCheckGracePeriodSeconds: 30,
            availabilityZoneRebalancing: "ENABLED",
            enableExecuteCommand: ecs.exec, // ecsExec, off by default (issue 16 §5)
            enableEcsManagedTags: true,
            propagateTags: "SERVICE",
        }, {
            parent: this,
            dependsOn: [capacityProviders, alb, executionGrants],
            transforms: autoscaled ? [ignoreAutoscaledDesiredCount] : [],
        });
        const serviceName = service.service.name;

        // --- Autoscaling: target tracking on CPU and on requests per task, between min and max. ---
        if (autoscaled) {
            const scalable = new aws.appautoscaling.Target(`${name}-scaling`, {
                serviceNamespace: "ecs",
                scalableDimension: "ecs:service:DesiredCount",
                resourceId: pulumi.interpolate`service/${cluster.name}/${serviceName}`,
                minCapacity: config.scaling.min,
                maxCapacity: config.scaling.max,
            }, { parent: this });
            const tracking = (metric: string, targetValue: number, resourceLabel?: pulumi.Input<string>) => ({
                predefinedMetricSpecification: { predefinedMetricType: metric, resourceLabel },
                targetValue,
                // Out fast, in slowly: a spike is served at once, a dip does not cause flapping.
                scaleOutCooldown: 60,
                scaleInCooldown: 300,
            });
            new aws.appautoscaling.Policy(`${name}-scale-cpu`, {
                policyType: "TargetTrackingScaling",
                serviceNamespace: scalable.serviceNamespace,
                scalableDimension: scalable.scalableDimension,
                resourceId: scalable.resourceId,
                targetTrackingScalingPolicyConfiguration: tracking("ECSServiceAverageCPUUtilization", config.cpuTargetPercent),
            }, { parent: this });
            new aws.appautoscaling.Policy(`${name}-scale-requests`, {
                policyType: "TargetTrackingScaling",
                serviceNamespace: scalable.serviceNamespace,
                scalableDimension: scalable.scalableDimension,
                resourceId: scalable.resourceId,
                targetTrackingScalingPolicyConfiguration: tracking(
                    "ALBRequestCountPerTarget", ecs.requestsPerTarget,
                    pulumi.interpolate`${alb.loadBalancer.arnSuffix}/${targetGroup.arnSuffix}`,
                ),
            }, { parent: this });
        }

        this.endpoint = { dnsName: alb.loadBalancer.dnsName, zoneId: alb.loadBalancer.zoneId };
        // The service waits for steady state (continueBeforeSteadyState false), which a circuit-breaker
        // rollback also reaches: only the live endpoint tells which task definition won.
        this.release = {
            value: image.tag,
            platform: "ECS (deployment circuit breaker)",
            eventsCommand: pulumi.interpolate`aws ecs describe-services --cluster ${cluster.name} --services ${serviceName} --region ${region} --query 'services[0].events[:10]'`,
            rollout: [service],
        };
        this.ops = {
            loadBalancer: { arn: alb.loadBalancer.arn, arnSuffix: alb.loadBalancer.arnSuffix, targetGroupArnSuffix: targetGroup.arnSuffix, targetGroupArn: targetGroup.arn },
            component: this,
            stackOwnsListenerRules: true,
            servingPort: domain ? 443 : 80,
            platform: { kind: "ecs", clusterName: cluster.name, serviceName, serviceArn: service.service.arn },
            dependsOn: [alb, service],
        };
        this.url = domain ? domain.url : pulumi.interpolate`http://${alb.loadBalancer.dnsName}`;
        this.healthUrl = pulumi.interpolate`${this.url}${config.app.healthPath}`;
        this.imageUri = image.imageUri;
        this.repositoryUrl = image.repositoryUrl;
        this.clusterName = cluster.name;
        this.serviceName = serviceName;
        this.loadBalancerDnsName = alb.loadBalancer.dnsName;
        this.logGroupName = logGroup.name;
        this.registerOutputs({ logGroupName: this.logGroupName,
            url: this.url, healthUrl: this.healthUrl, imageUri: this.imageUri, repositoryUrl: this.repositoryUrl,
            clusterName: this.clusterName, serviceName: this.serviceName, loadBalancerDnsName: this.loadBalancerDnsName,
        });
    }
}

interface ContainerInputs {
    readonly config: StackConfig;
    readonly image: pulumi.Input<string>;
    readonly logGroup: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
    readonly dbHost: pulumi.Input<string>;
    readonly dbPort: pulumi.Input<number>;
    readonly dbName: string;
    readonly dbSecretArn: pulumi.Input<string>;
    /** The image tag, reported by the app in GET /health (APP_RELEASE). */
    readonly release: pulumi.Input<string>;
}

/** The app container: plain settings as environment, the credentials as an ECS secret (ARN only). */
export function containerDefinition(i: ContainerInputs): pulumi.Input<Record<string, unknown>> {
    const port = i.config.appPort;
    return {
        name: CONTAINER_NAME,
        image: i.image,
        essential: true,
        portMappings: [{ name: "http", containerPort: port, hostPort: port, protocol: "tcp", appProtocol: "http" }],
        environment: [
            { name: "PORT", value: String(port) },
            // Fargate does not cap the CPUs the container sees, so size gunicorn to the task's share.
            { name: "WEB_CONCURRENCY", value: String(gunicornWorkers(i.config.ecs.cpu / 1024)) },
            { name: "DB_HOST", value: i.dbHost },
            { name: "DB_PORT", value: pulumi.output(i.dbPort).apply(String) },
            { name: "DB_NAME", value: i.dbName },
            { name: "DB_SSLMODE", value: "verify-full" }, // the app trusts its bundled RDS CAs (app/clients_service/rds-ca-bundle.pem)
            { name: "APP_RELEASE", value: i.release }, // issue 11 §3: what /health reports, what the post-deploy check waits for
            ...ecsEnvironment(i.config.app), // appEnv (issue 16)
        ],
        // The agent resolves these at task start through the execution role; only the ARNs are stored.
        secrets: [{ name: "DB_SECRET", valueFrom: i.dbSecretArn }, ...ecsSecrets(i.config.app)],
        // ECS Exec's agent writes into the container's filesystem, so a read-only root is not
        // supported with it (ECS Developer Guide, ecs-exec, Considerations; aws/containers-roadmap#1359):
        // read-only unless ecsExec is on, the price of that switch (docs/operate.md).
        readonlyRootFilesystem: !i.config.ecs.exec,
        mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
        user: "10001:10001",
        linuxParameters: { initProcessEnabled: true },
        // Matches the Dockerfile's HEALTHCHECK: no curl in the slim image, so the stdlib probes /health.
        healthCheck: {
            command: ["CMD", "python", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${port}${i.config.app.healthPath}', timeout=2)`],
            interval: 15,
            timeout: 5,
            retries: 3,
            startPeriod: 20,
        },
        // gunicorn's graceful timeout is 25 s; SIGKILL only after it has had the chance to finish.
        stopTimeout: 30,
        logConfiguration: {
            logDriver: "awslogs",
            options: {
                "awslogs-group": i.logGroup,
                "awslogs-region": i.region,
                "awslogs-stream-prefix": "app",
                // A slow log API never blocks the app's stdout.
                mode: "non-blocking",
                "max-buffer-size": "25m",
            },
        },
    };
}

/** The registry entry: builds the component and maps it onto the outputs contract. */
export const ecs: Target = {
    name: "ecs",
    deploy(args: TargetArgs, opts?: pulumi.ComponentResourceOptions): TargetOutputs {
        const t = new EcsTarget(`${args.config.appName}-ecs`, args, opts);
        return {
            url: t.url,
            healthUrl: t.healthUrl,
            endpoint: t.endpoint,
            ops: t.ops,
            operations: {
                logGroupName: t.logGroupName,
                repositoryUrl: t.repositoryUrl,
                platform: {
                    kind: "ecs", clusterName: t.clusterName, serviceName: t.serviceName, containerName: CONTAINER_NAME,
                    imageUri: t.imageUri, loadBalancerDnsName: t.loadBalancerDnsName, execEnabled: args.config.ecs.exec,
                },
            },
            release: t.release,
        };
    },
};
