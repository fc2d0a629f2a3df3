package crd

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/llm-platform/llm-platform/inference"
	"github.com/llm-platform/llm-platform/inference/eppconfig"
	"github.com/llm-platform/llm-platform/versions"
)

// goldenPool is the pool the program declares for a golden vLLM
// Deployment: its name, namespace, pod labels and port, with the EPP
// configuration of the dev example spec. The goldens hold no InferencePool
// until the program wires package inference; then
// TestRenderedCustomResourcesValid checks the program's own.
func goldenPool(t *testing.T, stack, file string) inference.Pool {
	t.Helper()
	dep := goldenObject(t, stack, file)
	labels, _, err := unstructured.NestedStringMap(dep, "spec", "selector", "matchLabels")
	if err != nil || len(labels) == 0 {
		t.Fatalf("%s/%s: no selector labels (%v)", stack, file, err)
	}
	containers, _, _ := unstructured.NestedSlice(dep, "spec", "template", "spec", "containers")
	port := 0
	for _, c := range containers {
		ports, _, _ := unstructured.NestedSlice(c.(map[string]any), "ports")
		for _, p := range ports {
			if p.(map[string]any)["name"] == "http" {
				n, _, _ := unstructured.NestedFieldNoCopy(p.(map[string]any), "containerPort")
				switch v := n.(type) {
				case int64:
					port = int(v)
				case float64:
					port = int(v)
				}
			}
		}
	}
	if port == 0 {
		t.Fatalf("%s/%s: no container port named http", stack, file)
	}
	return inference.Pool{
		Model:        dep["metadata"].(map[string]any)["name"].(string),
		Namespace:    dep["metadata"].(map[string]any)["namespace"].(string),
		PodLabels:    labels,
		Port:         port,
		Config:       eppconfig.Config(eppconfig.Spec{MaxNumSeqs: 32, RequestTTLSeconds: 280, MaxQueuedRequests: 256, MaxQueuedBytes: 64 << 20}),
		NodeSelector: map[string]string{"llm-platform/node-role": "system"},
	}
}

// goldenPools are the pools of every golden vLLM Deployment.
func goldenPools(t *testing.T) []inference.Pool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*", "kubernetes", "deployment-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []inference.Pool
	for _, f := range files {
		stack := filepath.Base(filepath.Dir(filepath.Dir(f)))
		dep := goldenObject(t, stack, filepath.Base(f))
		if labels, _, _ := unstructured.NestedStringMap(dep, "metadata", "labels"); labels["llm-platform/component"] == "vllm" {
			out = append(out, goldenPool(t, stack, filepath.Base(f)))
		}
	}
	if len(out) == 0 {
		t.Fatal("no golden vLLM Deployment")
	}
	return out
}

// The Inference Extension's kinds are loaded from the version the platform
// deploys: InferencePool v1 and the x-k8s.io kinds the picker watches.
func TestInferenceExtensionKindsLoaded(t *testing.T) {
	t.Parallel()
	v := load(t)
	kinds := v.Kinds()
	for _, want := range []string{
		"inference.networking.k8s.io/v1, Kind=InferencePool",
		"inference.networking.x-k8s.io/v1alpha2, Kind=InferenceObjective",
		"inference.networking.x-k8s.io/v1alpha2, Kind=InferenceModelRewrite",
	} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no CRD loaded for %s", want)
			continue
		}
		if src := v.Sources[want]; !strings.Contains(src, "sigs.k8s.io/gateway-api-inference-extension@"+versions.InferenceExtensionVersion+"/") {
			t.Errorf("%s comes from %s", want, src)
		}
	}
}

// InferencePoolObject, for every golden model, passes the v1.5.0 CRD, schema and CEL rules; broken
// copies are refused for the reasons kube-apiserver gives.
func TestInferencePoolObjectValid(t *testing.T) {
	t.Parallel()
	v := load(t)
	for _, p := range goldenPools(t) {
		if errs := v.Validate(inference.InferencePoolObject(p)); len(errs) > 0 {
			t.Errorf("InferencePoolObject(%s) is invalid:\n%v", p.Model, errs.ToAggregate())
		}
	}
	p := goldenPool(t, "dev", "deployment-qwen25-7b.yaml")
	pool := func() map[string]any { return inference.InferencePoolObject(p) }
	spec := func(obj map[string]any) map[string]any { return obj["spec"].(map[string]any) }
	ref := func(obj map[string]any) map[string]any { return spec(obj)["endpointPickerRef"].(map[string]any) }
	for _, tc := range []struct {
		name   string
		mutate func(obj map[string]any)
		typ    field.ErrorType
		path   string
		detail string
	}{
		{"CEL: duplicate target ports", func(obj map[string]any) {
			spec(obj)["targetPorts"] = []any{map[string]any{"number": p.Port}, map[string]any{"number": p.Port}}
		}, field.ErrorTypeInvalid, "spec.targetPorts", "port number must be unique"},
		{"CEL: endpoint picker Service without a port (kind defaulted)", func(obj map[string]any) {
			delete(ref(obj), "port")
		}, field.ErrorTypeInvalid, "spec.endpointPickerRef", "port is required when kind is 'Service'"},
		{"CEL: endpoint picker Service without a port (kind explicit)", func(obj map[string]any) {
			delete(ref(obj), "port")
			ref(obj)["kind"] = "Service"
		}, field.ErrorTypeInvalid, "spec.endpointPickerRef", "port is required when kind is 'Service'"},
		{"schema: unknown failure mode", func(obj map[string]any) {
			ref(obj)["failureMode"] = "FailSoft"
		}, field.ErrorTypeNotSupported, "spec.endpointPickerRef.failureMode", "FailSoft"},
		{"schema: more than 8 target ports", func(obj map[string]any) {
			var ports []any
			for i := range 9 {
				ports = append(ports, map[string]any{"number": 8000 + i})
			}
			spec(obj)["targetPorts"] = ports
		}, field.ErrorTypeTooMany, "spec.targetPorts", ""},
		{"schema: no selector labels", func(obj map[string]any) {
			spec(obj)["selector"] = map[string]any{"matchLabels": map[string]any{}}
		}, field.ErrorTypeInvalid, "spec.selector.matchLabels", ""},
		{"pruning: the v1alpha2 field name", func(obj map[string]any) {
			spec(obj)["targetPortNumber"] = p.Port
		}, field.ErrorTypeInvalid, "spec.targetPortNumber", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := pool()
			tc.mutate(obj)
			errs := v.Validate(obj)
			if !hasError(errs, tc.typ, tc.path, tc.detail) {
				t.Errorf("want a %s error at %s with %q, got:\n%v", tc.typ, tc.path, tc.detail, errs.ToAggregate())
			}
			t.Logf("refused: %v", errs.ToAggregate())
		})
	}
}
