// The lint configuration applies Pulumi's own rules (@pulumi/eslint-plugin, issue 15 item 4) to
// every TypeScript file of both projects, with the type information they need.
import * as assert from "assert";
import * as path from "path";
import { ESLint } from "eslint";
import { ROOT } from "../harness/stackConfig";

describe("lint configuration", () => {
    it("applies @pulumi/no-output-in-template-literal and no-output-instance-in-template-literal, typed, to every project file", async () => {
        const eslint = new ESLint({ cwd: ROOT });
        for (const file of ["program.ts", "targets/ecs.ts", "components/domain.ts", "lib/zip.ts", "delivery/program.ts", "harness/run.ts", "test/helpers.ts"]) {
            const config = await eslint.calculateConfigForFile(path.join(ROOT, file)) as { rules: Record<string, unknown>; languageOptions: { parserOptions?: { projectService?: unknown } } };
            for (const rule of ["@pulumi/no-output-in-template-literal", "@pulumi/no-output-instance-in-template-literal"]) {
                assert.deepStrictEqual(config.rules[rule], [2], `${file}: ${rule}`);
            }
            assert.strictEqual(config.languageOptions.parserOptions?.projectService, true, `${file}: typed linting`);
        }
    });
});
