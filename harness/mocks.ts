// The mock cloud: what AWS, awsx and eks would answer, close enough that the real program runs to
// completion in-process. The offline plan and every test use this one layer. Values are derived
// from a hash of the resource's type and name, so two runs of the same program agree exactly.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { IMAGE_BUILD_TYPE } from "../lib/codebuildRun";
import { CloudMemory, randomIdOutputs } from "./cloudMemory";

export const MOCK_ACCOUNT = "123456789012";

type Props = Record<string, unknown>;

export interface MockCloudOptions {
    readonly region: string;
    /** Elastic Beanstalk solution stacks the account "offers", newest first, as the API lists them. */
    readonly solutionStacks?: readonly string[];
    /** Route 53 public hosted zones that exist in the account. */
    readonly hostedZones?: readonly string[];
    /**
     * A first `pulumi preview`: nothing exists yet, so the engine answers a create with the inputs
     * the provider checked and nothing it computes; the SDK then marks every other output unknown
     * (@pulumi/pulumi runtime/rpc.js resolveProperties: a missing property resolves as unknown when
     * isDryRun). The same holds for awsx and eks components, whose children are only planned.
     */
    readonly preview?: boolean;
    /** What AWS keeps between runs (tags, version labels, retained resources); see harness/cloudMemory.ts. */
    readonly memory?: CloudMemory;
    /**
     * Existing subnets (issue 16 adopt mode): id -> VPC and AZ. Unlisted ids exist in whatever VPC
     * is asked for, in an AZ derived from the id's last hex digit (even: a, odd: b).
     */
    readonly subnets?: Readonly<Record<string, { readonly vpcId: string; readonly availabilityZone: string }>>;
    /**
     * Existing EKS clusters (issue 16 eksExistingCluster): name -> VPC. An unlisted name exists in
     * the stack's existingVpcId (the running config's), so offline plans of that setup pass.
     */
    readonly clusters?: Readonly<Record<string, { readonly vpcId: string; readonly authenticationMode?: string }>>;
}

/** A realistic slice of `aws elasticbeanstalk list-available-solution-stacks`, newest first. */
export const DEFAULT_SOLUTION_STACKS: readonly string[] = [
    "64bit Amazon Linux 2023 v4.7.1 running Python 3.13",
    "64bit Amazon Linux 2023 v4.7.1 running Python 3.12",
    "64bit Amazon Linux 2023 v4.7.1 running Python 3.11",
    "64bit Amazon Linux 2023 v4.7.1 running Python 3.9",
    "64bit Amazon Linux 2 v3.9.1 running Python 3.8",
    "64bit Amazon Linux 2023 v6.6.1 running Node.js 22",
    "64bit Amazon Linux 2023 v4.6.0 running Docker",
];

export function hex(seed: string, length = 17): string {
    return crypto.createHash("sha256").update(seed).digest("hex").slice(0, length);
}

export interface Invoke {
    readonly token: string;
    readonly inputs: Props;
}

/** Implements Pulumi's Mocks with deterministic, AWS-shaped answers and records every invoke. */
export class MockCloud implements pulumi.runtime.Mocks {
    readonly invokes: Invoke[] = [];
    /** Failed invokes, worded as AWS would; the SDK loses the message on its way back. */
    readonly errors: string[] = [];
    private readonly solutionStacks: readonly string[];
    private readonly hostedZones: readonly string[];

    constructor(private readonly opts: MockCloudOptions) {
        this.solutionStacks = opts.solutionStacks ?? DEFAULT_SOLUTION_STACKS;
        this.hostedZones = opts.hostedZones ?? ["example.com"];
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Props } {
        const inputs = (args.inputs ?? {}) as Props;
        if (this.opts.preview === true) {
            return { id: undefined, state: { ...inputs } };
        }
        const computed = this.computed(args.type, args.name, inputs);
        let state: Props = { ...inputs, ...computed };
        if (this.opts.memory) {
            try {
                state = this.opts.memory.observe(args.type, args.name, inputs, state);
            } catch (e) {
                this.errors.push(`${args.type} ${args.name} failed: ${(e as Error).message}`);
                throw e;
            }
        }
        const id = typeof state.id === "string" ? state.id : typeof computed.id === "string" ? computed.id : `${args.name}-${hex(args.type + args.name, 8)}`;
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Props {
        const inputs = (args.inputs ?? {}) as Props;
        this.invokes.push({ token: args.token, inputs });
        try {
            return this.answer(args.token, inputs);
        } catch (e) {
            this.errors.push(`invoke ${args.token} failed: ${(e as Error).message}`);
            throw e;
        }
    }

    private answer(token: string, inputs: Props): Props {
        const region = this.opts.region;
        switch (token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const names = ["a", "b", "c", "d"].map((s) => `${region}${s}`);
                return { id: region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`), groupNames: [region] };
            }
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { id: MOCK_ACCOUNT, accountId: MOCK_ACCOUNT, arn: `arn:aws:sts::${MOCK_ACCOUNT}:assumed-role/deployer/session`, userId: "AROAEXAMPLE:session" };
            case "aws:index/getRegion:getRegion":
                return { id: region, name: region, region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
            case "aws:index/getPartition:getPartition":
                return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
            case "aws:elasticbeanstalk/getSolutionStack:getSolutionStack": {
                const pattern = new RegExp(String(inputs.nameRegex));
                const matches = this.solutionStacks.filter((s) => pattern.test(s));
                if (matches.length === 0) {
                    throw new Error(`Your query returned no results (nameRegex ${inputs.nameRegex})`);
                }
                if (matches.length > 1 && inputs.mostRecent !== true) {
                    throw new Error("Your query returned more than one result. Please try a more specific search criteria, or set `most_recent` attribute to true.");
                }
                return { id: matches[0], name: matches[0], nameRegex: inputs.nameRegex, mostRecent: inputs.mostRecent };
            }
            case "aws:route53/getZone:getZone": {
                const wanted = String(inputs.name ?? "").replace(/\.$/, "");
                if (!this.hostedZones.includes(wanted)) {
                    // AWS's own words first (so the error reads as it will in AWS), then why offline (issue 16 §4):
                    // the zone may well exist in the real account; the mock cloud cannot know.
                    const known = this.hostedZones.join(", ") || "(none)";
                    throw new Error(`no matching Route 53 Hosted Zone found (name ${wanted}): the offline plan's mock cloud only knows the zone${this.hostedZones.length === 1 ? "" : "s"} ${known}, `
                        + `not your account's zones. Plan offline with a domainName under ${this.hostedZones[0] ?? "a known zone"} (e.g. app.${this.hostedZones[0] ?? "example.com"}); `
                        + `whether ${wanted} exists is checked by pulumi preview against the account`);
                }
                const zoneId = `Z${hex(wanted, 20).toUpperCase()}`;
                return { id: zoneId, zoneId, name: `${wanted}`, privateZone: false, arn: `arn:aws:route53:::hostedzone/${zoneId}` };
            }
            case "aws:ec2/getSubnet:getSubnet": {
                const id = String(inputs.id);
                const known = this.opts.subnets?.[id];
                const vpcId = known?.vpcId ?? String(inputs.vpcId ?? `vpc-${hex(id)}`);
                if (inputs.vpcId !== undefined && vpcId !== inputs.vpcId) {
                    throw new Error(`no matching EC2 Subnet found (id ${id} is in ${vpcId}, not ${inputs.vpcId})`);
                }
                const az = known?.availabilityZone ?? `${region}${parseInt(id.slice(-1), 16) % 2 === 0 ? "a" : "b"}`;
                return { id, vpcId, availabilityZone: az, availabilityZoneId: `use1-${az.slice(-1)}`, cidrBlock: "10.1.0.0/20", mapPublicIpOnLaunch: false, arn: `arn:aws:ec2:${region}:${MOCK_ACCOUNT}:subnet/${id}` };
            }
            case "aws:eks/getCluster:getCluster": {
                const n = String(inputs.name);
                const known = this.opts.clusters?.[n];
                const endpoint = `https://${hex(n, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`;
                return {
                    id: n, name: n, arn: `arn:aws:eks:${region}:${MOCK_ACCOUNT}:cluster/${n}`, endpoint, version: "1.34", status: "ACTIVE",
                    certificateAuthorities: [{ data: Buffer.from("mock-ca").toString("base64") }],
                    accessConfigs: [{ authenticationMode: known?.authenticationMode ?? "API_AND_CONFIG_MAP", bootstrapClusterCreatorAdminPermissions: false }],
                    vpcConfig: { vpcId: known?.vpcId ?? adoptedVpcId() ?? `vpc-${hex(n)}`, clusterSecurityGroupId: `sg-${hex(`${n}eks-cluster-sg`)}`, subnetIds: [], securityGroupIds: [], endpointPrivateAccess: true, endpointPublicAccess: false, publicAccessCidrs: [] },
                    tags: {},
                };
            }
            case "aws:iam/getPolicyDocument:getPolicyDocument":
                return { id: "policy", json: policyJson(inputs) };
            case "aws:elasticbeanstalk/getHostedZone:getHostedZone":
                // The per-region zone of *.elasticbeanstalk.com (us-east-1's is Z117KPS5GTRQ2G).
                return { id: region === "us-east-1" ? "Z117KPS5GTRQ2G" : `Z${hex(`eb${region}`, 13).toUpperCase()}`, region };
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
                const registry = String(inputs.registryId ?? MOCK_ACCOUNT);
                return {
                    id: region, userName: "AWS", password: `mock-ecr-token-${hex(registry, 12)}`,
                    authorizationToken: Buffer.from(`AWS:mock-ecr-token-${hex(registry, 12)}`).toString("base64"),
                    proxyEndpoint: `https://${registry}.dkr.ecr.${region}.amazonaws.com`, expiresAt: "2026-11-23T00:00:00Z",
                };
            }
            case "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                // What an RDS-managed master secret holds: the username and a generated password.
                const secretId = String(inputs.secretId);
                return {
                    id: `${secretId}|AWSCURRENT`, arn: secretId, secretId, versionId: hex(secretId, 32), versionStages: ["AWSCURRENT"],
                    secretString: JSON.stringify({ username: "app_admin", password: `mock-password-${hex(secretId, 24)}` }),
                };
            }
            case "aws:lb/getHostedZoneId:getHostedZoneId":
                // Application and Classic load balancers share this zone in us-east-1.
                return { id: region === "us-east-1" ? "Z35SXDOTRQ7X7K" : `Z${hex(`alb${region}`, 13).toUpperCase()}`, region };
            case "aws:elb/getHostedZoneId:getHostedZoneId":
                return { id: "Z35SXDOTRQ7X7K", region };
            // issue 13: the load balancers and listeners the stack looks up (Beanstalk's and the
            // Load Balancer Controller's are made outside Pulumi). Found by ARN, by tags or by port.
            case "aws:lb/getLoadBalancer:getLoadBalancer": {
                const seed = String(inputs.arn ?? JSON.stringify(inputs.tags ?? {}));
                const lbArn = typeof inputs.arn === "string" ? inputs.arn
                    : `arn:aws:elasticloadbalancing:${region}:${MOCK_ACCOUNT}:loadbalancer/app/k8s-${hex(seed, 10)}/${hex(seed + "id", 16)}`;
                const suffix = lbArn.split(":loadbalancer/")[1];
                return { id: lbArn, arn: lbArn, arnSuffix: suffix, name: suffix.split("/")[1], loadBalancerType: "application", tags: inputs.tags ?? {} };
            }
            case "aws:lb/getTargetGroup:getTargetGroup": {
                const seed = String(inputs.arn ?? JSON.stringify(inputs.tags ?? {}));
                const tgName = `tg-${hex(seed, 10)}`;
                const tgArn = `arn:aws:elasticloadbalancing:${region}:${MOCK_ACCOUNT}:targetgroup/${tgName}/${hex(seed + "id", 16)}`;
                return { id: tgArn, arn: tgArn, arnSuffix: tgArn.split(":")[5], name: tgName, tags: inputs.tags ?? {} };
            }
            case "aws:lb/getListener:getListener": {
                const lbArn = String(inputs.loadBalancerArn);
                const listenerArn = `${lbArn.replace(":loadbalancer/", ":listener/")}/${hex(`${lbArn}:${inputs.port}`, 16)}`;
                return { id: listenerArn, arn: listenerArn, loadBalancerArn: lbArn, port: inputs.port, protocol: Number(inputs.port) === 443 ? "HTTPS" : "HTTP" };
            }
            default:
                throw new Error(`MockCloud: no mock for invoke ${token}; add one to harness/mocks.ts`);
        }
    }

    /** Outputs AWS computes on create, per resource type. Unknown types keep their inputs only. */
    private computed(type: string, name: string, inputs: Props): Props {
        const region = this.opts.region;
        const h = hex(`${type}::${name}`);
        // Like the provider: an explicit name wins, then `namePrefix`/`bucketPrefix` plus a suffix,
        // then Pulumi's auto-name (logical name plus a random-looking suffix).
        const physical = (key: string, fallback = `${name}-${h.slice(0, 7)}`): string => {
            if (typeof inputs[key] === "string" && inputs[key] !== "") {
                return String(inputs[key]);
            }
            const prefix = inputs[`${key}Prefix`] ?? (key === "bucket" ? inputs.bucketPrefix : undefined);
            return typeof prefix === "string" ? `${prefix}${h.slice(0, 26)}` : fallback;
        };
        const arn = (service: string, resource: string, withRegion = true, withAccount = true): string =>
            `arn:aws:${service}:${withRegion ? region : ""}:${withAccount ? MOCK_ACCOUNT : ""}:${resource}`;
        const tags = { tagsAll: inputs.tags ?? {} };

        switch (type) {
            case "awsx:ec2:Vpc": {
                const azs = Array.isArray(inputs.availabilityZoneNames) ? inputs.availabilityZoneNames.length
                    : Number(inputs.numberOfAvailabilityZones ?? 3);
                const subnets = (kind: string) => Array.from({ length: azs }, (_, i) => `subnet-${hex(`${name}${kind}${i}`)}`);
                const nat = inputs.natGateways as Props | undefined;
                const natCount = nat?.strategy === "OnePerAz" ? azs : nat?.strategy === "None" ? 0 : 1;
                // One route table per subnet, as awsx makes them (awsx/ec2/vpc.ts: a RouteTable and a
                // RouteTableAssociation for each subnet).
                const tables = (kind: string) => subnets(kind).map((subnetId, i) => ({ subnetId, routeTableId: `rtb-${hex(`${name}${kind}rt${i}`)}` }));
                const associations = [...tables("public"), ...tables("private")];
                return {
                    vpcId: `vpc-${h}`,
                    routeTables: associations.map((a) => ({ id: a.routeTableId })),
                    routeTableAssociations: associations.map((a) => ({ id: `rtbassoc-${hex(a.subnetId)}`, ...a })),
                    publicSubnetIds: subnets("public"),
                    privateSubnetIds: subnets("private"),
                    isolatedSubnetIds: [],
                    natGateways: [],
                    eips: Array.from({ length: natCount }, (_, i) => ({ id: `eipalloc-${hex(`${name}eip${i}`)}` })),
                };
            }
            case "aws:s3/bucketV2:BucketV2":
            case "aws:s3/bucket:Bucket": {
                const bucket = physical("bucket", `${name}-${h.slice(0, 7)}`);
                return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`, region, ...tags };
            }
            case "aws:s3/bucketObjectv2:BucketObjectv2":
                return { id: String(inputs.key), etag: hex(JSON.stringify(inputs.source ?? ""), 32), versionId: hex(`${name}${inputs.key}`, 32), ...tags };
            case "aws:iam/role:Role": {
                const roleName = physical("name");
                return { id: roleName, name: roleName, arn: arn("iam", `role/${roleName}`, false), uniqueId: `AROA${h.toUpperCase()}`, ...tags };
            }
            case "aws:iam/instanceProfile:InstanceProfile": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("iam", `instance-profile/${n}`, false), uniqueId: `AIPA${h.toUpperCase()}`, ...tags };
            }
            case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
                const url = String(inputs.url ?? "").replace(/^https:\/\//, "");
                return { id: arn("iam", `oidc-provider/${url}`, false), arn: arn("iam", `oidc-provider/${url}`, false), ...tags };
            }
            case "aws:iam/policy:Policy": {
                const n = physical("name");
                return { id: arn("iam", `policy/${n}`, false), name: n, arn: arn("iam", `policy/${n}`, false), policyId: `ANPA${h.toUpperCase()}`, ...tags };
            }
            case "aws:ec2/securityGroup:SecurityGroup": {
                const id = `sg-${h}`;
                return { id, name: physical("name"), arn: arn("ec2", `security-group/${id}`), ownerId: MOCK_ACCOUNT, ...tags };
            }
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
                return { id: `sgr-${h}`, securityGroupRuleId: `sgr-${h}`, arn: arn("ec2", `security-group-rule/sgr-${h}`), ...tags };
            case "aws:kms/key:Key": {
                const keyId = `${h.slice(0, 8)}-${hex(h, 4)}-4${hex(h + "1", 3)}-8${hex(h + "2", 3)}-${hex(h + "3", 12)}`;
                return { id: keyId, keyId, arn: arn("kms", `key/${keyId}`), ...tags };
            }
            case "aws:kms/alias:Alias":
                return { id: String(inputs.name), arn: arn("kms", String(inputs.name)) };
            case "aws:cloudwatch/logGroup:LogGroup": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("logs", `log-group:${n}`), ...tags };
            }
            case "aws:ec2/flowLog:FlowLog":
                return { id: `fl-${h}`, arn: arn("ec2", `vpc-flow-log/fl-${h}`), ...tags };
            case "aws:rds/subnetGroup:SubnetGroup":
            case "aws:rds/parameterGroup:ParameterGroup": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("rds", `${type.includes("subnet") ? "subgrp" : "pg"}:${n}`), ...tags };
            }
            case "aws:rds/instance:Instance": {
                const identifier = physical("identifier");
                const address = `${identifier}.c${hex(region, 11)}.${region}.rds.amazonaws.com`;
                const port = Number(inputs.port ?? 5432);
                const managed = inputs.manageMasterUserPassword === true;
                return {
                    id: identifier, identifier, address, port, endpoint: `${address}:${port}`,
                    arn: arn("rds", `db:${identifier}`), resourceId: `db-${h.toUpperCase()}`,
                    hostedZoneId: "Z2R2ITUGPM61AM",
                    masterUserSecrets: managed ? [{
                        secretArn: arn("secretsmanager", `secret:rds!db-${hex(identifier, 8)}-${hex(identifier, 4)}-${hex(identifier + "x", 4)}-AbCdEf`),
                        secretStatus: "active",
                        kmsKeyId: inputs.masterUserSecretKmsKeyId ?? arn("kms", "alias/aws/secretsmanager"),
                    }] : [],
                    ...tags,
                };
            }
            case "aws:secretsmanager/secret:Secret": {
                const n = physical("name");
                return { id: arn("secretsmanager", `secret:${n}-AbCdEf`), name: n, arn: arn("secretsmanager", `secret:${n}-AbCdEf`), ...tags };
            }
            case "aws:secretsmanager/secretVersion:SecretVersion":
                return { id: `${inputs.secretId}|${h}`, versionId: h, arn: inputs.secretId };
            case "aws:elasticbeanstalk/application:Application": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("elasticbeanstalk", `application/${n}`), ...tags };
            }
            case "aws:elasticbeanstalk/applicationVersion:ApplicationVersion": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("elasticbeanstalk", `applicationversion/${inputs.application}/${n}`), ...tags };
            }
            case "aws:elasticbeanstalk/environment:Environment": {
                const n = physical("name");
                const cname = `${inputs.cnamePrefix ?? n}.${region}.elasticbeanstalk.com`;
                return {
                    id: `e-${h.slice(0, 10)}`, name: n, cname,
                    endpointUrl: `awseb-e-${h.slice(0, 1)}-AWSEBLoa-${h.slice(1, 13).toUpperCase()}-${parseInt(h.slice(0, 8), 16)}.${region}.elb.amazonaws.com`,
                    loadBalancers: [arn("elasticloadbalancing", `loadbalancer/app/awseb--AWSEB-${h.slice(0, 12)}/${h.slice(0, 16)}`)],
                    autoscalingGroups: [`awseb-e-${h.slice(0, 10)}-stack-AWSEBAutoScalingGroup-${h.slice(3, 15).toUpperCase()}`],
                    arn: arn("elasticbeanstalk", `environment/${inputs.application}/${n}`),
                    allSettings: inputs.settings ?? [],
                    ...tags,
                };
            }
            case "aws:acm/certificate:Certificate": {
                const domain = String(inputs.domainName);
                return {
                    id: arn("acm", `certificate/${h}`), arn: arn("acm", `certificate/${h}`), status: "PENDING_VALIDATION",
                    domainValidationOptions: [{
                        domainName: domain,
                        resourceRecordName: `_${hex(domain, 32)}.${domain}.`,
                        resourceRecordType: "CNAME",
                        resourceRecordValue: `_${hex(domain + "v", 32)}.xlfgrmvvlj.acm-validations.aws.`,
                    }],
                    ...tags,
                };
            }
            case "aws:acm/certificateValidation:CertificateValidation":
                return { id: String(inputs.certificateArn) };
            case "aws:route53/record:Record":
                return { id: `${inputs.zoneId}_${inputs.name}_${inputs.type}`, fqdn: String(inputs.name) };
            case "aws:lb/loadBalancer:LoadBalancer": {
                const n = physical("name", `${name.slice(0, 24)}-${h.slice(0, 7)}`);
                return { id: arn("elasticloadbalancing", `loadbalancer/app/${n}/${h.slice(0, 16)}`), arn: arn("elasticloadbalancing", `loadbalancer/app/${n}/${h.slice(0, 16)}`), arnSuffix: `app/${n}/${h.slice(0, 16)}`, dnsName: `${n}-${parseInt(h.slice(0, 8), 16)}.${region}.elb.amazonaws.com`, zoneId: "Z35SXDOTRQ7X7K", name: n, ...tags };
            }
            case "aws:lb/targetGroup:TargetGroup": {
                const n = physical("name", `${name.slice(0, 24)}-${h.slice(0, 7)}`);
                return { id: arn("elasticloadbalancing", `targetgroup/${n}/${h.slice(0, 16)}`), arn: arn("elasticloadbalancing", `targetgroup/${n}/${h.slice(0, 16)}`), arnSuffix: `targetgroup/${n}/${h.slice(0, 16)}`, name: n, ...tags };
            }
            case "aws:lb/listener:Listener":
                return { id: arn("elasticloadbalancing", `listener/app/${name}/${h.slice(0, 16)}`), arn: arn("elasticloadbalancing", `listener/app/${name}/${h.slice(0, 16)}`), ...tags };
            // issue 13: the operations resources whose computed outputs the program reads.
            case "aws:sns/topic:Topic": {
                const n = physical("name");
                return { id: arn("sns", n), arn: arn("sns", n), name: n, owner: MOCK_ACCOUNT, ...tags };
            }
            case "aws:cloudwatch/metricAlarm:MetricAlarm": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("cloudwatch", `alarm:${n}`), ...tags };
            }
            case "aws:cloudwatch/dashboard:Dashboard":
                return { id: String(inputs.dashboardName), dashboardArn: `arn:aws:cloudwatch::${MOCK_ACCOUNT}:dashboard/${inputs.dashboardName}` };
            case "aws:cloudwatch/eventRule:EventRule": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("events", `rule/${n}`), ...tags };
            }
            case "aws:wafv2/webAcl:WebAcl": {
                const n = physical("name");
                const id = `${hex(n, 8)}-${hex(n + "1", 4)}-${hex(n + "2", 4)}-${hex(n + "3", 4)}-${hex(n + "4", 12)}`;
                return { id, name: n, arn: arn("wafv2", `regional/webacl/${n}/${id}`), capacity: 1000, lockToken: hex(n + "lock", 32), ...tags };
            }
            case "aws:lb/listenerRule:ListenerRule":
                return { id: arn("elasticloadbalancing", `listener-rule/app/${name}/${h.slice(0, 16)}`), arn: arn("elasticloadbalancing", `listener-rule/app/${name}/${h.slice(0, 16)}`), ...tags };
            case "aws:ecr/repository:Repository": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("ecr", `repository/${n}`), registryId: MOCK_ACCOUNT, repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${n}`, ...tags };
            }
            case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
                return { id: String(inputs.repository), registryId: MOCK_ACCOUNT };
            case "docker-build:index:Image": {
                // The registry digest depends on what was built: the context, Dockerfile and platform.
                const tagList = (inputs.tags ?? []) as string[];
                const digest = `sha256:${hex(JSON.stringify([inputs.context, inputs.dockerfile, inputs.platforms, inputs.labels]), 64)}`;
                return { id: digest, digest, ref: tagList.length > 0 ? `${tagList[0]}@${digest}` : "", contextHash: hex(JSON.stringify(inputs.context), 64) };
            }
            // Issue 12: the CodeBuild project and the build step (a dynamic resource; see cloudMemory.ts for runs in a row).
            case "aws:codebuild/project:Project": {
                const n = physical("name");
                return { id: n, name: n, arn: arn("codebuild", `project/${n}`), badgeUrl: "", ...tags };
            }
            case IMAGE_BUILD_TYPE: {
                const digest = `sha256:${hex(JSON.stringify([inputs.repositoryName, inputs.tag]), 64)}`;
                return { id: `${inputs.repositoryName}:${inputs.tag}`, imageDigest: digest, imageUri: `${inputs.repositoryUrl}:${inputs.tag}@${digest}`, buildId: `${inputs.projectName}:${hex(String(inputs.tag), 8)}-mock` };
            }
            case "random:index/randomId:RandomId":
                // Without a CloudMemory: stable per name and keepers (a new value needs a memory).
                return randomIdOutputs(Buffer.from(hex(`${name}${JSON.stringify(inputs.keepers ?? null)}`, Number(inputs.byteLength ?? 8) * 2), "hex"), inputs);
            case "aws:ec2/launchTemplate:LaunchTemplate":
                return { id: `lt-${h}`, arn: arn("ec2", `launch-template/lt-${h}`), latestVersion: 1, defaultVersion: 1, name: physical("name"), ...tags };
            case "aws:ecs/cluster:Cluster": {
                const n = physical("name");
                return { id: arn("ecs", `cluster/${n}`), name: n, arn: arn("ecs", `cluster/${n}`), ...tags };
            }
            case "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders":
                return { id: String(inputs.clusterName) };
            case "aws:ecs/taskDefinition:TaskDefinition": {
                // Every registration is a new revision; here the revision follows the content, so a
                // changed container definition shows up as a new ARN, as it does in ECS.
                const family = String(inputs.family);
                const revision = (parseInt(hex(JSON.stringify(inputs.containerDefinitions ?? ""), 6), 16) % 900) + 1;
                return { id: family, family, revision, arn: arn("ecs", `task-definition/${family}:${revision}`), arnWithoutRevision: arn("ecs", `task-definition/${family}`), ...tags };
            }
            case "aws:appautoscaling/target:Target":
                return { id: String(inputs.resourceId), arn: arn("application-autoscaling", `scalable-target/${h.slice(0, 12)}`), ...tags };
            case "aws:appautoscaling/policy:Policy":
                return { id: physical("name"), name: physical("name"), arn: arn("autoscaling", `scalingPolicy:${h}:resource/ecs/${inputs.resourceId}:policyName/${name}`), alarmArns: [] };
            // awsx components are one resource under mocks: return the outputs the program reads.
            case "awsx:lb:ApplicationLoadBalancer": {
                const lbName = `${name.slice(0, 24)}-${h.slice(0, 7)}`;
                const lbId = `app/${lbName}/${h.slice(0, 16)}`;
                const tgName = `${name.slice(0, 24)}-${h.slice(7, 14)}`;
                const tgId = `targetgroup/${tgName}/${h.slice(1, 17)}`;
                return {
                    loadBalancer: {
                        id: arn("elasticloadbalancing", `loadbalancer/${lbId}`), arn: arn("elasticloadbalancing", `loadbalancer/${lbId}`),
                        arnSuffix: lbId, name: lbName, dnsName: `${lbName}-${parseInt(h.slice(0, 8), 16)}.${region}.elb.amazonaws.com`, zoneId: "Z35SXDOTRQ7X7K",
                    },
                    defaultTargetGroup: {
                        id: arn("elasticloadbalancing", tgId), arn: arn("elasticloadbalancing", tgId), arnSuffix: tgId, name: tgName,
                        port: (inputs.defaultTargetGroup as Props | undefined)?.port ?? 80,
                    },
                    listeners: [],
                    vpcId: `vpc-${hex("vpc", 17)}`,
                };
            }
            case "eks:index:Cluster": {
                const n = String(inputs.name ?? `${name}-${h.slice(0, 7)}`);
                const endpoint = `https://${hex(n, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`;
                const kubeconfig = {
                    apiVersion: "v1", kind: "Config", "current-context": "aws",
                    clusters: [{ name: "kubernetes", cluster: { server: endpoint, "certificate-authority-data": Buffer.from("mock-ca").toString("base64") } }],
                    contexts: [{ name: "aws", context: { cluster: "kubernetes", user: "aws" } }],
                    users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["--region", region, "eks", "get-token", "--cluster-name", n, "--output", "json"] } } }],
                };
                const clusterSg = `sg-${hex(`${n}eks-cluster-sg`)}`;
                return {
                    kubeconfig, kubeconfigJson: JSON.stringify(kubeconfig),
                    eksCluster: { id: n, name: n, arn: arn("eks", `cluster/${n}`), endpoint, version: inputs.version, vpcConfig: { clusterSecurityGroupId: clusterSg, vpcId: inputs.vpcId } },
                    core: { cluster: { name: n }, endpoint },
                    clusterSecurityGroupId: clusterSg, nodeSecurityGroupId: clusterSg,
                    oidcProviderArn: "", oidcProviderUrl: `https://oidc.eks.${region}.amazonaws.com/id/${hex(n, 32).toUpperCase()}`,
                    oidcIssuer: `oidc.eks.${region}.amazonaws.com/id/${hex(n, 32).toUpperCase()}`,
                };
            }
            case "eks:index:ManagedNodeGroup": {
                const n = `${inputs.nodeGroupNamePrefix ?? `${name}-`}${h.slice(0, 20)}`;
                return { nodeGroup: { id: n, nodeGroupName: n, arn: arn("eks", `nodegroup/${n}`), resources: [{ autoScalingGroups: [{ name: `eks-${n}` }] }] }, placementGroupName: "" };
            }
            case "aws:eks/addon:Addon":
                return { id: `${inputs.clusterName}:${inputs.addonName}`, arn: arn("eks", `addon/${inputs.clusterName}/${inputs.addonName}/${h.slice(0, 8)}`), addonVersion: inputs.addonVersion ?? "v1.0.0-eksbuild.1", ...tags };
            case "aws:eks/podIdentityAssociation:PodIdentityAssociation":
                return { id: `a-${h}`, associationId: `a-${h}`, associationArn: arn("eks", `podidentityassociation/${inputs.clusterName}/a-${h}`), ...tags };
            case "kubernetes:helm.sh/v3:Release":
                return { status: { name: inputs.name, namespace: inputs.namespace, chart: inputs.chart, version: inputs.version, status: "deployed", revision: 1 } };
            case "kubernetes:networking.k8s.io/v1:Ingress": {
                const meta = (inputs.metadata ?? {}) as Props;
                const lb = `k8s-${String(meta.namespace ?? "default").slice(0, 8)}-${String(meta.name ?? name).slice(0, 8)}-${h.slice(0, 10)}-${parseInt(h.slice(10, 18), 16)}`;
                return { status: { loadBalancer: { ingress: [{ hostname: `${lb}.${region}.elb.amazonaws.com` }] } } };
            }
            case "awsx:ecs:FargateService": {
                const n = String(inputs.name ?? `${name}-${h.slice(0, 7)}`);
                return { service: { id: arn("ecs", `service/${n}`), name: n, arn: arn("ecs", `service/${n}`), desiredCount: inputs.desiredCount }, taskDefinition: undefined };
            }
            default:
                return {};
        }
    }
}

/** The running stack's existingVpcId, if set (the config the harness gave the runtime). */
function adoptedVpcId(): string | undefined {
    const value = Object.entries(pulumi.runtime.allConfig()).find(([key]) => key.endsWith(":existingVpcId"))?.[1];
    return value === undefined || value === "" ? undefined : value;
}

interface PolicyStatementInput {
    sid?: string;
    effect?: string;
    actions?: string[];
    resources?: string[];
    principals?: { type: string; identifiers: string[] }[];
    conditions?: { test: string; variable: string; values: string[] }[];
}

/** What aws.iam.getPolicyDocument renders for the subset of fields the program uses. */
function policyJson(inputs: Props): string {
    const statements = (inputs.statements ?? []) as PolicyStatementInput[];
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: statements.map((s) => {
            const out: Record<string, unknown> = {};
            if (s.sid) out.Sid = s.sid;
            out.Effect = s.effect ?? "Allow";
            if (s.actions) out.Action = s.actions.length === 1 ? s.actions[0] : s.actions;
            if (s.resources) out.Resource = s.resources.length === 1 ? s.resources[0] : s.resources;
            if (s.principals) {
                out.Principal = Object.fromEntries(s.principals.map((p) => [p.type, p.identifiers.length === 1 ? p.identifiers[0] : p.identifiers]));
            }
            if (s.conditions) {
                const cond: Record<string, Record<string, string | string[]>> = {};
                for (const c of s.conditions) {
                    cond[c.test] = { ...(cond[c.test] ?? {}), [c.variable]: c.values.length === 1 ? c.values[0] : c.values };
                }
                out.Condition = cond;
            }
            return out;
        }),
    });
}
