package observability

import (
	"fmt"
	"math"
	"regexp"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/observability/metrics"
)

// Inference pools (issue 15): each model sits behind an InferencePool named
// after it, whose endpoint picker (EPP, gateway-api-inference-extension
// v1.5.0) holds requests in flow control while no replica can take them:
// a model at zero wakes with its requests held, for at most the picker's
// TTL, after which the picker answers 503; a full queue answers 429. The
// picker's metrics say what the gateway's do not (see ErrorRatio): how
// many requests are held, for how long, and how they left.

// EPPPodMonitorName names the endpoint pickers' PodMonitor.
const EPPPodMonitorName = "endpoint-picker"

// eppMetricsPort is the name of the pickers' metrics container port (9090,
// /metrics without authentication; package inference).
const eppMetricsPort = "metrics"

// EPPPodMonitor scrapes /metrics on every endpoint picker pod in the model
// namespace.
func EPPPodMonitor(modelNamespace string) map[string]any {
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PodMonitor",
		"metadata":   map[string]any{"name": EPPPodMonitorName, "namespace": Namespace},
		"spec": map[string]any{
			"namespaceSelector": map[string]any{"matchNames": []any{modelNamespace}},
			"selector":          map[string]any{"matchLabels": map[string]any{metrics.ComponentLabel: metrics.EPPComponent}},
			"podMetricsEndpoints": []any{map[string]any{
				// The wake-up trigger of a model at zero reads the queue
				// gauge: the interval is part of its cold-start budget
				// (coldstart's signal phase).
				"port": eppMetricsPort, "path": "/metrics", "interval": fmt.Sprintf("%ds", coldstart.ScrapeIntervalSeconds),
			}},
		},
	}
}

// Flow-control series of the picker (pkg/epp/metrics/metrics.go) and the
// outcomes the alerts count (pkg/epp/flowcontrol/types/outcomes.go).
const (
	queueSizeMetric     = "inference_extension_flow_control_queue_size"
	queueDurationMetric = "inference_extension_flow_control_request_queue_duration_seconds"

	// OutcomeEvictedTTL: held for the whole TTL; the picker answered 503.
	OutcomeEvictedTTL = "EvictedTTL"
	// OutcomeRejectedCapacity: the queue was at its bounds (or the picker
	// had no shard); the picker answered 429.
	OutcomeRejectedCapacity = "RejectedCapacity"
)

// poolSelector selects a model's pool series: the pool is named after the
// model's config name; namespace is the scraped pod's.
func poolSelector(m ModelSLO) string {
	return fmt.Sprintf(`namespace=%q,%s=%q`, m.Namespace, metrics.InferencePool, m.Name)
}

// PoolQueueSize is the number of requests the model's picker holds now.
func PoolQueueSize(m ModelSLO) string {
	return fmt.Sprintf(`sum(%s{%s})`, queueSizeMetric, poolSelector(m))
}

// PoolOutcomes is an expression that is non-empty (a number of requests)
// while requests of the model left flow control with the outcome in the
// last 5 minutes.
//
// The _count series of a label set (client, model, outcome, picker pod) is
// created by its first request: the histogram has no series before it.
// increase, which needs two samples, misses that request, and the first
// 503 of a client after a wake-up failed is exactly that. So the second
// term: a series absent 5 minutes ago although the model's picker was
// being scraped then (up offset 5m, any of its pods: a restarted picker's
// series are all new), now counting requests, counts them. A gap in
// Prometheus' data (a restart, an outage) takes up away with the series,
// so a series seen again after the gap is not new.
func PoolOutcomes(m ModelSLO, outcome string) string {
	sel := fmt.Sprintf(`%s_count{%s,%s=%q}`, queueDurationMetric, poolSelector(m), metrics.QueueOutcome, outcome)
	picker := fmt.Sprintf(`up{namespace=%q,pod=~%q}`, m.Namespace, eppPodPattern(m.Name))
	return fmt.Sprintf(`sum(increase(%[1]s[5m])) > 0 or sum((%[1]s unless %[1]s offset 5m) and on (namespace) %[2]s offset 5m) > 0`,
		sel, picker)
}

// eppPodPattern matches the names of a model's picker pods, those of
// Deployment <model>-epp (package inference), as podPattern does the
// model's own.
func eppPodPattern(model string) string {
	return regexp.QuoteMeta(model) + "-epp-[a-z0-9]+-[a-z0-9]{5}"
}

// forSeconds is a `for` duration of whole seconds, rounded up.
func forSeconds(s float64) string { return fmt.Sprintf("%ds", int(math.Ceil(s))) }

// PoolAlerts are the alerts on a model's endpoint picker: requests that
// expired in its queue (critical: clients got 503 after waiting the whole
// TTL, and no other alert sees it), requests refused by a full queue
// (warning: load shedding, by design, but capacity is short), and, for a
// model that scales to zero, held requests with no replica for longer than
// its wake-up budget (warning: the early sign; the 503s follow at the TTL
// and page through LLMRequestsExpiredInQueue).
func PoolAlerts(m ModelSLO) []Alert {
	chain := fmt.Sprintf(`the KEDA ScaledObject (kubectl -n %[1]s describe scaledobject %[2]s: is its trigger active? then the keda-operator log), `+
		`the Deployment's pods (kubectl -n %[1]s get pods -l app.kubernetes.io/instance=%[2]s: Pending means no GPU node, see kubectl get nodeclaims, the Karpenter logs and GPUNodePoolAtLimit), `+
		`and for a pod that started, which cold-start phase overruns (%[3]s{model=%[4]q} against the budget, LLMColdStartOverBudget)`,
		m.Namespace, m.Name, ColdStartPhaseSeconds, m.Name)
	expired := "The model had replicas, none free for the whole hold: it is saturated (the queue per client panel shows who waits; raise its maxReplicas or gpu.gpuLimit) or its replicas are down (LLMNoReadyReplicas)."
	if m.MinReplicas == 0 {
		expired = "If the model was at zero it did not wake in time (LLMStuckAtZero fired first): check " + chain + ". " +
			"If it had replicas, it is saturated: the queue per client panel shows who waits; raise its maxReplicas or gpu.gpuLimit."
	}
	out := []Alert{
		{
			Name:     "LLMRequestsExpiredInQueue",
			Expr:     PoolOutcomes(m, OutcomeEvictedTTL),
			For:      "0m",
			Severity: "critical",
			Summary: fmt.Sprintf("requests to %s waited the endpoint picker's whole %s s hold without a replica taking them and got 503",
				m.ServedName, num(m.HoldSeconds)),
			Runbook: expired,
		},
		{
			Name:     "LLMRequestsRejectedQueueFull",
			Expr:     PoolOutcomes(m, OutcomeRejectedCapacity),
			For:      "0m",
			Severity: "warning",
			Summary:  fmt.Sprintf("the endpoint picker of %s refused requests with 429: its flow-control queue was full", m.ServedName),
			Runbook: "The queue reached its bounds (the maximum requests and bytes of inference/eppconfig): the queue per client panel shows whether one client floods it. " +
				"Sustained, the model lacks replicas: raise its maxReplicas or gpu.gpuLimit, and check that they come up: " + chain + ". " +
				"The picker also counts a request it had no shard for as RejectedCapacity: its log (kubectl -n " + m.Namespace + " logs deploy/" + m.Name + "-epp) says which.",
		},
	}
	if m.MinReplicas == 0 {
		out = append(out, Alert{
			Name: "LLMStuckAtZero",
			// Held requests and no available replica, without a break, for
			// the wake-up budget (request to first token). The clock starts
			// at the first scrape that sees the held request and the first
			// evaluation after it, so the alert comes up to a scrape and an
			// evaluation interval after the budget: still before the TTL,
			// which validation keeps above the budget. A client that gives
			// up and one that comes back later restart the clock: late,
			// never false.
			Expr: fmt.Sprintf(`%s > 0 and sum(kube_deployment_status_replicas_available{namespace=%q,deployment=%q}) == 0`,
				PoolQueueSize(m), m.Namespace, m.Name),
			For:      forSeconds(m.WakeBudgetSeconds),
			Severity: "warning",
			Summary: fmt.Sprintf("%s has held requests and no available replica for longer than its %s s wake-up budget: they get 503 at the %s s hold",
				m.ServedName, num(m.WakeBudgetSeconds), num(m.HoldSeconds)),
			Runbook: "Find where the wake-up stopped: " + chain + ".",
		})
	}
	return out
}

// poolPanels are the dashboard's flow-control and prefix-cache graphs.
// The picker's panels show every model by its pool, the config name.
func poolPanels(modelNamespace string) []Panel {
	q := func(expr, legend string) Query { return Query{Expr: expr, Legend: legend} }
	ns := fmt.Sprintf(`namespace=%q`, modelNamespace)
	perPool := func(series string) string {
		return fmt.Sprintf(`sum by (%s) (rate(%s_%s{%s}[5m]))`, metrics.InferencePool, queueDurationMetric, series, ns)
	}
	return []Panel{
		{Title: "Held requests per model", Unit: "short", Queries: []Query{
			q(fmt.Sprintf(`sum by (%s) (%s{%s})`, metrics.InferencePool, queueSizeMetric, ns), "{{inference_pool}}"),
		}},
		{Title: "Held requests per client", Unit: "short", Queries: []Query{
			q(fmt.Sprintf(`sum by (%s, %s) (%s{%s})`, metrics.InferencePool, metrics.FairnessID, queueSizeMetric, ns), "{{inference_pool}} {{fairness_id}}"),
		}},
		// Every outcome: the time a request spent held before it was
		// dispatched, refused or evicted. The top bucket is 60 s, so a p95
		// of 60 means 60 or more (a wake-up holds requests longer); the
		// mean is not capped.
		{Title: "Time held in the queue", Unit: "s", Queries: []Query{
			q(fmt.Sprintf(`histogram_quantile(0.95, %s)`, fmt.Sprintf(`sum by (le, %s) (rate(%s_bucket{%s}[5m]))`, metrics.InferencePool, queueDurationMetric, ns)),
				"{{inference_pool}} p95"),
			q(perPool("sum")+" / "+perPool("count"), "{{inference_pool}} mean"),
		}},
		// Prompt tokens found in the prefix cache: the prefix-aware scorer
		// of the picker is meant to raise it.
		{Title: "Prefix cache hit rate", Unit: "percentunit", Queries: []Query{
			q(`sum by (model_name) (rate(vllm:prefix_cache_hits_total{`+modelSel+`}[5m])) / sum by (model_name) (rate(vllm:prefix_cache_queries_total{`+modelSel+`}[5m]))`, "{{model_name}}"),
		}},
	}
}
