import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Json, PlanResult } from "../harness/run";
import { SOLUTION_STACK_REGEX } from "../targets/beanstalk";
import { all, appCopy, diffPlans, ebSettings, input, one, parsePolicy, planStack, Settings, platformOutput } from "./helpers";

const ENV = "aws:elasticbeanstalk/environment:Environment";

interface Allowlist {
    namespaces: Record<string, { source: string; namespacePattern?: string; options: "*" | Record<string, unknown> }>;
}
const ALLOWLIST: Allowlist = JSON.parse(fs.readFileSync(path.join(__dirname, "data", "eb-options.json"), "utf8"));

function allowed(namespace: string, name: string): boolean {
    for (const [ns, spec] of Object.entries(ALLOWLIST.namespaces)) {
        const matches = spec.namespacePattern ? new RegExp(spec.namespacePattern).test(namespace) : ns === namespace;
        if (matches && (spec.options === "*" || name in spec.options)) {
            return true;
        }
    }
    return false;
}

describe("beanstalk target", function () {
    this.timeout(120000);
    let dev: PlanResult;
    let prod: PlanResult;
    let devSettings: Settings;
    let prodSettings: Settings;

    before(async () => {
        dev = await planStack("dev", ["target=beanstalk"]);
        prod = await planStack("prod", ["target=beanstalk"]);
        devSettings = ebSettings(one(dev, ENV));
        prodSettings = ebSettings(one(prod, ENV));
    });

    it("emits only option settings documented by AWS", () => {
        for (const plan of [dev, prod]) {
            for (const s of input<{ namespace: string; name: string; resource: string }[]>(one(plan, ENV), "settings")) {
                assert.ok(allowed(s.namespace, s.name), `${s.namespace} ${s.name} is not in test/data/eb-options.json`);
                assert.strictEqual(s.resource, "", `${s.namespace} ${s.name} needs resource "" to avoid a perpetual diff`);
            }
        }
    });

    it("the allowlist rejects a misspelled option (the check can fail)", () => {
        assert.ok(!allowed("aws:elasticbeanstalk:environment:process:default", "DeregistrationTimeout"));
        assert.ok(!allowed("aws:autoscaling:asg", "Min"));
        assert.ok(allowed("aws:elbv2:listener:443", "SSLPolicy"));
    });

    it("emits settings sorted by namespace and name, identically on every run", async () => {
        const again = await planStack("prod", ["target=beanstalk"]);
        const first = input(one(prod, ENV), "settings");
        assert.deepStrictEqual(input(one(again, ENV), "settings"), first);
        const keys = (first as { namespace: string; name: string }[]).map((s) => `${s.namespace}\u0000${s.name}`);
        assert.deepStrictEqual(keys, [...keys].sort());
    });

    it("is load balanced: ALB in public subnets, instances in private subnets without public IPs", async () => {
        const vpc = one(dev, "awsx:ec2:Vpc");
        assert.ok(vpc);
        for (const s of [devSettings, prodSettings]) {
            assert.strictEqual(s.get("aws:elasticbeanstalk:environment/EnvironmentType"), "LoadBalanced");
            assert.strictEqual(s.get("aws:elasticbeanstalk:environment/LoadBalancerType"), "application");
            assert.strictEqual(s.get("aws:ec2:vpc/ELBScheme"), "public");
            assert.strictEqual(s.get("aws:ec2:vpc/AssociatePublicIpAddress"), "false");
            const priv = s.get("aws:ec2:vpc/Subnets")!.split(",");
            const pub = s.get("aws:ec2:vpc/ELBSubnets")!.split(",");
            assert.ok(priv.length >= 2 && pub.length >= 2);
            assert.ok(priv.every((id) => !pub.includes(id)), "instances and load balancer share a subnet");
        }
        // Values come from the stack's VPC component, not from a default VPC.
        const db = one(dev, "aws:rds/subnetGroup:SubnetGroup");
        assert.deepStrictEqual(input<string[]>(db, "subnetIds"), devSettings.get("aws:ec2:vpc/Subnets")!.split(","));
        assert.strictEqual(devSettings.get("aws:ec2:vpc/VPCId"), input(one(dev, "aws:ec2/securityGroup:SecurityGroup", "-app"), "vpcId"));
    });

    it("requires IMDSv2 and checks /health with the ASG on ELB health", () => {
        for (const s of [devSettings, prodSettings]) {
            assert.strictEqual(s.get("aws:autoscaling:launchconfiguration/DisableIMDSv1"), "true");
            assert.strictEqual(s.get("aws:elasticbeanstalk:environment:process:default/HealthCheckPath"), "/health");
            assert.strictEqual(s.get("aws:elasticbeanstalk:environment:process:default/MatcherHTTPCode"), "200");
            assert.strictEqual(s.get("aws:elasticbeanstalk:healthreporting:system/SystemType"), "enhanced");
            assert.ok(Number(s.get("aws:elasticbeanstalk:environment:process:default/DeregistrationDelay")) <= 30);
        }
    });

    it("streams logs to CloudWatch with the stack's retention", () => {
        assert.strictEqual(devSettings.get("aws:elasticbeanstalk:cloudwatch:logs/StreamLogs"), "true");
        assert.strictEqual(devSettings.get("aws:elasticbeanstalk:cloudwatch:logs/RetentionInDays"), "14");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:cloudwatch:logs/RetentionInDays"), "90");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:cloudwatch:logs:health/HealthStreamingEnabled"), "true");
    });

    it("deletes Beanstalk's own log groups with the environment only where destroy may delete data (dev), as the bundle bucket", () => {
        for (const ns of ["aws:elasticbeanstalk:cloudwatch:logs", "aws:elasticbeanstalk:cloudwatch:logs:health"]) {
            assert.strictEqual(devSettings.get(`${ns}/DeleteOnTerminate`), "true", ns);
            assert.strictEqual(prodSettings.get(`${ns}/DeleteOnTerminate`), "false", ns);
        }
    });

    it("applies managed platform updates in the configured window", () => {
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:managedactions/ManagedActionsEnabled"), "true");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:managedactions/PreferredStartTime"), "Sun:03:00");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:managedactions:platformupdate/UpdateLevel"), "minor");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:managedactions/ServiceRoleForManagedUpdates"), prodSettings.get("aws:elasticbeanstalk:environment/ServiceRole"));
    });

    it("scales between the configured bounds on the configured trigger", () => {
        assert.strictEqual(devSettings.get("aws:autoscaling:asg/MinSize"), "1");
        assert.strictEqual(devSettings.get("aws:autoscaling:asg/MaxSize"), "2");
        assert.strictEqual(prodSettings.get("aws:autoscaling:asg/MinSize"), "2");
        assert.strictEqual(prodSettings.get("aws:autoscaling:asg/MaxSize"), "6");
        assert.strictEqual(prodSettings.get("aws:autoscaling:trigger/MeasureName"), "CPUUtilization");
        assert.strictEqual(prodSettings.get("aws:autoscaling:trigger/Unit"), "Percent");
        assert.strictEqual(prodSettings.get("aws:autoscaling:trigger/UpperThreshold"), "60");
        assert.strictEqual(prodSettings.get("aws:autoscaling:trigger/LowerThreshold"), "25");
        const s = prodSettings;
        assert.strictEqual(Number(s.get("aws:autoscaling:trigger/BreachDuration")), Number(s.get("aws:autoscaling:trigger/Period")) * Number(s.get("aws:autoscaling:trigger/EvaluationPeriods")));
    });

    it("uses a request-count trigger with its own statistic and unit when configured", async () => {
        const plan = await planStack("dev", ["ebScalingMetric=RequestCount", "ebScaleUpThreshold=5000", "ebScaleDownThreshold=1000"]);
        const s = ebSettings(one(plan, ENV));
        assert.strictEqual(s.get("aws:autoscaling:trigger/Statistic"), "Sum");
        assert.strictEqual(s.get("aws:autoscaling:trigger/Unit"), "Count");
    });

    it("deploys fast in dev and immutably (with rollback) in prod", () => {
        assert.strictEqual(devSettings.get("aws:elasticbeanstalk:command/DeploymentPolicy"), "AllAtOnce");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:command/DeploymentPolicy"), "Immutable");
        assert.strictEqual(prodSettings.get("aws:autoscaling:updatepolicy:rollingupdate/RollingUpdateType"), "Immutable");
        assert.strictEqual(prodSettings.get("aws:elasticbeanstalk:command/IgnoreHealthCheck"), "false");
    });

    it("adds traffic-splitting options only for TrafficSplitting", async () => {
        assert.ok(![...prodSettings.keys()].some((k) => k.startsWith("aws:elasticbeanstalk:trafficsplitting/")));
        const plan = await planStack("prod", ["ebDeploymentPolicy=TrafficSplitting"]);
        const s = ebSettings(one(plan, ENV));
        assert.strictEqual(s.get("aws:elasticbeanstalk:trafficsplitting/NewVersionPercent"), "10");
    });

    it("sets the app's environment and injects the DB secret by ARN, never its value", () => {
        const db = one(dev, "aws:rds/instance:Instance");
        for (const s of [devSettings, prodSettings]) {
            assert.strictEqual(s.get("aws:elasticbeanstalk:application:environment/PORT"), "8000");
            assert.strictEqual(s.get("aws:elasticbeanstalk:application:environment/DB_PORT"), "5432");
            assert.strictEqual(s.get("aws:elasticbeanstalk:application:environment/DB_NAME"), "app");
            assert.strictEqual(s.get("aws:elasticbeanstalk:application:environment/DB_SSLMODE"), "verify-full");
            assert.match(s.get("aws:elasticbeanstalk:application:environmentsecrets/DB_SECRET")!, /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:rds!db-/);
            for (const key of s.keys()) {
                assert.ok(!/PASSWORD|DATABASE_URL/.test(key), `${key} would put a credential in the console`);
            }
        }
        assert.match(devSettings.get("aws:elasticbeanstalk:application:environment/DB_HOST")!, new RegExp(`^${input(db, "identifier")}\\.`));
    });

    it("picks the newest Amazon Linux 2023 Python 3.11 platform, or the pinned one", async () => {
        const env = one(dev, ENV);
        assert.strictEqual(input(env, "solutionStackName"), "64bit Amazon Linux 2023 v4.7.1 running Python 3.11");
        const query = dev.invokes.find((i) => i.token === "aws:elasticbeanstalk/getSolutionStack:getSolutionStack");
        assert.deepStrictEqual(query?.inputs, { nameRegex: SOLUTION_STACK_REGEX, mostRecent: true });
        const pinned = "64bit Amazon Linux 2023 v4.5.0 running Python 3.11";
        const plan = await planStack("dev", [`ebSolutionStack=${pinned}`]);
        assert.strictEqual(input(one(plan, ENV), "solutionStackName"), pinned);
        assert.ok(!plan.invokes.some((i) => i.token.includes("getSolutionStack")));
    });

    it("gives instances and the service only the managed policies they need, plus scoped inline grants", () => {
        const instanceRole = one(dev, "aws:iam/role:Role", "-instance");
        // Managed policies come as RolePolicyAttachments (test/hardening.test.ts checks which).
        assert.strictEqual(input(instanceRole, "managedPolicyArns"), undefined);
        assert.deepStrictEqual(parsePolicy(instanceRole, "assumeRolePolicy").Statement[0].Principal, { Service: "ec2.amazonaws.com" });
        const serviceRole = one(dev, "aws:iam/role:Role", "-service");
        assert.strictEqual(input(serviceRole, "managedPolicyArns"), undefined);
        assert.deepStrictEqual(parsePolicy(serviceRole, "assumeRolePolicy").Statement[0].Condition, { StringEquals: { "sts:ExternalId": "elasticbeanstalk" } });

        const inline = parsePolicy(one(dev, "aws:iam/rolePolicy:RolePolicy", "-instance-app"));
        const db = one(dev, "aws:rds/instance:Instance");
        assert.ok(db);
        const secretArn = devSettings.get("aws:elasticbeanstalk:application:environmentsecrets/DB_SECRET");
        for (const st of inline.Statement) {
            assert.strictEqual(st.Effect, "Allow");
            const resources = ([] as string[]).concat(st.Resource as string | string[]);
            assert.ok(resources.every((r) => r !== "*" && !r.endsWith(":*")), `unscoped resource in ${JSON.stringify(st)}`);
        }
        const secretStatement = inline.Statement.find((st) => JSON.stringify(st.Action).includes("secretsmanager:GetSecretValue"));
        assert.strictEqual(secretStatement?.Resource, secretArn);
        const kms = inline.Statement.find((st) => st.Action === "kms:Decrypt");
        assert.deepStrictEqual(kms?.Condition, { StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" } });
    });

    it("admits only the app's security group to the database, on 5432", () => {
        const appSg = one(dev, "aws:ec2/securityGroup:SecurityGroup", "-app");
        const dbSg = one(dev, "aws:ec2/securityGroup:SecurityGroup", "-db-sg");
        assert.match(devSettings.get("aws:autoscaling:launchconfiguration/SecurityGroups")!, /^sg-[0-9a-f]+$/);
        const rules = all(dev, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        assert.strictEqual(rules.length, 1);
        const rule = rules[0];
        assert.strictEqual(input(rule, "ipProtocol"), "tcp");
        assert.strictEqual(input(rule, "fromPort"), 5432);
        assert.strictEqual(input(rule, "toPort"), 5432);
        assert.strictEqual(input(rule, "cidrIpv4"), undefined);
        assert.strictEqual(input(rule, "referencedSecurityGroupId"), devSettings.get("aws:autoscaling:launchconfiguration/SecurityGroups"));
        assert.ok(rule.parent?.includes("BeanstalkTarget"), "the rule belongs to the target, so switching targets swaps only it");
        assert.strictEqual(input(dbSg, "ingress"), undefined, "no inline ingress on the database group");
        assert.ok(input(appSg, "vpcId"));
    });

    it("keeps bundles in a private, encrypted, versioned, TLS-only bucket", () => {
        const bucket = one(dev, "aws:s3/bucket:Bucket");
        const pab = one(dev, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
        for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
            assert.strictEqual(input(pab, k), true, k);
        }
        assert.deepStrictEqual(input(one(dev, "aws:s3/bucketVersioning:BucketVersioning"), "versioningConfiguration"), { status: "Enabled" });
        const sse = input<{ applyServerSideEncryptionByDefault: { sseAlgorithm: string } }[]>(one(dev, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"), "rules");
        assert.strictEqual(sse[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
        assert.deepStrictEqual(input(one(dev, "aws:s3/bucketOwnershipControls:BucketOwnershipControls"), "rule"), { objectOwnership: "BucketOwnerEnforced" });
        const policy = parsePolicy(one(dev, "aws:s3/bucketPolicy:BucketPolicy"));
        assert.deepStrictEqual(policy.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
        assert.strictEqual(policy.Statement[0].Effect, "Deny");
        assert.strictEqual(input(bucket, "acl"), undefined);
        assert.strictEqual(input(one(prod, "aws:s3/bucket:Bucket"), "forceDestroy"), false);
    });

    it("names the version by the bundle's content plus a deploy id, and keeps the last N versions", () => {
        const version = one(dev, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion");
        const object = one(dev, "aws:s3/bucketObjectv2:BucketObjectv2");
        const label = input<string>(version, "name");
        assert.match(label, /^flask-app-dev-[0-9a-f]{12}-[0-9a-f]{6}$/);
        // The deploy id is renewed exactly when the bundle changes (see test/laterRuns.test.ts).
        assert.deepStrictEqual(Object.keys(input<{ [key: string]: Json }>(one(dev, "random:index/randomId:RandomId", "-version-id"), "keepers")), ["bundle"]);
        assert.strictEqual(input(object, "key"), `bundles/${label}.zip`);
        assert.strictEqual(input(one(dev, ENV), "version"), label);
        assert.ok(version.options.retainOnDelete && object.options.retainOnDelete, "old versions stay for rollback until the lifecycle deletes them");
        const lifecycle = input<{ [key: string]: Json }>(one(prod, "aws:elasticbeanstalk/application:Application"), "appversionLifecycle");
        assert.strictEqual(lifecycle.maxCount, 25);
        assert.strictEqual(lifecycle.deleteSourceFromS3, true);
        assert.strictEqual(lifecycle.serviceRole, prodSettings.get("aws:elasticbeanstalk:environment/ServiceRole"));
    });

    it("builds the same version label from the same code on every run", async () => {
        const again = await planStack("dev");
        assert.strictEqual(
            input(one(again, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion"), "name"),
            input(one(dev, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion"), "name"),
        );
        assert.deepStrictEqual(diffPlans(dev, again), { added: [], removed: [], changed: new Map() });
    });

    it("a code-only change touches only the bundle, the version and the environment's label", async () => {
        const edited = appCopy((dir) => fs.appendFileSync(path.join(dir, "wsgi.py"), "\n# a code change\n"));
        const after = await planStack("dev", [], { appDir: edited });
        const d = diffPlans(dev, after);
        const types = (urns: string[]) => urns.map((u) => u.split("::")[2].split("$").pop()).sort();
        assert.deepStrictEqual(types(d.added), ["aws:elasticbeanstalk/applicationVersion:ApplicationVersion", "aws:s3/bucketObjectv2:BucketObjectv2"]);
        assert.deepStrictEqual(types(d.removed), ["aws:elasticbeanstalk/applicationVersion:ApplicationVersion", "aws:s3/bucketObjectv2:BucketObjectv2"]);
        assert.deepStrictEqual([...d.changed.entries()].map(([urn, keys]) => [urn.split("::").pop(), keys]).sort(),
            [["flask-app-beanstalk-env", ["settings", "version"]], ["flask-app-beanstalk-version-id", ["keepers"]], ["flask-app-release-check", ["release"]]]);
        // The one setting that moves with the code is the release the app reports (issue 11 §3).
        const [was, now] = [ebSettings(one(dev, ENV)), ebSettings(one(after, ENV))];
        assert.deepStrictEqual([...now.keys()].filter((k) => now.get(k) !== was.get(k)), ["aws:elasticbeanstalk:application:environment/APP_RELEASE"]);
        assert.strictEqual(now.get("aws:elasticbeanstalk:application:environment/APP_RELEASE"), input(one(after, ENV), "version"));
        // The old version and bundle are retained (not deleted), so nothing is replaced.
        for (const urn of d.removed) {
            assert.ok(dev.resources.find((r) => r.urn === urn)?.options.retainOnDelete);
        }
    });

    it("serves HTTPS with a DNS-validated certificate and redirects HTTP when a domain is set", async () => {
        const plan = await planStack("prod", ["domainName=app.example.com"]);
        const s = ebSettings(one(plan, ENV));
        const cert = one(plan, "aws:acm/certificate:Certificate");
        assert.strictEqual(input(cert, "domainName"), "app.example.com");
        assert.strictEqual(input(cert, "validationMethod"), "DNS");
        assert.strictEqual(s.get("aws:elbv2:listener:443/Protocol"), "HTTPS");
        assert.match(s.get("aws:elbv2:listener:443/SSLCertificateArns")!, /^arn:aws:acm:us-east-1:\d{12}:certificate\//);
        assert.strictEqual(s.get("aws:elbv2:listener:443/SSLPolicy"), "ELBSecurityPolicy-TLS13-1-2-2021-06");
        const alias = all(plan, "aws:route53/record:Record").find((r) => input(r, "type") === "A");
        assert.ok(alias, "no alias record");
        assert.strictEqual(input(alias, "name"), "app.example.com");
        assert.strictEqual(plan.outputs.url, "https://app.example.com");
        assert.strictEqual(plan.outputs.healthUrl, "https://app.example.com/health");
        // The redirect ships in the bundle, so the bundle (and version) differ from the HTTP-only one.
        assert.notStrictEqual(
            input(one(plan, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion"), "name"),
            input(one(prod, "aws:elasticbeanstalk/applicationVersion:ApplicationVersion"), "name"),
        );
        assert.ok(!all(prod, "aws:acm/certificate:Certificate").length, "no certificate without a domain");
        assert.ok(![...prodSettings.keys()].some((k) => k.startsWith("aws:elbv2:listener:443/")));
        assert.match(String(prod.outputs.url), /^http:\/\/flask-app-prod\.us-east-1\.elasticbeanstalk\.com$/);
    });

    it("fails clearly when the hosted zone does not exist", async () => {
        await assert.rejects(planStack("prod", ["domainName=app.nowhere.org"]), /no matching Route 53 Hosted Zone found \(name nowhere\.org\)/);
    });

    it("exports the outputs contract", () => {
        for (const plan of [dev, prod]) {
            assert.strictEqual(plan.outputs.target, "beanstalk");
            assert.match(String(plan.outputs.url), /^http:\/\//);
            assert.strictEqual(plan.outputs.healthUrl, `${plan.outputs.url}/health`);
            assert.strictEqual(platformOutput(plan, "environmentName"), `flask-app-${plan.stack}`);
            assert.match(String(platformOutput(plan, "versionLabel")), /^flask-app-\w+-[0-9a-f]{12}-[0-9a-f]{6}$/);
        }
    });
});
