package crd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/cost"
)

// Issue 18: the usage recording rules of the hosted golden, evaluated by
// Prometheus' rule manager (each group at its own interval) over three
// hours of synthetic series: two clients on the self-hosted model (1 GPU,
// one replica throughout) for two hours and none in the third, one of
// them on a priced hosted model throughout, and the rate limit service's
// counters of an enforced and an observed budget.

// usageStack is the golden whose usage rules are evaluated.
const usageStack = "hosted"

// usageFixture is what the stack config says about the model, the priced
// hosted model and the GPU price, read from the stack file (and the cost
// table), not from the rules under test.
type usageFixture struct {
	model, served        string
	gpuHourly            float64 // the model's replica instance, per hour
	hosted               string  // a priced hosted model id
	hostedIn, hostedOut  float64 // its USD per million tokens
	enforced, observed   int     // budget rule indexes (team-a hour, team-b day)
	budgetDomain         string
	enforcedBudgetTokens float64
}

func readUsageFixture(t *testing.T) usageFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "stacks", usageStack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var stack struct {
		Config struct {
			GPU    config.GPU        `json:"llm-platform:gpu"`
			Models []config.Model    `json:"llm-platform:models"`
			Prov   []config.Provider `json:"llm-platform:providers"`
			GW     config.Gateway    `json:"llm-platform:gateway"`
		} `json:"config"`
	}
	if err := yaml.Unmarshal(b, &stack); err != nil {
		t.Fatal(err)
	}
	c := stack.Config
	gpu := config.DefaultGPU()
	if len(c.GPU.InstanceFamilies) > 0 || len(c.GPU.InstanceSizes) > 0 {
		t.Fatalf("%s sets GPU instance types: read them here", usageStack)
	}
	m := c.Models[0]
	gpus := m.GPUsPerReplica
	if gpus == 0 {
		gpus = config.DefaultModel().GPUsPerReplica
	}
	if gpus != 1 || m.LoRAAdapters != nil {
		t.Fatalf("%s: the scenario needs a 1-GPU model without adapters first, got %+v", usageStack, m)
	}
	f := usageFixture{model: m.Name, served: m.ServedName, budgetDomain: "llm-gateway/llm-token-limits"}
	var ok bool
	if _, f.gpuHourly, ok = cost.GPUInstance(gpu, gpus); !ok {
		t.Fatal("no priced GPU instance")
	}
	for _, p := range c.Prov {
		for _, hm := range p.Models {
			if f.hosted == "" && hm.USDPerMillionInputTokens > 0 && hm.USDPerMillionOutputTokens > 0 && hm.USDPerMillionInputTokens != hm.USDPerMillionOutputTokens {
				f.hosted, f.hostedIn, f.hostedOut = hm.UpstreamModel, hm.USDPerMillionInputTokens, hm.USDPerMillionOutputTokens
			}
		}
	}
	if f.hosted == "" {
		t.Fatalf("%s has no hosted model with different input and output prices", usageStack)
	}
	// Budgets in policy order: team-a's hourly (enforced) first, then
	// team-b's daily (observed).
	cl := c.GW.Clients
	if len(cl) < 2 || cl[0].Name != "team-a" || cl[0].TokensPerHour == 0 || cl[0].TokensPerDay != 0 || cl[0].TokensPerMonth != 0 ||
		cl[1].Name != "team-b" || cl[1].TokensPerHour != 0 || cl[1].TokensPerDay == 0 || cl[1].Mode != config.BudgetObserve {
		t.Fatalf("%s: the scenario needs team-a with an hourly budget only and team-b observed with a daily one, got %+v", usageStack, cl)
	}
	f.enforced, f.observed, f.enforcedBudgetTokens = 0, 1, float64(cl[0].TokensPerHour)
	return f
}

// usageRule finds the usage PrometheusRule and the usage dashboard of the
// stack's golden render.
func usageRule(t *testing.T) (spec map[string]any, dashboard map[string]string) {
	t.Helper()
	dashboard = map[string]string{}
	for path, obj := range renderedObjects(t) {
		if filepath.Base(filepath.Dir(filepath.Dir(path))) != usageStack {
			continue
		}
		md, _ := obj["metadata"].(map[string]any)
		switch {
		case obj["kind"] == "PrometheusRule" && md["name"] == "llm-platform-usage":
			spec = obj["spec"].(map[string]any)
		case obj["kind"] == "ConfigMap" && md["name"] == "llm-platform-usage-dashboard":
			var d struct {
				Panels []struct {
					Title   string
					Targets []struct{ Expr string }
				}
			}
			if err := json.Unmarshal([]byte(obj["data"].(map[string]any)["llm-platform-usage.json"].(string)), &d); err != nil {
				t.Fatal(err)
			}
			for _, p := range d.Panels {
				for i, tg := range p.Targets {
					dashboard[fmt.Sprintf("%s %c", p.Title, 'A'+i)] = tg.Expr
				}
			}
		}
	}
	if spec == nil || len(dashboard) == 0 {
		t.Fatalf("no usage PrometheusRule or dashboard in the %s golden", usageStack)
	}
	return spec, dashboard
}

// Synthetic rates, per 30 s scrape.
const (
	usageEnd  = 3 * 3600
	usageStep = 30
	// Self-hosted, first two hours: team-a 2:1 input to output, team-b
	// 1:1, so a share of input tokens only would differ.
	aIn, aOut = 300.0, 150.0
	bIn, bOut = 100.0, 100.0
	// Hosted, all three hours: team-a only.
	hIn, hOut = 20000.0, 5000.0
	// Rate limit counters: tokens beyond team-a's hourly budget, beyond
	// team-b's observed daily one, and charged to team-a's.
	overA, shadowB, hitsA = 100.0, 50.0, 500.0
)

// counter is a counter series rising by perStep at every scrape before
// stop (seconds) and flat after it, as Prometheus scrapes it.
func counter(metric, labels string, perStep float64, stop int) string {
	var vals []string
	v := 0.0
	for ts := 0; ts <= usageEnd; ts += usageStep {
		if ts > 0 && ts <= stop {
			v += perStep
		}
		vals = append(vals, fmt.Sprintf("%g", v))
	}
	return fmt.Sprintf("  %s{%s} %s\n", metric, labels, strings.Join(vals, " "))
}

// usageSeries are the synthetic series in promqltest's load syntax.
func usageSeries(f usageFixture) string {
	var s strings.Builder
	s.WriteString("load 30s\n")
	// The AI Gateway's token histogram sum, per Envoy pod: team-a's
	// traffic on two pods, team-b's on one. cached_input and reasoning
	// tokens are parts of input and output, never counted again.
	gw := func(pod, client, model, original, typ string) string {
		return fmt.Sprintf(`client_id=%q,gen_ai_request_model=%q,gen_ai_original_model=%q,gen_ai_token_type=%q,gen_ai_operation_name="chat",gen_ai_provider_name="openai",namespace="envoy-gateway-system",pod=%q,instance="%s:1064",job="envoy-gateway-system/ai-gateway-extproc"`,
			client, model, original, typ, pod, pod)
	}
	const selfStop = 2 * 3600
	for _, pod := range []string{"envoy-1", "envoy-2"} {
		s.WriteString(counter("gen_ai_client_token_usage_sum", gw(pod, "team-a", f.served, f.served, "input"), aIn/2, selfStop))
		s.WriteString(counter("gen_ai_client_token_usage_sum", gw(pod, "team-a", f.served, f.served, "output"), aOut/2, selfStop))
		s.WriteString(counter("gen_ai_client_token_usage_sum", gw(pod, "team-a", f.served, f.served, "cached_input"), aIn/4, selfStop))
	}
	s.WriteString(counter("gen_ai_client_token_usage_sum", gw("envoy-1", "team-b", f.served, f.served, "input"), bIn, selfStop))
	s.WriteString(counter("gen_ai_client_token_usage_sum", gw("envoy-1", "team-b", f.served, f.served, "output"), bOut, selfStop))
	s.WriteString(counter("gen_ai_client_token_usage_sum", gw("envoy-1", "team-a", f.hosted, "hosted-name", "input"), hIn, usageEnd))
	s.WriteString(counter("gen_ai_client_token_usage_sum", gw("envoy-1", "team-a", f.hosted, "hosted-name", "output"), hOut, usageEnd))
	s.WriteString(counter("gen_ai_client_token_usage_sum", gw("envoy-1", "team-a", f.hosted, "hosted-name", "reasoning"), hOut/2, usageEnd))

	// One replica available throughout; a second kube-state-metrics
	// instance exports it too for 10 minutes (a rollout); the model's
	// endpoint picker's Deployment is not the model's.
	sel := fmt.Sprintf(`namespace="models",deployment=%q`, f.model)
	s.WriteString(ksmSeries("kube_deployment_status_replicas_available", sel, span{1, 0, usageEnd}))
	s.WriteString(strings.Replace(ksmSeries("kube_deployment_status_replicas_available", sel, span{1, 3000, 3600}), "10.0.1.7", "10.0.2.9", 1))
	s.WriteString(ksmSeries("kube_deployment_status_replicas_available", fmt.Sprintf(`namespace="models",deployment=%q`, f.model+"-epp"), span{1, 0, usageEnd}))

	// The rate limit service's counters (Envoy Gateway's statsd mapping:
	// domain, key1, key2).
	rl := func(index int) string {
		name := fmt.Sprintf("%s/rule/%d", f.budgetDomain, index)
		return fmt.Sprintf(`domain=%q,key1=%q,key2="rule-%d-match-0_rule-%d-match-0",namespace="envoy-gateway-system",pod="envoy-ratelimit-7d9f-abcde",instance="10.0.3.4:19001",job="envoy-gateway-system/envoy-ratelimit"`,
			f.budgetDomain, name+"_"+name, index, index)
	}
	s.WriteString(counter("ratelimit_service_rate_limit_over_limit", rl(f.enforced), overA, usageEnd))
	s.WriteString(counter("ratelimit_service_rate_limit_total_hits", rl(f.enforced), hitsA, usageEnd))
	// An observed limit's excess is counted in over_limit as well as in
	// shadow_mode.
	s.WriteString(counter("ratelimit_service_rate_limit_over_limit", rl(f.observed), shadowB, usageEnd))
	s.WriteString(counter("ratelimit_service_rate_limit_shadow_mode", rl(f.observed), shadowB, usageEnd))
	return s.String()
}

// usageRun evaluates the rules every minute for the fine group and every
// hour for the hourly one, fine first at a shared timestamp, from the
// first minute on (the hourly group first at the end of the first hour,
// as if Prometheus had started with the series), and returns the first
// rule error.
func usageRun(t *testing.T, spec map[string]any, load string) (*ruleRun, error) {
	t.Helper()
	r := newRuleRun(t, spec, load)
	sort.Slice(r.groups, func(i, j int) bool { return r.groups[i].Name() < r.groups[j].Name() })
	intervals := map[string]time.Duration{}
	for _, g := range r.groups {
		intervals[g.Name()] = g.Interval()
	}
	if intervals["llm-platform.usage"] != time.Minute || intervals["llm-platform.usage.hourly"] != time.Hour || len(intervals) != 2 {
		t.Fatalf("usage rule groups and intervals: %v", intervals)
	}
	for ts := time.Unix(60, 0); !ts.After(time.Unix(usageEnd, 0)); ts = ts.Add(time.Minute) {
		for _, g := range r.groups {
			if ts.Unix()%int64(g.Interval().Seconds()) != 0 {
				continue
			}
			g.Eval(context.Background(), ts)
			for _, rule := range g.Rules() {
				if err := rule.LastError(); err != nil {
					return r, fmt.Errorf("at %d, rule %s: %w", ts.Unix(), rule.Name(), err)
				}
			}
		}
		r.next = ts
	}
	return r, nil
}

// query evaluates an instant query at ts; values by the given labels.
func (r *ruleRun) query(t *testing.T, expr string, ts int64, by ...string) map[string]float64 {
	t.Helper()
	q, err := r.engine.NewInstantQuery(context.Background(), r.storage, nil, expr, time.Unix(ts, 0))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", expr, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range v {
		key := make([]string, len(by))
		for i, l := range by {
			key[i] = s.Metric.Get(l)
		}
		out[strings.Join(key, " ")] = s.F
	}
	return out
}

// want is an expected value of a query.
type want struct {
	what, expr string
	at         int64
	by         []string
	values     map[string]float64
}

// usageExpectations are the values the rules must record, computed from
// the synthetic rates and the stack's prices alone.
func usageExpectations(f usageFixture, dashboard map[string]string) []want {
	perHour := 3600.0 / usageStep
	aTok, bTok := (aIn+aOut)*perHour, (bIn+bOut)*perHour
	shareA, shareB := aTok/(aTok+bTok), bTok/(aTok+bTok)
	hosted := (hIn*f.hostedIn + hOut*f.hostedOut) * perHour / 1e6
	client := []string{"client_id"}
	h1, h2, h3 := int64(3600), int64(7200), int64(10800)
	ws := []want{
		// Hour 1: tokens per client, model and type (cached_input and
		// reasoning left out; both of team-a's pods added up).
		{"tokens", `llm:usage_tokens:1h`, h1, []string{"client_id", "gen_ai_request_model", "gen_ai_token_type"}, map[string]float64{
			"team-a " + f.served + " input": aIn * perHour, "team-a " + f.served + " output": aOut * perHour,
			"team-b " + f.served + " input": bIn * perHour, "team-b " + f.served + " output": bOut * perHour,
			"team-a " + f.hosted + " input": hIn * perHour, "team-a " + f.hosted + " output": hOut * perHour,
		}},
		// One GPU for the hour, the rollout's duplicate not counted twice.
		{"GPU hours", `llm:usage_gpu_hours:1h`, h1, []string{"model"}, map[string]float64{f.model: 1}},
		{"model cost", `llm:usage_gpu_cost_usd:1h`, h1, []string{"model"}, map[string]float64{f.model: f.gpuHourly}},
		{"token shares", `llm:usage_model_share:1h`, h1, client, map[string]float64{"team-a": shareA, "team-b": shareB}},
		// Hours 1 and 2: each client's share of the model's hour, and
		// team-a's hosted tokens at their prices.
		{"cost per client, hour 2", `sum by (client_id, kind) (llm:usage_cost_usd:1h)`, h2, []string{"client_id", "kind"}, map[string]float64{
			"team-a self-hosted": shareA * f.gpuHourly, "team-b self-hosted": shareB * f.gpuHourly, "team-a hosted": hosted,
		}},
		{"nothing unattributed while tokens flow", `llm:usage_unattributed_cost_usd:1h`, h2, []string{"model"}, map[string]float64{}},
		// Hour 3: the model idle on its replica: its hour is
		// unattributed, no client pays for it.
		{"cost per client, idle hour", `sum by (client_id, kind) (llm:usage_cost_usd:1h)`, h3, []string{"client_id", "kind"}, map[string]float64{
			"team-a hosted": hosted,
		}},
		{"unattributed GPU hours", `llm:usage_unattributed_gpu_hours:1h`, h3, []string{"model"}, map[string]float64{f.model: 1}},
		{"unattributed cost", `llm:usage_unattributed_cost_usd:1h`, h3, []string{"model"}, map[string]float64{f.model: f.gpuHourly}},
		// Tokens beyond budget: team-a's enforced (over_limit), team-b's
		// observed (shadow_mode), by the rule index.
		{"tokens beyond budget", `llm:usage_budget_excess_tokens:1h`, h2, []string{"subject", "window", "mode"}, map[string]float64{
			"team-a hour enforce": overA * perHour, "team-b day observe": shadowB * perHour,
		}},
		// The dashboard: three hours of cost per client, from the hourly
		// records.
		{"dashboard cost per client", dashboard["Estimated cost per client, last 30 days A"], h3, []string{"client_id", "kind"}, map[string]float64{
			"team-a self-hosted": 2 * shareA * f.gpuHourly, "team-b self-hosted": 2 * shareB * f.gpuHourly, "team-a hosted": 3 * hosted,
		}},
		{"dashboard GPU time shares", dashboard["Share of each model's GPU time per client, last 30 days A"], h3, []string{"client_id", "model"}, map[string]float64{
			"team-a " + f.model: 2 * shareA / 3, "team-b " + f.model: 2 * shareB / 3,
		}},
		{"dashboard idle GPU time share", dashboard["Share of each model's GPU time per client, last 30 days B"], h3, []string{"model"}, map[string]float64{f.model: 1.0 / 3}},
		// The dashboard's live panel and the hour's budget use join the
		// rate limit service's counters to the budgets by key1.
		{"dashboard tokens beyond budget now", dashboard["Tokens beyond budget now A"], h3, []string{"subject", "window"}, map[string]float64{
			"team-a hour": overA * 300 / usageStep,
		}},
		{"dashboard observed tokens beyond budget now", dashboard["Tokens beyond budget now B"], h3, []string{"subject", "window"}, map[string]float64{
			"team-b day": shadowB * 300 / usageStep,
		}},
		{"dashboard budget use this hour", strings.ReplaceAll(dashboard["Budget use: this hour A"], "$__range", "1800s"), h3, []string{"subject", "mode"}, map[string]float64{
			"team-a enforce": hitsA * 1800 / usageStep / f.enforcedBudgetTokens,
		}},
	}
	return ws
}

// checkUsage evaluates the rules and returns every value that differs from
// the expectations (relative 1e-9).
func checkUsage(t *testing.T, spec map[string]any, f usageFixture, dashboard map[string]string) []string {
	t.Helper()
	r, err := usageRun(t, spec, usageSeries(f))
	if err != nil {
		return []string{err.Error()}
	}
	var diffs []string
	for _, w := range usageExpectations(f, dashboard) {
		if w.expr == "" {
			t.Fatalf("%s: no such dashboard query", w.what)
		}
		got := r.query(t, w.expr, w.at, w.by...)
		for k, v := range w.values {
			g, ok := got[k]
			if !ok || math.Abs(g-v) > 1e-9*math.Max(1, math.Abs(v)) {
				diffs = append(diffs, fmt.Sprintf("%s at %d: %q = %v (present: %v), want %v", w.what, w.at, k, g, ok, v))
			}
		}
		for k, g := range got {
			if _, ok := w.values[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s at %d: unexpected %q = %v", w.what, w.at, k, g))
			}
		}
	}
	return diffs
}

func TestUsageRulesAttributeCost(t *testing.T) {
	t.Parallel()
	f := readUsageFixture(t)
	spec, dashboard := usageRule(t)
	for _, d := range checkUsage(t, spec, f, dashboard) {
		t.Error(d)
	}
}

// The check catches broken rules: each mutation of the rendered rules is
// a plausible mistake, and each must make some value wrong.
func TestUsageRuleCheckCatchesBrokenRules(t *testing.T) {
	t.Parallel()
	f := readUsageFixture(t)
	_, dashboard := usageRule(t)
	for _, m := range []struct {
		name, record, old, new string
	}{
		// The share's denominator joined per client: every client gets
		// a share of 1, and the model's hour is charged in full to each.
		{"share joined per client", "llm:usage_model_share:1h", `/ on () group_left () (sum (`, `/ on (client_id) group_left () (sum by (client_id) (`},
		// The share of input tokens only.
		{"share of input tokens", "llm:usage_model_share:1h", `llm:usage_tokens:1h{`, `llm:usage_tokens:1h{gen_ai_token_type="input",`},
		// The hosted prices swapped.
		{"hosted prices swapped", "llm:usage_cost_usd:1h", fmt.Sprintf(`* %g / 1e6 or`, f.hostedIn), fmt.Sprintf(`* %g / 1e6 or`, f.hostedOut)},
		// Every token type counted: cached input and reasoning twice.
		{"every token type", "llm:usage_tokens:1h", `{gen_ai_token_type=~"input|output"}`, ``},
		// team-a's budget read from the next rule's counter (an index off
		// by one).
		{"wrong rule index", "llm:usage_budget_excess_tokens:1h",
			fmt.Sprintf(`"%[1]s/rule/0_%[1]s/rule/0"`, f.budgetDomain), fmt.Sprintf(`"%[1]s/rule/1_%[1]s/rule/1"`, f.budgetDomain)},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := usageRule(t)
			changed := 0
			for _, g := range spec["groups"].([]any) {
				for _, r := range g.(map[string]any)["rules"].([]any) {
					rule := r.(map[string]any)
					if rule["record"] == m.record && strings.Contains(rule["expr"].(string), m.old) {
						rule["expr"] = strings.ReplaceAll(rule["expr"].(string), m.old, m.new)
						changed++
					}
				}
			}
			if changed == 0 {
				t.Fatalf("no %s rule contains %q", m.record, m.old)
			}
			diffs := checkUsage(t, spec, f, dashboard)
			if len(diffs) == 0 {
				t.Errorf("the broken rules pass the check")
			}
			t.Logf("%d differences, first: %s", len(diffs), diffs[0])
		})
	}
}
