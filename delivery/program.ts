// The delivery project: applied once per AWS account (`cd delivery && pulumi up`), it lets Pulumi
// Deployments run the app's stacks on git push with short-lived credentials, dev first, prod after.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as pulumiservice from "@pulumi/pulumiservice";
import { loadDeliveryConfig } from "./config";
import { GITHUB_AUDIENCE, GITHUB_OIDC_URL, GithubActionsRole } from "./githubActions";
import { PULUMI_OIDC_URL, StackDelivery } from "./stackDelivery";

/** Events worth a human's attention: anything that failed, and drift (pulumiservice WebhookFilters). */
export const NOTIFY_EVENTS = [
    pulumiservice.WebhookFilters.UpdateFailed, pulumiservice.WebhookFilters.DeploymentFailed, pulumiservice.WebhookFilters.DestroyFailed,
    pulumiservice.WebhookFilters.DriftDetected, pulumiservice.WebhookFilters.DriftDetectionFailed,
];

export function delivery(): Record<string, unknown> {
    // 1. Config, validated at once.
    const c = loadDeliveryConfig();
    const identity = aws.getCallerIdentityOutput();
    const partition = aws.getPartitionOutput().partition;

    // 2. One IAM OIDC provider per URL per account: create it, or adopt the account's existing one
    //    (its client ID list must then include the org; `aws iam add-client-id-to-open-id-connect-provider`).
    const oidcProviderArn: pulumi.Output<string> = c.oidcProviderArn
        ? pulumi.output(c.oidcProviderArn)
        : new aws.iam.OpenIdConnectProvider("pulumi-oidc", {
            url: PULUMI_OIDC_URL,
            // Pulumi Deployments tokens carry the organization name as `aud` (pulumi.com/docs/pulumi-cloud/deployments/oidc/).
            clientIdLists: [c.org],
        }).arn;

    // 3. Per app stack: boundary, deploy role, deployment settings.
    const stacks = new Map<string, StackDelivery>();
    for (const stack of c.stacks) {
        stacks.set(stack, new StackDelivery(`${c.appProject}-${stack}`, {
            org: c.org, project: c.appProject, stack, oidcProviderArn,
            repository: c.repository, branch: c.branch, appDir: c.appDir,
            deployOnPush: stack === c.pushStack,
            partition, accountId: identity.accountId,
        }));
    }

    // 4. Promotion: when an update of the push stack succeeds, Pulumi Cloud starts a deployment of
    //    the promoted stack (a `pulumi_deployments` webhook's payloadUrl is "<project>/<stack>",
    //    pulumi.com/docs/pulumi-cloud/deployments/reference "Deployment Webhook Destinations").
    const pushed = stacks.get(c.pushStack);
    const promoted = stacks.get(c.promoteTo);
    const promotion = new pulumiservice.Webhook("promote", {
        organizationName: c.org,
        projectName: c.appProject,
        stackName: c.pushStack,
        displayName: `promote ${c.pushStack} to ${c.promoteTo}`,
        format: pulumiservice.WebhookFormat.PulumiDeployments,
        payloadUrl: `${c.appProject}/${c.promoteTo}`,
        filters: [pulumiservice.WebhookFilters.UpdateSucceeded],
        active: true,
    }, { dependsOn: [pushed?.settings, promoted?.settings].filter((s): s is pulumiservice.DeploymentSettings => s !== undefined) });

    // 5. Notifications for every delivered stack, and drift detection where it matters.
    if (c.notifyUrl !== undefined) {
        for (const stack of c.stacks) {
            new pulumiservice.Webhook(`notify-${stack}`, {
                organizationName: c.org,
                projectName: c.appProject,
                stackName: stack,
                displayName: `${c.appProject}/${stack} failures and drift`,
                format: c.notifyFormat,
                payloadUrl: c.notifyUrl,
                filters: NOTIFY_EVENTS,
                active: true,
            }, { dependsOn: stacks.get(stack)?.settings });
        }
    }
    // Report drift, never fix it unseen: a human decides between `pulumi up` and adopting the change.
    if (c.driftCron !== "off") {
        new pulumiservice.DriftSchedule(`drift-${c.promoteTo}`, {
            organization: c.org, project: c.appProject, stack: c.promoteTo, scheduleCron: c.driftCron, autoRemediate: false,
        }, { dependsOn: promoted?.settings });
    }

    // 6. GitHub Actions (deploy.yml), where asked: GitHub's OIDC provider (one per URL per account:
    //    create or adopt) and per stack a role with the stack's deploy policies.
    const githubRoles: Record<string, pulumi.Output<string>> = {};
    if (c.githubActionsStacks.length > 0) {
        const githubProviderArn: pulumi.Output<string> = c.githubOidcProviderArn
            ? pulumi.output(c.githubOidcProviderArn)
            : new aws.iam.OpenIdConnectProvider("github-oidc", {
                url: GITHUB_OIDC_URL,
                // configure-aws-credentials asks for this audience by default. No thumbprint: IAM
                // trusts GitHub's issuer through its own CA library (IAM User Guide,
                // id_roles_providers_create_oidc_verify-thumbprint), and the provider input is optional.
                clientIdLists: [GITHUB_AUDIENCE],
            }).arn;
        for (const stack of c.githubActionsStacks) {
            githubRoles[stack] = new GithubActionsRole(`${c.appProject}-${stack}`, {
                repository: c.repository, project: c.appProject, stack, oidcProviderArn: githubProviderArn,
                policyArns: stacks.get(stack)!.deployPolicyArns,
            }).roleArn;
        }
    }

    return {
        oidcProviderArn,
        // deploy.yml's AWS_DEPLOY_ROLE_ARN for each stack GitHub Actions deploys.
        githubDeployRoles: githubRoles,
        deployRoles: Object.fromEntries([...stacks].map(([s, d]) => [s, d.roleArn])),
        // What each app stack must set once so its roles fit the deploy role's IAM rules.
        appConfig: Object.fromEntries([...stacks].map(([s, d]) => [s, pulumi.interpolate`pulumi config set --stack ${s} iamPermissionsBoundary ${d.boundaryArn}`])),
        promotion: promotion.displayName,
    };
}
