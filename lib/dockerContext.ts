// The content digest of a Docker build context: the files `docker build` would send (the context
// minus `.dockerignore`), their modes, and the build platform. It names the image tag (with a build
// id that changes whenever docker-build would rebuild: see components/containerImage.ts).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { listFiles } from "./zip";

/**
 * Translates one `.dockerignore` line into a regular expression over forward-slash paths relative to
 * the context. Supports what Docker documents for the common cases: `*`, `?`, `**`, a leading `/`,
 * and a directory pattern matching everything beneath it. Negations (`!`) are refused: the
 * digest would silently disagree with Docker, and a wrong digest means a stale image.
 */
export function dockerignorePattern(line: string): RegExp {
    if (line.startsWith("!")) {
        throw new Error(`.dockerignore: negated pattern ${JSON.stringify(line)} is not supported by the content digest; list what to exclude instead`);
    }
    const glob = path.posix.normalize(line.replace(/^\/+/, "")).replace(/\/+$/, "");
    let re = "";
    for (let i = 0; i < glob.length; i++) {
        const c = glob[i];
        if (c === "*" && glob[i + 1] === "*") {
            // `**/` matches zero or more directories; a trailing `**` matches anything.
            if (glob[i + 2] === "/") {
                re += "(?:.*/)?";
                i += 2;
            } else {
                re += ".*";
                i += 1;
            }
        } else if (c === "*") {
            re += "[^/]*";
        } else if (c === "?") {
            re += "[^/]";
        } else {
            re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
        }
    }
    // A pattern matches the path itself or anything below it (a directory).
    return new RegExp(`^${re}(?:/.*)?$`);
}

/** The context's ignore patterns, from `.dockerignore` if present (comments and blanks skipped). */
export function dockerignore(contextDir: string): RegExp[] {
    const file = path.join(contextDir, ".dockerignore");
    if (!fs.existsSync(file)) {
        return [];
    }
    return fs.readFileSync(file, "utf8")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map(dockerignorePattern);
}

export interface ContextDigest {
    /** sha256 hex over the platform and every included file's path, exec bit and bytes: the content. */
    readonly sha256: string;
    /**
     * sha256 hex over the same files with their full permission bits: it changes whenever
     * docker-build's own context hash does (which writes Go's `FileMode.String()`, e.g.
     * `-rw-rw-r--`, per file: pulumi-docker-build v0.0.22 provider/internal/context.go `hashFile`),
     * so a checkout under another umask, which docker-build rebuilds, is seen as a new build.
     */
    readonly buildSha256: string;
    /** The files the image can be built from (the Dockerfile plus the context Docker receives), sorted. */
    readonly files: readonly string[];
}

/** Digests a build context for one platform (e.g. `linux/arm64`). */
export function contextDigest(contextDir: string, platform: string): ContextDigest {
    if (!fs.existsSync(path.join(contextDir, "Dockerfile"))) {
        throw new Error(`build context ${contextDir} has no Dockerfile`);
    }
    const ignore = dockerignore(contextDir);
    // Docker always reads the Dockerfile, even when .dockerignore lists it.
    const files = listFiles(contextDir, (rel) => rel !== "Dockerfile" && ignore.some((re) => re.test(rel.replace(/\/$/, ""))));
    const hash = crypto.createHash("sha256").update(`platform ${platform}\n`);
    const build = crypto.createHash("sha256").update(`platform ${platform}\n`);
    for (const rel of files) {
        const full = path.join(contextDir, rel);
        const mode = fs.statSync(full).mode;
        const executable = (mode & 0o111) !== 0;
        const bytes = fs.readFileSync(full);
        hash.update(`${rel}\0${executable ? 755 : 644}\0${bytes.length}\0`).update(bytes);
        build.update(`${rel}\0${(mode & 0o7777).toString(8)}\0${bytes.length}\0`).update(bytes);
    }
    return { sha256: hash.digest("hex"), buildSha256: build.digest("hex"), files };
}
