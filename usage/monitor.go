package usage

import (
	"github.com/llm-platform/llm-platform/gateway"
	"github.com/llm-platform/llm-platform/observability"
)

// RateLimitMetricsPort names the rate limit service's metrics port: Envoy
// Gateway v1.8.3 gives its container a port "metrics" (19001), where
// envoyproxy/ratelimit serves /metrics, unless the EnvoyGateway config
// turns its Prometheus metrics off, which the platform does not
// (internal/infrastructure/kubernetes/ratelimit/resource.go,
// expectedRateLimitContainers and enablePrometheus).
const RateLimitMetricsPort = "metrics"

// RateLimitPodLabels are the labels Envoy Gateway v1.8.3 puts on the rate
// limit service's pods (internal/infrastructure/kubernetes/ratelimit/
// resource.go, rateLimitLabels). The Envoy proxy pods in the same
// namespace share the managed-by label only.
var RateLimitPodLabels = map[string]string{
	"app.kubernetes.io/name":       gateway.RateLimitServiceName,
	"app.kubernetes.io/component":  "ratelimit",
	"app.kubernetes.io/managed-by": "envoy-gateway",
}

// RateLimitPodMonitor scrapes the rate limit service's pods, in the
// namespace Envoy Gateway runs them in (its own), every 30 s: they flush
// their counters every 10 s (envoyproxy/ratelimit STATS_FLUSH_INTERVAL),
// and the hourly totals need no finer step.
func RateLimitPodMonitor(namespace string) map[string]any {
	labels := map[string]any{}
	for k, v := range RateLimitPodLabels {
		labels[k] = v
	}
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PodMonitor",
		"metadata":   map[string]any{"name": gateway.RateLimitServiceName, "namespace": observability.Namespace},
		"spec": map[string]any{
			"namespaceSelector": map[string]any{"matchNames": []any{namespace}},
			"selector":          map[string]any{"matchLabels": labels},
			"podMetricsEndpoints": []any{map[string]any{
				"port": RateLimitMetricsPort, "path": "/metrics", "interval": "30s",
			}},
		},
	}
}
