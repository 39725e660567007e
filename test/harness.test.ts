import * as assert from "assert";
import * as child from "child_process";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "../harness/run";
import { resolveStackConfig, ROOT } from "../harness/stackConfig";
import { parseArgs } from "../scripts/plan";
import { promiseOf } from "./helpers";

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
        assert.strictEqual(object.inputs.bucket, "urn:pulumi:dev::flask-platform::pulumi:pulumi:Stack$aws:s3/bucket:Bucket::b");
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
        assert.deepStrictEqual(JSON.parse(c.values["aws:defaultTags"]), { tags: { project: "flask-platform", stack: "dev", "managed-by": "pulumi" } });
        assert.throws(() => resolveStackConfig("dev", ["novalue"]), /--set expects key=value \(got "novalue"\)/);
        assert.throws(() => resolveStackConfig("staging"), /no stack file Pulumi.staging.yaml; stacks here: dev, prod/);
    });

    it("parses plan arguments and rejects unknown ones", () => {
        assert.deepStrictEqual(parseArgs(["--stack", "prod", "--set", "target=ecs", "--json"]), { stack: "prod", sets: ["target=ecs"], json: true });
        assert.throws(() => parseArgs([]), /--stack is required/);
        assert.throws(() => parseArgs(["--stack", "dev", "--yes"]), /unknown argument "--yes"/);
    });
});

describe("npm run plan (as a newcomer runs it)", function () {
    this.timeout(120000);
    const plan = (...args: string[]) => child.spawnSync(process.execPath, [require.resolve("ts-node/dist/bin"), "--transpile-only", path.join(ROOT, "scripts", "plan.ts"), ...args], { cwd: ROOT, encoding: "utf8" });

    it("prints one JSON document of the documented shape", () => {
        const r = plan("--stack", "dev", "--json");
        assert.strictEqual(r.status, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.deepStrictEqual(Object.keys(doc), ["project", "stack", "config", "resources", "outputs"]);
        assert.strictEqual(doc.project, "flask-platform");
        assert.strictEqual(doc.stack, "dev");
        assert.strictEqual(doc.config["flask-platform:target"], "beanstalk");
        for (const res of doc.resources) {
            assert.deepStrictEqual(Object.keys(res), ["urn", "type", "name", "parent", "custom", "inputs"]);
        }
        const env = doc.resources.find((res: { type: string }) => res.type === "aws:elasticbeanstalk/environment:Environment");
        assert.ok(env.custom);
        assert.ok(Array.isArray(env.inputs.settings));
        assert.deepStrictEqual(Object.keys(doc.outputs).filter((k) => ["target", "url", "healthUrl"].includes(k)).sort(), ["healthUrl", "target", "url"]);
    });

    it("prints the resource tree and outputs for humans", () => {
        const r = plan("--stack", "prod");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Stack flask-platform\/prod: \d+ resources/);
        assert.match(r.stdout, /\+ awsx:ec2:Vpc {2}flask-app/);
        assert.match(r.stdout, /aws:elasticbeanstalk:command DeploymentPolicy = Immutable/);
        assert.match(r.stdout, /\n {2}url: http:\/\//);
    });

    it("exits non-zero with only the config errors, naming the allowed targets", () => {
        const r = plan("--stack", "dev", "--set", "target=nope");
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /target must be one of beanstalk, ecs, eks \(got "nope"\)/);
    });
});
