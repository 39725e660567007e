// Runs the real program in-process under Pulumi's mocks and records what the engine would be asked
// to create: every resource's type, name, parent and inputs exactly as serialized for the provider
// (secrets and resource references included), plus the stack outputs. Used by `npm run plan` and
// by every test, so what the tests assert is what a newcomer sees.
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";
import { Invoke, MockCloud, MockCloudOptions } from "./mocks";
import { ResolvedStackConfig, SECRET_PLACEHOLDER } from "./stackConfig";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface PlannedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** URN of the parent; the stack itself has none. */
    readonly parent: string | null;
    readonly custom: boolean;
    /** Inputs as the provider receives them, secrets as "[secret]", resource references as URNs. */
    readonly inputs: { [key: string]: Json };
    /** Options that change what the engine does with the resource. */
    readonly options: { readonly protect: boolean; readonly retainOnDelete: boolean; readonly deleteBeforeReplace: boolean; readonly ignoreChanges: string[]; readonly replaceOnChanges: string[];
        /** URNs this resource explicitly waits for. */
        readonly dependsOn: string[];
        /** Transforms registered on the resource (callbacks; applied by the engine to its children). */
        readonly transforms: number;
    };
}

export interface PlanResult {
    readonly project: string;
    readonly stack: string;
    readonly config: Record<string, string>;
    readonly resources: PlannedResource[];
    readonly outputs: { [key: string]: Json };
    readonly invokes: Invoke[];
}

/** Anything with a `promise()`-free way to run: the program under test returns its stack outputs. */
export type Program = () => Record<string, unknown> | Promise<Record<string, unknown>>;

interface ProtoStruct {
    toJavaScript(): { [key: string]: unknown };
}
interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getObject(): ProtoStruct;
    getProtect(): boolean;
    getRetainondelete(): boolean;
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getDependenciesList(): string[];
    getTransformsList(): unknown[];
}
interface RegisterOutputsRequest {
    getUrn(): string;
    getOutputs(): ProtoStruct | undefined;
}
type Callback = (err: unknown, response: { getUrn?(): string } | undefined) => void;
interface MonitorLike {
    registerResource(req: RegisterResourceRequest, cb: Callback): Promise<void>;
    registerResourceOutputs(req: RegisterOutputsRequest, cb: Callback): void;
}

/**
 * Turns Pulumi's wire format into plan JSON: secrets hidden, resource references as their URN,
 * assets and archives summarized, unknowns marked.
 */
export function fromWire(value: unknown): Json {
    if (value === null || value === undefined) {
        return null;
    }
    if (typeof value === "string") {
        return value === rpc.unknownValue ? "[unknown]" : value;
    }
    if (typeof value === "number" || typeof value === "boolean") {
        return value;
    }
    if (Array.isArray(value)) {
        return value.map(fromWire);
    }
    if (typeof value === "object") {
        const obj = value as Record<string, unknown>;
        const sig = obj[rpc.specialSigKey];
        if (sig === rpc.specialSecretSig) {
            return SECRET_PLACEHOLDER;
        }
        if (sig === rpc.specialResourceSig) {
            return String(obj.urn);
        }
        if (sig === rpc.specialOutputValueSig) {
            return obj.secret === true ? SECRET_PLACEHOLDER : fromWire(obj.value);
        }
        if (sig === rpc.specialAssetSig || sig === rpc.specialArchiveSig) {
            const kind = sig === rpc.specialAssetSig ? "asset" : "archive";
            const out: { [key: string]: Json } = { [kind]: true };
            for (const k of ["path", "uri", "text", "hash"]) {
                if (obj[k] !== undefined) {
                    out[k] = fromWire(obj[k]);
                }
            }
            if (obj.assets !== undefined) {
                out.assets = fromWire(obj.assets);
            }
            return out;
        }
        const out: { [key: string]: Json } = {};
        for (const key of Object.keys(obj).sort()) {
            out[key] = fromWire(obj[key]);
        }
        return out;
    }
    return String(value);
}

/** Rejections a run has turned into its own failure; test/hooks.ts must not count them twice. */
const claimed = new WeakSet<object>();
export function isClaimedRejection(reason: unknown): boolean {
    return typeof reason === "object" && reason !== null && claimed.has(reason);
}

let queue: Promise<unknown> = Promise.resolve();
const RUN_TIMEOUT_MS = 60000;

/** Runs are serialized: the Pulumi runtime keeps its state in module globals. */
export function runProgram(program: Program, config: ResolvedStackConfig, cloud?: Partial<MockCloudOptions>): Promise<PlanResult> {
    const run = queue.then(() => runOnce(program, config, cloud));
    queue = run.catch(() => undefined);
    return run;
}

async function runOnce(program: Program, config: ResolvedStackConfig, cloudOpts?: Partial<MockCloudOptions>): Promise<PlanResult> {
    const region = config.values["aws:region"] ?? "us-east-1";
    const cloud = new MockCloud({ region, ...cloudOpts });
    await pulumi.runtime.setMocks(cloud, config.project, config.stack, false);
    pulumi.runtime.setAllConfig(config.values, config.secretKeys);

    const monitor = settings.getMonitor() as unknown as MonitorLike;
    const resources: PlannedResource[] = [];
    let stackOutputs: { [key: string]: Json } = {};
    let stackUrn = "";
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => register(req, (err, res) => {
        if (!err && res?.getUrn) {
            const urn = res.getUrn();
            const inputs = fromWire(req.getObject().toJavaScript()) as { [key: string]: Json };
            if (req.getType() === "pulumi:pulumi:Stack") {
                stackUrn = urn;
            }
            resources.push({
                urn, type: req.getType(), name: req.getName(), parent: req.getParent() || null, custom: req.getCustom(), inputs,
                options: {
                    protect: req.getProtect(), retainOnDelete: req.getRetainondelete(), deleteBeforeReplace: req.getDeletebeforereplace(),
                    ignoreChanges: req.getIgnorechangesList(), replaceOnChanges: req.getReplaceonchangesList(),
                    dependsOn: req.getDependenciesList(), transforms: req.getTransformsList().length,
                },
            });
        }
        cb(err, res);
    });
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, cb) => {
        if (req.getUrn() === stackUrn) {
            stackOutputs = fromWire(req.getOutputs()?.toJavaScript() ?? {}) as { [key: string]: Json };
        }
        return registerOutputs(req, cb);
    };

    // An error thrown inside an `apply` (or a failed invoke) surfaces only as an unhandled
    // rejection, and leaves the outputs that depend on it pending forever: fail the run at once.
    let onStray: (reason: unknown) => void = () => undefined;
    const strayRejection = new Promise<never>((_, reject) => {
        onStray = (reason: unknown) => {
            if (typeof reason === "object" && reason !== null) {
                claimed.add(reason);
            }
            const cause = reason instanceof Error ? reason : new Error(String(reason));
            reject(cloud.errors.length > 0 ? new Error(cloud.errors.join("\n"), { cause }) : cause);
        };
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the program did not finish within ${RUN_TIMEOUT_MS / 1000} s (an output that never resolves?)`)), RUN_TIMEOUT_MS);
    });
    process.on("unhandledRejection", onStray);
    try {
        await Promise.race([strayRejection, timeout, (async () => {
            await runInPulumiStack(async () => program());
            // Internal to the SDK (not in its typings): resolves when every queued RPC has finished.
            await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
            await new Promise((resolve) => setImmediate(resolve));
        })().catch((e: unknown) => {
            // The SDK also leaves this error on a promise nobody awaits; it is this run's, not a stray.
            if (typeof e === "object" && e !== null) {
                claimed.add(e);
            }
            throw e;
        })]);
    } catch (e) {
        cloudOpts?.memory?.abort();
        throw e;
    } finally {
        clearTimeout(timer);
        process.off("unhandledRejection", onStray);
    }
    cloudOpts?.memory?.commit(resources);
    const shownConfig: Record<string, string> = {};
    for (const key of Object.keys(config.values).sort()) {
        shownConfig[key] = config.secretKeys.includes(key) ? SECRET_PLACEHOLDER : config.values[key];
    }
    return {
        project: config.project,
        stack: config.stack,
        config: shownConfig,
        resources: resources.filter((r) => r.type !== "pulumi:pulumi:Stack").sort((a, b) => a.urn.localeCompare(b.urn)),
        outputs: stackOutputs,
        invokes: cloud.invokes,
    };
}
