// The documentation adopters read (issue 16 item 6): the generated config reference stays in step
// with config.ts, the README's pipe-clean JSON command prints JSON and nothing else, and every
// relative link and anchor of README.md and docs/ leads somewhere.
import * as assert from "assert";
import * as child from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CONFIG_SCHEMA, KeySpec } from "../config";
import { ROOT } from "../harness/stackConfig";
import { CONFIG_REFERENCE, configReference, REGENERATE, targetsOf } from "../scripts/config-reference";

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

describe("docs/config.md (generated config reference)", () => {
    it("is what scripts/config-reference.ts renders from config.ts", () => {
        const committed = fs.existsSync(CONFIG_REFERENCE) ? fs.readFileSync(CONFIG_REFERENCE, "utf8") : "";
        assert.ok(committed === configReference(), `docs/config.md is out of date with config.ts: run \`${REGENERATE}\` and commit docs/config.md`);
    });

    /** The reference's table rows: key -> cells. */
    function rows(): Map<string, string[]> {
        const out = new Map<string, string[]>();
        for (const line of configReference().split("\n")) {
            const m = /^\| `([A-Za-z0-9]+)` \| (.*) \|$/.exec(line);
            if (m) {
                out.set(m[1], m[2].split(/(?<!\\) \| /));
            }
        }
        return out;
    }

    it("has one row per schema key, with Pulumi.yaml's default", () => {
        const table = rows();
        assert.deepStrictEqual([...table.keys()], Object.keys(CONFIG_SCHEMA));
        const project = yaml.load(read("Pulumi.yaml")) as { config: Record<string, { default?: unknown }> };
        for (const [key, cells] of table) {
            const declared = project.config[key]?.default;
            const shown = cells[1];
            if (declared === undefined) {
                assert.strictEqual(shown, "required", key);
            } else if (declared === "") {
                assert.strictEqual(shown, "unset", key);
            } else {
                assert.strictEqual(shown, `\`${typeof declared === "string" ? declared : JSON.stringify(declared)}\``, key);
            }
        }
    });

    it("names the allowed values the validator enforces", () => {
        const table = rows();
        assert.strictEqual(table.get("target")?.[2], "`beanstalk`, `ecs`, `eks`");
        assert.strictEqual(table.get("availabilityZones")?.[2], "2 to 3");
        assert.match(table.get("vpcCidr")?.[2] ?? "", /IPv4 CIDR block from \/16 to \/20/);
    });

    it("says which targets read a key: the description's platform, else the prefix, else all", () => {
        const spec = (key: keyof typeof CONFIG_SCHEMA): KeySpec => CONFIG_SCHEMA[key];
        assert.deepStrictEqual(targetsOf("ebInstanceType", spec("ebInstanceType")), ["beanstalk"]);
        assert.deepStrictEqual(targetsOf("ecsSpot", spec("ecsSpot")), ["ecs"]);
        assert.deepStrictEqual(targetsOf("eksExistingCluster", spec("eksExistingCluster")), ["eks"]);
        // No prefix, but only ECS's autoscaling and EKS's HPA read it (targets/ecs.ts, targets/eks.ts).
        assert.deepStrictEqual(targetsOf("cpuTargetPercent", spec("cpuTargetPercent")), ["ecs", "eks"]);
        assert.deepStrictEqual(targetsOf("imageKeepCount", spec("imageKeepCount")), ["ecs", "eks"]);
        assert.deepStrictEqual(targetsOf("minCapacity", spec("minCapacity")), ["beanstalk", "ecs", "eks"]);
        assert.deepStrictEqual(targetsOf("ebFuture", { type: "boolean", default: false, description: "no label" }), ["beanstalk"]);
    });
});

describe("README: the pipe-clean JSON plan", function () {
    this.timeout(120_000);

    it("the documented `npm run -s plan -- ... --json` prints one JSON document and nothing else on stdout", () => {
        const command = /npm run -s plan -- [^`|\n]*--json/.exec(read("README.md"))?.[0];
        assert.ok(command, "README.md documents `npm run -s plan -- ... --json | jq`");
        const r = child.spawnSync("bash", ["-c", command], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        assert.strictEqual(r.status, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as { project: string; resources: unknown[] };
        assert.strictEqual(doc.project, "flask-platform");
        assert.ok(doc.resources.length > 0);
    });

    it("a plan larger than a pipe's buffer reaches a reader whole (process.exit once stdout drained)", () => {
        // prod on EKS is ~175 KB of JSON: process.exit right after the write used to cut it at 64 KiB.
        const command = "npm run -s plan -- --stack prod --set target=eks --set 'eksDeployerRoleArns[0]=arn:aws:iam::123456789012:role/deployer' --set eksPublicAccessCidrs=private --json | cat";
        const r = child.spawnSync("bash", ["-o", "pipefail", "-c", command], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(r.stdout.length > 128 * 1024, `only ${r.stdout.length} bytes`);
        const doc = JSON.parse(r.stdout) as { resources: unknown[] };
        assert.ok(doc.resources.length > 50);
    });
});

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
    const out = new Set<string>();
    const seen = new Map<string, number>();
    let fence = false;
    for (const line of markdown.split("\n")) {
        if (/^\s*(```|~~~)/.test(line)) {
            fence = !fence;
            continue;
        }
        const m = fence ? null : /^#{1,6} (.*)$/.exec(line);
        if (!m) {
            continue;
        }
        const base = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

/** Pages another change of issue 16 adds (operations, item 5): a link to them is checked once they exist. */
const PENDING = new Set(["docs/operate.md"]);

describe("README.md and docs/: every relative link and anchor resolves", () => {
    const pages = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    for (const page of pages) {
        it(page, () => {
            const text = read(page).replace(/```[\s\S]*?```/g, "");
            const broken: string[] = [];
            for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                const link = m[1];
                if (/^[a-z]+:/.test(link)) {
                    continue;
                }
                const [file, anchor] = link.split("#");
                const target = file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
                if (!fs.existsSync(path.join(ROOT, target))) {
                    if (PENDING.has(target)) {
                        continue;
                    }
                    broken.push(`${link}: no file ${target}`);
                } else if (anchor !== undefined && target.endsWith(".md") && !anchors(read(target)).has(anchor)) {
                    broken.push(`${link}: no heading #${anchor} in ${target}`);
                }
            }
            assert.deepStrictEqual(broken, []);
        });
    }
});
