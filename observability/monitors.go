package observability

import (
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/observability/metrics"
)

// Namespace holds the metrics stack, its monitors and rules.
const Namespace = "monitoring"

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
				"portNumber": 1064, "path": "/metrics", "interval": "15s",
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
