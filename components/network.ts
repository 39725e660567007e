import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { NatStrategy } from "../config";

/** Arguments of {@link Network}. */
export interface NetworkArgs {
    /** The VPC's IPv4 block, /16 to /20. Private subnets get a quarter-power share each, public ones a smaller one. */
    readonly cidr: string;
    /** Availability zones to span (2 or 3); every tier has one subnet per zone. */
    readonly azCount: number;
    /** One NAT gateway for the VPC, or one per zone so an AZ outage does not cut the others' egress. */
    readonly natGateways: NatStrategy;
    /** Record all VPC traffic to CloudWatch Logs. */
    readonly flowLogs: boolean;
    /** Retention of the flow log group, in days. */
    readonly logRetentionDays: number;
    /** Physical-name prefix unique per stack (`${appName}-${stack}`): two stacks of one app share an account. */
    readonly namePrefix: string;
    /**
     * Adopt mode (issue 16 §2): an existing VPC and its subnets. Nothing is created (no VPC, NAT
     * gateways, S3 endpoint or flow logs: those belong to the VPC's owner, and a second S3 endpoint
     * route or flow log per stack would be someone else's change); the subnets are checked to be in
     * the VPC and spread over at least two AZs, and the outputs are the same as in create mode.
     */
    readonly existing?: {
        readonly vpcId: string;
        readonly privateSubnetIds: readonly string[];
        readonly publicSubnetIds: readonly string[];
    };
}

/**
 * The stack's VPC: public subnets for load balancers and NAT, private subnets for the app and the
 * database. Stack-level, so a change of target never touches it.
 */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    /** The S3 gateway endpoint on the private route tables; undefined for an adopted VPC. */
    readonly s3EndpointId: pulumi.Output<string> | undefined;
    readonly cidr: string;
    /** Whether the VPC was adopted (existingVpcId) rather than created. */
    readonly adopted: boolean;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:network:Network", name, {}, opts);
        this.adopted = args.existing !== undefined;
        if (args.existing !== undefined) {
            const e = args.existing;
            this.vpcId = pulumi.output(e.vpcId);
            this.privateSubnetIds = checkedSubnets(this, "existingPrivateSubnetIds", e.vpcId, e.privateSubnetIds);
            this.publicSubnetIds = checkedSubnets(this, "existingPublicSubnetIds", e.vpcId, e.publicSubnetIds);
            this.s3EndpointId = undefined;
            // The VPC's own block, for whoever needs it; the stack's vpcCidr has no effect here.
            this.cidr = "";
            this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
            return;
        }
        const prefix = Number(args.cidr.split("/")[1]);
        if (!(prefix >= 16 && prefix <= 20)) {
            throw new Error(`Network ${name}: cidr must be /16 to /20 so every zone gets room (got ${args.cidr})`);
        }
        if (args.azCount < 2) {
            throw new Error(`Network ${name}: azCount must be at least 2 (got ${args.azCount}); load balancers and Multi-AZ RDS need two zones`);
        }

        const vpc = new awsx.ec2.Vpc(name, {
            cidrBlock: args.cidr,
            numberOfAvailabilityZones: args.azCount,
            enableDnsHostnames: true,
            enableDnsSupport: true,
            subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
            subnetSpecs: [
                // The role tags let the AWS Load Balancer Controller (EKS target) discover subnets.
                { type: awsx.ec2.SubnetType.Public, cidrMask: prefix + 6, tags: { "kubernetes.io/role/elb": "1" } },
                // Private subnets are large: EKS gives every pod a VPC address.
                { type: awsx.ec2.SubnetType.Private, cidrMask: prefix + 4, tags: { "kubernetes.io/role/internal-elb": "1" } },
            ],
            natGateways: {
                strategy: args.natGateways === "onePerAz" ? awsx.ec2.NatGatewayStrategy.OnePerAz : awsx.ec2.NatGatewayStrategy.Single,
            },
        }, { parent: this });

        // S3 through a gateway endpoint on the private route tables: image layers (ECR serves them
        // from S3), Beanstalk bundles and package downloads skip the NAT gateways' per-GB charge.
        // Gateway endpoints cost nothing and work through route table entries (AWS PrivateLink
        // guide, "Gateway endpoints for Amazon S3"). awsx 3.9's own vpcEndpointSpecs would attach it to every route table with the
        // Auto strategy or none with Legacy, so the private tables are picked here from the subnet
        // associations awsx returns.
        const privateRouteTableIds = pulumi.all([vpc.routeTableAssociations, vpc.privateSubnetIds]).apply(([associations, privateIds]) =>
            pulumi.all(associations.map((a) => pulumi.all([a.subnetId, a.routeTableId]))).apply((pairs) =>
                [...new Set(pairs.filter(([subnetId]) => subnetId !== undefined && privateIds.includes(subnetId)).map(([, tableId]) => tableId))].sort()));
        const region = aws.getRegionOutput({}, { parent: this }).region;
        this.s3EndpointId = new aws.ec2.VpcEndpoint(`${name}-s3`, {
            vpcId: vpc.vpcId,
            serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds: privateRouteTableIds,
            tags: { Name: `${args.namePrefix}-s3` },
        }, { parent: this }).id;

        if (args.flowLogs) {
            this.createFlowLogs(name, args.namePrefix, vpc.vpcId, args.logRetentionDays);
        }

        this.vpcId = vpc.vpcId;
        this.publicSubnetIds = vpc.publicSubnetIds;
        this.privateSubnetIds = vpc.privateSubnetIds;
        this.cidr = args.cidr;
        this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
    }

    private createFlowLogs(name: string, namePrefix: string, vpcId: pulumi.Output<string>, retentionDays: number): void {
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, {
            name: `/vpc/${namePrefix}/flow-logs`,
            retentionInDays: retentionDays,
        }, { parent: this });
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        // The service may assume the role only on behalf of this account (confused-deputy guard).
        const role = new aws.iam.Role(`${name}-flow-logs`, {
            assumeRolePolicy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": account } },
                }],
            }),
        }, { parent: this });
        new aws.iam.RolePolicy(`${name}-flow-logs`, {
            role: role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
                }],
            }),
        }, { parent: this });
        new aws.ec2.FlowLog(`${name}-flow-logs`, {
            vpcId,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: logGroup.arn,
            iamRoleArn: role.arn,
            maxAggregationInterval: 60,
        }, { parent: this });
    }
}

/**
 * The given subnets, once AWS has confirmed each is in `vpcId` (`ec2:DescribeSubnets` with a vpc-id
 * filter answers "no matching EC2 Subnet found" otherwise) and that together they span two AZs
 * (an RDS subnet group and an ALB both need two: RDS DBSubnetGroupDoesNotCoverEnoughAZs, ELB "At
 * least two subnets in two different Availability Zones must be specified").
 */
function checkedSubnets(parent: pulumi.Resource, key: string, vpcId: string, ids: readonly string[]): pulumi.Output<string[]> {
    const found = ids.map((id) => aws.ec2.getSubnetOutput({ id, vpcId }, { parent }));
    return pulumi.all(found.map((f) => f.availabilityZone)).apply((azs) => {
        if (new Set(azs).size < 2) {
            throw new Error(`${key} ${ids.join(", ")} are all in ${azs[0]}: they must span at least two availability zones`);
        }
        return [...ids];
    });
}
