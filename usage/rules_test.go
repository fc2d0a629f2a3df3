package usage

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/observability/metrics"
	"github.com/llm-platform/llm-platform/render"
)

// records returns the records of one name whose labels include want.
func records(rs []Record, name string, want map[string]string) []Record {
	var out []Record
	for _, r := range rs {
		if r.Record != name {
			continue
		}
		ok := true
		for k, v := range want {
			if r.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

func one(t *testing.T, rs []Record, name string, want map[string]string) Record {
	t.Helper()
	got := records(rs, name, want)
	if len(got) != 1 {
		t.Fatalf("%d %s records with %v, want 1", len(got), name, want)
	}
	return got[0]
}

func TestHourlyRecords(t *testing.T) {
	t.Parallel()
	s := SpecFromConfig(testConfig())
	rs := s.HourlyRecords()
	if rs[0].Record != Tokens1h ||
		rs[0].Expr != `sum by (client_id, gen_ai_request_model, gen_ai_token_type) (increase(gen_ai_client_token_usage_sum{gen_ai_token_type=~"input|output"}[1h]))` {
		t.Errorf("first record %+v: the tokens, which every other reads", rs[0])
	}
	llama := map[string]string{"model": "llama-8b"}
	// The model's tokens are those sent on as its served name or adapter.
	share := one(t, rs, ModelShare1h, llama)
	wantTokens := `llm:usage_tokens:1h{gen_ai_request_model=~"llama-3\\.1-8b-instruct|sql-lora"}`
	if share.Expr != `sum by (client_id) (`+wantTokens+`) / on () group_left () (sum (`+wantTokens+`) > 0)` {
		t.Errorf("share %s", share.Expr)
	}
	qwen := one(t, rs, ModelShare1h, map[string]string{"model": "qwen-32b"})
	if !strings.Contains(qwen.Expr, `{gen_ai_request_model="qwen2.5-32b"}`) {
		t.Errorf("one served name is matched exactly: %s", qwen.Expr)
	}
	if e := one(t, rs, GPUHours1h, llama).Expr; e != `avg_over_time(llm:usage_gpus{model="llama-8b"}[1h])` {
		t.Errorf("GPU hours %s", e)
	}
	if e := one(t, rs, ClientGPUHours1h, llama).Expr; e != `llm:usage_model_share:1h{model="llama-8b"} * on () group_left () llm:usage_gpu_hours:1h{model="llama-8b"}` {
		t.Errorf("client GPU hours %s", e)
	}
	if e := one(t, rs, UnattributedGPUHours1h, llama).Expr; e != `llm:usage_gpu_hours:1h{model="llama-8b"} unless on () (sum (`+wantTokens+`) > 0)` {
		t.Errorf("unattributed %s", e)
	}
	// Prices: the 1-GPU model's instance per GPU hour; the 2-GPU
	// model's instance over its two GPUs.
	for _, m := range s.SelfHosted {
		price := num(m.USDPerGPUHour())
		if e := one(t, rs, GPUCost1h, map[string]string{"model": m.Name}).Expr; e != `llm:usage_gpu_hours:1h{model="`+m.Name+`"} * `+price {
			t.Errorf("%s GPU cost %s, want price %s", m.Name, e, price)
		}
		c := one(t, rs, Cost1h, map[string]string{"model": m.Name, "kind": KindSelfHosted})
		if c.Expr != `llm:usage_client_gpu_hours:1h{model="`+m.Name+`"} * `+price {
			t.Errorf("%s client cost %s", m.Name, c.Expr)
		}
	}
	if s.SelfHosted[1].USDPerGPUHour()*2 != s.SelfHosted[1].InstanceHourlyUSD {
		t.Errorf("2-GPU model: %v per GPU hour on a %v instance", s.SelfHosted[1].USDPerGPUHour(), s.SelfHosted[1].InstanceHourlyUSD)
	}
	hosted := one(t, rs, Cost1h, map[string]string{"model": "gpt-4o-mini", "kind": KindHosted})
	if hosted.Expr != `sum by (client_id) (llm:usage_tokens:1h{gen_ai_request_model="gpt-4o-mini",gen_ai_token_type="input"} * 0.15 / 1e6 or llm:usage_tokens:1h{gen_ai_request_model="gpt-4o-mini",gen_ai_token_type="output"} * 0.6 / 1e6)` {
		t.Errorf("hosted cost %s", hosted.Expr)
	}
	if len(records(rs, Cost1h, map[string]string{"model": "o3"})) != 0 {
		t.Error("an unpriced hosted model is costed")
	}
	// Records read only records written before them in the group.
	written := map[string]bool{}
	recorded := regexp.MustCompile(`llm:usage_[a-z_]+(:1h)?`)
	for _, r := range rs {
		for _, used := range recorded.FindAllString(r.Expr, -1) {
			if used != GPUs && !written[used] {
				t.Errorf("%s reads %s before it is written", r.Record, used)
			}
		}
		written[r.Record] = true
	}
}

// Each budget's hourly excess reads its own rule's counter (by index),
// over_limit when enforced and shadow_mode when observed, and carries its
// client or group, window and mode.
func TestBudgetRecords(t *testing.T) {
	t.Parallel()
	s := SpecFromConfig(testConfig())
	rs := s.HourlyRecords()
	for _, tt := range []struct {
		rule, counter string
		labels        map[string]string
	}{
		{"0", RateLimitOverLimit, map[string]string{"client_id": "team-a", "subject": "team-a", "window": "hour", "mode": "enforce"}},
		{"1", RateLimitOverLimit, map[string]string{"client_id": "team-a", "subject": "team-a", "window": "month", "mode": "enforce"}},
		{"2", RateLimitShadowMode, map[string]string{"client_id": "team-b", "subject": "team-b", "window": "day", "mode": "observe"}},
		{"3", RateLimitOverLimit, map[string]string{"group": "eng", "subject": "group:eng", "window": "day", "mode": "enforce"}},
	} {
		r := one(t, rs, BudgetExcess1h, map[string]string{"rule": tt.rule})
		want := `sum (increase(` + tt.counter + `{domain="llm-gateway/llm-token-limits",key1="llm-gateway/llm-token-limits/rule/` + tt.rule +
			`_llm-gateway/llm-token-limits/rule/` + tt.rule + `"}[1h]))`
		if r.Expr != want {
			t.Errorf("rule %s: %s, want %s", tt.rule, r.Expr, want)
		}
		for k, v := range tt.labels {
			if r.Labels[k] != v {
				t.Errorf("rule %s: label %s = %q, want %q (%v)", tt.rule, k, r.Labels[k], v, r.Labels)
			}
		}
		if len(r.Labels) != len(tt.labels)+1 {
			t.Errorf("rule %s labels %v", tt.rule, r.Labels)
		}
	}
	fine := s.FineRecords()
	for _, b := range s.Budgets {
		r := one(t, fine, BudgetTokens, map[string]string{"key1": Key1(s.BudgetDomain, b.Index)})
		if r.Expr != "vector("+itoa(b.Tokens)+")" || r.Labels["window"] != b.Window || r.Labels["subject"] != b.Subject() {
			t.Errorf("budget %d: %+v", b.Index, r)
		}
	}
	if e := one(t, fine, GPUs, map[string]string{"model": "qwen-32b"}).Expr; e != `max(kube_deployment_status_replicas_available{namespace="models",deployment="qwen-32b"}) * 2` {
		t.Errorf("GPUs %s", e)
	}
}

func itoa(i int) string { return num(float64(i)) }

// No budget: no budget records, no rate limit PodMonitor, no budget
// panels; the fine group still records the GPUs.
func TestNoBudgets(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Gateway.Clients, cfg.Gateway.Groups = nil, nil
	s := SpecFromConfig(cfg)
	for _, r := range append(s.FineRecords(), s.HourlyRecords()...) {
		if strings.Contains(r.Record, "budget") {
			t.Errorf("budget record %s without budgets", r.Record)
		}
	}
	for _, p := range s.DashboardPanels() {
		if strings.Contains(strings.ToLower(p.Title), "budget") {
			t.Errorf("budget panel %q without budgets", p.Title)
		}
	}
	groups := s.RuleGroups()
	if len(groups) != 2 || groups[0].Interval != "1m" || groups[1].Interval != "1h" {
		t.Errorf("groups %+v", groups)
	}
	cfg.Models = nil
	if groups := SpecFromConfig(cfg).RuleGroups(); len(groups) != 1 || groups[0].Name != HourlyGroup {
		t.Errorf("with nothing for the fine group: %+v", groups)
	}
}

// Every recorded series and every metric the rules and panels read is in
// the catalog (tests/crd parses them with Prometheus' parser).
func TestRecordsCatalogued(t *testing.T) {
	t.Parallel()
	known := metrics.Series()
	s := SpecFromConfig(testConfig())
	metricName := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\{`)
	check := func(where, expr string) {
		for _, m := range metricName.FindAllString(expr, -1) {
			if name := strings.TrimSuffix(m, "{"); !known[name] {
				t.Errorf("%s: %s is not in observability/metrics", where, name)
			}
		}
	}
	for _, g := range s.RuleGroups() {
		for _, r := range g.Records {
			if !known[r.Record] {
				t.Errorf("record %s is not in observability/metrics", r.Record)
			}
			check(r.Record, r.Expr)
		}
	}
	for _, p := range s.DashboardPanels() {
		for _, q := range p.Queries {
			check(p.Title, q.Expr)
		}
	}
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	s := SpecFromConfig(testConfig())
	var d struct {
		UID, Title, Timezone string
		Panels               []struct {
			ID                       int
			Title, Type, Description string
			TimeFrom                 string
			Targets                  []struct {
				Expr    string
				Instant bool
			}
		}
	}
	if err := json.Unmarshal([]byte(s.DashboardJSON()), &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != "llm-platform-usage" || d.Title != "Usage by client" || d.Timezone != "utc" {
		t.Errorf("dashboard %s %q %s", d.UID, d.Title, d.Timezone)
	}
	titles := map[string]bool{}
	for i, p := range d.Panels {
		titles[p.Title] = true
		if p.ID != i+1 || p.Description == "" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: id %d, description %q, %d queries", i, p.Title, p.ID, p.Description, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.Instant != (p.Type == BarGauge) {
				t.Errorf("%q: instant %v on a %s", p.Title, tg.Instant, p.Type)
			}
		}
		if strings.Contains(p.Title, "beyond budget") || strings.Contains(p.Title, "Would-be") {
			if !strings.Contains(p.Description, "not requests") || !strings.Contains(p.Description, "access log") {
				t.Errorf("%q does not say it counts tokens, not 429s", p.Title)
			}
		}
	}
	for _, want := range []string{
		"Tokens per client and model, last hour", "Tokens per client and model, last day", "Tokens per client and model, last 30 days",
		"Tokens beyond budget, enforced, last 30 days", "Would-be refusals in observe mode, last 30 days",
		"Budget use: this hour", "Budget use: today", "Share of each model's GPU time per client, last 30 days",
		"Estimated cost per client, last 30 days", "Estimated cost per client, per day", "Unattributed GPU cost, last 30 days",
	} {
		if !titles[want] {
			t.Errorf("no panel %q", want)
		}
	}
	// The current windows: this hour and today, in UTC.
	for _, p := range d.Panels {
		switch p.Title {
		case "Budget use: this hour":
			if p.TimeFrom != "now/h" || !strings.Contains(p.Targets[0].Expr, `[$__range]`) || !strings.Contains(p.Targets[0].Expr, `window="hour"`) {
				t.Errorf("%q: %s %s", p.Title, p.TimeFrom, p.Targets[0].Expr)
			}
		case "Budget use: today":
			if p.TimeFrom != "now/d" || !strings.Contains(p.Targets[0].Expr, `window="day"`) {
				t.Errorf("%q: %s %s", p.Title, p.TimeFrom, p.Targets[0].Expr)
			}
		}
	}
}

func TestRateLimitPodMonitor(t *testing.T) {
	t.Parallel()
	pm := RateLimitPodMonitor("envoy-gateway-system")
	spec := pm["spec"].(map[string]any)
	labels := spec["selector"].(map[string]any)["matchLabels"].(map[string]any)
	if labels["app.kubernetes.io/name"] != "envoy-ratelimit" || labels["app.kubernetes.io/component"] != "ratelimit" || len(labels) != 3 {
		t.Errorf("selector %v", labels)
	}
	ep := spec["podMetricsEndpoints"].([]any)[0].(map[string]any)
	if ep["port"] != "metrics" || ep["path"] != "/metrics" {
		t.Errorf("endpoint %v", ep)
	}
	if ns := spec["namespaceSelector"].(map[string]any)["matchNames"].([]any); len(ns) != 1 || ns[0] != "envoy-gateway-system" {
		t.Errorf("namespaces %v", ns)
	}
}

func TestUsageComponent(t *testing.T) {
	t.Parallel()
	for _, withBudgets := range []bool{true, false} {
		cfg := testConfig()
		if !withBudgets {
			cfg.Gateway.Clients, cfg.Gateway.Groups = nil, nil
		}
		res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
			dep, err := kubernetes.NewProvider(ctx, "stand-in-release", &kubernetes.ProviderArgs{})
			if err != nil {
				return err
			}
			_, err = NewUsage(ctx, "usage", &Args{Spec: SpecFromConfig(cfg), Provider: provider, DependsOn: []pulumi.Resource{dep}})
			return err
		}))
		if err != nil {
			t.Fatal(err)
		}
		comp := res.Named("llm-platform:usage:Usage", "usage")
		if comp == nil {
			t.Fatal("no component")
		}
		dep := res.Named("pulumi:providers:kubernetes", "stand-in-release")
		rule := res.Named("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "usage-rules")
		pm := res.Named("kubernetes:monitoring.coreos.com/v1:PodMonitor", "usage-ratelimit-pods")
		cm := res.Named("kubernetes:core/v1:ConfigMap", "usage-dashboard")
		if rule == nil || cm == nil || (pm != nil) != withBudgets {
			t.Fatalf("budgets %v: rule %v, dashboard %v, PodMonitor %v", withBudgets, rule != nil, cm != nil, pm != nil)
		}
		for _, r := range []*render.Resource{rule, pm, cm} {
			if r == nil {
				continue
			}
			if r.Parent != comp.URN || !containsURN(r.DependsOn, dep.URN) {
				t.Errorf("%s: parent %s, depends on %v", r.Name, r.Parent, r.DependsOn)
			}
		}
		if cm.String("metadata.labels.grafana_dashboard") != "1" || cm.String("metadata.namespace") != "monitoring" {
			t.Errorf("dashboard ConfigMap %v", cm.Inputs["metadata"])
		}
		if data, _ := cm.Inputs["data"].(map[string]any); data["llm-platform-usage.json"] == nil {
			t.Errorf("dashboard data keys %v", cm.Inputs["data"])
		}
		md, _ := rule.Input("metadata")
		if labels, _ := md.(map[string]any)["labels"].(map[string]any); rule.String("metadata.name") != RuleName || labels["app.kubernetes.io/part-of"] != "llm-platform" {
			t.Errorf("rule metadata %v", md)
		}
	}
	if _, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, _ *kubernetes.Provider) error {
		_, err := NewUsage(ctx, "usage", &Args{Spec: SpecFromConfig(testConfig())})
		return err
	})); err == nil || !strings.Contains(err.Error(), "Provider") {
		t.Errorf("no provider: %v", err)
	}
}

func containsURN(list []string, urn string) bool {
	for _, u := range list {
		if u == urn {
			return true
		}
	}
	return false
}
