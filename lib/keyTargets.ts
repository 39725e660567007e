// Which targets read a config key (issue 16 §4): a key only another target reads is accepted (a
// stack file may keep the settings of a later move) but reported, so nobody tunes ebInstanceType
// on an ECS stack and wonders why nothing changes.
import type { KeySpec, TargetName } from "../config";

/** Keys without a target prefix that only the container targets read (the image and pod/task scaling). */
const CONTAINER_KEYS: readonly string[] = ["imagePlatform", "imageKeepCount", "imageBuilder", "cpuTargetPercent"];

/**
 * The targets that read `key`, or undefined when every target does. By name: `eb*` is Beanstalk's,
 * `ecs*` ECS's, `eks*` EKS's (test/validation.test.ts holds each key's description to the same).
 */
export function targetsReading(key: string): readonly TargetName[] | undefined {
    if (/^eb[A-Z]/.test(key)) {
        return ["beanstalk"];
    }
    if (/^ecs[A-Z]/.test(key)) {
        return ["ecs"];
    }
    if (/^eks[A-Z]/.test(key)) {
        return ["eks"];
    }
    return CONTAINER_KEYS.includes(key) ? ["ecs", "eks"] : undefined;
}

/** Whether `text` (as the CLI passes it) is the key's default, i.e. the stack did not really set it. */
function isDefault(spec: KeySpec, text: string | undefined): boolean {
    if (text === undefined || text === "" || spec.default === undefined) {
        return text === undefined || text === "";
    }
    try {
        const value: unknown = spec.type === "string" ? text : JSON.parse(text);
        return JSON.stringify(value) === JSON.stringify(spec.default);
    } catch {
        return false;
    }
}

/** One warning per key set to a non-default value that `target` does not read. */
export function otherTargetWarnings(raw: Readonly<Record<string, string | undefined>>, schema: Readonly<Record<string, KeySpec>>, target: TargetName): string[] {
    const warnings: string[] = [];
    for (const [key, text] of Object.entries(raw)) {
        const readers = targetsReading(key);
        const spec = schema[key];
        if (spec === undefined || readers === undefined || readers.includes(target) || isDefault(spec, text)) {
            continue;
        }
        warnings.push(`${key} has no effect with target ${target} (read by target${readers.length > 1 ? "s" : ""} ${readers.join(" and ")})`);
    }
    return warnings;
}
