package usage

import (
	"fmt"
	"github.com/llm-platform/llm-platform/grafana"

	"github.com/llm-platform/llm-platform/observability/metrics"
)

// The "Usage by client" dashboard, built from Go values as the platform
// dashboard is (observability/dashboard.go): every query is a plain string
// the tests parse; ids and layout are computed.

// DashboardUID is the dashboard's Grafana uid.
const DashboardUID = "llm-platform-usage"

// Query is one panel query with its legend.
type Query = grafana.Query

// Panel types.
const (
	TimeSeries = grafana.TimeSeries
	BarGauge   = grafana.BarGauge
)

// Panel is one dashboard panel (TimeFrom now/h is this hour so far, now/d
// today so far: the dashboard is in UTC, as the rate limit service's
// windows are; Interval 1h over hourly series, whose one sample an hour a
// shorter step would only repeat).
type Panel = grafana.Panel

// Legends.
const (
	byClientModelType = "{{" + metrics.GatewayClient + "}} {{" + metrics.GatewayModel + "}} {{" + metrics.GatewayTokenType + "}}"
	bySubjectWindow   = "{{subject}} {{window}}"
)

// tokensBy groups the hourly token series.
var tokensBy = fmt.Sprintf("%s, %s, %s", metrics.GatewayClient, metrics.GatewayModel, metrics.GatewayTokenType)

// over sums an hourly series over a range: its total for the range that
// ends at the query's time (the hours recorded in it).
func over(by, series, rng string) string {
	return fmt.Sprintf(`sum by (%s) (sum_over_time(%s[%s]))`, by, series, rng)
}

// perHour is an hourly series as a step per hour: the last recorded hour.
func perHour(by, series string) string {
	return fmt.Sprintf(`sum by (%s) (last_over_time(%s[1h]))`, by, series)
}

const (
	tokensNote = " Input and output tokens as the AI Gateway counts them, by the model each request was sent on as (a fallback's hosted model id, not the self-hosted name asked for)."
	excessNote = " In tokens, not requests: the rate limit service counts each response's tokens and charges nothing for a request, so a refused request (a 429) adds nothing here. " +
		"The number is the tokens charged beyond the budget by the requests that crossed it, and, for an enforced budget, by the requests already running when it did. " +
		"A count of 429s per client needs the gateway's access log."
	costNote = " An estimate, not a bill: a self-hosted model's GPU hours at the on-demand price of the instance a replica runs on (the cost estimate's table), split between clients by their share of the model's tokens each hour; hosted models at their per-million-token prices from config (unpriced ones are left out)."
)

// DashboardPanels are the "Usage by client" panels. The budget panels
// are left out when there is no budget.
func (s Spec) DashboardPanels() []Panel {
	q := func(expr, legend string) Query { return Query{Expr: expr, Legend: legend} }
	tokens := func(window, rng string) Panel {
		return Panel{
			Title: "Tokens per client and model, " + window, Unit: "short", Type: BarGauge,
			Description: "Tokens in the recorded hours of the " + window + "." + tokensNote,
			Queries:     []Query{q(over(tokensBy, Tokens1h, rng), byClientModelType)},
		}
	}
	panels := []Panel{
		tokens("last hour", "1h"), tokens("last day", "1d"), tokens("last 30 days", "30d"),
		{
			Title: "Tokens per client and model, per hour", Unit: "short", Type: TimeSeries, Interval: "1h",
			Description: "Each hour's tokens." + tokensNote,
			Queries:     []Query{q(perHour(tokensBy, Tokens1h), byClientModelType)},
		},
	}
	if len(s.Budgets) > 0 {
		panels = append(panels, s.budgetPanels()...)
	}
	cost := func(by, legend, rng string) Query { return q(over(by, Cost1h, rng), legend) }
	return append(panels, []Panel{
		{
			Title: "GPUs per self-hosted model now", Unit: "short", Type: TimeSeries,
			Description: "GPUs of each model's available replicas (kube-state-metrics), recorded every minute.",
			Queries:     []Query{q(`sum by (model) (`+GPUs+`)`, "{{model}}")},
		},
		{
			Title: "GPU hours per self-hosted model, per hour", Unit: "short", Type: TimeSeries, Interval: "1h",
			Description: "Each hour's GPU hours: available replicas times GPUs per replica, averaged over the hour.",
			Queries:     []Query{q(perHour("model", GPUHours1h), "{{model}}")},
		},
		{
			Title: "Share of each model's GPU time per client, last 30 days", Unit: "percentunit", Type: BarGauge,
			Description: "A client's GPU hours (each hour's GPU hours times its share of the model's tokens that hour, input and output alike) over the model's GPU hours. " +
				"The rest is GPU time in hours with no token at all (the model idle at its minimum replicas, or waking).",
			Queries: []Query{
				q(over(metrics.GatewayClient+", model", ClientGPUHours1h, "30d")+` / on (model) group_left () `+over("model", GPUHours1h, "30d"),
					"{{"+metrics.GatewayClient+"}} {{model}}"),
				q(over("model", UnattributedGPUHours1h, "30d")+` / on (model) `+over("model", GPUHours1h, "30d"), "{{model}} no tokens"),
			},
		},
		{
			Title: "Estimated cost per client, last 30 days", Unit: "currencyUSD", Type: BarGauge,
			Description: "Self-hosted and hosted, separately." + costNote,
			Queries:     []Query{cost(metrics.GatewayClient+", kind", "{{"+metrics.GatewayClient+"}} {{kind}}", "30d")},
		},
		{
			Title: "Estimated cost per client and model, last 30 days", Unit: "currencyUSD", Type: BarGauge,
			Description: "By the model's config name (self-hosted) or hosted model id." + costNote,
			Queries:     []Query{cost(metrics.GatewayClient+", model", "{{"+metrics.GatewayClient+"}} {{model}}", "30d")},
		},
		{
			Title: "Estimated cost per client, per day", Unit: "currencyUSD", Type: TimeSeries, Interval: "1d",
			Description: "Each point is the 24 hours before it." + costNote,
			Queries:     []Query{cost(metrics.GatewayClient, "{{"+metrics.GatewayClient+"}}", "1d")},
		},
		{
			Title: "Unattributed GPU cost, last 30 days", Unit: "currencyUSD", Type: BarGauge,
			Description: "The cost of each model's GPU hours in hours in which it served no token: no client to charge them to. Beside it, the cost of all its GPU hours.",
			Queries: []Query{
				q(over("model", UnattributedCost1h, "30d"), "{{model}} no tokens"),
				q(over("model", GPUCost1h, "30d"), "{{model}} all GPU hours"),
			},
		},
	}...)
}

// budgetPanels are the budget panels: tokens beyond budgets, enforced and
// observed, and use of the current windows.
func (s Spec) budgetPanels() []Panel {
	q := func(expr, legend string) Query { return Query{Expr: expr, Legend: legend} }
	excess := func(mode string) string { return fmt.Sprintf(`%s{mode=%q}`, BudgetExcess1h, mode) }
	// live joins a rate limit counter to the budgets of a mode, which
	// name its key1.
	live := func(counter, mode string) string {
		return fmt.Sprintf(`sum by (subject, window) (increase(%s{domain=%q}[5m]) * on (key1) group_left (subject, window) group by (key1, subject, window) (%s{mode=%q}))`,
			counter, s.BudgetDomain, BudgetTokens, mode)
	}
	// use is a window's charged tokens over the client budgets of that
	// window: the rate limit service's own count (total_hits), since the
	// panel's start (this hour, today).
	use := func(window string) string {
		return fmt.Sprintf(`sum by (key1) (increase(%s{domain=%q}[$__range])) / on (key1) group_left (subject, mode) %s{window=%q,%s!=""}`,
			RateLimitTotalHits, s.BudgetDomain, BudgetTokens, window, metrics.GatewayClient)
	}
	const groups = " A group's row adds up all its members', each of whom has the budget on their own."
	return []Panel{
		{
			Title: "Tokens beyond budget, enforced, last 30 days", Unit: "short", Type: BarGauge,
			Description: "Per client (or group) and budget window." + excessNote + groups,
			Queries:     []Query{q(over("subject, window", excess("enforce"), "30d"), bySubjectWindow)},
		},
		{
			Title: "Tokens beyond budget, enforced, per hour", Unit: "short", Type: TimeSeries, Interval: "1h",
			Description: "Each hour's." + excessNote + groups,
			Queries:     []Query{q(perHour("subject, window", excess("enforce")), bySubjectWindow)},
		},
		{
			Title: "Would-be refusals in observe mode, last 30 days", Unit: "short", Type: BarGauge,
			Description: "Budgets with mode: observe refuse nothing (the rate limit's shadow mode): these are the tokens charged beyond them, which enforcing the budget would have refused (the request that crossed it would still have completed)." +
				excessNote + groups,
			Queries: []Query{q(over("subject, window", excess("observe"), "30d"), bySubjectWindow)},
		},
		{
			Title: "Would-be refusals in observe mode, per hour", Unit: "short", Type: TimeSeries, Interval: "1h",
			Description: "Each hour's tokens beyond an observed budget." + excessNote + groups,
			Queries:     []Query{q(perHour("subject, window", excess("observe")), bySubjectWindow)},
		},
		{
			Title: "Tokens beyond budget now", Unit: "short", Type: TimeSeries,
			Description: "Over the last 5 minutes, from the rate limit service's counters." + excessNote + groups,
			Queries: []Query{
				q(live(RateLimitOverLimit, "enforce"), bySubjectWindow+" enforced"),
				q(live(RateLimitShadowMode, "observe"), bySubjectWindow+" observed"),
			},
		},
		{
			Title: "Budget use: this hour", Unit: "percentunit", Type: BarGauge, TimeFrom: "now/h",
			Description: "Tokens charged this hour (UTC) over each client's hourly budget, as the rate limit service counts them. Group budgets are per member and not shown.",
			Queries:     []Query{q(use("hour"), "{{subject}} ({{mode}})")},
		},
		{
			Title: "Budget use: today", Unit: "percentunit", Type: BarGauge, TimeFrom: "now/d",
			Description: "Tokens charged since midnight UTC, when daily budgets start, over each client's daily budget. Group budgets are per member and not shown.",
			Queries:     []Query{q(use("day"), "{{subject}} ({{mode}})")},
		},
		{
			Title: "Budget use: last 30 days, monthly budgets", Unit: "percentunit", Type: BarGauge,
			Description: "Input and output tokens of the last 30 days over each client's monthly budget. A monthly budget's window is a fixed 30 days counted from the Unix epoch, not a calendar month, so the current window started within these 30 days: its use is at most this. Group budgets are per member and not shown.",
			Queries: []Query{q(fmt.Sprintf(`sum by (%[1]s) (sum_over_time(%[2]s[30d])) / on (%[1]s) group_left (subject, mode) %[3]s{window="month",%[1]s!=""}`,
				metrics.GatewayClient, Tokens1h, BudgetTokens), "{{subject}} ({{mode}})")},
		},
	}
}

// DashboardJSON renders the dashboard, in UTC (the budgets' windows are).
func (s Spec) DashboardJSON() string {
	return grafana.Dashboard{
		UID: DashboardUID, Title: "Usage by client", Tags: []string{"llm-platform"}, Timezone: "utc",
		Refresh: "5m", From: "now-7d", Panels: s.DashboardPanels(),
	}.JSON()
}
