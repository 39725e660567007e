// The post-deploy check as the engine runs it (issue 11 §3): the dynamic provider serialized the way
// the SDK stores it in the state, loaded back the way the dynamic-provider host loads it, and run
// against a loopback HTTP server that plays the app (old release then new, never the new one,
// /ready failing). Then the plans: every target, dev and prod, ends with the check, aimed at the
// stack's url and waiting for the very value the target puts in APP_RELEASE.
import * as assert from "assert";
import * as http from "http";
import { Module } from "module";
import { AddressInfo } from "net";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RELEASE_VERIFICATION_TYPE, ReleaseVerification, releaseVerificationProvider, VerificationInputs } from "../components/releaseVerification";
import { parseConfig } from "../config";
import { PlannedResource, PlanResult } from "../harness/run";
import { all, EKS, ebSettings, input, one, planStack } from "./helpers";

interface App { url: string; requests: () => number; close: () => Promise<void> }

/** The app's /health and /ready, as the behaviour says, on 127.0.0.1 and an ephemeral port. */
async function serveApp(releaseAt: (healthCall: number) => string, readyStatus = 200, paths = { health: "/health", ready: "/ready" }, readyBody = "{}"): Promise<App> {
    let health = 0;
    let requests = 0;
    const server = http.createServer((req, res) => {
        requests++;
        if (req.url === paths.health) {
            health++;
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", release: releaseAt(health) }));
        } else if (req.url === paths.ready) {
            res.writeHead(readyStatus, { "content-type": "application/json" }).end(readyBody);
        } else {
            res.writeHead(404).end();
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        requests: () => requests,
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}

/**
 * The provider as the engine gets it: serialized like @pulumi/pulumi dynamic/index.js
 * serializeProvider does, then loaded from the text like cmd/dynamic-provider/index.js
 * getProvider (`requireFromString(providerString).handler()`). What `pulumi destroy` or a later
 * update runs is this text from the state, not the module in this process.
 */
async function providerFromState(): Promise<{ text: string; provider: pulumi.dynamic.ResourceProvider }> {
    const sf = await pulumi.runtime.serializeFunction(() => releaseVerificationProvider, { allowSecrets: true });
    const m = new Module(path.join(__dirname, "state-provider.js"));
    (m as unknown as { _compile(code: string, file: string): void })._compile(sf.text, path.join(__dirname, "state-provider.js"));
    const handler = (m.exports as { handler: () => pulumi.dynamic.ResourceProvider }).handler;
    return { text: sf.text, provider: handler() };
}

const EVENTS = "aws ecs describe-services --cluster c --services s --region us-east-1 --query 'services[0].events[:10]'";
function inputs(url: string, release: string, more: Partial<VerificationInputs> = {}): VerificationInputs {
    // Small bounds keep each case under two seconds.
    return { url, release, platform: "ECS (deployment circuit breaker)", eventsCommand: EVENTS, timeoutSeconds: 1.5, intervalSeconds: 0.05, confirmations: 2, ...more };
}

describe("release verification: the dynamic provider", function () {
    this.timeout(20000);
    let provider: pulumi.dynamic.ResourceProvider;
    let text: string;
    before(async () => {
        ({ provider, text } = await providerFromState());
    });

    it("serializes to self-contained code: no require, no config or secret, only the check", () => {
        assert.ok(!/\brequire\(/.test(text), "the serialized provider requires a module: it would need it at destroy time");
        assert.ok(text.includes("never reported release"), "the check's messages are part of the serialized code");
        assert.ok(text.length < 20000, `serialized provider is ${text.length} characters: something large was captured`);
    });

    it("create waits through the old release until the new one answers, in a row, and /ready is 200", async () => {
        const app = await serveApp((n) => (n < 4 ? "amd64-old" : "amd64-new"));
        try {
            const result = await provider.create(inputs(app.url, "amd64-new"));
            assert.strictEqual(result.outs.release, "amd64-new");
            assert.strictEqual(result.outs.url, app.url);
            assert.ok(!Number.isNaN(Date.parse(result.outs.verifiedAt)), "verifiedAt is a timestamp");
            // 3 old answers, then 2 new ones in a row (confirmations), each followed by /ready.
            assert.strictEqual(app.requests(), 3 + 2 * 2);
        } finally {
            await app.close();
        }
    });

    it("update fails naming a rollback and the events command when the new release never arrives", async () => {
        const app = await serveApp(() => "amd64-old");
        const started = Date.now();
        try {
            await assert.rejects(provider.update!("release-verification", inputs(app.url, "amd64-old"), inputs(app.url, "amd64-new")), (e: Error) => {
                assert.match(e.message, /never reported release amd64-new within 2 s \(last: amd64-old\)/);
                assert.match(e.message, /ECS \(deployment circuit breaker\) most likely rolled back/);
                assert.ok(e.message.endsWith(`Read why: ${EVENTS}`), e.message);
                return true;
            });
            assert.ok(Date.now() - started < 3000, "bounded by timeoutSeconds");
        } finally {
            await app.close();
        }
    });

    it("fails naming the database when the new release runs but /ready answers 503", async () => {
        const app = await serveApp(() => "amd64-new", 503);
        try {
            await assert.rejects(provider.create(inputs(app.url, "amd64-new")), /runs release amd64-new but \/ready answered 503 within .*cannot use its database.*Read why: aws ecs describe-services/);
        } finally {
            await app.close();
        }
    });

    it("quotes the reason the app's /ready gives, so the operator sees a migration waiting for a lock", async () => {
        const reason = "schema migration could not lock the table within 2s (another session holds a lock on it); next try in 30s";
        const app = await serveApp(() => "amd64-new", 503, undefined, JSON.stringify({ error: "database unavailable", status: "unavailable", reason }));
        try {
            await assert.rejects(provider.create(inputs(app.url, "amd64-new")), (e: Error) => e.message.includes(`answered 503 (reason: ${reason}) within`));
        } finally {
            await app.close();
        }
    });

    it("polls the app's own paths when appHealthPath/appReadyPath are set, and only those", async () => {
        const app = await serveApp(() => "amd64-new", 200, { health: "/healthz", ready: "/readyz" });
        try {
            await provider.create(inputs(app.url, "amd64-new", { healthPath: "/healthz", readyPath: "/readyz" }));
            await assert.rejects(provider.create(inputs(app.url, "amd64-new")), /\/health never reported release amd64-new .*\(last: HTTP 404\)/);
        } finally {
            await app.close();
        }
    });

    it("fails when old and new keep alternating (never enough good answers in a row)", async () => {
        const app = await serveApp((n) => (n % 2 === 0 ? "amd64-new" : "amd64-old"));
        try {
            await assert.rejects(provider.create(inputs(app.url, "amd64-new")), /never reported release amd64-new .*\(last: amd64-old\)/);
        } finally {
            await app.close();
        }
    });

    it("diff: a change only when the release or the URL changes", async () => {
        const base = { ...inputs("http://a.example.com", "r1"), __provider: "old code" };
        const diff = (news: object) => provider.diff!("release-verification", base, news);
        // Same release and URL; new timeout, wording, events command and provider code: no update.
        assert.deepStrictEqual(await diff({ ...inputs("http://a.example.com", "r1", { timeoutSeconds: 900, eventsCommand: "other", confirmations: 5 }), __provider: "new code" }),
            { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.strictEqual((await diff(inputs("http://a.example.com", "r2"))).changes, true);
        assert.strictEqual((await diff(inputs("https://app.example.com", "r1"))).changes, true);
        // A preview of a new build: the release is not known yet, which is a change.
        assert.strictEqual((await diff(inputs("http://a.example.com", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"))).changes, true);
        // Never a replacement: the check has nothing to delete.
        assert.deepStrictEqual((await diff(inputs("http://b.example.com", "r9"))).replaces, []);
    });

    it("check and diff (all a preview runs) never reach the endpoint", async () => {
        const app = await serveApp(() => "amd64-new");
        try {
            const news = inputs(app.url, "amd64-new");
            await provider.check!(inputs(app.url, "amd64-old"), news);
            await provider.diff!("release-verification", inputs(app.url, "amd64-old"), news);
            assert.strictEqual(app.requests(), 0);
        } finally {
            await app.close();
        }
    });

    it("check rejects a URL with a path or no scheme, and lets unknown values through", async () => {
        const failures = async (url: string, release = "r1") => (await provider.check!(inputs("http://x", "r0"), inputs(url, release))).failures ?? [];
        assert.deepStrictEqual(await failures("https://app.example.com"), []);
        assert.deepStrictEqual(await failures("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"), []);
        assert.match((await failures("https://app.example.com/")).map((f) => f.reason).join(), /url must be http\(s\):\/\/host/);
        assert.match((await failures("app.example.com")).map((f) => f.property).join(), /^url$/);
        assert.match((await failures("http://a.example.com", "")).map((f) => f.property).join(), /^release$/);
    });

    it("the resource refuses a timeout outside 30..3600 s, or polls that do not fit in it", () => {
        const args = { url: "http://x", release: "r", platform: "ECS", eventsCommand: "e" };
        assert.throws(() => new ReleaseVerification("v", { ...args, timeoutSeconds: 10 }), /timeoutSeconds must be a whole number from 30 to 3600 \(got 10\)/);
        assert.throws(() => new ReleaseVerification("v", { ...args, timeoutSeconds: 30, intervalSeconds: 20, confirmations: 2 }), /must fit in timeoutSeconds/);
    });
});

describe("release verification: config", () => {
    const parse = (raw: Record<string, string>) => parseConfig("flask-platform", "dev", { target: "ecs", ...raw }, { implementedTargets: ["beanstalk", "ecs", "eks"] });
    it("is on by default with a 600 s bound; verifyDeploy=false turns it off", () => {
        assert.deepStrictEqual(parse({}).verify, { timeoutSeconds: 600 });
        assert.deepStrictEqual(parse({ verifyTimeoutSeconds: "120" }).verify, { timeoutSeconds: 120 });
        assert.strictEqual(parse({ verifyDeploy: "false" }).verify, undefined);
    });
    it("names the key and the allowed values for a bad bound, even with the check off", () => {
        assert.throws(() => parse({ verifyTimeoutSeconds: "5" }), /verifyTimeoutSeconds must be a whole number from 30 to 3600 \(got "5"\)/);
        assert.throws(() => parse({ verifyDeploy: "false", verifyTimeoutSeconds: "99999" }), /verifyTimeoutSeconds must be a whole number from 30 to 3600/);
        assert.throws(() => parse({ verifyDeploy: "yes" }), /verifyDeploy must be true or false \(got "yes"\)/);
    });
});

/** The APP_RELEASE value the target's own resource gives the app, and the resource that rolls it out. */
function appRelease(plan: PlanResult, target: string): { value: string; rollout: PlannedResource } {
    switch (target) {
        case "beanstalk": {
            const env = one(plan, "aws:elasticbeanstalk/environment:Environment");
            const value = ebSettings(env).get("aws:elasticbeanstalk:application:environment/APP_RELEASE")!;
            // The label of the version the environment runs.
            assert.strictEqual(value, input(env, "version"));
            return { value, rollout: env };
        }
        case "ecs": {
            const [container] = JSON.parse(input<string>(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), "containerDefinitions")) as
                { image: string; environment: { name: string; value: string }[] }[];
            const value = container.environment.find((e) => e.name === "APP_RELEASE")!.value;
            assert.ok(container.image.includes(`:${value}@sha256:`), `the image the task runs (${container.image}) has tag ${value}`);
            return { value, rollout: one(plan, "awsx:ecs:FargateService") };
        }
        default: {
            const deployment = one(plan, "kubernetes:apps/v1:Deployment");
            const spec = input<{ template: { spec: { containers: { image: string; env: { name: string; value: string }[] }[] } } }>(deployment, "spec");
            const [container] = spec.template.spec.containers;
            const value = container.env.find((e) => e.name === "APP_RELEASE")!.value;
            assert.ok(container.image.includes(`:${value}@sha256:`), `the image the pod runs (${container.image}) has tag ${value}`);
            return { value, rollout: deployment };
        }
    }
}

describe("release verification: every target's plan", function () {
    this.timeout(300000);
    const TARGETS: Record<string, readonly string[]> = { beanstalk: ["target=beanstalk"], ecs: ["target=ecs"], eks: EKS };

    for (const stack of ["dev", "prod"]) {
        for (const [target, sets] of Object.entries(TARGETS)) {
            it(`${stack}/${target}: ends with the check of the stack's url for the release the app is given`, async () => {
                const plan = await planStack(stack, sets);
                const check = one(plan, RELEASE_VERIFICATION_TYPE);
                const { value, rollout } = appRelease(plan, target);
                assert.ok(value.length > 0);
                assert.strictEqual(input(check, "release"), value);
                assert.strictEqual(input(check, "url"), plan.outputs.url);
                assert.strictEqual(plan.outputs.release, value);
                assert.strictEqual(input(check, "timeoutSeconds"), 600);
                // After the rollout, and at the stack's top level (a target move updates it in place).
                assert.ok(check.options.dependsOn.includes(rollout.urn), `${check.name} waits for ${rollout.name}`);
                assert.match(String(check.parent), /::pulumi:pulumi:Stack::flask-platform-/);
                const events = input<string>(check, "eventsCommand");
                const expected = { beanstalk: /^aws elasticbeanstalk describe-events --environment-name flask-app-\w+ --region us-east-1/, ecs: /^aws ecs describe-services --cluster flask-app-\w+ --services flask-app-\w+ --region us-east-1 --query 'services\[0\]\.events\[:10\]'$/, eks: /kubectl rollout status deployment\/app -n flask-app .*kubectl get events -n flask-app/ }[target]!;
                assert.match(events, expected);
            });
        }
    }

    for (const [target, sets] of Object.entries(TARGETS)) {
        it(`${target} with a domain: checks https://domain, after the alias record points it at the target`, async () => {
            const plan = await planStack("prod", [...sets, "domainName=app.example.com"]);
            const check = one(plan, RELEASE_VERIFICATION_TYPE);
            assert.strictEqual(input(check, "url"), "https://app.example.com");
            assert.strictEqual(plan.outputs.url, "https://app.example.com");
            const alias = all(plan, "aws:route53/record:Record").find((r) => input(r, "type") === "A" && input(r, "name") === "app.example.com")!;
            assert.ok(check.options.dependsOn.includes(alias.urn), "the check waits for the alias record");
            assert.strictEqual(input(check, "release"), appRelease(plan, target).value);
        });
    }

    it("verifyDeploy=false: no check in any target's plan; verifyTimeoutSeconds sets the bound", async () => {
        for (const sets of Object.values(TARGETS)) {
            const off = await planStack("dev", [...sets, "verifyDeploy=false"]);
            assert.deepStrictEqual(all(off, RELEASE_VERIFICATION_TYPE), []);
            assert.ok(!off.resources.some((r) => r.urn.endsWith("-release-check")));
        }
        const plan = await planStack("dev", ["target=ecs", "verifyTimeoutSeconds=1200"]);
        assert.strictEqual(input(one(plan, RELEASE_VERIFICATION_TYPE), "timeoutSeconds"), 1200);
    });

    it("polls the app's own health and readiness paths (appHealthPath, appReadyPath) on every target", async () => {
        for (const sets of Object.values(TARGETS)) {
            const plan = await planStack("dev", [...sets, "appHealthPath=/healthz", "appReadyPath=/readyz"]);
            const check = one(plan, RELEASE_VERIFICATION_TYPE);
            assert.deepStrictEqual([input(check, "healthPath"), input(check, "readyPath")], ["/healthz", "/readyz"]);
        }
    });

    it("maintenance mode (503 at the load balancer) leaves the check out; switching it off brings it back", async () => {
        for (const sets of Object.values(TARGETS)) {
            const on = await planStack("dev", [...sets, "maintenanceMode=true"]);
            assert.deepStrictEqual(all(on, RELEASE_VERIFICATION_TYPE), []);
            assert.strictEqual(all(await planStack("dev", [...sets]), RELEASE_VERIFICATION_TYPE).length, 1);
        }
    });

    it("a move to another target updates the same check (same URN) to the new URL and release", async () => {
        const [eb, ecs] = [await planStack("dev", ["target=beanstalk"]), await planStack("dev", ["target=ecs"])];
        const [before, after] = [one(eb, RELEASE_VERIFICATION_TYPE), one(ecs, RELEASE_VERIFICATION_TYPE)];
        assert.strictEqual(before.urn, after.urn);
        const { provider } = await providerFromState();
        assert.strictEqual((await provider.diff!("release-verification", before.inputs, after.inputs)).changes, true);
        assert.strictEqual(input(after, "url"), ecs.outputs.url);
        assert.notStrictEqual(input(before, "url"), input(after, "url"));
    });

    it("a second run with nothing changed gives the check the same release and url (no update)", async () => {
        const [a, b] = [await planStack("dev", ["target=ecs"]), await planStack("dev", ["target=ecs"])];
        const [ca, cb] = [one(a, RELEASE_VERIFICATION_TYPE), one(b, RELEASE_VERIFICATION_TYPE)];
        const { provider } = await providerFromState();
        const diff = await provider.diff!("release-verification", ca.inputs, cb.inputs);
        assert.strictEqual(diff.changes, false);
    });
});
