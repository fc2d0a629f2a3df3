// Package metrics is the one list of the Prometheus metrics the platform's
// alerts, dashboard and autoscaling queries may use, with the component
// that exposes each. Tests parse every query the platform renders and fail
// on a metric that is not listed here; the list itself is checked against
// its sources when a pinned version changes.
//
// It has no dependencies, so the CRD/PromQL test module can import it.
package metrics

// Metric is one exposed metric family.
type Metric struct {
	Name string
	// Histogram families also expose _bucket, _sum and _count series.
	Histogram bool
	// Source is the component and version that exposes it.
	Source string
}

// Label names the queries group and filter by.
const (
	// VLLMModel is vLLM's label for the served model name.
	VLLMModel = "model_name"
	// GatewayModel is the AI Gateway's label for the requested model.
	GatewayModel = "gen_ai_request_model"
	// GatewayOriginalModel is the model the client asked for, before a
	// route's model name override (a hosted fallback's id is in
	// GatewayModel).
	GatewayOriginalModel = "gen_ai_original_model"
	// GatewayTokenType is input, output or total.
	GatewayTokenType = "gen_ai_token_type"
	// GatewayClient is the authenticated client, mapped from the
	// client header (gateway.ClientIDHeader) by the AI Gateway's
	// metricsRequestHeaderAttributes.
	GatewayClient = "client_id"
	// GatewayUser is the chat front end's signed-in user, mapped from the
	// header Open WebUI forwards (gateway.UserEmailHeader). Any client
	// can send that header: it is meaningful only on series whose
	// GatewayClient is the chat client ("chat"), and queries filter on it.
	GatewayUser = "user_email"
	// ChatClient is the chat front end's client_id (config.ChatClientName).
	ChatClient = "chat"
	// GatewayErrorType is set on failed requests only.
	GatewayErrorType = "error_type"
	// InferencePool is the endpoint picker's label for the pool, which the
	// platform names after the model's config name.
	InferencePool = "inference_pool"
	// FairnessID is the endpoint picker's flow key: the API client, between
	// which flow control takes turns.
	FairnessID = "fairness_id"
	// QueueOutcome is how a request left the picker's flow control
	// (Dispatched, RejectedCapacity, RejectedOther, EvictedTTL,
	// EvictedContextCancelled, EvictedOther: pkg/epp/flowcontrol/types/
	// outcomes.go).
	QueueOutcome = "outcome"
)

// Sources.
const (
	vllm      = "vLLM v0.31 (docs/design/metrics.md)"
	aiGateway = "Envoy AI Gateway v1.0 extproc, port 1064 (internal/metrics/genai.go, OpenTelemetry names with unit suffixes)"
	dcgm      = "NVIDIA DCGM exporter, port 9400"
	ksm       = "kube-state-metrics v2.20.0, kube-prometheus-stack 88.x's kube-state-metrics chart 8.4.0 (internal/store/job.go, deployment.go, pod.go)"
	karpenter = "Karpenter v1.14 controller"
	rules     = "the platform's recording rules (observability/coldstart.go)"
	scrape    = "Prometheus itself, for every scrape target (1 when the scrape succeeded)"
	epp       = "gateway-api-inference-extension v1.5.0 endpoint picker, port 9090 (pkg/epp/metrics/metrics.go)"
	// Counters of each rate limit (labels domain, key1, key2: the first
	// descriptor entries), in units of the request's hits_addend, tokens
	// for the platform's budgets.
	rateLimit = "envoyproxy/ratelimit 1e50889b as Envoy Gateway v1.8.3 deploys it, port 19001 (src/limiter/base_limiter.go; statsd mapping internal/infrastructure/kubernetes/ratelimit/statsd_conf.yaml, no _total suffix)"
	usage     = "the usage recording rules (usage/rules.go)"
)

// Known lists every metric the platform's queries may reference.
var Known = []Metric{
	{Name: "vllm:num_requests_running", Source: vllm},
	{Name: "vllm:num_requests_waiting", Source: vllm},
	{Name: "vllm:kv_cache_usage_perc", Source: vllm},
	{Name: "vllm:time_to_first_token_seconds", Histogram: true, Source: vllm},
	{Name: "vllm:inter_token_latency_seconds", Histogram: true, Source: vllm},
	{Name: "vllm:e2e_request_latency_seconds", Histogram: true, Source: vllm},
	{Name: "vllm:request_success_total", Source: vllm},
	{Name: "vllm:prompt_tokens_total", Source: vllm},
	{Name: "vllm:generation_tokens_total", Source: vllm},
	// Prefix cache lookups and hits, in prompt tokens.
	{Name: "vllm:prefix_cache_queries_total", Source: vllm},
	{Name: "vllm:prefix_cache_hits_total", Source: vllm},

	// Flow control: requests held now (labels fairness_id, priority,
	// inference_pool, model_name, target_model_name); time from enqueue to
	// outcome, those labels plus outcome, buckets up to 60 s; the pool's
	// saturation (inference_pool).
	{Name: "inference_extension_flow_control_queue_size", Source: epp},
	{Name: "inference_extension_flow_control_request_queue_duration_seconds", Histogram: true, Source: epp},
	{Name: "inference_extension_flow_control_pool_saturation", Source: epp},

	{Name: "gen_ai_client_token_usage", Histogram: true, Source: aiGateway},
	{Name: "gen_ai_server_request_duration_seconds", Histogram: true, Source: aiGateway},
	{Name: "gen_ai_server_time_to_first_token_seconds", Histogram: true, Source: aiGateway},
	{Name: "gen_ai_server_time_per_output_token_seconds", Histogram: true, Source: aiGateway},

	{Name: "DCGM_FI_DEV_GPU_UTIL", Source: dcgm},
	{Name: "DCGM_FI_DEV_FB_USED", Source: dcgm},
	{Name: "DCGM_FI_DEV_FB_FREE", Source: dcgm},
	{Name: "DCGM_FI_DEV_POWER_USAGE", Source: dcgm},
	{Name: "DCGM_FI_DEV_XID_ERRORS", Source: dcgm},

	// kube_job_failed{condition="true"}: the Job's Failed condition. Not
	// kube_job_status_failed, which counts failed attempts and stays above
	// zero after a retry succeeds.
	{Name: "kube_job_failed", Source: ksm},
	{Name: "kube_deployment_status_replicas_available", Source: ksm},
	{Name: "kube_deployment_spec_replicas", Source: ksm},
	// Timestamps (unix seconds) the cold-start rules subtract: the Job's
	// CompletionTime; the pod's creation, PodScheduled and Ready
	// conditions' lastTransitionTime (only while true), and each running
	// or terminated container's startedAt (label container).
	{Name: "kube_job_status_completion_time", Source: ksm},
	{Name: "kube_pod_created", Source: ksm},
	{Name: "kube_pod_status_scheduled_time", Source: ksm},
	{Name: "kube_pod_container_state_started", Source: ksm},
	{Name: "kube_pod_status_ready_time", Source: ksm},

	{Name: "llm:cold_start_seconds", Source: rules},
	{Name: "llm:cold_start_phase_seconds", Source: rules},
	{Name: "llm:cold_start_budget_seconds", Source: rules},

	// Token budgets: tokens charged beyond a limit (enforced or not),
	// beyond a limit in shadow mode, and all tokens charged.
	{Name: "ratelimit_service_rate_limit_over_limit", Source: rateLimit},
	{Name: "ratelimit_service_rate_limit_shadow_mode", Source: rateLimit},
	{Name: "ratelimit_service_rate_limit_total_hits", Source: rateLimit},

	// Usage and cost (package usage says what each is).
	{Name: "llm:usage_budget_tokens", Source: usage},
	{Name: "llm:usage_gpus", Source: usage},
	{Name: "llm:usage_tokens:1h", Source: usage},
	{Name: "llm:usage_gpu_hours:1h", Source: usage},
	{Name: "llm:usage_gpu_cost_usd:1h", Source: usage},
	{Name: "llm:usage_model_share:1h", Source: usage},
	{Name: "llm:usage_client_gpu_hours:1h", Source: usage},
	{Name: "llm:usage_cost_usd:1h", Source: usage},
	{Name: "llm:usage_unattributed_gpu_hours:1h", Source: usage},
	{Name: "llm:usage_unattributed_cost_usd:1h", Source: usage},
	{Name: "llm:usage_budget_excess_tokens:1h", Source: usage},

	// up{namespace, pod, ...}: the alerts on the endpoint picker's
	// outcomes tell a new series from one Prometheus had no data for.
	{Name: "up", Source: scrape},

	{Name: "karpenter_nodepools_usage", Source: karpenter},
	{Name: "karpenter_nodepools_limit", Source: karpenter},
}

// Series returns every series name a query may use: the families, and for
// histograms their _bucket, _sum and _count series.
func Series() map[string]bool {
	out := map[string]bool{}
	for _, m := range Known {
		out[m.Name] = true
		if m.Histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[m.Name+s] = true
			}
		}
	}
	return out
}

// Pod labels the monitors select on. The models package puts
// ComponentLabel: VLLMComponent on every vLLM pod, the inference package
// ComponentLabel: EPPComponent on every endpoint picker pod (its
// ComponentLabel and ComponentValue; a test compares them).
const (
	ComponentLabel = "llm-platform/component"
	VLLMComponent  = "vllm"
	EPPComponent   = "endpoint-picker"
)
