// Issue 16 §3: every committed stack plans on every target, carries tags derived from the running
// stack (not from a hand-written aws:defaultTags), and sets only what differs from the project
// defaults; a stack file copied to make `staging` tags its resources `stack: staging`.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig, TARGET_NAMES } from "../config";
import { PlanResult, runProgram } from "../harness/run";
import { availableStacks, readProjectFile, resolveStackConfig, ROOT, StackConfigError } from "../harness/stackConfig";
import { isTaggable, stackTags, withStackTags } from "../lib/tags";
import { program } from "../program";
import { implementedTargets } from "../targets";
import { EKS, promiseOf, TEST_BUILD_DIR } from "./helpers";

/** The `--set` overrides that put a stack on `target`. */
function targetSets(target: string): string[] {
    return target === "eks" ? [...EKS] : [`target=${target}`];
}

/** A throwaway copy of the project (Pulumi.yaml) with the given stack files. */
function projectCopy(stacks: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flask-platform-stacks-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [name, text] of Object.entries(stacks)) {
        fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), text);
    }
    return dir;
}

function planIn(root: string, stack: string, sets: string[] = []): Promise<PlanResult> {
    return runProgram(() => program({ buildDir: TEST_BUILD_DIR }), resolveStackConfig(stack, sets, root));
}

/** Every taggable AWS resource of the plan, with its tags. */
function taggedResources(plan: PlanResult): { name: string; type: string; tags: Record<string, string> | null }[] {
    return plan.resources.filter((r) => isTaggable(r.type))
        .map((r) => ({ name: r.name, type: r.type, tags: r.inputs.tags as Record<string, string> | null }));
}

function assertStackTags(plan: PlanResult, stack: string): void {
    const tagged = taggedResources(plan);
    assert.ok(tagged.length > 10, `expected many taggable resources, got ${tagged.length}`);
    for (const r of tagged) {
        assert.ok(r.tags !== null, `${r.type} ${r.name} has no tags`);
        assert.strictEqual(r.tags.stack, stack, `${r.type} ${r.name} tagged stack ${r.tags.stack}`);
        assert.strictEqual(r.tags.project, "flask-platform", `${r.type} ${r.name}`);
        assert.strictEqual(r.tags["managed-by"], "pulumi", `${r.type} ${r.name}`);
    }
}

const stacks = availableStacks();

describe("committed stacks (issue 16 §3)", () => {
    it("finds the committed stack files by glob", () => {
        // The loops below run over this list: a new Pulumi.<stack>.yaml is planned without a test edit.
        assert.ok(stacks.includes("dev") && stacks.includes("prod"), stacks.join(", "));
    });

    for (const stack of stacks) {
        describe(`Pulumi.${stack}.yaml`, () => {
            for (const target of implementedTargets()) {
                it(`plans on ${target} with every taggable resource tagged stack: ${stack}`, async function () {
                    this.timeout(120000);
                    const plan = await planIn(ROOT, stack, targetSets(target));
                    assert.strictEqual(plan.outputs.target, target);
                    assertStackTags(plan, stack);
                });
            }

            it("sets only what differs from the project defaults, and target, which has none", () => {
                const project = readProjectFile();
                const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"), { schema: yaml.CORE_SCHEMA }) as { config: Record<string, unknown> };
                const prefix = `${project.name}:`;
                const same = Object.entries(doc.config)
                    .filter(([key]) => key.startsWith(prefix))
                    .filter(([key, value]) => {
                        const decl = project.config?.[key.slice(prefix.length)];
                        return decl?.default !== undefined && String(decl.default) === String(value);
                    })
                    .map(([key]) => key);
                assert.deepStrictEqual(same, [], "keys set to their project default (remove them from the stack file)");
                assert.ok(`${prefix}target` in doc.config, "target has no project default: the CLI requires it in every stack file");
                assert.ok(!("aws:defaultTags" in doc.config), "aws:defaultTags: the program derives project and stack tags (lib/tags.ts)");
            });
        });
    }
});

describe("Pulumi.yaml under the CLI's project schema (issue 16)", () => {
    it("types keys only as the schema allows (string, integer, boolean, array); maps are untyped", () => {
        // pulumi/pulumi sdk/go/common/workspace/project.json: $defs.simpleConfigType enum.
        const allowed = ["string", "integer", "boolean", "array"];
        const bad = Object.entries(readProjectFile().config ?? {}).filter(([, d]) => d.type !== undefined && !allowed.includes(d.type)).map(([k, d]) => `${k}: ${d.type}`);
        assert.deepStrictEqual(bad, []);
        for (const key of ["appEnv", "appSecrets"]) {
            assert.deepStrictEqual(readProjectFile().config?.[key]?.default, {}, key);
        }
    });
});

describe("adding a stack (README: Add an environment)", () => {
    const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");

    it("a copy of Pulumi.dev.yaml as Pulumi.staging.yaml tags every resource stack: staging and names them for staging", async () => {
        const root = projectCopy({ staging: dev });
        for (const target of ["beanstalk", "ecs"]) {
            const plan = await planIn(root, "staging", targetSets(target));
            assertStackTags(plan, "staging");
            const db = plan.resources.find((r) => r.type === "aws:rds/instance:Instance");
            assert.strictEqual(db?.inputs.identifier, "flask-app-staging-db");
        }
    });

    it("the README's command sequence (config set region and target only) gives a stack that plans", async () => {
        // `pulumi stack init staging; pulumi config set aws:region ...; pulumi config set target ecs`
        const root = projectCopy({ staging: "config:\n  aws:region: eu-west-1\n  flask-platform:target: ecs\n" });
        const plan = await planIn(root, "staging");
        assertStackTags(plan, "staging");
        assert.strictEqual(plan.config["aws:region"], "eu-west-1");
    });

    it("a stack file without target is refused as the CLI refuses it", () => {
        const root = projectCopy({ staging: "config:\n  aws:region: us-east-1\n" });
        assert.throws(() => resolveStackConfig("staging", [], root),
            (e: unknown) => e instanceof StackConfigError && e.message === "Stack 'staging' is missing configuration value 'target'");
    });

    const old = "config:\n  aws:region: us-east-1\n  aws:defaultTags:\n    tags:\n      project: flask-platform\n      stack: dev\n      cost-center: web\n  flask-platform:target: ecs\n";

    it("an aws:defaultTags without project and stack stays allowed (cost-center, owner...)", async () => {
        const plan = await planIn(projectCopy({ staging: old.replace("      stack: dev\n", "") }), "staging");
        assertStackTags(plan, "staging");
    });

    it("an old stack file copied with aws:defaultTags stack: dev is refused, naming the tag", async () => {
        await assert.rejects(planIn(projectCopy({ staging: old }), "staging"), /aws:defaultTags sets the tag stack: "dev" but this is stack "staging"/);
    });
});

describe("stack tags (lib/tags.ts)", () => {
    const tags = stackTags("p", "s");

    it("knows which AWS types take tags, as the provider's defaultTags do (those with tagsAll)", () => {
        assert.strictEqual(isTaggable("aws:ec2/natGateway:NatGateway"), true);
        assert.strictEqual(isTaggable("aws:rds/instance:Instance"), true);
        // autoscaling.Group takes a list of tags and has no tagsAll; defaultTags skip it too.
        assert.strictEqual(isTaggable("aws:autoscaling/group:Group"), false);
        assert.strictEqual(isTaggable("aws:iam/rolePolicyAttachment:RolePolicyAttachment"), false);
        assert.strictEqual(isTaggable("kubernetes:apps/v1:Deployment"), false);
        assert.strictEqual(isTaggable("awsx:ec2:Vpc"), false);
    });

    it("merges under the resource's own tags, plain or Output, and leaves other resources alone", async () => {
        assert.deepStrictEqual(withStackTags("aws:ec2/vpc:Vpc", {}, tags)?.tags, { project: "p", stack: "s", "managed-by": "pulumi" });
        assert.deepStrictEqual(withStackTags("aws:ec2/vpc:Vpc", { tags: { Name: "x", stack: "own" } }, tags)?.tags,
            { project: "p", stack: "own", "managed-by": "pulumi", Name: "x" });
        const out = withStackTags("aws:ec2/vpc:Vpc", { tags: pulumi.output({ Name: "y" }) }, tags)?.tags as pulumi.Output<Record<string, string>>;
        assert.deepStrictEqual(await promiseOf(out), { project: "p", stack: "s", "managed-by": "pulumi", Name: "y" });
        assert.strictEqual(withStackTags("aws:iam/rolePolicyAttachment:RolePolicyAttachment", { role: "r" }, tags), undefined);
        // An unknown (preview) value is left alone rather than spread character by character.
        assert.strictEqual(withStackTags("aws:ec2/vpc:Vpc", { tags: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }, tags), undefined);
    });

    it("validation reports a mismatched aws:defaultTags with the other problems", () => {
        assert.throws(() => parseConfig("flask-platform", "staging", { target: "ecs", appPort: "1" }, {
            implementedTargets: TARGET_NAMES, awsDefaultTags: JSON.stringify({ tags: { project: "other", stack: "dev" } }),
        }), (e: unknown) => {
            assert.ok(e instanceof ConfigError);
            assert.strictEqual(e.problems.length, 3, e.message);
            assert.match(e.message, /tag project: "other" but this is project "flask-platform"/);
            assert.match(e.message, /tag stack: "dev" but this is stack "staging"/);
            assert.match(e.message, /appPort/);
            return true;
        });
    });
});
