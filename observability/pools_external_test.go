package observability_test

import (
	"testing"

	"github.com/llm-platform/llm-platform/inference"
	"github.com/llm-platform/llm-platform/observability"
	"github.com/llm-platform/llm-platform/observability/metrics"
)

// The PodMonitor finds the pickers package inference declares: their pods
// carry its labels, and their container names its port. (An external test
// package: inference may come to import observability.)
func TestEPPPodMonitorMatchesThePickers(t *testing.T) {
	t.Parallel()
	if metrics.ComponentLabel != inference.ComponentLabel || metrics.EPPComponent != inference.ComponentValue {
		t.Errorf("metrics has %s=%s, inference labels pickers %s=%s",
			metrics.ComponentLabel, metrics.EPPComponent, inference.ComponentLabel, inference.ComponentValue)
	}
	pool := inference.Pool{Model: "qwen", Namespace: "models", PodLabels: map[string]string{"app": "vllm"}, Port: 8000}
	var deployments int
	for _, obj := range inference.EPPObjects(pool) {
		if obj["kind"] != "Deployment" {
			continue
		}
		deployments++
		pm := observability.EPPPodMonitor(pool.Namespace)
		spec := pm["spec"].(map[string]any)
		if ns := spec["namespaceSelector"].(map[string]any)["matchNames"].([]any); len(ns) != 1 || ns[0] != obj["metadata"].(map[string]any)["namespace"] {
			t.Errorf("PodMonitor namespaces %v, picker in %v", ns, obj["metadata"])
		}
		tmpl := obj["spec"].(map[string]any)["template"].(map[string]any)
		labels := tmpl["metadata"].(map[string]any)["labels"].(map[string]any)
		for k, v := range spec["selector"].(map[string]any)["matchLabels"].(map[string]any) {
			if labels[k] != v {
				t.Errorf("picker pods have %s=%v, the PodMonitor selects %v", k, labels[k], v)
			}
		}
		port := spec["podMetricsEndpoints"].([]any)[0].(map[string]any)["port"]
		found := false
		for _, c := range tmpl["spec"].(map[string]any)["containers"].([]any) {
			for _, p := range c.(map[string]any)["ports"].([]any) {
				pp := p.(map[string]any)
				if pp["name"] == port {
					found = true
					if pp["containerPort"] != inference.MetricsPort {
						t.Errorf("port %v is %v, not the metrics port %d", port, pp["containerPort"], inference.MetricsPort)
					}
				}
			}
		}
		if !found {
			t.Errorf("no picker container port is named %v", port)
		}
	}
	if deployments != 1 {
		t.Errorf("%d picker Deployments", deployments)
	}
}
