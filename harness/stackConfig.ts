// Reproduces what the Pulumi CLI hands a program as config: the project's declared defaults from
// Pulumi.yaml, overlaid with Pulumi.<stack>.yaml, overlaid with `--set` overrides. Values reach the
// program as strings (arrays and objects as JSON), exactly as the CLI passes them.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export const ROOT = path.resolve(__dirname, "..");

export interface ProjectConfigDecl {
    readonly type: "string" | "integer" | "boolean" | "array";
    readonly description?: string;
    readonly default?: unknown;
    readonly secret?: boolean;
}

export interface ProjectFile {
    readonly name: string;
    readonly runtime: unknown;
    readonly description?: string;
    readonly config?: Record<string, ProjectConfigDecl>;
}

export interface ResolvedStackConfig {
    readonly project: string;
    readonly stack: string;
    /** Fully qualified key (`project:key`, `aws:region`) to the string the program sees. */
    readonly values: Record<string, string>;
    /** Keys whose values are secret (`secure:` in the stack file). */
    readonly secretKeys: string[];
}

/** A value the plan cannot decrypt (no passphrase or Pulumi Cloud here) and must not print. */
export const SECRET_PLACEHOLDER = "[secret]";

function readYaml(file: string): unknown {
    return yaml.load(fs.readFileSync(file, "utf8"));
}

export function readProjectFile(root = ROOT): ProjectFile {
    return readYaml(path.join(root, "Pulumi.yaml")) as ProjectFile;
}

export function stackFile(stack: string, root = ROOT): string {
    return path.join(root, `Pulumi.${stack}.yaml`);
}

export function availableStacks(root = ROOT): string[] {
    return fs.readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

function toConfigString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function qualify(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

/**
 * Resolves a stack's config. `overrides` are `key=value` strings as given to `--set`; an
 * unqualified key belongs to the project, and the value is taken as the CLI's `config set` would
 * (a plain string; the program's own validation types it).
 */
export function resolveStackConfig(stack: string, overrides: readonly string[] = [], root = ROOT): ResolvedStackConfig {
    const project = readProjectFile(root);
    const file = stackFile(stack, root);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack file ${path.basename(file)}; stacks here: ${availableStacks(root).join(", ")}`);
    }
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        if (decl.default !== undefined) {
            values[qualify(project.name, key)] = toConfigString(decl.default);
        }
    }
    const doc = (readYaml(file) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        const full = qualify(project.name, key);
        if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            values[full] = SECRET_PLACEHOLDER;
            secretKeys.push(full);
        } else {
            values[full] = toConfigString(value);
        }
    }
    for (const o of overrides) {
        const eq = o.indexOf("=");
        if (eq <= 0) {
            throw new Error(`--set expects key=value (got ${JSON.stringify(o)})`);
        }
        const key = qualify(project.name, o.slice(0, eq));
        const value = o.slice(eq + 1);
        if (value === "") {
            delete values[key];
        } else {
            values[key] = value;
        }
    }
    return { project: project.name, stack, values, secretKeys };
}
