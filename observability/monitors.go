package observability

import (
	"fmt"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/observability/metrics"
)

// Namespace holds the metrics stack, its monitors and rules: Prometheus,
// Alertmanager, Grafana, the Prometheus operator and kube-state-metrics.
// It enforces the restricted Pod Security level.
const Namespace = "monitoring"

// HostNamespace holds the per-node exporters that need the host: the
// DCGM exporter (privileged, for the GPUs) and node-exporter (hostNetwork,
// hostPID, hostPath). It is the one observability namespace that admits
// privileged pods, so nothing else is put there.
const HostNamespace = "monitoring-host"

// Pod Security levels the namespaces enforce (and warn about, so that a
// workload whose pods would be refused is flagged when it is applied, not
// only when its controller fails to create pods). They are the strictest
// each namespace's pods pass; tests/crd/kubeapi checks both against a real
// kube-apiserver, with the pods of the charts as package chartdefaults
// records them.
var namespaceLabels = map[string]map[string]string{
	Namespace: {
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	},
	HostNamespace: {
		"pod-security.kubernetes.io/enforce": "privileged",
	},
}

// PrometheusURL is the in-cluster Prometheus (the kube-prometheus-stack
// release uses fullnameOverride "kps", so the Service is kps-prometheus).
const PrometheusURL = "http://kps-prometheus." + Namespace + ".svc.cluster.local:9090"

// VLLMPodMonitor scrapes /metrics on the http port of every vLLM pod.
func VLLMPodMonitor(modelNamespace string) map[string]any {
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PodMonitor",
		"metadata":   map[string]any{"name": "vllm", "namespace": Namespace},
		"spec": map[string]any{
			"namespaceSelector": map[string]any{"matchNames": []any{modelNamespace}},
			"selector":          map[string]any{"matchLabels": map[string]any{metrics.ComponentLabel: metrics.VLLMComponent}},
			"podMetricsEndpoints": []any{map[string]any{
				"port": "http", "path": "/metrics", "interval": "15s",
			}},
		},
	}
}

// GatewayPodMonitor scrapes the AI Gateway external processor, a sidecar
// of every Envoy pod, on its admin port 1064.
func GatewayPodMonitor(envoyNamespace string) map[string]any {
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PodMonitor",
		"metadata":   map[string]any{"name": "ai-gateway-extproc", "namespace": Namespace},
		"spec": map[string]any{
			"namespaceSelector": map[string]any{"matchNames": []any{envoyNamespace}},
			"selector":          map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/managed-by": "envoy-gateway"}},
			"podMetricsEndpoints": []any{map[string]any{
				// The wake-up trigger of a model at zero reads these
				// series: the interval is part of its cold-start budget.
				"portNumber": 1064, "path": "/metrics", "interval": fmt.Sprintf("%ds", coldstart.ScrapeIntervalSeconds),
			}},
		},
	}
}

// ServiceMonitorObject scrapes a named port of Services matched by labels.
func ServiceMonitorObject(name, namespace string, labels map[string]string, port string) map[string]any {
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "ServiceMonitor",
		"metadata":   map[string]any{"name": name, "namespace": Namespace},
		"spec": map[string]any{
			"namespaceSelector": map[string]any{"matchNames": []any{namespace}},
			"selector":          map[string]any{"matchLabels": manifest.Map(labels)},
			"endpoints":         []any{map[string]any{"port": port, "interval": "30s"}},
		},
	}
}
