// An offline plan leaves the checkout as it found it (issue 15 item 3): build artifacts such as the
// Beanstalk bundle go to a temporary directory that is removed when the process exits.
import * as assert from "assert";
import * as child from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runProgram } from "../harness/run";
import { resolveStackConfig, ROOT } from "../harness/stackConfig";
import { program } from "../program";
import { EKS, one } from "./helpers";

/** `git status --porcelain --ignored` without node_modules: ignored paths such as .build/ count too. */
function gitStatus(): string {
    const out = child.execFileSync("git", ["status", "--porcelain", "--ignored"], { cwd: ROOT, encoding: "utf8" });
    return out.split("\n").filter((l) => l !== "" && !/^!! node_modules\/?$/.test(l)).join("\n");
}

/** Every file and directory of the checkout (outside .git and node_modules) with its size and mtime. */
function checkoutFiles(): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            if (child === ".git" || child === "node_modules") {
                continue;
            }
            const st = fs.lstatSync(path.join(ROOT, child));
            out.set(child, `${st.size} ${st.mtimeMs}`);
            if (entry.isDirectory()) {
                walk(child);
            }
        }
    };
    walk("");
    return out;
}

const TARGETS: Readonly<Record<string, readonly string[]>> = { beanstalk: ["target=beanstalk"], ecs: ["target=ecs"], eks: [...EKS] };

describe("the repository tracks no installed dependencies", () => {
    it("node_modules is not in git, as a directory or as a symlink (a worktree's link was once committed), and .gitignore covers both", () => {
        const tracked = child.execFileSync("git", ["ls-files", "--", "node_modules"], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(tracked, "");
        const ignored = child.spawnSync("git", ["check-ignore", "--no-index", "-q", "node_modules"], { cwd: ROOT });
        assert.strictEqual(ignored.status, 0, "a file or symlink named node_modules is ignored");
    });
});

describe("npm run plan leaves the checkout as it found it", () => {
    for (const stack of ["dev", "prod"]) {
        for (const [target, sets] of Object.entries(TARGETS)) {
            it(`${stack} x ${target}: git status and every file of the checkout are unchanged`, async () => {
                const status = gitStatus();
                const files = checkoutFiles();
                // The program with its own defaults, as scripts/plan.ts and index.ts run it (no buildDir).
                const plan = await runProgram(() => program(), resolveStackConfig(stack, sets));
                assert.strictEqual(gitStatus(), status);
                assert.deepStrictEqual(checkoutFiles(), files);
                if (target === "beanstalk") {
                    // The bundle was written, outside the checkout, and is what S3 receives.
                    const source = one(plan, "aws:s3/bucketObjectv2:BucketObjectv2").inputs.source as { path: string };
                    assert.ok(!path.resolve(source.path).startsWith(ROOT + path.sep), source.path);
                    assert.ok(path.resolve(source.path).startsWith(os.tmpdir() + path.sep), source.path);
                    assert.ok(fs.readFileSync(source.path).subarray(0, 4).equals(Buffer.from("PK\x03\x04", "binary")), "a zip");
                }
            });
        }
    }

    it("the CLI removes its temporary directory when it exits, and writes nothing into the checkout", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-tmpdir-"));
        const status = gitStatus();
        const files = checkoutFiles();
        const run = child.spawnSync("npm", ["run", "--silent", "plan", "--", "--stack", "dev", "--set", "target=beanstalk", "--json"], {
            cwd: ROOT, encoding: "utf8", env: { ...process.env, TMPDIR: tmp }, maxBuffer: 64 * 1024 * 1024,
        });
        assert.strictEqual(run.status, 0, run.stderr);
        const doc = JSON.parse(run.stdout) as { resources: { type: string; inputs: { source?: { path?: string } } }[] };
        const bundlePath = doc.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2")?.inputs.source?.path ?? "";
        assert.ok(bundlePath.startsWith(tmp + path.sep), `the bundle was written under TMPDIR: ${bundlePath}`);
        assert.ok(fs.existsSync(path.dirname(bundlePath)) === false, "the scratch directory is gone after exit");
        assert.deepStrictEqual(fs.readdirSync(tmp).filter((f) => f.startsWith("flask-platform-")), []);
        assert.strictEqual(gitStatus(), status);
        assert.deepStrictEqual(checkoutFiles(), files);
    }).timeout(180000);
});
