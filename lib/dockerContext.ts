// The content digest of a Docker build context: the files `docker build` would send (the context
// minus `.dockerignore`), their modes, and the build platform. It names the image tag (with a build
// id that changes whenever docker-build would rebuild: see components/containerImage.ts).
//
// Patterns are matched by @balena/dockerignore (pinned in package.json), a port of Docker's own
// matcher (moby pkg/fileutils, now moby/patternmatcher), with `!` exceptions: the last line that
// matches a path decides. Which directories a walk may skip is BuildKit's rule, the one that
// decides what `docker build` (and docker-build's context hash) sees: tonistiigi/fsutil
// filter.go `filterFS.Walk` / `NewFilterFS`, quoted at {@link ContextFilter.excluded}.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import ignore from "@balena/dockerignore";
import { listFiles } from "./zip";

/**
 * The ignore file Docker reads for a Dockerfile: `<Dockerfile>.dockerignore` next to it takes
 * precedence over `.dockerignore` at the context root (docs.docker.com "Build context",
 * ".dockerignore files / Filename and location"; pulumi-docker-build provider/internal/context.go
 * `getIgnorePatterns`). Undefined when neither exists.
 */
export function ignoreFile(contextDir: string, dockerfile = path.join(contextDir, "Dockerfile")): string | undefined {
    return [`${dockerfile}.dockerignore`, path.join(contextDir, ".dockerignore")].find((f) => fs.existsSync(f));
}

/** A context's ignore rules, applied as Docker applies them. */
export interface ContextFilter {
    /** The ignore file's lines as Docker keeps them (comments and blank lines dropped), in order. */
    readonly patterns: readonly string[];
    /** Whether Docker leaves out this path (relative, forward slashes), file or directory, by its own patterns. */
    excludes(relPath: string): boolean;
    /**
     * The walk predicate {@link listFiles} takes (a trailing `/` marks a directory): a file is left
     * out when {@link excludes} says so; an excluded directory is skipped whole unless a `!` line
     * could re-include something inside it, in which case its files are judged one by one. BuildKit:
     * a matched directory is skipped when there are no exceptions, or when every exception is a
     * plain path (no `*[]?^\` once a trailing `/**` or `/*` is trimmed) and none starts with the
     * directory plus `/`; otherwise it is walked (fsutil filter.go `onlyPrefixExcludeExceptions`).
     */
    excluded(relPath: string): boolean;
}

/** Docker's own cleaning of an exception line (moby/patternmatcher ignorefile.ReadAll): Clean, no leading `/`. */
function cleanPattern(pattern: string): string {
    const cleaned = path.posix.normalize(pattern).replace(/(.)\/+$/, "$1");
    return cleaned.length > 1 && cleaned.startsWith("/") ? cleaned.slice(1) : cleaned;
}

/** The filter for `.dockerignore` text (for a context on disk use {@link dockerignoreFilter}). */
export function parseDockerignore(text: string): ContextFilter {
    const patterns = text.replace(/^\uFEFF/, "").split(/\r?\n/).filter((l) => !l.startsWith("#")).map((l) => l.trim()).filter((l) => l !== "");
    // Case-sensitive, as Docker is on Linux (the library defaults to ignoring case).
    const matcher = ignore({ ignorecase: false }).add([...patterns]);
    const exceptions = patterns.filter((p) => p.startsWith("!")).map((p) => cleanPattern(p.slice(1).trim())).filter((p) => p !== "");
    const trimmed = exceptions.map((p) => p.replace(/\/\*\*$/, "").replace(/\/\*$/, ""));
    const onlyPrefixExceptions = !trimmed.some((p) => /[*[\]?^\\]/.test(p));
    const excludes = (relPath: string): boolean => matcher.ignores(relPath);
    return {
        patterns,
        excludes,
        excluded: (relPath) => {
            if (!relPath.endsWith("/")) {
                return excludes(relPath);
            }
            const dir = relPath.slice(0, -1);
            if (!excludes(dir)) {
                return false;
            }
            return onlyPrefixExceptions && !trimmed.some((p) => `${p}/`.startsWith(relPath));
        },
    };
}

/** The filter of a context on disk (no ignore file: nothing is left out). */
export function dockerignoreFilter(contextDir: string, dockerfile?: string): ContextFilter {
    const file = ignoreFile(contextDir, dockerfile);
    return parseDockerignore(file ? fs.readFileSync(file, "utf8") : "");
}

/** One test over a path (a trailing `/` marks a directory), true when Docker leaves it out. */
export interface PathTest {
    test(relPath: string): boolean;
}

/**
 * The context's ignore rules as a list of tests, for callers that ask `some((t) => t.test(p))`:
 * one test that applies the whole file in order (exceptions included), so the list never
 * disagrees with Docker. New code should use {@link dockerignoreFilter} or {@link contextFiles}.
 */
export function dockerignore(contextDir: string): PathTest[] {
    const filter = dockerignoreFilter(contextDir);
    return filter.patterns.length === 0 ? [] : [{ test: (p) => filter.excluded(p) }];
}

/** The files Docker sends for `contextDir/Dockerfile` (sorted, forward slashes), the Dockerfile included. */
export function contextFiles(contextDir: string): string[] {
    const filter = dockerignoreFilter(contextDir);
    // Docker always reads the Dockerfile, even when the ignore file lists it.
    return listFiles(contextDir, (rel) => rel !== "Dockerfile" && filter.excluded(rel));
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
    const files = contextFiles(contextDir);
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
