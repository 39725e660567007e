// A deterministic ZIP writer: the same files give the same bytes on every machine (sorted entries,
// fixed timestamps and modes), so a bundle's hash changes only when its content does. That hash
// names the Elastic Beanstalk application version, which keeps unchanged code from redeploying.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) {
            c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        table[n] = c >>> 0;
    }
    return table;
})();

export function crc32(data: Buffer): number {
    let crc = 0xffffffff;
    for (const byte of data) {
        crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
    }
    return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
    /** Forward-slash path inside the archive. */
    readonly name: string;
    readonly data: Buffer;
    /** Unix permission bits; 0o644 unless the file must stay executable. */
    readonly mode?: number;
}

/** 1980-01-01 00:00, the earliest DOS date: no clock or checkout time leaks into the archive. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

export function zip(entries: readonly ZipEntry[]): Buffer {
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const locals: Buffer[] = [];
    const centrals: Buffer[] = [];
    let offset = 0;
    for (const e of sorted) {
        const name = Buffer.from(e.name, "utf8");
        const compressed = zlib.deflateRawSync(e.data, { level: 9 });
        const crc = crc32(e.data);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(20, 4); // version needed
        local.writeUInt16LE(0x0800, 6); // UTF-8 names
        local.writeUInt16LE(8, 8); // deflate
        local.writeUInt16LE(DOS_TIME, 10);
        local.writeUInt16LE(DOS_DATE, 12);
        local.writeUInt32LE(crc, 14);
        local.writeUInt32LE(compressed.length, 18);
        local.writeUInt32LE(e.data.length, 22);
        local.writeUInt16LE(name.length, 26);
        local.writeUInt16LE(0, 28);
        locals.push(local, name, compressed);

        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, spec 2.0
        central.writeUInt16LE(20, 6);
        central.writeUInt16LE(0x0800, 8);
        central.writeUInt16LE(8, 10);
        central.writeUInt16LE(DOS_TIME, 12);
        central.writeUInt16LE(DOS_DATE, 14);
        central.writeUInt32LE(crc, 16);
        central.writeUInt32LE(compressed.length, 20);
        central.writeUInt32LE(e.data.length, 24);
        central.writeUInt16LE(name.length, 28);
        central.writeUInt32LE((((0o100000 | (e.mode ?? 0o644)) << 16) >>> 0), 38); // regular file + mode
        central.writeUInt32LE(offset, 42);
        centrals.push(central, name);
        offset += local.length + name.length + compressed.length;
    }
    const centralSize = centrals.reduce((n, b) => n + b.length, 0);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(sorted.length, 8);
    end.writeUInt16LE(sorted.length, 10);
    end.writeUInt32LE(centralSize, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, ...centrals, end]);
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
