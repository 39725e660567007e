// Typos in free-text AWS names (issue 16 §4): instance types, RDS classes and regions are checked
// against the enumerations the AWS provider for Pulumi ships (@pulumi/aws types/enums: ec2.InstanceType,
// rds.InstanceType, Region), so `t3.smal` fails at plan time instead of minutes into `pulumi up`.
//
// Those lists are frozen at the provider's release and are incomplete: rds.InstanceType in 7.48.0
// stops at m6g/r6g (no db.m7g, db.r7g, db.m8g...), and any EC2 type or region AWS launches after
// the release is missing. So an unlisted value is an error (a typo must not reach AWS) that says
// the list may be stale and names the escape: listing the value in `acceptUnlisted` vouches for it.
// A warning instead would let the typo through every CI plan, where nobody reads warnings.
import * as fs from "fs";
import * as enums from "@pulumi/aws/types/enums";
import { nearest } from "./suggest";

/** The @pulumi/aws version whose enumerations these are (named in errors: the lists age with it). */
export const PROVIDER_VERSION: string = (JSON.parse(fs.readFileSync(require.resolve("@pulumi/aws/package.json"), "utf8")) as { version: string }).version;

export const EC2_INSTANCE_TYPES: readonly string[] = Object.values(enums.ec2.InstanceType);
export const AWS_REGIONS: readonly string[] = Object.values(enums.Region);
/**
 * RDS classes are named after the EC2 instance they run on (`db.` + the EC2 type: RDS User Guide,
 * Concepts.DBInstanceClass, "DB instance class types"), so a class is also accepted when its EC2
 * type is listed; that covers the RDS families the stale rds.InstanceType lacks. It does not prove
 * RDS offers that class in the region; RDS says so at create, as it would for a listed class.
 */
const RDS_LISTED: readonly string[] = [
    ...Object.values(enums.rds.InstanceType),
    // The one memory-optimized Graviton family RDS names apart from its EC2 type (x2gd): db.x2g,
    // large to 16xlarge (RDS User Guide, Concepts.DBInstanceClass.Summary, "Memory-optimized").
    ...["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"].map((size) => `db.x2g.${size}`),
];
export const RDS_INSTANCE_CLASSES: readonly string[] = [...RDS_LISTED, ...EC2_INSTANCE_TYPES.map((t) => `db.${t}`).filter((c) => !RDS_LISTED.includes(c))];

export type EnumeratedKind = "ec2" | "rds" | "region";

const LISTS: Readonly<Record<EnumeratedKind, { readonly values: ReadonlySet<string>; readonly ordered: readonly string[]; readonly what: string; readonly source: string }>> = {
    ec2: { values: new Set(EC2_INSTANCE_TYPES), ordered: EC2_INSTANCE_TYPES, what: "an EC2 instance type", source: "ec2.InstanceType" },
    rds: { values: new Set(RDS_INSTANCE_CLASSES), ordered: RDS_INSTANCE_CLASSES, what: "an RDS instance class", source: "rds.InstanceType and db. + ec2.InstanceType" },
    region: { values: new Set(AWS_REGIONS), ordered: AWS_REGIONS, what: "an AWS region", source: "Region" },
};

/**
 * The problem with `value` of config key `key`, or undefined when the provider lists it or the stack
 * vouches for it in `acceptUnlisted`.
 */
export function enumerationProblem(key: string, value: string, kind: EnumeratedKind, acceptUnlisted: readonly string[]): string | undefined {
    const list = LISTS[kind];
    if (list.values.has(value) || acceptUnlisted.includes(value)) {
        return undefined;
    }
    const guess = nearest(value, list.ordered);
    const hint = guess !== undefined ? `; did you mean ${guess}? ` : ". ";
    return `${key} ${JSON.stringify(value)} is not ${list.what} @pulumi/aws ${PROVIDER_VERSION} lists (${list.source})${hint}`
        + `That list is frozen at the provider's release: if ${JSON.stringify(value)} is newer and does exist, add it to acceptUnlisted `
        + `(pulumi config set --path 'acceptUnlisted[0]' ${value})`;
}
