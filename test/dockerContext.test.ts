// .dockerignore as Docker applies it: the documented examples (docs.docker.com "Build context",
// ".dockerignore files": docker/docs content/manuals/build/concepts/context.md), `!` exceptions,
// and the directories BuildKit walks into (tonistiigi/fsutil filter.go).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contextDigest, contextFiles, dockerignore, parseDockerignore } from "../lib/dockerContext";
import { dockerBuildContextHash } from "../harness/cloudMemory";
import { APP_DIR } from "./helpers";

function tree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockerignore-test-"));
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
}

/** The paths among `paths` that `.dockerignore` text `lines` leaves out. */
function excluded(lines: readonly string[], paths: readonly string[]): string[] {
    const filter = parseDockerignore(lines.join("\n"));
    return paths.filter((p) => filter.excludes(p));
}

describe(".dockerignore: Docker's documented examples", () => {
    it("# comment, */temp*, */*/temp*, temp?: the table's behaviour, and nothing more", () => {
        const lines = ["# comment", "*/temp*", "*/*/temp*", "temp?"];
        const paths = [
            "somedir/temporary.txt", "somedir/temp", "somedir/temp/x", "somedir/subdir/temporary.txt", "tempa", "tempb",
            "# comment", "temporary.txt", "temp", "tempab", "a/b/c/temporary.txt", "somedir/ok.txt", "temp/x.txt",
        ];
        assert.deepStrictEqual(excluded(lines, paths), [
            "somedir/temporary.txt", "somedir/temp", "somedir/temp/x", "somedir/subdir/temporary.txt", "tempa", "tempb",
        ]);
    });

    it("leading and trailing slashes are disregarded: /foo/bar/, /foo/bar, foo/bar/ and foo/bar exclude foo/bar only", () => {
        for (const pattern of ["/foo/bar/", "/foo/bar", "foo/bar/", "foo/bar"]) {
            assert.deepStrictEqual(excluded([pattern], ["foo/bar", "foo/bar/baz.txt", "bar", "foo", "x/foo/bar", "foo/barn"]), ["foo/bar", "foo/bar/baz.txt"], pattern);
        }
    });

    it("** matches any number of directories, zero included: **/*.go", () => {
        assert.deepStrictEqual(excluded(["**/*.go"], ["main.go", "a/main.go", "a/b/c/main.go", "main.go.txt", "a/gopher"]), ["main.go", "a/main.go", "a/b/c/main.go"]);
    });

    it("*.md with !README.md: root markdown except README.md is left out; subdirectories keep theirs", () => {
        assert.deepStrictEqual(excluded(["*.md", "!README.md"], ["README.md", "CHANGES.md", "docs/guide.md", "docs/README.md"]), ["CHANGES.md"]);
    });

    it("the last matching line decides: *.md, !README*.md, README-secret.md", () => {
        const paths = ["README.md", "README-x.md", "README-secret.md", "other.md"];
        assert.deepStrictEqual(excluded(["*.md", "!README*.md", "README-secret.md"], paths), ["README-secret.md", "other.md"]);
        // "The middle line has no effect because !README*.md matches README-secret.md and comes last."
        assert.deepStrictEqual(excluded(["*.md", "README-secret.md", "!README*.md"], paths), ["other.md"]);
    });

    it("the pattern . is ignored, and matching is case-sensitive as on Linux", () => {
        assert.deepStrictEqual(excluded(["."], ["a", "b/c"]), []);
        assert.deepStrictEqual(excluded(["README.md"], ["README.md", "readme.md"]), ["README.md"]);
    });

    it("the Dockerfile is still read when listed; .dockerignore listed is left out; <Dockerfile>.dockerignore takes precedence", () => {
        const dir = tree({ "Dockerfile": "FROM scratch\n", ".dockerignore": "Dockerfile\n.dockerignore\nsecret.txt\n", "secret.txt": "", "app.py": "" });
        assert.deepStrictEqual(contextFiles(dir), ["Dockerfile", "app.py"]);
        fs.writeFileSync(path.join(dir, "Dockerfile.dockerignore"), "app.py\n");
        assert.deepStrictEqual(contextFiles(dir), [".dockerignore", "Dockerfile", "Dockerfile.dockerignore", "secret.txt"]);
    });
});

describe(".dockerignore: ! exceptions and the directories BuildKit walks into", () => {
    const files = { "Dockerfile": "FROM scratch\n", "build/keep.txt": "k", "build/other.txt": "o", "build/sub/keep.txt": "s", "app.py": "" };

    it("a plain exception under an excluded directory re-includes that file only", () => {
        const dir = tree({ ...files, ".dockerignore": "build\n!build/keep.txt\n" });
        assert.deepStrictEqual(contextFiles(dir), [".dockerignore", "Dockerfile", "app.py", "build/keep.txt"]);
    });

    it("a plain exception elsewhere lets the excluded directory be skipped whole", () => {
        const filter = parseDockerignore("build\n!other/keep.txt\n");
        assert.strictEqual(filter.excluded("build/"), true);
        assert.strictEqual(filter.excluded("other/"), false);
        const dir = tree({ ...files, ".dockerignore": "build\n!other/keep.txt\n" });
        assert.deepStrictEqual(contextFiles(dir), [".dockerignore", "Dockerfile", "app.py"]);
    });

    it("an exception with a wildcard makes BuildKit walk every excluded directory and judge each file", () => {
        const filter = parseDockerignore("build\n!**/keep.txt\n");
        assert.strictEqual(filter.excluded("build/"), false, "the directory is walked");
        assert.strictEqual(filter.excluded("build/other.txt"), true);
        const dir = tree({ ...files, ".dockerignore": "build\n!**/keep.txt\n" });
        assert.deepStrictEqual(contextFiles(dir), [".dockerignore", "Dockerfile", "app.py", "build/keep.txt", "build/sub/keep.txt"]);
        // A trailing /** or /* is not a wildcard for this purpose (fsutil patternWithoutTrailingGlob).
        assert.strictEqual(parseDockerignore("build\n!build/sub/**\n").excluded("build/"), false);
        assert.strictEqual(parseDockerignore("build\n!other/**\n").excluded("build/"), true);
    });

    it("the digest follows the files an exception brings back, and only those", () => {
        const dir = tree({ ...files, ".dockerignore": "build\n!build/keep.txt\n" });
        const base = contextDigest(dir, "linux/amd64");
        assert.ok(base.files.includes("build/keep.txt"));
        fs.writeFileSync(path.join(dir, "build/other.txt"), "changed");
        assert.strictEqual(contextDigest(dir, "linux/amd64").sha256, base.sha256, "an excluded file does not change the digest");
        fs.writeFileSync(path.join(dir, "build/keep.txt"), "changed");
        assert.notStrictEqual(contextDigest(dir, "linux/amd64").sha256, base.sha256, "a re-included file does");
    });

    it("the mock docker-build hash and the compatibility list apply the same rules", () => {
        const dir = tree({ ...files, ".dockerignore": "build\n!build/keep.txt\n" });
        const [test] = dockerignore(dir);
        const hash = () => dockerBuildContextHash(dir, path.join(dir, "Dockerfile"), (rel) => test.test(rel));
        const before = hash();
        fs.writeFileSync(path.join(dir, "build/other.txt"), "changed");
        assert.strictEqual(hash(), before);
        fs.writeFileSync(path.join(dir, "build/keep.txt"), "changed");
        assert.notStrictEqual(hash(), before);
        assert.deepStrictEqual(dockerignore(tree({ "Dockerfile": "" })), [], "no ignore file, no tests");
    });

    it("the app's own .dockerignore sends the package and leaves out tests, caches and dev tooling", () => {
        const sent = contextFiles(APP_DIR);
        for (const needed of ["Dockerfile", "requirements.txt", "wsgi.py", "gunicorn.conf.py", "clients_service/rds-ca-bundle.pem"]) {
            assert.ok(sent.includes(needed), `context lacks ${needed}`);
        }
        assert.ok(!sent.some((f) => /^(tests|scripts|\.ebextensions)\/|__pycache__|\.pyc$|^(Procfile|README\.md|\.dockerignore|requirements-dev\.txt)$/.test(f)), sent.join("\n"));
    });
});
