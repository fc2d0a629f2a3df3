package observability

import (
	"fmt"
	"strconv"

	"github.com/llm-platform/llm-platform/observability/metrics"
)

// ModelSLO is what the alerts and dashboard need to know about a model.
type ModelSLO struct {
	// Name is the model's config name (its Deployment and Job prefix).
	Name string
	// ServedName is the OpenAI model name (vLLM's model_name label).
	ServedName string
	// Namespace holds its Deployment.
	Namespace string
	// TTFTTargetSeconds is the p95 time-to-first-token objective.
	TTFTTargetSeconds float64
	// MinReplicas is the floor KEDA keeps; above zero, zero ready replicas
	// is an outage.
	MinReplicas int
	// ColdStartBudgetSeconds is the model's estimated cold start from its
	// pod's creation to ready (coldstart.Budget.FromPodCreated): the
	// LLMColdStartOverBudget threshold.
	ColdStartBudgetSeconds float64
	// PreloadJob is the preload Job of the model's current revision
	// (models.PreloadJobName): pods created before it completed waited for
	// the download and are not cold starts.
	PreloadJob string
	// FallbackModel is the hosted model id a fallback sends the model's
	// requests on as (models[].fallback.upstreamModel); empty without one.
	FallbackModel string
	// HoldSeconds is how long the model's endpoint picker holds a request
	// no replica can take before it answers 503: its flow-control TTL,
	// gateway.queueTimeoutSeconds (eppconfig.Spec.RequestTTLSeconds).
	// Required.
	HoldSeconds float64
	// WakeBudgetSeconds is the model's estimated wake-up from a request's
	// arrival to its first token (coldstart.Budget.Total): how long a
	// model at zero may hold requests with no available replica before
	// LLMStuckAtZero fires. Required, and below HoldSeconds, when
	// MinReplicas is 0.
	WakeBudgetSeconds float64
}

// Alert is one Prometheus alerting rule.
type Alert struct {
	Name     string
	Expr     string
	For      string
	Severity string
	Summary  string
	// Runbook says what to do first; it lands in the runbook annotation.
	Runbook string
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TTFTP95 is the p95 time to first token of one served model over 5m.
func TTFTP95(served string) string {
	return fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{%s=%q}[5m])))`, metrics.VLLMModel, served)
}

// FallbackRate is the rate of a served model's requests the gateway sent
// on to its hosted fallback: requests for the served name (the AI
// Gateway's gen_ai_original_model, what the client asked for) that went
// out as the fallback's model id (gen_ai_request_model, after the fallback
// route's override; config refuses a fallback id equal to the served
// name, so the two never coincide).
func FallbackRate(served, upstream string) string {
	return fmt.Sprintf(`sum by (%[1]s) (rate(gen_ai_server_request_duration_seconds_count{%[1]s=%[2]q,%[3]s=%[4]q}[5m]))`,
		metrics.GatewayOriginalModel, served, metrics.GatewayModel, upstream)
}

// ErrorRatio is the share of a served model's requests that failed at the
// gateway over 5m (the AI Gateway sets error_type only on failures).
//
// It does not count what the endpoint picker answers itself: the AI
// Gateway v1.0.0 records this metric in its upstream filter only
// (internal/extproc/processor_impl.go, upstreamProcessor; the router-level
// processor passes an immediate response through unrecorded), and the
// picker's ext_proc filter runs before the router
// (internal/extensionserver/post_translate_modify.go), so its 503 at the
// hold's end and its 429 on a full queue never reach an upstream. A held
// request that a woken replica serves is recorded, as a success. So there
// is nothing to exclude here and no double alert: LLMRequestsExpiredInQueue
// and LLMRequestsRejectedQueueFull (PoolAlerts) are the only alerts on the
// picker's refusals, and the ratio stays the upstream error ratio.
func ErrorRatio(served string) string {
	return fmt.Sprintf(`sum(rate(gen_ai_server_request_duration_seconds_count{%[1]s=%[2]q,%[3]s!=""}[5m])) / sum(rate(gen_ai_server_request_duration_seconds_count{%[1]s=%[2]q}[5m]))`,
		metrics.GatewayModel, served, metrics.GatewayErrorType)
}

// Alerts are the SLO and health alerts for the platform and its models.
func Alerts(models []ModelSLO, errorRatioTarget float64, gpuPool string) []Alert {
	var out []Alert
	for _, m := range models {
		sel := fmt.Sprintf(`%s=%q`, metrics.VLLMModel, m.ServedName)
		out = append(out,
			Alert{
				Name:     "LLMTimeToFirstTokenHigh",
				Expr:     fmt.Sprintf(`%s > %s`, TTFTP95(m.ServedName), num(m.TTFTTargetSeconds)),
				For:      "10m",
				Severity: "warning",
				Summary:  fmt.Sprintf("p95 time to first token of %s is above its %ss target", m.ServedName, num(m.TTFTTargetSeconds)),
				Runbook:  "Check vllm:num_requests_waiting and KV cache use on the model dashboard: sustained queueing means more replicas are needed (raise maxReplicas or gpu.gpuLimit); a pending replica usually means no GPU capacity (kubectl get nodeclaims).",
			},
			// The endpoint picker's 503s and 429s are not in the ratio
			// (see ErrorRatio): PoolAlerts has them.
			Alert{
				Name:     "LLMErrorRatioHigh",
				Expr:     fmt.Sprintf(`(%s) > %s`, ErrorRatio(m.ServedName), num(errorRatioTarget)),
				For:      "10m",
				Severity: "critical",
				Summary:  fmt.Sprintf("more than %s of requests to %s fail", num(errorRatioTarget), m.ServedName),
				Runbook:  "Look at the vLLM pod logs (kubectl -n models logs deploy/" + m.Name + ") for engine errors or OOM, and at the AI Gateway extproc logs for upstream errors.",
			},
			Alert{
				Name:     "LLMRequestsQueued",
				Expr:     fmt.Sprintf(`sum(vllm:num_requests_waiting{%s}) > 0`, sel),
				For:      "10m",
				Severity: "warning",
				Summary:  fmt.Sprintf("%s has had requests waiting for 10 minutes", m.ServedName),
				Runbook:  "Autoscaling is not keeping up: check the ScaledObject (kubectl -n models get scaledobject " + m.Name + "), the NodePool GPU limit and pending pods.",
			},
			Alert{
				Name:     "LLMKVCacheNearlyFull",
				Expr:     fmt.Sprintf(`max(vllm:kv_cache_usage_perc{%s}) > 0.9`, sel),
				For:      "5m",
				Severity: "warning",
				Summary:  fmt.Sprintf("KV cache of %s is above 90%%", m.ServedName),
				Runbook:  "Requests will queue or be preempted: lower maxModelLen or maxNumSeqs, use a quantized checkpoint, or add replicas.",
			},
			Alert{
				Name: "LLMPreloadFailed",
				// The Job's Failed condition (backoffLimit or deadline
				// exceeded: it will not retry), not kube_job_status_failed,
				// which counts failed attempts and keeps counting after a
				// retry succeeds. kube-state-metrics v2.20.0
				// (internal/store/job.go) exports the condition as
				// kube_job_failed{condition="true"} = 1 while it holds.
				Expr:     fmt.Sprintf(`sum(kube_job_failed{namespace=%q,job_name=~%q,condition="true"}) > 0`, m.Namespace, m.Name+"-preload.*"),
				For:      "0m",
				Severity: "critical",
				Summary:  fmt.Sprintf("the weight preload job of %s failed for good (no retries left)", m.Name),
				Runbook:  "kubectl -n " + m.Namespace + " logs -l app.kubernetes.io/name=preload,app.kubernetes.io/instance=" + m.Name + " (failed attempts keep their pods): a wrong revision, a gated model without huggingFaceToken, or mount targets not yet available. A new revision gets a new Job on the next pulumi up; to retry the same revision, pulumi up --replace the Job's URN.",
			},
		)
		out = append(out, PoolAlerts(m)...)
		if m.MinReplicas > 0 {
			out = append(out, Alert{
				Name:     "LLMNoReadyReplicas",
				Expr:     fmt.Sprintf(`sum(kube_deployment_status_replicas_available{namespace=%q,deployment=%q}) == 0`, m.Namespace, m.Name),
				For:      "5m",
				Severity: "critical",
				Summary:  fmt.Sprintf("%s has no ready replica although its minimum is %d", m.ServedName, m.MinReplicas),
				Runbook:  "kubectl -n " + m.Namespace + " describe pod -l app.kubernetes.io/instance=" + m.Name + ": pending means no GPU node (Karpenter logs, spot capacity); crash-looping means the engine fails to start (logs).",
			})
		}
	}
	out = append(out,
		Alert{
			Name:     "GPUXidErrors",
			Expr:     `max by (hostname, gpu) (DCGM_FI_DEV_XID_ERRORS) > 0`,
			For:      "0m",
			Severity: "critical",
			Summary:  "a GPU reported an XID error",
			Runbook:  "Check the XID code against NVIDIA's XID table; for hardware XIDs (48, 63, 64, 79) cordon the node and delete its NodeClaim so Karpenter replaces it.",
		},
		Alert{
			Name:     "GPUNodePoolAtLimit",
			Expr:     fmt.Sprintf(`sum(karpenter_nodepools_usage{nodepool=%q,resource_type="nvidia.com/gpu"}) >= sum(karpenter_nodepools_limit{nodepool=%q,resource_type="nvidia.com/gpu"})`, gpuPool, gpuPool),
			For:      "15m",
			Severity: "warning",
			Summary:  "the GPU NodePool is at its GPU limit: new replicas cannot be scheduled",
			Runbook:  "Raise gpu.gpuLimit (the cost ceiling) or lower models' maxReplicas.",
		},
	)
	return out
}

// Record is one Prometheus recording rule.
type Record struct {
	Record, Expr string
	// Labels are static labels added to every recorded series.
	Labels map[string]string
}

// RuleGroup is one group of the PrometheusRule. Prometheus evaluates a
// group's rules in order: records, then alerts.
type RuleGroup struct {
	Name string
	// Interval is the group's evaluation interval; empty is
	// Prometheus' global one.
	Interval string
	Records  []Record
	Alerts   []Alert
}

// SLOGroup is the rule group of the SLO and health alerts.
const SLOGroup = "llm-platform.slo"

// RuleGroups are the platform's rule groups: the SLO and health alerts,
// and the cold-start rules.
func RuleGroups(models []ModelSLO, errorRatioTarget float64, gpuPool string) []RuleGroup {
	return []RuleGroup{
		{Name: SLOGroup, Alerts: Alerts(models, errorRatioTarget, gpuPool)},
		ColdStartRuleGroup(models),
	}
}

// PrometheusRuleObject puts the rule groups into one PrometheusRule.
func PrometheusRuleObject(namespace string, groups []RuleGroup) map[string]any {
	return NamedPrometheusRule("llm-platform", namespace, groups)
}

// NamedPrometheusRule is a PrometheusRule of that name, labelled as every
// rule of the platform (the kube-prometheus-stack Prometheus selects every
// PrometheusRule: KubePrometheusStackValues).
func NamedPrometheusRule(name, namespace string, groups []RuleGroup) map[string]any {
	var out []any
	for _, g := range groups {
		var rules []any
		for _, r := range g.Records {
			rule := map[string]any{"record": r.Record, "expr": r.Expr}
			if len(r.Labels) > 0 {
				labels := map[string]any{}
				for k, v := range r.Labels {
					labels[k] = v
				}
				rule["labels"] = labels
			}
			rules = append(rules, rule)
		}
		for _, a := range g.Alerts {
			rules = append(rules, map[string]any{
				"alert":  a.Name,
				"expr":   a.Expr,
				"for":    a.For,
				"labels": map[string]any{"severity": a.Severity},
				"annotations": map[string]any{
					"summary": a.Summary,
					"runbook": a.Runbook,
				},
			})
		}
		group := map[string]any{"name": g.Name, "rules": rules}
		if g.Interval != "" {
			group["interval"] = g.Interval
		}
		out = append(out, group)
	}
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata":   map[string]any{"name": name, "namespace": namespace, "labels": map[string]any{"app.kubernetes.io/part-of": "llm-platform"}},
		"spec":       map[string]any{"groups": out},
	}
}
