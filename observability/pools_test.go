package observability

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"gopkg.in/yaml.v3"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/observability/metrics"
)

var update = flag.Bool("update", false, "rewrite testdata/example from the package's rendering of testModels")

// The endpoint pickers' PodMonitor: their pods in the model namespace, the
// metrics port, at the interval the cold-start budget counts on.
func TestEPPPodMonitor(t *testing.T) {
	t.Parallel()
	pm := EPPPodMonitor("models")
	spec := pm["spec"].(map[string]any)
	if ns := pm["metadata"].(map[string]any)["namespace"]; ns != Namespace {
		t.Errorf("PodMonitor in %v, want %s (Prometheus selects monitors there)", ns, Namespace)
	}
	if got := spec["namespaceSelector"].(map[string]any)["matchNames"].([]any); len(got) != 1 || got[0] != "models" {
		t.Errorf("namespaces %v", got)
	}
	sel := spec["selector"].(map[string]any)["matchLabels"].(map[string]any)
	if len(sel) != 1 || sel[metrics.ComponentLabel] != "endpoint-picker" {
		t.Errorf("selector %v", sel)
	}
	eps := spec["podMetricsEndpoints"].([]any)
	if len(eps) != 1 {
		t.Fatalf("%d endpoints", len(eps))
	}
	ep := eps[0].(map[string]any)
	for k, want := range map[string]any{"port": "metrics", "path": "/metrics", "interval": "15s"} {
		if ep[k] != want {
			t.Errorf("endpoint %s = %v, want %v", k, ep[k], want)
		}
	}
	if coldstart.ScrapeIntervalSeconds != 15 {
		t.Errorf("the expected interval above assumes coldstart.ScrapeIntervalSeconds 15, not %d", coldstart.ScrapeIntervalSeconds)
	}
}

// poolAlert returns a model's alert of that name, or nil.
func poolAlert(m ModelSLO, name string) *Alert {
	for _, a := range PoolAlerts(m) {
		if a.Name == name {
			return &a
		}
	}
	return nil
}

// The expressions of the model that scales to zero, whole: the tests in
// tests/crd evaluate them over synthetic series.
func TestPoolAlerts(t *testing.T) {
	t.Parallel()
	scaled, qwen := testModels[1], testModels[0]
	count := `inference_extension_flow_control_request_queue_duration_seconds_count{namespace="models",inference_pool="scaled",outcome="%s"}`
	events := func(outcome string) string {
		c := strings.ReplaceAll(count, "%s", outcome)
		return `sum(increase(` + c + `[5m])) > 0 or sum((` + c + ` unless ` + c + ` offset 5m) and on (namespace) ` +
			`up{namespace="models",pod=~"scaled-epp-[a-z0-9]+-[a-z0-9]{5}"} offset 5m) > 0`
	}
	for _, tc := range []struct {
		name, expr, forDur, severity string
	}{
		{"LLMRequestsExpiredInQueue", events("EvictedTTL"), "0m", "critical"},
		{"LLMRequestsRejectedQueueFull", events("RejectedCapacity"), "0m", "warning"},
		{"LLMStuckAtZero",
			`sum(inference_extension_flow_control_queue_size{namespace="models",inference_pool="scaled"}) > 0 and ` +
				`sum(kube_deployment_status_replicas_available{namespace="models",deployment="scaled"}) == 0`,
			"220s", "warning"},
	} {
		a := poolAlert(scaled, tc.name)
		if a == nil {
			t.Errorf("no %s for %s", tc.name, scaled.Name)
			continue
		}
		if a.Expr != tc.expr || a.For != tc.forDur || a.Severity != tc.severity {
			t.Errorf("%s = %q for %s (%s), want %q for %s (%s)", tc.name, a.Expr, a.For, a.Severity, tc.expr, tc.forDur, tc.severity)
		}
		if a.Summary == "" || a.Runbook == "" {
			t.Errorf("%s: no summary or runbook", tc.name)
		}
	}
	// The runbooks point at the wake-up chain.
	for _, name := range []string{"LLMRequestsExpiredInQueue", "LLMStuckAtZero"} {
		for _, want := range []string{"scaledobject scaled", "nodeclaims", ColdStartPhaseSeconds + `{model="scaled"}`} {
			if rb := poolAlert(scaled, name).Runbook; !strings.Contains(rb, want) {
				t.Errorf("%s runbook lacks %q: %s", name, want, rb)
			}
		}
	}
	if !strings.Contains(poolAlert(scaled, "LLMRequestsExpiredInQueue").Summary, "280 s") {
		t.Error("the expiry summary does not state the hold")
	}
	// A model that keeps a replica has LLMNoReadyReplicas instead.
	if a := poolAlert(qwen, "LLMStuckAtZero"); a != nil {
		t.Errorf("LLMStuckAtZero for a model with minReplicas 1: %+v", a)
	}
	if rb := poolAlert(qwen, "LLMRequestsExpiredInQueue").Runbook; strings.Contains(rb, "LLMStuckAtZero") || !strings.Contains(rb, "LLMNoReadyReplicas") {
		t.Errorf("expiry runbook of a model with minReplicas 1: %s", rb)
	}
	// A fractional budget rounds up: the alert never fires before it.
	m := scaled
	m.WakeBudgetSeconds = 214.3
	if got := poolAlert(m, "LLMStuckAtZero").For; got != "215s" {
		t.Errorf("for = %s, want 215s", got)
	}
}

// The picker pod pattern matches the model's picker pods only (Prometheus
// anchors it).
func TestEPPPodPattern(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile("^(?:" + eppPodPattern("qwen") + ")$")
	for pod, want := range map[string]bool{
		"qwen-epp-7c9d8b6f5-x2b7k":       true,
		"qwen-5d8f7c9b4-x2b7k":           false, // a vLLM pod
		"qwen-coder-epp-7c9d8b6f5-x2b7k": false, // model qwen-coder's picker
		"qwen-epp-7c9d8b6f5":             false,
		"xqwen-epp-7c9d8b6f5-x2b7k":      false,
	} {
		if got := re.MatchString(pod); got != want {
			t.Errorf("%q matches %s = %v, want %v", pod, eppPodPattern("qwen"), got, want)
		}
	}
}

// Every model's pool alerts select its own pool.
func TestPoolAlertsSelectTheModelsPool(t *testing.T) {
	t.Parallel()
	for _, m := range testModels {
		for _, a := range PoolAlerts(m) {
			if !strings.Contains(a.Expr, `inference_pool="`+m.Name+`"`) {
				t.Errorf("%s of %s does not select its pool: %s", a.Name, m.Name, a.Expr)
			}
			for _, other := range testModels {
				if other.Name != m.Name && strings.Contains(a.Expr, `"`+other.Name+`"`) {
					t.Errorf("%s of %s selects %s: %s", a.Name, m.Name, other.Name, a.Expr)
				}
			}
		}
	}
}

func TestPoolFieldsValidated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		model  int
		broken func(*ModelSLO)
		want   string
	}{
		{"no hold", 0, func(m *ModelSLO) { m.HoldSeconds = 0 }, "model qwen: HoldSeconds (0)"},
		{"no wake budget at zero", 1, func(m *ModelSLO) { m.WakeBudgetSeconds = 0 }, "model scaled scales to zero: WakeBudgetSeconds (0)"},
		{"wake budget at the hold", 1, func(m *ModelSLO) { m.WakeBudgetSeconds = 280 }, "WakeBudgetSeconds (280) must be above 0 and below HoldSeconds (280)"},
	} {
		a := testArgs(&kubernetes.Provider{})
		a.Models = append([]ModelSLO(nil), testModels...)
		tc.broken(&a.Models[tc.model])
		if err := a.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// A model that keeps a replica needs no wake-up budget.
	a := testArgs(&kubernetes.Provider{})
	a.Models = append([]ModelSLO(nil), testModels...)
	a.Models[0].WakeBudgetSeconds = 0
	if err := a.validate(); err != nil {
		t.Error(err)
	}
}

// The replica panel shows the models' Deployments, not their pickers'.
func TestReplicaPanelSelectsModelDeployments(t *testing.T) {
	t.Parallel()
	var found bool
	for _, p := range DashboardPanels("models", testModels) {
		if !strings.HasPrefix(p.Title, "Replicas") {
			continue
		}
		found = true
		for _, q := range p.Queries {
			_, after, ok := strings.Cut(q.Expr, `deployment=~"`)
			pattern, _, ok2 := strings.Cut(after, `"`)
			if !ok || !ok2 {
				t.Fatalf("%s selects no deployments", q.Expr)
			}
			re := regexp.MustCompile("^(?:" + strings.ReplaceAll(pattern, `\\`, `\`) + ")$")
			for name, want := range map[string]bool{"qwen": true, "scaled": true, "qwen-epp": false, "scaled-epp": false, "qwen-preload": false} {
				if re.MatchString(name) != want {
					t.Errorf("%s: deployment %s selected = %v, want %v", q.Expr, name, !want, want)
				}
			}
		}
	}
	if !found {
		t.Error("no replica panel")
	}
}

// The picker panels: queue per model and per client, time held, prefix
// cache hit rate.
func TestPoolPanels(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"Held requests per model":  {`sum by (inference_pool) (inference_extension_flow_control_queue_size{namespace="models"})`},
		"Held requests per client": {`sum by (inference_pool, fairness_id) (inference_extension_flow_control_queue_size{namespace="models"})`},
		"Time held in the queue": {
			`histogram_quantile(0.95, sum by (le, inference_pool) (rate(inference_extension_flow_control_request_queue_duration_seconds_bucket{namespace="models"}[5m])))`,
			`sum by (inference_pool) (rate(inference_extension_flow_control_request_queue_duration_seconds_sum{namespace="models"}[5m])) / ` +
				`sum by (inference_pool) (rate(inference_extension_flow_control_request_queue_duration_seconds_count{namespace="models"}[5m]))`,
		},
		"Prefix cache hit rate": {`sum by (model_name) (rate(vllm:prefix_cache_hits_total{model_name=~"$model"}[5m])) / ` +
			`sum by (model_name) (rate(vllm:prefix_cache_queries_total{model_name=~"$model"}[5m]))`},
	}
	got := map[string][]string{}
	for _, p := range poolPanels("models") {
		for _, q := range p.Queries {
			got[p.Title] = append(got[p.Title], q.Expr)
		}
	}
	for title, exprs := range want {
		if strings.Join(got[title], "\n") != strings.Join(exprs, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", title, got[title], exprs)
		}
	}
	if len(got) != len(want) {
		t.Errorf("panels %v", got)
	}
}

// exampleObjects are the objects of testdata/example: what this package
// renders for testModels. tests/crd validates them against the CRDs,
// parses their queries and evaluates their alerts over synthetic series
// before a stack render carries them.
func exampleObjects() map[string]map[string]any {
	return map[string]map[string]any{
		"podmonitor-endpoint-picker.yaml":  EPPPodMonitor("models"),
		"prometheusrule-llm-platform.yaml": PrometheusRuleObject(Namespace, RuleGroups(testModels, 0.02, "gpu-l4")),
		"configmap-llm-platform-dashboard.yaml": {
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "llm-platform-dashboard", "namespace": Namespace},
			"data":     map[string]any{"llm-platform.json": DashboardJSON("models", testModels)},
		},
	}
}

// TestExampleGolden keeps testdata/example equal to the package's render
// (go test -update to accept a change).
func TestExampleGolden(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "example")
	for name, obj := range exampleObjects() {
		// Through JSON: plain maps and slices, as the program renders them.
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		var plain any
		if err := json.Unmarshal(b, &plain); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.WriteString("# observability/pools_test.go exampleObjects (go test ./observability -update)\n")
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(plain); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the render (go test ./observability -update to accept)", path)
		}
	}
}
