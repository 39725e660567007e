import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link ArtifactBucket}. */
export interface ArtifactBucketArgs {
    /** Prefix of the bucket's physical name (a random suffix keeps it globally unique). */
    readonly namePrefix: string;
    /** Days an overwritten or deleted object's old version is kept before S3 expires it. */
    readonly noncurrentVersionDays?: number;
    /** Let `pulumi destroy` delete a bucket that still holds artifacts (dev stacks). */
    readonly forceDestroy?: boolean;
}

/**
 * A private bucket for deployment artifacts: versioned, encrypted at rest, public access blocked,
 * ACLs disabled, and reachable only over TLS.
 */
export class ArtifactBucket extends pulumi.ComponentResource {
    readonly bucket: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;

    constructor(name: string, args: ArtifactBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:storage:ArtifactBucket", name, {}, opts);
        const noncurrentDays = args.noncurrentVersionDays ?? 30;
        if (noncurrentDays < 1) {
            throw new Error(`ArtifactBucket ${name}: noncurrentVersionDays must be at least 1 (got ${noncurrentDays})`);
        }

        const bucket = new aws.s3.Bucket(name, {
            bucketPrefix: `${args.namePrefix}-`,
            forceDestroy: args.forceDestroy ?? false,
        }, { parent: this });

        const publicAccess = new aws.s3.BucketPublicAccessBlock(name, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, { parent: this });

        new aws.s3.BucketOwnershipControls(name, {
            bucket: bucket.id,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        }, { parent: this });

        new aws.s3.BucketServerSideEncryptionConfiguration(name, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }, { parent: this });

        const versioning = new aws.s3.BucketVersioning(name, {
            bucket: bucket.id,
            versioningConfiguration: { status: "Enabled" },
        }, { parent: this });

        new aws.s3.BucketLifecycleConfiguration(name, {
            bucket: bucket.id,
            rules: [{
                id: "expire-old-versions",
                status: "Enabled",
                filter: {},
                noncurrentVersionExpiration: { noncurrentDays },
                abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            }],
        }, { parent: this, dependsOn: [versioning] });

        new aws.s3.BucketPolicy(name, {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                }],
            }),
        }, { parent: this, dependsOn: [publicAccess] });

        this.bucket = bucket.bucket;
        this.arn = bucket.arn;
        this.registerOutputs({ bucket: this.bucket, arn: this.arn });
    }
}
