import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ImagePlatform } from "../config";
import { contextArchive } from "../lib/buildContext";
import { buildImage, defaultClients, ImageBuildInputs, ImageBuildOutputs, rebuildKeys } from "../lib/codebuildRun";
import { ArtifactBucket } from "./artifactBucket";

/** Arguments of {@link CodeBuildImage}. */
export interface CodeBuildImageArgs {
    /** Physical-name prefix of the stack (`<appName>-<stack>`). */
    readonly namePrefix: string;
    /**
     * Prefix of the context bucket's name. Default: `<namePrefix>-ctx`. The targets pass the app name
     * alone (`<appName>-ctx`): with the 26 random characters S3 names must stay within 63, and the
     * stack name would otherwise shorten every stack name ECS and EKS accept.
     */
    readonly bucketNamePrefix?: string;
    /** The ECR repository the build pushes to (its name, URL and ARN). */
    readonly repository: { readonly name: pulumi.Input<string>; readonly url: pulumi.Input<string>; readonly arn: pulumi.Input<string> };
    /** Build context holding the Dockerfile; its `.dockerignore` decides what is zipped. */
    readonly contextDir: string;
    readonly platform: ImagePlatform;
    /** Where the context zip is written before upload. */
    readonly buildDir: string;
    readonly logRetentionDays: number;
    /** Let `pulumi destroy` delete the context bucket with objects (and old versions) still in it. */
    readonly forceDestroy: boolean;
    /** Minutes CodeBuild lets one build run before stopping it (default 20). */
    readonly buildTimeoutMinutes?: number;
    /** Seconds between status polls during `pulumi up` (default 10). */
    readonly pollSeconds?: number;
    /**
     * The stack's `aws:profile`. The build step calls AWS itself (not through the provider), so it
     * must use the identity the provider uses; without it, the SDK's default chain (environment,
     * default profile, web identity) applies, which is what Pulumi Deployments' OIDC sets.
     */
    readonly awsProfile?: string;
}

/**
 * CodeBuild's curated images per platform, native architecture (no emulation): Amazon Linux 2023
 * x86_64 standard 5.0 on LINUX_CONTAINER and aarch64 standard 3.0 on ARM_CONTAINER (CodeBuild
 * User Guide, build-env-ref-available.html "Docker images provided by CodeBuild"); both run Docker
 * when privileged mode is on (build-env-ref-compute-types / "privilegedMode ... to build Docker images").
 * BUILD_GENERAL1_SMALL exists for both environment types (3 GB, 2 vCPUs).
 */
export const BUILD_ENVIRONMENTS: Readonly<Record<ImagePlatform, { type: string; image: string; computeType: string }>> = {
    "linux/amd64": { type: "LINUX_CONTAINER", image: "aws/codebuild/amazonlinux-x86_64-standard:5.0", computeType: "BUILD_GENERAL1_SMALL" },
    "linux/arm64": { type: "ARM_CONTAINER", image: "aws/codebuild/amazonlinux-aarch64-standard:3.0", computeType: "BUILD_GENERAL1_SMALL" },
};

/**
 * The build: log in to the stack's registry with the role's token, build the Dockerfile for the
 * platform, push the one tag. Buildspec reference (CodeBuild User Guide, build-spec-ref.html):
 * version 0.2 runs all commands of a build in one shell, `env.variables` are plain environment,
 * AWS_REGION is set by CodeBuild (build-env-ref-env-vars.html). BuildKit is on so the build
 * honours `--platform` and `.dockerignore` as docker-build does locally. IMAGE_TAG and CONTEXT_SHA256 come with each build
 * (StartBuild environmentVariablesOverride).
 */
export function buildspec(): string {
    return [
        "version: 0.2",
        "env:",
        "  variables:",
        "    DOCKER_BUILDKIT: \"1\"",
        "phases:",
        "  pre_build:",
        "    commands:",
        "      - aws ecr get-login-password --region \"$AWS_REGION\" | docker login --username AWS --password-stdin \"${REPOSITORY_URI%%/*}\"",
        "  build:",
        "    commands:",
        "      - docker build --platform \"$IMAGE_PLATFORM\" --label \"org.opencontainers.image.revision=$CONTEXT_SHA256\" --tag \"$REPOSITORY_URI:$IMAGE_TAG\" .",
        "      - docker push \"$REPOSITORY_URI:$IMAGE_TAG\"",
        "",
    ].join("\n");
}

/**
 * Minutes a build may wait in CodeBuild's queue before CodeBuild gives up on it (5 is the least
 * the API accepts: CreateProject queuedTimeoutInMinutes 5-480). One `pulumi up` waits at most this
 * plus the build timeout plus a minute, so CodeBuild has ended the build before the wait does.
 */
const QUEUE_MINUTES = 5;

/**
 * The dynamic provider (Pulumi docs, concepts/providers/dynamic-providers: create/diff/update, the
 * provider serialized into the state and run in the engine's nodejs dynamic provider host, with
 * the environment `pulumi up` has; `read` is not functional for dynamic providers). `diff` is local
 * (no AWS call), so a preview and an unchanged run reach no API; only a changed tag runs `update`.
 */
export const imageBuildProvider: pulumi.dynamic.ResourceProvider<ImageBuildInputs, ImageBuildOutputs> = {
    async diff(_id: string, olds: ImageBuildOutputs, news: ImageBuildInputs): Promise<pulumi.dynamic.DiffResult> {
        const rebuild = rebuildKeys(olds, news);
        const other = (["buildspec", "waitSeconds", "pollSeconds", "contextSha256"] as const).filter((k) => olds[k] !== news[k]);
        return { changes: rebuild.length > 0 || other.length > 0, replaces: [], deleteBeforeReplace: false };
    },
    async create(inputs: ImageBuildInputs): Promise<pulumi.dynamic.CreateResult<ImageBuildOutputs>> {
        const built = await buildImage(defaultClients(inputs.region, inputs.profile), inputs);
        return { id: `${inputs.repositoryName}:${inputs.tag}`, outs: { ...inputs, ...built, imageUri: `${inputs.repositoryUrl}:${inputs.tag}@${built.imageDigest}` } };
    },
    async update(_id: string, olds: ImageBuildOutputs, news: ImageBuildInputs): Promise<pulumi.dynamic.UpdateResult<ImageBuildOutputs>> {
        if (rebuildKeys(olds, news).length === 0) {
            return { outs: { ...olds, ...news } };
        }
        const built = await buildImage(defaultClients(news.region, news.profile), news);
        return { outs: { ...news, ...built, imageUri: `${news.repositoryUrl}:${news.tag}@${built.imageDigest}` } };
    },
    // The image stays in ECR: the repository's lifecycle policy expires it, and a task still pinned
    // to it keeps pulling until then.
    async delete(): Promise<void> {
        return;
    },
};

/** Inputs of {@link ImageBuild}, as Pulumi inputs. */
export type ImageBuildArgs = { readonly [K in keyof ImageBuildInputs]: pulumi.Input<ImageBuildInputs[K]> };

/** One image build in CodeBuild, started during `pulumi up` when its tag is new. */
export class ImageBuild extends pulumi.dynamic.Resource {
    declare readonly imageDigest: pulumi.Output<string>;
    declare readonly imageUri: pulumi.Output<string>;
    declare readonly buildId: pulumi.Output<string>;

    constructor(name: string, args: ImageBuildArgs, opts?: pulumi.CustomResourceOptions) {
        super(imageBuildProvider, name, { ...args, imageDigest: undefined, imageUri: undefined, buildId: undefined }, opts, "codebuild", "ImageBuild");
    }
}

/**
 * Builds the app's image in the stack's AWS account instead of on the machine running `pulumi up`
 * (issue 12): the context zip goes to a private bucket under its content digest, a CodeBuild
 * project of the stack builds and pushes the tag `<arch>-<digest>`, and the pushed manifest digest
 * comes back as an output. Nothing here needs Docker where Pulumi runs.
 */
export class CodeBuildImage extends pulumi.ComponentResource {
    /** `repo:tag@sha256:digest`. */
    readonly imageUri: pulumi.Output<string>;
    readonly imageDigest: pulumi.Output<string>;
    readonly projectName: pulumi.Output<string>;
    readonly projectArn: pulumi.Output<string>;
    /** The tag pushed: architecture and the full content digest. */
    readonly tag: string;

    constructor(name: string, args: CodeBuildImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:image:CodeBuildImage", name, {}, opts);
        const timeout = args.buildTimeoutMinutes ?? 20;
        if (!Number.isInteger(timeout) || timeout < 5 || timeout > 2160) {
            throw new Error(`CodeBuildImage ${name}: buildTimeoutMinutes must be a whole number from 5 to 2160 (CodeBuild's range; got ${timeout})`);
        }
        const environment = BUILD_ENVIRONMENTS[args.platform];
        if (!environment) {
            throw new Error(`CodeBuildImage ${name}: platform must be one of ${Object.keys(BUILD_ENVIRONMENTS).join(", ")} (got ${args.platform})`);
        }
        const prefix = args.namePrefix;
        const projectName = `${prefix}-image`;
        const archive = contextArchive(args.contextDir, args.platform);
        this.tag = `${args.platform.split("/")[1]}-${archive.digest.sha256}`;

        // --- The context, content-addressed: a new object exactly when the digest changes. ---
        fs.mkdirSync(args.buildDir, { recursive: true });
        const zipPath = path.join(args.buildDir, `${prefix}-context-${archive.digest.sha256.slice(0, 12)}.zip`);
        fs.writeFileSync(zipPath, archive.bytes);
        const bucket = new ArtifactBucket(`${name}-contexts`, { namePrefix: args.bucketNamePrefix ?? `${prefix}-ctx`, forceDestroy: args.forceDestroy, noncurrentVersionDays: 7 }, { parent: this });
        const contextObject = new aws.s3.BucketObjectv2(`${name}-context`, {
            bucket: bucket.bucket,
            key: archive.key,
            source: new pulumi.asset.FileAsset(zipPath),
            contentType: "application/zip",
        }, { parent: this });

        // --- Logs: the project's own group, with the stack's retention. ---
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-build-logs`, {
            name: `/aws/codebuild/${projectName}`,
            retentionInDays: args.logRetentionDays,
        }, { parent: this });

        // --- The build's role: read this context prefix, push to this repository, write this log group. ---
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const role = new aws.iam.Role(`${name}-build`, {
            description: `CodeBuild of ${prefix}'s image: reads its context, pushes to its repository`,
            // Confused-deputy guard (CodeBuild User Guide, cross-service-confused-deputy-prevention:
            // aws:SourceArn is the project ARN, aws:SourceAccount the account).
            assumeRolePolicy: pulumi.all([identity.accountId, region]).apply(([account, r]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "codebuild.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: {
                        StringEquals: { "aws:SourceAccount": account },
                        ArnLike: { "aws:SourceArn": `arn:aws:codebuild:${r}:${account}:project/${projectName}` },
                    },
                }],
            })),
        }, { parent: this });
        const grants = new aws.iam.RolePolicy(`${name}-build`, {
            role: role.id,
            policy: pulumi.all([bucket.arn, args.repository.arn, logGroup.arn]).apply(([bucketArn, repoArn, logArn]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    // S3 source download (CodeBuild User Guide, setting-up-service-role: GetObject and
                    // GetObjectVersion on the source objects; GetBucketAcl and GetBucketLocation on the bucket).
                    { Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `${bucketArn}/contexts/*` },
                    { Effect: "Allow", Action: ["s3:GetBucketAcl", "s3:GetBucketLocation"], Resource: bucketArn },
                    // `docker login` needs the registry token, which has no resource-level permission;
                    // the push is these layer and manifest calls (ECR User Guide, image-push-iam).
                    { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                    {
                        Effect: "Allow",
                        Action: ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                        Resource: repoArn,
                    },
                    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logArn}:log-stream:*` },
                ],
            })),
        }, { parent: this });

        // --- The project: no source of its own (each build names its context object). ---
        const project = new aws.codebuild.Project(`${name}-build`, {
            name: projectName,
            description: `Builds ${prefix}'s image from its content-addressed context and pushes it to ECR`,
            serviceRole: role.arn,
            source: { type: "NO_SOURCE", buildspec: buildspec() },
            artifacts: { type: "NO_ARTIFACTS" },
            environment: {
                type: environment.type,
                image: environment.image,
                computeType: environment.computeType,
                // Docker inside the build container (CodeBuild API, ProjectEnvironment.privilegedMode).
                privilegedMode: true,
                imagePullCredentialsType: "CODEBUILD",
                environmentVariables: [
                    { name: "REPOSITORY_URI", value: args.repository.url, type: "PLAINTEXT" },
                    { name: "IMAGE_PLATFORM", value: args.platform, type: "PLAINTEXT" },
                ],
            },
            buildTimeout: timeout,
            queuedTimeout: QUEUE_MINUTES,
            logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: logGroup.name } },
        }, { parent: this, dependsOn: [grants] });

        // --- The build step: starts only when the tag is new; waits at most the queue, the build's timeout and a minute. ---
        const build = new ImageBuild(`${name}-image-build`, {
            projectName: project.name,
            region,
            profile: args.awsProfile ?? "",
            bucket: bucket.bucket,
            // The key we chose, not the object's output: known in a preview of a change too.
            key: archive.key,
            tag: this.tag,
            contextSha256: archive.digest.sha256,
            repositoryName: args.repository.name,
            repositoryUrl: args.repository.url,
            buildspec: buildspec(),
            waitSeconds: (timeout + QUEUE_MINUTES + 1) * 60,
            pollSeconds: args.pollSeconds ?? 10,
        }, { parent: this, dependsOn: [contextObject, grants, project] });

        this.imageUri = build.imageUri;
        this.imageDigest = build.imageDigest;
        this.projectName = project.name;
        this.projectArn = project.arn;
        this.registerOutputs({ imageUri: this.imageUri, imageDigest: this.imageDigest, projectName: this.projectName, projectArn: this.projectArn, tag: this.tag });
    }
}
