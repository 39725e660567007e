// The platform's own health alarms (issue 13): Beanstalk's environment health, ECS's running tasks
// and failed deployments, EKS's running and restarting pods. Created under the target's
// component, so they come and go with the platform; the stack-level alarms stay.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmInputs, createAlarm, deploymentFailedPattern, platformAlarmSpecs } from "./monitoring";

/** Arguments of {@link PlatformAlarms}. */
export interface PlatformAlarmsArgs extends AlarmInputs {
    readonly topicArn: pulumi.Input<string>;
}

/** The alarms of {@link platformAlarmSpecs}, and on ECS the deployment-failure event rule, all to the topic. */
export class PlatformAlarms extends pulumi.ComponentResource {
    /** The alarms' ARNs, in platformAlarmSpecs order. */
    readonly alarmArns: pulumi.Output<string>[];

    constructor(name: string, args: PlatformAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:monitoring:PlatformAlarms", name, {}, opts);
        this.alarmArns = platformAlarmSpecs(args).map((s) => createAlarm(name, args.namePrefix, s, args.topicArn, { parent: this }).arn);

        if (args.platform.kind === "ecs") {
            // ECS emits this event when a deployment fails, e.g. the circuit breaker rolled it back
            // (ECS Developer Guide, ecs_service_deployment_events: detail-type "ECS Deployment
            // State Change", eventName SERVICE_DEPLOYMENT_FAILED, resources = the service ARN).
            // Autonamed: EventBridge rule names allow 64 characters, fewer than the longest stack prefix plus a suffix.
            const rule = new aws.cloudwatch.EventRule(`${name}-deploy-failed`, {
                description: `An ECS deployment of ${args.namePrefix} failed (the circuit breaker rolled it back); look at the service's events and stopped tasks`,
                eventPattern: pulumi.jsonStringify(deploymentFailedPattern(args.platform.serviceArn)),
            }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-deploy-failed`, { rule: rule.name, arn: args.topicArn }, { parent: this });
        }
        this.registerOutputs({ alarmArns: this.alarmArns });
    }
}
