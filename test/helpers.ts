// Shared test machinery: run a committed stack (plus overrides) through the real program under the
// mock cloud, then look resources up by type and name.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig, TARGET_NAMES } from "../config";
import { MockCloudOptions } from "../harness/mocks";
import { Json, PlannedResource, PlanResult, runProgram } from "../harness/run";
import { resolveStackConfig, ROOT } from "../harness/stackConfig";
import { program, ProgramOptions } from "../program";

export const APP_DIR = path.join(ROOT, "app");
/** Bundles built by tests go here, never into the repository's .build/. */
export const TEST_BUILD_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "flask-platform-test-"));

export interface PlanOptions extends ProgramOptions {
    readonly cloud?: Partial<MockCloudOptions>;
    /** Working directory during the run (Pulumi runs programs in the project directory). */
    readonly cwd?: string;
    /** Run as a first `pulumi preview` (harness/run.ts RunOptions). */
    readonly preview?: boolean;
}

/** Runs the program on `Pulumi.<stack>.yaml` with `key=value` overrides, as `npm run plan` does. */
export function planStack(stack: string, sets: readonly string[] = [], opts: PlanOptions = {}): Promise<PlanResult> {
    const config = resolveStackConfig(stack, sets);
    const run = () => runProgram(() => program({ buildDir: TEST_BUILD_DIR, ...opts }), config, opts.cloud, { preview: opts.preview });
    if (!opts.cwd) {
        return run();
    }
    // Runs are serialized by the harness, so changing directory for one run is safe.
    const previous = process.cwd();
    process.chdir(opts.cwd);
    return run().finally(() => process.chdir(previous));
}

/** The deployer role every EKS test names (`target: eks` requires eksDeployerRoleArns). */
/**
 * Every problem config validation finds in `raw` (project keys without their namespace), or none
 * when it is accepted. All targets count as implemented; `opts` adds to that.
 */
export function configProblems(raw: Record<string, string>, opts: Partial<Parameters<typeof parseConfig>[3]> = {}, stack = "test"): string[] {
    try {
        parseConfig("flask-platform", stack, raw, { implementedTargets: [...TARGET_NAMES], ...opts });
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return [...e.problems];
    }
    return [];
}

export const DEPLOYER_ROLE = "arn:aws:iam::123456789012:role/deployer";
/** `--set` overrides that switch a committed stack to EKS. */
export const EKS = ["target=eks", `eksDeployerRoleArns[0]=${DEPLOYER_ROLE}`, "eksPublicAccessCidrs=private"] as const;

export function all(plan: PlanResult, type: string): PlannedResource[] {
    return plan.resources.filter((r) => r.type === type);
}

/** The one resource of `type` (whose name ends with `nameSuffix`, if given); fails unless exactly one. */
export function one(plan: PlanResult, type: string, nameSuffix = ""): PlannedResource {
    const found = all(plan, type).filter((r) => r.name.endsWith(nameSuffix));
    assert.strictEqual(found.length, 1, `expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.map((r) => r.name).join(", ") || "none"}`);
    return found[0];
}

export function input<T extends Json = Json>(r: PlannedResource, key: string): T {
    return r.inputs[key] as T;
}

export type Settings = Map<string, string>;

/** Elastic Beanstalk settings as `namespace/name` -> value; asserts no pair appears twice. */
export function ebSettings(env: PlannedResource): Settings {
    const list = env.inputs.settings as { namespace: string; name: string; value: string; resource: string }[];
    const map: Settings = new Map();
    for (const s of list) {
        const key = `${s.namespace}/${s.name}`;
        assert.ok(!map.has(key), `setting ${key} emitted twice`);
        map.set(key, s.value);
    }
    return map;
}

/** Awaits an output, rejecting (never hanging) if it does not resolve within the time given. */
export function promiseOf<T>(output: pulumi.Output<T>, ms = 10000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`output did not resolve within ${ms} ms`)), ms);
        output.apply((v) => {
            clearTimeout(timer);
            resolve(v);
            return v;
        });
    });
}

export function parsePolicy(r: PlannedResource, key = "policy"): { Statement: Record<string, Json>[] } {
    const text = r.inputs[key];
    assert.strictEqual(typeof text, "string", `${r.name}.${key} is not a JSON string`);
    return JSON.parse(text as string);
}

/**
 * Copies the app to `<temp project>/app`, applies `edit`, and returns the copy's path; run the plan
 * with `cwd: path.dirname(copy)` and the copy sits where the real app does, relative to the project.
 */
export function appCopy(edit: (dir: string) => void): string {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flask-platform-project-")), "app");
    fs.cpSync(APP_DIR, dir, { recursive: true });
    edit(dir);
    return dir;
}

export interface PlanDiff {
    readonly added: string[];
    readonly removed: string[];
    /** URN -> the input keys whose values differ. */
    readonly changed: Map<string, string[]>;
}

/** What a second `pulumi up` would see: resources added, removed, and inputs changed per URN. */
export function diffPlans(before: PlanResult, after: PlanResult): PlanDiff {
    const a = new Map(before.resources.map((r) => [r.urn, r]));
    const b = new Map(after.resources.map((r) => [r.urn, r]));
    const changed = new Map<string, string[]>();
    for (const [urn, r] of b) {
        const old = a.get(urn);
        if (!old) {
            continue;
        }
        const keys = new Set([...Object.keys(old.inputs), ...Object.keys(r.inputs)]);
        const diff = [...keys].filter((k) => JSON.stringify(old.inputs[k]) !== JSON.stringify(r.inputs[k])).sort();
        if (diff.length > 0) {
            changed.set(urn, diff);
        }
    }
    return {
        added: [...b.keys()].filter((u) => !a.has(u)).sort(),
        removed: [...a.keys()].filter((u) => !b.has(u)).sort(),
        changed,
    };
}

/** Whether a resource sits outside every target's component (following parent links): stack level. */
export function stackLevel(plan: PlanResult): (r: PlannedResource) => boolean {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const underTarget = (urn: string | null): boolean => {
        const r = urn ? byUrn.get(urn) : undefined;
        return r !== undefined && (/^platform:(beanstalk|ecs|eks):/.test(r.type) || underTarget(r.parent));
    };
    return (r) => !underTarget(r.urn);
}

/**
 * issue 13: the changed URNs of a target switch other than the expected ones: the stack-level
 * alarms follow the new load balancer (their dimensions, and descriptions that name the platform's
 * logs) and the dashboard its metrics (its body).
 */
export function withoutOperations(changed: ReadonlyMap<string, string[]>): string[] {
    return [...changed].filter(([urn, keys]) =>
        !(/::platform:monitoring:Monitoring\$aws:cloudwatch\/metricAlarm:MetricAlarm::/.test(urn) && keys.every((k) => k === "dimensions" || k === "alarmDescription"))
        && !(/::platform:dashboard:Dashboard\$aws:cloudwatch\/dashboard:Dashboard::/.test(urn) && keys.join() === "dashboardBody"))
        .map(([urn]) => urn);
}

/** issue 16 §5: a platform-specific stack output, which the contract keeps under `platform`. */
export function platformOutput(plan: PlanResult, key: string): Json {
    const names = plan.outputs.platform;
    assert.ok(names !== null && typeof names === "object" && !Array.isArray(names), "the platform output is a map");
    return (names as { [k: string]: Json })[key];
}
