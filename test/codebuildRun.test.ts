// The CodeBuild start-and-wait step (lib/codebuildRun.ts, issue 12) against a local AWS API:
// moto_server (moto 5.2) for ECR and for a build that succeeds, and a small stub speaking
// CodeBuild's JSON protocol for what moto cannot do. moto's CodeBuild ignores StartBuild's
// overrides and marks every build SUCCEEDED at its first BatchGetBuilds
// (moto/codebuild/models.py `batch_get_builds`), so a build that fails or is still running after
// the wait bound, and the exact StartBuild request, are checked against the stub. moto also sends
// CodeBuild's timestamps as ISO strings where the API (and the SDK v3 parser) has epoch seconds
// ("Expected real number, got implicit NaN"); `epochTimestamps` converts them on the way in.
import * as assert from "assert";
import * as child from "child_process";
import * as http from "http";
import * as net from "net";
import { createRequire } from "module";
import { Readable } from "stream";
import * as path from "path";
import { BatchGetBuildsCommand, CodeBuildClient, CreateProjectCommand, ListBuildsForProjectCommand } from "@aws-sdk/client-codebuild";
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { buildspec, imageBuildProvider } from "../components/codeBuildImage";
import { ROOT } from "../harness/stackConfig";
import { buildImage, Clients, ImageBuildInputs, ImageBuildOutputs, rebuildKeys } from "../lib/codebuildRun";
import { planStack } from "./helpers";

const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };
const REPO = "flask-app-dev";
const PROJECT = "flask-app-dev-image";
const MANIFEST = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: 7023, digest: `sha256:${"a".repeat(64)}` },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 32654, digest: `sha256:${"b".repeat(64)}` }],
});

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

async function waitForPort(port: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
        const up = await new Promise<boolean>((resolve) => {
            const c = net.connect(port, "127.0.0.1", () => {
                c.end();
                resolve(true);
            });
            c.once("error", () => resolve(false));
        });
        if (up) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(`nothing listened on 127.0.0.1:${port} within ${ms} ms`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Rewrites ISO-8601 string timestamps in moto's CodeBuild JSON responses to epoch seconds. */
function epochTimestamps(client: CodeBuildClient): CodeBuildClient {
    client.middlewareStack.add((next) => async (args) => {
        const out = await next(args);
        const response = out.response as { body?: Readable };
        if (response.body) {
            const chunks: Buffer[] = [];
            for await (const c of response.body) {
                chunks.push(Buffer.from(c as Buffer));
            }
            const text = Buffer.concat(chunks).toString("utf8")
                .replace(/"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"/g, (_m, iso: string) => String(Date.parse(iso) / 1000));
            response.body = Readable.from([Buffer.from(text, "utf8")]);
        }
        return out;
    }, { step: "deserialize", priority: "low", name: "motoEpochTimestamps" });
    return client;
}

function inputs(over: Partial<ImageBuildInputs> = {}): ImageBuildInputs {
    return {
        projectName: PROJECT, region: REGION, bucket: "flask-app-dev-cb-0123", key: `contexts/${"c".repeat(64)}.zip`,
        tag: `amd64-${"c".repeat(64)}`, contextSha256: "c".repeat(64), repositoryName: REPO,
        repositoryUrl: `123456789012.dkr.ecr.${REGION}.amazonaws.com/${REPO}`, buildspec: buildspec(), waitSeconds: 60, pollSeconds: 1,
        ...over,
    };
}

/** A clock that only moves when the code under test sleeps: bounds are checked without waiting. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
    let t = 1_000_000;
    const slept: number[] = [];
    return { now: () => t, sleep: async (ms) => { slept.push(ms); t += ms; }, slept };
}

describe("CodeBuild start-and-wait (lib/codebuildRun.ts)", function () {
    this.timeout(120000);
    let moto: child.ChildProcess | undefined;
    let endpoint = "";
    let ecr: ECRClient;
    let codebuild: CodeBuildClient;
    /** Builds of the project as moto records them. */
    const builds = async () => (await codebuild.send(new ListBuildsForProjectCommand({ projectName: PROJECT }))).ids ?? [];

    before(async function () {
        // moto's server mode is a pip package (moto[server]), not a Debian one: say so in one line.
        const probe = child.spawnSync("python3", ["-c", "import moto, moto.server; print(moto.__version__)"], { encoding: "utf8", timeout: 30000 });
        if (probe.status !== 0) {
            throw new Error(`these tests need moto_server in the python3 on PATH (python3 -m pip install 'moto[server]==5.2.1'): ${probe.stderr.trim().split("\n").pop()}`);
        }
        const port = await freePort();
        // Bounded in time even if this process dies before its after-hook: `timeout` ends it (and
        // passes on the SIGTERM the after-hook sends by PID).
        moto = child.spawn("timeout", ["600", "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
        endpoint = `http://127.0.0.1:${port}`;
        await waitForPort(port, 30000);
        ecr = new ECRClient({ region: REGION, endpoint, credentials: CREDENTIALS });
        codebuild = epochTimestamps(new CodeBuildClient({ region: REGION, endpoint, credentials: CREDENTIALS }));
        await ecr.send(new CreateRepositoryCommand({ repositoryName: REPO, imageTagMutability: "IMMUTABLE" }));
        await codebuild.send(new CreateProjectCommand({
            name: PROJECT, source: { type: "S3", location: "flask-app-dev-cb-0123/contexts/" }, artifacts: { type: "NO_ARTIFACTS" },
            environment: { type: "LINUX_CONTAINER", image: "aws/codebuild/amazonlinux-x86_64-standard:5.0", computeType: "BUILD_GENERAL1_SMALL", privilegedMode: true },
            serviceRole: "arn:aws:iam::123456789012:role/flask-app-dev-build",
        }));
    });

    after(() => {
        if (moto?.pid !== undefined) {
            process.kill(moto.pid);
        }
    });

    /** The moto CodeBuild client, with a "build" that pushes `tag` (PutImage) when it is started. */
    function pushingClients(tag: string, pushed: string[] = []): Clients {
        const cb = epochTimestamps(new CodeBuildClient({ region: REGION, endpoint, credentials: CREDENTIALS }));
        cb.middlewareStack.add((next, context) => async (args) => {
            const out = await next(args);
            if (context.commandName === "StartBuildCommand") {
                const put = await ecr.send(new PutImageCommand({ repositoryName: REPO, imageTag: tag, imageManifest: MANIFEST }));
                pushed.push(String(put.image?.imageId?.imageDigest));
            }
            return out;
        }, { step: "initialize", name: "emulatePush" });
        return { codebuild: cb, ecr };
    }

    it("success: starts one build, waits for SUCCEEDED and returns the digest ECR holds for the tag", async () => {
        const before = (await builds()).length;
        const tag = "amd64-success";
        const pushed: string[] = [];
        const result = await buildImage(pushingClients(tag, pushed), inputs({ tag }), fakeClock());
        const after = await builds();
        assert.strictEqual(after.length, before + 1, "exactly one build started");
        assert.strictEqual(result.buildId, after[after.length - 1]);
        const [b] = (await codebuild.send(new BatchGetBuildsCommand({ ids: [result.buildId] }))).builds ?? [];
        assert.strictEqual(b.buildStatus, "SUCCEEDED");
        // The digest is read back from ECR: the one the push (PutImage) was given.
        assert.strictEqual(pushed.length, 1);
        assert.match(result.imageDigest, /^sha256:[0-9a-f]{64}$/);
        assert.strictEqual(result.imageDigest, pushed[0]);
    });

    it("a build that succeeds without pushing the tag is an error, not a digest from nowhere", async () => {
        const clients = { codebuild, ecr };
        await assert.rejects(buildImage(clients, inputs({ tag: "amd64-never-pushed" }), fakeClock()),
            /CodeBuild build flask-app-dev-image:[0-9a-f-]+ succeeded but flask-app-dev:amd64-never-pushed is not in ECR/);
    });

    it("a tag ECR already holds (unchanged digest, or a revert) starts nothing and returns its digest", async () => {
        const tag = "amd64-already";
        const pushed = await ecr.send(new PutImageCommand({ repositoryName: REPO, imageTag: tag, imageManifest: MANIFEST.replace("7023", "7024") }));
        const before = (await builds()).length;
        const result = await buildImage({ codebuild, ecr }, inputs({ tag }), fakeClock());
        assert.deepStrictEqual(result, { imageDigest: pushed.image?.imageId?.imageDigest, buildId: "" });
        assert.strictEqual((await builds()).length, before, "no build started");
    });

    describe("against a CodeBuild stub (states moto cannot produce)", () => {
        let server: http.Server;
        let stub = "";
        const requests: { target: string; body: Record<string, unknown> }[] = [];
        let scenario: "failed" | "stuck" | "denied" | "denied-once" = "failed";
        let polls = 0;
        let starts = 0;
        const DENIED = [
            { phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED" }, { phaseType: "QUEUED", phaseStatus: "SUCCEEDED" },
            { phaseType: "PROVISIONING", phaseStatus: "SUCCEEDED" },
            { phaseType: "DOWNLOAD_SOURCE", phaseStatus: "CLIENT_ERROR", contexts: [{ statusCode: "CLIENT_ERROR", message: "AccessDenied: Access Denied status code: 403 for primary source and source version flask-app-dev-cb-0123/contexts/c.zip" }] },
        ];

        before(async () => {
            server = http.createServer((req, res) => {
                let text = "";
                req.on("data", (c) => (text += c));
                req.on("end", async () => {
                    const target = String(req.headers["x-amz-target"] ?? "");
                    requests.push({ target, body: JSON.parse(text || "{}") });
                    const build = (status: string, extra: Record<string, unknown> = {}) => ({
                        id: `${PROJECT}:stub-1`, projectName: PROJECT, buildStatus: status, currentPhase: status === "IN_PROGRESS" ? "BUILD" : "COMPLETED", ...extra,
                    });
                    let body: unknown;
                    const tag = () => String((requests.find((r) => r.target.endsWith(".StartBuild"))?.body.environmentVariablesOverride as { value: string }[])[0].value);
                    if (target.endsWith(".StartBuild")) {
                        polls = 0;
                        starts++;
                        if (scenario === "denied-once" && starts === 2) {  // the retried build pushes
                            await ecr.send(new PutImageCommand({ repositoryName: REPO, imageTag: tag(), imageManifest: MANIFEST.replace("7023", "7025") }));
                        }
                        body = { build: build("IN_PROGRESS") };
                    } else if (target.endsWith(".BatchGetBuilds") && (scenario === "denied" || scenario === "denied-once")) {
                        body = { builds: [scenario === "denied" || starts === 1 ? build("FAILED", { phases: DENIED }) : build("SUCCEEDED")], buildsNotFound: [] };
                    } else if (target.endsWith(".BatchGetBuilds")) {
                        polls++;
                        body = { builds: [scenario === "failed" && polls >= 2 ? build("FAILED", {
                            phases: [
                                { phaseType: "PRE_BUILD", phaseStatus: "SUCCEEDED" },
                                { phaseType: "BUILD", phaseStatus: "FAILED", contexts: [{ statusCode: "COMMAND_EXECUTION_ERROR", message: "Error while executing command: docker build . Reason: exit status 1" }] },
                                { phaseType: "POST_BUILD", phaseStatus: "SUCCEEDED" },
                            ],
                            logs: { deepLink: "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/flask-app-dev-image;stream=stub-1" },
                        }) : build("IN_PROGRESS", { logs: { deepLink: "https://console.aws.amazon.com/cloudwatch/home#stub-1" } })], buildsNotFound: [] };
                    } else {
                        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
                        res.end(JSON.stringify({ __type: "InvalidInputException", message: `stub: ${target}` }));
                        return;
                    }
                    res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
                    res.end(JSON.stringify(body));
                });
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            stub = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
        });
        after(() => new Promise<void>((resolve) => server.close(() => resolve())));

        const stubClients = (): Clients => ({ codebuild: new CodeBuildClient({ region: REGION, endpoint: stub, credentials: CREDENTIALS }), ecr });

        it("the provider: an unchanged tag is no change and no call; a new one builds with the SDK's default clients", async () => {
            const olds: ImageBuildOutputs = { ...inputs({ tag: "amd64-provider" }), imageDigest: `sha256:${"d".repeat(64)}`, imageUri: "x", buildId: "p:1" };
            assert.deepStrictEqual(await imageBuildProvider.diff!("id", olds, inputs({ tag: "amd64-provider" })), { changes: false, replaces: [], deleteBeforeReplace: false });
            assert.deepStrictEqual(rebuildKeys(olds, inputs({ tag: "amd64-provider", waitSeconds: 5 })), []);
            // The provider builds with the ambient environment, as under `pulumi up` (SDK v3's
            // service-specific endpoint variables): CodeBuild is the stub, ECR is moto.
            const vars: Record<string, string> = {
                AWS_ENDPOINT_URL_CODEBUILD: stub, AWS_ENDPOINT_URL_ECR: endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: REGION,
            };
            const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
            Object.assign(process.env, vars);
            try {
                scenario = "failed";
                requests.length = 0;
                // Only the wait bound changed: recorded, no AWS call, the old digest kept.
                const same = await imageBuildProvider.update!("id", olds, inputs({ tag: "amd64-provider", waitSeconds: 5 }));
                assert.strictEqual(same.outs?.imageDigest, olds.imageDigest);
                assert.strictEqual(requests.length, 0, "no request");
                // A new tag: ECR (moto) has no such image, so a build starts; the stub fails it.
                await assert.rejects(imageBuildProvider.update!("id", olds, inputs({ tag: "amd64-provider-2", pollSeconds: 0 })), /ended FAILED \(phase BUILD FAILED: COMMAND_EXECUTION_ERROR/);
                assert.deepStrictEqual(requests.map((r) => r.target), ["CodeBuild_20161006.StartBuild", "CodeBuild_20161006.BatchGetBuilds", "CodeBuild_20161006.BatchGetBuilds"]);
            } finally {
                for (const [k, v] of Object.entries(saved)) {
                    if (v === undefined) {
                        delete process.env[k];
                    } else {
                        process.env[k] = v;
                    }
                }
            }
        });

        it("starts the build from the context object, with the buildspec and the tag", async () => {
            scenario = "failed";
            requests.length = 0;
            await assert.rejects(buildImage(stubClients(), inputs({ tag: "amd64-request" }), fakeClock()));
            const start = requests.find((r) => r.target === "CodeBuild_20161006.StartBuild");
            assert.ok(start, requests.map((r) => r.target).join(", "));
            assert.deepStrictEqual(start.body, {
                projectName: PROJECT, sourceTypeOverride: "S3", sourceLocationOverride: `flask-app-dev-cb-0123/contexts/${"c".repeat(64)}.zip`, buildspecOverride: buildspec(),
                environmentVariablesOverride: [{ name: "IMAGE_TAG", value: "amd64-request", type: "PLAINTEXT" }, { name: "CONTEXT_SHA256", value: "c".repeat(64), type: "PLAINTEXT" }],
            });
        });

        it("a failed build: the phase, CodeBuild's reason and the log link are the error", async () => {
            scenario = "failed";
            const clock = fakeClock();
            await assert.rejects(buildImage(stubClients(), inputs({ tag: "amd64-fails" }), clock), (e: Error) => {
                assert.strictEqual(e.message, "CodeBuild build flask-app-dev-image:stub-1 of project flask-app-dev-image ended FAILED "
                    + "(phase BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: docker build . Reason: exit status 1). "
                    + "Logs: https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/flask-app-dev-image;stream=stub-1");
                return true;
            });
            assert.deepStrictEqual(clock.slept, [1000], "polled once more after IN_PROGRESS, a poll interval later");
        });

        it("a build denied its source before the buildspec ran (IAM still applying a new role's policy) is started again, and succeeds", async () => {
            scenario = "denied-once";
            starts = 0;
            requests.length = 0;
            const clock = fakeClock();
            const result = await buildImage(stubClients(), inputs({ tag: "amd64-denied-once" }), clock);
            assert.match(result.imageDigest, /^sha256:[0-9a-f]{64}$/);
            assert.strictEqual(starts, 2, "one retry");
            assert.deepStrictEqual(clock.slept, [15000], "after a pause");
        });

        it("denied every time: three builds, then the denial and what to check; a failure in the buildspec is never retried", async () => {
            scenario = "denied";
            starts = 0;
            const clock = fakeClock();
            await assert.rejects(buildImage(stubClients(), inputs({ tag: "amd64-denied", waitSeconds: 600 }), clock), (e: Error) => {
                assert.match(e.message, /ended FAILED \(phase DOWNLOAD_SOURCE CLIENT_ERROR: CLIENT_ERROR: AccessDenied: Access Denied status code: 403/);
                assert.match(e.message, /Build 3 of 3, each denied before the buildspec ran, 15 and 30 s apart: .*check the project role's policy and the context bucket's policy\.$/);
                return true;
            });
            assert.strictEqual(starts, 3);
            assert.deepStrictEqual(clock.slept, [15000, 30000]);
            // A pause that would pass the wait bound is not taken: the first denial is the error.
            starts = 0;
            await assert.rejects(buildImage(stubClients(), inputs({ tag: "amd64-denied-late", waitSeconds: 10 }), fakeClock()), /ended FAILED \(phase DOWNLOAD_SOURCE/);
            assert.strictEqual(starts, 1);
            // A failure in the buildspec (BUILD phase) is the app's, not IAM's: one build.
            scenario = "failed";
            starts = 0;
            await assert.rejects(buildImage(stubClients(), inputs({ tag: "amd64-fails-once", waitSeconds: 600 }), fakeClock()), /phase BUILD FAILED/);
            assert.strictEqual(starts, 1);
        });

        it("a build still running at the bound: a timeout error naming the build and its logs, after the bound and no later", async () => {
            scenario = "stuck";
            const clock = fakeClock();
            const t0 = clock.now();
            await assert.rejects(buildImage(stubClients(), inputs({ tag: "amd64-stuck", waitSeconds: 30, pollSeconds: 7 }), clock),
                /^Error: CodeBuild build flask-app-dev-image:stub-1 still IN_PROGRESS \(phase BUILD\) after 30 s; .* Logs: https:\/\/console\.aws\.amazon\.com\/cloudwatch\/home#stub-1$/);
            assert.strictEqual(clock.now() - t0, 30000, "waited exactly the bound");
            assert.deepStrictEqual(clock.slept, [7000, 7000, 7000, 7000, 2000]);
        });
    });
});

describe("CodeBuild image: the serialized dynamic provider", function () {
    this.timeout(120000);
    it("loads on its own, as the engine's dynamic provider host does, and diffs without AWS", async () => {
        const plan = await planStack("dev", ["target=ecs"]);
        const build = plan.resources.find((r) => r.type === "pulumi-nodejs:dynamic/codebuild:ImageBuild");
        assert.ok(build);
        const text = String(build.inputs.__provider);
        // The host evaluates the text as a module of the project (node_modules resolved from there).
        const mod = { exports: {} as { handler?: () => typeof imageBuildProvider } };
        new Function("exports", "require", "module", text)(mod.exports, createRequire(path.join(ROOT, "index.ts")), mod);
        const provider = mod.exports.handler!();
        const olds = { ...inputs(), imageDigest: "sha256:x", imageUri: "u", buildId: "" };
        assert.deepStrictEqual(await provider.diff!("id", olds, inputs()), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.strictEqual((await provider.diff!("id", olds, inputs({ tag: "amd64-other" }))).changes, true);
        assert.deepStrictEqual(Object.keys(provider).sort(), ["create", "delete", "diff", "update"]);
    });
});
