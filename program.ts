// The whole program, as a function so the CLI (index.ts), the offline plan and the tests all run
// exactly the same code.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Dashboard } from "./components/dashboard";
import { Database } from "./components/database";
import { Domain } from "./components/domain";
import { MaintenanceRule } from "./components/maintenance";
import { Monitoring } from "./components/monitoring";
import { Network } from "./components/network";
import { Notifications } from "./components/notifications";
import { PlatformAlarms } from "./components/platformAlarms";
import { ReleaseVerification } from "./components/releaseVerification";
import { WebFirewall } from "./components/waf";
import { loadConfig } from "./config";
import { applyIamGuardrails } from "./lib/iamGuardrails";
import { scratchDir } from "./lib/scratch";
import { applyStackTags } from "./lib/tags";
import { getTarget, implementedTargets } from "./targets";
import { TargetOperations } from "./targets/types";

/**
 * The stack outputs: one operations contract, the same keys on every target (issue 16 §5,
 * docs/operate.md). A type, not an interface: the harness takes it as Record<string, unknown>.
 */
export type StackOutputs = {
    readonly target: string;
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly release: pulumi.Output<string>;
    readonly region: pulumi.Output<string>;
    readonly logGroupName: TargetOperations["logGroupName"];
    readonly loadBalancerArn: pulumi.Output<string>;
    readonly targetGroupArn: pulumi.Output<string>;
    readonly repositoryUrl: TargetOperations["repositoryUrl"];
    readonly vpcId: pulumi.Output<string>;
    readonly databaseEndpoint: pulumi.Output<string>;
    readonly databaseHost: pulumi.Output<string>;
    readonly databasePort: pulumi.Output<number>;
    readonly databaseName: string;
    readonly databaseSecretArn: pulumi.Output<string>;
    readonly alarmTopicArn: pulumi.Output<string>;
    readonly dashboardUrl: pulumi.Output<string>;
    /** Only with `waf` on. */
    readonly webAclArn?: pulumi.Output<string>;
    readonly maintenanceMode: boolean;
    readonly platform: TargetOperations["platform"];
};

export interface ProgramOptions {
    /** The Flask app to ship; tests point this at a modified copy. */
    readonly appDir?: string;
    /** Where build artifacts (the bundle zip) are written; by default a temporary directory removed at exit (lib/scratch.ts). */
    readonly buildDir?: string;
}

export function program(options: ProgramOptions = {}): StackOutputs {
    // 1. Read and validate every config key at once; nothing is created on bad config.
    // appSourceDir is relative to the project root, this file's directory (issue 16).
    const config = loadConfig({ implementedTargets: implementedTargets(), projectRoot: __dirname });
    // Every taggable AWS resource gets project/stack/managed-by from the running stack (issue 16).
    applyStackTags(config.project, config.stack);
    if (config.iamPermissionsBoundary) {
        applyIamGuardrails(config.iamPermissionsBoundary);
    }

    // 2. Stack-level pieces live outside the target, under names that do not mention it, so a
    //    change of `target` never replaces the network, the database or its secret.
    const network = new Network(config.appName, {
        cidr: config.network.cidr,
        azCount: config.network.azCount,
        natGateways: config.network.natGateways,
        flowLogs: config.network.flowLogs,
        logRetentionDays: config.logRetentionDays,
        namePrefix: config.namePrefix,
        existing: config.network.existing, // issue 16: adopt an existing VPC
    });
    const database = new Database(`${config.appName}-db`, {
        vpcId: network.vpcId,
        subnetIds: network.privateSubnetIds,
        namePrefix: config.namePrefix,
        ...config.database,
        logRetentionDays: config.logRetentionDays,
    });
    const domain = config.domain
        ? new Domain(`${config.appName}-domain`, { domainName: config.domain.name, zoneName: config.domain.zoneName })
        : undefined;

    // issue 13: the alarm topic and the web ACL outlive targets too (target-neutral names).
    const ops = config.operations;
    const notifications = new Notifications(`${config.appName}-alarms`, {
        namePrefix: config.namePrefix,
        emails: ops.emails,
        httpsEndpoint: ops.httpsEndpoint,
        keyDeletionWindowDays: config.database.deletionProtection ? 30 : 7,
    });
    const firewall = ops.waf.enabled ? new WebFirewall(`${config.appName}-waf`, { namePrefix: config.namePrefix, rateLimit: ops.waf.rateLimit, unlimitedPaths: [config.app.healthPath] }) : undefined;

    // 3. The platform the stack names.
    const out = getTarget(config.target).deploy({
        config, network, database, domain,
        webAclArn: firewall?.arn,
        appDir: options.appDir ?? config.app.dir,
        buildDir: options.buildDir ?? scratchDir(),
    });

    // 4. The domain points at whichever platform serves: one record, updated in place on a move.
    const alias = domain ? domain.alias(`${config.appName}-alias`, out.endpoint, { parent: domain }) : undefined;

    // 5. The deploy verified on the live endpoint (issue 11 §3): after the rollout and the DNS record,
    //    since the URL is the domain when one is set (checked earlier, it would see the old target
    //    on a move). Outside the target, so a move updates it instead of replacing it.
    //    Not while maintenance mode answers 503 at the load balancer: the check could never pass; it
    //    is created, and so runs, when maintenance mode is switched off.
    if (config.verify && !ops.maintenanceMode) {
        new ReleaseVerification(`${config.appName}-release-check`, {
            url: out.url,
            release: out.release.value,
            platform: out.release.platform,
            eventsCommand: out.release.eventsCommand,
            timeoutSeconds: config.verify.timeoutSeconds,
            healthPath: config.app.healthPath,
            readyPath: config.app.readyPath,
        }, { dependsOn: [...out.release.rollout, ...(alias ? [alias] : [])] });
    }

    // 6. Operations (issue 13), on whichever load balancer and platform serve: the web ACL and the
    //    maintenance page where the stack attaches them itself (EKS takes both from the Ingress),
    //    alarms to the stack's topic, and the stack's one dashboard.
    const lb = out.ops.loadBalancer;
    if (firewall && out.ops.stackOwnsListenerRules) {
        firewall.associate(`${config.appName}-waf-association`, lb.arn, { dependsOn: out.ops.dependsOn });
    }
    if (ops.maintenanceMode && out.ops.stackOwnsListenerRules) {
        new MaintenanceRule(`${config.appName}-maintenance`, { appName: config.appName, loadBalancerArn: lb.arn, port: out.ops.servingPort, dependsOn: out.ops.dependsOn });
    }
    const alarmInputs = {
        namePrefix: config.namePrefix,
        ops,
        loadBalancer: lb,
        platform: out.ops.platform,
        dbIdentifier: database.identifier,
        dbAllocatedStorageGiB: config.database.allocatedStorage,
        minCapacity: config.scaling.min,
        topicArn: notifications.topicArn,
    };
    const monitoring = new Monitoring(`${config.appName}-monitoring`, alarmInputs);
    // The platform's own signals belong to the target: its alarms go with it on a switch.
    const platformAlarms = new PlatformAlarms(`${config.appName}-platform-alarms`, alarmInputs, { parent: out.ops.component });
    const dashboard = new Dashboard(`${config.appName}-dashboard`, {
        dashboardName: config.namePrefix,
        title: `${config.appName} (${config.stack})`,
        loadBalancer: lb,
        dbIdentifier: database.identifier,
        platform: out.ops.platform,
        alarmArns: [...monitoring.alarmArns, ...platformAlarms.alarmArns],
    });

    // 7. The outputs: one operations contract, the same keys on every target (issue 16 §5,
    //    docs/operate.md); what only one platform has lives under `platform`.
    return {
        target: config.target,
        url: out.url,
        healthUrl: out.healthUrl,
        release: out.release.value,
        region: aws.getRegionOutput().region,
        logGroupName: out.operations.logGroupName,
        loadBalancerArn: lb.arn,
        targetGroupArn: lb.targetGroupArn,
        repositoryUrl: out.operations.repositoryUrl,
        vpcId: network.vpcId,
        // host:port, kept for existing scripts; psql -h takes the host and -p the port apart.
        databaseEndpoint: pulumi.interpolate`${database.address}:${database.port}`,
        databaseHost: database.address,
        databasePort: database.port,
        databaseName: database.dbName,
        databaseSecretArn: database.secretArn,
        alarmTopicArn: notifications.topicArn,
        dashboardUrl: dashboard.url,
        ...(firewall ? { webAclArn: firewall.arn } : {}),
        maintenanceMode: ops.maintenanceMode,
        platform: out.operations.platform,
    };
}
