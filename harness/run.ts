// Runs the real program in-process under Pulumi's mocks and records what the engine would be asked
// to create: every resource's type, name, parent, inputs exactly as serialized for the provider
// (secrets and resource references included) and options, plus the stack outputs. Used by
// `npm run plan` and by every test, so what the tests assert is what a newcomer sees.
//
// The engine's own rules apply on top of the SDK's mock monitor (pulumi/pulumi, read at 1b59498):
// - URNs are the engine's (pkg/resource/deploy/deployment.go generateURN: the parent's full qualified
//   type, none for children of the stack), not the mock monitor's (which keeps only the last parent
//   type and prefixes the stack's), so two plans agree with the state file on what keeps its URN.
// - A second resource with an existing URN fails the run with the engine's message
//   (step_generator.go generateURN, sdk/go/common/diag/errors.go GetDuplicateResourceURNError).
// - protect, retainOnDelete and deletedWith are inherited from the parent when unset
//   (source_eval.go inheritFromParent); aliases are collapsed to URNs as the engine does
//   (step_generator.go collapseAliasToUrn).
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
    readonly options: PlannedOptions;
}

/** Resource options as the engine applies them (after inheriting from the parent). */
export interface PlannedOptions {
    /** `pulumi destroy` (and any replace) refuses to delete it. */
    readonly protect: boolean;
    /** Deleting it from the stack leaves the cloud resource in place. */
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly replaceOnChanges: string[];
    readonly ignoreChanges: string[];
    /**
     * URNs the engine orders this resource after (RegisterResourceRequest.dependencies): explicit
     * `dependsOn`, expanded to a component's children, plus every resource its inputs reference.
     */
    readonly dependsOn: string[];
    /** Old URNs this resource adopts instead of being replaced. */
    readonly aliases: string[];
    /** URN of the resource whose deletion deletes this one with it (the engine then skips its delete). */
    readonly deletedWith: string | null;
    /** Transforms registered on the resource (callbacks; applied by the engine to its children). */
    readonly transforms: number;
}

export interface PlanResult {
    readonly project: string;
    readonly stack: string;
    /** A first `pulumi preview`: provider-computed outputs were unknown ("[unknown]"). */
    readonly preview: boolean;
    readonly config: Record<string, string>;
    readonly resources: PlannedResource[];
    readonly outputs: { [key: string]: Json };
    readonly invokes: Invoke[];
    /** What the program logged with pulumi.log.warn (issue 16 §4: config that has no effect). */
    readonly warnings: string[];
}

/** Anything with a `promise()`-free way to run: the program under test returns its stack outputs. */
export type Program = () => Record<string, unknown> | Promise<Record<string, unknown>>;

interface ProtoStruct {
    toJavaScript(): { [key: string]: unknown };
}
interface AliasSpec {
    getName(): string;
    getType(): string;
    getStack(): string;
    getProject(): string;
    getParenturn(): string;
    getNoparent(): boolean;
}
interface AliasProto {
    hasUrn(): boolean;
    getUrn(): string;
    getSpec(): AliasSpec | undefined;
}
interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getObject(): ProtoStruct;
    hasProtect(): boolean;
    getProtect(): boolean;
    hasRetainondelete(): boolean;
    getRetainondelete(): boolean;
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getDependenciesList(): string[];
    getAliasesList(): AliasProto[];
    getDeletedwith(): string;
    getTransformsList(): unknown[];
}
interface RegisterOutputsRequest {
    getUrn(): string;
    getOutputs(): ProtoStruct | undefined;
}
type Callback = (err: unknown, response: { getUrn?(): string; setUrn?(urn: string): void } | undefined) => void;
interface MonitorLike {
    /** The SDK's MockMonitor keeps registered resources here, by URN (runtime/mocks.js). */
    readonly resources?: Map<string, unknown>;
    registerResource(req: RegisterResourceRequest, cb: Callback): Promise<void>;
    registerResourceOutputs(req: RegisterOutputsRequest, cb: Callback): void;
}

/**
 * Turns Pulumi's wire format into plan JSON: secrets hidden, resource references as their URN,
 * assets and archives summarized, unknowns marked.
 */
export function fromWire(value: unknown, urnOf: (urn: string) => string = (u) => u): Json {
    const recurse = (v: unknown) => fromWire(v, urnOf);
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
        return value.map(recurse);
    }
    if (typeof value === "object") {
        const obj = value as Record<string, unknown>;
        const sig = obj[rpc.specialSigKey];
        if (sig === rpc.specialSecretSig) {
            return SECRET_PLACEHOLDER;
        }
        if (sig === rpc.specialResourceSig) {
            return urnOf(String(obj.urn));
        }
        if (sig === rpc.specialOutputValueSig) {
            // An output value without `value` is unknown (sdk/nodejs/runtime/rpc.ts serializeProperty).
            return obj.secret === true ? SECRET_PLACEHOLDER : "value" in obj ? recurse(obj.value) : "[unknown]";
        }
        if (sig === rpc.specialAssetSig || sig === rpc.specialArchiveSig) {
            const kind = sig === rpc.specialAssetSig ? "asset" : "archive";
            const out: { [key: string]: Json } = { [kind]: true };
            for (const k of ["path", "uri", "text", "hash"]) {
                if (obj[k] !== undefined) {
                    out[k] = recurse(obj[k]);
                }
            }
            if (obj.assets !== undefined) {
                out.assets = recurse(obj.assets);
            }
            return out;
        }
        const out: { [key: string]: Json } = {};
        for (const key of Object.keys(obj).sort()) {
            out[key] = recurse(obj[key]);
        }
        return out;
    }
    return String(value);
}

/** Rejections a run has turned into its own failure; test/hooks.ts must not count them twice. */
const claimed = new WeakSet<object>();
/** Engine errors a run failed with; the SDK rethrows them wrapped, on promises nobody awaits. */
const claimedMessages = new Set<string>();
export function isClaimedRejection(reason: unknown): boolean {
    if (typeof reason !== "object" || reason === null) {
        return false;
    }
    const message = reason instanceof Error ? reason.message : "";
    return claimed.has(reason) || [...claimedMessages].some((m) => message.includes(m));
}

let queue: Promise<unknown> = Promise.resolve();
const RUN_TIMEOUT_MS = 60000;

export interface RunOptions {
    /**
     * Run as a first `pulumi preview` of a new stack does: the engine answers a create with the
     * inputs only, so every provider-computed output (ids, ARNs, endpoints, component outputs) is
     * unknown; invokes are answered.
     */
    readonly preview?: boolean;
}

/** Runs are serialized: the Pulumi runtime keeps its state in module globals. */
export function runProgram(program: Program, config: ResolvedStackConfig, cloud?: Partial<MockCloudOptions>, opts: RunOptions = {}): Promise<PlanResult> {
    const run = queue.then(() => runOnce(program, config, cloud, opts));
    queue = run.catch(() => undefined);
    return run;
}

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** `urn:pulumi:<stack>::<project>::<qualified type>::<name>` -> the qualified type. */
function qualifiedType(urn: string): string {
    return urn.split("::")[2] ?? "";
}

/** sdk/go/common/resource/urn.go New, as deployment.go generateURN calls it. */
function engineUrn(stack: string, project: string, parent: string, type: string, name: string): string {
    const parentType = parent && qualifiedType(parent) !== ROOT_STACK_TYPE ? `${qualifiedType(parent)}$` : "";
    return `urn:pulumi:${stack}::${project}::${parentType}${type}::${name}`;
}

interface Goal {
    readonly protect?: boolean;
    readonly retainOnDelete?: boolean;
    readonly deletedWith: string;
}

async function runOnce(program: Program, config: ResolvedStackConfig, cloudOpts: Partial<MockCloudOptions> | undefined, opts: RunOptions): Promise<PlanResult> {
    const region = config.values["aws:region"] ?? "us-east-1";
    const preview = opts.preview === true;
    const cloud = new MockCloud({ region, ...cloudOpts, preview });
    await pulumi.runtime.setMocks(cloud, config.project, config.stack, preview);
    pulumi.runtime.setAllConfig(config.values, config.secretKeys);

    const monitor = settings.getMonitor() as unknown as MonitorLike;
    const resources: PlannedResource[] = [];
    let stackOutputs: { [key: string]: Json } = {};
    let stackUrn = "";
    // The mock monitor's URN of each resource -> the engine's; and what children inherit.
    const urns = new Map<string, string>();
    const goals = new Map<string, Goal>();
    const engineErrors: string[] = [];
    let failRun: (e: Error) => void = () => undefined;
    const urnOf = (mockUrn: string) => urns.get(mockUrn) ?? mockUrn;
    // step_generator.go collapseAliasToUrn: unset parts of an alias spec default to the resource's own.
    const aliasUrn = (alias: AliasProto, urn: string, parent: string): string => {
        const spec = alias.getSpec();
        if (alias.hasUrn() || spec === undefined) {
            return urnOf(alias.getUrn());
        }
        const urnName = urn.split("::").slice(3).join("::");
        const urnType = qualifiedType(urn).split("$").pop() ?? "";
        const aliasParent = spec.getNoparent() ? "" : spec.getParenturn() ? urnOf(spec.getParenturn()) : parent;
        return engineUrn(spec.getStack() || config.stack, spec.getProject() || config.project, aliasParent, spec.getType() || urnType, spec.getName() || urnName);
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        const parent = req.getParent() ? urnOf(req.getParent()) : "";
        const urn = engineUrn(config.stack, config.project, parent, req.getType(), req.getName());
        if (goals.has(urn)) {
            const message = `Duplicate resource URN '${urn}'; try giving it a unique name`;
            engineErrors.push(message);
            claimedMessages.add(message);
            failRun(new Error(message));
            cb(new Error(message), undefined);
            return Promise.resolve();
        }
        const inherited = parent ? goals.get(parent) : undefined;
        const goal: Goal = {
            protect: req.hasProtect() ? req.getProtect() : inherited?.protect,
            retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : inherited?.retainOnDelete,
            deletedWith: req.getDeletedwith() ? urnOf(req.getDeletedwith()) : inherited?.deletedWith ?? "",
        };
        goals.set(urn, goal);
        return register(req, (err, res) => {
            if (!err && res?.getUrn) {
                // The program sees the engine's URN too (in `resource.urn`, parents, references).
                urns.set(res.getUrn(), urn);
                // The mock monitor looks resources up by URN (outputs, resource references): file
                // the same record under the engine's URN.
                const registered = monitor.resources?.get(res.getUrn());
                if (registered !== undefined) {
                    monitor.resources?.set(urn, registered);
                }
                res.setUrn?.(urn);
                const inputs = fromWire(req.getObject().toJavaScript(), urnOf) as { [key: string]: Json };
                if (req.getType() === ROOT_STACK_TYPE) {
                    stackUrn = res.getUrn();
                }
                resources.push({
                    urn, type: req.getType(), name: req.getName(), parent: parent || null, custom: req.getCustom(), inputs,
                    options: {
                        protect: goal.protect === true, retainOnDelete: goal.retainOnDelete === true,
                        deleteBeforeReplace: req.getDeletebeforereplace(),
                        replaceOnChanges: req.getReplaceonchangesList(), ignoreChanges: req.getIgnorechangesList(),
                        dependsOn: req.getDependenciesList().map(urnOf),
                        // generateAliases keeps each URN once.
                        aliases: [...new Set(req.getAliasesList().map((a) => aliasUrn(a, urn, parent)))],
                        deletedWith: goal.deletedWith || null,
                        transforms: req.getTransformsList().length,
                    },
                });
            }
            cb(err, res);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, cb) => {
        if (req.getUrn() === stackUrn) {
            stackOutputs = fromWire(req.getOutputs()?.toJavaScript() ?? {}, urnOf) as { [key: string]: Json };
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
            const known = [...engineErrors, ...cloud.errors];
            reject(known.length > 0 ? new Error(known.join("\n"), { cause }) : cause);
        };
        // The engine stops the deployment at its first error, whatever the program does next.
        failRun = reject;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the program did not finish within ${RUN_TIMEOUT_MS / 1000} s (an output that never resolves?)`)), RUN_TIMEOUT_MS);
    });
    process.on("unhandledRejection", onStray);
    // Without an engine, pulumi.log.warn writes `warning: [runtime] <msg>` with console.warn
    // (@pulumi/pulumi log/index.js warn); the CLI would list it among the diagnostics, so the run keeps it.
    const warnings: string[] = [];
    const consoleWarn = console.warn;
    console.warn = (...args: unknown[]) => {
        const text = args.map(String).join(" ");
        if (text.startsWith(RUNTIME_WARNING)) {
            warnings.push(text.slice(RUNTIME_WARNING.length));
        } else {
            consoleWarn(...args);
        }
    };
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
            throw engineErrors.length > 0 ? new Error(engineErrors.join("\n"), { cause: e }) : e;
        })]);
    } catch (e) {
        cloudOpts?.memory?.abort();
        throw e;
    } finally {
        console.warn = consoleWarn;
        clearTimeout(timer);
        if (engineErrors.length > 0) {
            // The SDK reports the refused registration again, a few ticks later: let this run claim it.
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
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
        preview,
        config: shownConfig,
        resources: resources.filter((r) => r.type !== ROOT_STACK_TYPE).sort((a, b) => a.urn.localeCompare(b.urn)),
        outputs: stackOutputs,
        invokes: cloud.invokes,
        warnings,
    };
}

const RUNTIME_WARNING = "warning: [runtime] ";
