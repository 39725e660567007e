// Renders docs/config.md, the reference of every config key, from config.ts's schema, so the page
// and the validator never drift. test/docs.test.ts fails when the committed page is out of date:
// run `npm run docs:config` after changing the schema (as `npx ts-node scripts/sync-project-config.ts`
// regenerates Pulumi.yaml's config block).
import * as fs from "fs";
import * as path from "path";
import { CONFIG_SCHEMA, KeySpec, TARGET_NAMES, TargetName } from "../config";

export const CONFIG_REFERENCE = path.join(__dirname, "..", "docs", "config.md");
export const REGENERATE = "npm run docs:config";

/**
 * Which targets read a key. The descriptions of platform keys open with their platform
 * ("Elastic Beanstalk:", "ECS:", "EKS:", "ECS and EKS:", "Optional, target eks."); failing that, the
 * schema's prefixes group them (config.ts: `eb`, `ecs`, `eks`, `image`). Any other key is read on
 * every target.
 */
const LABEL_TARGETS: readonly [RegExp, readonly TargetName[]][] = [
    [/^ECS and EKS:/, ["ecs", "eks"]],
    [/^Elastic Beanstalk:/, ["beanstalk"]],
    [/^ECS:/, ["ecs"]],
    [/^EKS:/, ["eks"]],
    [/^Optional, target beanstalk\b/, ["beanstalk"]],
    [/^Optional, target ecs\b/, ["ecs"]],
    [/^Optional, target eks\b/, ["eks"]],
];
const PREFIX_TARGETS: readonly [RegExp, readonly TargetName[]][] = [
    [/^eb[A-Z]/, ["beanstalk"]],
    [/^ecs[A-Z]/, ["ecs"]],
    [/^eks[A-Z]/, ["eks"]],
    [/^image[A-Z]/, ["ecs", "eks"]],
];

export function targetsOf(key: string, spec: KeySpec): readonly TargetName[] {
    return LABEL_TARGETS.find(([label]) => label.test(spec.description))?.[1]
        ?? PREFIX_TARGETS.find(([prefix]) => prefix.test(key))?.[1]
        ?? TARGET_NAMES;
}

/** A value as it is written in a stack file, in code style; "" (unset) for an optional key. */
function code(value: unknown): string {
    return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
}

function defaultOf(spec: KeySpec): string {
    if ("required" in spec && spec.required === true) {
        return "required";
    }
    if (spec.default === undefined || spec.default === "") {
        return "unset";
    }
    return code(spec.default);
}

function allowedOf(spec: KeySpec): string {
    switch (spec.type) {
        case "string":
            return spec.oneOf ? spec.oneOf.map(code).join(", ") : spec.patternHint ?? "any text";
        case "integer": {
            const range = `${spec.min} to ${spec.max}`;
            return spec.oneOf ? `${spec.oneOf.join(", ")}` : range;
        }
        case "boolean":
            return "`true`, `false`";
        case "array":
            return `a list; each item ${spec.itemHint}`;
        case "object":
            return `a map NAME: value${spec.valueHint ? `; each value ${spec.valueHint}` : ""}`;
    }
}

/** Markdown table cells cannot hold a raw `|` or a line break. */
function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function configReference(): string {
    const keys = Object.entries(CONFIG_SCHEMA) as [string, KeySpec][];
    const lines = [
        "# Config reference",
        "",
        `<!-- Generated from config.ts by \`${REGENERATE}\` (scripts/config-reference.ts). Do not edit: test/docs.test.ts fails when this page is out of date. -->`,
        "",
        `Every key of the \`flask-platform\` project (${keys.length} keys), as \`config.ts\` declares and validates`,
        "it. Set a key with `pulumi config set <key> <value>` (lists and maps: `pulumi config set --path`),",
        "or offline with `npm run plan -- --stack dev --set <key>=<value>`. \"unset\" means the key is optional",
        "and has no value; \"targets\" says which `target` reads the key (from the platform its description",
        "names, else its prefix: `eb` beanstalk, `ecs` ecs, `eks` eks, `image` ecs and eks; other keys: all",
        "three). `Pulumi.yaml` declares the same keys with the same defaults (`scripts/sync-project-config.ts`).",
        "",
        "| key | type | default | allowed | targets | description |",
        "| --- | --- | --- | --- | --- | --- |",
    ];
    for (const [key, spec] of keys) {
        const targets = targetsOf(key, spec);
        lines.push(`| \`${key}\` | ${spec.type} | ${cell(defaultOf(spec))} | ${cell(allowedOf(spec))} | ${targets.length === TARGET_NAMES.length ? "all" : targets.join(", ")} | ${cell(spec.description)} |`);
    }
    return `${lines.join("\n")}\n`;
}

if (require.main === module) {
    fs.mkdirSync(path.dirname(CONFIG_REFERENCE), { recursive: true });
    fs.writeFileSync(CONFIG_REFERENCE, configReference());
    console.log(`wrote ${Object.keys(CONFIG_SCHEMA).length} config keys to ${CONFIG_REFERENCE}`);
}
