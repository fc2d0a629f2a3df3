package usage

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/llm-platform/llm-platform/observability"
	"github.com/llm-platform/llm-platform/observability/metrics"
)

// Rule groups.
const (
	// FineGroup is evaluated every FineInterval.
	FineGroup    = "llm-platform.usage"
	FineInterval = "1m"
	// HourlyGroup is evaluated every hour: each of its series has one
	// sample an hour, the total of the hour before it.
	HourlyGroup    = "llm-platform.usage.hourly"
	HourlyInterval = "1h"
)

// Recorded series of the fine group.
const (
	// BudgetTokens is a budget's limit in tokens, a constant, with the
	// labels that name the budget: rule (its index), key1 (its rate limit
	// counters' key1 label, to join them on), client_id or group, subject
	// (Budget.Subject), window (hour, day, month) and mode (enforce,
	// observe).
	BudgetTokens = "llm:usage_budget_tokens"
	// GPUs is a self-hosted model's GPUs now: its available replicas
	// (kube-state-metrics) times its GPUs per replica. Label model.
	GPUs = "llm:usage_gpus"
)

// Recorded series of the hourly group: each sample is the total of the
// hour that ended at its timestamp.
const (
	// Tokens1h are the tokens in the hour by client_id,
	// gen_ai_request_model (the model sent on as: a self-hosted served
	// name or adapter, or a hosted model id) and gen_ai_token_type (input,
	// output).
	Tokens1h = "llm:usage_tokens:1h"
	// GPUHours1h are a self-hosted model's GPU hours in the hour. Label
	// model.
	GPUHours1h = "llm:usage_gpu_hours:1h"
	// GPUCost1h is what those GPU hours cost, in USD. Label model.
	GPUCost1h = "llm:usage_gpu_cost_usd:1h"
	// ModelShare1h is a client's share (0 to 1) of a self-hosted model's
	// tokens in the hour, input and output alike; only in hours with
	// tokens. Labels client_id, model.
	ModelShare1h = "llm:usage_model_share:1h"
	// ClientGPUHours1h are the GPU hours attributed to a client: the
	// model's GPU hours times the client's share. Labels client_id, model.
	ClientGPUHours1h = "llm:usage_client_gpu_hours:1h"
	// Cost1h is a client's estimated cost in USD. Labels client_id, model
	// (config name of a self-hosted model, or the hosted model id) and
	// kind (self-hosted, hosted).
	Cost1h = "llm:usage_cost_usd:1h"
	// UnattributedGPUHours1h are a self-hosted model's GPU hours in an
	// hour in which it served no token: no client to charge. Label model.
	UnattributedGPUHours1h = "llm:usage_unattributed_gpu_hours:1h"
	// UnattributedCost1h is what they cost, in USD. Label model.
	UnattributedCost1h = "llm:usage_unattributed_cost_usd:1h"
	// BudgetExcess1h are the tokens charged beyond a budget in the hour:
	// the rate limit service's over_limit counter for an enforced budget,
	// shadow_mode for an observed one (the would-be refusals). Labels as
	// BudgetTokens without key1. Tokens, not requests: see the package
	// comment.
	BudgetExcess1h = "llm:usage_budget_excess_tokens:1h"
)

// Values of the kind label of Cost1h.
const (
	KindSelfHosted = "self-hosted"
	KindHosted     = "hosted"
)

// The rate limit service's counters (envoyproxy/ratelimit, through Envoy
// Gateway's statsd mapping), in units of hits_addend: tokens here.
const (
	// RateLimitOverLimit adds the tokens charged beyond a limit, enforced
	// or not (src/limiter/base_limiter.go, checkOverLimitThreshold).
	RateLimitOverLimit = "ratelimit_service_rate_limit_over_limit"
	// RateLimitShadowMode adds the same for limits in shadow mode only.
	RateLimitShadowMode = "ratelimit_service_rate_limit_shadow_mode"
	// RateLimitTotalHits adds every token charged.
	RateLimitTotalHits = "ratelimit_service_rate_limit_total_hits"
)

// Record is one recording rule.
type Record = observability.Record

// RuleGroup is one rule group with its own evaluation interval.
type RuleGroup = observability.RuleGroup

// namesMatcher selects a label equal to one of names.
func namesMatcher(label string, names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("%s=%q", label, names[0])
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return fmt.Sprintf("%s=~%q", label, strings.Join(quoted, "|"))
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// tokenTypes are the token types priced and counted: the AI Gateway
// v1.0.0 also records cached_input (part of input) and reasoning (part of
// output) tokens (internal/metrics/metrics_impl.go, RecordTokenUsage),
// which would count twice.
const tokenTypes = `input|output`

// tokensSel selects a self-hosted model's hourly token series: those
// sent on as its served name or one of its adapters.
func (m SelfHosted) tokensSel() string {
	return fmt.Sprintf(`%s{%s}`, Tokens1h, namesMatcher(metrics.GatewayModel, m.ServedNames))
}

func modelLabel(m string) map[string]string { return map[string]string{"model": m} }

// budgetLabels name a budget on its series.
func (s Spec) budgetLabels(b Budget) map[string]string {
	l := map[string]string{"rule": strconv.Itoa(b.Index), "subject": b.Subject(), "window": b.Window, "mode": b.Mode()}
	if b.Client != "" {
		l[metrics.GatewayClient] = b.Client
	} else {
		l["group"] = b.Group
	}
	return l
}

// FineRecords are the fine group's rules: each budget's limit and labels,
// and each self-hosted model's GPUs now.
func (s Spec) FineRecords() []Record {
	var out []Record
	for _, b := range s.Budgets {
		l := s.budgetLabels(b)
		l["key1"] = Key1(s.BudgetDomain, b.Index)
		out = append(out, Record{Record: BudgetTokens, Expr: fmt.Sprintf("vector(%d)", b.Tokens), Labels: l})
	}
	for _, m := range s.SelfHosted {
		// max: during a kube-state-metrics rollout two instances export
		// the same Deployment.
		out = append(out, Record{
			Record: GPUs,
			Expr: fmt.Sprintf(`max(kube_deployment_status_replicas_available{namespace=%q,deployment=%q}) * %d`,
				s.ModelNamespace, m.Name, m.GPUsPerReplica),
			Labels: modelLabel(m.Name),
		})
	}
	return out
}

// HourlyRecords are the hourly group's rules, in evaluation order: each
// reads the ones before it at the same timestamp.
func (s Spec) HourlyRecords() []Record {
	out := []Record{{
		Record: Tokens1h,
		Expr: fmt.Sprintf(`sum by (%[1]s, %[2]s, %[3]s) (increase(gen_ai_client_token_usage_sum{%[3]s=~%[4]q}[1h]))`,
			metrics.GatewayClient, metrics.GatewayModel, metrics.GatewayTokenType, tokenTypes),
	}}
	for _, m := range s.SelfHosted {
		model := modelLabel(m.Name)
		tokens := m.tokensSel()
		// The model's tokens in the hour, if any: shares are only
		// defined in an hour with tokens.
		total := fmt.Sprintf(`(sum (%s) > 0)`, tokens)
		hours := fmt.Sprintf(`%s{model=%q}`, GPUHours1h, m.Name)
		// The fine group's GPUs, once a minute: their average over the
		// hour is the GPU hours (a minute or an evaluation missed
		// changes the average, not the hour).
		out = append(out,
			Record{Record: GPUHours1h, Expr: fmt.Sprintf(`avg_over_time(%s{model=%q}[1h])`, GPUs, m.Name), Labels: model},
			Record{
				Record: ModelShare1h,
				Expr:   fmt.Sprintf(`sum by (%s) (%s) / on () group_left () %s`, metrics.GatewayClient, tokens, total),
				Labels: model,
			},
			Record{
				Record: ClientGPUHours1h,
				Expr:   fmt.Sprintf(`%s{model=%q} * on () group_left () %s`, ModelShare1h, m.Name, hours),
				Labels: model,
			},
			Record{Record: UnattributedGPUHours1h, Expr: fmt.Sprintf(`%s unless on () %s`, hours, total), Labels: model},
		)
		if !m.Priced() {
			continue
		}
		price := num(m.USDPerGPUHour())
		out = append(out,
			Record{Record: GPUCost1h, Expr: fmt.Sprintf(`%s * %s`, hours, price), Labels: model},
			Record{
				Record: Cost1h,
				Expr:   fmt.Sprintf(`%s{model=%q} * %s`, ClientGPUHours1h, m.Name, price),
				Labels: map[string]string{"model": m.Name, "kind": KindSelfHosted},
			},
			Record{
				Record: UnattributedCost1h,
				Expr:   fmt.Sprintf(`%s{model=%q} * %s`, UnattributedGPUHours1h, m.Name, price),
				Labels: model,
			},
		)
	}
	for _, h := range s.Hosted {
		sel := func(typ string) string {
			return fmt.Sprintf(`%s{%s=%q,%s=%q}`, Tokens1h, metrics.GatewayModel, h.UpstreamModel, metrics.GatewayTokenType, typ)
		}
		// or, not +: an hour with input but no output tokens (or the
		// reverse) is still priced.
		out = append(out, Record{
			Record: Cost1h,
			Expr: fmt.Sprintf(`sum by (%s) (%s * %s / 1e6 or %s * %s / 1e6)`, metrics.GatewayClient,
				sel("input"), num(h.USDPerMillionInputTokens), sel("output"), num(h.USDPerMillionOutputTokens)),
			Labels: map[string]string{"model": h.UpstreamModel, "kind": KindHosted},
		})
	}
	for _, b := range s.Budgets {
		counter := RateLimitOverLimit
		if b.Observe {
			counter = RateLimitShadowMode
		}
		out = append(out, Record{
			Record: BudgetExcess1h,
			Expr:   fmt.Sprintf(`sum (increase(%s{%s}[1h]))`, counter, s.budgetSel(b.Index)),
			Labels: s.budgetLabels(b),
		})
	}
	return out
}

// budgetSel selects a budget's rate limit counters.
func (s Spec) budgetSel(index int) string {
	return fmt.Sprintf(`domain=%q,key1=%q`, s.BudgetDomain, Key1(s.BudgetDomain, index))
}

// RuleGroups are the usage rule groups: the fine one (absent when it
// would be empty) and the hourly one.
func (s Spec) RuleGroups() []RuleGroup {
	var out []RuleGroup
	if fine := s.FineRecords(); len(fine) > 0 {
		out = append(out, RuleGroup{Name: FineGroup, Interval: FineInterval, Records: fine})
	}
	return append(out, RuleGroup{Name: HourlyGroup, Interval: HourlyInterval, Records: s.HourlyRecords()})
}

// RuleName names the usage PrometheusRule.
const RuleName = "llm-platform-usage"

// PrometheusRuleObject is the usage PrometheusRule, labelled as the
// platform's other rules (the kube-prometheus-stack Prometheus selects
// every PrometheusRule: observability.KubePrometheusStackValues).
func PrometheusRuleObject(groups []RuleGroup) map[string]any {
	return observability.NamedPrometheusRule(RuleName, observability.Namespace, groups)
}
