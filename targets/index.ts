// The target registry: config's `target` names one of these. A target that is not here yet fails
// config validation with a message that says so; there is never a stand-in deployment.
import { TargetName } from "../config";
import { beanstalk } from "./beanstalk";
import { ecs } from "./ecs";
import { eksTarget } from "./eks";
import { deploySharedCluster } from "./eksShared";
import { Target } from "./types";

export const TARGETS: Readonly<Partial<Record<TargetName, Target>>> = {
    beanstalk,
    ecs,
    // eksExistingCluster (issue 16 §2): the app only, into a cluster someone else runs.
    eks: { name: "eks", deploy: (args, opts) => args.config.eks.existingCluster !== undefined ? deploySharedCluster(args, opts) : eksTarget.deploy(args, opts) },
};

export function implementedTargets(): TargetName[] {
    return Object.keys(TARGETS).sort() as TargetName[];
}

export function getTarget(name: TargetName): Target {
    const target = TARGETS[name];
    if (!target) {
        throw new Error(`target ${name} is not implemented; available: ${implementedTargets().join(", ")}`);
    }
    return target;
}

export { Target, TargetArgs, TargetOutputs, TargetRelease } from "./types";
