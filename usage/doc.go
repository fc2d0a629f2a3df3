// Package usage is who used what and what it cost: tokens per client and
// model, each self-hosted model's GPU hours, an estimated cost per client,
// and the tokens charged beyond each token budget (enforced or only
// observed). It provisions a PrometheusRule of recording rules, a
// PodMonitor for Envoy Gateway's rate limit service, and the "Usage by
// client" Grafana dashboard.
//
// Two groups of recording rules. A fine one (every minute) records what
// changes slowly or never: the GPUs of each model's available replicas,
// and each budget's limit with the labels that name it. An hourly one
// records, once an hour, the hour's totals; a month is then
// sum_over_time over at most 720 hourly samples, which stays cheap however
// many raw samples the month held. Prometheus' retention
// (observability.retention, 32 days at least) keeps a full 30 days of
// them.
//
// Cost is an estimate, not a bill. A self-hosted model costs the on-demand
// hourly price of the instance one replica runs on (cost.GPUInstance, the
// table the cost estimate uses) for every hour a replica is available; a
// client is charged that hour's cost times its share of the model's tokens
// that hour (input and output alike, as the budgets count them). Hours in
// which a model served no token are unattributed. Hosted models cost their
// per-million-token list prices from config. docs/decisions/
// 0011-usage-and-cost.md says why, and what it leaves out.
//
// Budgets are counted by Envoy Gateway's rate limit service
// (envoyproxy/ratelimit), whose metrics name a budget by its position in
// the budgets' BackendTrafficPolicy, never by its client: the rules map
// each position back to its client or group, window and mode. Its
// counters are in tokens (each response's total tokens; the request
// itself costs nothing), so they measure tokens charged beyond a budget,
// not refused requests: a 429 adds nothing to them. A count of 429s per
// client needs Envoy's access log.
package usage
