// Guardrails for deploying through the delivery project's per-stack role (delivery/permissions.ts).
// That role may create IAM roles only under the stack's own IAM path and only with the stack's
// permissions boundary attached, so every role and instance profile this program creates must
// carry both. Setting them in one stack-wide transformation keeps the targets unaware of it.
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";

/** The IAM path the delivery role of `project/stack` may write under (delivery/permissions.ts). */
export function iamPath(project: string, stack: string): string {
    return `/${project}/${stack}/`;
}

const ROLE = "aws:iam/role:Role";
const INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile";

function guard(type: string, props: pulumi.Inputs, boundaryArn: string, path: string): pulumi.Inputs | undefined {
    if (type === ROLE) {
        return { ...props, path, permissionsBoundary: boundaryArn };
    }
    if (type === INSTANCE_PROFILE) {
        return { ...props, path };
    }
    return undefined;
}

/**
 * Puts `boundaryArn` and the stack's IAM path on every IAM role (and the path on every instance
 * profile) created after this call.
 */
export function applyIamGuardrails(boundaryArn: string, project = pulumi.getProject(), stack = pulumi.getStack()): void {
    const path = iamPath(project, stack);
    // The SDK-side transformation reaches every resource this program constructs, under the CLI and
    // under the test mocks alike.
    pulumi.runtime.registerStackTransformation((args) => {
        const props = guard(args.type, args.props, boundaryArn, path);
        return props ? { props, opts: args.opts } : undefined;
    });
    // It does not reach the children of packaged (multi-language) components, such as the service
    // role eks.Cluster creates for itself; engine-side transforms do ("Transforms ... are also applied
    // to resources in packaged components", https://www.pulumi.com/docs/iac/concepts/options/transforms/).
    // The mock monitor cannot run them (it has no registerStackTransform; the SDK would fail later,
    // asynchronously), so they are registered only where the engine's monitor offers it.
    const monitor = settings.getMonitor() as unknown as { registerStackTransform?: unknown } | undefined;
    if (typeof monitor?.registerStackTransform === "function") {
        pulumi.runtime.registerResourceTransform((args) => {
            const props = guard(args.type, args.props, boundaryArn, path);
            return props ? { props, opts: args.opts } : undefined;
        });
    }
}
