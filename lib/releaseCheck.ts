// Post-deploy check (issue 11 §3, first part): a `pulumi up` can report success while the platform
// kept the old version (an ECS circuit-breaker rollback still reads "updated",
// pulumi/pulumi-aws#4487, pulumi/pulumi-awsx#1848), and /health never touches the database. This
// polls the public URL until /health reports the release just deployed and /ready answers 200,
// or fails with the likely cause and the command that shows the platform's events.
// Run by components/releaseVerification.ts during `pulumi up`. Everything here is serialized into
// that dynamic provider (Pulumi's closure serializer), so it uses only Node's globals (fetch,
// AbortSignal, timers) and no imports.

export interface ReleaseCheckArgs {
    /** Base URL of the app, without a trailing slash. */
    readonly url: string;
    /** What /health must report as `release` (bundle digest or image tag). */
    readonly release: string;
    /** Give up after this long. */
    readonly timeoutMs: number;
    /** Pause between polls. */
    readonly intervalMs: number;
    /** The command that shows why the platform did not roll out (ECS service events, EB events, kubectl rollout status). */
    readonly eventsCommand: string;
    /** The app's shallow health path, which reports `release` (appHealthPath). Default /health. */
    readonly healthPath?: string;
    /** The app's readiness path (appReadyPath). Default /ready. */
    readonly readyPath?: string;
    /** Who would have rolled back, for the message ("ECS", "Elastic Beanstalk"...). Default: "the platform". */
    readonly platform?: string;
    /**
     * Consecutive good polls needed (default 1). Behind a load balancer old and new targets answer
     * side by side for a while; several in a row make it likely the old ones are gone.
     */
    readonly confirmations?: number;
}

export type Observation = { kind: "unreachable"; detail: string }
    | { kind: "old-release"; seen: string }
    | { kind: "not-ready"; status: number; reason?: string }
    | { kind: "ok" };

async function observe(args: ReleaseCheckArgs): Promise<Observation> {
    const timeout = Math.min(10000, Math.max(1000, args.intervalMs * 5));
    try {
        const health = await fetch(`${args.url}${args.healthPath ?? "/health"}`, { signal: AbortSignal.timeout(timeout), redirect: "follow" });
        const body = (await health.json().catch(() => ({}))) as { release?: unknown };
        const seen = typeof body.release === "string" ? body.release : "(none)";
        if (!health.ok || seen !== args.release) {
            return { kind: "old-release", seen: health.ok ? seen : `HTTP ${health.status}` };
        }
        const ready = await fetch(`${args.url}${args.readyPath ?? "/ready"}`, { signal: AbortSignal.timeout(timeout), redirect: "follow" });
        if (ready.status === 200) {
            await ready.arrayBuffer();
            return { kind: "ok" };
        }
        // The app's 503 names its cause ({"reason": ...}); the operator should read it here.
        const readyBody = (await ready.json().catch(() => ({}))) as { reason?: unknown };
        const reason = typeof readyBody.reason === "string" ? readyBody.reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 300) : undefined;
        return { kind: "not-ready", status: ready.status, ...(reason ? { reason } : {}) };
    } catch (e) {
        return { kind: "unreachable", detail: e instanceof Error ? e.message : String(e) };
    }
}

/** What to tell the operator when the bound ran out, from the last thing seen. */
export function explain(args: ReleaseCheckArgs, last: Observation): string {
    const within = `within ${Math.round(args.timeoutMs / 1000)} s`;
    switch (last.kind) {
        case "old-release":
            return `${args.url}${args.healthPath ?? "/health"} never reported release ${args.release} ${within} (last: ${last.seen}): ${args.platform ?? "the platform"} most likely rolled back to the previous version or is still replacing it. Read why: ${args.eventsCommand}`;
        case "not-ready":
            return `${args.url} runs release ${args.release} but ${args.readyPath ?? "/ready"} answered ${last.status}${last.reason ? ` (reason: ${last.reason})` : ""} ${within}: the app cannot use its database (credentials, security group, TLS, or a schema migration waiting for a lock). Read why: ${args.eventsCommand}`;
        case "unreachable":
            return `${args.url} did not answer ${within} (${last.detail}): the load balancer has no healthy target yet, or DNS has not propagated. Read why: ${args.eventsCommand}`;
        default:
            return "";
    }
}

/** Resolves once the new release is live and ready; rejects with `explain` otherwise. */
export async function verifyRelease(args: ReleaseCheckArgs): Promise<void> {
    const deadline = Date.now() + args.timeoutMs;
    const needed = Math.max(1, args.confirmations ?? 1);
    let last: Observation = { kind: "unreachable", detail: "not polled yet" };
    let lastBad: Observation = last;
    let good = 0;
    for (;;) {
        last = await observe(args);
        good = last.kind === "ok" ? good + 1 : 0;
        if (good >= needed) {
            return;
        }
        if (last.kind !== "ok") {
            lastBad = last;
        }
        if (Date.now() + args.intervalMs > deadline) {
            // Good answers that never came `needed` times in a row: old and new still alternate.
            throw new Error(explain(args, lastBad));
        }
        await new Promise((resolve) => setTimeout(resolve, args.intervalMs));
    }
}
