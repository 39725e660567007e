/** gunicorn workers for `vcpus` of CPU: 2 per vCPU + 1, between 2 and 8 (the app's gunicorn.conf.py rule). */
export function gunicornWorkers(vcpus: number): number {
    return Math.max(2, Math.min(8, Math.floor(2 * vcpus) + 1));
}
