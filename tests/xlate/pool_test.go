package xlate

import (
	"strings"
	"testing"
)

// poolStack is the two-models golden: two models, each behind its
// InferencePool and endpoint picker, routed from the models namespace.
func poolStack(t *testing.T) []Object {
	t.Helper()
	return edit(loadStack(t, "two-models"), func(Object) bool { return true })
}

// TestInferencePoolDesign: the two-models stack passes both translators
// (pools and the namespace selector replaced by stand-ins for egctl,
// pool.go) with everything the golden check asks: routes Accepted across
// namespaces, API keys and the shared token budget on every model route,
// each model name routed to its pool.
func TestInferencePoolDesign(t *testing.T) {
	objs := poolStack(t)
	res := translate(t, objs)
	if len(res.Dropped) > 0 {
		t.Errorf("unchecked (egctl cannot load): %s", strings.Join(res.Dropped, ", "))
	}
	if len(res.StandIns) != 3 { // two pools, one listener
		t.Errorf("stand-ins: %v", res.StandIns)
	}
	for _, s := range res.StandIns {
		t.Logf("stand-in: %s", s)
	}
	for _, p := range Check(settings(t), objs, res) {
		t.Error(p)
	}
}

// TestInferencePoolDesignBites: each pool-specific assertion fails on a
// broken copy of the design.
func TestInferencePoolDesignBites(t *testing.T) {
	set := settings(t)
	for _, tc := range []struct {
		name string
		edit func(o Object) bool
		want string
	}{
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
		{
			name: "per-route budget (shared removed) on a pool route",
			edit: func(o Object) bool {
				if o.Kind() == "BackendTrafficPolicy" {
					for _, r := range rateLimitRules(o) {
						delete(r.(map[string]any), "shared")
					}
				}
				return true
			},
			want: "counted per route",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			aigw, egctl := binaries(t)
			objs := edit(poolStack(t), tc.edit)
			res, err := Translate(aigw, egctl, t.TempDir(), objs)
			var problems []string
			if err != nil {
				problems = []string{err.Error()}
			} else {
				problems = Check(set, objs, res)
			}
			all := strings.Join(problems, "\n")
			if !strings.Contains(all, tc.want) {
				t.Fatalf("the broken copy was not caught with %q; problems:\n%s", tc.want, all)
			}
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					t.Logf("caught: %s", firstLine(p))
				}
			}
		})
	}
}
