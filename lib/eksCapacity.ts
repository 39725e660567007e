// Do the app's pods fit the EKS node group (issue 16 §4)? A pod larger than a node's allocatable
// memory, or more pods than eksNodeMax nodes can hold, plans cleanly and then sits Pending until
// the deploy times out. This estimates what a node offers its pods, the way the EKS AMI sizes it.

/** vCPUs and memory (GiB) of one instance type, and the max-pods its ENIs allow. */
export interface NodeShape {
    readonly vcpus: number;
    readonly memoryGiB: number;
    /** kubelet max-pods for the type (see maxPods). */
    readonly maxPods: number;
}

/**
 * Max pods per type from the EKS AMI's eni-max-pods.txt (awslabs/amazon-eks-ami,
 * templates/shared/runtime/eni-max-pods.txt: ENIs x (IPv4 per ENI - 1) + 2, from the EC2 API),
 * for the sizes every family below shares; vCPUs and memory from the EC2 instance type pages
 * (burstable: 2 vCPUs up to large; general purpose 4 GiB, compute 2 GiB, memory 8 GiB per vCPU).
 * Other families (t2, m8a/m8i/c8i/r8i with new ENI limits, metal, GPU...) are not modelled: the fit
 * is not checked for them and config says so.
 */
const BURSTABLE_SIZES: Readonly<Record<string, readonly [vcpus: number, memoryGiB: number, maxPods: number]>> = {
    nano: [2, 0.5, 4], micro: [2, 1, 4], small: [2, 2, 11], medium: [2, 4, 17], large: [2, 8, 35], xlarge: [4, 16, 58], "2xlarge": [8, 32, 58],
};
const NITRO_SIZES: Readonly<Record<string, readonly [vcpus: number, maxPods: number]>> = {
    large: [2, 29], xlarge: [4, 58], "2xlarge": [8, 58], "4xlarge": [16, 234], "8xlarge": [32, 234], "12xlarge": [48, 234], "16xlarge": [64, 737],
};
const GIB_PER_VCPU: readonly [RegExp, number, readonly string[]][] = [
    [/^m(5|6i|6a|6g|7i|7a|7g|8g)$/, 4, Object.keys(NITRO_SIZES)],
    [/^r(5|6i|6g|7i|7g|8g)$/, 8, Object.keys(NITRO_SIZES)],
    // c5 skips 8xlarge and 16xlarge (it has 9xlarge and 18xlarge): only the sizes every c family has.
    [/^c(5|6i|6g|7i|7g|8g)$/, 2, ["large", "xlarge", "2xlarge", "4xlarge"]],
];

/** The kubelet's max-pods cap the EKS max-pods calculator applies: 110 below 30 vCPUs, 250 above (EKS User Guide, choosing-instance-type). */
function capMaxPods(eniMaxPods: number, vcpus: number): number {
    return Math.min(eniMaxPods, vcpus < 30 ? 110 : 250);
}

/** The shape of `instanceType`, or undefined when this table does not know it. */
export function nodeShape(instanceType: string): NodeShape | undefined {
    const [family, size] = instanceType.split(".");
    if (family === undefined || size === undefined) {
        return undefined;
    }
    if (/^t(3|3a|4g)$/.test(family)) {
        const s = BURSTABLE_SIZES[size];
        // t3a.small has 2 ENIs x 4 IPs: 8 pods, not t3.small's 11 (eni-max-pods.txt).
        return s && { vcpus: s[0], memoryGiB: s[1], maxPods: family === "t3a" && size === "small" ? 8 : s[2] };
    }
    for (const [pattern, gibPerVcpu, sizes] of GIB_PER_VCPU) {
        const s = NITRO_SIZES[size];
        if (pattern.test(family) && sizes.includes(size) && s) {
            return { vcpus: s[0], memoryGiB: s[0] * gibPerVcpu, maxPods: capMaxPods(s[1], s[0]) };
        }
    }
    return undefined;
}

/** Share of nominal memory the kernel keeps before the kubelet sees it (MemTotal): an estimate, see nodeAllocatable. */
const KERNEL_SHARE = 0.06;
/** kubelet's default hard eviction threshold, memory.available<100Mi, which the EKS AMI keeps. */
const EVICTION_MIB = 100;

/** What a node offers pods, and how it got there (for the error message). */
export interface Allocatable {
    readonly memoryMiB: number;
    readonly cpuMillis: number;
    readonly kubeReservedMiB: number;
    readonly kubeReservedMillis: number;
    readonly maxPods: number;
}

/**
 * Allocatable = capacity - kube-reserved - eviction threshold, with the EKS AMI's kube-reserved
 * (amazon-eks-ami nodeadm and bootstrap.sh; the same formulas in Bottlerocket's
 * memory_mebibytes_to_reserve): memory 11 MiB per max-pod + 255 MiB; CPU 6% of the first core,
 * 1% of the second, 0.5% of the third and fourth, 0.25% of the rest. EKS reserves no
 * system-reserved. Capacity is the kernel's MemTotal, about 6% below the nominal size (an
 * estimate: it gives t3.medium 3308 MiB allocatable, what `kubectl describe node` commonly shows
 * for it, 3388360Ki); not measured here, as there is no EC2 offline.
 */
export function nodeAllocatable(shape: NodeShape): Allocatable {
    const kubeReservedMiB = 11 * shape.maxPods + 255;
    const cores = shape.vcpus;
    const kubeReservedMillis = Math.round(60 + (cores >= 2 ? 10 : 0) + Math.max(0, Math.min(cores, 4) - 2) * 5 + Math.max(0, cores - 4) * 2.5);
    const capacityMiB = Math.floor(shape.memoryGiB * 1024 * (1 - KERNEL_SHARE));
    return {
        memoryMiB: capacityMiB - kubeReservedMiB - EVICTION_MIB,
        cpuMillis: cores * 1000 - kubeReservedMillis,
        kubeReservedMiB,
        kubeReservedMillis,
        maxPods: shape.maxPods,
    };
}

/**
 * Pods of every node, whatever runs on it: aws-node and kube-proxy (EKS's default networking
 * add-ons), eks-pod-identity-agent, and amazon-cloudwatch-observability's cloudwatch-agent and
 * fluent-bit DaemonSets (targets/eks.ts). They count against max-pods; their requests are not
 * modelled, nor the cluster's single deployments (CoreDNS, metrics-server, the Cluster
 * Autoscaler), so the counts below are upper bounds: a config refused here cannot work.
 */
export const DAEMONSET_PODS_PER_NODE = 5;

/** How many app pods one node holds and what limits it. */
export function appPodsPerNode(a: Allocatable, podMemoryMiB: number, podCpuMillis: number): { readonly pods: number; readonly limit: string } {
    const bySlots = a.maxPods - DAEMONSET_PODS_PER_NODE;
    const byMemory = Math.floor(a.memoryMiB / podMemoryMiB);
    const byCpu = Math.floor(a.cpuMillis / podCpuMillis);
    const pods = Math.max(0, Math.min(bySlots, byMemory, byCpu));
    const limit = pods === byMemory ? `memory: ${a.memoryMiB} MiB allocatable / ${podMemoryMiB} MiB per pod`
        : pods === byCpu ? `CPU: ${a.cpuMillis}m allocatable / ${podCpuMillis}m per pod`
        : `max-pods ${a.maxPods} less ${DAEMONSET_PODS_PER_NODE} DaemonSet pods`;
    return { pods, limit };
}

/** The larger sizes of the same family, smallest first (for "use ... instead"). */
export function largerSizes(instanceType: string): string[] {
    const [family] = instanceType.split(".");
    const own = nodeShape(instanceType);
    const sizes = [...Object.keys(BURSTABLE_SIZES), ...Object.keys(NITRO_SIZES)];
    return [...new Set(sizes)].map((s) => `${family}.${s}`)
        .filter((t) => { const shape = nodeShape(t); return shape !== undefined && own !== undefined && shape.memoryGiB > own.memoryGiB; })
        .sort((x, y) => (nodeShape(x)?.memoryGiB ?? 0) - (nodeShape(y)?.memoryGiB ?? 0));
}
