import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * Attaches AWS managed policies to a role, one `RolePolicyAttachment` each. The role's own
 * `managedPolicyArns` is deprecated (@pulumi/aws 7.48 iam/role.d.ts: "The `managedPolicyArns`
 * argument is deprecated. Use the `aws.iam.RolePolicyAttachment` resource instead"). Moving an
 * existing role over is safe: with the argument unset "Pulumi will ignore policy attachments", so
 * nothing is detached, and AttachRolePolicy of an attached policy succeeds. Returns the
 * attachments, so whatever runs under the role can depend on its grants existing.
 */
export function attachManagedPolicies(
    name: string,
    role: aws.iam.Role,
    policyArns: readonly string[],
    opts: pulumi.CustomResourceOptions,
): aws.iam.RolePolicyAttachment[] {
    return policyArns.map((policyArn) => new aws.iam.RolePolicyAttachment(`${name}-${policyArn.split("/").pop()}`, {
        role: role.name,
        policyArn,
    }, opts));
}
