// A deterministic ZIP writer: the same files give the same bytes on every machine (sorted entries,
// fixed timestamps and modes), so a bundle's hash changes only when its content does. That hash
// names the Elastic Beanstalk application version, which keeps unchanged code from redeploying.
//
// The format is written by fflate (pinned in package.json), not by hand. Why fflate:
// - its deflate is pure JavaScript, so the compressed bytes do not depend on the zlib Node was
//   built with (yazl and archiver call Node's zlib, whose output may change between Node builds);
// - it takes each entry's modification time and Unix mode (`mtime`, `os: 3`, `attrs`), so no
//   clock and no checkout umask leaks into the archive.
// Why not Pulumi's AssetArchive: the engine hashes an archive by its entries, but the zip the
// provider uploads is written by Go's archive/zip in the provider (pulumi/pulumi
// sdk/go/common/resource/archive/archive.go `addNextFileToZIP`: a fixed 1990 time and no file
// mode), so executable bits would be lost and the bytes Elastic Beanstalk receives would not be
// the bytes whose hash names the version.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Zippable, zipSync } from "fflate";

export interface ZipEntry {
    /** Forward-slash path inside the archive. */
    readonly name: string;
    readonly data: Buffer;
    /** Unix permission bits; 0o644 unless the file must stay executable. */
    readonly mode?: number;
}

/**
 * 1980-01-01 00:00, the earliest DOS date. fflate writes the DOS date from the local-time getters
 * (`getFullYear()`, `getHours()`...), so the date is built from local fields: it reads back as
 * 1980-01-01 00:00 in every time zone, and no machine's zone or clock changes the bytes.
 */
const EPOCH = new Date(1980, 0, 1, 0, 0, 0);
/** "Version made by" host 3 = Unix (APPNOTE 4.4.2.2), so unzip honours the mode in `attrs`. */
const UNIX = 3;
const REGULAR_FILE = 0o100000;

export function zip(entries: readonly ZipEntry[]): Buffer {
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const files: Zippable = {};
    for (const e of sorted) {
        if (Object.prototype.hasOwnProperty.call(files, e.name)) {
            throw new Error(`zip: two entries named ${e.name}`);
        }
        files[e.name] = [new Uint8Array(e.data), { level: 9, mtime: EPOCH, os: UNIX, attrs: ((REGULAR_FILE | (e.mode ?? 0o644)) << 16) >>> 0 }];
    }
    return Buffer.from(zipSync(files));
}

/** Paths (relative, forward slashes) never shipped: tests, caches, local databases, dev tooling. */
export const BUNDLE_EXCLUDES: readonly RegExp[] = [
    /(^|\/)tests?\//,
    /(^|\/)__pycache__\//,
    /\.py[co]$/,
    /(^|\/)\.(pytest_cache|hypothesis|mypy_cache|ruff_cache|venv)\//,
    /(^|\/)venv\//,
    /\.(db|sqlite|sqlite3)(-journal|-wal|-shm)?$/,
    /(^|\/)scripts\//,
    /^(Dockerfile|\.dockerignore|run_local\.sh|requirements-dev\.txt|\.flake8|setup\.cfg|README\.md|\.gitignore|\.coverage)$/,
    /(^|\/)\.DS_Store$/,
];

/** Files under `dir` (relative, forward slashes, sorted); directories are tested with a trailing `/`. */
export function listFiles(dir: string, excluded: (relPath: string) => boolean = (p) => BUNDLE_EXCLUDES.some((re) => re.test(p))): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (!excluded(`${child}/`)) {
                    walk(child);
                }
            } else if (entry.isFile() && !excluded(child)) {
                out.push(child);
            }
        }
    };
    walk("");
    return out.sort();
}

export interface Bundle {
    readonly entries: readonly ZipEntry[];
    readonly bytes: Buffer;
    /** sha256 of the archive, hex. */
    readonly sha256: string;
}

/** Zips `dir` (minus the excludes) plus generated `extra` files, deterministically. */
export function bundleDirectory(dir: string, extra: Readonly<Record<string, string>> = {}): Bundle {
    if (!fs.existsSync(dir)) {
        throw new Error(`app directory ${dir} does not exist`);
    }
    const entries: ZipEntry[] = listFiles(dir).map((name) => {
        const full = path.join(dir, name);
        const executable = (fs.statSync(full).mode & 0o111) !== 0;
        return { name, data: fs.readFileSync(full), mode: executable ? 0o755 : 0o644 };
    });
    for (const [name, text] of Object.entries(extra)) {
        if (entries.some((e) => e.name === name)) {
            throw new Error(`generated bundle file ${name} would overwrite the app's own ${name}`);
        }
        entries.push({ name, data: Buffer.from(text, "utf8") });
    }
    if (entries.length === 0) {
        throw new Error(`app directory ${dir} has no files to bundle`);
    }
    const bytes = zip(entries);
    return { entries, bytes, sha256: crypto.createHash("sha256").update(bytes).digest("hex") };
}
