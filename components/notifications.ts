// The stack's one alarm topic (issue 13): every alarm and event rule of the stack publishes here,
// whichever target runs, so subscribers never change on a target switch.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link Notifications}. */
export interface NotificationsArgs {
    /** Physical-name prefix, e.g. `flask-app-prod`; the topic is `<prefix>-alarms`. */
    readonly namePrefix: string;
    /** Email addresses to subscribe (each confirms the mail AWS sends before it receives anything). */
    readonly emails?: readonly string[];
    /** An HTTPS endpoint to subscribe (it must confirm the subscription). */
    readonly httpsEndpoint?: string;
    /** `pulumi destroy` waits this many days before the key is deleted (7-30). */
    readonly keyDeletionWindowDays?: number;
}

/** Principals that publish to the topic: CloudWatch alarms and EventBridge rules. */
export const PUBLISHERS = { cloudwatch: "cloudwatch.amazonaws.com", events: "events.amazonaws.com" } as const;

/** CloudWatch held to this account's alarms, in the key policy and the topic policy alike. */
function alarmsOfThisAccount(account: string, region: string, partition: string): Record<string, Record<string, string>> {
    return {
        StringEquals: { "aws:SourceAccount": account },
        ArnLike: { "aws:SourceArn": `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
    };
}

/**
 * The key policy of the topic's key. A customer managed key, because CloudWatch and EventBridge
 * must be allowed to use it and the AWS managed `alias/aws/sns` key's policy cannot be changed
 * to allow them: "the AWS managed key for Amazon SNS ... you can't modify its policy", so an
 * alarm publishing to a topic encrypted with it fails (SNS Developer Guide, sns-key-management.html,
 * "Enable compatibility between event sources from AWS services and encrypted topics": give the
 * service principal kms:Decrypt and kms:GenerateDataKey* in a customer managed key's policy; the
 * CloudWatch User Guide's alarm notification troubleshooting says the same for alarms).
 * CloudWatch is held to this account's alarms (aws:SourceAccount, aws:SourceArn); EventBridge is
 * not, because its KMS requests carry neither key and a condition on them would deny every
 * event (same SNS page, the EventBridge row).
 */
export function topicKeyPolicy(account: string, region: string, partition = "aws"): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                // Without this statement IAM policies cannot grant use of the key at all.
                Sid: "AccountAdministersKey",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: PUBLISHERS.cloudwatch },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: alarmsOfThisAccount(account, region, partition),
            },
            {
                Sid: "EventBridgeRulesPublish",
                Effect: "Allow",
                Principal: { Service: PUBLISHERS.events },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
            },
        ],
    });
}

/** The topic policy: the account as by default, CloudWatch alarms and EventBridge rules of this account. */
export function topicPolicy(topicArn: string, account: string, region: string, partition = "aws"): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountPublishes",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],
                Resource: topicArn,
            },
            {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: PUBLISHERS.cloudwatch },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: alarmsOfThisAccount(account, region, partition),
            },
            {
                // EventBridge's SNS target needs a resource policy (EventBridge User Guide,
                // eb-use-resource-based.html#eb-sns-permissions); held to this account's rules.
                Sid: "EventBridgeRulesPublish",
                Effect: "Allow",
                Principal: { Service: PUBLISHERS.events },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { ArnLike: { "aws:SourceArn": `arn:${partition}:events:${region}:${account}:rule/*` } },
            },
        ],
    });
}

/**
 * One SNS topic per stack, encrypted with its own key, with the configured subscriptions.
 * Stack-level: named after the stack, never the target.
 */
export class Notifications extends pulumi.ComponentResource {
    readonly topicArn: pulumi.Output<string>;
    readonly topicName: pulumi.Output<string>;
    readonly keyArn: pulumi.Output<string>;

    constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:notifications:Notifications", name, {}, opts);
        const emails = args.emails ?? [];
        for (const email of emails) {
            if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(email)) {
                throw new Error(`Notifications ${name}: ${JSON.stringify(email)} is not an email address`);
            }
        }
        if (args.httpsEndpoint !== undefined && !args.httpsEndpoint.startsWith("https://")) {
            throw new Error(`Notifications ${name}: httpsEndpoint must be an https:// URL (got ${JSON.stringify(args.httpsEndpoint)})`);
        }
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const partition = identity.arn.apply((arn) => arn.split(":")[1]);

        const key = new aws.kms.Key(`${name}-key`, {
            description: `Encrypts the ${args.namePrefix} alarm topic; CloudWatch and EventBridge may use it to publish`,
            enableKeyRotation: true,
            deletionWindowInDays: args.keyDeletionWindowDays ?? 7,
            policy: pulumi.all([identity.accountId, region, partition]).apply(([account, r, p]) => topicKeyPolicy(account, r, p)),
        }, { parent: this });
        new aws.kms.Alias(`${name}-key`, { name: `alias/${args.namePrefix}-alarms`, targetKeyId: key.keyId }, { parent: this });

        const topic = new aws.sns.Topic(`${name}-topic`, {
            name: `${args.namePrefix}-alarms`,
            displayName: `${args.namePrefix} alarms`,
            kmsMasterKeyId: key.arn,
        }, { parent: this });
        new aws.sns.TopicPolicy(`${name}-topic`, {
            arn: topic.arn,
            policy: pulumi.all([topic.arn, identity.accountId, region, partition]).apply(([arn, account, r, p]) => topicPolicy(arn, account, r, p)),
        }, { parent: this });

        // Keyed by address, so reordering the list replaces nothing.
        for (const email of emails) {
            new aws.sns.TopicSubscription(`${name}-email-${email.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`, {
                topic: topic.arn, protocol: "email", endpoint: email,
            }, { parent: this });
        }
        if (args.httpsEndpoint !== undefined) {
            new aws.sns.TopicSubscription(`${name}-https`, {
                topic: topic.arn, protocol: "https", endpoint: args.httpsEndpoint,
                // Retried for about 20 minutes by AWS until the endpoint confirms.
                endpointAutoConfirms: false,
            }, { parent: this });
        }

        this.topicArn = topic.arn;
        this.topicName = topic.name;
        this.keyArn = key.arn;
        this.registerOutputs({ topicArn: this.topicArn, topicName: this.topicName, keyArn: this.keyArn });
    }
}
