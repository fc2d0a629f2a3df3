package gpu

import (
	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/nodeclass"
)

// Names of the pool's objects and the label models select on.
const (
	PoolName     = "gpu-l4"
	PoolLabelKey = "llm-platform/pool"
	// GPUTaintKey keeps everything that does not ask for a GPU off the GPU
	// nodes: models tolerate it, nothing else does.
	GPUTaintKey = "nvidia.com/gpu"
	// TerminationGracePeriod bounds how long a draining GPU node waits for
	// its pods (vLLM replicas carry karpenter.sh/do-not-disrupt) once it
	// expires or is interrupted.
	TerminationGracePeriod = "1h"
)

// NodeClassSpec is what the EC2NodeClass needs to know.
type NodeClassSpec struct {
	// ClusterName selects subnets and security groups by the
	// karpenter.sh/discovery tag.
	ClusterName string
	// NodeRoleName is the IAM role of the nodes (Karpenter creates the
	// instance profile).
	NodeRoleName string
	// BottlerocketVersion is "x.y.z" or "latest".
	BottlerocketVersion string
	// DataVolumeGiB sizes /dev/xvdb (container images).
	DataVolumeGiB int
	// InstanceStoreRAID0 stripes the local NVMe for ephemeral storage.
	InstanceStoreRAID0 bool
	// SOCIParallelPull switches containerd to the SOCI snapshotter's
	// parallel pull-and-unpack mode (SOCIUserData) on a data volume with
	// the throughput and IOPS that mode was measured on.
	SOCIParallelPull bool
	// DataVolumeSnapshotID, when set, creates each node's data volume from
	// that snapshot (the vLLM image already on it).
	DataVolumeSnapshotID string
	// Tags go on the instances, volumes and network interfaces.
	Tags map[string]string
}

// NodeClass returns the EC2NodeClass object.
func NodeClass(s NodeClassSpec) map[string]any {
	extra := map[string]any{}
	if s.InstanceStoreRAID0 {
		extra["instanceStorePolicy"] = "RAID0"
	}
	if s.SOCIParallelPull {
		extra["userData"] = SOCIUserData
	}
	return nodeclass.Object(nodeclass.Spec{
		Name: PoolName, ClusterName: s.ClusterName, NodeRoleName: s.NodeRoleName,
		BottlerocketVersion: s.BottlerocketVersion,
		// Large enough for the vLLM image (about 10 GB compressed).
		DataVolume: dataVolume(s), Tags: s.Tags,
	}, extra)
}

// dataVolume is /dev/xvdb, where containerd keeps images. With parallel
// pull, layers are buffered on it while they unpack, so it gets the
// throughput and IOPS the SOCI figure was measured on (package coldstart;
// gp3 includes 125 MiB/s and 3,000 IOPS, the rest is billed while the node
// runs). From a snapshot, EBS fetches its blocks at the highest provisioned
// initialization rate (blocks read earlier are fetched on demand).
func dataVolume(s NodeClassSpec) map[string]any {
	v := nodeclass.Volume("/dev/xvdb", s.DataVolumeGiB)
	ebs := v["ebs"].(map[string]any)
	if s.SOCIParallelPull {
		ebs["throughput"] = coldstart.DataVolumeThroughputMiBps
		ebs["iops"] = coldstart.DataVolumeIOPS
	}
	if s.DataVolumeSnapshotID != "" {
		// volumeSize stays: Bottlerocket grows the data partition to the
		// volume, which must be at least the snapshot's size (EC2 refuses
		// a smaller one at launch).
		ebs["snapshotID"] = s.DataVolumeSnapshotID
		ebs["volumeInitializationRate"] = coldstart.VolumeInitializationMiBps
	}
	return v
}

// SOCIUserData is the Bottlerocket settings TOML that turns on the SOCI
// snapshotter in parallel pull-and-unpack mode (Bottlerocket 1.44.0 and
// later, on the aws-k8s NVIDIA variants too; settings reference
// "container-runtime" and "container-runtime-plugins"). Values are those of
// AWS's Karpenter blueprint for SOCI (aws-samples/karpenter-blueprints,
// blueprints/soci-snapshotter), which measured the pull rate package
// coldstart uses: 20 concurrent 16 MB range requests per image, 12
// concurrent unpacks, and compressed layers discarded once unpacked (they
// would double the image's footprint on the data volume).
//
// Karpenter passes every settings table except settings.kubernetes through
// unchanged (v1.14.1 pkg/providers/amifamily/bootstrap/bottlerocket.go), so
// these reach the node as written. The snapshotter takes effect at boot,
// and Bottlerocket wipes the image store when it changes between boots:
// a data-volume snapshot must be built with these same settings
// (scripts/build-data-volume-snapshot.sh does).
const SOCIUserData = `[settings.container-runtime]
snapshotter = "soci"

[settings.container-runtime-plugins.soci-snapshotter]
pull-mode = "parallel-pull-unpack"

[settings.container-runtime-plugins.soci-snapshotter.parallel-pull-unpack]
max-concurrent-downloads-per-image = 20
concurrent-download-chunk-size = "16mb"
max-concurrent-unpacks-per-image = 12
discard-unpacked-layers = true
`

// NodePoolSpec is what the NodePool needs to know.
type NodePoolSpec struct {
	InstanceFamilies []string
	InstanceSizes    []string
	CapacityTypes    []string
	GPULimit         int
	ConsolidateAfter string
	ExpireAfter      string
}

// Requirements are the NodePool's node requirements: L4 instances of the
// allowed families and sizes, of the allowed capacity types, amd64 Linux.
func Requirements(s NodePoolSpec) []any {
	req := nodeclass.In
	return []any{
		req("karpenter.k8s.aws/instance-family", s.InstanceFamilies),
		req("karpenter.k8s.aws/instance-size", s.InstanceSizes),
		// Belt and braces: only instances whose GPU is an L4.
		req("karpenter.k8s.aws/instance-gpu-name", []string{"l4"}),
		req("karpenter.sh/capacity-type", s.CapacityTypes),
		req("kubernetes.io/arch", []string{"amd64"}),
		req("kubernetes.io/os", []string{"linux"}),
	}
}

// NodePool returns the gpu-l4 NodePool object.
func NodePool(s NodePoolSpec) map[string]any {
	return map[string]any{
		"apiVersion": "karpenter.sh/v1",
		"kind":       "NodePool",
		"metadata":   map[string]any{"name": PoolName},
		"spec": map[string]any{
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{PoolLabelKey: PoolName}},
				"spec": map[string]any{
					"nodeClassRef": map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": PoolName},
					"requirements": Requirements(s),
					"taints": []any{
						map[string]any{"key": GPUTaintKey, "value": "true", "effect": "NoSchedule"},
					},
					// Nodes are replaced after this age (patches, fresh
					// AMI); replicas move one at a time (budget below).
					"expireAfter":            s.ExpireAfter,
					"terminationGracePeriod": TerminationGracePeriod,
				},
			},
			// The cost ceiling: Karpenter launches nothing that would take
			// the pool past this many GPUs.
			"limits": map[string]any{"nvidia.com/gpu": s.GPULimit},
			"disruption": map[string]any{
				// Only empty nodes are consolidated. Moving a running
				// replica costs minutes of weight loading and a cold KV
				// cache; KEDA scales replicas down, which empties nodes.
				"consolidationPolicy": "WhenEmpty",
				// Waiting before removing an empty node avoids paying for a
				// new one (and its image pull) when load returns quickly.
				"consolidateAfter": s.ConsolidateAfter,
				// At most one GPU node disrupted at a time.
				"budgets": []any{map[string]any{"nodes": "1"}},
			},
		},
	}
}
