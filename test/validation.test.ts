// Issue 16 §4: the validation gaps an adopter found (pod fit on EKS nodes, typos in free text,
// keys of another target, misspelt keys, the offline plan's one hosted zone).
import * as assert from "assert";
import { ConfigError, parseConfig, StackConfig, TARGET_NAMES } from "../config";
import { editDistance, nearest } from "../lib/suggest";
import { planStack } from "./helpers";

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

    describe("a real domain in the offline plan", () => {
        it("says the mock cloud knows only its example zone", async () => {
            await assert.rejects(planStack("dev", ["target=ecs", "domainName=app.nowhere.org"]), (e: Error) => {
                assert.match(e.message, /^invoke aws:route53\/getZone:getZone failed: no matching Route 53 Hosted Zone found \(name nowhere\.org\): the offline plan's mock cloud only knows the zone example\.com, not your account's zones\. /);
                assert.match(e.message, /Plan offline with a domainName under example\.com \(e\.g\. app\.example\.com\); whether nowhere\.org exists is checked by pulumi preview against the account$/);
                return true;
            });
        });

        it("lists every zone the mock cloud was given, and plans a domain in one of them", async () => {
            const cloud = { hostedZones: ["example.com", "example.org"] };
            await assert.rejects(planStack("dev", ["target=ecs", "domainName=app.nowhere.org"], { cloud }), /only knows the zones example\.com, example\.org, /);
            const plan = await planStack("dev", ["target=ecs", "domainName=app.example.org"], { cloud });
            assert.ok(plan.resources.some((r) => r.type === "aws:route53/record:Record"));
        });
    });
});
