// A first `pulumi preview` of a new stack: nothing exists, so every value a provider computes
// (ids, ARNs, endpoints, awsx/eks component outputs) is unknown and `apply` callbacks on them never
// run, while invokes are answered. The program must still complete on every stack and target, and
// plan every resource a deploy creates (one made inside an `apply` would be missing from the preview).
import * as assert from "assert";
import { TARGET_NAMES } from "../config";
import { Json, PlanResult } from "../harness/run";
import { availableStacks } from "../harness/stackConfig";
import { EKS, planStack } from "./helpers";

function hasUnknown(value: Json): boolean {
    if (value === "[unknown]") {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(hasUnknown);
    }
    return value !== null && typeof value === "object" && Object.values(value).some(hasUnknown);
}

const urns = (plan: PlanResult) => plan.resources.map((r) => r.urn);

describe("first preview of a new stack (npm run plan -- --preview)", function () {
    this.timeout(180000);
    for (const stack of availableStacks()) {
        for (const target of TARGET_NAMES) {
            it(`${stack} / ${target}: completes, plans every resource, and marks what only a deploy knows`, async () => {
                const preview = await planStack(stack, target === "eks" ? [...EKS] : [`target=${target}`], { preview: true });
                const up = await planStack(stack, target === "eks" ? [...EKS] : [`target=${target}`]);
                assert.strictEqual(preview.preview, true);
                assert.deepStrictEqual(urns(preview), urns(up), "the preview shows the resources the deploy creates");
                assert.ok(!hasUnknown(up.outputs), "a deploy knows every output");
                assert.strictEqual(preview.outputs.target, target, "config-derived outputs are known");
                assert.strictEqual(preview.outputs.url, "[unknown]", "the load balancer's name exists only after deploy");
                assert.strictEqual(preview.outputs.databaseEndpoint, "[unknown]");
                assert.ok(preview.resources.some((r) => hasUnknown(r.inputs)), "inputs fed by computed outputs are unknown");
                assert.ok(preview.invokes.length > 0 && preview.invokes.length <= up.invokes.length, "invokes are answered (those with unknown inputs wait)");
            });
        }
    }
});
