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
        const entry: Record<string, unknown> = { type: spec.type, description: `${spec.description}${allowed}` };
        if (spec.type === "array") {
            // Pulumi requires the item type of an array-typed project config key.
            entry.items = { type: "string" };
        }
        if (spec.default !== undefined) {
            entry.default = spec.default;
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
