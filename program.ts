// The whole program, as a function so the CLI (index.ts), the offline plan and the tests all run
// exactly the same code.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Database } from "./components/database";
import { Domain } from "./components/domain";
import { Network } from "./components/network";
import { loadConfig } from "./config";
import { applyIamGuardrails } from "./lib/iamGuardrails";
import { applyStackTags } from "./lib/tags";
import { getTarget, implementedTargets } from "./targets";

export interface StackOutputs {
    readonly target: string;
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly [key: string]: unknown;
}

export interface ProgramOptions {
    /** The Flask app to ship; tests point this at a modified copy. */
    readonly appDir?: string;
    /** Where build artifacts (the bundle zip) are written. */
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

    // 3. The platform the stack names.
    const out = getTarget(config.target).deploy({
        config, network, database, domain,
        appDir: options.appDir ?? config.app.dir,
        buildDir: options.buildDir ?? path.join(__dirname, ".build"),
    });

    // 4. The domain points at whichever platform serves: one record, updated in place on a move.
    if (domain) {
        domain.alias(`${config.appName}-alias`, out.endpoint, { parent: domain });
    }

    return {
        target: config.target,
        url: out.url,
        healthUrl: out.healthUrl,
        ...out.extra,
        vpcId: network.vpcId,
        databaseEndpoint: pulumi.interpolate`${database.address}:${database.port}`,
        databaseSecretArn: database.secretArn,
    };
}
