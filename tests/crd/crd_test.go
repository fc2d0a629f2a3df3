package crd

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/llm-platform/llm-platform/versions"
)

var (
	loadOnce  sync.Once
	validator *Validator
	loadErr   error
)

func load(t *testing.T) *Validator {
	t.Helper()
	loadOnce.Do(func() { validator, loadErr = LoadSources(Sources) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return validator
}

// The CRDs are the ones of the versions the program deploys.
func TestCRDVersionsMatchDeployedVersions(t *testing.T) {
	t.Parallel()
	pins := map[string]string{
		"github.com/aws/karpenter-provider-aws":              "v" + versions.KarpenterVersion,
		"sigs.k8s.io/gateway-api":                            versions.GatewayAPIVersion,
		"github.com/envoyproxy/gateway":                      versions.EnvoyGatewayVersion,
		"github.com/envoyproxy/ai-gateway":                   versions.AIGatewayVersion,
		"github.com/prometheus-operator/prometheus-operator": versions.PrometheusOperatorVersion,
		"github.com/kedacore/keda/v2":                        "v" + versions.KEDAVersion,
		"sigs.k8s.io/gateway-api-inference-extension":        versions.InferenceExtensionVersion,
	}
	loaded := load(t).Modules
	for _, s := range Sources {
		want, ok := pins[s.Module]
		if !ok {
			t.Errorf("CRD source %s has no deployed version to match", s.Module)
			continue
		}
		m, ok := loaded[s.Module]
		if !ok {
			t.Errorf("no CRDs were loaded from %s", s.Module)
			continue
		}
		if m.Version != want {
			t.Errorf("CRDs of %s come from %s, but the platform deploys %s", s.Module, m.Version, want)
		}
	}
}

// builtinGroups are Kubernetes API groups served by kube-apiserver itself;
// everything else must have a loaded CRD.
var builtinGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "policy": true, "autoscaling": true,
	"networking.k8s.io": true, "rbac.authorization.k8s.io": true, "storage.k8s.io": true,
	"scheduling.k8s.io": true, "coordination.k8s.io": true, "admissionregistration.k8s.io": true,
	"apiextensions.k8s.io": true, "certificates.k8s.io": true, "discovery.k8s.io": true, "node.k8s.io": true,
}

func group(apiVersion string) string {
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// renderedObjects reads every Kubernetes object of every golden render
// (the goldens equal the program's render: the root module's golden test
// fails otherwise).
func renderedObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*", "kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no rendered Kubernetes objects found under ../testdata/golden")
	}
	objs := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := DecodeYAML(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		_, isRelease := obj["helmRelease"]
		_, isChart := obj["helmChart"]
		if isRelease || isChart {
			continue
		}
		objs[f] = obj
	}
	return objs
}

// Every custom resource the program declares is accepted by the upstream
// CRD, schema and CEL rules alike; a kind with no CRD fails.
func TestRenderedCustomResourcesValid(t *testing.T) {
	t.Parallel()
	v := load(t)
	checked := map[string]int{}
	objs := renderedObjects(t)
	paths := make([]string, 0, len(objs))
	for p := range objs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		obj := objs[path]
		apiVersion, _ := obj["apiVersion"].(string)
		if builtinGroups[group(apiVersion)] {
			continue
		}
		kind, _ := obj["kind"].(string)
		checked[apiVersion+" "+kind]++
		if errs := v.Validate(obj); len(errs) > 0 {
			t.Errorf("%s (%s %s) is invalid:\n%s", path, apiVersion, kind, errs.ToAggregate())
		}
	}
	// The dev stack has the LLM layer on, so these kinds must be there.
	for _, want := range []string{
		"karpenter.sh/v1 NodePool", "karpenter.k8s.aws/v1 EC2NodeClass",
		"gateway.networking.k8s.io/v1 GatewayClass", "gateway.networking.k8s.io/v1 Gateway",
		"gateway.envoyproxy.io/v1alpha1 EnvoyProxy", "inference.networking.k8s.io/v1 InferencePool",
		"gateway.envoyproxy.io/v1alpha1 SecurityPolicy", "gateway.envoyproxy.io/v1alpha1 ClientTrafficPolicy",
		"gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy",
		"aigateway.envoyproxy.io/v1beta1 AIGatewayRoute",
		"keda.sh/v1alpha1 ScaledObject",
		"monitoring.coreos.com/v1 PodMonitor", "monitoring.coreos.com/v1 ServiceMonitor", "monitoring.coreos.com/v1 PrometheusRule",
	} {
		if checked[want] == 0 {
			t.Errorf("no %s was rendered and validated (checked %v)", want, checked)
		}
	}
}

func goldenObject(t *testing.T, stack, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "golden", stack, "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := DecodeYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func hasError(errs field.ErrorList, typ field.ErrorType, pathPart, detailPart string) bool {
	for _, e := range errs {
		if e.Type == typ && strings.Contains(e.Field, pathPart) && strings.Contains(e.Error(), detailPart) {
			return true
		}
	}
	return false
}

// The harness catches what kube-apiserver would reject, and for the same
// reason: these mutate the valid dev NodePool and EC2NodeClass.
func TestHarnessRejectsLikeTheAPIServer(t *testing.T) {
	t.Parallel()
	v := load(t)
	nodePool := func() map[string]any { return goldenObject(t, "dev", "nodepool-gpu-l4-nodepool.yaml") }
	nodeClass := func() map[string]any { return goldenObject(t, "dev", "ec2nodeclass-gpu-l4-nodeclass.yaml") }
	dig := func(obj map[string]any, path ...string) map[string]any {
		cur := obj
		for _, p := range path {
			cur = cur[p].(map[string]any)
		}
		return cur
	}

	t.Run("CEL: requirement key in the restricted karpenter.sh domain", func(t *testing.T) {
		obj := nodePool()
		tmpl := dig(obj, "spec", "template", "spec")
		tmpl["requirements"] = append(tmpl["requirements"].([]any),
			map[string]any{"key": "karpenter.sh/custom", "operator": "In", "values": []any{"x"}})
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeInvalid, "requirements", "restricted") {
			t.Errorf("want a CEL error about the restricted label domain, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("schema: unknown consolidation policy", func(t *testing.T) {
		obj := nodePool()
		dig(obj, "spec", "disruption")["consolidationPolicy"] = "WhenIdle"
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeNotSupported, "consolidationPolicy", "WhenIdle") {
			t.Errorf("want a NotSupported error for the policy, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("CEL: improperly formatted AMI alias", func(t *testing.T) {
		obj := nodeClass()
		dig(obj, "spec")["amiSelectorTerms"] = []any{map[string]any{"alias": "bottlerocket-1.64.0"}}
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeInvalid, "alias", "family@version") {
			t.Errorf("want the alias format rule, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("pruning: unknown field", func(t *testing.T) {
		obj := nodePool()
		dig(obj, "spec")["maxNodes"] = int64(3)
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeInvalid, "spec.maxNodes", "unknown field") {
			t.Errorf("want an unknown-field error, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("schema: integer where a string is expected", func(t *testing.T) {
		obj := nodePool()
		dig(obj, "spec", "disruption")["budgets"] = []any{map[string]any{"nodes": int64(1)}}
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeInvalid, "budgets", "") && !hasError(errs, field.ErrorTypeTypeInvalid, "budgets", "") {
			t.Errorf("want a type error for budgets[0].nodes, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("meta: invalid name", func(t *testing.T) {
		obj := nodePool()
		dig(obj, "metadata")["name"] = "GPU_L4"
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeInvalid, "metadata.name", "") {
			t.Errorf("want a metadata.name error, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("schema: more than 15 rules in one AIGatewayRoute", func(t *testing.T) {
		obj := goldenObject(t, "dev", "aigatewayroute-llm-platform-dev-inference-route-0.yaml")
		spec := dig(obj, "spec")
		rule := spec["rules"].([]any)[0]
		var rules []any
		for range 16 {
			rules = append(rules, rule)
		}
		spec["rules"] = rules
		errs := v.Validate(obj)
		if !hasError(errs, field.ErrorTypeTooMany, "spec.rules", "") {
			t.Errorf("want a TooMany error for 16 rules, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("unknown kind", func(t *testing.T) {
		errs := v.Validate(map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}})
		if !hasError(errs, field.ErrorTypeNotFound, "kind", "no CRD") {
			t.Errorf("want a missing-CRD error, got:\n%v", errs.ToAggregate())
		}
	})
	t.Run("the unmodified objects pass", func(t *testing.T) {
		for _, obj := range []map[string]any{nodePool(), nodeClass()} {
			if errs := v.Validate(obj); len(errs) > 0 {
				t.Errorf("%v", errs.ToAggregate())
			}
		}
	})
}
