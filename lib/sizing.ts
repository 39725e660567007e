/**
 * gunicorn workers for `vcpus` of CPU: one per vCPU (rounded up, as the app reads a cgroup quota)
 * and one more, between 2 and 8: the app's gunicorn.conf.py rule. Each worker runs 4 threads and
 * uses at most about one CPU (one GIL); see app/README.md, Benchmark.
 */
export function gunicornWorkers(vcpus: number): number {
    return Math.max(2, Math.min(8, Math.ceil(vcpus) + 1));
}
