// The post-deploy release check against a real HTTP server on loopback: old release then new, never
// the new one, new one but /ready failing, nothing listening. Bounded: every case ends within 2 s.
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { verifyRelease } from "../lib/releaseCheck";

interface Behaviour { releaseAt: (n: number) => string; readyStatus: number }

async function serve(b: Behaviour): Promise<{ url: string; healthCalls: () => number; close: () => Promise<void> }> {
    let calls = 0;
    const server = http.createServer((req, res) => {
        if (req.url === "/health") {
            calls++;
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", release: b.releaseAt(calls) }));
        } else if (req.url === "/ready") {
            res.writeHead(b.readyStatus, { "content-type": "application/json" }).end(JSON.stringify({ status: b.readyStatus === 200 ? "ready" : "unavailable" }));
        } else {
            res.writeHead(404).end();
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, healthCalls: () => calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const base = { release: "sha256-new", timeoutMs: 1500, intervalMs: 50, eventsCommand: "aws ecs describe-services --cluster c --services s --query 'services[0].events[:10]'" };

describe("release check", () => {
    it("waits through the old release until the new one is served and ready", async () => {
        const s = await serve({ releaseAt: (n) => (n < 4 ? "sha256-old" : "sha256-new"), readyStatus: 200 });
        try {
            await verifyRelease({ ...base, url: s.url });
            assert.strictEqual(s.healthCalls(), 4);
        } finally {
            await s.close();
        }
    });

    it("fails naming a rollback and the events command when the new release never arrives", async () => {
        const s = await serve({ releaseAt: () => "sha256-old", readyStatus: 200 });
        try {
            await assert.rejects(verifyRelease({ ...base, url: s.url }), (e: Error) => {
                assert.match(e.message, /never reported release sha256-new within 2 s \(last: sha256-old\)/);
                assert.match(e.message, /rolled back/);
                assert.ok(e.message.endsWith(base.eventsCommand));
                return true;
            });
        } finally {
            await s.close();
        }
    });

    it("fails naming the database when the new release runs but /ready does not answer 200", async () => {
        const s = await serve({ releaseAt: () => "sha256-new", readyStatus: 503 });
        try {
            await assert.rejects(verifyRelease({ ...base, url: s.url }), /runs release sha256-new but \/ready answered 503 .*database/);
        } finally {
            await s.close();
        }
    });

    it("fails when nothing answers", async () => {
        const s = await serve({ releaseAt: () => "x", readyStatus: 200 });
        const url = s.url;
        await s.close();
        await assert.rejects(verifyRelease({ ...base, url, timeoutMs: 300 }), /did not answer within 0 s/);
    });
});
