// The deploy verified against the live endpoint (issue 11 §3). `pulumi up` can report success while
// the platform kept the old version: an ECS circuit-breaker rollback still reads "updated"
// (pulumi/pulumi-aws#4487, pulumi/pulumi-awsx#1848), and every load balancer checks /health, which
// never touches the database. This resource, created after the rollout, polls the public URL until
// /health reports the release just deployed (APP_RELEASE, app/README.md) and /ready answers 200,
// and otherwise fails `pulumi up` with the likely cause and the command that shows the platform's
// events (lib/releaseCheck.ts).
//
// Why a dynamic provider (see README, "Deploys verified against the live endpoint"):
// - Resource hooks cannot fail an update: "after_${action} hooks that raise an exception will log a
//   warning, but do not cause the action or the deployment to fail" (@pulumi/pulumi reference,
//   interfaces/ResourceHookBinding). And a hook on the ECS service would not run again on a retry,
//   because the service itself has no diff the second time.
// - @pulumi/command's local.Command would work, but adds a provider plugin to download on every
//   runner and a shell script to keep in step with this code; a dynamic provider runs in the Node
//   that runs the program, with nothing to install.
// - Preview never polls: the Node.js dynamic provider does not announce preview support in its
//   Configure response (@pulumi/pulumi cmd/dynamic-provider/index.js `configure`), and the engine
//   then answers Create and Update during a preview from the inputs without calling the provider
//   (pulumi/pulumi sdk/go/common/resource/plugin/provider_plugin.go, Create/Update:
//   `if !protocol.supportsPreview ... return CreateResponse{Properties: req.Properties}`).
//   Only `check` and `diff` below run during a preview, and neither touches the network.
// - A failed check leaves the old release in the state (an update that fails records nothing new),
//   so the next `pulumi up` checks again even though the platform's resources show no diff.
//
// Constraints of dynamic providers, and how this one meets them: the provider object is serialized
// into the state with everything it captures (@pulumi/pulumi dynamic/index.js serializeProvider,
// runtime/closure): it captures only lib/releaseCheck.ts, which uses Node's globals and no imports,
// and no config, secret or client. `pulumi destroy` deserializes it from the state; there is nothing
// to delete (no `delete`), so a destroy only needs the project's node_modules, as every Node.js
// dynamic provider does. The diff is this provider's own (never the engine's default, which would
// also compare the serialized code), so a new version of this file alone re-runs nothing.
import * as pulumi from "@pulumi/pulumi";
import { verifyRelease } from "../lib/releaseCheck";

/** Bounds of the whole check, seconds (config key verifyTimeoutSeconds uses the same). */
export const VERIFY_TIMEOUT_RANGE = { min: 30, max: 3600 } as const;

/** The engine's placeholder for a value not known yet (a preview); @pulumi/pulumi runtime/rpc.js `unknownValue`. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Arguments of {@link ReleaseVerification}. */
export interface ReleaseVerificationArgs {
    /** The app's public base URL, the stack's `url` output (https://domain when a domain is set). */
    readonly url: pulumi.Input<string>;
    /** What GET /health must report as `release`: the APP_RELEASE value the target set. */
    readonly release: pulumi.Input<string>;
    /** Who rolls back a failed deploy, for the message ("ECS", "Elastic Beanstalk", "Kubernetes"). */
    readonly platform: string;
    /** The command that shows the platform's events, printed when the check fails. */
    readonly eventsCommand: pulumi.Input<string>;
    /** Give up after this long (seconds, 30..3600). */
    readonly timeoutSeconds: number;
    /** Pause between polls (seconds). Default 5. */
    readonly intervalSeconds?: number;
    /** The health path that reports `release` and the readiness path (appHealthPath, appReadyPath). Defaults /health, /ready. */
    readonly healthPath?: string;
    readonly readyPath?: string;
    /** Good polls needed in a row, so old targets still behind the load balancer are gone. Default 3. */
    readonly confirmations?: number;
}

/** The inputs as the provider receives them (and keeps as outputs). */
export interface VerificationInputs {
    readonly url: string;
    readonly release: string;
    readonly platform: string;
    readonly eventsCommand: string;
    readonly timeoutSeconds: number;
    readonly intervalSeconds: number;
    readonly confirmations: number;
    readonly healthPath?: string;
    readonly readyPath?: string;
}

/** What a change of only these inputs means: a new rollout to check. Everything else is how to check. */
export const VERIFIED_KEYS = ["url", "release"] as const;

/** Polls until the release is live and ready (lib/releaseCheck.ts), in the units it takes. */
function check(i: VerificationInputs): Promise<void> {
    return verifyRelease({
        url: i.url,
        release: i.release,
        platform: i.platform,
        eventsCommand: i.eventsCommand,
        timeoutMs: i.timeoutSeconds * 1000,
        intervalMs: i.intervalSeconds * 1000,
        confirmations: i.confirmations,
        healthPath: i.healthPath,
        readyPath: i.readyPath,
    });
}

/**
 * The provider. Exported for tests, which call it directly and serialize it as the engine would.
 * Its methods reference nothing but their arguments, `verifyRelease` and the constants above.
 */
export const releaseVerificationProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: VerificationInputs, news: VerificationInputs): Promise<pulumi.dynamic.CheckResult> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (news.url !== UNKNOWN && !/^https?:\/\/[^/\s]+$/.test(news.url)) {
            failures.push({ property: "url", reason: `url must be http(s)://host without a path or trailing slash (got ${JSON.stringify(news.url)})` });
        }
        if (news.release !== UNKNOWN && (typeof news.release !== "string" || news.release === "")) {
            failures.push({ property: "release", reason: "release must be the non-empty APP_RELEASE value the target sets" });
        }
        return { inputs: news, failures };
    },

    async diff(_id: pulumi.ID, olds: VerificationInputs, news: VerificationInputs): Promise<pulumi.dynamic.DiffResult> {
        // Always an explicit answer: `changes: undefined` would make the engine diff every input,
        // the serialized provider included.
        const changed = VERIFIED_KEYS.filter((k) => olds[k] !== news[k]);
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs: VerificationInputs): Promise<pulumi.dynamic.CreateResult> {
        await check(inputs);
        return { id: "release-verification", outs: { ...inputs, verifiedAt: new Date().toISOString() } };
    },

    async update(_id: pulumi.ID, _olds: VerificationInputs, news: VerificationInputs): Promise<pulumi.dynamic.UpdateResult> {
        await check(news);
        return { outs: { ...news, verifiedAt: new Date().toISOString() } };
    },
};

/**
 * A check that the release just rolled out serves and is ready, run during `pulumi up` whenever the
 * release or the URL changes. Give it `dependsOn` the resources whose completion means the
 * platform finished rolling out (and the DNS record, when the URL is a domain).
 */
export class ReleaseVerification extends pulumi.dynamic.Resource {
    declare readonly url: pulumi.Output<string>;
    declare readonly release: pulumi.Output<string>;
    /** When the last check passed (UTC, ISO 8601). */
    declare readonly verifiedAt: pulumi.Output<string>;

    constructor(name: string, args: ReleaseVerificationArgs, opts?: pulumi.CustomResourceOptions) {
        const { min, max } = VERIFY_TIMEOUT_RANGE;
        if (!Number.isInteger(args.timeoutSeconds) || args.timeoutSeconds < min || args.timeoutSeconds > max) {
            throw new Error(`ReleaseVerification ${name}: timeoutSeconds must be a whole number from ${min} to ${max} (got ${args.timeoutSeconds})`);
        }
        const intervalSeconds = args.intervalSeconds ?? 5;
        const confirmations = args.confirmations ?? 3;
        if (!(intervalSeconds > 0 && intervalSeconds * confirmations < args.timeoutSeconds)) {
            throw new Error(`ReleaseVerification ${name}: intervalSeconds x confirmations must fit in timeoutSeconds (got ${intervalSeconds} x ${confirmations}, ${args.timeoutSeconds})`);
        }
        // The type token names what this is in previews and the state (dynamic/index.js: the
        // module and type arguments make `pulumi-nodejs:dynamic/<module>:<type>`).
        super(releaseVerificationProvider, name, {
            url: args.url,
            release: args.release,
            platform: args.platform,
            eventsCommand: args.eventsCommand,
            timeoutSeconds: args.timeoutSeconds,
            intervalSeconds,
            confirmations,
            healthPath: args.healthPath ?? "/health",
            readyPath: args.readyPath ?? "/ready",
            verifiedAt: undefined,
        }, opts, "releaseVerification", "ReleaseVerification");
    }
}

/** The type token of {@link ReleaseVerification} resources. */
export const RELEASE_VERIFICATION_TYPE = "pulumi-nodejs:dynamic/releaseVerification:ReleaseVerification";
