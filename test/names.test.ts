// Physical names within AWS's limits (issue 9): with the longest appName and the longest stack name
// config accepts, every name-ish input of the plan fits the limit AWS documents for it; one
// character more is refused by config validation, naming the resource and the limit. The limits
// below are written out again, independently of lib/names.ts, from the AWS API references cited there.
import * as assert from "assert";
import { ConfigError, parseConfig, TARGET_NAMES } from "../config";
import { Json, PlannedResource, PlanResult, runProgram } from "../harness/run";
import { resolveStackConfig } from "../harness/stackConfig";
import { program } from "../program";
import { TEST_BUILD_DIR, EKS } from "./helpers";

/** 20 characters, the most `appName` accepts. */
const LONGEST_APP = "abcdefghij-klmnopqrs";
/** The longest stack name each target accepts with that appName (binding: bucket prefix, RDS identifier, node group prefix). */
const LONGEST_STACK = { beanstalk: 12, ecs: 39, eks: 15 } as const;

/** Characters autonaming appends ("-" + 7) and a Terraform name_prefix appends (26). */
const AUTO = 8;
const PREFIXED = 26;

interface Violation { readonly resource: string; readonly what: string; readonly length: number; readonly max: number }
type Obj = Record<string, Json>;

/** Name-ish inputs of resources whose type the table below does not know; each must be added there. */
const NAME_KEYS = ["name", "namePrefix", "identifier", "bucket", "bucketPrefix", "family", "nodeGroupName", "nodeGroupNamePrefix", "repositoryName"];

/**
 * The names a resource will carry in AWS, with their limits: explicit names, prefixes plus the
 * provider's suffix, or (when neither is given) the autoname made from the logical name.
 */
export function nameLimits(r: PlannedResource): [string, number, number][] | undefined {
    const s = (key: string): string | undefined => (typeof r.inputs[key] === "string" ? r.inputs[key] as string : undefined);
    const named = (max: number, prefixMax = max): [string, number, number][] => {
        if (s("name")) return [["name", s("name")!.length, max]];
        if (s("namePrefix")) return [["namePrefix", s("namePrefix")!.length + PREFIXED, prefixMax]];
        return [["autoname", r.name.length + AUTO, max]];
    };
    switch (r.type) {
        case "aws:rds/instance:Instance":
            return [["identifier", s("identifier")!.length, 63], ["finalSnapshotIdentifier", (s("finalSnapshotIdentifier") ?? "").length, 255]];
        case "aws:rds/subnetGroup:SubnetGroup":
        case "aws:rds/parameterGroup:ParameterGroup":
        case "aws:ec2/securityGroup:SecurityGroup":
            return named(255);
        case "aws:kms/alias:Alias":
            return [["name", s("name")!.length, 256]];
        case "aws:cloudwatch/logGroup:LogGroup":
            return named(512);
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            return s("bucket") ? [["bucket", s("bucket")!.length, 63]] : [["bucketPrefix", (s("bucketPrefix") ?? r.name).length + PREFIXED, 63]];
        case "aws:iam/role:Role":
            // IAM: role name 64; a name prefix at most 38 (64 - 26).
            return named(64);
        case "aws:iam/instanceProfile:InstanceProfile":
        case "aws:iam/rolePolicy:RolePolicy":
            return named(128);
        case "aws:elasticbeanstalk/environment:Environment": {
            const out: [string, number, number][] = [["name", s("name")!.length, 40]];
            if (s("cnamePrefix")) out.push(["cnamePrefix", s("cnamePrefix")!.length, 63]);
            return out;
        }
        case "aws:elasticbeanstalk/application:Application":
        case "aws:elasticbeanstalk/applicationVersion:ApplicationVersion":
            return [["name", s("name")!.length, 100]];
        case "aws:ecr/repository:Repository":
            return [["name", s("name")!.length, 256]];
        case "aws:ecs/cluster:Cluster":
        case "awsx:ecs:FargateService":
            return [["name", s("name")!.length, 255]];
        case "aws:ecs/taskDefinition:TaskDefinition":
            return [["family", s("family")!.length, 255]];
        case "awsx:lb:ApplicationLoadBalancer": {
            // pulumi-awsx awsx/lb/applicationLoadBalancer.ts: the LB and the default target group take the component's name.
            const tg = r.inputs.defaultTargetGroup as Obj | undefined;
            return [
                ["loadBalancer", s("name")?.length ?? r.name.length + AUTO, 32],
                ["defaultTargetGroup", typeof tg?.name === "string" ? tg.name.length : r.name.length + AUTO, 32],
            ];
        }
        case "eks:index:Cluster":
            // pulumi-eks cluster.ts: ServiceRole `${name}-eksRole`, whose aws.iam.Role is `${name}-role` (autonamed).
            return [["name", s("name")!.length, 100], ["eksRole", `${r.name}-eksRole-role`.length + AUTO, 64]];
        case "eks:index:ManagedNodeGroup":
            return s("nodeGroupName") ? [["nodeGroupName", s("nodeGroupName")!.length, 63]]
                : [["nodeGroupNamePrefix", (s("nodeGroupNamePrefix") ?? "").length + PREFIXED, 63]];
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return named(128);
        case "aws:appautoscaling/policy:Policy":
            return named(255);
        case "aws:codebuild/project:Project":
            return [["name", s("name")!.length, 255]];
        case "pulumi-nodejs:dynamic/codebuild:ImageBuild":
            // `bucket`, `repositoryName` and `projectName` name the resources above.
            return [];
        // issue 13 (limits: SNS CreateTopic Name 1-256; CloudWatch PutMetricAlarm AlarmName 1-255;
        // EventBridge PutRule Name 1-64; WAFv2 CreateWebACL Name 1-128).
        case "aws:sns/topic:Topic":
            return named(256);
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return named(255);
        case "aws:cloudwatch/eventRule:EventRule":
            return named(64);
        case "aws:wafv2/webAcl:WebAcl":
            return named(128);
        case "aws:s3/bucketObjectv2:BucketObjectv2":
            // `bucket` names the bucket above; the object key may be 1024 bytes (S3 object key naming).
            return [["key", s("key")!.length, 1024]];
        case "aws:route53/record:Record":
            // A DNS name: at most 253 characters in text form (RFC 1035 2.3.4, 255 octets on the wire).
            return [["name", s("name")!.replace(/\.$/, "").length, 253]];
        case "kubernetes:helm.sh/v3:Release":
            return [["name", s("name")!.length, 53]];
        default:
            if (r.type.startsWith("aws:s3/bucket")) {
                // The bucket's policy, versioning, encryption...: `bucket` refers to the bucket above.
                return [];
            }
            if (r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes") {
                const meta = r.inputs.metadata as Obj | undefined;
                return [["metadata.name", String(meta?.name ?? "").length, 63]];
            }
            return undefined;
    }
}

export function violations(plan: PlanResult): Violation[] {
    const out: Violation[] = [];
    for (const r of plan.resources) {
        const limits = nameLimits(r);
        if (!limits) {
            const keys = NAME_KEYS.filter((k) => typeof r.inputs[k] === "string");
            assert.deepStrictEqual(keys, [], `${r.type} ${r.name} has name inputs ${keys.join(", ")} with no limit in test/names.test.ts`);
            continue;
        }
        for (const [what, length, max] of limits) {
            if (length > max) {
                out.push({ resource: `${r.type} ${r.name}`, what, length, max });
            }
        }
    }
    return out;
}

function planAs(stack: string, sets: string[]): Promise<PlanResult> {
    const resolved = resolveStackConfig("prod", sets);
    return runProgram(() => program({ buildDir: TEST_BUILD_DIR }), { ...resolved, stack });
}

function refusal(stack: string, raw: Record<string, string>): string {
    try {
        parseConfig("flask-platform", stack, raw, { implementedTargets: [...TARGET_NAMES] });
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems.join("\n");
    }
    return assert.fail(`stack ${stack} with ${JSON.stringify(raw)} was accepted`);
}

describe("physical names within AWS limits", function () {
    this.timeout(300000);

    for (const target of TARGET_NAMES) {
        it(`${target}: the longest accepted appName and stack name plan with every name within its limit`, async () => {
            const stack = "s".repeat(LONGEST_STACK[target]);
            const sets = [...(target === "eks" ? EKS : [`target=${target}`]), `appName=${LONGEST_APP}`, "domainName=app.example.com", "flowLogs=true"];
            const plan = await planAs(stack, sets);
            assert.deepStrictEqual(violations(plan), []);
            assert.ok(plan.resources.length > 40);
        });

        it(`${target}: one character more is refused by config validation, naming the resource and the limit`, () => {
            const stack = "s".repeat(LONGEST_STACK[target] + 1);
            const text = refusal(stack, { target, appName: LONGEST_APP });
            assert.match(text, new RegExp(`appName "${LONGEST_APP}" and stack name "${stack}" make the .*AWS allows at most \\d+ \\(https://docs\\.aws\\.amazon\\.com/`));
            assert.match(text, new RegExp(`target ${target} takes stack names of up to ${LONGEST_STACK[target]} characters`));
        });
    }

    it("names the binding limit per target", () => {
        assert.match(refusal("s".repeat(13), { target: "beanstalk", appName: LONGEST_APP }), /Elastic Beanstalk bundle S3 bucket \(bucketPrefix\) ".*" plus 26 characters AWS or Pulumi append, 64 characters; AWS allows at most 63/);
        assert.match(refusal("s".repeat(16), { target: "eks", appName: LONGEST_APP }), /EKS node group name \(nodeGroupNamePrefix\) .* 64 characters; AWS allows at most 63/);
        assert.match(refusal("s".repeat(40), { target: "ecs", appName: LONGEST_APP }), /RDS DB instance identifier ".{64}"|RDS DB instance identifier "[a-z-]+", 64 characters; AWS allows at most 63/);
        // A stack name of other characters folds into single hyphens, never "--" nor a trailing "-" (RDS rules).
        const c = parseConfig("flask-platform", "Feature__x.", { target: "ecs" }, { implementedTargets: [...TARGET_NAMES] });
        assert.strictEqual(c.namePrefix, "flask-app-feature-x");
    });

    it("the walk catches a name past its limit (the awsx load balancer before it was renamed)", () => {
        const alb: PlannedResource = {
            urn: "urn:x", type: "awsx:lb:ApplicationLoadBalancer", name: `${LONGEST_APP}-ecs-alb`, parent: null, custom: false, inputs: {},
            options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], dependsOn: [], transforms: 0, aliases: [], deletedWith: null },
        };
        const found = violations({ project: "p", stack: "s", preview: false, config: {}, resources: [alb], outputs: {}, invokes: [], warnings: [] });
        assert.deepStrictEqual(found.map((v) => [v.what, v.length, v.max]), [["loadBalancer", 36, 32], ["defaultTargetGroup", 36, 32]]);
    });
});
