import * as pulumi from "@pulumi/pulumi";
import { Database } from "../components/database";
import { Domain } from "../components/domain";
import { Network } from "../components/network";
import { StackConfig, TargetName } from "../config";

/** What every target receives: the validated config and the stack-level pieces it must not own. */
export interface TargetArgs {
    readonly config: StackConfig;
    readonly network: Network;
    readonly database: Database;
    /** Present when `domainName` is configured. */
    readonly domain?: Domain;
    /**
     * issue 13: the stack's WAF web ACL, when `waf` is on. Targets whose load balancer a controller
     * makes (EKS) hand it on to that controller; the others leave the association to the stack.
     */
    readonly webAclArn?: pulumi.Output<string>;
    /** The Flask app's source directory (bundle or image build context). */
    readonly appDir: string;
    /** Scratch directory for build artifacts such as the bundle zip (outside the checkout). */
    readonly buildDir: string;
}

/** The outputs contract: the same for every platform, so moving an app keeps dashboards and scripts working. */
export interface TargetOutputs {
    /** Where users reach the app (https://domain when a domain is configured). */
    readonly url: pulumi.Output<string>;
    /** The shallow health endpoint every load balancer checks. */
    readonly healthUrl: pulumi.Output<string>;
    /**
     * The public endpoint's DNS name and Route 53 zone. The stack points the domain at it with one
     * alias record that outlives targets: a target switch updates that record in place (two records
     * for one name cannot coexist during the switch).
     */
    readonly endpoint: { readonly dnsName: pulumi.Output<string>; readonly zoneId: pulumi.Output<string> };
    /** issue 13: what the stack's alarms, dashboard, WAF and maintenance mode need of this target. */
    readonly ops: TargetOps;
    /** issue 16 §5: what an operator needs of this target, under the same keys on every target. */
    readonly operations: TargetOperations;
    /** What this deploy runs and how to check it on the live endpoint (issue 11 §3). */
    readonly release: TargetRelease;
}

/** The release a target rolls out, for the post-deploy check (components/releaseVerification.ts). */
export interface TargetRelease {
    /** The value the target sets in the app's APP_RELEASE, which GET /health reports. */
    readonly value: pulumi.Output<string>;
    /** Who rolls a failed deploy back, for the failure message. */
    readonly platform: string;
    /** The command that shows the platform's events, for the failure message. */
    readonly eventsCommand: pulumi.Output<string>;
    /** Resources whose completion means the platform finished rolling the release out. */
    readonly rollout: readonly pulumi.Resource[];
}

export interface Target {
    readonly name: TargetName;
    /** Builds the platform inside one ComponentResource and returns the outputs contract. */
    deploy(args: TargetArgs, opts?: pulumi.ComponentResourceOptions): TargetOutputs;
}

/** The public Application Load Balancer, whichever target made it (issue 13). */
export interface LoadBalancerRef {
    readonly arn: pulumi.Output<string>;
    /** `app/<name>/<id>`: CloudWatch's `LoadBalancer` dimension. */
    readonly arnSuffix: pulumi.Output<string>;
    /** `targetgroup/<name>/<id>` of the app's target group: CloudWatch's `TargetGroup` dimension. */
    readonly targetGroupArnSuffix: pulumi.Output<string>;
    /** The app's target group (issue 16 §5: `aws elbv2 describe-target-health`). */
    readonly targetGroupArn: pulumi.Output<string>;
}

/** Where each platform reports the app's own health (issue 13). */
export type PlatformSignals =
    | { readonly kind: "beanstalk"; readonly environmentName: pulumi.Output<string>; readonly autoScalingGroupName: pulumi.Output<string> }
    | { readonly kind: "ecs"; readonly clusterName: pulumi.Output<string>; readonly serviceName: pulumi.Output<string>; readonly serviceArn: pulumi.Output<string> }
    | {
        readonly kind: "eks"; readonly clusterName: pulumi.Output<string>; readonly namespace: pulumi.Output<string>; readonly serviceName: string; readonly deploymentName: string;
        /** False on a shared cluster (eksExistingCluster): its Container Insights add-on, and so the pod metrics, are its owner's. */
        readonly clusterOwnedByStack: boolean;
    };

export interface TargetOps {
    readonly loadBalancer: LoadBalancerRef;
    /**
     * Whether the stack attaches the WAF web ACL and the maintenance listener rule to the load
     * balancer itself (Beanstalk, ECS); false where the Load Balancer Controller owns the ALB's
     * listeners and associations and takes both from Ingress annotations (EKS).
     */
    readonly stackOwnsListenerRules: boolean;
    /** Port of the listener that serves the app (443 with a domain; 80 redirects then). */
    readonly servingPort: number;
    readonly platform: PlatformSignals;
    /** The target's component: alarms on the platform's own signals go with it on a switch. */
    readonly component: pulumi.ComponentResource;
    /** Resources the load balancer lookups must wait for (the environment, the ALB, the Ingress). */
    readonly dependsOn: pulumi.Resource[];
}

/**
 * issue 16 §5: the target's part of the operations contract (program.ts adds the stack-level keys;
 * docs/operate.md uses each). The same keys on every target, so one runbook serves all three.
 */
export interface TargetOperations {
    /** The CloudWatch Logs group the app's stdout/stderr goes to (`aws logs tail <group> --follow`). */
    readonly logGroupName: pulumi.Output<string>;
    /**
     * Where deploys put the app's artifact: the ECR repository URL on ECS and EKS
     * (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`), and on Beanstalk the bundle bucket's
     * prefix as an S3 URL (`s3://<bucket>/bundles/`): Beanstalk runs no image, its artifact is a zip.
     */
    readonly repositoryUrl: pulumi.Output<string>;
    /** The platform's own names (environment; cluster and service; cluster and namespace), under `kind`. */
    readonly platform: PlatformNames;
}

/** A target's own names, exported as the `platform` output; `kind` says which keys follow. */
export type PlatformNames =
    | {
        readonly kind: "beanstalk"; readonly environmentName: pulumi.Output<string>; readonly applicationName: pulumi.Output<string>;
        readonly versionLabel: pulumi.Output<string>; readonly bundleBucket: pulumi.Output<string>; readonly solutionStack: pulumi.Output<string>;
    }
    | {
        readonly kind: "ecs"; readonly clusterName: pulumi.Output<string>; readonly serviceName: pulumi.Output<string>; readonly containerName: string;
        readonly imageUri: pulumi.Output<string>; readonly loadBalancerDnsName: pulumi.Output<string>; readonly execEnabled: boolean;
    }
    | {
        readonly kind: "eks"; readonly clusterName: pulumi.Output<string>; readonly namespace: pulumi.Output<string>; readonly deploymentName: string;
        readonly containerName: string; readonly imageUri: pulumi.Output<string>; readonly kubeconfig: pulumi.Output<string>;
        /** False for `eksExistingCluster`: the cluster (and whether it ships container logs) is its owner's. */
        readonly clusterOwnedByStack: boolean;
        readonly addonVersions?: pulumi.Output<Record<string, string>>;
    };
