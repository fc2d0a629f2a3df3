package usage

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/budgets"
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/cost"
)

// testConfig: a 1-GPU model with an adapter, a 2-GPU model, a hosted
// provider with one priced and one unpriced model, a priced fallback,
// three clients (one observed, one without budget) and a group.
func testConfig() *config.Config {
	gpu := config.DefaultGPU()
	m1 := config.DefaultModel()
	m1.Name, m1.ServedName, m1.GPUsPerReplica = "llama-8b", "llama-3.1-8b-instruct", 1
	m1.LoRAAdapters = []config.LoRAAdapter{{Name: "sql-lora"}}
	m1.Fallback = &config.Fallback{Provider: "openai", UpstreamModel: "gpt-4o", USDPerMillionInputTokens: 2.5, USDPerMillionOutputTokens: 10}
	m2 := config.DefaultModel()
	m2.Name, m2.ServedName, m2.GPUsPerReplica = "qwen-32b", "qwen2.5-32b", 2
	return &config.Config{
		GPU:    gpu,
		Models: []config.Model{m1, m2},
		Providers: []config.Provider{{Name: "openai", Kind: "openai", Models: []config.HostedModel{
			{ServedName: "mini", UpstreamModel: "gpt-4o-mini", USDPerMillionInputTokens: 0.15, USDPerMillionOutputTokens: 0.6},
			{ServedName: "free", UpstreamModel: "o3"},
		}}},
		Gateway: config.Gateway{
			Clients: []config.Client{
				{Name: "team-a", TokensPerHour: 100000, TokensPerMonth: 3000000},
				{Name: "team-b", TokensPerDay: 500000, Mode: config.BudgetObserve},
				{Name: "team-c"},
			},
			Groups: []config.Group{{Name: "eng", TokensPerDay: 200000}},
		},
	}
}

func TestSpecFromConfig(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	s := SpecFromConfig(cfg)
	if err := s.validate(); err != nil {
		t.Fatal(err)
	}
	if s.ModelNamespace != "models" || s.BudgetDomain != "llm-gateway/llm-token-limits" || s.RateLimitNamespace != "envoy-gateway-system" {
		t.Errorf("namespaces and domain: %+v", s)
	}
	if len(s.SelfHosted) != 2 {
		t.Fatalf("self-hosted %+v", s.SelfHosted)
	}
	// The cost estimate's instance and price for each replica.
	for i, m := range s.SelfHosted {
		inst, hourly, ok := cost.GPUInstance(cfg.GPU, cfg.Models[i].GPUsPerReplica)
		if !ok || m.Instance != inst || m.InstanceHourlyUSD != hourly || !m.Priced() {
			t.Errorf("%s priced on %s at %v, want %s at %v", m.Name, m.Instance, m.InstanceHourlyUSD, inst, hourly)
		}
		if got, want := m.USDPerGPUHour(), hourly/float64(cfg.Models[i].GPUsPerReplica); got != want {
			t.Errorf("%s: %v per GPU hour, want %v", m.Name, got, want)
		}
	}
	if got := strings.Join(s.SelfHosted[0].ServedNames, ","); got != "llama-3.1-8b-instruct,sql-lora" {
		t.Errorf("served names %s", got)
	}
	// Priced hosted ids only, the fallback's included.
	var hosted []string
	for _, h := range s.Hosted {
		hosted = append(hosted, fmt.Sprintf("%s %v/%v", h.UpstreamModel, h.USDPerMillionInputTokens, h.USDPerMillionOutputTokens))
	}
	if got := strings.Join(hosted, "; "); got != "gpt-4o-mini 0.15/0.6; gpt-4o 2.5/10" {
		t.Errorf("hosted prices: %s", got)
	}
}

// The rule index of each budget is its position in the policy the
// budgets package renders: the client (or group) its rule matches, its
// unit, limit and shadow mode.
func TestBudgetIndexMatchesPolicy(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	s := SpecFromConfig(cfg)
	policy := budgets.PolicyObject(budgets.Rules(cfg.Gateway.Clients, cfg.Gateway.Groups))
	rules := policy["spec"].(map[string]any)["rateLimit"].(map[string]any)["global"].(map[string]any)["rules"].([]any)
	if len(rules) != len(s.Budgets) || len(rules) != 4 {
		t.Fatalf("%d policy rules, %d budgets, want 4", len(rules), len(s.Budgets))
	}
	want := []Budget{
		{Index: 0, Client: "team-a", Window: "hour", Tokens: 100000},
		{Index: 1, Client: "team-a", Window: "month", Tokens: 3000000},
		{Index: 2, Client: "team-b", Window: "day", Tokens: 500000, Observe: true},
		{Index: 3, Group: "eng", Window: "day", Tokens: 200000},
	}
	for i, b := range s.Budgets {
		if b != want[i] {
			t.Errorf("budget %d = %+v, want %+v", i, b, want[i])
		}
		rule := rules[i].(map[string]any)
		headers := rule["clientSelectors"].([]any)[0].(map[string]any)["headers"].([]any)
		matched := headers[0].(map[string]any)["value"]
		subject := b.Client
		if b.Group != "" {
			subject = b.Group
		}
		limit := rule["limit"].(map[string]any)
		shadow, _ := rule["shadowMode"].(bool)
		if matched != subject || strings.ToLower(limit["unit"].(string)) != b.Window || limit["requests"] != b.Tokens || shadow != b.Observe {
			t.Errorf("budget %d %+v, policy rule %d matches %v, limit %v, shadow %v", i, b, i, matched, limit, shadow)
		}
	}
	if s.Budgets[2].Mode() != "observe" || s.Budgets[0].Mode() != "enforce" || s.Budgets[3].Subject() != "group:eng" || s.Budgets[0].Subject() != "team-a" {
		t.Errorf("modes and subjects: %+v", s.Budgets)
	}
}

func TestKey1(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		domain string
		index  int
		want   string
	}{
		{"llm-gateway/llm-token-limits", 0, "llm-gateway/llm-token-limits/rule/0_llm-gateway/llm-token-limits/rule/0"},
		{"llm-gateway/llm-token-limits", 12, "llm-gateway/llm-token-limits/rule/12_llm-gateway/llm-token-limits/rule/12"},
		{"ns/p", 3, "ns/p/rule/3_ns/p/rule/3"},
	} {
		if got := Key1(tt.domain, tt.index); got != tt.want {
			t.Errorf("Key1(%q, %d) = %q, want %q", tt.domain, tt.index, got, tt.want)
		}
	}
}

func TestUnpricedModel(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.GPU.InstanceFamilies = []string{"p99"} // no price in the table
	s := SpecFromConfig(cfg)
	for _, m := range s.SelfHosted {
		if m.Priced() || m.USDPerGPUHour() != 0 {
			t.Errorf("%s priced on %q", m.Name, m.Instance)
		}
	}
	// GPU hours and shares still, no cost.
	names := map[string]int{}
	for _, r := range s.HourlyRecords() {
		names[r.Record]++
	}
	if names[GPUHours1h] != 2 || names[ModelShare1h] != 2 || names[GPUCost1h] != 0 || names[UnattributedCost1h] != 0 || names[Cost1h] != 2 {
		t.Errorf("records of unpriced models: %v (Cost1h only for the 2 priced hosted ids)", names)
	}
}

func TestSpecValidation(t *testing.T) {
	t.Parallel()
	good := SpecFromConfig(testConfig())
	for _, tt := range []struct {
		name   string
		mutate func(s *Spec)
		want   string
	}{
		{"no model namespace", func(s *Spec) { s.ModelNamespace = "" }, "ModelNamespace"},
		{"budgets out of order", func(s *Spec) { s.Budgets[1].Index = 5 }, "policy order"},
		{"budget of nobody", func(s *Spec) { s.Budgets[0].Client = "" }, "exactly one of Client"},
		{"unknown window", func(s *Spec) { s.Budgets[0].Window = "week" }, `"week"`},
		{"model without GPUs", func(s *Spec) { s.SelfHosted[0].GPUsPerReplica = 0 }, "GPUsPerReplica"},
		{"budgets without domain", func(s *Spec) { s.BudgetDomain = "" }, "BudgetDomain"},
	} {
		s := SpecFromConfig(testConfig())
		tt.mutate(&s)
		if err := s.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", tt.name, err, tt.want)
		}
	}
	if err := good.validate(); err != nil {
		t.Error(err)
	}
}
