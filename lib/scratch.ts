// Build artifacts (the Beanstalk bundle zip) go to a temporary directory of the process's own, removed
// when the process exits, so `npm run plan`, a preview or an up leaves the checkout as it found it.
//
// The bundle must be a file while the program runs: the Node SDK has no in-memory binary asset
// (FileAsset, StringAsset for UTF-8 text, RemoteAsset for a URI; a zip is not text), and an
// AssetArchive would be re-zipped by the provider (see lib/zip.ts). The file is read while the
// program's process is alive: the engine hashes a FileAsset when the resource is registered, and
// the provider copies it during the same registration to a temp file named by that hash
// (pulumi-terraform-bridge AssetTranslation.TranslateAsset -> translateToFile(asset.Hash, ...)),
// which is also why the path our file had does not show up as a diff on the next run.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

let dir: string | undefined;

/** This process's scratch directory under os.tmpdir(), created on first use and removed at exit. */
export function scratchDir(): string {
    if (dir === undefined) {
        const created = fs.mkdtempSync(path.join(os.tmpdir(), "flask-platform-build-"));
        process.once("exit", () => fs.rmSync(created, { recursive: true, force: true }));
        dir = created;
    }
    return dir;
}
