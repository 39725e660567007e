// Maintenance mode (issue 13, source document 001's wish): the public endpoint answers 503 with a
// static page while the app keeps running, switched by config and applied at the load balancer,
// so neither turning it on nor off redeploys the app. Load balancer health checks go to the
// targets directly, not through listener rules, so targets stay healthy and registered throughout.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The Ingress action name (alb.ingress.kubernetes.io/actions.<name>) that answers the page on EKS. */
export const MAINTENANCE_ACTION = "maintenance";
/** Rules are evaluated lowest priority first (1 is the first); the app's traffic is the listener's default action. */
export const MAINTENANCE_PRIORITY = 1;
/** An ALB fixed response carries at most 1024 characters (ELB API, FixedResponseActionConfig.MessageBody). */
export const FIXED_RESPONSE_MAX = 1024;

/** The static page: self-contained, no external assets (the app is not serving). */
export function maintenancePage(appName: string): string {
    const safe = appName.replace(/[^a-z0-9-]/gi, "");
    const page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Down for maintenance</title>"
        + "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        + "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>"
        + `<body><h1>Down for maintenance</h1><p>${safe} is being updated and will be back shortly. Please try again in a few minutes.</p></body></html>`;
    if (page.length > FIXED_RESPONSE_MAX) {
        throw new Error(`maintenance page is ${page.length} characters; an ALB fixed response allows ${FIXED_RESPONSE_MAX}`);
    }
    return page;
}

/** The fixed-response action, in the shape the ELB API and the Load Balancer Controller's annotation share. */
export function maintenanceResponse(appName: string): { contentType: string; statusCode: string; messageBody: string } {
    return { contentType: "text/html", statusCode: "503", messageBody: maintenancePage(appName) };
}

/**
 * Ingress annotations for the Load Balancer Controller (docs/guide/ingress/annotations.md):
 * `wafv2-acl-arn` associates the web ACL with the Ingress's ALB, or with `none` disassociates it
 * (the controller's IAM policy allows wafv2:AssociateWebACL and DisassociateWebACL, targets/iam/), and `actions.<name>` defines the fixed response a
 * rule whose backend is `<name>:use-annotation` answers.
 */
export function ingressOperationsAnnotations(i: { webAclArn?: pulumi.Input<string>; maintenance: boolean; appName: string }): Record<string, pulumi.Input<string>> {
    // "none" when off: the controller leaves an ACL associated while the annotation is absent (a
    // fix for detaching ACLs others attached, v2.8.2), so turning `waf` off must say so explicitly.
    const annotations: Record<string, pulumi.Input<string>> = { "alb.ingress.kubernetes.io/wafv2-acl-arn": i.webAclArn ?? "none" };
    if (i.maintenance) {
        annotations[`alb.ingress.kubernetes.io/actions.${MAINTENANCE_ACTION}`] = JSON.stringify({ type: "fixed-response", fixedResponseConfig: maintenanceResponse(i.appName) });
    }
    return annotations;
}

/** Arguments of {@link MaintenanceRule}. */
export interface MaintenanceRuleArgs {
    readonly appName: string;
    /** The ALB whose serving listener gets the rule. */
    readonly loadBalancerArn: pulumi.Input<string>;
    /** The listener that serves the app: 443 with a domain (80 only redirects then), else 80. */
    readonly port: number;
    /** The load balancer's resources: the listener lookup waits for them, and the rule goes before them. */
    readonly dependsOn?: pulumi.Resource[];
}

/**
 * A listener rule at the top priority that answers every path with the maintenance page, on an
 * ALB the stack did not create as a listener of its own (Elastic Beanstalk's, the awsx ALB's):
 * the listener is found by load balancer and port.
 */
export class MaintenanceRule extends pulumi.ComponentResource {
    readonly ruleArn: pulumi.Output<string>;

    constructor(name: string, args: MaintenanceRuleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:maintenance:MaintenanceRule", name, {}, opts);
        if (args.port !== 80 && args.port !== 443) {
            throw new Error(`MaintenanceRule ${name}: port must be 80 or 443 (got ${args.port})`);
        }
        const listener = aws.lb.getListenerOutput({ loadBalancerArn: args.loadBalancerArn, port: args.port }, { parent: this, dependsOn: args.dependsOn ?? [] });
        const rule = new aws.lb.ListenerRule(`${name}-rule`, {
            listenerArn: listener.arn,
            priority: MAINTENANCE_PRIORITY,
            conditions: [{ pathPattern: { values: ["/*"] } }],
            actions: [{ type: "fixed-response", fixedResponse: maintenanceResponse(args.appName) }],
        }, { parent: this, dependsOn: args.dependsOn ?? [] });
        this.ruleArn = rule.arn;
        this.registerOutputs({ ruleArn: this.ruleArn });
    }
}
