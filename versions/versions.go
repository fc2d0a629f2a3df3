// Package versions is the one place where the platform pins what it deploys:
// Kubernetes, node OS, charts, EKS addons and container images. Every value
// is exact (no "latest", no ranges) so that two `pulumi up` runs months apart
// deploy the same thing, and an upgrade is a reviewed one-line diff here.
//
// Each pin says where it was checked (November 2026). Bump them together
// with the compatibility notes next to them.
package versions

import (
	"slices"
	"sort"
)

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
	// VLLMImageCompressedGB is what a node downloads to run VLLMImage, for
	// the cold-start estimate (package coldstart): about 10 GB, the size
	// Docker Hub lists for the linux/amd64 vllm-openai images of the 0.2x
	// and 0.3x releases. Update it with the image.
	VLLMImageCompressedGB = 10.0
	// PreloadImage runs the weight download (models.PreloadScript, which
	// needs only Python's standard library): about 45 MB compressed,
	// against the vLLM image's ~10 GB (30 GiB unpacked) on the system
	// nodes' disks.
	PreloadImage = "python:3.13.5-slim-bookworm"
)

// Karpenter (aws/karpenter-provider-aws v1.14.1; supports Kubernetes up to
// 1.36). Chart versions on the OCI registry carry no "v" prefix. The CRDs
// come from the separate karpenter-crd chart: Helm installs a chart's crds/
// directory only on first install and never upgrades it, which is why
// Karpenter's upgrade guide recommends the CRD chart.
const (
	KarpenterChart    = "oci://public.ecr.aws/karpenter/karpenter"
	KarpenterCRDChart = "oci://public.ecr.aws/karpenter/karpenter-crd"
	KarpenterVersion  = "1.14.1"
)

// Envoy Gateway and Envoy AI Gateway. AI Gateway v1.0.0 needs Envoy
// Gateway v1.8.1 or newer, Gateway API v1.5 and Kubernetes 1.32 or newer
// (its docs' version matrix). v1.0.0 is the newest release whose Go module
// (and so whose CRDs, for the validation tests) the module proxy serves.
// Envoy Gateway is v1.8.3, not v1.8.1: the v1.8.0-v1.8.1 CRDs declare
// BackendTrafficPolicy limit.requests as int32 with a uint32 maximum, and
// kube-apiserver rejects every rate-limit rule with "Maximum boundary value
// must be of type integer with format int32" (envoyproxy/gateway#9186; the
// CRD validation test reproduces it). v1.8.2 fixed the CRD; v1.8.4's module
// is not served by the proxy. Chart versions carry the "v" prefix.
const (
	EnvoyGatewayChart     = "oci://docker.io/envoyproxy/gateway-helm"
	EnvoyGatewayCRDsChart = "oci://docker.io/envoyproxy/gateway-crds-helm"
	EnvoyGatewayVersion   = "v1.8.3"
	AIGatewayChart        = "oci://docker.io/envoyproxy/ai-gateway-helm"
	AIGatewayCRDsChart    = "oci://docker.io/envoyproxy/ai-gateway-crds-helm"
	AIGatewayVersion      = "v1.0.0"
	// GatewayAPIVersion is the Gateway API release Envoy Gateway's CRD
	// chart installs (its go.mod's gateway-api version).
	GatewayAPIVersion = "v1.5.1"
	// RedisImage backs the gateway's token rate limits (the image the AI
	// Gateway token rate-limit example pins).
	RedisImage = "redis:8.2.4-alpine3.22"
)

// Gateway API Inference Extension v1.5.0 (sigs.k8s.io/gateway-api-inference-
// extension; its Go module is served, so the validation tests load its
// CRDs and chart). Envoy AI Gateway v1.0.0 routes to InferencePool
// inference.networking.k8s.io/v1 (it vendors the v1.0.2 API types; the v1
// API is unchanged since, v1.5.0 only adds the optional appProtocol, which
// the AI Gateway ignores). The CRDs are installed from the release's
// manifests.yaml (the install the project's guides give), before the AI
// Gateway controller starts: it skips its InferencePool controller when
// the CRD is missing at startup (internal/controller/controller.go).
const (
	InferenceExtensionVersion = "v1.5.0"
	InferenceExtensionCRDsURL = "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/" + InferenceExtensionVersion + "/manifests.yaml"
	// EndpointPickerImage is the picker the inferencepool chart of the
	// same release deploys (values.yaml inferenceExtension.image).
	EndpointPickerImage = "registry.k8s.io/gateway-api-inference-extension/epp:" + InferenceExtensionVersion
)

// Metrics stack. kube-prometheus-stack 88.6.5 (the last 88.x; 89.0 moved
// to a breaking Grafana chart) ships prometheus-operator v0.93.1, whose
// CRDs the validation tests load. dcgm-exporter 4.8.x labels series with
// "hostname" (4.8.3 renamed it from "Hostname").
const (
	KubePrometheusStackChart   = "oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack"
	KubePrometheusStackVersion = "88.6.5"
	PrometheusOperatorVersion  = "v0.93.1"
	DCGMExporterRepo           = "https://nvidia.github.io/dcgm-exporter/helm-charts"
	DCGMExporterVersion        = "4.8.4"
)

// KEDA autoscales the models (chart and app 2.20.2; the validation tests
// load the CRDs of github.com/kedacore/keda/v2 at the same version).
const (
	KEDARepo    = "https://kedacore.github.io/charts"
	KEDAVersion = "2.20.2"
)

// Chat front end: Open WebUI's official chart 16.0.0 (app 0.11.0, the
// newest stable release; open-webui/helm-charts tag open-webui-16.0.0).
// The chart pulls ghcr.io/open-webui/open-webui:<appVersion>.
const (
	OpenWebUIRepo    = "https://helm.openwebui.com/"
	OpenWebUIChart   = "open-webui"
	OpenWebUIVersion = "16.0.0"
	OpenWebUIImage   = "ghcr.io/open-webui/open-webui:0.11.0"
)

// EKSAddons are the managed addon versions for one Kubernetes minor version.
type EKSAddons struct {
	VPCCNI           string
	CoreDNS          string
	KubeProxy        string
	PodIdentityAgent string
	// EFSCSI is aws-efs-csi-driver, 3.x: S3 Files volumes need 3.0+.
	EFSCSI string
	// EBSCSI is aws-ebs-csi-driver (Prometheus' gp3 volume).
	EBSCSI string
}

// Addons maps each supported Kubernetes version to its addon versions, from
// the version tables of the Amazon EKS user guide (managing-vpc-cni,
// managing-coredns, managing-kube-proxy; checked against `aws eks
// describe-addon-versions` output published in August 2026). kube-proxy
// must match the cluster minor version; coredns builds are cleared per
// Kubernetes version; vpc-cni and the Pod Identity agent are the same build
// across 1.34-1.36. aws-ebs-csi-driver v1.66.0 is pinned on 1.35 and 1.36
// in public EKS configurations (checked against the 1.36 addon catalogue)
// and supports every Kubernetes version EKS supports. aws-efs-csi-driver builds are those seen pinned for each
// Kubernetes version in public EKS configurations (3.3.0 is the newest
// confirmed on 1.36).
var Addons = map[string]EKSAddons{
	"1.34": {VPCCNI: "v1.22.4-eksbuild.3", CoreDNS: "v1.13.2-eksbuild.11", KubeProxy: "v1.34.6-eksbuild.13", PodIdentityAgent: "v1.3.10-eksbuild.3", EFSCSI: "v3.4.0-eksbuild.1", EBSCSI: "v1.66.0-eksbuild.1"},
	"1.35": {VPCCNI: "v1.22.4-eksbuild.3", CoreDNS: "v1.14.3-eksbuild.3", KubeProxy: "v1.35.3-eksbuild.13", PodIdentityAgent: "v1.3.10-eksbuild.3", EFSCSI: "v3.4.2-eksbuild.1", EBSCSI: "v1.66.0-eksbuild.1"},
	"1.36": {VPCCNI: "v1.22.4-eksbuild.3", CoreDNS: "v1.14.3-eksbuild.3", KubeProxy: "v1.36.0-eksbuild.14", PodIdentityAgent: "v1.3.10-eksbuild.3", EFSCSI: "v3.3.0-eksbuild.1", EBSCSI: "v1.66.0-eksbuild.1"},
}

// SupportedKubernetesVersions are the EKS versions in standard support for
// which addon versions are pinned above, and which the pinned Karpenter
// (1.14: up to 1.36) and Envoy AI Gateway (1.32+) releases support.
// Versions in EKS extended support cost six times more per control-plane
// hour and are refused.
var SupportedKubernetesVersions = func() []string {
	out := make([]string, 0, len(Addons))
	for v := range Addons {
		out = append(out, v)
	}
	sort.Strings(out)
	return slices.Clip(out)
}()
