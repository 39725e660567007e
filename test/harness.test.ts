import * as assert from "assert";
import * as child from "child_process";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "../harness/run";
import { resolveStackConfig, ROOT } from "../harness/stackConfig";
import { parseArgs, planDocument } from "../scripts/plan";
import { EKS, planStack, promiseOf } from "./helpers";

const config = () => resolveStackConfig("dev");

describe("harness", () => {
    it("records inputs as the provider gets them: secrets hidden, resource references as URNs", async () => {
        const plan = await runProgram(() => {
            const bucket = new aws.s3.Bucket("b", { bucket: "plain-name" });
            new aws.s3.BucketObjectv2("o", { bucket, key: "k", content: pulumi.secret("s3cr3t"), metadata: { owner: "team" } });
            return { secretOut: pulumi.secret("hidden"), plainOut: bucket.bucket };
        }, config());
        const object = plan.resources.find((r) => r.name === "o")!;
        assert.strictEqual(object.inputs.content, "[secret]");
        assert.deepStrictEqual(object.inputs.metadata, { owner: "team" });
        assert.strictEqual(object.inputs.bucket, "urn:pulumi:dev::flask-platform::aws:s3/bucket:Bucket::b");
        assert.strictEqual(object.parent, "urn:pulumi:dev::flask-platform::pulumi:pulumi:Stack::flask-platform-dev");
        assert.deepStrictEqual(plan.outputs, { plainOut: "plain-name", secretOut: "[secret]" });
        assert.ok(!JSON.stringify(plan).includes("s3cr3t") && !JSON.stringify(plan).includes("hidden"));
    });

    it("fails the run when an apply throws, instead of hanging or passing", async () => {
        await assert.rejects(runProgram(() => {
            const bucket = new aws.s3.Bucket("b", {});
            new aws.s3.BucketObjectv2("o", { bucket: bucket.bucket.apply((): string => { throw new Error("boom inside apply"); }), key: "k" });
            return {};
        }, config()), /boom inside apply/);
    });

    it("gives resources the engine's URNs: the full parent type chain, none for the stack's children", async () => {
        const plan = await runProgram(() => {
            const outer = new pulumi.ComponentResource("test:outer:Outer", "o");
            const inner = new pulumi.ComponentResource("test:inner:Inner", "i", {}, { parent: outer });
            const bucket = new aws.s3.Bucket("b", {}, { parent: inner });
            return { ref: bucket.urn };
        }, config());
        const bucket = plan.resources.find((r) => r.name === "b")!;
        // pulumi/pulumi pkg/resource/deploy/deployment.go generateURN; the SDK's mock monitor would
        // say "test:inner:Inner$aws:s3/bucket:Bucket".
        assert.strictEqual(bucket.urn, "urn:pulumi:dev::flask-platform::test:outer:Outer$test:inner:Inner$aws:s3/bucket:Bucket::b");
        assert.strictEqual(bucket.parent, "urn:pulumi:dev::flask-platform::test:outer:Outer$test:inner:Inner::i");
        assert.strictEqual(plan.outputs.ref, bucket.urn);
    });

    it("refuses two resources with one URN, with the engine's message", async () => {
        await assert.rejects(runProgram(() => {
            new aws.s3.Bucket("same", {});
            new aws.s3.Bucket("same", {});
            return {};
        }, config()), (e: Error) => {
            assert.strictEqual(e.message, "Duplicate resource URN 'urn:pulumi:dev::flask-platform::aws:s3/bucket:Bucket::same'; try giving it a unique name");
            return true;
        });
        // Same name and type under parents of the same type but different grandparents: distinct for
        // the engine (the mock monitor's URNs would collide).
        const plan = await runProgram(() => {
            for (const kind of ["One", "Two"]) {
                const top = new pulumi.ComponentResource(`test:x:${kind}`, "top");
                const mid = new pulumi.ComponentResource("test:c:C", "c", {}, { parent: top });
                new aws.s3.Bucket("b", {}, { parent: mid });
            }
            return {};
        }, config());
        assert.deepStrictEqual(plan.resources.filter((r) => r.name === "b").map((r) => r.urn), [
            "urn:pulumi:dev::flask-platform::test:x:One$test:c:C$aws:s3/bucket:Bucket::b",
            "urn:pulumi:dev::flask-platform::test:x:Two$test:c:C$aws:s3/bucket:Bucket::b",
        ]);
    });

    it("records the options that change what the engine does, inherited as the engine inherits them", async () => {
        const plan = await runProgram(() => {
            const kept = new pulumi.ComponentResource("test:keep:Keep", "k", {}, { protect: true, retainOnDelete: true });
            const bucket = new aws.s3.Bucket("b", {}, { parent: kept });
            const plain = new aws.s3.Bucket("plain", {}, { parent: kept, protect: false, retainOnDelete: false });
            new aws.s3.BucketObjectv2("o", { bucket: bucket.id, key: "k" }, {
                dependsOn: [plain], deleteBeforeReplace: true, replaceOnChanges: ["key"], ignoreChanges: ["tags"],
                aliases: [{ name: "old-o" }, { name: "o", parent: undefined }], deletedWith: bucket,
            });
            return {};
        }, config());
        const byName = (n: string) => plan.resources.find((r) => r.name === n)!;
        assert.deepStrictEqual([byName("b").options.protect, byName("b").options.retainOnDelete], [true, true], "inherited from the parent");
        assert.deepStrictEqual([byName("plain").options.protect, byName("plain").options.retainOnDelete], [false, false], "set on the resource wins");
        const o = byName("o").options;
        assert.deepStrictEqual([o.protect, o.retainOnDelete, o.deleteBeforeReplace, o.replaceOnChanges, o.ignoreChanges], [false, false, true, ["key"], ["tags"]]);
        assert.deepStrictEqual([...o.dependsOn].sort(), [byName("b").urn, byName("plain").urn].sort(), "explicit dependsOn and the referenced bucket");
        // The provider adds its own alias (the v1 type); ours come first, collapsed to URNs.
        assert.deepStrictEqual(o.aliases.slice(0, 2), [
            "urn:pulumi:dev::flask-platform::aws:s3/bucketObjectv2:BucketObjectv2::old-o",
            "urn:pulumi:dev::flask-platform::aws:s3/bucketObjectv2:BucketObjectv2::o",
        ]);
        assert.strictEqual(o.deletedWith, byName("b").urn);
        const moved = await runProgram(() => {
            const parent = new pulumi.ComponentResource("test:p:P", "p");
            new aws.s3.Bucket("m", {}, { parent, aliases: [{ parent: undefined }] });
            return {};
        }, config());
        // Then the provider's own (the Bucket type's former name), kept once.
        assert.deepStrictEqual(moved.resources.find((r) => r.name === "m")!.options.aliases, [
            "urn:pulumi:dev::flask-platform::aws:s3/bucket:Bucket::m", "urn:pulumi:dev::flask-platform::test:p:P$aws:s3/bucketV2:BucketV2::m",
        ], "an alias without a parent names the old top-level URN");
    });

    it("in preview mode, provider-computed outputs are unknown while inputs and invokes are answered", async () => {
        const program = () => {
            const bucket = new aws.s3.Bucket("b", { tags: { team: "a" } });
            new aws.s3.BucketObjectv2("o", { bucket: bucket.bucket, key: "k" });
            const account = aws.getCallerIdentityOutput().accountId;
            // Never called on an unknown value; would throw on `undefined` if it were.
            const arnLength = bucket.arn.apply((arn) => arn.length);
            return { arn: bucket.arn, tags: bucket.tags, account, arnLength };
        };
        const preview = await runProgram(program, config(), undefined, { preview: true });
        assert.strictEqual(preview.preview, true);
        assert.strictEqual(preview.resources.find((r) => r.name === "o")!.inputs.bucket, "[unknown]");
        assert.deepStrictEqual(preview.outputs, { account: "123456789012", arn: "[unknown]", arnLength: "[unknown]", tags: { team: "a" } });
        const up = await runProgram(program, config());
        assert.strictEqual(up.preview, false);
        assert.match(String(up.outputs.arn), /^arn:aws:s3:::b-/);
        assert.strictEqual(up.outputs.arnLength, String(up.outputs.arn).length);
    });

    it("the plan document carries the options of every target's resources", async () => {
        const eks = planDocument(await planStack("prod", [...EKS]));
        const deployment = (eks.resources as { type: string; options: { ignoreChanges: string[] } }[]).find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        assert.deepStrictEqual(deployment.options.ignoreChanges, ["spec.replicas"]);
        const ecs = planDocument(await planStack("prod", ["target=ecs"]));
        const resources = ecs.resources as { type: string; urn: string; options: { dependsOn: string[] } }[];
        const service = resources.find((r) => r.type === "awsx:ecs:FargateService")!;
        const cluster = resources.find((r) => r.type === "aws:ecs/cluster:Cluster")!;
        assert.ok(service.options.dependsOn.includes(cluster.urn), "the service waits for its cluster");
    });

    it("promiseOf rejects instead of hanging on an output that never resolves", async () => {
        const never = pulumi.output(new Promise<string>(() => undefined));
        await assert.rejects(promiseOf(never, 50), /did not resolve within 50 ms/);
    });

    it("resolves a stack's config from Pulumi.yaml defaults, the stack file and --set", () => {
        const c = resolveStackConfig("dev", ["minCapacity=3", "aws:region=eu-west-1", "domainName=app.example.com"]);
        assert.strictEqual(c.values["flask-platform:appPort"], "8000", "project default");
        assert.strictEqual(c.values["flask-platform:target"], "beanstalk", "stack file");
        assert.strictEqual(c.values["flask-platform:minCapacity"], "3", "override");
        assert.strictEqual(c.values["aws:region"], "eu-west-1");
        assert.strictEqual(c.values["aws:defaultTags"], undefined, "the program derives project and stack tags (lib/tags.ts)");
        assert.throws(() => resolveStackConfig("dev", ["novalue"]), /--set expects key=value \(got "novalue"\)/);
        assert.throws(() => resolveStackConfig("staging"), /no stack file Pulumi.staging.yaml; stacks here: dev, prod/);
    });

    it("parses plan arguments and rejects unknown ones", () => {
        assert.deepStrictEqual(parseArgs(["--stack", "prod", "--set", "target=ecs", "--json"]), { stack: "prod", sets: ["target=ecs"], json: true, preview: false });
        assert.strictEqual(parseArgs(["--stack", "dev", "--preview"]).preview, true);
        assert.throws(() => parseArgs([]), /--stack is required/);
        assert.throws(() => parseArgs(["--stack", "dev", "--yes"]), /unknown argument "--yes"/);
    });
});

describe("npm run plan (as a newcomer runs it)", function () {
    this.timeout(120000);
    const plan = (...args: string[]) => child.spawnSync(process.execPath, [require.resolve("ts-node/dist/bin"), "--transpile-only", path.join(ROOT, "scripts", "plan.ts"), ...args], { cwd: ROOT, encoding: "utf8" });

    it("prints one JSON document of the documented shape, with each resource's options", () => {
        const r = plan("--stack", "prod", "--json");
        assert.strictEqual(r.status, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.deepStrictEqual(Object.keys(doc), ["project", "stack", "preview", "config", "resources", "outputs"]);
        assert.strictEqual(doc.project, "flask-platform");
        assert.strictEqual(doc.stack, "prod");
        assert.strictEqual(doc.preview, false);
        assert.strictEqual(doc.config["flask-platform:target"], "beanstalk");
        const urns = new Set(doc.resources.map((res: { urn: string }) => res.urn));
        for (const res of doc.resources) {
            assert.deepStrictEqual(Object.keys(res), ["urn", "type", "name", "parent", "custom", "inputs", "options"]);
            assert.deepStrictEqual(Object.keys(res.options), ["protect", "retainOnDelete", "deleteBeforeReplace", "replaceOnChanges", "ignoreChanges", "dependsOn", "aliases", "deletedWith"]);
            for (const dep of res.options.dependsOn) {
                assert.ok(urns.has(dep), `${res.name} depends on ${dep}, which is not in the plan`);
            }
        }
        const version = doc.resources.find((res: { type: string }) => res.type === "aws:elasticbeanstalk/applicationVersion:ApplicationVersion");
        assert.strictEqual(version.options.retainOnDelete, true);
        const env = doc.resources.find((res: { type: string }) => res.type === "aws:elasticbeanstalk/environment:Environment");
        assert.ok(env.custom);
        assert.ok(Array.isArray(env.inputs.settings));
        assert.deepStrictEqual(Object.keys(doc.outputs).filter((k) => ["target", "url", "healthUrl"].includes(k)).sort(), ["healthUrl", "target", "url"]);
    });

    it("prints the resource tree and outputs for humans, marking what pulumi destroy keeps", () => {
        const r = plan("--stack", "prod");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Stack flask-platform\/prod: \d+ resources \(offline plan, mock cloud\)/);
        assert.match(r.stdout, /\+ awsx:ec2:Vpc {2}flask-app/);
        assert.match(r.stdout, /aws:elasticbeanstalk:command DeploymentPolicy = Immutable/);
        assert.match(r.stdout, /\n {2}url: http:\/\//);
        assert.match(r.stdout, /\+ aws:elasticbeanstalk\/applicationVersion:ApplicationVersion {2}\S+ {2}\[retained\]\n/);
        assert.match(r.stdout, /\npulumi destroy leaves these in the account \(retainOnDelete\): \d+\n {2}aws:/);
    });

    it("--preview runs as a first pulumi preview: what only a deploy knows is [unknown]", () => {
        const r = plan("--stack", "dev", "--set", "target=ecs", "--preview");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Stack flask-platform\/dev: \d+ resources \(first preview, mock cloud: \[unknown\] is known only after deploy\)/);
        assert.match(r.stdout, /\n {2}url: \[unknown\]\n/);
        assert.match(r.stdout, /\n {2}target: ecs\n/);
    });

    it("refuses a stack the Pulumi CLI would refuse, with the CLI's message", () => {
        const r = plan("--stack", "dev", "--set", "appPort=eighty");
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.stdout, "");
        assert.strictEqual(r.stderr.trim(), "Stack 'dev' with configuration key 'appPort' must be of type 'integer'");
    });

    it("exits non-zero with only the config errors, naming the allowed targets", () => {
        const r = plan("--stack", "dev", "--set", "target=nope");
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /target must be one of beanstalk, ecs, eks \(got "nope"\)/);
    });
});
