// Finding the public ALB of a target that did not create it with Pulumi (issue 13): Elastic
// Beanstalk's (made by its CloudFormation stack) and the AWS Load Balancer Controller's (made for
// the Ingress). Alarms, the dashboard, the WAF association and maintenance mode need its ARN
// suffix and its target group's.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LoadBalancerRef } from "../targets/types";

/** `arn:...:loadbalancer/app/<name>/<id>` -> `app/<name>/<id>`, CloudWatch's LoadBalancer dimension. */
export function loadBalancerArnSuffix(arn: string): string {
    const m = /:loadbalancer\/(app\/[^/]+\/[^/]+)$/.exec(arn);
    if (!m) {
        throw new Error(`${JSON.stringify(arn)} is not an Application Load Balancer ARN`);
    }
    return m[1];
}

/** `arn:...:targetgroup/<name>/<id>` -> `targetgroup/<name>/<id>`, CloudWatch's TargetGroup dimension. */
export function targetGroupArnSuffix(arn: string): string {
    const m = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(arn);
    if (!m) {
        throw new Error(`${JSON.stringify(arn)} is not a target group ARN`);
    }
    return m[1];
}

/**
 * The tags the Load Balancer Controller puts on what it makes for one Ingress: `elbv2.k8s.aws/cluster`
 * on everything, `ingress.k8s.aws/stack` = `<namespace>/<ingress>` on the Ingress's load balancer
 * and target groups (kubernetes-sigs/aws-load-balancer-controller PR #1469, "tagging strategy"),
 * and `ingress.k8s.aws/resource` = `<namespace>/<ingress>-<service>:<port>` on a target group
 * (pkg/ingress/model_build_target_group.go, buildTargetGroupResourceID).
 */
export function ingressTags(clusterName: string, namespace: string, ingressName: string): Record<string, string> {
    return { "elbv2.k8s.aws/cluster": clusterName, "ingress.k8s.aws/stack": `${namespace}/${ingressName}` };
}
export function ingressTargetGroupTags(clusterName: string, namespace: string, ingressName: string, serviceName: string, port: string): Record<string, string> {
    return { ...ingressTags(clusterName, namespace, ingressName), "ingress.k8s.aws/resource": `${namespace}/${ingressName}-${serviceName}:${port}` };
}

/** The ALB and target group the Load Balancer Controller made for an Ingress, looked up by tags once it exists. */
export function ingressLoadBalancer(args: {
    readonly clusterName: pulumi.Input<string>;
    readonly namespace: pulumi.Input<string>;
    readonly ingressName: string;
    readonly serviceName: string;
    readonly servicePort: string;
    /** The Ingress: the lookups wait for it (and so for its load balancer address). */
    readonly ingress: pulumi.Resource;
}, opts: pulumi.InvokeOutputOptions): LoadBalancerRef {
    const waitFor = { ...opts, dependsOn: [args.ingress] };
    const lb = aws.lb.getLoadBalancerOutput({
        tags: pulumi.all([args.clusterName, args.namespace]).apply(([c, ns]) => ingressTags(c, ns, args.ingressName)),
    }, waitFor);
    const tg = aws.lb.getTargetGroupOutput({
        tags: pulumi.all([args.clusterName, args.namespace]).apply(([c, ns]) => ingressTargetGroupTags(c, ns, args.ingressName, args.serviceName, args.servicePort)),
    }, waitFor);
    return { arn: lb.arn, arnSuffix: lb.arn.apply(loadBalancerArnSuffix), targetGroupArnSuffix: tg.arn.apply(targetGroupArnSuffix), targetGroupArn: tg.arn };
}

/**
 * Tags CloudFormation and Elastic Beanstalk put on the environment's default process's target
 * group: `elasticbeanstalk:environment-name` on every resource of the environment, and
 * CloudFormation's `aws:cloudformation:logical-id` (EB's template names it AWSEBV2LoadBalancerTargetGroup).
 */
export function beanstalkTargetGroupTags(environmentName: string): Record<string, string> {
    return { "elasticbeanstalk:environment-name": environmentName, "aws:cloudformation:logical-id": "AWSEBV2LoadBalancerTargetGroup" };
}

/**
 * Elastic Beanstalk's ALB: the environment's `loadBalancers` output (DescribeEnvironmentResources:
 * an application load balancer is listed by its ARN), and its default target group by tags.
 */
export function beanstalkLoadBalancer(env: aws.elasticbeanstalk.Environment, opts: pulumi.InvokeOutputOptions): LoadBalancerRef {
    const arn = env.loadBalancers.apply((list) => {
        const first = list?.[0];
        if (!first) {
            throw new Error("Elastic Beanstalk reported no load balancer for the environment; is it LoadBalanced with an application load balancer?");
        }
        return first;
    });
    const tg = aws.lb.getTargetGroupOutput({ tags: env.name.apply(beanstalkTargetGroupTags) }, { ...opts, dependsOn: [env] });
    return { arn, arnSuffix: arn.apply(loadBalancerArnSuffix), targetGroupArnSuffix: tg.arn.apply(targetGroupArnSuffix), targetGroupArn: tg.arn };
}
