// What AWS (and Pulumi's state) keep between two `pulumi up`s, for tests that run the program several
// times in a row: a first run, a run from another machine, a revert, a domain switched off and on.
// The mocks alone forget everything after a run; with a CloudMemory passed as `memory` in
// MockCloudOptions, each run sees what the earlier ones left behind and fails the way AWS would.
//
// Modelled, from the providers' and services' own sources:
// - Pulumi's state: a resource whose `type::name` is new is created; one that disappears from the
//   program is deleted, unless it was registered with `retainOnDelete` (then it stays in the cloud).
// - docker-build 0.0.22 `Image.Diff` (provider/internal/image.go): a change of tags, labels,
//   platforms, context/dockerfile location, push, registry address/user, or of the context hash
//   (provider/internal/context.go `hashBuildContext`: Dockerfile bytes, then each file's bytes,
//   path and Go `FileMode.String()`) means a build and a push. A build is not reproducible: the
//   pushed manifest gets a new digest every time.
// - ECR tag mutability: IMMUTABLE refuses a tag that exists (PutImage's ImageTagAlreadyExistsException,
//   which docker push reports as "tag invalid: The image tag '<t>' already exists in the '<repo>'
//   repository and cannot be overwritten because the repository is immutable.");
//   *_WITH_EXCLUSION flips that for tags matching a wildcard filter.
// - Elastic Beanstalk: CreateApplicationVersion refuses a label the application still has
//   ("InvalidParameterValue: Application Version <label> already exists."); deleting the
//   application deletes its versions.
// - random.RandomId: a new value when created or when its keepers change, else the stored one.
// - The CodeBuild image build (issue 12, lib/codebuildRun.ts): the provider's own rebuild decision
//   (`rebuildKeys`); on a new tag, a tag ECR still holds is reused, else a build pushes it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { IMAGE_BUILD_TYPE, rebuildKeys } from "../lib/codebuildRun";
import { dockerignore } from "../lib/dockerContext";

type Props = Record<string, unknown>;

interface Stored {
    readonly type: string;
    readonly name: string;
    readonly inputs: Props;
    readonly outputs: Props;
    retainOnDelete: boolean;
}

export interface Repository {
    mutability: string;
    exclusions: string[];
    /** tag -> manifest digest */
    readonly tags: Map<string, string>;
}

export interface Push {
    readonly repository: string;
    readonly tag: string;
    readonly digest: string;
}

/** What a finished run did to the cloud, for assertions. */
export interface RunRecord {
    readonly created: string[];
    readonly deleted: string[];
    readonly retained: string[];
    readonly builds: Push[];
}

const key = (type: string, name: string) => `${type}::${name}`;

/** ECR's WILDCARD filter: `*` matches any run of characters. */
function wildcard(filter: string, tag: string): boolean {
    const re = new RegExp(`^${filter.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return re.test(tag);
}

/** Go's `fs.FileMode.String()` for a regular file: `-rwxr-xr-x`. */
export function goModeString(mode: number): string {
    const rwx = "rwxrwxrwx";
    let out = "-";
    for (let i = 0; i < 9; i++) {
        out += mode & (1 << (8 - i)) ? rwx[i] : "-";
    }
    return out;
}

/** docker-build 0.0.22's `hashBuildContext` for an on-disk context (no named contexts). */
export function dockerBuildContextHash(contextDir: string, dockerfile: string, ignored: (rel: string) => boolean): string {
    const h = crypto.createHash("sha256");
    h.update(fs.readFileSync(dockerfile));
    const walk = (rel: string): void => {
        for (const entry of fs.readdirSync(path.join(contextDir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            // Directories are asked with a trailing `/` (the listFiles convention of lib/dockerContext.ts).
            if (ignored(entry.isDirectory() ? `${child}/` : child)) {
                continue;
            }
            if (entry.isDirectory()) {
                walk(child);
            } else if (entry.isFile()) {
                const full = path.join(contextDir, child);
                h.update(fs.readFileSync(full)).update(child).update(goModeString(fs.statSync(full).mode));
            }
        }
    };
    walk("");
    return h.digest("hex");
}

/** Mocks see a secret input as `{<secret signature>: ..., value}`; the provider sees the value. */
function unsecret(v: unknown): unknown {
    if (v !== null && typeof v === "object" && !Array.isArray(v) && "value" in v && Object.keys(v).length === 2) {
        return (v as { value: unknown }).value;
    }
    return v;
}

/** The inputs docker-build's Diff compares (registries without the password, which it ignores). */
function imageDiffInputs(inputs: Props): string {
    const registries = (unsecret(inputs.registries ?? []) as Props[]).map((r) => ({ address: r.address, username: r.username }));
    const pick = ["tags", "labels", "platforms", "context", "dockerfile", "push", "buildOnPreview", "buildArgs", "target"];
    return JSON.stringify([...pick.map((k) => inputs[k] ?? null), registries]);
}

export interface CloudMemoryOptions {
    /** Files of a build context that `.dockerignore` leaves out (relative, forward slashes). */
    readonly dockerIgnored?: (contextDir: string) => (rel: string) => boolean;
}

export class CloudMemory {
    /** ECR repositories by name. */
    readonly repositories = new Map<string, Repository>();
    /** Elastic Beanstalk application -> version labels it holds. */
    readonly applicationVersions = new Map<string, Set<string>>();
    /** `type::name` of resources Pulumi stopped managing but left in the cloud (retainOnDelete). */
    readonly retained: string[] = [];
    readonly runs: RunRecord[] = [];
    private state = new Map<string, Stored>();
    private pending = new Map<string, Stored>();
    private builds: Push[] = [];
    private counter = 0;

    constructor(private readonly opts: CloudMemoryOptions = {}) {}

    /** Called by the mock for every registered resource; returns the state the provider would. Throws as AWS would. */
    observe(type: string, name: string, inputs: Props, state: Props): Props {
        const k = key(type, name);
        const prev = this.state.get(k);
        let outputs = state;
        switch (type) {
            case "random:index/randomId:RandomId": {
                const same = prev && JSON.stringify(prev.inputs.keepers ?? null) === JSON.stringify(inputs.keepers ?? null)
                    && prev.inputs.byteLength === inputs.byteLength && prev.inputs.prefix === inputs.prefix;
                outputs = same ? prev.outputs : { ...state, ...randomIdOutputs(crypto.randomBytes(Number(inputs.byteLength ?? 8)), inputs) };
                break;
            }
            case "aws:ecr/repository:Repository": {
                const repoName = String(state.name);
                const repo = this.repositories.get(repoName) ?? { mutability: "MUTABLE", exclusions: [], tags: new Map() };
                repo.mutability = String(inputs.imageTagMutability ?? "MUTABLE");
                repo.exclusions = ((inputs.imageTagMutabilityExclusionFilters ?? []) as Props[]).map((f) => String(f.filter));
                this.repositories.set(repoName, repo);
                break;
            }
            case "docker-build:index:Image": {
                const location = String((inputs.context as Props | undefined)?.location ?? ".");
                const contextDir = path.resolve(location);
                const dockerfile = path.resolve(String((inputs.dockerfile as Props | undefined)?.location ?? path.join(location, "Dockerfile")));
                const patterns = dockerignore(contextDir);
                const ignored = this.opts.dockerIgnored?.(contextDir) ?? ((rel: string) => patterns.some((re) => re.test(rel)));
                const contextHash = dockerBuildContextHash(contextDir, dockerfile, ignored);
                const changed = !prev || imageDiffInputs(prev.inputs) !== imageDiffInputs(inputs) || prev.outputs.contextHash !== contextHash;
                if (!changed) {
                    outputs = prev.outputs;
                    break;
                }
                // A fresh build: another manifest digest even for the same content (timestamps, provenance).
                const digest = `sha256:${crypto.createHash("sha256").update(`${contextHash}#${this.counter++}#${Math.random()}`).digest("hex")}`;
                const tags = (inputs.tags ?? []) as string[];
                if (inputs.push === true) {
                    for (const tag of tags) {
                        this.push(tag, digest);
                    }
                }
                outputs = { ...state, digest, contextHash, ref: tags.length > 0 ? `${tags[0]}@${digest}` : "" };
                break;
            }
            case IMAGE_BUILD_TYPE: {
                if (prev && rebuildKeys(prev.inputs, inputs).length === 0) {
                    outputs = { ...state, imageDigest: prev.outputs.imageDigest, imageUri: prev.outputs.imageUri, buildId: prev.outputs.buildId };
                    break;
                }
                const tag = String(inputs.tag);
                const url = String(inputs.repositoryUrl);
                let digest = this.repositories.get(String(inputs.repositoryName))?.tags.get(tag);
                let buildId = "";
                if (digest === undefined) {
                    digest = `sha256:${crypto.createHash("sha256").update(`${tag}#${this.counter++}#${Math.random()}`).digest("hex")}`;
                    buildId = `${inputs.projectName}:${crypto.randomUUID()}`;
                    this.push(`${url}:${tag}`, digest);
                }
                outputs = { ...state, imageDigest: digest, imageUri: `${url}:${tag}@${digest}`, buildId };
                break;
            }
            case "aws:elasticbeanstalk/application:Application": {
                const app = String(state.name);
                if (!this.applicationVersions.has(app)) {
                    this.applicationVersions.set(app, new Set());
                }
                break;
            }
            case "aws:elasticbeanstalk/applicationVersion:ApplicationVersion": {
                const app = String(inputs.application);
                const label = String(state.name);
                // `name` and `application` force a replacement: the new version is created first.
                if (!prev || prev.outputs.name !== label || prev.inputs.application !== app) {
                    const labels = this.applicationVersions.get(app) ?? new Set<string>();
                    if (labels.has(label)) {
                        throw new Error(`creating Elastic Beanstalk Application Version (${label}): InvalidParameterValue: Application Version ${label} already exists.`);
                    }
                    labels.add(label);
                    this.applicationVersions.set(app, labels);
                }
                break;
            }
        }
        this.pending.set(k, { type, name, inputs, outputs, retainOnDelete: false });
        return outputs;
    }

    private push(ref: string, digest: string): void {
        const slash = ref.indexOf("/");
        const colon = ref.lastIndexOf(":");
        const repoName = ref.slice(slash + 1, colon);
        const tag = ref.slice(colon + 1);
        const repo = this.repositories.get(repoName);
        if (!repo) {
            throw new Error(`name unknown: The repository with name '${repoName}' does not exist in the registry`);
        }
        const matches = repo.exclusions.some((f) => wildcard(f, tag));
        const immutable = repo.mutability === "IMMUTABLE" || (repo.mutability === "IMMUTABLE_WITH_EXCLUSION" && !matches)
            || (repo.mutability === "MUTABLE_WITH_EXCLUSION" && matches);
        const existing = repo.tags.get(tag);
        if (immutable && existing !== undefined && existing !== digest) {
            throw new Error(`ImageTagAlreadyExistsException: tag invalid: The image tag '${tag}' already exists in the '${repoName}' repository and cannot be overwritten because the repository is immutable.`);
        }
        repo.tags.set(tag, digest);
        this.builds.push({ repository: repoName, tag, digest });
    }

    /**
     * Ends a successful run: what the program no longer declares is deleted (or, with
     * retainOnDelete, left in the cloud), and the run's resources become Pulumi's state.
     */
    commit(registered: readonly { type: string; name: string; options: { retainOnDelete: boolean } }[]): RunRecord {
        for (const r of registered) {
            const s = this.pending.get(key(r.type, r.name));
            if (s) {
                s.retainOnDelete = r.options.retainOnDelete;
            }
        }
        const created = [...this.pending.keys()].filter((k) => !this.state.has(k));
        const deleted: string[] = [];
        const retained: string[] = [];
        for (const [k, old] of this.state) {
            if (this.pending.has(k)) {
                continue;
            }
            if (old.retainOnDelete) {
                retained.push(k);
                this.retained.push(k);
                continue;
            }
            deleted.push(k);
            this.delete(old);
        }
        this.state = this.pending;
        this.pending = new Map();
        const record = { created, deleted, retained, builds: this.builds };
        this.builds = [];
        this.runs.push(record);
        return record;
    }

    /** `pulumi destroy`: every resource in the state is deleted, or left in the cloud if retained. */
    destroy(): RunRecord {
        this.pending = new Map();
        return this.commit([]);
    }

    /** A failed run: what it pushed or created in AWS stays; Pulumi's state is left as it was. */
    abort(): void {
        this.pending = new Map();
        this.builds = [];
    }

    private delete(old: Stored): void {
        switch (old.type) {
            case "aws:ecr/repository:Repository":
                this.repositories.delete(String(old.outputs.name));
                break;
            case "docker-build:index:Image": {
                // docker-build's Delete removes the pushed manifest (image.go `Delete`), with every tag on it.
                for (const repo of this.repositories.values()) {
                    for (const [tag, digest] of [...repo.tags]) {
                        if (digest === old.outputs.digest) {
                            repo.tags.delete(tag);
                        }
                    }
                }
                break;
            }
            case "aws:elasticbeanstalk/applicationVersion:ApplicationVersion":
                this.applicationVersions.get(String(old.inputs.application))?.delete(String(old.outputs.name));
                break;
            case "aws:elasticbeanstalk/application:Application":
                this.applicationVersions.delete(String(old.outputs.name));
                break;
        }
    }
}

/** random.RandomId's outputs for the given bytes (hex, b64url, b64std, dec; id is b64url). */
export function randomIdOutputs(bytes: Buffer, inputs: Props): Props {
    const prefix = typeof inputs.prefix === "string" ? inputs.prefix : "";
    const b64url = bytes.toString("base64url");
    return {
        id: b64url,
        hex: `${prefix}${bytes.toString("hex")}`,
        b64Url: `${prefix}${b64url}`,
        b64Std: `${prefix}${bytes.toString("base64")}`,
        dec: `${prefix}${BigInt(`0x${bytes.toString("hex") || "0"}`).toString()}`,
    };
}
