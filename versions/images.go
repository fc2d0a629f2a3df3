package versions

import "slices"

// Image is a container image the platform pool runs, with the CPU
// architectures it publishes at the pinned version and where that was
// read. No registry is reachable from where this is built, so each entry
// cites the project's build and release configuration at the pinned tag
// (checked December 2026); a changed pin re-reads its source.
type Image struct {
	// Name is the image as its workload deploys it (repository:tag, or
	// repository when the chart pins the tag).
	Name string
	// ARM64 says a linux/arm64 build is published at that version (all
	// of them publish linux/amd64).
	ARM64 bool
	// Source is where that was read.
	Source string
}

// PlatformImages are the images of every platform-pool workload. All but
// the endpoint picker publish arm64, so the pool defaults to Graviton and
// the picker alone is pinned to amd64 (platformpool.NodeSelectorFor).
var PlatformImages = []Image{
	{"docker.io/envoyproxy/gateway:" + EnvoyGatewayVersion, true,
		"envoyproxy/gateway " + EnvoyGatewayVersion + " tools/make/image.mk IMAGE_PLATFORMS linux_amd64 linux_arm64, pushed multi-arch by .github/workflows/release.yaml; also the certgen Job and the Envoy pods' shutdown manager"},
	{"docker.io/envoyproxy/envoy:distroless-v1.38.3", true,
		"Envoy Gateway " + EnvoyGatewayVersion + " api/v1alpha1/shared_types.go DefaultEnvoyProxyImage; envoyproxy/envoy distribution/docker/docker_ci.sh builds -distroless for linux/arm64,linux/amd64"},
	{"docker.io/envoyproxy/ratelimit:1e50889b", true,
		"Envoy Gateway " + EnvoyGatewayVersion + " DefaultRateLimitImage; envoyproxy/ratelimit Makefile BUILDX_PLATFORMS linux/amd64,linux/arm64/v8"},
	{"docker.io/envoyproxy/ai-gateway-controller:" + AIGatewayVersion, true,
		"envoyproxy/ai-gateway " + AIGatewayVersion + " .github/workflows/docker_build_job.yaml ENABLE_MULTI_PLATFORMS=true, Makefile GOARCH_LIST amd64 arm64"},
	{"docker.io/envoyproxy/ai-gateway-extproc:" + AIGatewayVersion, true,
		"as the AI Gateway controller (same build matrix)"},
	{"ghcr.io/kedacore/keda:" + KEDAVersion, true,
		"kedacore/keda v" + KEDAVersion + " Makefile BUILD_PLATFORMS linux/amd64,linux/arm64,linux/s390x; also keda-metrics-apiserver and keda-admission-webhooks"},
	{"quay.io/prometheus/prometheus", true, "prometheus/prometheus Makefile.common DOCKER_ARCHS (amd64 arm64 ...), the tag kube-prometheus-stack " + KubePrometheusStackVersion + " pins"},
	{"quay.io/prometheus/alertmanager", true, "prometheus/alertmanager Makefile.common DOCKER_ARCHS"},
	{"quay.io/prometheus-operator/prometheus-operator:" + PrometheusOperatorVersion, true,
		"prometheus-operator/prometheus-operator v0.93.0 Makefile ARCH list and multi-arch manifest (v0.93.1 not in the snapshot read); also prometheus-config-reloader"},
	{"ghcr.io/jkroepke/kube-webhook-certgen", true, "jkroepke/kube-webhook-certgen release workflow (linux/amd64, linux/arm64): kube-prometheus-stack's admission hook Jobs"},
	{"docker.io/grafana/grafana", true, "grafana/grafana release builds (linux/amd64, linux/arm64); medium confidence, read from its docs, not a build file"},
	{"quay.io/kiwigrid/k8s-sidecar", true, "kiwigrid/k8s-sidecar release workflow platforms linux/amd64,linux/arm64"},
	{"registry.k8s.io/kube-state-metrics/kube-state-metrics", true, "kubernetes/kube-state-metrics Makefile ALL_ARCH amd64 arm64 ..."},
	{"quay.io/prometheus/node-exporter", true, "prometheus/node_exporter Makefile DOCKER_ARCHS amd64 arm64 ..."},
	{RedisImage, true, "docker-library/official-images library/redis: arm64v8 among the tag's Architectures"},
	{PreloadImage, true, "docker-library/official-images library/python: arm64v8 among the tag's Architectures"},
	{OpenWebUIImage, true,
		"open-webui/open-webui .github/workflows/docker.yaml: platforms linux/amd64 (ubuntu-latest) and linux/arm64 (ubuntu-24.04-arm), per-arch digests merged by docker buildx imagetools create on v* tags; read on the default branch, not at the v0.11.0 tag (docs quick start: x86_64 and ARM64). Check with docker buildx imagetools inspect before a bump"},
	// The picker's Dockerfile hard-codes ENV GOARCH=amd64 and its Makefile
	// builds one platform (PLATFORMS ?= linux/$(TARGETARCH)) on amd64
	// Cloud Build runners: an arm64 build was merged and reverted before
	// v1.5.0 (#2350, #2580), and v1.6.0 is still amd64 only. tests/epp
	// reads the Dockerfile in the pinned module and fails if this entry
	// and the Dockerfile disagree.
	{EndpointPickerImage, false,
		"gateway-api-inference-extension " + InferenceExtensionVersion + " Dockerfile ENV GOARCH=amd64, Makefile PLATFORMS ?= linux/$(TARGETARCH)"},
}

// PublishesARM64 reports whether an image of PlatformImages publishes
// linux/arm64; an image it does not list is taken not to.
func PublishesARM64(name string) bool {
	i := slices.IndexFunc(PlatformImages, func(im Image) bool { return im.Name == name })
	return i >= 0 && PlatformImages[i].ARM64
}
