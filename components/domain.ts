import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link Domain}. */
export interface DomainArgs {
    /** The name the app is served on, e.g. `app.example.com`. */
    readonly domainName: string;
    /** An existing public Route 53 hosted zone that contains `domainName`. */
    readonly zoneName: string;
}

/** Where an alias record points: a load balancer's (or Beanstalk environment's) DNS name and zone. */
export interface AliasTarget {
    readonly dnsName: pulumi.Input<string>;
    readonly zoneId: pulumi.Input<string>;
}

/**
 * The app's public name: an ACM certificate validated through DNS in an existing hosted zone, and
 * (via `alias`) the record that points the name at the platform's load balancer. Each target wires
 * the certificate into its HTTPS listener and redirects HTTP to HTTPS.
 */
export class Domain extends pulumi.ComponentResource {
    readonly domainName: string;
    readonly zoneId: pulumi.Output<string>;
    /** ARN of the certificate once ACM has issued it, so listeners never wait on a pending one. */
    readonly certificateArn: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: DomainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:domain:Domain", name, {}, opts);
        if (args.domainName !== args.zoneName && !args.domainName.endsWith(`.${args.zoneName}`)) {
            throw new Error(`Domain ${name}: domainName ${args.domainName} is not inside zone ${args.zoneName}`);
        }
        this.domainName = args.domainName;

        const zone = aws.route53.getZoneOutput({ name: args.zoneName, privateZone: false }, { parent: this });
        this.zoneId = zone.zoneId;

        const cert = new aws.acm.Certificate(`${name}-cert`, {
            domainName: args.domainName,
            validationMethod: "DNS",
        }, { parent: this });

        const option = cert.domainValidationOptions[0];
        const validationRecord = new aws.route53.Record(`${name}-cert-validation`, {
            zoneId: this.zoneId,
            name: option.resourceRecordName,
            type: option.resourceRecordType,
            records: [option.resourceRecordValue],
            ttl: 300,
            // ACM reuses the validation name for a re-issued certificate of the same domain.
            allowOverwrite: true,
        }, { parent: this });

        const validation = new aws.acm.CertificateValidation(`${name}-cert`, {
            certificateArn: cert.arn,
            validationRecordFqdns: [validationRecord.fqdn],
        }, { parent: this });

        this.certificateArn = validation.certificateArn;
        this.url = pulumi.output(`https://${args.domainName}`);
        this.registerOutputs({ zoneId: this.zoneId, certificateArn: this.certificateArn, url: this.url });
    }

    /** Points the domain at `target` with an A alias record. One per stack, owned by the stack, not a target. */
    alias(name: string, target: AliasTarget, opts?: pulumi.CustomResourceOptions): aws.route53.Record {
        return new aws.route53.Record(name, {
            zoneId: this.zoneId,
            name: this.domainName,
            type: "A",
            aliases: [{ name: target.dnsName, zoneId: target.zoneId, evaluateTargetHealth: true }],
        }, opts);
    }
}
