// Issue 12: the image built in CodeBuild (imageBuilder codebuild, the default) or locally with
// docker-build (imageBuilder local), under the mock cloud: what the plan holds, the same tag and
// digest rules for both builders, least privilege, and what a second `pulumi up` does.
import * as assert from "assert";
import * as child from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { BUILD_ENVIRONMENTS, buildspec } from "../components/codeBuildImage";
import { ConfigError } from "../config";
import { deployPolicy } from "../delivery/permissions";
import { CloudMemory } from "../harness/cloudMemory";
import { Json, PlannedResource, PlanResult } from "../harness/run";
import { contextArchive } from "../lib/buildContext";
import { defaultClients } from "../lib/codebuildRun";
import { contextDigest } from "../lib/dockerContext";
import { all, APP_DIR, appCopy, diffPlans, EKS, input, one, parsePolicy, planStack, platformOutput } from "./helpers";

const BUILD = "pulumi-nodejs:dynamic/codebuild:ImageBuild";
const ACCOUNT = "123456789012";

function taskImage(plan: PlanResult): string {
    const defs = JSON.parse(input<string>(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions")) as { image: string }[];
    return defs[0].image;
}
function deploymentImage(plan: PlanResult): string {
    const spec = one(plan, "kubernetes:apps/v1:Deployment").inputs.spec as { template: { spec: { containers: { name: string; image: string }[] } } };
    return spec.template.spec.containers[0].image;
}
const statements = (r: PlannedResource) => parsePolicy(r).Statement.map((s) => [s.Action, s.Resource] as [Json, Json]);

describe("image builder (issue 12)", function () {
    this.timeout(300000);
    let prod: PlanResult;
    before(async () => {
        prod = await planStack("prod", ["target=ecs"]);
    });

    it("defaults to codebuild: a project, the context object and the build step, and no local Docker build", () => {
        assert.deepStrictEqual(all(prod, "docker-build:index:Image"), []);
        assert.ok(!prod.invokes.some((i) => i.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken"), "no registry login where pulumi runs");
        const project = one(prod, "aws:codebuild/project:Project");
        assert.strictEqual(input(project, "name"), "flask-app-prod-image");
        assert.deepStrictEqual(input(project, "source"), { type: "NO_SOURCE", buildspec: buildspec() });
        assert.deepStrictEqual(input(project, "artifacts"), { type: "NO_ARTIFACTS" });
        const env = input<Record<string, Json>>(project, "environment");
        assert.deepStrictEqual([env.type, env.image, env.computeType, env.privilegedMode, env.imagePullCredentialsType],
            ["LINUX_CONTAINER", "aws/codebuild/amazonlinux-x86_64-standard:5.0", "BUILD_GENERAL1_SMALL", true, "CODEBUILD"]);
        assert.deepStrictEqual(env.environmentVariables, [
            { name: "REPOSITORY_URI", value: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/flask-app-prod`, type: "PLAINTEXT" },
            { name: "IMAGE_PLATFORM", value: "linux/amd64", type: "PLAINTEXT" },
        ]);
        assert.deepStrictEqual(input(project, "logsConfig"), { cloudwatchLogs: { status: "ENABLED", groupName: "/aws/codebuild/flask-app-prod-image" } });
        assert.strictEqual(input(one(prod, "aws:cloudwatch/logGroup:LogGroup", "-build-logs"), "retentionInDays"), 90);

        // The context: what Docker would receive, zipped, under its content digest, in a private encrypted bucket.
        const digest = contextDigest(APP_DIR, "linux/amd64").sha256;
        const object = one(prod, "aws:s3/bucketObjectv2:BucketObjectv2", "-codebuild-context");
        assert.strictEqual(input(object, "key"), `contexts/${digest}.zip`);
        const zipPath = input<{ path: string }>(object, "source").path;
        assert.ok(fs.readFileSync(zipPath).equals(contextArchive(APP_DIR, "linux/amd64").bytes), "the uploaded zip is the context archive");
        const bucketName = input<string>(object, "bucket");
        assert.match(bucketName, /^flask-app-ctx-/);
        const sse = all(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").find((r) => input(r, "bucket") === bucketName);
        assert.deepStrictEqual(input(sse!, "rules"), [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
        const block = all(prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find((r) => input(r, "bucket") === bucketName);
        assert.deepStrictEqual([block!.inputs.blockPublicAcls, block!.inputs.blockPublicPolicy, block!.inputs.ignorePublicAcls, block!.inputs.restrictPublicBuckets], [true, true, true, true]);

        // The build step: the tag is the content digest; it waits at most the build timeout plus the queue.
        const build = one(prod, BUILD);
        assert.strictEqual(input(build, "tag"), `amd64-${digest}`);
        assert.strictEqual(input(build, "key"), `contexts/${digest}.zip`);
        assert.strictEqual(input(build, "projectName"), "flask-app-prod-image");
        assert.strictEqual(input(build, "repositoryName"), "flask-app-prod");
        // The wait outlasts what CodeBuild itself allows (queue, then build), so CodeBuild ends it first.
        assert.strictEqual(input(project, "buildTimeout"), 20);
        assert.strictEqual(input(project, "queuedTimeout"), 5);
        assert.strictEqual(input(build, "waitSeconds"), (20 + 5 + 1) * 60);
        const bucket = all(prod, "aws:s3/bucket:Bucket").find((b) => String(input(b, "bucketPrefix")).startsWith("flask-app-ctx-"));
        assert.strictEqual(input(bucket!, "forceDestroy"), true, "contexts are derived data: the bucket goes with the stack, in prod too");
        // It runs after the object, the grants and the project exist.
        for (const dep of [object, one(prod, "aws:iam/rolePolicy:RolePolicy", "-codebuild-build"), project]) {
            assert.ok(build.options.dependsOn.includes(dep.urn), dep.name);
        }
        // What runs is the pushed digest.
        assert.match(taskImage(prod), new RegExp(`^${ACCOUNT}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/flask-app-prod:amd64-${digest}@sha256:[0-9a-f]{64}$`));
        assert.strictEqual(platformOutput(prod, "imageUri"), taskImage(prod));
    });

    it("the buildspec is YAML CodeBuild reads (version 0.2) whose commands are valid shell: log in, build for the platform, push the tag", () => {
        const spec = yaml.load(buildspec()) as { version: number; env: { variables: Record<string, string> }; phases: Record<string, { commands: string[] }> };
        assert.strictEqual(spec.version, 0.2);
        assert.deepStrictEqual(spec.env.variables, { DOCKER_BUILDKIT: "1" });
        assert.deepStrictEqual(Object.keys(spec.phases), ["pre_build", "build"]);
        const commands = [...spec.phases.pre_build.commands, ...spec.phases.build.commands];
        assert.match(commands[0], /^aws ecr get-login-password --region "\$AWS_REGION" \| docker login --username AWS --password-stdin "\$\{REPOSITORY_URI%%\/\*\}"$/);
        assert.match(commands[1], /^docker build --platform "\$IMAGE_PLATFORM" .* --tag "\$REPOSITORY_URI:\$IMAGE_TAG" \.$/);
        assert.strictEqual(commands[2], 'docker push "$REPOSITORY_URI:$IMAGE_TAG"');
        for (const c of commands) {
            const r = child.spawnSync("sh", ["-n", "-c", c], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${c}: ${r.stderr}`);
        }
        // The registry host the login targets, as sh expands it.
        const host = child.spawnSync("sh", ["-c", 'echo "${REPOSITORY_URI%%/*}"'], { env: { REPOSITORY_URI: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/flask-app-prod` }, encoding: "utf8" }).stdout.trim();
        assert.strictEqual(host, `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`);
    });

    it("builds arm64 natively: an ARM build environment, no emulation", async () => {
        const arm = await planStack("dev", ["target=ecs", "imagePlatform=linux/arm64"]);
        const env = input<Record<string, Json>>(one(arm, "aws:codebuild/project:Project"), "environment");
        assert.deepStrictEqual([env.type, env.image], ["ARM_CONTAINER", "aws/codebuild/amazonlinux-aarch64-standard:3.0"]);
        assert.deepStrictEqual(BUILD_ENVIRONMENTS["linux/arm64"].type, "ARM_CONTAINER");
        assert.strictEqual(input(one(arm, BUILD), "tag"), `arm64-${contextDigest(APP_DIR, "linux/arm64").sha256}`);
        assert.deepStrictEqual(input(one(arm, "aws:ecs/taskDefinition:TaskDefinition"), "runtimePlatform"), { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" });
    });

    it("the same tag and digest rules for both builders: <arch>-<content digest>, run as repo:tag@sha256", async () => {
        const local = await planStack("prod", ["target=ecs", "imageBuilder=local"]);
        const digest = contextDigest(APP_DIR, "linux/amd64").sha256;
        const rule = new RegExp(`^${ACCOUNT}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/flask-app-prod:amd64-${digest.slice(0, 12)}[0-9a-f-]*@sha256:[0-9a-f]{64}$`);
        assert.match(taskImage(prod), rule);
        assert.match(taskImage(local), rule);
        assert.deepStrictEqual(all(local, "aws:codebuild/project:Project"), []);
        assert.deepStrictEqual(all(local, BUILD), []);
        assert.strictEqual(all(local, "docker-build:index:Image").length, 1);
        // The repository is the same resource either way (switching builders keeps its images).
        assert.strictEqual(one(local, "aws:ecr/repository:Repository").urn, one(prod, "aws:ecr/repository:Repository").urn);
        const eks = await planStack("dev", [...EKS]);
        assert.match(deploymentImage(eks), new RegExp(`^${ACCOUNT}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/flask-app-dev-eks:amd64-${digest}@sha256:[0-9a-f]{64}$`));
        assert.strictEqual(input(one(eks, "aws:codebuild/project:Project"), "name"), "flask-app-dev-image");
    });

    it("least privilege: the build reads only its context prefix, pushes only to this repository, writes only its log group", () => {
        const role = one(prod, "aws:iam/role:Role", "-codebuild-build");
        const trust = parsePolicy(role, "assumeRolePolicy").Statement;
        assert.deepStrictEqual(trust, [{
            Effect: "Allow", Principal: { Service: "codebuild.amazonaws.com" }, Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": `arn:aws:codebuild:us-east-1:${ACCOUNT}:project/flask-app-prod-image` } },
        }]);
        assert.strictEqual(input(role, "managedPolicyArns"), undefined);
        const bucketArn = `arn:aws:s3:::${input(one(prod, "aws:s3/bucketObjectv2:BucketObjectv2", "-codebuild-context"), "bucket")}`;
        assert.deepStrictEqual(statements(one(prod, "aws:iam/rolePolicy:RolePolicy", "-codebuild-build")), [
            [["s3:GetObject", "s3:GetObjectVersion"], `${bucketArn}/contexts/*`],
            [["s3:GetBucketAcl", "s3:GetBucketLocation"], bucketArn],
            ["ecr:GetAuthorizationToken", "*"],
            [["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/flask-app-prod`],
            [["logs:CreateLogStream", "logs:PutLogEvents"], `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/codebuild/flask-app-prod-image:log-stream:*`],
        ]);
        // The deployer: CodeBuild actions on this stack's project only; the role passed only to CodeBuild et al.
        const docs = deployPolicy({ partition: "aws", accountId: ACCOUNT, project: "flask-platform", stack: "prod", boundaryArn: `arn:aws:iam::${ACCOUNT}:policy/b` });
        const all_ = docs.flatMap((d) => d.Statement);
        const cb = all_.filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith("codebuild:")));
        assert.deepStrictEqual(cb.map((s) => [s.Sid, s.Resource]), [["StackBuildProject", `arn:aws:codebuild:*:${ACCOUNT}:project/*-prod-image`]]);
        assert.deepStrictEqual([...([] as string[]).concat(cb[0].Action)].sort(),
            ["codebuild:BatchGetBuilds", "codebuild:BatchGetProjects", "codebuild:CreateProject", "codebuild:DeleteProject", "codebuild:StartBuild", "codebuild:UpdateProject"]);
        const pass = all_.find((s) => s.Sid === "PassStackRoles");
        assert.ok((pass?.Condition?.StringEquals["iam:PassedToService"] as string[]).includes("codebuild.amazonaws.com"));
    });

    it("the build step calls AWS as the provider does: the stack's aws:profile when set, else the default chain", async () => {
        const step = (plan: PlanResult) => plan.resources.find((r) => r.urn.endsWith("::flask-app-ecs-image-codebuild-image-build"))!;
        assert.strictEqual(input(step(prod), "profile"), "");
        for (const target of ["ecs", "eks"] as const) {
            const plan = await planStack("dev", [...(target === "eks" ? EKS : ["target=ecs"]), "aws:profile=platform-dev"]);
            const build = plan.resources.find((r) => r.urn.endsWith(`::flask-app-${target}-image-codebuild-image-build`))!;
            assert.strictEqual(input(build, "profile"), "platform-dev", target);
        }
        const withProfile = defaultClients("eu-west-1", "platform-dev");
        assert.deepStrictEqual([withProfile.codebuild.config.profile, withProfile.ecr.config.profile], ["platform-dev", "platform-dev"]);
        assert.strictEqual(defaultClients("eu-west-1", "").codebuild.config.profile, undefined);
    });

    it("refuses an unknown builder, naming the key and the choices", async () => {
        await assert.rejects(planStack("dev", ["target=ecs", "imageBuilder=docker"]), (e: Error) => {
            assert.ok(e instanceof ConfigError || /imageBuilder/.test(e.message), String(e));
            assert.match(e.message, /imageBuilder must be one of codebuild, local \(got "docker"\)/);
            return true;
        });
    });

    it("a preview builds nothing: the digest and what runs it are unknown until the build", async () => {
        const preview = await planStack("dev", ["target=ecs"], { preview: true });
        assert.strictEqual(platformOutput(preview, "imageUri"), "[unknown]");
        assert.strictEqual(taskImageOrUnknown(preview), "[unknown]");
        assert.strictEqual(input(one(preview, BUILD), "tag"), `amd64-${contextDigest(APP_DIR, "linux/amd64").sha256}`, "the tag is known: it is the content");
    });

    describe("changes", () => {
        let dev: PlanResult;
        before(async () => {
            dev = await planStack("dev", ["target=ecs"]);
        });

        it("a code-only change touches only the context object, the build and what runs the digest", async () => {
            const edited = appCopy((dir) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a code change\n"));
            const after = await planStack("dev", ["target=ecs"], { appDir: edited, cwd: path.dirname(edited) });
            const d = diffPlans(dev, after);
            assert.deepStrictEqual([d.added, d.removed], [[], []]);
            assert.deepStrictEqual([...d.changed.entries()].map(([urn, keys]) => [urn.split("::").pop(), keys]).sort(), [
                ["flask-app-ecs-image-codebuild-context", ["key", "source"]],
                ["flask-app-ecs-image-codebuild-image-build", ["contextSha256", "key", "tag"]],
                ["flask-app-ecs-service", ["taskDefinition"]],
                ["flask-app-ecs-task", ["containerDefinitions"]],
                // The release the app reports is the new tag: the live check runs again.
                ["flask-app-release-check", ["release"]],
            ]);
        });

        it("a change only .dockerignore leaves out (tests) changes nothing", async () => {
            const testsOnly = appCopy((dir) => fs.writeFileSync(path.join(dir, "tests", "test_extra.py"), "def test_x():\n    pass\n"));
            const after = await planStack("dev", ["target=ecs"], { appDir: testsOnly, cwd: path.dirname(testsOnly) });
            assert.deepStrictEqual(diffPlans(dev, after), { added: [], removed: [], changed: new Map() });
        });

        it("imageBuilder local: a code-only change touches the image, its build id and what runs it", async () => {
            const local = await planStack("dev", ["target=ecs", "imageBuilder=local"]);
            const edited = appCopy((dir) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a code change\n"));
            const after = await planStack("dev", ["target=ecs", "imageBuilder=local"], { appDir: edited, cwd: path.dirname(edited) });
            assert.deepStrictEqual([...diffPlans(local, after).changed.entries()].map(([urn, keys]) => [urn.split("::").pop(), keys]).sort(), [
                ["flask-app-ecs-image", ["labels", "tags"]],
                ["flask-app-ecs-image-build", ["keepers"]],
                ["flask-app-ecs-service", ["taskDefinition"]],
                ["flask-app-ecs-task", ["containerDefinitions"]],
                // The release the app reports is the new tag: the live check runs again.
                ["flask-app-release-check", ["release"]],
            ]);
        });
    });

    describe("runs in a row against a cloud that remembers", () => {
        const up = (memory: CloudMemory, dir: string, sets: string[]) => planStack("dev", sets, { appDir: dir, cwd: path.dirname(dir), cloud: { memory } });
        for (const target of ["ecs", "eks"] as const) {
            it(`${target}: builds once per content; an unchanged run, another umask and a revert build nothing`, async () => {
                const sets = target === "eks" ? [...EKS] : ["target=ecs"];
                const memory = new CloudMemory();
                const image = (p: PlanResult) => String(platformOutput(p, "imageUri"));
                const dir = appCopy(() => undefined);
                const first = await up(memory, dir, sets);
                assert.strictEqual(memory.runs[0].builds.length, 1);
                assert.ok(image(first).endsWith(`@${memory.runs[0].builds[0].digest}`), "what runs is what the build pushed");

                const again = await up(memory, dir, sets);
                assert.deepStrictEqual([memory.runs[1].builds, memory.runs[1].created, memory.runs[1].deleted], [[], [], []], "nothing built, created or deleted");
                assert.strictEqual(image(again), image(first));

                // Group-writable checkout (umask 002): same content, same zip, same tag: nothing to do.
                const other = appCopy((d) => {
                    for (const f of fs.readdirSync(d, { recursive: true, withFileTypes: true })) {
                        if (f.isFile()) {
                            fs.chmodSync(path.join(f.parentPath, f.name), (fs.statSync(path.join(f.parentPath, f.name)).mode & 0o100) ? 0o775 : 0o664);
                        }
                    }
                });
                const teammate = await up(memory, other, sets);
                assert.deepStrictEqual(memory.runs[2].builds, []);
                assert.strictEqual(image(teammate), image(first));

                const changed = appCopy((d) => fs.appendFileSync(path.join(d, "wsgi.py"), "\n# a code change\n"));
                const second = await up(memory, changed, sets);
                assert.strictEqual(memory.runs[3].builds.length, 1);
                assert.notStrictEqual(image(second), image(first));

                // Back to the first content: its tag is still in ECR, so no build and the first digest.
                const reverted = await up(memory, dir, sets);
                assert.deepStrictEqual(memory.runs[4].builds, []);
                assert.strictEqual(image(reverted), image(first));
            });
        }
    });
});

function taskImageOrUnknown(plan: PlanResult): string {
    const defs = input(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions");
    return typeof defs === "string" && defs !== "[unknown]" ? (JSON.parse(defs) as { image: string }[])[0].image : "[unknown]";
}
