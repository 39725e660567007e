// What a per-stack deploy role may do, derived from what the app program creates.
//
// Every resource type and invoke that appears in an offline plan of a committed stack and target
// has an entry here (test/delivery.test.ts fails on a new one without), and the policy the deploy
// role gets is built from these entries only. Actions were chosen per resource from the AWS Service
// Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/) for
// the provider's create/read/update/delete of that resource; a real first `pulumi up` is the only
// full proof (README "Delivery": what was not verified offline).
//
// IAM is the exception to "Resource: *": the role may write roles and instance profiles only under
// the stack's IAM path (`/<project>/<stack>/`, lib/iamGuardrails.ts), may create a role only with the
// stack's permissions boundary attached, and may never remove a boundary. The boundary caps what the
// app's own roles can do, so the deploy role cannot mint a role more powerful than the app needs.

/** A resource type or invoke token to the IAM actions its create, read, update and delete call. */
export const GRANTS: Readonly<Record<string, readonly string[]>> = {
    // Network (awsx.ec2.Vpc's children, security groups, flow logs).
    "aws:ec2/vpc:Vpc": ["ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:CreateTags", "ec2:DeleteTags"],
    "aws:ec2/subnet:Subnet": ["ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute", "ec2:DescribeSubnets", "ec2:CreateTags", "ec2:DeleteTags"],
    "aws:ec2/internetGateway:InternetGateway": ["ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:DescribeInternetGateways", "ec2:CreateTags"],
    "aws:ec2/eip:Eip": ["ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DisassociateAddress", "ec2:CreateTags"],
    "aws:ec2/natGateway:NatGateway": ["ec2:CreateNatGateway", "ec2:DeleteNatGateway", "ec2:DescribeNatGateways", "ec2:CreateTags"],
    "aws:ec2/routeTable:RouteTable": ["ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:DescribeRouteTables", "ec2:CreateTags"],
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ["ec2:AssociateRouteTable", "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DescribeRouteTables"],
    // Gateway endpoint for S3 on the private route tables (EC2 API reference: CreateVpcEndpoint, ModifyVpcEndpoint adds/removes route tables).
    "aws:ec2/vpcEndpoint:VpcEndpoint": ["ec2:CreateVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:ModifyVpcEndpoint", "ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:CreateTags", "ec2:DeleteTags"],
    "aws:ec2/route:Route": ["ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute", "ec2:DescribeRouteTables"],
    "aws:ec2/flowLog:FlowLog": ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:DescribeFlowLogs", "ec2:CreateTags", "logs:CreateLogDelivery", "logs:DeleteLogDelivery"],
    "aws:ec2/securityGroup:SecurityGroup": ["ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:RevokeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress", "ec2:DescribeNetworkInterfaces", "ec2:CreateTags", "ec2:DeleteTags"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:ModifySecurityGroupRules", "ec2:DescribeSecurityGroupRules", "ec2:CreateTags"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules", "ec2:DescribeSecurityGroupRules", "ec2:CreateTags"],
    "aws:ec2/getAvailabilityZones:getAvailabilityZones": ["ec2:DescribeAvailabilityZones"],
    // Issue 16: an adopted VPC's subnets are checked (components/network.ts).
    "aws:ec2/getSubnet:getSubnet": ["ec2:DescribeSubnets"],
    // Issue 16: eksExistingCluster is looked up (targets/eksShared.ts).
    "aws:eks/getCluster:getCluster": ["eks:DescribeCluster"],
    "aws:ec2/launchTemplate:LaunchTemplate": ["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ec2:CreateTags", "ec2:RunInstances"],
    // Logs and encryption.
    "aws:cloudwatch/logGroup:LogGroup": ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:TagResource", "logs:UntagResource", "logs:AssociateKmsKey"],
    "aws:kms/key:Key": ["kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion", "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"],
    "aws:kms/alias:Alias": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:ListAliases"],
    // Database.
    "aws:rds/instance:Instance": ["rds:CreateDBInstance", "rds:DeleteDBInstance", "rds:ModifyDBInstance", "rds:RebootDBInstance", "rds:DescribeDBInstances", "rds:AddTagsToResource", "rds:RemoveTagsFromResource", "rds:ListTagsForResource", "rds:CreateDBSnapshot", "rds:DescribeDBSnapshots", "secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:DescribeSecret", "secretsmanager:RotateSecret", "secretsmanager:DeleteSecret", "kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey"],
    "aws:rds/parameterGroup:ParameterGroup": ["rds:CreateDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:AddTagsToResource", "rds:ListTagsForResource"],
    "aws:rds/subnetGroup:SubnetGroup": ["rds:CreateDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DescribeDBSubnetGroups", "rds:AddTagsToResource", "rds:ListTagsForResource"],
    "aws:secretsmanager/secretRotation:SecretRotation": ["secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret", "secretsmanager:DescribeSecret"],
    "aws:secretsmanager/getSecretVersion:getSecretVersion": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "kms:Decrypt"],
    // Artifact bucket (Elastic Beanstalk bundles).
    "aws:s3/bucket:Bucket": ["s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucket*", "s3:PutBucketTagging", "s3:GetAccelerateConfiguration", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration", "s3:DeleteObject", "s3:DeleteObjectVersion"],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"],
    "aws:s3/bucketObjectv2:BucketObjectv2": ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion"],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"],
    "aws:s3/bucketPolicy:BucketPolicy": ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ["s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"],
    "aws:s3/bucketVersioning:BucketVersioning": ["s3:PutBucketVersioning", "s3:GetBucketVersioning"],
    // IAM: scoped to the stack's path and boundary by `deployPolicy` (see the header).
    "aws:iam/role:Role": ["iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary"],
    "aws:iam/rolePolicy:RolePolicy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"],
    "aws:iam/instanceProfile:InstanceProfile": ["iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile", "iam:PassRole"],
    // Elastic Beanstalk: the environment drives CloudFormation, Auto Scaling, EC2 and ELB itself,
    // with the caller's credentials (AWS EB docs, "Managing Elastic Beanstalk user policies").
    "aws:elasticbeanstalk/application:Application": ["elasticbeanstalk:CreateApplication", "elasticbeanstalk:DeleteApplication", "elasticbeanstalk:UpdateApplication", "elasticbeanstalk:UpdateApplicationResourceLifecycle", "elasticbeanstalk:DescribeApplications", "elasticbeanstalk:AddTags", "elasticbeanstalk:ListTagsForResource", "elasticbeanstalk:UpdateTagsForResource", "iam:PassRole"],
    "aws:elasticbeanstalk/applicationVersion:ApplicationVersion": ["elasticbeanstalk:CreateApplicationVersion", "elasticbeanstalk:DeleteApplicationVersion", "elasticbeanstalk:UpdateApplicationVersion", "elasticbeanstalk:DescribeApplicationVersions", "elasticbeanstalk:ListTagsForResource", "elasticbeanstalk:UpdateTagsForResource", "s3:GetObject"],
    "aws:elasticbeanstalk/environment:Environment": [
        "elasticbeanstalk:CreateEnvironment", "elasticbeanstalk:TerminateEnvironment", "elasticbeanstalk:UpdateEnvironment", "elasticbeanstalk:DescribeEnvironments",
        "elasticbeanstalk:DescribeEnvironmentResources", "elasticbeanstalk:DescribeConfigurationSettings", "elasticbeanstalk:DescribeConfigurationOptions", "elasticbeanstalk:DescribeEvents",
        "elasticbeanstalk:ValidateConfigurationSettings", "elasticbeanstalk:ListTagsForResource", "elasticbeanstalk:UpdateTagsForResource", "elasticbeanstalk:AddTags",
        "cloudformation:*", "autoscaling:*", "elasticloadbalancing:*", "ec2:RunInstances", "ec2:TerminateInstances", "ec2:Describe*", "ec2:CreateLaunchTemplate*", "ec2:DeleteLaunchTemplate*", "ec2:ModifyLaunchTemplate",
        "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroup*", "ec2:RevokeSecurityGroup*", "ec2:CreateTags", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
        "logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DescribeLogGroups", "logs:DeleteLogGroup", "s3:GetObject", "s3:PutObject", "s3:CreateBucket", "s3:ListBucket", "s3:GetBucket*", "s3:PutBucket*",
        "sns:CreateTopic", "sns:GetTopicAttributes", "sns:Subscribe", "sns:DeleteTopic", "iam:PassRole",
    ],
    "aws:elasticbeanstalk/getSolutionStack:getSolutionStack": ["elasticbeanstalk:ListAvailableSolutionStacks"],
    "aws:elasticbeanstalk/getHostedZone:getHostedZone": [],
    // ECR, container builds and ECS.
    "aws:ecr/repository:Repository": ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:DescribeRepositories", "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration", "ecr:ListTagsForResource", "ecr:TagResource", "ecr:UntagResource", "ecr:BatchDeleteImage", "ecr:ListImages"],
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ["ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy"],
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ["ecr:GetAuthorizationToken"],
    // docker-build pushes with the ECR token above; the push itself is these layer calls.
    "docker-build:index:Image": ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"],
    // Issue 12: the CodeBuild image builder. The project (the role it runs as is passed to CodeBuild),
    // and the build step: start and read builds, and read the tag's digest back from ECR (CodeBuild
    // API Reference, StartBuild and BatchGetBuilds; ECR API Reference, DescribeImages). The codebuild
    // actions are confined to the stack's project by `deployPolicy`.
    "aws:codebuild/project:Project": ["codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:BatchGetProjects", "iam:PassRole"],
    "pulumi-nodejs:dynamic/codebuild:ImageBuild": ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "ecr:DescribeImages"],
    "aws:ecs/cluster:Cluster": ["ecs:CreateCluster", "ecs:DeleteCluster", "ecs:UpdateCluster", "ecs:UpdateClusterSettings", "ecs:DescribeClusters", "ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource"],
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": ["ecs:PutClusterCapacityProviders", "ecs:DescribeClusters"],
    "aws:ecs/taskDefinition:TaskDefinition": ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:DeleteTaskDefinitions", "ecs:TagResource", "ecs:ListTagsForResource", "iam:PassRole"],
    "aws:ecs/service:Service": ["ecs:CreateService", "ecs:DeleteService", "ecs:UpdateService", "ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:TagResource", "ecs:ListTagsForResource", "iam:PassRole"],
    "aws:appautoscaling/target:Target": ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DescribeScalableTargets", "application-autoscaling:TagResource", "application-autoscaling:ListTagsForResource", "ecs:DescribeServices", "ecs:UpdateService", "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
    "aws:appautoscaling/policy:Policy": ["application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DescribeScalingPolicies", "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
    // Load balancing (awsx.lb.ApplicationLoadBalancer's children).
    "aws:lb/loadBalancer:LoadBalancer": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:Describe*", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
    "aws:lb/targetGroup:TargetGroup": ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:Describe*", "elasticloadbalancing:AddTags"],
    "aws:lb/listener:Listener": ["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:Describe*", "elasticloadbalancing:AddTags"],
    "aws:lb/listenerRule:ListenerRule": ["elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:Describe*", "elasticloadbalancing:AddTags"],
    "aws:lb/getHostedZoneId:getHostedZoneId": [],
    // EKS (eks.Cluster's and eks.ManagedNodeGroup's children, add-ons, Pod Identity).
    "aws:eks/cluster:Cluster": ["eks:CreateCluster", "eks:DeleteCluster", "eks:DescribeCluster", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion", "eks:DescribeUpdate", "eks:TagResource", "eks:UntagResource", "eks:ListTagsForResource", "eks:CreateAccessEntry", "eks:DescribeAccessEntry", "eks:DeleteAccessEntry", "eks:AssociateAccessPolicy", "eks:DisassociateAccessPolicy", "eks:ListAssociatedAccessPolicies", "iam:PassRole", "kms:CreateGrant", "kms:DescribeKey", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"],
    "aws:eks/accessEntry:AccessEntry": ["eks:CreateAccessEntry", "eks:DescribeAccessEntry", "eks:UpdateAccessEntry", "eks:DeleteAccessEntry", "eks:TagResource"],
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ["eks:AssociateAccessPolicy", "eks:DisassociateAccessPolicy", "eks:ListAssociatedAccessPolicies"],
    "aws:eks/nodeGroup:NodeGroup": ["eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:DescribeNodegroup", "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion", "eks:TagResource", "eks:ListTagsForResource", "iam:PassRole", "ec2:DescribeLaunchTemplateVersions", "ec2:RunInstances", "ec2:CreateTags", "autoscaling:Describe*"],
    "aws:eks/addon:Addon": ["eks:CreateAddon", "eks:DeleteAddon", "eks:DescribeAddon", "eks:UpdateAddon", "eks:DescribeAddonVersions", "eks:DescribeAddonConfiguration", "eks:TagResource", "eks:ListTagsForResource"],
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ["eks:CreatePodIdentityAssociation", "eks:DeletePodIdentityAssociation", "eks:DescribePodIdentityAssociation", "eks:UpdatePodIdentityAssociation", "eks:TagResource", "iam:PassRole", "iam:GetRole"],
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": [],
    "aws:ssm/getParameter:getParameter": ["ssm:GetParameter"],
    // DNS and certificates (stacks with domainName).
    "aws:acm/certificate:Certificate": ["acm:RequestCertificate", "acm:DeleteCertificate", "acm:DescribeCertificate", "acm:ListTagsForCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"],
    "aws:acm/certificateValidation:CertificateValidation": ["acm:DescribeCertificate"],
    "aws:route53/record:Record": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange", "route53:GetHostedZone"],
    "aws:route53/getZone:getZone": ["route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource"],
    // Operations (issue 13): the alarm topic, alarms, dashboard, ECS deployment events, WAF and the
    // load balancer lookups (Service Authorization Reference: Amazon SNS, CloudWatch, EventBridge, AWS WAF V2, ELB v2).
    "aws:sns/topic:Topic": ["sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Decrypt"],
    "aws:sns/topicPolicy:TopicPolicy": ["sns:SetTopicAttributes", "sns:GetTopicAttributes"],
    "aws:sns/topicSubscription:TopicSubscription": ["sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:GetTopicAttributes"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:EnableAlarmActions", "cloudwatch:DisableAlarmActions", "cloudwatch:ListTagsForResource", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
    "aws:cloudwatch/dashboard:Dashboard": ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"],
    "aws:cloudwatch/eventRule:EventRule": ["events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:EnableRule", "events:DisableRule", "events:ListTagsForResource", "events:TagResource", "events:UntagResource", "events:ListTargetsByRule"],
    "aws:cloudwatch/eventTarget:EventTarget": ["events:PutTargets", "events:RemoveTargets", "events:ListTargetsByRule"],
    "aws:wafv2/webAcl:WebAcl": ["wafv2:CreateWebACL", "wafv2:DeleteWebACL", "wafv2:UpdateWebACL", "wafv2:GetWebACL", "wafv2:ListWebACLs", "wafv2:ListTagsForResource", "wafv2:TagResource", "wafv2:UntagResource"],
    "aws:wafv2/webAclAssociation:WebAclAssociation": ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "wafv2:GetWebACLForResource", "wafv2:GetWebACL", "elasticloadbalancing:SetWebACL"],
    "aws:lb/getLoadBalancer:getLoadBalancer": ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"],
    "aws:lb/getTargetGroup:getTargetGroup": ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags"],
    "aws:lb/getListener:getListener": ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags"],
    // Caller identity and region need no permission (STS GetCallerIdentity is always allowed).
    "aws:index/getCallerIdentity:getCallerIdentity": [],
    "aws:index/getRegion:getRegion": [],
};

/**
 * Packaged components appear as one resource under the mocks; these are the AWS resources they
 * create inside (read from their sources: pulumi-awsx `awsx/ec2/vpc.ts`, `awsx/lb/applicationLoadBalancer.ts`,
 * `awsx/ecs/fargateService.ts`; pulumi-eks `nodejs/eks/cluster.ts`, `nodejs/eks/nodegroup.ts`), so
 * their grants are held to the same test.
 */
export const PACKAGED_CHILDREN: Readonly<Record<string, readonly string[]>> = {
    "awsx:ec2:Vpc": ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable", "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/route:Route", "aws:ec2/getAvailabilityZones:getAvailabilityZones"],
    "awsx:lb:ApplicationLoadBalancer": ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:ec2/securityGroup:SecurityGroup"],
    "awsx:ecs:FargateService": ["aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "aws:cloudwatch/logGroup:LogGroup"],
    "eks:index:Cluster": ["aws:eks/cluster:Cluster", "aws:iam/role:Role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:ec2/securityGroup:SecurityGroup", "aws:eks/addon:Addon", "aws:ssm/getParameter:getParameter"],
    "eks:index:ManagedNodeGroup": ["aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate", "aws:ssm/getParameter:getParameter"],
};

/** Types that call no AWS API with the deploy role's credentials. */
export function needsNoAwsGrant(type: string): boolean {
    return type.startsWith("platform:") // this program's own ComponentResources
        || type.startsWith("kubernetes:") // the Kubernetes API, as the cluster creator (EKS access entry)
        || type.startsWith("pulumi:providers:")
        || type.startsWith("random:")
        // Dynamic resources run in the program's own Node process (components/releaseVerification.ts
        // polls the app's public URL over HTTP) and call no AWS API.
        || type.startsWith("pulumi-nodejs:dynamic");
}

/** Types or invokes with no grant: what a new resource type in the app program shows up as. */
export function ungranted(tokens: Iterable<string>): string[] {
    const missing = new Set<string>();
    const visit = (token: string) => {
        if (needsNoAwsGrant(token)) {
            return;
        }
        const children = PACKAGED_CHILDREN[token];
        if (children) {
            children.forEach(visit);
            if (!(token in GRANTS)) {
                return;
            }
        }
        if (!(token in GRANTS)) {
            missing.add(token);
        }
    };
    for (const t of tokens) {
        visit(t);
    }
    return [...missing].sort();
}

/** Every action the given types and invokes need, their packaged children's included. */
export function actionsFor(tokens: Iterable<string>): string[] {
    const out = new Set<string>();
    const visit = (token: string) => {
        (PACKAGED_CHILDREN[token] ?? []).forEach(visit);
        (GRANTS[token] ?? []).forEach((a) => out.add(a));
    };
    for (const t of tokens) {
        visit(t);
    }
    return [...out].sort();
}

/** Every type the grant tables know, and so every type the deploy role is built for. */
export function allGrantedTokens(): string[] {
    return Object.keys(GRANTS).sort();
}

export interface PolicyStatement {
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: string | string[];
    readonly Resource: string | string[];
    readonly Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: PolicyStatement[];
}

export interface StackScope {
    readonly partition: string;
    readonly accountId: string;
    /** The app's Pulumi project (flask-platform). */
    readonly project: string;
    readonly stack: string;
    /** ARN of the stack's permissions boundary policy. */
    readonly boundaryArn: string;
}

/** The IAM path of the app stack's roles; the same rule as lib/iamGuardrails.ts `iamPath`. */
export function stackIamPath(project: string, stack: string): string {
    return `/${project}/${stack}/`;
}

/** Services whose roles the app hands to AWS (iam:PassRole), and nothing else. */
export const PASS_ROLE_SERVICES = ["codebuild.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "eks.amazonaws.com", "elasticbeanstalk.amazonaws.com", "pods.eks.amazonaws.com", "vpc-flow-logs.amazonaws.com"] as const;

/** Service-linked roles a first deploy in a fresh account may have to create. */
export const SERVICE_LINKED_ROLES = [
    "autoscaling.amazonaws.com", "ecs.amazonaws.com", "eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "elasticbeanstalk.amazonaws.com",
    "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com",
] as const;

const ROLE_SCOPED = /^iam:(CreateRole|DeleteRole|GetRole|UpdateRole|UpdateRoleDescription|UpdateAssumeRolePolicy|TagRole|UntagRole|ListRolePolicies|ListAttachedRolePolicies|ListInstanceProfilesForRole|AttachRolePolicy|DetachRolePolicy|PutRolePermissionsBoundary|PutRolePolicy|GetRolePolicy|DeleteRolePolicy)$/;
const PROFILE_SCOPED = /^iam:(CreateInstanceProfile|DeleteInstanceProfile|GetInstanceProfile|AddRoleToInstanceProfile|RemoveRoleFromInstanceProfile|TagInstanceProfile|UntagInstanceProfile)$/;
/** Creating a role or changing its boundary is allowed only with the stack's boundary attached. */
const NEEDS_BOUNDARY = new Set(["iam:CreateRole", "iam:PutRolePermissionsBoundary"]);

/**
 * The deploy role's permissions for one app stack, split into documents that each fit a managed
 * policy (6,144 characters without whitespace, IAM quotas: "Managed policy size").
 */
export function deployPolicy(scope: StackScope, actions: readonly string[] = actionsFor(allGrantedTokens())): PolicyDocument[] {
    const path = stackIamPath(scope.project, scope.stack);
    const iamArn = (kind: string) => `arn:${scope.partition}:iam::${scope.accountId}:${kind}${path}*`;
    const iam = actions.filter((a) => a.startsWith("iam:"));
    const unscopedIam = iam.filter((a) => !ROLE_SCOPED.test(a) && !PROFILE_SCOPED.test(a) && a !== "iam:PassRole");
    if (unscopedIam.length > 0) {
        throw new Error(`IAM actions without a scoping rule in delivery/permissions.ts: ${unscopedIam.join(", ")}`);
    }
    const statements: PolicyStatement[] = [];
    // One statement per service for everything but IAM: these APIs create resources with generated
    // names, so they cannot be pinned to ARNs before the resources exist.
    const byService = new Map<string, string[]>();
    // CodeBuild is the exception: its project has a name known in advance (`<appName>-<stack>-image`,
    // components/codeBuildImage.ts), so the role may create, start and read only that stack's project.
    const codebuild = actions.filter((x) => x.startsWith("codebuild:"));
    for (const a of actions.filter((x) => !x.startsWith("iam:") && !x.startsWith("codebuild:"))) {
        const service = a.split(":")[0];
        byService.set(service, [...(byService.get(service) ?? []), a]);
    }
    for (const [service, list] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
        statements.push({ Sid: `Provision${service.replace(/[^A-Za-z0-9]/g, "")}`, Effect: "Allow", Action: collapse(list), Resource: "*" });
    }
    if (codebuild.length > 0) {
        const stackPart = scope.stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
        statements.push({ Sid: "StackBuildProject", Effect: "Allow", Action: collapse(codebuild), Resource: `arn:${scope.partition}:codebuild:*:${scope.accountId}:project/*-${stackPart}-image` });
    }
    const roleActions = iam.filter((a) => ROLE_SCOPED.test(a));
    statements.push({
        Sid: "StackRolesWithBoundary", Effect: "Allow", Action: roleActions.filter((a) => NEEDS_BOUNDARY.has(a)), Resource: iamArn("role"),
        Condition: { StringEquals: { "iam:PermissionsBoundary": scope.boundaryArn } },
    });
    statements.push({ Sid: "StackRoles", Effect: "Allow", Action: roleActions.filter((a) => !NEEDS_BOUNDARY.has(a)), Resource: iamArn("role") });
    statements.push({ Sid: "StackInstanceProfiles", Effect: "Allow", Action: iam.filter((a) => PROFILE_SCOPED.test(a)), Resource: iamArn("instance-profile") });
    statements.push({
        Sid: "PassStackRoles", Effect: "Allow", Action: "iam:PassRole", Resource: iamArn("role"),
        Condition: { StringEquals: { "iam:PassedToService": [...PASS_ROLE_SERVICES] } },
    });
    statements.push({
        Sid: "ServiceLinkedRoles", Effect: "Allow", Action: "iam:CreateServiceLinkedRole", Resource: `arn:${scope.partition}:iam::${scope.accountId}:role/aws-service-role/*`,
        Condition: { StringEquals: { "iam:AWSServiceName": [...SERVICE_LINKED_ROLES] } },
    });
    // Belt and braces: no boundary is ever removed, and the boundary policies themselves are not the
    // deploy role's to edit (they live under /pulumi-deploy/, outside every stack path).
    statements.push({ Sid: "KeepBoundaries", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], Resource: "*" });
    statements.push({
        Sid: "NoPolicyEdits", Effect: "Deny",
        Action: ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile"],
        Resource: "*",
    });
    return pack(statements);
}

/** Managed policy quota, without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

function pack(statements: PolicyStatement[]): PolicyDocument[] {
    const docs: PolicyDocument[] = [];
    let current: PolicyStatement[] = [];
    const size = (s: PolicyStatement[]) => JSON.stringify({ Version: "2012-10-17", Statement: s }).length;
    for (const s of statements) {
        if (current.length > 0 && size([...current, s]) > MANAGED_POLICY_MAX_CHARS) {
            docs.push({ Version: "2012-10-17", Statement: current });
            current = [];
        }
        if (size([s]) > MANAGED_POLICY_MAX_CHARS) {
            throw new Error(`statement ${s.Sid} alone exceeds a managed policy's ${MANAGED_POLICY_MAX_CHARS} characters`);
        }
        current.push(s);
    }
    if (current.length > 0) {
        docs.push({ Version: "2012-10-17", Statement: current });
    }
    return docs;
}

/** Drops actions another action in the list already covers by wildcard. */
function collapse(actions: readonly string[]): string[] {
    const unique = [...new Set(actions)].sort();
    return unique.filter((a) => !unique.some((b) => b !== a && b.includes("*") && actionMatches(b, a)));
}

/** IAM action matching: case-insensitive, `*` and `?` wildcards (IAM User Guide, "Action element"). */
export function actionMatches(pattern: string, action: string): boolean {
    const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, "i");
    return re.test(action);
}

/** True when some Allow statement of `doc` names `action` (resources and conditions aside). */
export function documentAllows(doc: PolicyDocument | PolicyDocument[], action: string): boolean {
    const docs = Array.isArray(doc) ? doc : [doc];
    return docs.some((d) => d.Statement.some((s) => s.Effect === "Allow" && ([] as string[]).concat(s.Action).some((p) => actionMatches(p, action))));
}

/**
 * The permissions boundary of every role the app stack creates: what the app's runtime roles may
 * ever do (the instance, task, node, pod and service roles of each target), and no IAM writes, so no
 * role the deploy role creates can create or widen another.
 */
export function boundaryPolicy(scope: Omit<StackScope, "boundaryArn">): PolicyDocument {
    const path = stackIamPath(scope.project, scope.stack);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AppRuntimeServices", Effect: "Allow", Resource: "*",
                Action: [
                    // Platform agents acting for the app: EB's service role, the EKS node role, the LB
                    // controller and Cluster Autoscaler, the CloudWatch agent, ECS task execution.
                    "autoscaling:*", "cloudformation:*", "cloudwatch:*", "ec2:*", "ec2messages:*", "ecr:*", "ecs:*", "eks:*", "eks-auth:*",
                    "elasticbeanstalk:*", "elasticloadbalancing:*", "logs:*", "s3:*", "sns:*", "sqs:*", "ssm:*", "ssmmessages:*", "xray:*",
                    "acm:DescribeCertificate", "acm:ListCertificates", "cognito-idp:DescribeUserPoolClient", "shield:*", "waf-regional:*", "wafv2:*",
                    "tag:GetResources", "tag:TagResources", "rds:Describe*",
                    // The app itself: read its database secret.
                    "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey",
                    // IAM reads and service-linked roles only (the LB controller creates the ELB one).
                    "iam:CreateServiceLinkedRole", "iam:GetServerCertificate", "iam:ListServerCertificates", "iam:GetRole", "iam:ListInstanceProfiles",
                ],
            },
            // Beanstalk's service role hands the instance role to EC2 during managed updates.
            { Sid: "PassOwnRoles", Effect: "Allow", Action: "iam:PassRole", Resource: `arn:${scope.partition}:iam::${scope.accountId}:role${path}*` },
        ],
    };
}
