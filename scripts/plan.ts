// `npm run plan -- --stack dev [--set key=value ...] [--preview] [--json]`
// Runs the real program in-process under the mock cloud with a stack's committed config and prints
// what `pulumi up` would create: no AWS account, no Pulumi CLI needed. The config passes the CLI's
// own checks first (harness/stackConfig.ts); `--preview` runs as a first `pulumi preview` of a new
// stack does, with every provider-computed value unknown.
import { ConfigError } from "../config";
import { runProgram, Json, PlanResult, PlannedResource } from "../harness/run";
import * as path from "path";
import { availableStacks, resolveStackConfig, ROOT } from "../harness/stackConfig";
import { program } from "../program";
import { delivery } from "../delivery/program";

interface Args {
    /** Project directory relative to the repository root: "delivery"; absent for the app ("."). */
    project?: string;
    stack: string;
    sets: string[];
    json: boolean;
    preview: boolean;
}

const USAGE = "usage: npm run plan -- [--project delivery] --stack <name> [--set key=value ...] [--preview] [--json]";

/** The projects `--project` can select: directory -> the program that directory's index.ts runs. */
export const PROJECTS: Readonly<Record<string, () => Record<string, unknown>>> = {
    ".": () => program(),
    delivery: () => delivery(),
};

export function parseArgs(argv: readonly string[]): Args {
    const args: Args = { stack: "", sets: [], json: false, preview: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) {
                throw new Error(`${a} needs a value\n${USAGE}`);
            }
            return v;
        };
        if (a === "--project") {
            args.project = value();
        } else if (a.startsWith("--project=")) {
            args.project = a.slice("--project=".length);
        } else if (a === "--stack" || a === "-s") {
            args.stack = value();
        } else if (a.startsWith("--stack=")) {
            args.stack = a.slice("--stack=".length);
        } else if (a === "--set") {
            args.sets.push(value());
        } else if (a.startsWith("--set=")) {
            args.sets.push(a.slice("--set=".length));
        } else if (a === "--json") {
            args.json = true;
        } else if (a === "--preview") {
            args.preview = true;
        } else if (a === "--help" || a === "-h") {
            throw new Error(USAGE);
        } else {
            throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
        }
    }
    if (args.project !== undefined && !(args.project in PROJECTS)) {
        throw new Error(`--project must be one of ${Object.keys(PROJECTS).join(", ")} (got ${JSON.stringify(args.project)})\n${USAGE}`);
    }
    if (!args.stack) {
        throw new Error(`--stack is required (stacks: ${availableStacks(path.join(ROOT, args.project ?? ".")).join(", ")})\n${USAGE}`);
    }
    return args;
}

/** The options that change what `pulumi up`/`destroy` do with a resource, as `--json` prints them. */
function optionsDocument(r: PlannedResource): { [key: string]: Json } {
    const o = r.options;
    return {
        protect: o.protect, retainOnDelete: o.retainOnDelete, deleteBeforeReplace: o.deleteBeforeReplace,
        replaceOnChanges: o.replaceOnChanges, ignoreChanges: o.ignoreChanges,
        dependsOn: [...o.dependsOn].sort(), aliases: o.aliases, deletedWith: o.deletedWith,
    };
}

/** The document `--json` prints. */
export function planDocument(plan: PlanResult): Record<string, Json> {
    return {
        project: plan.project,
        stack: plan.stack,
        preview: plan.preview,
        config: plan.config,
        resources: plan.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, custom: r.custom, inputs: r.inputs, options: optionsDocument(r) })),
        outputs: plan.outputs,
    };
}

/** How the tree marks what `pulumi destroy` does not delete. */
function destroyMarks(r: PlannedResource): string {
    const marks = [r.options.protect ? "protected" : "", r.options.retainOnDelete ? "retained" : ""].filter(Boolean);
    return marks.length > 0 ? `  [${marks.join(", ")}]` : "";
}

const SKIP_KEYS = new Set(["tags", "tagsAll", "__defaults"]);

function short(value: Json): string {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text.length > 110 ? `${text.slice(0, 107)}...` : text;
}

function settingsLines(value: Json): string[] {
    if (!Array.isArray(value)) {
        return [];
    }
    return value.map((s) => {
        const o = (s ?? {}) as Record<string, Json>;
        return `${o.namespace} ${o.name} = ${short(o.value ?? null)}`;
    });
}

/** The human view: the resource tree with the settings that matter, then the outputs. */
export function renderTree(plan: PlanResult): string {
    const mode = plan.preview ? "first preview, mock cloud: [unknown] is known only after deploy" : "offline plan, mock cloud";
    const lines: string[] = [`Stack ${plan.project}/${plan.stack}: ${plan.resources.length} resources (${mode})`, ""];
    const children = new Map<string | null, PlannedResource[]>();
    const urns = new Set(plan.resources.map((r) => r.urn));
    for (const r of plan.resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : null;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const walk = (parent: string | null, indent: string) => {
        for (const r of children.get(parent) ?? []) {
            lines.push(`${indent}+ ${r.type}  ${r.name}${destroyMarks(r)}`);
            const detail = `${indent}    `;
            for (const [key, value] of Object.entries(r.inputs)) {
                if (SKIP_KEYS.has(key) || value === null) {
                    continue;
                }
                if (key === "settings" && r.type === "aws:elasticbeanstalk/environment:Environment") {
                    lines.push(`${detail}settings:`);
                    settingsLines(value).forEach((l) => lines.push(`${detail}  ${l}`));
                } else if (key === "__provider" && typeof value === "string") {
                    // A dynamic resource's serialized provider (code kept in the state): its size, not its text.
                    lines.push(`${detail}${key}: (serialized dynamic provider, ${value.length} characters)`);
                } else {
                    lines.push(`${detail}${key}: ${short(value)}`);
                }
            }
            walk(r.urn, `${indent}  `);
        }
    };
    walk(null, "");
    // What `pulumi destroy` leaves behind: retained resources stay in the account (and keep costing);
    // a protected one stops the destroy until `pulumi state unprotect`.
    const retained = plan.resources.filter((r) => r.options.retainOnDelete && r.custom);
    const protectedOnes = plan.resources.filter((r) => r.options.protect && r.custom);
    if (retained.length > 0) {
        lines.push("", `pulumi destroy leaves these in the account (retainOnDelete): ${retained.length}`);
        retained.forEach((r) => lines.push(`  ${r.type}  ${r.name}`));
    }
    if (protectedOnes.length > 0) {
        lines.push("", `pulumi destroy refuses to run until these are unprotected (protect): ${protectedOnes.length}`);
        protectedOnes.forEach((r) => lines.push(`  ${r.type}  ${r.name}`));
    }
    lines.push("", "Outputs:");
    for (const [key, value] of Object.entries(plan.outputs)) {
        lines.push(`  ${key}: ${short(value)}`);
    }
    return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(argv);
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
    try {
        const config = resolveStackConfig(args.stack, args.sets, path.join(ROOT, args.project ?? "."));
        const plan = await runProgram(PROJECTS[args.project ?? "."], config, undefined, { preview: args.preview });
        // On stderr, as pulumi prints diagnostics, so `--json` stays a clean document on stdout.
        plan.warnings.forEach((w) => console.error(`warning: ${w}`));
        console.log(args.json ? JSON.stringify(planDocument(plan), null, 2) : renderTree(plan));
        return 0;
    } catch (e) {
        if (e instanceof ConfigError) {
            console.error(e.message);
            return 1;
        }
        console.error(e instanceof Error ? e.message : String(e));
        return 1;
    }
}

if (require.main === module) {
    // Exit once stdout has drained: a pipe (`| jq`) is written asynchronously, and process.exit
    // right after a large write cut the JSON at 64 KiB. An empty write's callback runs after
    // every earlier write was handed to the OS.
    main(process.argv.slice(2)).then((code) => {
        process.exitCode = code;
        process.stdout.write("", () => process.exit(code));
    });
}
