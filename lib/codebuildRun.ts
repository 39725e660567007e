// Start-and-wait of one CodeBuild build of the app image, on the AWS SDK for JavaScript v3
// (issue 12). Used by the dynamic provider in components/codeBuildImage.ts during `pulumi up`, by
// the mock cloud (harness/cloudMemory.ts) for its rebuild decision, and tested against moto_server
// and a local CodeBuild stub (test/codebuildRun.test.ts).
//
// Neither @pulumi/aws (7.48: codebuild has Project, Fleet, ReportGroup, ResourcePolicy,
// SourceCredential, Webhook; nothing starts a build) nor the registry has a resource that runs a
// build and waits; Terraform's `aws_codebuild_start_build` is a Terraform *action*
// (hashicorp/terraform-provider-aws#44444), which the bridged provider does not expose.
//
// API shapes: CodeBuild API Reference, StartBuild (sourceTypeOverride, sourceLocationOverride
// `<bucket>/<key>` for S3, buildspecOverride, environmentVariablesOverride) and BatchGetBuilds
// (Build.buildStatus IN_PROGRESS | SUCCEEDED | FAILED | FAULT | STOPPED | TIMED_OUT, Build.phases[].contexts[]
// {statusCode, message}, Build.logs.deepLink); ECR API Reference, DescribeImages (imageIds by
// imageTag; ImageNotFoundException when the tag is not in the repository).
import { BatchGetBuildsCommand, Build, CodeBuildClient, StartBuildCommand } from "@aws-sdk/client-codebuild";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";

/** The type token of the dynamic resource (components/codeBuildImage.ts `ImageBuild`: module codebuild). */
export const IMAGE_BUILD_TYPE = "pulumi-nodejs:dynamic/codebuild:ImageBuild";

/** The dynamic resource's inputs: where the context is, what to build and how long to wait. */
export interface ImageBuildInputs {
    readonly projectName: string;
    readonly region: string;
    /** The shared-config profile to call AWS with (the stack's aws:profile); "" for the SDK's default chain. */
    readonly profile?: string;
    readonly bucket: string;
    /** Object key of the zipped context: `contexts/<content sha256>.zip`. */
    readonly key: string;
    /** `<arch>-<content digest>`: a new tag exactly when the content (or platform) is new. */
    readonly tag: string;
    readonly contextSha256: string;
    readonly repositoryName: string;
    readonly repositoryUrl: string;
    readonly buildspec: string;
    /** Upper bound on one `pulumi up`'s wait for the build (queue included). */
    readonly waitSeconds: number;
    readonly pollSeconds: number;
}

export interface ImageBuildOutputs extends ImageBuildInputs {
    /** `sha256:...` of the pushed manifest, read back from ECR. */
    readonly imageDigest: string;
    /** `repo:tag@sha256:...`: what the task definition and the Deployment run. */
    readonly imageUri: string;
    /** The CodeBuild build that pushed it; "" when the tag was already in the repository. */
    readonly buildId: string;
}

/**
 * The inputs whose change means another image. Anything else (the wait bound, the buildspec's
 * wording) is recorded without a build: the tag is the content, and an unchanged tag is an
 * unchanged image.
 */
export const REBUILD_KEYS = ["projectName", "bucket", "key", "tag", "repositoryName", "repositoryUrl", "region"] as const;

/** The rebuild-relevant keys that differ between the state and the program. */
export function rebuildKeys(olds: Partial<ImageBuildInputs>, news: Partial<ImageBuildInputs>): string[] {
    return REBUILD_KEYS.filter((k) => olds[k] !== news[k]);
}

export interface Clients {
    readonly codebuild: CodeBuildClient;
    readonly ecr: ECRClient;
}

/**
 * Clients for the region, with the stack's `aws:profile` when it has one (the AWS SDK v3 client
 * config's `profile`), else the SDK's default credential chain: the identity the AWS provider uses.
 */
export function defaultClients(region: string, profile?: string): Clients {
    const config = profile ? { region, profile } : { region };
    return { codebuild: new CodeBuildClient(config), ecr: new ECRClient(config) };
}

export interface WaitOptions {
    readonly sleep?: (ms: number) => Promise<void>;
    readonly now?: () => number;
}

/** The manifest digest under `tag`, or undefined when the repository has no such tag. */
export async function findImage(ecr: ECRClient, repositoryName: string, tag: string): Promise<string | undefined> {
    try {
        const out = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }));
        return out.imageDetails?.[0]?.imageDigest;
    } catch (e) {
        if ((e as { name?: string }).name === "ImageNotFoundException") {
            return undefined;
        }
        throw e;
    }
}

/** Why a finished build failed, in one line per failed phase, with the log link. */
export function describeFailure(build: Build): string {
    const failed = (build.phases ?? []).filter((p) => p.phaseStatus !== undefined && p.phaseStatus !== "SUCCEEDED");
    const reasons = failed.map((p) => {
        const contexts = (p.contexts ?? []).map((c) => [c.statusCode, c.message].filter((s) => s).join(": ")).filter((s) => s !== "");
        return `phase ${p.phaseType} ${p.phaseStatus}${contexts.length > 0 ? `: ${contexts.join("; ")}` : ""}`;
    });
    const link = build.logs?.deepLink ? ` Logs: ${build.logs.deepLink}` : " (no log link: the build did not start logging)";
    return `CodeBuild build ${build.id} of project ${build.projectName} ended ${build.buildStatus}`
        + `${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}.${link}`;
}

/**
 * Whether a failed build most likely met IAM's eventual consistency rather than a real
 * misconfiguration: it ended before the buildspec ran (PROVISIONING or DOWNLOAD_SOURCE), denied.
 * On a stack's first `pulumi up` the project's role and its policy are created seconds before
 * the build, and "changes that you make are not always immediately visible" (IAM User Guide,
 * Troubleshooting general issues, "Changes that I make are not always immediately visible"): the
 * source download from the context bucket, or the log stream, can be refused once.
 */
export function deniedBeforeBuildspec(build: Build): boolean {
    return (build.phases ?? []).some((p) => (p.phaseType === "PROVISIONING" || p.phaseType === "DOWNLOAD_SOURCE")
        && p.phaseStatus !== undefined && p.phaseStatus !== "SUCCEEDED"
        && (p.contexts ?? []).some((c) => c.statusCode === "ACCESS_DENIED"
            || /AccessDenied|Access Denied|not authorized|does not allow/i.test(c.message ?? "")));
}

/** Builds started for one tag at most: the first, and again after a denial IAM may still be propagating. */
export const BUILD_ATTEMPTS = 3;
/** Pause before each retried build, in seconds. */
export const RETRY_PAUSES_S = [15, 30];

/**
 * Pushes `inputs.tag` unless ECR already holds it (a revert to content whose image has not expired:
 * IMMUTABLE tags mean the image under it is that content's), then returns the manifest digest.
 * A build is started from the context object, waited for up to `waitSeconds`, and its failure
 * reason and log link are the error.
 */
export async function buildImage(clients: Clients, inputs: ImageBuildInputs, opts: WaitOptions = {}): Promise<{ imageDigest: string; buildId: string }> {
    const existing = await findImage(clients.ecr, inputs.repositoryName, inputs.tag);
    if (existing) {
        return { imageDigest: existing, buildId: "" };
    }
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const now = opts.now ?? Date.now;
    const deadline = now() + inputs.waitSeconds * 1000;
    for (let attempt = 1; ; attempt++) {
        const build = await startAndWait(clients, inputs, deadline, sleep, now);
        if (build.buildStatus === "SUCCEEDED") {
            const digest = await findImage(clients.ecr, inputs.repositoryName, inputs.tag);
            if (!digest) {
                throw new Error(`CodeBuild build ${build.id} succeeded but ${inputs.repositoryName}:${inputs.tag} is not in ECR; check the buildspec's push.${build.logs?.deepLink ? ` Logs: ${build.logs.deepLink}` : ""}`);
            }
            return { imageDigest: digest, buildId: build.id ?? "" };
        }
        const pause = (RETRY_PAUSES_S[attempt - 1] ?? 0) * 1000;
        const denied = deniedBeforeBuildspec(build);
        if (attempt >= BUILD_ATTEMPTS || !denied || now() + pause >= deadline) {
            const tried = attempt === 1 ? ""
                : denied ? ` Build ${attempt} of ${attempt}, each denied before the buildspec ran, ${RETRY_PAUSES_S.slice(0, attempt - 1).join(" and ")} s apart: longer than IAM takes to apply a new role's policy, so check the project role's policy and the context bucket's policy.`
                    : ` Build ${attempt}: the earlier ones were denied before the buildspec ran while IAM was still applying the project role's policy.`;
            throw new Error(describeFailure(build) + tried);
        }
        await sleep(pause);
    }
}

/** Starts one build and polls it until it is no longer IN_PROGRESS (or throws at the deadline). */
async function startAndWait(clients: Clients, inputs: ImageBuildInputs, deadline: number,
    sleep: (ms: number) => Promise<void>, now: () => number): Promise<Build> {
    const started = await clients.codebuild.send(new StartBuildCommand({
        projectName: inputs.projectName,
        // The project has no source of its own; each build reads the one content-addressed object.
        sourceTypeOverride: "S3",
        sourceLocationOverride: `${inputs.bucket}/${inputs.key}`,
        // The same text as the project's buildspec: with the source overridden, a build would
        // otherwise look for buildspec.yml in the context (StartBuild, buildspecOverride).
        buildspecOverride: inputs.buildspec,
        environmentVariablesOverride: [
            { name: "IMAGE_TAG", value: inputs.tag, type: "PLAINTEXT" },
            { name: "CONTEXT_SHA256", value: inputs.contextSha256, type: "PLAINTEXT" },
        ],
    }));
    const id = started.build?.id;
    if (!id) {
        throw new Error(`CodeBuild StartBuild on project ${inputs.projectName} returned no build id`);
    }
    for (;;) {
        const out = await clients.codebuild.send(new BatchGetBuildsCommand({ ids: [id] }));
        const build = out.builds?.[0];
        if (!build) {
            throw new Error(`CodeBuild build ${id} not found by BatchGetBuilds${out.buildsNotFound?.length ? ` (buildsNotFound: ${out.buildsNotFound.join(", ")})` : ""}`);
        }
        if (build.buildStatus !== "IN_PROGRESS") {
            return build;
        }
        if (now() >= deadline) {
            throw new Error(`CodeBuild build ${id} still ${build.buildStatus} (phase ${build.currentPhase}) after ${inputs.waitSeconds} s; `
                + `it keeps running until the project's timeout. Run pulumi up again once it has finished: the image is then found in ECR and not built twice.`
                + `${build.logs?.deepLink ? ` Logs: ${build.logs.deepLink}` : ""}`);
        }
        await sleep(Math.min(inputs.pollSeconds * 1000, Math.max(0, deadline - now())));
    }
}
