// Memory of RDS instance classes and the max_connections RDS derives from it (issue 13: the
// connections alarm is judged against the limit, which the stack never sets itself).

/**
 * GiB of memory per size, by instance family (RDS User Guide, Concepts.DBInstanceClass.Summary
 * "Hardware specifications for DB instance classes"): burstable t3/t4g from 1 GiB at micro,
 * general-purpose m5/m6g/m6i/m7g/m7i/m8g at 4 GiB per vCPU (8 GiB at large), memory-optimized
 * r5/r6g/r6i/r7g/r7i/r8g at 8 GiB per vCPU (16 GiB at large).
 */
const BURSTABLE: Readonly<Record<string, number>> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32 };
const PER_VCPU: Readonly<Record<string, number>> = { large: 2, xlarge: 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64, "24xlarge": 96 };
const GENERAL = /^m(5|6g|6i|7g|7i|8g)$/;
const MEMORY = /^r(5|6g|6i|7g|7i|8g)$/;
const BURST = /^t(3|4g)$/;

/** Memory in GiB of `db.<family>.<size>`, or undefined for a class this table does not know. */
export function instanceClassMemoryGiB(instanceClass: string): number | undefined {
    const [, family, size] = instanceClass.split(".");
    if (family === undefined || size === undefined) {
        return undefined;
    }
    if (BURST.test(family)) {
        return BURSTABLE[size];
    }
    const vcpus = PER_VCPU[size];
    if (vcpus === undefined) {
        return undefined;
    }
    if (GENERAL.test(family)) {
        return vcpus * 4;
    }
    if (MEMORY.test(family)) {
        return vcpus * 8;
    }
    return undefined;
}

/**
 * RDS for PostgreSQL's default `max_connections`: `LEAST({DBInstanceClassMemory/9531392}, 5000)`
 * (RDS User Guide, CHAP_Limits.html#RDS_Limits.MaxConnections, "Maximum number of database
 * connections"). DBInstanceClassMemory is the class's memory less what the OS and RDS keep, so
 * with the nominal memory this is an upper bound, a few percent above what `SHOW max_connections`
 * reports (db.t2.small: 225 here, 198 measured); the alarm's percentage absorbs the difference.
 */
export function defaultMaxConnections(memoryGiB: number): number {
    return Math.min(Math.floor((memoryGiB * 1024 ** 3) / 9531392), 5000);
}
