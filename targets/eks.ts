// target: eks. What source document 002 built with Terraform, kubectl and a Python script (Flask
// on EKS with RDS Postgres, a load balancer with an ACM certificate, HPA, 2-5 nodes, Fluent Bit to
// CloudWatch), as one component: an EKS cluster with a managed node group the Cluster Autoscaler
// grows and shrinks, the AWS Load Balancer Controller, Container Insights, and the app as
// explicitly named Kubernetes objects fed by the shared image, database and domain.
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ContainerImage } from "../components/containerImage";
import { Database } from "../components/database";
import { EksVersion, StackConfig } from "../config";
import { K8S_APP_SECRET, kubernetesEnv } from "../lib/appSpec";
import { attachManagedPolicies } from "../lib/iam";
import { ingressLoadBalancer } from "../lib/loadBalancers";
import { ingressOperationsAnnotations, MAINTENANCE_ACTION } from "../components/maintenance";
import { gunicornWorkers } from "../lib/sizing";
import { SSL_POLICY } from "../lib/tls";
import { Target, TargetArgs, TargetOps, TargetOutputs, TargetRelease } from "./types";

/** Helm charts, pinned. Cluster Autoscaler's minor must match Kubernetes', hence the image tags. */
export const CHARTS = {
    loadBalancerController: { repo: "https://aws.github.io/eks-charts", chart: "aws-load-balancer-controller", version: "3.5.0" },
    clusterAutoscaler: { repo: "https://kubernetes.github.io/autoscaler", chart: "cluster-autoscaler", version: "9.59.0" },
} as const;
export const CLUSTER_AUTOSCALER_IMAGE: Record<EksVersion, string> = { "1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2" };

/** The controllers' service accounts (kube-system); Pod Identity binds IAM roles to these names. */
export const SERVICE_ACCOUNTS = {
    loadBalancerController: "aws-load-balancer-controller",
    clusterAutoscaler: "cluster-autoscaler",
    cloudwatchAgent: "cloudwatch-agent",
} as const;

/** Kubernetes names of the app's objects: fixed, because mocks and humans refer to them. */
export const APP_OBJECT = "app";

/** The log groups Container Insights (the CloudWatch Observability add-on) writes to, per cluster. */
export const CONTAINER_INSIGHTS_LOGS = ["application", "dataplane", "host", "performance"] as const;

const CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

/** Trust policy of every role a pod assumes through EKS Pod Identity. */
const POD_IDENTITY_TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
});

/** Arguments of {@link EksTarget}: the common target arguments; `appDir` is the image's build context. */
export type EksTargetArgs = TargetArgs;

/** The app on EKS: cluster, nodes that scale, controllers, and the app's Kubernetes objects. */
export class EksTarget extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    readonly kubeconfig: pulumi.Output<string>;
    readonly imageUri: pulumi.Output<string>;
    readonly namespace: pulumi.Output<string>;
    /** Add-on name -> the version EKS runs. */
    readonly addonVersions: pulumi.Output<Record<string, string>>;
    /** The ECR repository the image is pushed to (issue 16 §5). */
    readonly repositoryUrl: pulumi.Output<string>;
    /** Container Insights' application group, where Fluent Bit ships the pods' stdout (issue 16 §5). */
    readonly logGroupName: pulumi.Output<string>;
    /** The Ingress's ALB, for the stack's alias record. */
    readonly endpoint: TargetOutputs["endpoint"];
    /** The image tag the Deployment runs (APP_RELEASE) and how to check it (issue 11 §3). */
    readonly release: TargetRelease;
    /** The controller's ALB (found by its tags) and the app's pods, for the stack's operations (issue 13). */
    readonly ops: TargetOps;

    constructor(name: string, args: EksTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:eks:EksTarget", name, {}, opts);
        const { config, network, database, domain } = args;
        const e = config.eks;
        const prefix = config.namePrefix;
        if (e.nodeMin > e.nodeMax) {
            throw new Error(`EksTarget: nodeMin ${e.nodeMin} is above nodeMax ${e.nodeMax}`);
        }
        const clusterName = prefix;
        const region = aws.getRegionOutput({}, { parent: this }).region;

        const image = new ContainerImage(`${name}-image`, {
            repositoryName: `${prefix}-eks`,
            contextDir: args.appDir,
            platform: config.image.platform,
            keepImages: config.image.keep,
            builder: config.image.builder,
            codebuild: { appName: config.appName, namePrefix: prefix, buildDir: args.buildDir, logRetentionDays: config.logRetentionDays, awsProfile: config.image.awsProfile },
            forceDelete: !config.database.deletionProtection,
        }, { parent: this });

        // --- Cluster: API access entries, private nodes, all control-plane logs, KMS for Secrets. ---
        const secretsKey = new aws.kms.Key(`${name}-secrets`, {
            description: `Envelope encryption of Kubernetes Secrets in EKS cluster ${clusterName}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
        }, { parent: this });
        new aws.kms.Alias(`${name}-secrets`, { name: `alias/${clusterName}-eks-secrets`, targetKeyId: secretsKey.keyId }, { parent: this });

        // EKS creates this group on first log write with no expiry; creating it first sets retention.
        const controlPlaneLogs = new aws.cloudwatch.LogGroup(`${name}-control-plane`, {
            name: `/aws/eks/${clusterName}/cluster`,
            retentionInDays: config.logRetentionDays,
        }, { parent: this });

        // EKS makes only the principal that created the cluster its admin (pulumi-eks 4.3 sets
        // bootstrapClusterCreatorAdminPermissions), so each role that runs `pulumi up` gets its own
        // access entry. Keyed by account and role name, so reordering the list replaces nothing.
        const accessEntries: Record<string, eks.types.input.AccessEntryArgs> = {};
        for (const principalArn of e.deployerRoleArns) {
            const [, , , , account, resource] = principalArn.split(":");
            accessEntries[`deployer-${account}-${resource.split("/").pop()}`.replace(/[^A-Za-z0-9-]/g, "-")] = {
                principalArn,
                accessPolicies: {
                    clusterAdmin: {
                        policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                        accessScope: { type: "cluster" },
                    },
                },
            };
        }

        const cluster = new eks.Cluster(`${name}-cluster`, {
            name: clusterName,
            version: e.version,
            // Standard support only: extended support bills six times the hourly cluster price.
            upgradePolicy: { supportType: "STANDARD" },
            vpcId: network.vpcId,
            publicSubnetIds: network.publicSubnetIds,
            privateSubnetIds: network.privateSubnetIds,
            authenticationMode: eks.AuthenticationMode.Api,
            accessEntries,
            skipDefaultNodeGroup: true,
            // Pulumi's extra cluster/node groups would be unused by managed nodes (they get the EKS cluster group).
            skipDefaultSecurityGroups: true,
            // The API is public only to the configured networks (where pulumi and kubectl run), or
            // private only: then `pulumi up` must run inside the VPC (README, EKS section).
            endpointPrivateAccess: true,
            endpointPublicAccess: e.publicAccessCidrs.length > 0,
            ...(e.publicAccessCidrs.length > 0 ? { publicAccessCidrs: [...e.publicAccessCidrs] } : {}),
            enabledClusterLogTypes: CONTROL_PLANE_LOGS,
            encryptionConfigKeyArn: secretsKey.arn,
            createOidcProvider: false,
            tags: { Name: clusterName },
        }, { parent: this, dependsOn: [controlPlaneLogs] });

        // --- Nodes: a managed group in the private subnets, IMDSv2 only, sized by the autoscaler. ---
        const nodeRole = new aws.iam.Role(`${name}-nodes`, {
            description: `EC2 nodes of EKS cluster ${clusterName}`,
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        }, { parent: this });
        // Nodes join the cluster only with these grants, so the node group waits for them.
        const nodeGrants = attachManagedPolicies(`${name}-nodes`, nodeRole, NODE_MANAGED_POLICIES, { parent: this });

        // Our own launch template instead of pulumi-eks's `enableIMDSv2`, which hard-codes a hop
        // limit of 2 (pulumi-eks nodejs/eks/nodes/nodegroup.ts, createMNGCustomLaunchTemplate:
        // `httpPutResponseHopLimit: 2`) so every pod could take the node role's credentials from
        // IMDS. With 1, only host-network processes reach IMDS (EKS Best Practices, security/iam:
        // "Restrict access to the instance profile assigned to the worker node"). Nothing here needs
        // more: the CloudWatch agent and Fluent Bit run `hostNetwork: true` (aws-observability/
        // helm-charts amazon-cloudwatch-observability templates/linux/cloudwatch-agent-custom-resource.yaml
        // and fluent-bit-daemonset.yaml), so do the Pod Identity agent, aws-node and kube-proxy;
        // the Load Balancer Controller gets `region` and `vpcId` and the Cluster Autoscaler
        // `awsRegion` explicitly below, so neither asks IMDS; all controllers get credentials from
        // Pod Identity, not from the node.
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-nodes`, {
            description: `Nodes of EKS cluster ${clusterName}: IMDSv2 only, no IMDS for pods, encrypted gp3 root volume`,
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            // With a launch template the disk size belongs here: EKS refuses a node group diskSize
            // next to one (EKS User Guide, launch-templates; pulumi-eks moves it the same way).
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 30, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
            updateDefaultVersion: true,
        }, { parent: this });

        const nodeGroup = new eks.ManagedNodeGroup(`${name}-nodes`, {
            cluster,
            nodeGroupNamePrefix: `${clusterName}-`,
            nodeRoleArn: nodeRole.arn,
            subnetIds: network.privateSubnetIds,
            instanceTypes: [e.nodeInstanceType],
            amiType: config.image.platform === "linux/arm64" ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD",
            capacityType: "ON_DEMAND",
            launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => String(v)) },
            scalingConfig: { minSize: e.nodeMin, maxSize: e.nodeMax, desiredSize: e.nodeMin },
            // The Cluster Autoscaler owns the desired size; `pulumi up` must not reset it.
            ignoreScalingChanges: true,
            labels: { "platform/role": "app" },
        }, { parent: this, dependsOn: nodeGrants });

        const provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: cluster.kubeconfigJson,
            enableServerSideApply: true,
        }, { parent: this, dependsOn: [nodeGroup] });
        const k8sOpts = { parent: this, provider };

        // --- Add-ons: Pod Identity agent, metrics for the HPA, Container Insights with app logs. ---
        const addon = (addonName: string, extra: Partial<aws.eks.AddonArgs> = {}, dependsOn: pulumi.Resource[] = []) =>
            new aws.eks.Addon(`${name}-${addonName}`, {
                clusterName: cluster.eksCluster.name,
                addonName,
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                // Pinned from eksAddonVersions (prod); otherwise EKS's default at creation.
                ...(e.addonVersions[addonName] ? { addonVersion: e.addonVersions[addonName] } : {}),
                ...extra,
            }, { parent: this, dependsOn: [nodeGroup, ...dependsOn] });
        const podIdentityAgent = addon("eks-pod-identity-agent");
        const metricsServer = addon("metrics-server");

        // A pod role and its grants (separate resources): whatever uses the role waits for `grants`,
        // or a controller can start, fail its first AWS calls and back off.
        interface PodRole { readonly role: aws.iam.Role; readonly grants: pulumi.Resource[] }
        const podRole = (roleName: string, description: string, policy?: pulumi.Input<string>, managed: string[] = []): PodRole => {
            const role = new aws.iam.Role(`${name}-${roleName}`, { description, assumeRolePolicy: POD_IDENTITY_TRUST }, { parent: this });
            const grants: pulumi.Resource[] = attachManagedPolicies(`${name}-${roleName}`, role, managed, { parent: this });
            if (policy !== undefined) {
                grants.push(new aws.iam.RolePolicy(`${name}-${roleName}`, { role: role.id, policy }, { parent: this }));
            }
            return { role, grants };
        };
        const associate = (assocName: string, namespace: string, serviceAccount: string, pod: PodRole) =>
            new aws.eks.PodIdentityAssociation(`${name}-${assocName}`, {
                clusterName: cluster.eksCluster.name, namespace, serviceAccount, roleArn: pod.role.arn,
            }, { parent: this, dependsOn: [podIdentityAgent, ...pod.grants] });

        const cloudwatchRole = podRole("cloudwatch-agent", `CloudWatch agent and Fluent Bit of ${clusterName}`, undefined,
            ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]);
        // The add-on's agents create `/aws/containerinsights/<cluster>/<kind>` themselves, outside the
        // stack and with no retention (CloudWatch User Guide, Container-Insights-reference: "When you
        // deploy Container Insights, it automatically creates a log group for the performance log
        // events"; Container-Insights-setup-logs-FluentBit: application, host and dataplane groups).
        // Created first, they get the stack's retention and go with the stack, after the add-on.
        const insightsLogs = CONTAINER_INSIGHTS_LOGS.map((kind) => new aws.cloudwatch.LogGroup(`${name}-insights-${kind}`, {
            name: `/aws/containerinsights/${clusterName}/${kind}`,
            retentionInDays: config.logRetentionDays,
        }, { parent: this }));
        const cloudwatchAddon = addon("amazon-cloudwatch-observability", {
            podIdentityAssociations: [{ serviceAccount: SERVICE_ACCOUNTS.cloudwatchAgent, roleArn: cloudwatchRole.role.arn }],
        }, [podIdentityAgent, ...cloudwatchRole.grants, ...insightsLogs]);

        // --- Cluster Autoscaler: adds nodes when pods are pending, removes idle ones. ---
        const autoscalerRole = podRole("cluster-autoscaler", `Cluster Autoscaler of ${clusterName}: resizes only this cluster's node groups`,
            clusterAutoscalerPolicy(clusterName));
        const autoscalerAccess = associate("cluster-autoscaler", "kube-system", SERVICE_ACCOUNTS.clusterAutoscaler, autoscalerRole);
        new k8s.helm.v3.Release(`${name}-cluster-autoscaler`, {
            name: "cluster-autoscaler",
            namespace: "kube-system",
            chart: CHARTS.clusterAutoscaler.chart,
            version: CHARTS.clusterAutoscaler.version,
            repositoryOpts: { repo: CHARTS.clusterAutoscaler.repo },
            values: {
                cloudProvider: "aws",
                awsRegion: region,
                autoDiscovery: { clusterName },
                image: { tag: CLUSTER_AUTOSCALER_IMAGE[e.version] },
                rbac: { serviceAccount: { create: true, name: SERVICE_ACCOUNTS.clusterAutoscaler } },
                extraArgs: { "balance-similar-node-groups": true, expander: "least-waste", "skip-nodes-with-system-pods": false },
            },
        }, { ...k8sOpts, dependsOn: [autoscalerAccess, ...autoscalerRole.grants] });

        // --- AWS Load Balancer Controller: turns the Ingress into an ALB. ---
        const lbcRole = podRole("load-balancer-controller", `AWS Load Balancer Controller of ${clusterName}`, loadBalancerControllerPolicy());
        const lbcAccess = associate("load-balancer-controller", "kube-system", SERVICE_ACCOUNTS.loadBalancerController, lbcRole);
        const lbc = new k8s.helm.v3.Release(`${name}-load-balancer-controller`, {
            name: "aws-load-balancer-controller",
            namespace: "kube-system",
            chart: CHARTS.loadBalancerController.chart,
            version: CHARTS.loadBalancerController.version,
            repositoryOpts: { repo: CHARTS.loadBalancerController.repo },
            values: {
                clusterName,
                region,
                vpcId: network.vpcId,
                serviceAccount: { create: true, name: SERVICE_ACCOUNTS.loadBalancerController },
                replicaCount: config.scaling.min > 1 ? 2 : 1,
            },
        }, { ...k8sOpts, dependsOn: [lbcAccess, ...lbcRole.grants] });

        // --- Database: pods run in the nodes' (EKS cluster) security group, which the database admits. ---
        const nodeSecurityGroupId = cluster.eksCluster.vpcConfig.clusterSecurityGroupId;
        database.allowFrom(`${name}-db-access`, nodeSecurityGroupId, { parent: this });

        // --- The app. ---
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, {
            metadata: { name: config.appName, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
        }, k8sOpts);
        const namespace = ns.metadata.name;

        const { labels, deployment, service } = appWorkload({
            name, parent: this, k8sOpts, config, database, namespace, prefix, image,
            // The controller's chart registers the `mservice.elbv2.k8s.aws` mutating webhook on every
            // Service CREATE with failurePolicy Fail (kubernetes-sigs/aws-load-balancer-controller
            // helm/.../templates/webhook.yaml): until its pods serve, the API server refuses the Service.
            // The Release waits for the controller's Deployment to be ready before it completes.
            serviceDependsOn: [lbc],
        });

        // issue 13: WAF and maintenance mode reach the controller's ALB through the Ingress.
        const ingress = new k8s.networking.v1.Ingress(`${name}-ingress`, appIngress({
            namespace, labels, serviceName: service.metadata.name, certificateArn: domain?.certificateArn, host: config.domain?.name,
            extraAnnotations: ingressOperationsAnnotations({ webAclArn: args.webAclArn, maintenance: config.operations.maintenanceMode, appName: config.appName }),
            maintenance: config.operations.maintenanceMode,
            healthPath: config.app.healthPath,
        }), {
            ...k8sOpts,
            // Deleted before the controller, so the controller is still there to delete the ALB.
            dependsOn: [lbc],
        });
        const albHostname = ingress.status.loadBalancer.ingress.apply((list) => {
            const host = list?.[0]?.hostname;
            if (!host) {
                throw new Error(`EksTarget: the ingress ${APP_OBJECT} got no load balancer address; check the AWS Load Balancer Controller's logs`);
            }
            return host;
        });

        this.endpoint = { dnsName: albHostname, zoneId: aws.lb.getHostedZoneIdOutput({ loadBalancerType: "application" }, { parent: this }).id };
        this.ops = {
            loadBalancer: ingressLoadBalancer({
                clusterName: cluster.eksCluster.name, namespace, ingressName: APP_OBJECT, serviceName: APP_OBJECT, servicePort: "http", ingress,
            }, { parent: this }),
            component: this,
            stackOwnsListenerRules: false,
            servingPort: domain ? 443 : 80,
            platform: { kind: "eks", clusterName: cluster.eksCluster.name, namespace, serviceName: APP_OBJECT, deploymentName: APP_OBJECT, clusterOwnedByStack: true },
            dependsOn: [ingress],
        };

        // The Deployment's await (pulumi-kubernetes) waits for the rollout; the Ingress for its ALB.
        this.release = {
            value: image.tag,
            platform: "Kubernetes (the rollout did not complete)",
            eventsCommand: pulumi.interpolate`aws eks update-kubeconfig --name ${cluster.eksCluster.name} --region ${region}; kubectl rollout status deployment/${deployment.metadata.name} -n ${namespace} --timeout=60s; kubectl get events -n ${namespace} --sort-by=.lastTimestamp`,
            rollout: [deployment, ingress],
        };
        this.url = domain ? domain.url : pulumi.interpolate`http://${albHostname}`;
        this.healthUrl = pulumi.interpolate`${this.url}${config.app.healthPath}`;
        this.clusterName = cluster.eksCluster.name;
        this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
        this.imageUri = image.imageUri;
        this.repositoryUrl = image.repositoryUrl;
        this.logGroupName = insightsLogs[CONTAINER_INSIGHTS_LOGS.indexOf("application")].name;
        this.namespace = namespace;
        // What runs, shown in the plan and the outputs, so a version that moved is visible.
        this.addonVersions = pulumi.all([podIdentityAgent, metricsServer, cloudwatchAddon].map((a) => pulumi.all([a.addonName, a.addonVersion])))
            .apply((pairs) => Object.fromEntries(pairs));
        this.registerOutputs({
            url: this.url, healthUrl: this.healthUrl, clusterName: this.clusterName, kubeconfig: this.kubeconfig,
            imageUri: this.imageUri, namespace: this.namespace, addonVersions: this.addonVersions,
            repositoryUrl: this.repositoryUrl, logGroupName: this.logGroupName,
        });
    }
}

export const NODE_MANAGED_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
];

/** The AWS Load Balancer Controller's own policy (kubernetes-sigs/aws-load-balancer-controller v3.5.0, docs/install/iam_policy.json). */
export function loadBalancerControllerPolicy(): string {
    // Minified: IAM counts a role's inline policies against 10,240 characters.
    return JSON.stringify(JSON.parse(fs.readFileSync(path.join(__dirname, "iam", "aws-load-balancer-controller-v3.5.0.json"), "utf8")));
}

/** Cluster Autoscaler (kubernetes/autoscaler AWS README): reads everywhere, resizes only this cluster's tagged groups. */
export function clusterAutoscalerPolicy(clusterName: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: [
                    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup",
                ],
                Resource: "*",
            },
            {
                Effect: "Allow",
                Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                Resource: "*",
                // Managed node groups tag their Auto Scaling groups with these two tags.
                Condition: {
                    StringEquals: {
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                        [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
                    },
                },
            },
        ],
    });
}

interface DeploymentInputs {
    readonly config: StackConfig;
    readonly namespace: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly image: pulumi.Input<string>;
    readonly serviceAccount: pulumi.Input<string>;
    readonly secretName: pulumi.Input<string>;
    readonly dbHost: pulumi.Input<string>;
    readonly dbPort: pulumi.Input<number>;
    readonly dbName: string;
    /** The image tag, reported by the app in GET /health (APP_RELEASE). */
    readonly release: pulumi.Input<string>;
    /** The Secret holding appSecrets (issue 16); referenced only when there are any. */
    readonly appSecretName?: pulumi.Input<string>;
}

/** Arguments of {@link appWorkload}. */
export interface AppWorkloadArgs {
    /** The calling component's name: the objects are `<name>-db-secret`, `<name>-deployment`... */
    readonly name: string;
    /** The calling component (a target); data-source reads are parented to it. */
    readonly parent: pulumi.Resource;
    /** The Kubernetes provider and parent for every object. */
    readonly k8sOpts: pulumi.CustomResourceOptions;
    readonly config: StackConfig;
    readonly database: Database;
    readonly namespace: pulumi.Input<string>;
    /** `<appName>-<stack>`: the pods' instance label. */
    readonly prefix: string;
    readonly image: ContainerImage;
    /** What the Service must wait for (the Load Balancer Controller's webhook, when the stack installs it). */
    readonly serviceDependsOn?: pulumi.Resource[];
}

/**
 * The app's workload, the same on a cluster of the stack's own and on a shared one: the secrets the
 * pods read, their ServiceAccount, the Deployment, its PodDisruptionBudget and autoscaler, and the
 * Service the Ingress routes to.
 */
export function appWorkload(a: AppWorkloadArgs): { labels: Record<string, string>; deployment: k8s.apps.v1.Deployment; service: k8s.core.v1.Service } {
    const { name, parent, k8sOpts, config, database, namespace, prefix, image } = a;
    // RDS's managed secret, copied into a Kubernetes Secret (encrypted by the cluster's KMS key,
    // and a Pulumi secret in state). Rotation is off (see Database), so the copy stays valid.
    const secretValue = aws.secretsmanager.getSecretVersionOutput({ secretId: database.secretArn }, { parent }).secretString;
    const dbSecret = new k8s.core.v1.Secret(`${name}-db-secret`, {
        metadata: { name: "db-credentials", namespace },
        type: "Opaque",
        stringData: { DB_SECRET: pulumi.secret(secretValue) },
    }, k8sOpts);

    // appSecrets (issue 16), synced the same way as the database secret: read from Secrets Manager
    // at deploy time into a Kubernetes Secret (KMS-encrypted in etcd, a Pulumi secret in state),
    // so the app gets plain environment variables as on ECS and Beanstalk, with no AWS SDK call
    // or extra controller. A rotated value reaches the pods with the next pulumi up.
    const appSecretNames = Object.keys(config.app.secrets).sort();
    const appSecret = appSecretNames.length === 0 ? undefined : new k8s.core.v1.Secret(`${name}-app-secrets`, {
        metadata: { name: K8S_APP_SECRET, namespace },
        type: "Opaque",
        stringData: Object.fromEntries(appSecretNames.map((n) => [n, pulumi.secret(
            aws.secretsmanager.getSecretVersionOutput({ secretId: config.app.secrets[n] }, { parent }).secretString)])),
    }, k8sOpts);

    const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
        metadata: { name: APP_OBJECT, namespace },
        automountServiceAccountToken: false,
    }, k8sOpts);

    const labels = { "app.kubernetes.io/name": APP_OBJECT, "app.kubernetes.io/instance": prefix };
    const deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, appDeployment({
        config, namespace, labels, image: image.imageUri, serviceAccount: serviceAccount.metadata.name, secretName: dbSecret.metadata.name,
        dbHost: database.address, dbPort: database.port, dbName: database.dbName, release: image.tag,
        appSecretName: appSecret?.metadata.name ?? K8S_APP_SECRET,
    }), {
        ...k8sOpts,
        // The HPA owns the replica count after creation.
        ignoreChanges: ["spec.replicas"],
    });

    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
        metadata: { name: APP_OBJECT, namespace },
        // One pod at a time during node drains and upgrades (a minAvailable of 1 would block
        // draining a single-replica dev stack forever).
        spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
    }, k8sOpts);

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-hpa`, {
        metadata: { name: APP_OBJECT, namespace },
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
            minReplicas: config.scaling.min,
            maxReplicas: config.scaling.max,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: config.cpuTargetPercent } } }],
            behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
        },
    }, k8sOpts);

    const service = new k8s.core.v1.Service(`${name}-service`, {
        metadata: { name: APP_OBJECT, namespace, labels },
        spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
    }, { ...k8sOpts, ...(a.serviceDependsOn ? { dependsOn: a.serviceDependsOn } : {}) });
    return { labels, deployment, service };
}

/** The app's Deployment: hardened pod, probes on /ready and /health, zero-downtime rollout. */
export function appDeployment(i: DeploymentInputs): k8s.apps.v1.DeploymentArgs {
    const { config } = i;
    const e = config.eks;
    const port = config.appPort;
    return {
        metadata: { name: APP_OBJECT, namespace: i.namespace, labels: i.labels },
        spec: {
            replicas: config.scaling.min,
            selector: { matchLabels: i.labels },
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            // A rollout whose pods never get ready is reported failed (and `pulumi up` fails) after this.
            progressDeadlineSeconds: 300,
            revisionHistoryLimit: 5,
            template: {
                metadata: { labels: i.labels },
                spec: {
                    serviceAccountName: i.serviceAccount,
                    automountServiceAccountToken: false,
                    securityContext: {
                        runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    // Spread over zones (and nodes) so a zone outage leaves replicas running.
                    topologySpreadConstraints: [
                        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: i.labels } },
                        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: i.labels } },
                    ],
                    terminationGracePeriodSeconds: 45,
                    containers: [{
                        name: APP_OBJECT,
                        image: i.image,
                        imagePullPolicy: "IfNotPresent",
                        ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
                        env: [
                            { name: "PORT", value: String(port) },
                            { name: "WEB_CONCURRENCY", value: String(gunicornWorkers(e.podCpuLimit / 1000)) },
                            { name: "DB_HOST", value: i.dbHost },
                            { name: "DB_PORT", value: pulumi.output(i.dbPort).apply(String) },
                            { name: "DB_NAME", value: i.dbName },
                            { name: "DB_SSLMODE", value: "verify-full" }, // the app trusts its bundled RDS CAs (app/clients_service/rds-ca-bundle.pem)
                            { name: "DB_SECRET", valueFrom: { secretKeyRef: { name: i.secretName, key: "DB_SECRET" } } },
                            { name: "APP_RELEASE", value: i.release }, // issue 11 §3: what /health reports, what the post-deploy check waits for
                            ...kubernetesEnv(config.app, i.appSecretName ?? K8S_APP_SECRET), // appEnv, appSecrets (issue 16)
                        ],
                        resources: {
                            requests: { cpu: `${e.podCpu}m`, memory: `${e.podMemory}Mi` },
                            limits: { cpu: `${e.podCpuLimit}m`, memory: `${e.podMemory}Mi` },
                        },
                        // Ready only when the database answers; alive as long as the process serves.
                        readinessProbe: { httpGet: { path: config.app.readyPath, port: "http" }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                        livenessProbe: { httpGet: { path: config.app.healthPath, port: "http" }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
                        startupProbe: { httpGet: { path: config.app.healthPath, port: "http" }, periodSeconds: 2, failureThreshold: 30 },
                        // Keep serving while the ALB deregisters the pod, then gunicorn drains gracefully.
                        lifecycle: { preStop: { sleep: { seconds: 10 } } },
                        securityContext: {
                            allowPrivilegeEscalation: false,
                            readOnlyRootFilesystem: true,
                            runAsNonRoot: true,
                            capabilities: { drop: ["ALL"] },
                        },
                        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                    }],
                    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
                },
            },
        },
    };
}

interface IngressInputs {
    readonly namespace: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly serviceName: pulumi.Input<string>;
    readonly certificateArn?: pulumi.Input<string>;
    readonly host?: string;
    /** issue 13: WAF and maintenance-page annotations (components/maintenance.ts). */
    readonly extraAnnotations?: Record<string, pulumi.Input<string>>;
    /** Put the maintenance action's rule before the app's: every request gets the 503 page. */
    readonly maintenance?: boolean;
    /** The load balancer's health check path (appHealthPath; issue 16). Default /health. */
    readonly healthPath?: string;
}

/** An internet-facing ALB to the pods' IPs, checking /health; HTTPS plus redirect with a certificate. */
export function appIngress(i: IngressInputs): k8s.networking.v1.IngressArgs {
    const annotations: Record<string, pulumi.Input<string>> = {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/healthcheck-path": i.healthPath ?? "/health",
        "alb.ingress.kubernetes.io/success-codes": "200",
        "alb.ingress.kubernetes.io/healthcheck-interval-seconds": "10",
        "alb.ingress.kubernetes.io/healthy-threshold-count": "2",
        "alb.ingress.kubernetes.io/unhealthy-threshold-count": "3",
        "alb.ingress.kubernetes.io/target-group-attributes": "deregistration_delay.timeout_seconds=15",
        "alb.ingress.kubernetes.io/load-balancer-attributes": "routing.http.drop_invalid_header_fields.enabled=true",
        "alb.ingress.kubernetes.io/listen-ports": i.certificateArn ? '[{"HTTP": 80}, {"HTTPS": 443}]' : '[{"HTTP": 80}]',
    };
    if (i.certificateArn) {
        annotations["alb.ingress.kubernetes.io/certificate-arn"] = i.certificateArn;
        annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443";
        annotations["alb.ingress.kubernetes.io/ssl-policy"] = SSL_POLICY;
    }
    Object.assign(annotations, i.extraAnnotations ?? {});
    return {
        metadata: { name: APP_OBJECT, namespace: i.namespace, labels: i.labels, annotations },
        spec: {
            ingressClassName: "alb",
            rules: [{
                ...(i.host ? { host: i.host } : {}),
                http: {
                    paths: [
                        // The app's rule stays behind it, so its target group and pods stay registered and healthy.
                        ...(i.maintenance ? [{ path: "/", pathType: "Prefix", backend: { service: { name: MAINTENANCE_ACTION, port: { name: "use-annotation" } } } }] : []),
                        { path: "/", pathType: "Prefix", backend: { service: { name: i.serviceName, port: { name: "http" } } } },
                    ],
                },
            }],
        },
    };
}

/** The registry entry: builds the component and maps it onto the outputs contract. */
export const eksTarget: Target = {
    name: "eks",
    deploy(args: TargetArgs, opts?: pulumi.ComponentResourceOptions): TargetOutputs {
        const t = new EksTarget(`${args.config.appName}-eks`, args, opts);
        return {
            url: t.url,
            healthUrl: t.healthUrl,
            endpoint: t.endpoint,
            ops: t.ops,
            operations: {
                logGroupName: t.logGroupName,
                repositoryUrl: t.repositoryUrl,
                platform: {
                    kind: "eks", clusterName: t.clusterName, namespace: t.namespace, deploymentName: APP_OBJECT, containerName: APP_OBJECT,
                    imageUri: t.imageUri, kubeconfig: t.kubeconfig, clusterOwnedByStack: true, addonVersions: t.addonVersions,
                },
            },
            release: t.release,
        };
    },
};
