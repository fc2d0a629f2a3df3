// Package platformpool provisions the Karpenter pool the platform services
// run on: an EC2NodeClass (Bottlerocket; Karpenter resolves the arm64 AMI
// for Graviton types from the same alias) and the "platform" NodePool of
// general-purpose instances, on-demand by default, consolidated when empty
// or underutilized, one node at a time, up to a CPU and memory ceiling.
//
// Everything of the LLM layer that is not a model replica selects this
// pool's label: the gateway (Envoy, its controller, the rate-limit service
// and its counter store), the AI Gateway controller, the endpoint pickers,
// KEDA, the metrics stack and the CSI controllers. The managed system node
// group keeps only what must run before Karpenter can launch a node.
//
// The pool exists only with the LLM layer (the base stack runs nothing
// that needs it), and depends on the Karpenter release, so a destroy
// deletes it while the controller still runs and terminates its nodes.
package platformpool

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/cluster"
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/nodeclass"
	"github.com/llm-platform/llm-platform/versions"
)

// PoolName names the NodePool and its EC2NodeClass; nodes carry it as
// their llm-platform/node-role label, beside the system nodes' "system".
const PoolName = "platform"

// TerminationGracePeriod bounds how long a node that expired waits for
// pods that block their eviction (PDBs, karpenter.sh/do-not-disrupt on the
// endpoint pickers) before Karpenter deletes them anyway.
const TerminationGracePeriod = "1h"

// NodeSelector is the label a platform service selects to land on the pool.
func NodeSelector() map[string]string {
	return map[string]string{cluster.SystemNodeLabelKey: PoolName}
}

// NodeSelectorFor is the node selector of a platform workload running
// image: the pool's label, plus kubernetes.io/arch amd64 when the image
// publishes no arm64 build (versions.PlatformImages), so Karpenter puts it
// on one of the pool's x86 types (config validation requires one).
func NodeSelectorFor(image string) map[string]string {
	sel := NodeSelector()
	if !versions.PublishesARM64(image) {
		sel["kubernetes.io/arch"] = config.ArchAMD64
	}
	return sel
}

// Spec is what the pool's two objects need to know.
type Spec struct {
	ClusterName         string
	NodeRoleName        string
	BottlerocketVersion string
	Nodes               config.PlatformNodes
	Tags                map[string]string
}

// NodeClass returns the pool's EC2NodeClass.
func NodeClass(s Spec) map[string]any {
	return nodeclass.Object(nodeclass.Spec{
		Name: PoolName, ClusterName: s.ClusterName, NodeRoleName: s.NodeRoleName,
		BottlerocketVersion: s.BottlerocketVersion,
		DataVolume:          nodeclass.Volume("/dev/xvdb", s.Nodes.DataVolumeGiB),
		Tags:                s.Tags,
	}, nil)
}

// Requirements are the NodePool's node requirements: the allowed families
// and sizes, their architectures, the allowed capacity types, Linux.
func Requirements(n config.PlatformNodes) []any {
	req := nodeclass.In
	return []any{
		req("karpenter.k8s.aws/instance-family", n.InstanceFamilies),
		req("karpenter.k8s.aws/instance-size", n.InstanceSizes),
		req("karpenter.sh/capacity-type", n.CapacityTypes),
		// Stated, not left to the families: a pod that names no
		// architecture may only land where every platform image runs.
		req("kubernetes.io/arch", config.Architectures(n.InstanceFamilies)),
		req("kubernetes.io/os", []string{"linux"}),
	}
}

// NodePool returns the platform NodePool.
func NodePool(n config.PlatformNodes) map[string]any {
	return map[string]any{
		"apiVersion": "karpenter.sh/v1",
		"kind":       "NodePool",
		"metadata":   map[string]any{"name": PoolName},
		"spec": map[string]any{
			"template": map[string]any{
				// No taint: the pool takes any pod that selects it, and a
				// pod that selects no pool lands here too, never on the
				// tainted system or GPU nodes.
				"metadata": map[string]any{"labels": manifest.Map(NodeSelector())},
				"spec": map[string]any{
					"nodeClassRef":           map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": PoolName},
					"requirements":           Requirements(n),
					"expireAfter":            n.ExpireAfter,
					"terminationGracePeriod": TerminationGracePeriod,
				},
			},
			// The cost ceiling: Karpenter launches nothing that would take
			// the pool past these.
			"limits": map[string]any{"cpu": fmt.Sprint(n.CPULimit), "memory": fmt.Sprintf("%dGi", n.MemoryLimitGiB)},
			"disruption": map[string]any{
				// Platform pods restart in seconds and every service with
				// a minimum keeps it through a move (its PodDisruptionBudget;
				// the pickers are not moved at all), so Karpenter may repack
				// them onto fewer or cheaper nodes.
				"consolidationPolicy": "WhenEmptyOrUnderutilized",
				"consolidateAfter":    n.ConsolidateAfter,
				// One node at a time: a move never takes both replicas of
				// a two-replica service at once, even before its PDB is
				// consulted.
				"budgets": []any{map[string]any{"nodes": "1"}},
			},
		},
	}
}

// Args configures a Pool.
type Args struct {
	Spec Spec
	// Provider is the cluster's Kubernetes provider.
	Provider *kubernetes.Provider
	// Karpenter is the Karpenter release and KarpenterNodeAccess the node
	// role's access entry (package cluster); the pool depends on both.
	Karpenter           pulumi.Resource
	KarpenterNodeAccess pulumi.Resource
}

// Pool is the platform pool's EC2NodeClass and NodePool.
type Pool struct {
	pulumi.ResourceState

	// NodePoolName is the NodePool's name.
	NodePoolName pulumi.StringOutput `pulumi:"nodePoolName"`
	// NodeSelector is the label platform services select (plain: it
	// drives their pod specs and chart values).
	NodeSelector map[string]string
	// NodePool is the NodePool resource: platform services depend on it,
	// so they are created once Karpenter can place them and deleted
	// before their nodes go.
	NodePool pulumi.Resource
}

func (a *Args) validate() error {
	switch {
	case a.Provider == nil || a.Karpenter == nil || a.KarpenterNodeAccess == nil:
		return fmt.Errorf("platformpool: Provider, Karpenter and KarpenterNodeAccess are required")
	case a.Spec.ClusterName == "" || a.Spec.NodeRoleName == "":
		return fmt.Errorf("platformpool: cluster name and node role name are required")
	case len(a.Spec.Nodes.InstanceFamilies) == 0 || len(a.Spec.Nodes.InstanceSizes) == 0 || len(a.Spec.Nodes.CapacityTypes) == 0:
		return fmt.Errorf("platformpool: config keys platformNodes.instanceFamilies, platformNodes.instanceSizes and platformNodes.capacityTypes must not be empty")
	case a.Spec.Nodes.CPULimit < 1 || a.Spec.Nodes.MemoryLimitGiB < 1:
		return fmt.Errorf("platformpool: config keys platformNodes.cpuLimit = %d and platformNodes.memoryLimitGiB = %d must be positive",
			a.Spec.Nodes.CPULimit, a.Spec.Nodes.MemoryLimitGiB)
	}
	return nil
}

// NewPool declares the platform EC2NodeClass and NodePool.
func NewPool(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Pool, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	p := &Pool{NodeSelector: NodeSelector()}
	if err := ctx.RegisterComponentResource("llm-platform:platformpool:Pool", name, p, opts...); err != nil {
		return nil, err
	}
	nodePool, err := nodeclass.Declare(ctx, name, NodeClass(args.Spec), NodePool(args.Spec.Nodes),
		pulumi.Parent(p), pulumi.Provider(args.Provider),
		pulumi.DependsOn([]pulumi.Resource{args.Karpenter, args.KarpenterNodeAccess}))
	if err != nil {
		return nil, err
	}
	p.NodePool = nodePool
	p.NodePoolName = nodePool.Metadata.Name().Elem()
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{"nodePoolName": p.NodePoolName}); err != nil {
		return nil, err
	}
	return p, nil
}
