import * as assert from "assert";
import * as child from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundleDirectory, listFiles, zip } from "../lib/zip";
import { APP_DIR } from "./helpers";

function tree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zip-test-"));
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
}

describe("bundle zip", () => {
    it("writes each entry with the fixed 1980-01-01 00:00 time and its Unix mode, as unzip reads them", () => {
        const bytes = zip([{ name: "run.sh", data: Buffer.from("#!/bin/sh\n"), mode: 0o755 }, { name: "app.py", data: Buffer.from("x = 1\n") }]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zipinfo-"));
        fs.writeFileSync(path.join(dir, "t.zip"), bytes);
        // zipinfo -T: "-rwxr-xr-x  2.0 unx  10 b- defN 19800101.000000 run.sh"
        const lines = child.execFileSync("zipinfo", ["-T", "t.zip"], { cwd: dir, encoding: "utf8" }).split("\n").filter((l) => /^-/.test(l));
        const fields = lines.map((l) => l.trim().split(/\s+/)).map((f) => ({ mode: f[0], host: f[2], time: f[6], name: f[7] }));
        assert.deepStrictEqual(fields, [
            { mode: "-rw-r--r--", host: "unx", time: "19800101.000000", name: "app.py" },
            { mode: "-rwxr-xr-x", host: "unx", time: "19800101.000000", name: "run.sh" },
        ]);
    });

    it("gives the same bytes in every time zone (the DOS date is written from local time)", () => {
        const script = `const { zip } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "zip"))});`
            + "process.stdout.write(zip([{ name: 'a', data: Buffer.from('1') }]).toString('hex'));";
        const inZone = (tz: string) => child.execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
            env: { ...process.env, TZ: tz }, encoding: "utf8", cwd: path.join(__dirname, ".."),
        });
        const utc = inZone("UTC");
        assert.strictEqual(utc, zip([{ name: "a", data: Buffer.from("1") }]).toString("hex"));
        for (const tz of ["Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kolkata"]) {
            assert.strictEqual(inZone(tz), utc, tz);
        }
    });

    it("writes archives that unzip reads back byte for byte", () => {
        const bytes = zip([{ name: "b/x.txt", data: Buffer.from("hello\n") }, { name: "a.py", data: Buffer.from("print(1)\n".repeat(100)) }]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "unzip-"));
        fs.writeFileSync(path.join(dir, "t.zip"), bytes);
        const test = child.spawnSync("unzip", ["-t", "t.zip"], { cwd: dir, encoding: "utf8" });
        assert.strictEqual(test.status, 0, test.stdout + test.stderr);
        child.execFileSync("unzip", ["-q", "t.zip", "-d", "out"], { cwd: dir });
        assert.strictEqual(fs.readFileSync(path.join(dir, "out/b/x.txt"), "utf8"), "hello\n");
        assert.strictEqual(fs.readFileSync(path.join(dir, "out/a.py"), "utf8"), "print(1)\n".repeat(100));
    });

    it("is deterministic: same content, same bytes, whatever the order or file times", () => {
        const a = zip([{ name: "x", data: Buffer.from("1") }, { name: "y", data: Buffer.from("2") }]);
        const b = zip([{ name: "y", data: Buffer.from("2") }, { name: "x", data: Buffer.from("1") }]);
        assert.ok(a.equals(b));
        const dir = tree({ "app.py": "x = 1\n" });
        const first = bundleDirectory(dir).sha256;
        fs.utimesSync(path.join(dir, "app.py"), new Date(2001, 1, 1), new Date(2001, 1, 1));
        assert.strictEqual(bundleDirectory(dir).sha256, first);
        fs.writeFileSync(path.join(dir, "app.py"), "x = 2\n");
        assert.notStrictEqual(bundleDirectory(dir).sha256, first);
    });

    it("leaves out tests, caches, local databases and dev tooling", () => {
        const dir = tree({
            "wsgi.py": "", "Procfile": "", "requirements.txt": "", "pkg/mod.py": "",
            "tests/test_a.py": "", "pkg/__pycache__/mod.cpython-311.pyc": "", "x.pyc": "", ".pytest_cache/v": "",
            ".hypothesis/db": "", "clients.db": "", "data.sqlite3": "", "scripts/test.sh": "", "Dockerfile": "",
            "requirements-dev.txt": "", ".venv/bin/python": "", "run_local.sh": "",
        });
        assert.deepStrictEqual(listFiles(dir), ["Procfile", "pkg/mod.py", "requirements.txt", "wsgi.py"]);
    });

    it("adds generated files but never over the app's own", () => {
        const dir = tree({ "wsgi.py": "", ".ebextensions/a.config": "" });
        const names = bundleDirectory(dir, { ".ebextensions/b.config": "x" }).entries.map((e) => e.name).sort();
        assert.deepStrictEqual(names, [".ebextensions/a.config", ".ebextensions/b.config", "wsgi.py"]);
        assert.throws(() => bundleDirectory(dir, { ".ebextensions/a.config": "y" }), /would overwrite the app's own \.ebextensions\/a\.config/);
    });

    it("the real app's bundle has what Elastic Beanstalk runs and nothing else", () => {
        const names = bundleDirectory(APP_DIR).entries.map((e) => e.name);
        for (const needed of ["Procfile", "requirements.txt", "wsgi.py", "gunicorn.conf.py", "clients_service/rds-ca-bundle.pem"]) {
            assert.ok(names.includes(needed), `bundle lacks ${needed}`);
        }
        assert.ok(!names.some((n) => /(^|\/)tests?\/|__pycache__|\.db$|^Dockerfile$/.test(n)), names.join("\n"));
    });
});
