/**
 * gunicorn workers for `vcpus` of CPU: 2 per vCPU + 1, between 2 and 8 (the app's gunicorn.conf.py
 * rule). More processes than CPUs: a keep-alive connection stays on the worker that accepted it,
 * and one worker uses at most about one CPU (one GIL), so fewer workers left CPUs idle when the
 * connections landed unevenly (app/README.md, Benchmark).
 */
export function gunicornWorkers(vcpus: number): number {
    return Math.max(2, Math.min(8, Math.floor(2 * vcpus) + 1));
}
