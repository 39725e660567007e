// Runs after the first one (issue 10, items 1-2): the same stack deployed again and again against a
// CloudMemory that keeps what AWS keeps (ECR tags, Elastic Beanstalk version labels, retained
// resources), from another machine, after a revert, with the domain switched off and on.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CloudMemory } from "../harness/cloudMemory";
import { PlanResult } from "../harness/run";
import { all, appCopy, EKS, input, one, planStack, platformOutput } from "./helpers";

/** Sets every file's permission bits as a checkout under `umask` would (exec bits kept). */
function applyUmask(dir: string, umask: number): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
        const full = path.join(entry.parentPath, entry.name);
        if (entry.isFile()) {
            const exec = (fs.statSync(full).mode & 0o100) !== 0;
            fs.chmodSync(full, (exec ? 0o777 : 0o666) & ~umask);
        }
    }
}

/** A checkout of the app on some machine: its own directory, the given umask, optional edit. */
function checkout(umask: number, edit: (dir: string) => void = () => undefined): string {
    return appCopy((dir) => {
        edit(dir);
        applyUmask(dir, umask);
    });
}

const CHANGE = (dir: string) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a code change\n");

function up(memory: CloudMemory, appDir: string, sets: string[]): Promise<PlanResult> {
    return planStack("dev", sets, { appDir, cwd: path.dirname(appDir), cloud: { memory } });
}

describe("later runs against a cloud that remembers", function () {
    this.timeout(300000);

    // Both image builders (issue 12): docker-build here, CodeBuild (the default) in the dynamic build step.
    for (const [target, builder] of [["ecs", "local"], ["eks", "local"], ["ecs", "codebuild"], ["eks", "codebuild"]] as const) {
        describe(`target ${target}, imageBuilder ${builder}: the image`, () => {
            const sets = [...(target === "eks" ? [...EKS] : [`target=${target}`]), `imageBuilder=${builder}`];

            it("deploys from another machine (other umask) and after a revert to an image still in ECR", async () => {
                const memory = new CloudMemory();
                const first = await up(memory, checkout(0o022), sets);
                const image = (p: PlanResult) => String(platformOutput(p, "imageUri"));
                assert.match(image(first), /:[a-z0-9-]+@sha256:[0-9a-f]{64}$/, "what runs is pinned by digest");
                assert.strictEqual(memory.runs[0].builds.length, 1);

                // Same content, another machine: group-writable files (umask 002) change docker-build's
                // context hash, so it rebuilds; the push must not hit an existing immutable tag.
                const teammate = await up(memory, checkout(0o002), sets);
                assert.ok(memory.runs[1].builds.every((b) => !memory.runs[0].builds.some((a) => a.tag === b.tag)), "a rebuild pushes a tag of its own");
                assert.match(image(teammate), /@sha256:[0-9a-f]{64}$/);

                // A change, then a revert to the first content (its image is still in the repository).
                await up(memory, checkout(0o022, CHANGE), sets);
                const reverted = await up(memory, checkout(0o022), sets);
                assert.match(image(reverted), /@sha256:[0-9a-f]{64}$/);
                const tags = memory.runs.flatMap((r) => r.builds.map((b) => b.tag));
                assert.strictEqual(new Set(tags).size, tags.length, `every build got a new tag: ${tags.join(", ")}`);

                // An unchanged re-run builds and redeploys nothing.
                const again = await up(memory, checkout(0o022), sets);
                assert.strictEqual(memory.runs[4].builds.length, 0);
                assert.strictEqual(image(again), image(reverted));
            });

            it("keeps the repository's tags immutable, without exclusions", async () => {
                const plan = await planStack("dev", sets);
                const repo = one(plan, "aws:ecr/repository:Repository");
                assert.strictEqual(input(repo, "imageTagMutability"), "IMMUTABLE");
                assert.strictEqual(input(repo, "imageTagMutabilityExclusionFilters"), undefined);
            });
        });
    }

    it("the memory refuses what ECR refuses: a second push of an existing tag to an IMMUTABLE repository", async () => {
        // The harness's own check, on a pinned tag: two runs, the second from a machine with another umask.
        const memory = new CloudMemory();
        await up(memory, checkout(0o022), ["target=ecs", "imageBuilder=local"]);
        const repo = [...memory.repositories.values()][0];
        const [tag] = [...repo.tags.keys()];
        assert.throws(() => (memory as unknown as { push(ref: string, digest: string): void }).push(`123456789012.dkr.ecr.us-east-1.amazonaws.com/flask-app-dev:${tag}`, "sha256:other"),
            /ImageTagAlreadyExistsException: tag invalid: The image tag '.+' already exists in the 'flask-app-dev' repository and cannot be overwritten because the repository is immutable\./);
    });

    describe("target beanstalk: application versions", () => {
        it("deploys a revert and a domain switched off and on (labels Beanstalk still holds)", async () => {
            const memory = new CloudMemory();
            const label = (p: PlanResult) => String(platformOutput(p, "versionLabel"));
            const a = await up(memory, checkout(0o022), ["target=beanstalk"]);
            await up(memory, checkout(0o022, CHANGE), ["target=beanstalk"]);
            const reverted = await up(memory, checkout(0o022), ["target=beanstalk"]);
            assert.notStrictEqual(label(reverted), label(a), "a revert gets a label of its own");
            assert.ok(label(reverted).startsWith(label(a).split("-").slice(0, -1).join("-")), "the label still shows the bundle digest");

            // The domain adds an .ebextensions file: on, off, on again.
            const domain = ["target=beanstalk", "domainName=app.example.com"];
            await up(memory, checkout(0o022), domain);
            await up(memory, checkout(0o022), ["target=beanstalk"]);
            await up(memory, checkout(0o022), domain);

            // Superseded versions stay in Beanstalk (retained), so rollback remains possible.
            assert.ok(memory.retained.some((k) => k.startsWith("aws:elasticbeanstalk/applicationVersion:ApplicationVersion::")));
            const labels = memory.applicationVersions.get("flask-app-dev");
            assert.ok(labels && labels.size >= 5, `versions kept: ${[...(labels ?? [])].join(", ")}`);
        });

        it("an unchanged re-run creates no version", async () => {
            const memory = new CloudMemory();
            const dir = checkout(0o022);
            const first = await up(memory, dir, ["target=beanstalk"]);
            const second = await up(memory, dir, ["target=beanstalk"]);
            assert.strictEqual(platformOutput(second, "versionLabel"), platformOutput(first, "versionLabel"));
            assert.deepStrictEqual(memory.runs[1].created, []);
            assert.strictEqual(all(second, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion").length, 1);
        });
    });
});
