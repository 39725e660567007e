// `npm run plan -- --stack dev [--set key=value ...] [--json]`
// Runs the real program in-process under the mock cloud with a stack's committed config and prints
// what `pulumi up` would create: no AWS account, no Pulumi CLI needed.
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
}

const USAGE = "usage: npm run plan -- [--project delivery] --stack <name> [--set key=value ...] [--json]";

/** The projects `--project` can select: directory -> the program that directory's index.ts runs. */
export const PROJECTS: Readonly<Record<string, () => Record<string, unknown>>> = {
    ".": () => program(),
    delivery: () => delivery(),
};

export function parseArgs(argv: readonly string[]): Args {
    const args: Args = { stack: "", sets: [], json: false };
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

/** The document `--json` prints. */
export function planDocument(plan: PlanResult): Record<string, Json> {
    return {
        project: plan.project,
        stack: plan.stack,
        config: plan.config,
        resources: plan.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, custom: r.custom, inputs: r.inputs })),
        outputs: plan.outputs,
    };
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
    const lines: string[] = [`Stack ${plan.project}/${plan.stack}: ${plan.resources.length} resources (offline plan, mock cloud)`, ""];
    const children = new Map<string | null, PlannedResource[]>();
    const urns = new Set(plan.resources.map((r) => r.urn));
    for (const r of plan.resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : null;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const walk = (parent: string | null, indent: string) => {
        for (const r of children.get(parent) ?? []) {
            lines.push(`${indent}+ ${r.type}  ${r.name}`);
            const detail = `${indent}    `;
            for (const [key, value] of Object.entries(r.inputs)) {
                if (SKIP_KEYS.has(key) || value === null) {
                    continue;
                }
                if (key === "settings" && r.type === "aws:elasticbeanstalk/environment:Environment") {
                    lines.push(`${detail}settings:`);
                    settingsLines(value).forEach((l) => lines.push(`${detail}  ${l}`));
                } else {
                    lines.push(`${detail}${key}: ${short(value)}`);
                }
            }
            walk(r.urn, `${indent}  `);
        }
    };
    walk(null, "");
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
        const plan = await runProgram(PROJECTS[args.project ?? "."], config);
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
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
