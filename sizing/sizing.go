// Package sizing states, in one table, what every platform pod requests
// and may use: the charts' values and the platform's own objects read
// their container resources from here, and the cost estimate sums the
// same figures to size the Karpenter platform pool (package cost). A
// request is what the pod needs at a small platform's load (a few models,
// a few requests a second); the memory limit is what it may grow to
// before it is killed rather than starve its neighbours. No CPU limits:
// CPU is shared by weight, and a limit only throttles a burst the node
// could have served.
//
// Where a figure is upstream's default or guidance, the comment says so.
package sizing

import (
	"fmt"

	"github.com/llm-platform/llm-platform/manifest"
)

// Resources are one container's requests and memory limit.
type Resources struct {
	CPUMilli       int
	MemoryMiB      int
	MemoryLimitMiB int
}

// Values renders the resources the way Kubernetes and the charts take
// them: {requests: {cpu, memory}, limits: {memory}}.
func (r Resources) Values() map[string]any {
	return map[string]any{"requests": manifest.Map(r.Requests()), "limits": manifest.Map(r.Limits())}
}

// Requests are the container's requests as quantities ({cpu, memory}),
// for typed Kubernetes arguments.
func (r Resources) Requests() map[string]string {
	return map[string]string{"cpu": fmt.Sprintf("%dm", r.CPUMilli), "memory": fmt.Sprintf("%dMi", r.MemoryMiB)}
}

// Limits are the container's limits as quantities (memory only).
func (r Resources) Limits() map[string]string {
	return map[string]string{"memory": fmt.Sprintf("%dMi", r.MemoryLimitMiB)}
}

// Plus adds two containers' requests and limits (a pod's total).
func (r Resources) Plus(o Resources) Resources {
	return Resources{r.CPUMilli + o.CPUMilli, r.MemoryMiB + o.MemoryMiB, r.MemoryLimitMiB + o.MemoryLimitMiB}
}

// Gateway (Envoy Gateway v1.8.3, Envoy AI Gateway v1.0.0).
var (
	// EnvoyGatewayController keeps the chart's default (gateway-helm
	// values.tmpl.yaml: 100m / 256Mi, limit 1024Mi).
	EnvoyGatewayController = Resources{100, 256, 1024}
	// Certgen is the chart's pre-install hook Job that writes the
	// control plane's certificates (the chart sets none).
	Certgen = Resources{10, 64, 128}
	// Envoy is the proxy. Envoy Gateway defaults to 100m / 512Mi with no
	// limit; requests are streamed, and with the 16 MiB buffer limit a few
	// dozen buffered prompts fit in the limit (Envoy Gateway caps Envoy's
	// heap at 80% of it).
	Envoy = Resources{250, 256, 1024}
	// ShutdownManager is Envoy Gateway's drain sidecar in each Envoy pod
	// (its hard-coded 10m / 32Mi, plus a limit).
	ShutdownManager = Resources{10, 32, 64}
	// ExtProc is the AI Gateway's sidecar in each Envoy pod (token
	// counting, request translation); the AI Gateway's own example
	// (examples/gateway-config/comprehensive.yaml) asks 100m / 128Mi.
	ExtProc = Resources{100, 128, 512}
	// RateLimit is Envoy Gateway's global rate-limit service (its default
	// is 100m / 512Mi with no limit: far more than a counter lookup per
	// request needs).
	RateLimit = Resources{50, 64, 256}
	// Redis holds the token counters (a few keys per client and hour).
	Redis = Resources{50, 64, 256}
	// AIGatewayController translates AIGatewayRoutes and serves Envoy
	// Gateway's extension hooks (the chart sets none).
	AIGatewayController = Resources{100, 128, 512}
)

// EndpointPicker is each model's endpoint picker. The chart asks 4 CPUs
// and 8 GiB, for high request rates; one picker of a few replicas scores a
// handful of endpoints per request, and its queue holds at most 256 MiB of
// bodies (platform.pickerMaxQueuedBytes) within the limit.
var EndpointPicker = Resources{250, 512, 2048}

// Preload is a model's weight download Job (one HTTP stream at a time,
// checksummed as it is written).
var Preload = Resources{250, 256, 512}

// KEDA 2.20.2 (the chart's defaults are 100m / 100Mi with a 1 CPU, 1000Mi
// limit for each of the three, from KEDA's cluster-capacity docs).
var (
	KEDAOperator      = Resources{100, 128, 512}
	KEDAMetricsServer = Resources{50, 64, 256}
	KEDAWebhooks      = Resources{20, 64, 256}
)

// Metrics stack (kube-prometheus-stack 88.6.5).
var (
	// Prometheus: about 3 kB per active series in the head (Robust
	// Perception) puts the platform's ~50-150k series at 150-450 MiB, plus
	// compaction and queries.
	Prometheus = Resources{200, 1024, 2048}
	// ConfigReloader is the prometheus-operator's sidecar (and init
	// container) in the Prometheus and Alertmanager pods; the chart passes
	// 0, none, unless set (the operator's own default is 10m / 50Mi).
	ConfigReloader     = Resources{10, 32, 64}
	Alertmanager       = Resources{20, 64, 256}
	PrometheusOperator = Resources{50, 64, 256}
	// AdmissionJob is each of the chart's two hook Jobs that create and
	// patch the operator's admission webhook certificate.
	AdmissionJob = Resources{10, 32, 64}
	// Grafana's docs recommend 512 MB; the chart turns the limit into
	// GOMEMLIMIT.
	Grafana = Resources{100, 256, 512}
	// GrafanaSidecar is each of the two sidecars that load dashboards and
	// data sources from ConfigMaps.
	GrafanaSidecar   = Resources{10, 64, 128}
	KubeStateMetrics = Resources{10, 64, 128}
	// NodeExporter runs on every node (a DaemonSet).
	NodeExporter = Resources{20, 32, 64}
)

// Chat front end (Open WebUI 0.11.0, chart 16.0.0; the chart sets no
// resources). OpenWebUI loads its embedding model (sentence-transformers
// all-MiniLM-L6-v2) and the Python backend at start: about 1 GiB resident
// when idle, more while it embeds uploaded documents.
var (
	OpenWebUI = Resources{200, 1024, 2048}
	// OpenWebUICopy is the chart's copy-app-data init container (cp -R -n
	// of the image's seeded data into the volume).
	OpenWebUICopy = Resources{50, 64, 256}
)

// EBSCSIController is what the aws-ebs-csi-driver addon's controller pod
// requests by its chart's defaults (six containers at 10m / 40Mi and the
// liveness probe at 10m / 32Mi); its addon configuration is left at them.
// The EFS CSI driver's controller requests nothing by default.
var EBSCSIController = Resources{70, 272, 1568}

// Pod is one long-running platform workload: its replicas and the sum of
// its containers' resources.
type Pod struct {
	Name      string
	Replicas  int
	Resources Resources
	// AMD64Only pods need an amd64 node (their image publishes no arm64).
	AMD64Only bool
}

// Platform says which optional platform services a stack runs.
type Platform struct {
	// Models is the number of models (one endpoint picker each).
	Models int
	// TokenLimits: some client has a token budget (the rate-limit service
	// and its Redis run).
	TokenLimits bool
	// Observability: the metrics stack and the EBS CSI driver run.
	Observability bool
	// PickerAMD64Only: the endpoint picker's image has no arm64 build.
	PickerAMD64Only bool
	// Chat: the chat front end runs (package chat).
	Chat bool
}

// AlwaysOn lists the platform pool's long-running pods (hook Jobs and
// preload Jobs come and go, DaemonSets are per node: PerNode).
func AlwaysOn(p Platform) []Pod {
	envoy := Envoy.Plus(ShutdownManager).Plus(ExtProc)
	pods := []Pod{
		{Name: "envoy", Replicas: 2, Resources: envoy},
		{Name: "envoy-gateway", Replicas: 2, Resources: EnvoyGatewayController},
		{Name: "ai-gateway-controller", Replicas: 1, Resources: AIGatewayController},
		{Name: "keda-operator", Replicas: 1, Resources: KEDAOperator},
		{Name: "keda-metrics-apiserver", Replicas: 1, Resources: KEDAMetricsServer},
		{Name: "keda-admission-webhooks", Replicas: 1, Resources: KEDAWebhooks},
		{Name: "efs-csi-controller", Replicas: 2},
	}
	if p.TokenLimits {
		pods = append(pods,
			Pod{Name: "envoy-ratelimit", Replicas: 1, Resources: RateLimit},
			Pod{Name: "redis", Replicas: 1, Resources: Redis})
	}
	if p.Observability {
		pods = append(pods,
			Pod{Name: "prometheus", Replicas: 1, Resources: Prometheus.Plus(ConfigReloader)},
			Pod{Name: "alertmanager", Replicas: 1, Resources: Alertmanager.Plus(ConfigReloader)},
			Pod{Name: "prometheus-operator", Replicas: 1, Resources: PrometheusOperator},
			Pod{Name: "grafana", Replicas: 1, Resources: Grafana.Plus(GrafanaSidecar).Plus(GrafanaSidecar)},
			Pod{Name: "kube-state-metrics", Replicas: 1, Resources: KubeStateMetrics},
			Pod{Name: "ebs-csi-controller", Replicas: 2, Resources: EBSCSIController})
	}
	if p.Chat {
		pods = append(pods, Pod{Name: "open-webui", Replicas: 1, Resources: OpenWebUI})
	}
	for i := 0; i < p.Models; i++ {
		pods = append(pods, Pod{Name: fmt.Sprintf("endpoint-picker-%d", i), Replicas: 1, Resources: EndpointPicker, AMD64Only: p.PickerAMD64Only})
	}
	return pods
}

// PerNode is what the DaemonSets take on every platform node: the VPC CNI
// (aws-node and its network policy agent, 50m), kube-proxy (100m), the
// EBS CSI node plugin (30m / 104Mi, with observability) and the node
// exporter (with observability); the EFS CSI node plugin and the Pod
// Identity agent request nothing.
func PerNode(observability bool) Resources {
	r := Resources{CPUMilli: 150}
	if observability {
		r = r.Plus(Resources{30, 104, 320}).Plus(NodeExporter)
	}
	return r
}
