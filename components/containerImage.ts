import * as path from "path";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { IMAGE_BUILDERS, IMAGE_PLATFORMS, ImageBuilder, ImagePlatform } from "../config";
import { contextDigest } from "../lib/dockerContext";
import { CodeBuildImage } from "./codeBuildImage";

/** Arguments of {@link ContainerImage}. */
export interface ContainerImageArgs {
    /** ECR repository name (lowercase, unique in the account and region). */
    readonly repositoryName: string;
    /** Build context holding the Dockerfile; its `.dockerignore` decides what the digest covers. */
    readonly contextDir: string;
    /** The one platform the image is built for; it must match the CPU architecture it runs on. */
    readonly platform: ImagePlatform;
    /** Tagged images (builds) kept in the repository; older ones expire. */
    readonly keepImages: number;
    /** Let `pulumi destroy` delete a repository that still holds images (dev stacks). */
    readonly forceDelete: boolean;
    /**
     * Where the image is built (issue 12): `codebuild` in the stack's AWS account (no Docker where
     * `pulumi up` runs; needs `codebuild`), or `local` with docker-build on this machine. Default: local.
     */
    readonly builder?: ImageBuilder;
    /** Required with builder `codebuild`: the stack's name prefix, scratch directory and log retention. */
    readonly codebuild?: { readonly appName: string; readonly namePrefix: string; readonly buildDir: string; readonly logRetentionDays: number; readonly awsProfile?: string };
}

/** docker-build's version (its provider plugin has the same): a new one may hash contexts differently. */
const DOCKER_BUILD = "docker-build 0.0.22";

/**
 * The app's container image in its own ECR repository: scanned on push, tags immutable, old images
 * expired. Every build pushes a tag of its own, `<arch>-<content digest>-<build id>`, and what runs
 * is pinned by digest. Used by the ECS and EKS targets.
 *
 * Why a build id: docker-build decides to rebuild from its own context hash, which includes each
 * file's full mode (pulumi-docker-build v0.0.22 provider/internal/context.go `hashFile`), and from
 * its inputs (`Image.Diff` in provider/internal/image.go: any tag change rebuilds). A checkout
 * under another umask, or a revert to content whose image is still in the repository, therefore
 * rebuilds; a rebuild has a new manifest digest, and an IMMUTABLE repository refuses it under an
 * existing tag (ImageTagAlreadyExistsException) on every retry. The build id is a RandomId whose
 * keepers are everything that makes docker-build rebuild (the files with their full modes, the
 * locations, the provider version), so a rebuild always pushes a new tag, and an unchanged run
 * keeps the tag and builds nothing. The repository stays IMMUTABLE without exclusions: no tag is
 * ever overwritten. With builder `codebuild` (components/codeBuildImage.ts) the build runs in
 * CodeBuild instead, and the tag is `<arch>-<content digest>` alone: it builds only on a new digest
 * and reuses an image ECR still holds, so it never pushes an existing tag either.
 */
export class ContainerImage extends pulumi.ComponentResource {
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    /** `repo:tag@sha256:digest`: pinned by digest, so what runs is exactly what was pushed. */
    readonly imageUri: pulumi.Output<string>;
    /** The build's tag: architecture and content digest (plus a build id with the local builder). */
    readonly tag: pulumi.Output<string>;

    constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:image:ContainerImage", name, {}, opts);
        if (!IMAGE_PLATFORMS.includes(args.platform)) {
            throw new Error(`ContainerImage ${name}: platform must be one of ${IMAGE_PLATFORMS.join(", ")} (got ${args.platform})`);
        }
        if (!Number.isInteger(args.keepImages) || args.keepImages < 1) {
            throw new Error(`ContainerImage ${name}: keepImages must be a whole number of at least 1 (got ${args.keepImages})`);
        }
        const builder = args.builder ?? "local";
        if (!IMAGE_BUILDERS.includes(builder)) {
            throw new Error(`ContainerImage ${name}: builder must be one of ${IMAGE_BUILDERS.join(", ")} (got ${builder})`);
        }
        if (builder === "codebuild" && !args.codebuild) {
            throw new Error(`ContainerImage ${name}: builder codebuild needs the codebuild arguments (namePrefix, buildDir, logRetentionDays)`);
        }
        const digest = contextDigest(args.contextDir, args.platform);
        // Relative to the project (Pulumi's working directory), so a checkout elsewhere (a teammate,
        // Pulumi Deployments) sees the same inputs.
        const context = path.relative(process.cwd(), args.contextDir) || ".";
        const dockerfile = path.posix.join(context.split(path.sep).join("/"), "Dockerfile");
        const repository = new aws.ecr.Repository(name, {
            name: args.repositoryName,
            imageTagMutability: "IMMUTABLE",
            imageScanningConfiguration: { scanOnPush: true },
            encryptionConfigurations: [{ encryptionType: "AES256" }],
            forceDelete: args.forceDelete,
        }, { parent: this });

        new aws.ecr.LifecyclePolicy(name, {
            repository: repository.name,
            policy: JSON.stringify(lifecyclePolicy(args.keepImages)),
        }, { parent: this });

        this.repositoryUrl = repository.repositoryUrl;
        this.repositoryArn = repository.arn;
        if (builder === "codebuild" && args.codebuild) {
            // The tag is the content digest itself: a build starts only when it is new, and a
            // revert finds its image still in ECR (lib/codebuildRun.ts), so no tag is pushed twice.
            const built = new CodeBuildImage(`${name}-codebuild`, {
                namePrefix: args.codebuild.namePrefix,
                bucketNamePrefix: `${args.codebuild.appName}-ctx`,
                repository: { name: repository.name, url: repository.repositoryUrl, arn: repository.arn },
                contextDir: args.contextDir,
                platform: args.platform,
                buildDir: args.codebuild.buildDir,
                logRetentionDays: args.codebuild.logRetentionDays,
                awsProfile: args.codebuild.awsProfile,
                // Contexts are derived from the repository and worthless once built: the bucket goes
                // with the stack (or a switch to local) even in prod, where its old versions would
                // otherwise make the delete fail with BucketNotEmpty.
                forceDestroy: true,
            }, { parent: this });
            this.tag = pulumi.output(built.tag);
            this.imageUri = built.imageUri;
            this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageUri: this.imageUri, tag: this.tag });
            return;
        }

        const buildId = new random.RandomId(`${name}-build`, {
            byteLength: 4,
            keepers: { files: digest.buildSha256, context, dockerfile, builder: DOCKER_BUILD },
        }, { parent: this });
        this.tag = pulumi.interpolate`${args.platform.split("/")[1]}-${digest.sha256.slice(0, 12)}-${buildId.hex}`;

        // Short-lived registry credentials for the push, fetched at deploy time, never stored in config.
        const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent: this });

        const image = new dockerBuild.Image(name, {
            context: { location: context },
            dockerfile: { location: dockerfile },
            platforms: [args.platform as dockerBuild.Platform],
            tags: [pulumi.interpolate`${repository.repositoryUrl}:${this.tag}`],
            push: true,
            registries: [{
                address: repository.repositoryUrl,
                username: auth.userName,
                password: pulumi.secret(auth.password),
            }],
            // A preview must not need a Docker daemon or registry access.
            buildOnPreview: false,
            labels: {
                "org.opencontainers.image.title": args.repositoryName,
                "org.opencontainers.image.revision": digest.sha256,
            },
        }, { parent: this });

        this.imageUri = image.ref;
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageUri: this.imageUri, tag: this.tag });
    }

    /** IAM statements that let a runtime pull this image and nothing else (plus the account-wide token). */
    pullStatements(): pulumi.Output<aws.iam.PolicyStatement[]> {
        return this.repositoryArn.apply((arn): aws.iam.PolicyStatement[] => [
            // GetAuthorizationToken has no resource-level permissions.
            { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
            { Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: arn },
        ]);
    }
}

/**
 * ECR lifecycle: only the newest `keep` tagged images (one per build) stay. Nothing expires for
 * being untagged: tags are unique and immutable here, so an untagged manifest is a platform image
 * or attestation inside a build's image index, which a task pinned to that index's digest still
 * pulls. Counting tagged images only (pattern `*`) also keeps those children from using up `keep`.
 * Lifecycle syntax: https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 */
export function lifecyclePolicy(keep: number): { rules: Record<string, unknown>[] } {
    return {
        rules: [
            {
                rulePriority: 1,
                description: `Keep the newest ${keep} builds`,
                selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    };
}
