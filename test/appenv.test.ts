// The app's Python environment: one recipe (app/scripts/venv.sh) for the tests and `npm run app`,
// agreeing with what ships (Dockerfile, Elastic Beanstalk platform), and one list of Debian
// packages (scripts/setup-system.sh) whose absence is reported in one line.
import * as assert from "assert";
import * as child from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseConfig, TARGET_NAMES } from "../config";
import { ROOT } from "../harness/stackConfig";
import { SOLUTION_STACK_REGEX } from "../targets/beanstalk";
import { APP_DIR } from "./helpers";

const VENV_SH = path.join(APP_DIR, "scripts", "venv.sh");
const SETUP_SH = path.join(ROOT, "scripts", "setup-system.sh");

/** The interpreter minor the recipe builds the venv from (`APP_PYTHON=3.11`). */
function recipePython(): string {
    const m = /^APP_PYTHON=(\d+\.\d+)$/m.exec(fs.readFileSync(VENV_SH, "utf8"));
    assert.ok(m, "app/scripts/venv.sh sets no APP_PYTHON=<major.minor>");
    return m[1];
}

/** Dockerfile instructions with line continuations joined, comments dropped. */
function dockerInstructions(): string[] {
    return fs.readFileSync(path.join(APP_DIR, "Dockerfile"), "utf8")
        .split("\n").filter((l) => !/^\s*#/.test(l)).join("\n")
        .replace(/\\\n/g, " ")
        .split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** A PATH directory holding a fake `dpkg-query` that reports the packages in $FAKE_MISSING as absent. */
function fakeDpkg(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-dpkg-"));
    fs.writeFileSync(path.join(dir, "dpkg-query"), [
        "#!/bin/sh",
        "for a; do pkg=$a; done",
        "case \" $FAKE_MISSING \" in *\" $pkg \"*) echo \"dpkg-query: no packages found matching $pkg\" >&2; exit 1;; esac",
        "printf 'install ok installed'",
        "",
    ].join("\n"), { mode: 0o755 });
    return dir;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

function getJson(url: string): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 2000 }, (res) => {
            let data = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (data += c));
            res.on("end", () => {
                try {
                    resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) });
                } catch (e) {
                    reject(e);
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
    });
}

describe("the app's Python environment", () => {
    it("the image, the Beanstalk platform rule and the venv recipe use one Python minor", () => {
        const minor = recipePython();
        const froms = dockerInstructions().filter((l) => /^FROM\s/i.test(l));
        assert.ok(froms.length > 0, "Dockerfile has no FROM");
        for (const from of froms) {
            // Docker's official image, from Docker Hub or its mirror on ECR Public (no pull limit for CodeBuild).
            const m = /^FROM\s+(?:--platform=\S+\s+)?(?:public\.ecr\.aws\/docker\/library\/)?python:(\d+\.\d+)[-.\w]*(?:\s+AS\s+\S+)?$/i.exec(from);
            assert.ok(m, `Dockerfile stage is not an official python:<minor> image: ${from}`);
            assert.strictEqual(m[1], minor, `Dockerfile ${from} vs app/scripts/venv.sh APP_PYTHON=${minor}`);
        }
        // The platform the program picks when nothing is pinned, and what config accepts as a pin.
        const stack = (py: string) => `64bit Amazon Linux 2023 v4.7.1 running Python ${py}`;
        const auto = new RegExp(SOLUTION_STACK_REGEX);
        const pinOk = (py: string) => {
            try {
                parseConfig("flask-platform", "test", { target: "beanstalk", ebSolutionStack: stack(py) }, { implementedTargets: [...TARGET_NAMES] });
                return true;
            } catch (e) {
                assert.ok(e instanceof ConfigError, String(e));
                assert.match(e.message, /ebSolutionStack/);
                return false;
            }
        };
        for (const py of ["3.9", "3.11", "3.12", "3.13"]) {
            assert.strictEqual(auto.test(stack(py)), py === minor, `SOLUTION_STACK_REGEX on Python ${py}`);
            assert.strictEqual(pinOk(py), py === minor, `config ebSolutionStack pinned to Python ${py}`);
        }
    });

    it("the venv recipe really builds from that minor", function () {
        this.timeout(180_000);
        const py = child.execFileSync("bash", [VENV_SH], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n").pop()!;
        const version = child.execFileSync(py, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).trim();
        assert.strictEqual(version, recipePython());
    });

    it("the Dockerfile installs exactly requirements.txt, which holds only exact pins", () => {
        const lines = dockerInstructions();
        const pipRuns = lines.filter((l) => /\bpip3?\s+install\b/.test(l));
        assert.strictEqual(pipRuns.length, 1, pipRuns.join("\n"));
        const m = /\bpip3?\s+install\s+-r\s+(\S+)\s*$/.exec(pipRuns[0]);
        assert.ok(m, `pip install must take nothing but -r requirements.txt: ${pipRuns[0]}`);
        const copy = lines.find((l) => /^COPY\s+requirements\.txt\s+\S+$/.test(l));
        assert.ok(copy, "Dockerfile does not COPY requirements.txt");
        assert.strictEqual(copy.split(/\s+/)[2], m[1], "pip installs another file than the copied requirements.txt");
        const pins = fs.readFileSync(path.join(APP_DIR, "requirements.txt"), "utf8")
            .split("\n").map((l) => l.replace(/#.*/, "").trim()).filter((l) => l !== "");
        assert.ok(pins.length > 0);
        for (const pin of pins) {
            assert.match(pin, /^[A-Za-z0-9._-]+==[^\s;=]+$/, `requirements.txt line is not an exact pin: ${pin}`);
        }
        // test.sh and run_local.sh take the recipe; neither picks an interpreter of its own.
        for (const script of ["scripts/test.sh", "run_local.sh"]) {
            const text = fs.readFileSync(path.join(APP_DIR, script), "utf8");
            assert.match(text, /scripts\/venv\.sh/, `${script} does not use scripts/venv.sh`);
            assert.doesNotMatch(text, /\/usr\/bin\/python3|-m venv|pip install/, `${script} builds its own environment`);
        }
    });

    it("lists the Debian packages once: .ci/run installs them, npm test checks them first", () => {
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        assert.match(ci, /bash scripts\/setup-system\.sh (test|bench)\b/);
        assert.doesNotMatch(ci, /apt-get|python3-/, ".ci/run has its own package list");
        const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        assert.strictEqual(scripts.pretest, "bash scripts/setup-system.sh --check test");
        assert.strictEqual(scripts.app, "bash app/run_local.sh");
    });

    it("a missing Debian package stops npm test, npm run app and the venv in one line that says how to install it", () => {
        const bin = fakeDpkg();
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_MISSING: "python3-psycopg-pool postgresql" };
        const runs: [string, string[], RegExp][] = [
            ["bash", [SETUP_SH, "--check", "test"], /^missing Debian packages: python3-psycopg-pool postgresql -- install them with: (sudo )?apt-get install -y python3-psycopg-pool postgresql {2}\(or: bash scripts\/setup-system\.sh test\)$/],
            ["bash", [path.join(APP_DIR, "run_local.sh")], /^missing Debian packages: python3-psycopg-pool -- install them with: (sudo )?apt-get install -y python3-psycopg-pool {2}\(or: bash scripts\/setup-system\.sh app\)$/],
            ["bash", [path.join(APP_DIR, "scripts", "test.sh")], /^missing Debian packages: python3-psycopg-pool postgresql -- install them with: (sudo )?apt-get install -y python3-psycopg-pool postgresql {2}\(or: bash scripts\/setup-system\.sh test\)$/],
        ];
        for (const [cmd, args, expected] of runs) {
            const r = child.spawnSync(cmd, args, { env, encoding: "utf8", timeout: 30_000 });
            assert.strictEqual(r.status, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
            assert.strictEqual(r.stdout, "", args[0]);
            assert.match(r.stderr.replace(/\n$/, ""), expected, args[0]);
        }
        // Nothing missing: the check is silent.
        const ok = child.spawnSync("bash", [SETUP_SH, "--check"], { env: { ...env, FAKE_MISSING: "" }, encoding: "utf8" });
        assert.deepStrictEqual([ok.status, ok.stdout, ok.stderr], [0, "", ""]);
        fs.rmSync(bin, { recursive: true, force: true });
    });

    it("a pin the package index lacks is one line naming the Debian package, not a pip dump", function () {
        // This machine's pip mirror has no psycopg-pool (Debian's python3-psycopg-pool supplies it).
        // An interpreter without Debian's site-packages must hit that and say so in one line.
        const mirror = "/opt/pypi/simple";
        const pyenv = child.spawnSync("python3", ["-c", "import sys, ensurepip; print(sys.executable if sys.version_info[:2] == (3, 11) and sys.prefix == sys.base_prefix else '')"], { encoding: "utf8" }).stdout.trim();
        if (!fs.existsSync(mirror) || fs.existsSync(path.join(mirror, "psycopg-pool")) || !pyenv || pyenv.startsWith("/usr/")) {
            this.skip();
        }
        this.timeout(180_000);
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "venv-nopool-"));
        const r = child.spawnSync("bash", [VENV_SH], { env: { ...process.env, BASE_PYTHON: pyenv, APP_VENV: path.join(tmp, "venv") }, encoding: "utf8", timeout: 170_000 });
        fs.rmSync(tmp, { recursive: true, force: true });
        assert.strictEqual(r.status, 2, r.stdout + r.stderr);
        const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("== building"));
        assert.strictEqual(lines.length, 1, r.stderr);
        assert.match(lines[0], /^venv\.sh: pip could not install app\/requirements\.txt: ERROR: No matching distribution found for psycopg-pool==3\.1\.5 -- Debian supplies it: (sudo )?apt-get install -y python3-psycopg-pool .*\(full log: .*\)$/);
    });

    it("npm run app builds the venv on a fresh machine and serves /time on SQLite", async function () {
        this.timeout(180_000);
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "run-local-"));
        const port = await freePort();
        const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, PORT: String(port), WEB_CONCURRENCY: "1" };
        for (const k of ["DATABASE_URL", "DB_HOST", "DB_SECRET", "SQLITE_PATH", "APP_VENV", "TEST_VENV"]) {
            delete env[k];
        }
        const proc = child.spawn("bash", [path.join(APP_DIR, "run_local.sh")], { env, stdio: ["ignore", "ignore", "pipe"], detached: true });
        let stderr = "";
        proc.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
        try {
            const deadline = Date.now() + 150_000;
            let got: { status: number; body: unknown } | undefined;
            while (!got && Date.now() < deadline && proc.exitCode === null) {
                got = await getJson(`http://127.0.0.1:${port}/time`).catch(() => undefined);
                if (!got) {
                    await new Promise((r) => setTimeout(r, 300));
                }
            }
            assert.ok(got, `no answer on /time:\n${stderr}`);
            assert.strictEqual(got.status, 200);
            assert.strictEqual((got.body as { message: string }).message, "Automation for the People");
            assert.match(stderr, /== building the app venv /, "the venv was not built fresh");
            const ready = await getJson(`http://127.0.0.1:${port}/ready`);
            assert.deepStrictEqual(ready, { status: 200, body: { status: "ready", database: "sqlite" } });
        } finally {
            if (proc.exitCode === null) {
                process.kill(-proc.pid!, "SIGTERM");
                await new Promise((r) => proc.once("exit", r));
            }
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
