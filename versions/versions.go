// Package versions is the one place where the platform pins what it deploys:
// Kubernetes, node OS, charts, EKS addons and container images. Every value
// is exact (no "latest", no ranges) so that two `pulumi up` runs months apart
// deploy the same thing, and an upgrade is a reviewed one-line diff here.
//
// Each pin says where it was checked (November 2026). Bump them together
// with the compatibility notes next to them.
package versions

const (
	// KubernetesVersion is the default EKS version (cluster.kubernetesVersion).
	// 1.35 is in EKS standard support until March 2027; 1.34 leaves standard
	// support on 2 December 2026, after which the control plane is billed at
	// the extended-support rate ($0.60/h instead of $0.10/h).
	KubernetesVersion = "1.35"

	// Bottlerocket pins the node OS release for the GPU pool's AMI alias.
	// Karpenter selects the aws-k8s-<version>-nvidia variant for GPU
	// instance types; 1.64.0 ships variants for Kubernetes 1.33 to 1.36.
	// Pinning means an AMI release rolls the GPU nodes only when this
	// line changes.
	Bottlerocket = "1.64.0"

	// VLLMImage is the default vLLM OpenAI-compatible server image.
	VLLMImage = "vllm/vllm-openai:v0.31.0"
)

// SupportedKubernetesVersions are the EKS versions in standard support that
// the pinned Karpenter (1.14: up to 1.36) and Envoy AI Gateway (1.32+)
// releases support. Versions in EKS extended support cost six times more
// per control-plane hour and are refused.
var SupportedKubernetesVersions = []string{"1.34", "1.35", "1.36"}
