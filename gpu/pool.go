package gpu

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/nodeclass"
)

// Args configures a Pool.
type Args struct {
	NodeClass NodeClassSpec
	NodePool  NodePoolSpec
	// Provider is the cluster's Kubernetes provider.
	Provider *kubernetes.Provider
	// Karpenter is the Karpenter release and KarpenterNodeAccess the node
	// role's access entry (package cluster). The pool depends on both, so
	// a destroy deletes it first, while Karpenter can still drain and
	// terminate its nodes.
	Karpenter           pulumi.Resource
	KarpenterNodeAccess pulumi.Resource
	// CreateSpotServiceLinkedRole creates the account's EC2 Spot
	// service-linked role before the NodePool (see spot.go).
	CreateSpotServiceLinkedRole bool
}

// Pool is the EC2NodeClass and NodePool of the L4 GPU nodes.
type Pool struct {
	pulumi.ResourceState

	// NodePoolName is the NodePool's name.
	NodePoolName pulumi.StringOutput `pulumi:"nodePoolName"`
	// NodeSelector is the label models select to land on this pool
	// (plain: it drives their pod specs).
	NodeSelector map[string]string
	// Toleration is the taint key models must tolerate.
	Toleration string
	// NodePool is the NodePool resource, for anything that must be
	// deleted after the GPU nodes are gone.
	NodePool pulumi.Resource
}

func (a *Args) validate() error {
	switch {
	case a.Provider == nil || a.Karpenter == nil || a.KarpenterNodeAccess == nil:
		return fmt.Errorf("gpu: Provider, Karpenter and KarpenterNodeAccess are required")
	case a.NodeClass.ClusterName == "" || a.NodeClass.NodeRoleName == "":
		return fmt.Errorf("gpu: cluster name and node role name are required")
	case a.NodePool.GPULimit < 1:
		return fmt.Errorf("gpu: config key gpu.gpuLimit = %d: must be at least 1", a.NodePool.GPULimit)
	case len(a.NodePool.InstanceFamilies) == 0 || len(a.NodePool.InstanceSizes) == 0 || len(a.NodePool.CapacityTypes) == 0:
		return fmt.Errorf("gpu: config keys gpu.instanceFamilies, gpu.instanceSizes and gpu.capacityTypes must not be empty")
	}
	return nil
}

// NewPool declares the EC2NodeClass and the gpu-l4 NodePool.
func NewPool(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Pool, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		NodeSelector: map[string]string{PoolLabelKey: PoolName},
		Toleration:   GPUTaintKey,
	}
	if err := ctx.RegisterComponentResource("llm-platform:gpu:Pool", name, p, opts...); err != nil {
		return nil, err
	}
	k8s := pulumi.Provider(args.Provider)
	prerequisites := []pulumi.Resource{args.Karpenter, args.KarpenterNodeAccess}
	if args.CreateSpotServiceLinkedRole {
		slr, err := newSpotServiceLinkedRole(ctx, name, pulumi.Parent(p))
		if err != nil {
			return nil, err
		}
		prerequisites = append(prerequisites, slr)
	}
	nodePool, err := nodeclass.Declare(ctx, name, NodeClass(args.NodeClass), NodePool(args.NodePool),
		pulumi.Parent(p), k8s, pulumi.DependsOn(prerequisites))
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
