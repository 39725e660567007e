// Regenerates the `config:` block of Pulumi.yaml from config.ts's schema, so the CLI's view of the
// keys (types, defaults, descriptions) and the program's never drift. test/config.test.ts fails
// when they do: run `npx ts-node scripts/sync-project-config.ts` after changing the schema.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_SCHEMA, KeySpec } from "../config";

export function projectConfigBlock(): Record<string, Record<string, unknown>> {
    const block: Record<string, Record<string, unknown>> = {};
    for (const [key, spec] of Object.entries(CONFIG_SCHEMA) as [string, KeySpec][]) {
        const allowed = "oneOf" in spec && spec.oneOf ? ` Allowed: ${spec.oneOf.join(", ")}.` : "";
        // The CLI's project schema types only string, integer, boolean and array (pulumi/pulumi
        // sdk/go/common/workspace/project.json, $defs.simpleConfigType): a map key (appEnv,
        // appSecrets; issue 16) is declared untyped, with its `{}` default, and config.ts checks it.
        const entry: Record<string, unknown> = spec.type === "object"
            ? { description: `${spec.description}${allowed}` }
            : { type: spec.type, description: `${spec.description}${allowed}` };
        if (spec.type === "array") {
            // Pulumi requires the item type of an array-typed project config key.
            entry.items = { type: "string" };
        }
        if (spec.default !== undefined) {
            entry.default = spec.default;
        } else if (spec.required !== true) {
            // The CLI refuses to run a stack that lacks a project key with no `default` or `value`
            // (pulumi/pulumi pkg/workspace/config.go mergeConfig: "Stack '<stack>' is missing
            // configuration value '<key>'"). An empty default keeps the key declared and typed, and
            // the CLI hands the program "", which config.ts reads as unset. Only strings have an
            // "unset" value; any other optional key needs a real default.
            if (spec.type !== "string") {
                throw new Error(`config key ${key} has no default and is not required: give it a default`);
            }
            entry.default = "";
        }
        block[key] = entry;
    }
    return block;
}

if (require.main === module) {
    const file = path.join(__dirname, "..", "Pulumi.yaml");
    const text = fs.readFileSync(file, "utf8");
    const marker = "\nconfig:\n";
    const head = text.includes(marker) ? text.slice(0, text.indexOf(marker) + 1) : `${text.trimEnd()}\n`;
    const body = yaml.dump({ config: projectConfigBlock() }, { lineWidth: 120, quotingType: "\"" });
    fs.writeFileSync(file, head + body);
    console.log(`wrote ${Object.keys(CONFIG_SCHEMA).length} config keys to ${file}`);
}
