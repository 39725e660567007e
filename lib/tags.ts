// The stack's identifying tags (project, stack, managed-by), derived from the running stack, on every
// AWS resource that takes tags (issue 16 §3).
//
// They used to be the AWS provider's `aws:defaultTags`, written by hand in each Pulumi.<stack>.yaml:
// a stack file copied to make `staging` tagged every staging resource `stack: dev`. The program
// cannot set the default provider's config (the engine builds default providers from the stack's
// config, pulumi/pulumi pkg/resource/deploy/providers/registry.go), and an explicit provider would
// change every resource's provider reference. So the tags are added to each resource's own `tags`
// input by a stack-wide transform, the way lib/iamGuardrails.ts adds the IAM boundary.
//
// Which resources: exactly those the provider's defaultTags reach, the ones with a computed
// `tagsAll` ("A map of tags assigned to the resource, including those inherited from the provider
// defaultTags configuration block", e.g. @pulumi/aws ec2/natGateway.d.ts). Some resources take
// `tags` in another shape (autoscaling.Group's list of {key, value, propagateAtLaunch}) and no
// `tagsAll`: they are left alone, as defaultTags leaves them. The set is read from the installed
// @pulumi/aws SDK, which is generated from the provider's schema, so it follows provider upgrades.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";

export type Tags = Readonly<Record<string, string>>;

/** The tags every taggable resource of `project/stack` carries. */
export function stackTags(project: string, stack: string): Tags {
    return { project, stack, "managed-by": "pulumi" };
}

let taggable: ReadonlySet<string> | undefined;

/** Every `aws:` resource type whose generated SDK class computes `tagsAll` (see above). */
export function taggableAwsTypes(): ReadonlySet<string> {
    if (taggable === undefined) {
        const root = path.dirname(require.resolve("@pulumi/aws/package.json"));
        const found = new Set<string>();
        for (const dir of fs.readdirSync(root, { withFileTypes: true })) {
            if (!dir.isDirectory() || dir.name === "types" || dir.name === "node_modules") {
                continue;
            }
            for (const file of fs.readdirSync(path.join(root, dir.name))) {
                if (!file.endsWith(".js")) {
                    continue;
                }
                const text = fs.readFileSync(path.join(root, dir.name, file), "utf8");
                const token = /__pulumiType = '(aws:[^']+)'/.exec(text)?.[1];
                if (token !== undefined && text.includes("resourceInputs[\"tagsAll\"]")) {
                    found.add(token);
                }
            }
        }
        taggable = found;
    }
    return taggable;
}

export function isTaggable(type: string): boolean {
    return type.startsWith("aws:") && taggableAwsTypes().has(type);
}

/**
 * `props` with `tags` merged over the stack's tags: a tag the resource sets itself wins, as it does
 * over defaultTags. Undefined for resources that take no tags (the transform then changes nothing).
 */
export function withStackTags(type: string, props: pulumi.Inputs, tags: Tags): pulumi.Inputs | undefined {
    if (!isTaggable(type)) {
        return undefined;
    }
    const own = props.tags as pulumi.Input<Record<string, pulumi.Input<string>>> | undefined;
    if (own === undefined || own === null) {
        return { ...props, tags: { ...tags } };
    }
    if (typeof own !== "object") {
        // An unknown value as an engine transform may see it during preview: leave it as is.
        return undefined;
    }
    if (pulumi.Output.isInstance(own) || own instanceof Promise) {
        return { ...props, tags: pulumi.output(own).apply((t) => ({ ...tags, ...(t ?? {}) })) };
    }
    return { ...props, tags: { ...tags, ...own } };
}

/** Tags every taggable AWS resource created after this call with `stackTags(project, stack)`. */
export function applyStackTags(project = pulumi.getProject(), stack = pulumi.getStack()): void {
    const tags = stackTags(project, stack);
    // In-process resources, under the CLI and the test mocks alike.
    pulumi.runtime.registerStackTransformation((args) => {
        const props = withStackTags(args.type, args.props, tags);
        return props ? { props, opts: args.opts } : undefined;
    });
    // Children of packaged components (awsx's VPC, subnets and NAT gateways, eks.Cluster's roles and
    // security groups) only through the engine: "Transforms ... are also applied to resources in
    // packaged components" (https://www.pulumi.com/docs/iac/concepts/options/transforms/). The mock
    // monitor has no registerStackTransform, so under mocks those children (invisible there anyway)
    // are not reached. Applying both to an in-process resource gives the same tags (the merge is
    // idempotent).
    const monitor = settings.getMonitor() as unknown as { registerStackTransform?: unknown } | undefined;
    if (typeof monitor?.registerStackTransform === "function") {
        pulumi.runtime.registerResourceTransform((args) => {
            const props = withStackTags(args.type, args.props, tags);
            return props ? { props, opts: args.opts } : undefined;
        });
    }
}

/**
 * Problems with a stack's own `aws:defaultTags` (the raw JSON the CLI passes): a `project` or `stack`
 * tag there that differs from the running stack is the copied-stack-file trap this module removes.
 * Other default tags (cost-center, owner) stay the team's choice.
 */
export function defaultTagsProblems(raw: string | undefined, project: string, stack: string): string[] {
    if (raw === undefined || raw === "") {
        return [];
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        return [];
    }
    const tags = (parsed as { tags?: Record<string, unknown> } | null)?.tags ?? {};
    const expected = stackTags(project, stack);
    const problems: string[] = [];
    for (const key of ["project", "stack"] as const) {
        if (key in tags && tags[key] !== expected[key]) {
            problems.push(`aws:defaultTags sets the tag ${key}: ${JSON.stringify(tags[key])} but this is ${key} ${JSON.stringify(expected[key])} ` +
                "(a stack file copied from another stack?): remove project and stack from aws:defaultTags; the program tags every resource with them itself");
        }
    }
    return problems;
}
