// target: eks into an existing cluster (issue 16 §2, `eksExistingCluster`): the app's image and
// Kubernetes objects only, in a namespace of its own; no cluster, nodes, add-ons or controllers.
// What the cluster must already have (docs/bring-your-own-app.md, "An existing EKS cluster"): an access entry for each
// role that runs `pulumi up`, the AWS Load Balancer Controller (IngressClass `alb`), metrics-server
// for the HPA, and nodes in the cluster security group (the database admits that group).
// The app's objects are the same as on a cluster of our own: the Deployment and Ingress come from
// targets/eks.ts (appDeployment, appIngress), so both modes run the same pod.
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ContainerImage } from "../components/containerImage";
import { ingressOperationsAnnotations } from "../components/maintenance";
import { ingressLoadBalancer } from "../lib/loadBalancers";
import { APP_OBJECT, appIngress, appWorkload } from "./eks";
import { TargetArgs, TargetOps, TargetOutputs, TargetRelease } from "./types";

/** Arguments of {@link SharedClusterApp}: the common target arguments; `config.eks.existingCluster` names the cluster. */
export type SharedClusterAppArgs = TargetArgs;

/** The kubeconfig pulumi-eks writes for its clusters: a token from `aws eks get-token`, never a stored credential. */
export function execKubeconfig(clusterName: string, endpoint: string, caData: string, region: string, profile?: string): string {
    // With the stack's aws:profile, the token is that profile's identity, the one the AWS provider
    // deploys with (as pulumi-eks does: the exec entry's env carries AWS_PROFILE); the exec
    // credential plugin's `env` is client-go's ExecConfig.Env.
    const env = profile ? { env: [{ name: "AWS_PROFILE", value: profile }] } : {};
    return JSON.stringify({
        apiVersion: "v1", kind: "Config", "current-context": "aws",
        clusters: [{ name: "kubernetes", cluster: { server: endpoint, "certificate-authority-data": caData } }],
        contexts: [{ name: "aws", context: { cluster: "kubernetes", user: "aws" } }],
        users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["--region", region, "eks", "get-token", "--cluster-name", clusterName, "--output", "json"], ...env } } }],
    });
}

/** The app on an existing EKS cluster. */
export class SharedClusterApp extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    readonly kubeconfig: pulumi.Output<string>;
    readonly imageUri: pulumi.Output<string>;
    readonly namespace: pulumi.Output<string>;
    /** The ECR repository the image is pushed to (issue 16 §5). */
    readonly repositoryUrl: pulumi.Output<string>;
    /**
     * Where the pods' stdout lands if the cluster runs the CloudWatch Observability add-on (its
     * Fluent Bit writes `/aws/containerinsights/<cluster>/application`, CloudWatch User Guide,
     * Container-Insights-setup-logs-FluentBit); the cluster's owner decides, the stack cannot check.
     */
    readonly logGroupName: pulumi.Output<string>;
    readonly endpoint: TargetOutputs["endpoint"];
    /** The image tag the Deployment runs (APP_RELEASE) and how to check it (issue 11 §3). */
    readonly release: TargetRelease;
    /** The controller's ALB (found by its tags) and the app's pods, for the stack's operations (issue 13). */
    readonly ops: TargetOps;

    constructor(name: string, args: SharedClusterAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:eks:SharedClusterApp", name, {}, opts);
        const { config, network, database, domain } = args;
        const clusterName = config.eks.existingCluster;
        if (clusterName === undefined) {
            throw new Error("SharedClusterApp: config.eks.existingCluster is not set");
        }
        const prefix = config.namePrefix;
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

        // The cluster as EKS describes it (eks:DescribeCluster). It must sit in the adopted VPC: the
        // database and the load balancer's subnets are there.
        const cluster = aws.eks.getClusterOutput({ name: clusterName }, { parent: this });
        const checked = pulumi.all([cluster.vpcConfig.vpcId, network.vpcId, cluster.accessConfigs]).apply(([clusterVpc, vpc, access]) => {
            if (clusterVpc !== vpc) {
                throw new Error(`eksExistingCluster ${clusterName} is in ${clusterVpc}, but existingVpcId is ${vpc}: set existingVpcId and its subnets to the cluster's VPC`);
            }
            const mode = access?.[0]?.authenticationMode;
            if (mode !== undefined && mode === "CONFIG_MAP") {
                throw new Error(`eksExistingCluster ${clusterName} uses authenticationMode CONFIG_MAP: give the deployer roles access through access entries (API or API_AND_CONFIG_MAP), docs/bring-your-own-app.md "An existing EKS cluster"`);
            }
            return clusterVpc;
        });
        const kubeconfig = pulumi.all([cluster.endpoint, cluster.certificateAuthorities, region, checked])
            .apply(([endpoint, cas, r]) => execKubeconfig(clusterName, endpoint, cas[0]?.data ?? "", r, config.image.awsProfile));
        const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig, enableServerSideApply: true }, { parent: this });
        const k8sOpts = { parent: this, provider };

        // Pods of managed node groups run in the cluster security group (EKS User Guide,
        // sec-group-reqs), which the database admits. Nodes in other groups, or security groups for
        // pods, need that group admitted instead (docs/bring-your-own-app.md).
        database.allowFrom(`${name}-db-access`, cluster.vpcConfig.clusterSecurityGroupId, { parent: this });

        // One namespace per app and stack: two stacks of one app can share the cluster.
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, {
            metadata: { name: prefix, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
        }, k8sOpts);
        const namespace = ns.metadata.name;

        // The same workload as on a cluster of the stack's own; the cluster's controllers are already there.
        const { labels, deployment, service } = appWorkload({ name, parent: this, k8sOpts, config, database, namespace, prefix, image });
        const ingress = new k8s.networking.v1.Ingress(`${name}-ingress`, appIngress({
            namespace, labels, serviceName: service.metadata.name, certificateArn: domain?.certificateArn, host: config.domain?.name,
            // issue 13: WAF and maintenance mode reach the controller's ALB through the Ingress.
            extraAnnotations: ingressOperationsAnnotations({ webAclArn: args.webAclArn, maintenance: config.operations.maintenanceMode, appName: config.appName }),
            maintenance: config.operations.maintenanceMode,
            healthPath: config.app.healthPath,
        }), k8sOpts);
        const albHostname = ingress.status.loadBalancer.ingress.apply((list) => {
            const host = list?.[0]?.hostname;
            if (!host) {
                throw new Error(`SharedClusterApp: the ingress ${APP_OBJECT} got no load balancer address; is the AWS Load Balancer Controller running in ${clusterName}?`);
            }
            return host;
        });

        this.endpoint = { dnsName: albHostname, zoneId: aws.lb.getHostedZoneIdOutput({ loadBalancerType: "application" }, { parent: this }).id };
        this.ops = {
            loadBalancer: ingressLoadBalancer({
                clusterName: pulumi.output(clusterName), namespace, ingressName: APP_OBJECT, serviceName: APP_OBJECT, servicePort: "http", ingress,
            }, { parent: this }),
            component: this,
            stackOwnsListenerRules: false,
            servingPort: domain ? 443 : 80,
            platform: { kind: "eks", clusterName: pulumi.output(clusterName), namespace, serviceName: APP_OBJECT, deploymentName: APP_OBJECT, clusterOwnedByStack: false },
            dependsOn: [ingress],
        };
        // The Deployment's await (pulumi-kubernetes) waits for the rollout; the Ingress for its ALB.
        this.release = {
            value: image.tag,
            platform: "Kubernetes (the rollout did not complete)",
            eventsCommand: pulumi.interpolate`aws eks update-kubeconfig --name ${clusterName} --region ${region}; kubectl rollout status deployment/${deployment.metadata.name} -n ${namespace} --timeout=60s; kubectl get events -n ${namespace} --sort-by=.lastTimestamp`,
            rollout: [deployment, ingress],
        };
        this.url = domain ? domain.url : pulumi.interpolate`http://${albHostname}`;
        this.healthUrl = pulumi.interpolate`${this.url}${config.app.healthPath}`;
        this.clusterName = pulumi.output(clusterName);
        this.kubeconfig = pulumi.secret(kubeconfig);
        this.imageUri = image.imageUri;
        this.repositoryUrl = image.repositoryUrl;
        this.logGroupName = pulumi.output(`/aws/containerinsights/${clusterName}/application`);
        this.namespace = namespace;
        this.registerOutputs({
            url: this.url, healthUrl: this.healthUrl, clusterName: this.clusterName, kubeconfig: this.kubeconfig,
            imageUri: this.imageUri, namespace: this.namespace, repositoryUrl: this.repositoryUrl, logGroupName: this.logGroupName,
        });
    }
}

/** The outputs contract for the shared-cluster mode (targets/eks.ts eksTarget delegates here). */
export function deploySharedCluster(args: TargetArgs, opts?: pulumi.ComponentResourceOptions): TargetOutputs {
    const t = new SharedClusterApp(`${args.config.appName}-eks-shared`, args, opts);
    return {
        url: t.url,
        healthUrl: t.healthUrl,
        endpoint: t.endpoint,
        ops: t.ops,
        release: t.release,
        operations: {
            logGroupName: t.logGroupName,
            repositoryUrl: t.repositoryUrl,
            platform: {
                kind: "eks", clusterName: t.clusterName, namespace: t.namespace, deploymentName: APP_OBJECT, containerName: APP_OBJECT,
                imageUri: t.imageUri, kubeconfig: t.kubeconfig, clusterOwnedByStack: false,
            },
        },
    };
}
