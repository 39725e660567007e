// The stack's web application firewall (issue 13): one WAFv2 web ACL with AWS's managed rule groups
// and a per-IP rate limit, in front of whichever load balancer serves. Stack-level, so a target
// switch moves only the association.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link WebFirewall}. */
export interface WebFirewallArgs {
    /** Physical-name prefix; the ACL is `<prefix>-waf`. */
    readonly namePrefix: string;
    /** Requests one IP may send in 5 minutes before it is blocked. */
    readonly rateLimit: number;
    /**
     * Paths the rate limit never counts: the app's shallow health path (appHealthPath). Default
     * /health. Not the readiness path: it queries the database, so exempting it would let one IP
     * send unlimited database pings past the WAF. Load balancer health checks go to the targets
     * directly, never through the listener or the WAF (ALB User Guide, target-group-health-checks),
     * and container and Kubernetes probes run inside the platform, so only outside pollers (the
     * release check, uptime monitors) ever reach these paths through the WAF.
     */
    readonly unlimitedPaths?: readonly string[];
}

/**
 * AWS managed rule groups, in evaluation order (AWS WAF Developer Guide, aws-managed-rule-groups-list):
 * known-bad IPs first (cheapest to reject), then the common rule set (OWASP-style: bad bots, size
 * limits, XSS, LFI/RFI), then known bad inputs (Log4j, Java deserialization, localhost Host headers).
 */
export const MANAGED_RULE_GROUPS = ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] as const;

/**
 * A WAF regex (PCRE, AWS WAF Developer Guide, waf-regex-pattern-support) matching exactly `paths`:
 * the ones load balancer and Kubernetes checks call, which the rate limit never counts.
 */
export function unlimitedPathsRegex(paths: readonly string[]): string {
    const escaped = paths.map((p) => p.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&"));
    return `^(${[...new Set(escaped)].join("|")})$`;
}

/** The bundled app's health path (appHealthPath's default). */
export const UNLIMITED_PATHS_REGEX = unlimitedPathsRegex(["/health"]);

/** AWS WAF's rate-based rule accepts 10 to 2,000,000,000 requests per evaluation window (WAF API, RateBasedStatement.Limit). */
export const RATE_LIMIT_RANGE = [10, 2_000_000_000] as const;

function visibility(metricName: string): aws.types.input.wafv2.WebAclRuleVisibilityConfig {
    // Metrics per rule and sampled requests, so a block can be explained from the console.
    return { cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

/** The ACL's rules: the managed groups, then the rate limit with its scope-down excluding the health paths. */
export function webAclRules(rateLimit: number, unlimitedPaths: readonly string[] = ["/health"]): aws.types.input.wafv2.WebAclRule[] {
    if (!Number.isInteger(rateLimit) || rateLimit < RATE_LIMIT_RANGE[0] || rateLimit > RATE_LIMIT_RANGE[1]) {
        throw new Error(`WAF rate limit must be a whole number from ${RATE_LIMIT_RANGE[0]} to ${RATE_LIMIT_RANGE[1]} (got ${rateLimit})`);
    }
    const managed = MANAGED_RULE_GROUPS.map((group, i): aws.types.input.wafv2.WebAclRule => ({
        name: `AWS-${group}`,
        priority: i,
        // The group's own actions (block) apply; `count` here would only observe.
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group } },
        visibilityConfig: visibility(`AWS-${group}`),
    }));
    const rate: aws.types.input.wafv2.WebAclRule = {
        name: "rate-limit-per-ip",
        priority: managed.length,
        action: { block: {} },
        statement: {
            rateBasedStatement: {
                limit: rateLimit,
                aggregateKeyType: "IP",
                evaluationWindowSec: 300,
                // Only requests that are NOT health or readiness checks count towards the limit.
                scopeDownStatement: {
                    notStatement: {
                        statement: {
                            regexMatchStatement: {
                                regexString: unlimitedPathsRegex(unlimitedPaths),
                                fieldToMatch: { uriPath: {} },
                                textTransformations: [{ priority: 0, type: "NONE" }],
                            },
                        },
                    },
                },
            },
        },
        visibilityConfig: visibility("rate-limit-per-ip"),
    };
    return [...managed, rate];
}

/** A REGIONAL WAFv2 web ACL that allows by default and blocks what its rules match. */
export class WebFirewall extends pulumi.ComponentResource {
    readonly arn: pulumi.Output<string>;
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: WebFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:waf:WebFirewall", name, {}, opts);
        const rules = webAclRules(args.rateLimit, args.unlimitedPaths);
        const acl = new aws.wafv2.WebAcl(`${name}-acl`, {
            name: `${args.namePrefix}-waf`,
            description: `Managed rules and a per-IP rate limit in front of ${args.namePrefix}`,
            // REGIONAL: for Application Load Balancers (CLOUDFRONT is for distributions only).
            scope: "REGIONAL",
            defaultAction: { allow: {} },
            rules,
            visibilityConfig: visibility(`${args.namePrefix}-waf`),
        }, { parent: this });
        this.arn = acl.arn;
        this.name = acl.name;
        this.registerOutputs({ arn: this.arn, name: this.name });
    }

    /**
     * Associates the ACL with a load balancer the stack attaches to itself (Beanstalk's, the ECS
     * ALB). A target switch changes `resourceArn`, which replaces the association (create first).
     */
    associate(name: string, loadBalancerArn: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions): aws.wafv2.WebAclAssociation {
        return new aws.wafv2.WebAclAssociation(name, { resourceArn: loadBalancerArn, webAclArn: this.arn }, pulumi.mergeOptions(opts, { parent: this }));
    }
}
