package usage

import (
	"fmt"
	"strings"

	"github.com/llm-platform/llm-platform/budgets"
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/cost"
	"github.com/llm-platform/llm-platform/gateway"
	"github.com/llm-platform/llm-platform/storage"
)

// Spec is what the usage rules and dashboard need to know: the models and
// their prices, and the budgets in policy order.
type Spec struct {
	// ModelNamespace holds the self-hosted models' Deployments.
	ModelNamespace string
	// SelfHosted are the self-hosted models, in config order.
	SelfHosted []SelfHosted
	// Hosted are the priced hosted model ids (config.HostedPrices).
	Hosted []config.HostedPrice
	// Budgets are the token budgets in the order the budgets'
	// BackendTrafficPolicy declares them (budgets.Rules).
	Budgets []Budget
	// BudgetDomain is the rate limit domain of the budgets: the policy's
	// <namespace>/<name>, as Envoy Gateway names a shared rule's domain.
	BudgetDomain string
	// RateLimitNamespace is where Envoy Gateway runs its rate limit
	// service.
	RateLimitNamespace string
}

// SelfHosted is one self-hosted model.
type SelfHosted struct {
	// Name is its config name: its Deployment's name.
	Name string
	// ServedNames are the names its requests are sent on as (the AI
	// Gateway's gen_ai_request_model): its served name, then each LoRA
	// adapter's.
	ServedNames []string
	// GPUsPerReplica is each replica's GPUs.
	GPUsPerReplica int
	// Instance is the instance type one replica is priced on
	// (cost.GPUInstance); empty when none is priced.
	Instance string
	// InstanceHourlyUSD is that instance's on-demand hourly price; 0 when
	// unpriced.
	InstanceHourlyUSD float64
}

// Priced says whether the model has a GPU price.
func (m SelfHosted) Priced() bool { return m.Instance != "" && m.InstanceHourlyUSD > 0 }

// USDPerGPUHour is what one GPU-hour of the model costs: its replica's
// instance hourly price spread over the replica's GPUs. A replica is
// priced as a whole node, as the cost estimate prices it (Karpenter
// launches the cheapest allowed instance with enough GPUs for it): a
// GPU-hour of a 2-GPU replica on a 4-GPU instance costs half the
// instance's hour, so two such replicas packed on one node are charged
// the node twice; the cheapest instance with enough GPUs rarely has more.
func (m SelfHosted) USDPerGPUHour() float64 {
	if !m.Priced() || m.GPUsPerReplica <= 0 {
		return 0
	}
	return m.InstanceHourlyUSD / float64(m.GPUsPerReplica)
}

// Budget is one token budget, at its position in the budgets' policy.
type Budget struct {
	// Index is the rule's position in the policy: Envoy Gateway names
	// its counters after it.
	Index int
	// Client is the client it limits; empty for a group's.
	Client string
	// Group is the JWT group each of whose members it limits; empty for a
	// client's.
	Group string
	// Window is hour, day or month (Envoy Gateway's Hour, Day, Month).
	Window string
	// Tokens is the limit.
	Tokens int
	// Observe says the budget only counts (shadow mode).
	Observe bool
}

// Mode is the budget's config mode: enforce or observe.
func (b Budget) Mode() string {
	if b.Observe {
		return config.BudgetObserve
	}
	return config.BudgetEnforce
}

// Subject names whose budget it is, for legends: the client's name, or
// group:<name> for a group's (each member's own budget).
func (b Budget) Subject() string {
	if b.Group != "" {
		return "group:" + b.Group
	}
	return b.Client
}

// Key1 is the first descriptor entry of the budget's counters, as the rate
// limit service's metrics label it (key1): Envoy Gateway names a shared
// rule <domain>/rule/<index> and uses the name as both key and value of
// the entry (internal/xds/translator/ratelimit.go,
// buildRouteRateLimits and addRateLimitDescriptor; internal/gatewayapi/
// helpers.go, irRuleName), and envoyproxy/ratelimit names a stat
// <domain>.<key>_<value>... (src/config/config_impl.go), which Envoy
// Gateway's statsd mapping splits into domain, key1 and key2
// (internal/infrastructure/kubernetes/ratelimit/statsd_conf.yaml).
func Key1(domain string, index int) string {
	name := fmt.Sprintf("%s/rule/%d", domain, index)
	return name + "_" + name
}

// SpecFromConfig builds the Spec from the stack config.
func SpecFromConfig(cfg *config.Config) Spec {
	s := Spec{
		ModelNamespace:     storage.Namespace,
		Hosted:             cfg.HostedPrices(),
		BudgetDomain:       gateway.Namespace + "/" + budgets.PolicyName,
		RateLimitNamespace: gateway.EnvoyNamespace,
	}
	for _, m := range cfg.Models {
		sh := SelfHosted{Name: m.Name, ServedNames: m.ServedNames(), GPUsPerReplica: m.GPUsPerReplica}
		if instance, hourly, ok := cost.GPUInstance(cfg.GPU, m.GPUsPerReplica); ok {
			sh.Instance, sh.InstanceHourlyUSD = instance, hourly
		}
		s.SelfHosted = append(s.SelfHosted, sh)
	}
	for i, r := range budgets.FromConfig(cfg) {
		s.Budgets = append(s.Budgets, Budget{
			Index: i, Client: r.Client, Group: r.Group, Window: strings.ToLower(r.Unit), Tokens: r.Tokens, Observe: r.Observe,
		})
	}
	return s
}

// validate checks what the rules cannot do without.
func (s Spec) validate() error {
	switch {
	case s.ModelNamespace == "":
		return fmt.Errorf("usage: Spec.ModelNamespace is required")
	case len(s.Budgets) > 0 && (s.BudgetDomain == "" || s.RateLimitNamespace == ""):
		return fmt.Errorf("usage: %d budgets need Spec.BudgetDomain and Spec.RateLimitNamespace", len(s.Budgets))
	}
	for _, m := range s.SelfHosted {
		if m.Name == "" || len(m.ServedNames) == 0 || m.GPUsPerReplica <= 0 {
			return fmt.Errorf("usage: model %q: Name, ServedNames and GPUsPerReplica (%d) are required", m.Name, m.GPUsPerReplica)
		}
	}
	for _, h := range s.Hosted {
		if h.UpstreamModel == "" || h.USDPerMillionInputTokens < 0 || h.USDPerMillionOutputTokens < 0 {
			return fmt.Errorf("usage: hosted price %+v: an upstream model id and prices of at least 0 are required", h)
		}
	}
	for i, b := range s.Budgets {
		if b.Index != i {
			return fmt.Errorf("usage: budget %d has index %d: budgets must be in policy order", i, b.Index)
		}
		if (b.Client == "") == (b.Group == "") || b.Tokens <= 0 {
			return fmt.Errorf("usage: budget %d: exactly one of Client (%q) and Group (%q), and Tokens above 0 (%d)", i, b.Client, b.Group, b.Tokens)
		}
		if b.Window != "hour" && b.Window != "day" && b.Window != "month" {
			return fmt.Errorf("usage: budget %d: window %q is not hour, day or month", i, b.Window)
		}
	}
	return nil
}
