// Reproduces what the Pulumi CLI hands a program as config, with the CLI's own checks: the stack
// file (Pulumi.<stack>.yaml) with `--set` overrides applied as `pulumi config set` stores them, then
// the project's declared keys merged in and validated exactly as `pulumi preview`/`up` do before the
// program starts. Sources (pulumi/pulumi, read at 1b59498):
//   pkg/workspace/config.go              mergeConfig, validateStackConfigValue, formatMissingKeys
//   sdk/go/common/workspace/project.go   Project.Validate, ValidateConfigValue, InferFullTypeName
//   sdk/go/common/workspace/loaders.go   LoadProjectStackBytes (unqualified stack keys get the project namespace)
//   sdk/go/common/resource/config/object.go  unmarshalObject, MarshalString (what a YAML value becomes)
//   pkg/cmd/pulumi/config/config.go      configSetCmd.Run (`config set k v` stores a plain string)
// Values reach the program as strings (arrays and objects as JSON), exactly as the CLI passes them.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export const ROOT = path.resolve(__dirname, "..");

export type ProjectConfigTypeName = "string" | "integer" | "boolean" | "array" | "object";

export interface ProjectConfigItems {
    readonly type: ProjectConfigTypeName;
    readonly items?: ProjectConfigItems;
}

export interface ProjectConfigDecl {
    readonly type?: ProjectConfigTypeName;
    readonly items?: ProjectConfigItems;
    readonly description?: string;
    readonly default?: unknown;
    readonly value?: unknown;
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

/** The CLI refused the project or stack config before running the program; the message is the CLI's. */
export class StackConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackConfigError";
    }
}

/** A config.Value: its string form, and whether it is ciphertext or JSON (object.go MarshalString). */
interface ConfigValue {
    readonly text: string;
    readonly secure: boolean;
    readonly object: boolean;
}

/**
 * YAML's core schema, as go-yaml v3 reads it: no timestamps (go-yaml keeps a timestamp-like scalar
 * decoded into `any` as its string, "for backward compatibility"), `yes`/`on` stay strings.
 */
function readYaml(file: string): unknown {
    return yaml.load(fs.readFileSync(file, "utf8"), { schema: yaml.CORE_SCHEMA });
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

function qualify(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `{secure: "..."}` alone is ciphertext (object.go isSecureValue). */
function isSecureValue(value: unknown): boolean {
    return isPlainObject(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

function containsSecure(value: unknown): boolean {
    if (isSecureValue(value)) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsSecure);
    }
    return isPlainObject(value) && Object.values(value).some(containsSecure);
}

/** Go's json.Marshal of a map sorts its keys; JSON.stringify keeps insertion order. */
function sortedJson(value: unknown): string {
    const sort = (v: unknown): unknown => Array.isArray(v) ? v.map(sort)
        : isPlainObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
    return JSON.stringify(sort(value));
}

/**
 * What a stack file's YAML value becomes (object.go unmarshalObject + MarshalString): scalars are
 * plain strings (`20` -> "20", `false` -> "false"), `{secure: ...}` is ciphertext, lists and maps are
 * JSON objects. A key with no value is the empty string (loaders.go checkForEmptyConfig: "currently
 * treated as an empty string").
 */
function fromStackYaml(value: unknown): ConfigValue {
    if (value === null || value === undefined) {
        return { text: "", secure: false, object: false };
    }
    if (isSecureValue(value)) {
        return { text: String((value as { secure: string }).secure), secure: true, object: false };
    }
    if (typeof value === "string") {
        return { text: value, secure: false, object: false };
    }
    if (typeof value === "number" || typeof value === "boolean") {
        return { text: JSON.stringify(value), secure: false, object: false };
    }
    return { text: sortedJson(value), secure: containsSecure(value), object: true };
}

/** config.go createConfigValue: a project `default`/`value` as the stack would hold it. */
function fromProjectValue(value: unknown): ConfigValue {
    if (typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isInteger(value))) {
        return { text: String(value), secure: false, object: false };
    }
    return { text: sortedJson(value), secure: false, object: true };
}

/** project.go InferFullTypeName. */
function fullTypeName(type: string, items: ProjectConfigItems | undefined): string {
    return items ? `array<${fullTypeName(items.type, items.items)}>` : type;
}

/** Go's strconv.Atoi on a 64-bit platform: optional sign, decimal digits, within int64. */
function atoiOk(text: string): boolean {
    if (!/^[+-]?\d+$/.test(text)) {
        return false;
    }
    const n = BigInt(text);
    return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/**
 * project.go ValidateConfigValue. `value` is a decoded string, or (for JSON objects) what Go's
 * json.Unmarshal yields: numbers are float64, so a whole number passes as an integer.
 */
function validateConfigValue(type: string, items: ProjectConfigItems | undefined, value: unknown): boolean {
    switch (type) {
        case "string":
            return typeof value === "string";
        case "integer":
            return (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && atoiOk(value));
        case "boolean":
            return value === "true" || value === "false" || typeof value === "boolean";
        case "object":
            return isPlainObject(value);
        default:
            return Array.isArray(value) && items !== undefined && value.every((item) => validateConfigValue(items.type, items.items, item));
    }
}

/**
 * project.go Project.Validate, the checks that apply to the config block; the CLI runs them when it
 * loads Pulumi.yaml (loaders.go LoadProjectBytes: "could not unmarshal '<path>': <error>").
 */
export function validateProject(project: ProjectFile, file = "Pulumi.yaml"): void {
    try {
        checkProject(project);
    } catch (e) {
        throw new StackConfigError(`could not unmarshal '${file}': ${(e as Error).message}`);
    }
}

function checkProject(project: ProjectFile): void {
    if (!project.name) {
        throw new Error("project is missing a 'name' attribute");
    }
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        if (decl.default !== undefined && decl.value !== undefined) {
            throw new Error(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
        }
        const namespacedByProject = !key.includes(":") || key.startsWith(`${project.name}:`);
        if (namespacedByProject) {
            if (decl.type === "array" && decl.items === undefined) {
                throw new Error(`The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`);
            }
            if (decl.type !== undefined && decl.default !== undefined && !validateConfigValue(decl.type, decl.items, decl.default)) {
                throw new Error(`The default value specified for configuration key '${key}' is not of the expected type '${fullTypeName(decl.type, decl.items)}'`);
            }
        } else if (decl.type !== undefined) {
            throw new Error(`Configuration key '${key}' is not namespaced by the project and should not define a type`);
        } else if (decl.default !== undefined) {
            throw new Error(`Configuration key '${key}' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?`);
        } else if (decl.value === undefined) {
            throw new Error(`Configuration key '${key}' is namespaced and must provide an attribute 'value'`);
        }
    }
}

/** config.go formatMissingKeys + missingStackConfigurationKeysError. */
export function missingKeysMessage(stack: string, keys: readonly string[]): string {
    const sorted = [...keys].sort();
    const list = sorted.length === 1 ? `'${sorted[0]}'`
        : sorted.map((k, i) => i === sorted.length - 1 ? `and '${k}'` : i === sorted.length - 2 ? `'${k}' ` : `'${k}', `).join("");
    return `Stack '${stack}' is missing configuration ${sorted.length > 1 ? "values" : "value"} ${list}`;
}

/**
 * config.go mergeConfig with validate=true, as `pulumi preview`/`up` run it: a project-namespaced key
 * that the stack does not set and that has no `value` or `default` is missing (all reported in one
 * error); otherwise the default or value fills in. Then each explicitly typed key, in sorted order,
 * must be `secure:` if declared secret, and of its declared type; the first failure is the error.
 */
function mergeProjectConfig(stack: string, project: ProjectFile, values: Map<string, ConfigValue>): void {
    const keys = Object.keys(project.config ?? {}).sort();
    const missing: string[] = [];
    for (const key of keys) {
        const decl = project.config![key];
        const full = qualify(project.name, key);
        if (values.has(full)) {
            continue;
        }
        if (decl.value === undefined && decl.default === undefined) {
            if (full.startsWith(`${project.name}:`)) {
                missing.push(key);
            }
            continue;
        }
        values.set(full, fromProjectValue(decl.default !== undefined ? decl.default : decl.value));
    }
    if (missing.length > 0) {
        throw new StackConfigError(missingKeysMessage(stack, missing));
    }
    for (const key of keys) {
        const decl = project.config![key];
        const value = values.get(qualify(project.name, key));
        if (decl.type === undefined || value === undefined) {
            continue;
        }
        if (decl.secret === true && !value.secure) {
            throw new StackConfigError(`Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret`);
        }
        if (value.secure) {
            // The CLI decrypts and then type-checks; without the stack's secrets provider we cannot.
            continue;
        }
        const content: unknown = value.object ? JSON.parse(value.text) : value.text;
        if (!validateConfigValue(decl.type, decl.items, content)) {
            throw new StackConfigError(`Stack '${stack}' with configuration key '${key}' must be of type '${fullTypeName(decl.type, decl.items)}'`);
        }
    }
}

/**
 * Resolves a stack's config as the CLI does before it starts the program, and throws
 * StackConfigError with the CLI's message where the CLI would refuse. `overrides` are `key=value`
 * strings as given to `--set`: each is what `pulumi config set key value` stores (a plain string;
 * an unqualified key belongs to the project); `key=` removes the key, as `pulumi config rm` does.
 */
/**
 * `--set 'key[i]=value'` is `pulumi config set --path 'key[i]' value`: the stack value becomes a
 * structured (object) value, a list, with item i set (i may append one item). A plain
 * `--set key='["a"]'` stays a string, as `pulumi config set` stores it, and an `array` key then fails
 * the CLI's type check: lists are set item by item.
 */
function setListItem(values: Map<string, ConfigValue>, key: string, index: number, value: string, given: string): void {
    const prev = values.get(key);
    let list: unknown[] = [];
    if (prev !== undefined) {
        const parsed: unknown = prev.object ? JSON.parse(prev.text) : undefined;
        if (!Array.isArray(parsed) || prev.secure) {
            throw new Error(`--set ${JSON.stringify(given)}: ${key} is not a list on this stack`);
        }
        list = parsed;
    }
    if (index > list.length) {
        throw new Error(`--set ${JSON.stringify(given)}: index ${index} is past the end of ${key} (${list.length} items); set [${list.length}] first`);
    }
    list[index] = value;
    values.set(key, { text: JSON.stringify(list), secure: false, object: true });
}

/**
 * `--set 'key.NAME=value'` is `pulumi config set --path 'key.NAME' value`: the stack value becomes a
 * structured (object) value, a map, with NAME set (issue 16: appEnv, appSecrets).
 */
function setMapItem(values: Map<string, ConfigValue>, key: string, name: string, value: string, given: string): void {
    const prev = values.get(key);
    let map: Record<string, unknown> = {};
    if (prev !== undefined) {
        const parsed: unknown = prev.object ? JSON.parse(prev.text) : undefined;
        if (!isPlainObject(parsed) || prev.secure) {
            throw new Error(`--set ${JSON.stringify(given)}: ${key} is not a map on this stack`);
        }
        map = parsed;
    }
    map[name] = value;
    values.set(key, { text: sortedJson(map), secure: false, object: true });
}

export function resolveStackConfig(stack: string, overrides: readonly string[] = [], root = ROOT): ResolvedStackConfig {
    const project = readProjectFile(root);
    validateProject(project, path.join(root, "Pulumi.yaml"));
    const file = stackFile(stack, root);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack file ${path.basename(file)}; stacks here: ${availableStacks(root).join(", ")}`);
    }
    const values = new Map<string, ConfigValue>();
    const doc = (readYaml(file) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        values.set(qualify(project.name, key), fromStackYaml(value));
    }
    for (const o of overrides) {
        const eq = o.indexOf("=");
        if (eq <= 0) {
            throw new Error(`--set expects key=value (got ${JSON.stringify(o)})`);
        }
        const rawKey = o.slice(0, eq);
        const value = o.slice(eq + 1);
        const item = /^([^[\]]+)\[(\d+)\]$/.exec(rawKey);
        if (item) {
            setListItem(values, qualify(project.name, item[1]), Number(item[2]), value, o);
            continue;
        }
        const entry = /^([^[\].]+)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(rawKey);
        if (entry) {
            setMapItem(values, qualify(project.name, entry[1]), entry[2], value, o);
            continue;
        }
        const key = qualify(project.name, rawKey);
        if (value === "") {
            values.delete(key);
        } else {
            values.set(key, { text: value, secure: false, object: false });
        }
    }
    mergeProjectConfig(stack, project, values);

    const out: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of values) {
        out[key] = value.secure ? SECRET_PLACEHOLDER : value.text;
        if (value.secure) {
            secretKeys.push(key);
        }
    }
    return { project: project.name, stack, values: out, secretKeys };
}
