// Order and races (issue 10, items 5-6): what must exist before something starts, checked on the
// dependencies the engine is handed (explicit dependsOn plus the resources an input refers to).
import * as assert from "assert";
import { PlannedResource, PlanResult } from "../harness/run";
import { EKS, one, planStack } from "./helpers";

const POLICY = "aws:iam/rolePolicy:RolePolicy";

function waitsFor(r: PlannedResource, on: PlannedResource): void {
    assert.ok(r.options.dependsOn.includes(on.urn), `${r.name} (${r.type}) does not wait for ${on.name} (${on.type})`);
}

describe("order and races", function () {
    this.timeout(120000);

    it("beanstalk: the instance profile and the environment wait for the instance role's grants", async () => {
        const plan = await planStack("dev", ["target=beanstalk"]);
        const grants = one(plan, POLICY, "-beanstalk-instance-app");
        waitsFor(one(plan, "aws:iam/instanceProfile:InstanceProfile"), grants);
        waitsFor(one(plan, "aws:elasticbeanstalk/environment:Environment"), grants);
    });

    it("ecs: the task definition and the service wait for the execution role's grants", async () => {
        const plan = await planStack("dev", ["target=ecs"]);
        const grants = one(plan, POLICY, "-ecs-execution");
        waitsFor(one(plan, "aws:ecs/taskDefinition:TaskDefinition"), grants);
        waitsFor(one(plan, "awsx:ecs:FargateService"), grants);
    });

    describe("eks", () => {
        let plan: PlanResult;
        before(async () => {
            plan = await planStack("dev", [...EKS]);
        });

        for (const controller of ["load-balancer-controller", "cluster-autoscaler"]) {
            it(`${controller}: the pod identity association and the Helm release wait for the role's grants`, () => {
                const grants = one(plan, POLICY, `-eks-${controller}`);
                waitsFor(one(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", `-eks-${controller}`), grants);
                waitsFor(one(plan, "kubernetes:helm.sh/v3:Release", `-eks-${controller}`), grants);
            });
        }

        it("the app's Service waits for the AWS Load Balancer Controller (its webhook fails closed)", () => {
            waitsFor(one(plan, "kubernetes:core/v1:Service", "-eks-service"), one(plan, "kubernetes:helm.sh/v3:Release", "-eks-load-balancer-controller"));
        });
    });
});
