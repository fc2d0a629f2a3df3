package xlate

import "testing"

// TestInferencePoolDesignBites: each pool-specific assertion fails on a
// broken copy of the two-models golden (two models, each behind its
// InferencePool and endpoint picker, routed from the models namespace).
func TestInferencePoolDesignBites(t *testing.T) {
	checkBrokenCopies(t, "two-models", []brokenCopy{
		{
			name: "route names a pool that is not rendered",
			edit: func(o Object) bool { return o.Kind() != inferencePoolKind || o.Name() != "qwen-bf16" },
			want: "InferencePool models/qwen-bf16 is not rendered",
		},
		{
			name: "pool selector matches no vLLM pods",
			edit: func(o Object) bool {
				if o.Kind() == inferencePoolKind {
					dig(o, "spec", "selector", "matchLabels").(map[string]any)["app.kubernetes.io/name"] = "vlm"
				}
				return true
			},
			want: "selects no rendered workload's pods in namespace models",
		},
		{
			name: "pool target port is not vLLM's",
			edit: func(o Object) bool {
				if o.Kind() == inferencePoolKind {
					list(dig(o, "spec", "targetPorts"))[0].(map[string]any)["number"] = 8080
				}
				return true
			},
			want: "target port 8080 is no container port",
		},
		{
			name: "endpoint picker Service missing",
			edit: func(o Object) bool { return o.Kind() != "Service" || o.Name() != "qwen-awq-epp" },
			want: "endpoint picker Service models/qwen-awq-epp is not rendered",
		},
		{
			name: "endpoint picker port mismatch",
			edit: func(o Object) bool {
				if o.Kind() == inferencePoolKind {
					dig(o, "spec", "endpointPickerRef", "port").(map[string]any)["number"] = 9003
				}
				return true
			},
			want: "has no port 9003",
		},
		{
			name: "listener selector does not admit the models namespace",
			edit: func(o Object) bool {
				if o.Kind() == "Gateway" {
					for _, l := range list(dig(o, "spec", "listeners")) {
						dig(l, "allowedRoutes", "namespaces", "selector", "matchLabels").(map[string]any)["kubernetes.io/metadata.name"] = "model"
					}
				}
				return true
			},
			want: "admits routes from namespace models (NotAllowedByListeners)",
		},
		{
			name: "listener left at from: Same",
			edit: func(o Object) bool {
				if o.Kind() == "Gateway" {
					for _, l := range list(dig(o, "spec", "listeners")) {
						l.(map[string]any)["allowedRoutes"] = map[string]any{"namespaces": map[string]any{"from": "Same"}}
					}
				}
				return true
			},
			// Envoy Gateway's own verdict, quoted.
			want: "Accepted=False (NotAllowedByListeners)",
		},
	})
}
