// Everything one app stack needs to deploy itself on git push: its permissions boundary, a deploy
// role only that stack's Pulumi Deployments can assume, and its Deployment Settings.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as pulumiservice from "@pulumi/pulumiservice";
import { boundaryPolicy, deployPolicy } from "./permissions";

/** The offline gate every deployment runs before `pulumi up`: the TypeScript checks and the program under mocks. */
export const GATE_COMMANDS = ["npm run build", "npm run lint", "npm run test:ts"] as const;

/** IAM path of the delivery project's own roles and boundaries: outside every app stack's path. */
export const DELIVERY_IAM_PATH = "/pulumi-deploy/";

/** Issuer host of Pulumi's OIDC tokens; IAM condition keys are `<host path>:aud` and `:sub`. */
export const PULUMI_OIDC_URL = "https://api.pulumi.com/oidc";
const OIDC_KEY = "api.pulumi.com/oidc";

export interface StackDeliveryArgs {
    /** Pulumi organization: the token's audience. */
    readonly org: string;
    /** The app's Pulumi project. */
    readonly project: string;
    /** The app stack this delivers. */
    readonly stack: string;
    /** IAM OIDC provider for https://api.pulumi.com/oidc in this account. */
    readonly oidcProviderArn: pulumi.Input<string>;
    /** GitHub `owner/name` and branch deployed. */
    readonly repository: string;
    readonly branch: string;
    /** Directory of the app's Pulumi.yaml inside the repository. */
    readonly appDir: string;
    /** `pulumi up` on every push that touches the app (dev); otherwise only on demand or by webhook (prod). */
    readonly deployOnPush: boolean;
    readonly partition: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
}

/** `sub` of a Pulumi Deployments token for any operation on one stack (docs: pulumi.com/docs/pulumi-cloud/deployments/oidc/). */
export function deploymentSubject(org: string, project: string, stack: string): string {
    // "pulumi:deploy:org:<organization name>:project:<project name>:stack:<stack name>:operation:<operation kind>:scope:write"
    return `pulumi:deploy:org:${org}:project:${project}:stack:${stack}:operation:*:scope:write`;
}

/** A role trust policy: web identity from one OIDC provider, under `condition` (audience and subject). */
export function webIdentityTrustPolicy(oidcProviderArn: string, condition: Record<string, Record<string, string>>): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow",
            Principal: { Federated: oidcProviderArn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: condition,
        }],
    });
}

/** Trust policy: web identity from Pulumi's issuer, this org's audience, this stack's subject only. */
export function deployTrustPolicy(oidcProviderArn: string, org: string, project: string, stack: string): string {
    return webIdentityTrustPolicy(oidcProviderArn, {
        StringEquals: { [`${OIDC_KEY}:aud`]: org },
        StringLike: { [`${OIDC_KEY}:sub`]: deploymentSubject(org, project, stack) },
    });
}

/**
 * Files whose change can change what `pulumi up` of `stack` does (Deployments path filters: globs
 * over the full path from the repository root, `!` excludes; pulumi.com/docs/deployments/concepts/settings/path-filtering/).
 * README, tests, CI files, the delivery project and other stacks' config deploy nothing.
 */
export function pathFilters(appDir: string, stack: string): string[] {
    const at = (p: string) => (appDir === "." || appDir === "" ? p : `${appDir.replace(/\/+$/, "")}/${p}`);
    return [
        at("Pulumi.yaml"), at(`Pulumi.${stack}.yaml`), at("*.ts"), at("targets/**"), at("components/**"), at("lib/**"), at("app/**"),
        at("package.json"), at("package-lock.json"), at("tsconfig.json"),
        `!${at("app/tests/**")}`, "!**/*.md",
    ];
}

export class StackDelivery extends pulumi.ComponentResource {
    readonly roleArn: pulumi.Output<string>;
    readonly boundaryArn: pulumi.Output<string>;
    readonly settings: pulumiservice.DeploymentSettings;
    /** The deploy role's managed policies, for other deployers of the same stack (GitHub Actions). */
    readonly deployPolicyArns: pulumi.Output<string>[] = [];

    constructor(name: string, args: StackDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:index:StackDelivery", name, {}, opts);
        const { org, project, stack } = args;
        const prefix = `${project}-${stack}`;

        const boundary = new aws.iam.Policy(`${name}-boundary`, {
            name: `${prefix}-app-boundary`,
            path: DELIVERY_IAM_PATH,
            description: `Permissions boundary of every IAM role the ${project}/${stack} stack creates`,
            policy: pulumi.all([args.partition, args.accountId]).apply(([partition, accountId]) =>
                JSON.stringify(boundaryPolicy({ partition, accountId, project, stack }))),
        }, { parent: this });

        const role = new aws.iam.Role(`${name}-deploy`, {
            name: `${prefix}-deploy`,
            path: DELIVERY_IAM_PATH,
            description: `Assumed by Pulumi Deployments of ${org}/${project}/${stack} only`,
            assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) => deployTrustPolicy(arn, org, project, stack)),
            // A first EKS or RDS create runs past the default hour.
            maxSessionDuration: 4 * 3600,
        }, { parent: this });

        // Split in documents that fit a managed policy each; attached, not inline (10,240 characters in total).
        const documents = pulumi.all([args.partition, args.accountId, boundary.arn]).apply(([partition, accountId, boundaryArn]) =>
            deployPolicy({ partition, accountId, project, stack, boundaryArn }));
        const count = deployPolicy({ partition: "aws", accountId: "000000000000", project, stack, boundaryArn: "arn:aws:iam::000000000000:policy/x" }).length;
        for (let i = 0; i < count; i++) {
            const policy = new aws.iam.Policy(`${name}-deploy-${i + 1}`, {
                name: `${prefix}-deploy-${i + 1}`,
                path: DELIVERY_IAM_PATH,
                description: `Deploy permissions (${i + 1}/${count}) of ${project}/${stack}, derived from the app's resource types`,
                policy: documents.apply((d) => JSON.stringify(d[i])),
            }, { parent: this });
            new aws.iam.RolePolicyAttachment(`${name}-deploy-${i + 1}`, { role: role.name, policyArn: policy.arn }, { parent: this });
            this.deployPolicyArns.push(policy.arn);
        }

        this.settings = new pulumiservice.DeploymentSettings(`${name}-settings`, {
            organization: org,
            project,
            stack,
            // `vcs` supersedes the deprecated `github` block (pulumiservice 1.3.0 deploymentSettings.d.ts).
            vcs: {
                provider: "github",
                repository: args.repository,
                deployCommits: args.deployOnPush,
                previewPullRequests: true,
                paths: pathFilters(args.appDir, stack),
            },
            sourceContext: { git: { branch: args.branch, repoDir: args.appDir } },
            operationContext: {
                // The gate: a failing check stops the deployment before `pulumi up` touches anything.
                preRunCommands: [...GATE_COMMANDS],
                oidc: { aws: { roleARN: role.arn, sessionName: `pulumi-${project}-${stack}`, duration: "4h0m0s" } },
                options: { skipIntermediateDeployments: true },
            },
            cacheOptions: { enable: true },
        }, { parent: this });

        this.roleArn = role.arn;
        this.boundaryArn = boundary.arn;
        this.registerOutputs({ roleArn: this.roleArn, boundaryArn: this.boundaryArn });
    }
}
