// Issue 16 §4: the validation gaps an adopter found (pod fit on EKS nodes, typos in free text,
// keys of another target, misspelt keys, the offline plan's one hosted zone).
import * as assert from "assert";
import { ConfigError, parseConfig, StackConfig, TARGET_NAMES } from "../config";
import { editDistance, nearest } from "../lib/suggest";

const ALL = { implementedTargets: [...TARGET_NAMES] };

function parse(raw: Record<string, string>, opts: Partial<Parameters<typeof parseConfig>[3]> = {}): StackConfig {
    return parseConfig("flask-platform", "test", raw, { ...ALL, ...opts });
}

function problemsOf(raw: Record<string, string>, opts: Partial<Parameters<typeof parseConfig>[3]> = {}): readonly string[] {
    try {
        parse(raw, opts);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail(`config ${JSON.stringify(raw)} was accepted`);
}

describe("config validation gaps (issue 16 §4)", () => {
    describe("unknown keys", () => {
        it("measures edits and suggests only near misses", () => {
            assert.strictEqual(editDistance("minCapacty", "minCapacity"), 1);
            assert.strictEqual(editDistance("kitten", "sitting"), 3);
            assert.strictEqual(editDistance("tragte", "target"), 2, "a swap of neighbours is one edit");
            assert.strictEqual(nearest("minCapacty", ["maxCapacity", "minCapacity"]), "minCapacity");
            assert.strictEqual(nearest("zzzzzz", ["minCapacity", "target"]), undefined);
        });

        it("names the nearest known key", () => {
            assert.deepStrictEqual(problemsOf({ target: "ecs", minCapacty: "2" }), ["unknown config key flask-platform:minCapacty; did you mean minCapacity?"]);
            assert.deepStrictEqual(problemsOf({ target: "ecs", EKSNODEMAX: "2" }), ["unknown config key flask-platform:EKSNODEMAX; did you mean eksNodeMax?"]);
        });

        it("lists the known keys when nothing is near", () => {
            const [problem] = problemsOf({ target: "ecs", colour: "blue" });
            assert.match(problem, /^unknown config key flask-platform:colour \(known keys: target, appName, /);
        });
    });
});
