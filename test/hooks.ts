// Root hooks: an error thrown inside an `apply` never reaches mocha on its own; it surfaces as an
// unhandled rejection. Any such rejection fails the run instead of vanishing.
import { isClaimedRejection } from "../harness/run";

const seen: unknown[] = [];
// Listeners run in registration order; a run's own listener claims its rejection first.
const onRejection = (reason: unknown) => {
    setImmediate(() => {
        if (!isClaimedRejection(reason)) {
            seen.push(reason);
        }
    });
};

export const mochaHooks = {
    beforeAll(): void {
        process.on("unhandledRejection", onRejection);
    },
    afterEach(): void {
        if (seen.length > 0) {
            const reason = seen.splice(0)[0];
            throw new Error(`unhandled rejection during this test: ${reason instanceof Error ? reason.stack : String(reason)}`);
        }
    },
    afterAll(): void {
        process.off("unhandledRejection", onRejection);
    },
};
