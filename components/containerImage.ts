import * as path from "path";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { IMAGE_PLATFORMS, ImagePlatform } from "../config";
import { contextDigest } from "../lib/dockerContext";

/** Arguments of {@link ContainerImage}. */
export interface ContainerImageArgs {
    /** ECR repository name (lowercase, unique in the account and region). */
    readonly repositoryName: string;
    /** Build context holding the Dockerfile; its `.dockerignore` decides what the digest covers. */
    readonly contextDir: string;
    /** The one platform the image is built for; it must match the CPU architecture it runs on. */
    readonly platform: ImagePlatform;
    /** Images kept in the repository; older ones expire (untagged ones after a day). */
    readonly keepImages: number;
    /** Let `pulumi destroy` delete a repository that still holds images (dev stacks). */
    readonly forceDelete: boolean;
}

/**
 * The app's container image in its own ECR repository: scanned on push, tags immutable, old images
 * expired. The tag is the build context's content digest, so unchanged code is neither rebuilt nor
 * redeployed, and a tag can never point at two different images. Used by the ECS and EKS targets.
 */
export class ContainerImage extends pulumi.ComponentResource {
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    /** `repo:tag@sha256:digest`: pinned by digest, so what runs is exactly what was pushed. */
    readonly imageUri: pulumi.Output<string>;
    /** The content tag (platform + context digest). */
    readonly tag: string;

    constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:image:ContainerImage", name, {}, opts);
        if (!IMAGE_PLATFORMS.includes(args.platform)) {
            throw new Error(`ContainerImage ${name}: platform must be one of ${IMAGE_PLATFORMS.join(", ")} (got ${args.platform})`);
        }
        if (!Number.isInteger(args.keepImages) || args.keepImages < 1) {
            throw new Error(`ContainerImage ${name}: keepImages must be a whole number of at least 1 (got ${args.keepImages})`);
        }
        const digest = contextDigest(args.contextDir, args.platform);
        this.tag = `${args.platform.split("/")[1]}-${digest.sha256.slice(0, 16)}`;

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

        // Short-lived registry credentials for the push, fetched at deploy time, never stored in config.
        const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent: this });

        // Relative to the project (Pulumi's working directory), so a checkout elsewhere (a teammate,
        // Pulumi Deployments) sees the same inputs and rebuilds nothing.
        const context = path.relative(process.cwd(), args.contextDir) || ".";
        const image = new dockerBuild.Image(name, {
            context: { location: context },
            dockerfile: { location: path.posix.join(context.split(path.sep).join("/"), "Dockerfile") },
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

        this.repositoryUrl = repository.repositoryUrl;
        this.repositoryArn = repository.arn;
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

/** ECR lifecycle rules: untagged layers go after a day, and only the newest `keep` images stay. */
export function lifecyclePolicy(keep: number): { rules: Record<string, unknown>[] } {
    return {
        rules: [
            {
                rulePriority: 1,
                description: "Expire untagged images after one day",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `Keep the newest ${keep} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    };
}
