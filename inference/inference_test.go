package inference

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/gateway"
	"github.com/llm-platform/llm-platform/render"
)

func route(model string, served ...string) Route { return Route{Model: model, ServedNames: served} }

func pool(model string) Pool {
	return Pool{
		Model: model, Namespace: "models", Port: 8000,
		PodLabels:    map[string]string{"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": model},
		Config:       "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n",
		NodeSelector: map[string]string{"role": "system"},
	}
}

func TestRouteObjectsOneRulePerServedNameToItsPool(t *testing.T) {
	t.Parallel()
	routes, err := RouteObjects("models", gateway.ModelListeners(false), []Route{route("qwen", "qwen-7b", "qwen-sql"), route("llama", "llama-8b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 {
		t.Fatalf("%d routes", len(routes))
	}
	r := routes[0]
	if ns := r["metadata"].(map[string]any)["namespace"]; ns != "models" {
		t.Errorf("route in namespace %v, want the pools' (models)", ns)
	}
	parent := r["spec"].(map[string]any)["parentRefs"].([]any)[0].(map[string]any)
	if parent["name"] != gateway.GatewayName || parent["namespace"] != gateway.Namespace {
		t.Errorf("parent %v, want the Gateway %s/%s", parent, gateway.Namespace, gateway.GatewayName)
	}
	got := map[string]string{}
	for _, rule := range r["spec"].(map[string]any)["rules"].([]any) {
		m := rule.(map[string]any)
		h := m["matches"].([]any)[0].(map[string]any)["headers"].([]any)[0].(map[string]any)
		if h["name"] != gateway.ModelHeader || h["type"] != "Exact" {
			t.Errorf("match %v", h)
		}
		refs := m["backendRefs"].([]any)
		ref := refs[0].(map[string]any)
		if len(refs) != 1 || ref["kind"] != "InferencePool" || ref["group"] != "inference.networking.k8s.io" {
			t.Errorf("rule %v: want one InferencePool backend", m)
		}
		got[h["value"].(string)] = ref["name"].(string)
	}
	want := map[string]string{"qwen-7b": "qwen", "qwen-sql": "qwen", "llama-8b": "llama"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rules %v, want %v", got, want)
	}
	var types []string
	for _, c := range r["spec"].(map[string]any)["llmRequestCosts"].([]any) {
		types = append(types, c.(map[string]any)["type"].(string))
	}
	if !slices.Equal(types, []string{"InputToken", "OutputToken", "TotalToken"}) {
		t.Errorf("costs %v", types)
	}
}

func TestRouteObjectsSplitAtFifteenRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ served, routes int }{{1, 1}, {15, 1}, {16, 2}, {31, 3}} {
		var names []string
		for i := range tt.served {
			names = append(names, fmt.Sprintf("m-%02d", i))
		}
		routes, err := RouteObjects("models", gateway.ModelListeners(false), []Route{route("big", names...)})
		if err != nil {
			t.Fatal(err)
		}
		if len(routes) != tt.routes {
			t.Errorf("%d served names: %d routes, want %d", tt.served, len(routes), tt.routes)
		}
		total := 0
		for i, r := range routes {
			n := len(r["spec"].(map[string]any)["rules"].([]any))
			if n > gateway.MaxRulesPerRoute {
				t.Errorf("route %d has %d rules", i, n)
			}
			if r["metadata"].(map[string]any)["name"] != fmt.Sprintf("llm-models-%d", i) {
				t.Errorf("route %d named %v", i, r["metadata"])
			}
			total += n
		}
		if total != tt.served {
			t.Errorf("%d rules for %d served names", total, tt.served)
		}
	}
}

func TestRouteObjectsRejectDuplicateServedNames(t *testing.T) {
	t.Parallel()
	if _, err := RouteObjects("models", gateway.ModelListeners(false), []Route{route("a", "x"), route("b", "x")}); err == nil {
		t.Error("a served name routed to two models was accepted")
	}
}

// The pool selects the model's pods on vLLM's port and names the picker's
// Service on the ext_proc port; the picker's Service selects its pods.
func TestPoolAndPickerFitTogether(t *testing.T) {
	t.Parallel()
	p := pool("qwen")
	spec := InferencePoolObject(p)["spec"].(map[string]any)
	if spec["selector"].(map[string]any)["matchLabels"].(map[string]any)["app.kubernetes.io/instance"] != "qwen" {
		t.Errorf("pool selector %v", spec["selector"])
	}
	ref := spec["endpointPickerRef"].(map[string]any)
	if ref["name"] != "qwen-epp" || ref["port"].(map[string]any)["number"] != ExtProcPort {
		t.Errorf("picker ref %v", ref)
	}
	byKind := map[string]map[string]any{}
	for _, o := range EPPObjects(p) {
		byKind[o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string)] = o
	}
	svc := byKind["Service/qwen-epp"]["spec"].(map[string]any)
	d := byKind["Deployment/qwen-epp"]["spec"].(map[string]any)
	podLabels := d["template"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)
	for k, v := range svc["selector"].(map[string]any) {
		if podLabels[k] != v {
			t.Errorf("service selector %s=%v does not match the picker pods %v", k, v, podLabels)
		}
	}
	for k, v := range PickerPodLabels() {
		if podLabels[k] != v {
			t.Errorf("picker pods lack %s=%s, which the vLLM policy admits", k, v)
		}
	}
	podSpec := d["template"].(map[string]any)["spec"].(map[string]any)
	c := podSpec["containers"].([]any)[0].(map[string]any)
	args := strings.Join(func() []string {
		var out []string
		for _, a := range c["args"].([]any) {
			out = append(out, a.(string))
		}
		return out
	}(), " ")
	for _, want := range []string{"--pool-name qwen", "--pool-namespace models", "--config-file /config/" + ConfigFile, "--metrics-endpoint-auth=false"} {
		if !strings.Contains(args, want) {
			t.Errorf("picker args %q lack %q", args, want)
		}
	}
	if byKind["ConfigMap/qwen-epp"]["data"].(map[string]any)[ConfigFile] != p.Config {
		t.Error("the picker's ConfigMap does not hold its configuration")
	}
	if podSpec["securityContext"].(map[string]any)["runAsNonRoot"] != true || c["securityContext"].(map[string]any)["allowPrivilegeEscalation"] != false {
		t.Error("the picker would be refused by the restricted Pod Security level")
	}
	for _, want := range []string{"Role/qwen-epp-sa", "RoleBinding/qwen-epp-sa", "Role/qwen-epp-non-sa", "RoleBinding/qwen-epp-non-sa", "ServiceAccount/qwen-epp"} {
		if byKind[want] == nil {
			t.Errorf("no %s", want)
		}
	}
}

func TestPoolsComponent(t *testing.T) {
	t.Parallel()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		var ready pulumi.CustomResourceState
		if err := ctx.RegisterResource("kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy", "api-keys", pulumi.Map{}, &ready); err != nil {
			return err
		}
		_, err := NewPools(ctx, "inference", &Args{
			Pools: []Pool{pool("qwen"), pool("llama")}, Routes: []Route{route("qwen", "qwen-7b"), route("llama", "llama-8b")},
			Provider: provider, EnvoyNamespace: "envoy-gateway-system", MonitoringNamespace: "monitoring",
			GatewayReady: []pulumi.Resource{&ready},
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.OfType("kubernetes:inference.networking.k8s.io/v1:InferencePool")); n != 2 {
		t.Errorf("%d pools, want 2", n)
	}
	route := res.Named("kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute", "inference-route-0")
	if route == nil {
		t.Fatal("no route")
	}
	// No route before the API-key policy and the pools it routes to.
	for _, dep := range []*render.Resource{
		res.Named("kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy", "api-keys"),
		res.Named("kubernetes:inference.networking.k8s.io/v1:InferencePool", "qwen-pool"),
	} {
		if dep == nil || !slices.Contains(route.DependsOn, dep.URN) {
			t.Errorf("route does not wait for %v", dep)
		}
	}
	// The picker is healthy only once it has read its pool: the pool must
	// not wait for the picker's Deployment, or a first up never creates it.
	pool := res.Named("kubernetes:inference.networking.k8s.io/v1:InferencePool", "qwen-pool")
	picker := res.Named("kubernetes:apps/v1:Deployment", "qwen-epp-deployment")
	if pool == nil || picker == nil {
		t.Fatal("no pool or picker Deployment")
	}
	if slices.Contains(pool.DependsOn, picker.URN) {
		t.Error("the InferencePool waits for its picker's Deployment, which never becomes ready without the pool")
	}
	if !slices.Contains(route.DependsOn, picker.URN) {
		t.Error("the route does not wait for the picker it sends traffic through")
	}
	np := res.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "qwen-epp-networkpolicy")
	if np == nil {
		t.Fatal("no picker network policy")
	}
	port, _ := np.Input("spec.ingress.0.ports.0.port")
	if port != float64(ExtProcPort) {
		t.Errorf("picker network policy %v", np)
	}
}

func TestPoolsRefuseARouteWithoutPool(t *testing.T) {
	t.Parallel()
	a := &Args{Pools: []Pool{pool("qwen")}, Routes: []Route{route("llama", "llama-8b")}, EnvoyNamespace: "e", MonitoringNamespace: "m"}
	a.Provider = &kubernetes.Provider{}
	if err := a.validate(); err == nil || !strings.Contains(err.Error(), "no pool") {
		t.Errorf("err = %v, want a route to a missing pool refused", err)
	}
}
