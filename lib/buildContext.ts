// The Docker build context as a deterministic zip, for builders that run elsewhere (CodeBuild,
// issue 12): exactly the files `contextDigest` covers (lib/dockerContext.ts: the context minus
// `.dockerignore`, the Dockerfile always), with the same normalised modes (755 for executables,
// 644 otherwise), so the archive's bytes are a function of the digest's inputs and two machines
// with different umasks upload the same object.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { contextDigest, ContextDigest } from "./dockerContext";
import { zip, ZipEntry } from "./zip";

export interface ContextArchive {
    readonly digest: ContextDigest;
    readonly bytes: Buffer;
    /** sha256 hex of `bytes`. */
    readonly zipSha256: string;
    /** Content-addressed object key: the context digest names it. */
    readonly key: string;
}

/** Zips the build context of `contextDir` for `platform`. */
export function contextArchive(contextDir: string, platform: string): ContextArchive {
    const digest = contextDigest(contextDir, platform);
    const entries: ZipEntry[] = digest.files.map((name) => {
        const full = path.join(contextDir, name);
        const executable = (fs.statSync(full).mode & 0o111) !== 0;
        return { name, data: fs.readFileSync(full), mode: executable ? 0o755 : 0o644 };
    });
    const bytes = zip(entries);
    return { digest, bytes, zipSha256: crypto.createHash("sha256").update(bytes).digest("hex"), key: `contexts/${digest.sha256}.zip` };
}
