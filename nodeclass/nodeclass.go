// Package nodeclass builds the Karpenter EC2NodeClass objects of the
// platform's node pools (the GPU pool, package gpu, and the platform
// services' pool, package platformpool): Bottlerocket at a pinned release,
// subnets and security groups found by the cluster's discovery tag, IMDSv2
// with one hop, and encrypted gp3 volumes; Declare applies a pool's two
// objects in order.
package nodeclass

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
)

// Spec is what an EC2NodeClass needs to know.
type Spec struct {
	// Name of the EC2NodeClass (the pool's name).
	Name string
	// ClusterName selects subnets and security groups by the
	// karpenter.sh/discovery tag.
	ClusterName string
	// NodeRoleName is the IAM role of the nodes (Karpenter creates the
	// instance profile).
	NodeRoleName string
	// BottlerocketVersion is "x.y.z" or "latest".
	BottlerocketVersion string
	// DataVolume is /dev/xvdb (container images and pods), from Volume
	// with any pool-specific EBS settings added.
	DataVolume map[string]any
	// Tags go on the instances, volumes and network interfaces.
	Tags map[string]string
}

// AMIAlias is the amiSelectorTerms alias for a Bottlerocket release. One
// alias serves both architectures: Karpenter resolves it per instance type
// to the x86_64 or aarch64 AMI, and to the NVIDIA variant for GPU types
// (karpenter-provider-aws v1.14.1, pkg/providers/amifamily/bottlerocket.go).
func AMIAlias(version string) string {
	if version == "latest" {
		return "bottlerocket@latest"
	}
	return "bottlerocket@v" + version
}

// OSVolumeGiB is Bottlerocket's OS volume (/dev/xvda) at its default size.
const OSVolumeGiB = 4

// Object returns the EC2NodeClass; extra sets further spec fields
// (userData, instanceStorePolicy).
func Object(s Spec, extra map[string]any) map[string]any {
	discovery := map[string]any{"tags": map[string]any{"karpenter.sh/discovery": s.ClusterName}}
	spec := map[string]any{
		// A pinned alias: with "latest" every Bottlerocket release would
		// drift and replace every node of the pool.
		"amiSelectorTerms":           []any{map[string]any{"alias": AMIAlias(s.BottlerocketVersion)}},
		"role":                       s.NodeRoleName,
		"subnetSelectorTerms":        []any{discovery},
		"securityGroupSelectorTerms": []any{discovery},
		// Bottlerocket has two volumes and listing one replaces both, so
		// both are listed: the OS volume at its default size, and the data
		// volume sized for the pool's images.
		"blockDeviceMappings": []any{Volume("/dev/xvda", OSVolumeGiB), s.DataVolume},
		// IMDSv2 only, one hop: pods cannot use the node role; workloads
		// that need AWS get their own role through Pod Identity.
		"metadataOptions": map[string]any{
			"httpEndpoint":            "enabled",
			"httpProtocolIPv6":        "disabled",
			"httpPutResponseHopLimit": 1,
			"httpTokens":              "required",
		},
		"tags": manifest.Map(s.Tags),
	}
	for k, v := range extra {
		spec[k] = v
	}
	return map[string]any{
		"apiVersion": "karpenter.k8s.aws/v1",
		"kind":       "EC2NodeClass",
		"metadata":   map[string]any{"name": s.Name},
		"spec":       spec,
	}
}

// In is a NodePool requirement: the node label key takes one of values.
func In(key string, values []string) map[string]any {
	return map[string]any{"key": key, "operator": "In", "values": manifest.List(values)}
}

// Volume is an encrypted gp3 volume deleted with its instance.
func Volume(device string, sizeGiB int) map[string]any {
	return map[string]any{
		"deviceName": device,
		"ebs": map[string]any{
			"volumeSize":          fmt.Sprintf("%dGi", sizeGiB),
			"volumeType":          "gp3",
			"encrypted":           true,
			"deleteOnTermination": true,
		},
	}
}

// Declare applies a pool's EC2NodeClass, then its NodePool (which names
// the class), with the options of both (parent, provider, and the
// dependencies on the Karpenter release and the node access entry that
// make a destroy delete them while Karpenter still runs and can drain and
// terminate their nodes). It returns the NodePool.
func Declare(ctx *pulumi.Context, name string, class, pool map[string]any, opts ...pulumi.ResourceOption) (*manifest.Object, error) {
	nodeClass, err := manifest.Apply(ctx, name+"-nodeclass", class, opts...)
	if err != nil {
		return nil, err
	}
	return manifest.Apply(ctx, name+"-nodepool", pool, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{nodeClass}))...)
}
