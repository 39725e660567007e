// The AWS side of .github/workflows/deploy.yml (issue 11 §2/§4): an IAM role per app stack that the
// workflow's `up` job assumes with GitHub's OIDC token (aws-actions/configure-aws-credentials), with
// the same permissions as that stack's Pulumi Deployments role. Nothing stored in GitHub.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DELIVERY_IAM_PATH, webIdentityTrustPolicy } from "./stackDelivery";

/** GitHub Actions' token issuer, and the IAM condition-key prefix it gives (`<host>:aud`, `<host>:sub`). */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";
const GITHUB_OIDC_KEY = "token.actions.githubusercontent.com";
/** The audience configure-aws-credentials requests by default (its `audience` input). */
export const GITHUB_AUDIENCE = "sts.amazonaws.com";

/**
 * `sub` of a token from a job that runs in the GitHub environment named like the stack. A job that
 * references an environment gets `repo:<owner>/<repo>:environment:<name>` instead of the ref
 * (GitHub docs, actions/reference/security/oidc, "Example subject claims"); deploy.yml's `up` job
 * says `environment: <stack>`. Only the environment, not `ref:refs/heads/main`: any workflow on
 * main could present the ref subject and skip the environment's protection rules (required
 * reviewers on prod, branch restrictions), which are where GitHub gates a deploy.
 */
export function githubSubject(repository: string, stack: string): string {
    return `repo:${repository}:environment:${stack}`;
}

/** Trust policy: web identity from GitHub's issuer, the STS audience, this repository's environment for the stack. */
export function githubTrustPolicy(oidcProviderArn: string, repository: string, stack: string): string {
    return webIdentityTrustPolicy(oidcProviderArn, {
        StringEquals: {
            [`${GITHUB_OIDC_KEY}:aud`]: GITHUB_AUDIENCE,
            [`${GITHUB_OIDC_KEY}:sub`]: githubSubject(repository, stack),
        },
    });
}

/** Arguments of {@link GithubActionsRole}. */
export interface GithubActionsRoleArgs {
    /** GitHub `owner/name` whose workflows may assume the role. */
    readonly repository: string;
    /** The app's Pulumi project and the stack (= GitHub environment name) the role deploys. */
    readonly project: string;
    readonly stack: string;
    /** IAM OIDC provider for token.actions.githubusercontent.com in this account. */
    readonly oidcProviderArn: pulumi.Input<string>;
    /** The stack's deploy policies (the Deployments role's), attached as they are. */
    readonly policyArns: readonly pulumi.Input<string>[];
}

/** The role deploy.yml's `up` job assumes for one stack. */
export class GithubActionsRole extends pulumi.ComponentResource {
    readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: GithubActionsRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:index:GithubActionsRole", name, {}, opts);
        if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(args.repository)) {
            throw new Error(`GithubActionsRole ${name}: repository must be owner/name (got ${JSON.stringify(args.repository)})`);
        }
        if (args.policyArns.length === 0) {
            throw new Error(`GithubActionsRole ${name}: no deploy policies to attach`);
        }
        const prefix = `${args.project}-${args.stack}`;
        const role = new aws.iam.Role(`${name}-github`, {
            name: `${prefix}-github`,
            // Outside every app stack's IAM path, like the Deployments role: no stack can rewrite it.
            path: DELIVERY_IAM_PATH,
            description: `Assumed by GitHub Actions of ${args.repository} in environment ${args.stack} only`,
            assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) => githubTrustPolicy(arn, args.repository, args.stack)),
            // deploy.yml asks for 4 hours (role-duration-seconds: 14400): a first EKS or RDS create runs past one.
            maxSessionDuration: 4 * 3600,
        }, { parent: this });
        args.policyArns.forEach((policyArn, i) => {
            new aws.iam.RolePolicyAttachment(`${name}-github-${i + 1}`, { role: role.name, policyArn }, { parent: this });
        });
        this.roleArn = role.arn;
        this.registerOutputs({ roleArn: this.roleArn });
    }
}
