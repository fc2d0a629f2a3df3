package observability

import (
	"fmt"
	"github.com/llm-platform/llm-platform/grafana"
	"github.com/llm-platform/llm-platform/observability/metrics"
	"regexp"
	"strings"
)

// The dashboard is built from Go values: every query is a plain string the
// tests parse, and panel ids and layout are computed, never hand-edited.

// Query is one dashboard query with its legend.
type Query = grafana.Query

// Panel is one dashboard graph.
type Panel = grafana.Panel

const modelSel = `model_name=~"$model"`

// DashboardPanels are the platform dashboard's graphs, per model (the
// $model variable; the replica, cold-start and endpoint picker panels show
// every model, by its config name), GPU node and client.
func DashboardPanels(modelNamespace string, models []ModelSLO) []Panel {
	q := func(expr, legend string) Query { return Query{Expr: expr, Legend: legend} }
	quantile := func(p, metric string) Query {
		return q(fmt.Sprintf(`histogram_quantile(%s, sum by (le, model_name) (rate(%s_bucket{%s}[5m])))`, p, metric, modelSel),
			"{{model_name}} p"+p[2:])
	}
	// The models' Deployments only: their endpoint pickers' (<model>-epp)
	// live in the same namespace.
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = regexp.QuoteMeta(m.Name)
	}
	deployments := fmt.Sprintf(`namespace=%q,deployment=~%q`, modelNamespace, strings.Join(names, "|"))
	panels := []Panel{
		{Title: "Requests per second", Unit: "reqps", Queries: []Query{
			q(`sum by (model_name) (rate(vllm:request_success_total{`+modelSel+`}[5m]))`, "{{model_name}}"),
		}},
		{Title: "Time to first token", Unit: "s", Queries: []Query{
			quantile("0.50", "vllm:time_to_first_token_seconds"), quantile("0.95", "vllm:time_to_first_token_seconds"),
		}},
		{Title: "Inter-token latency", Unit: "s", Queries: []Query{
			quantile("0.50", "vllm:inter_token_latency_seconds"), quantile("0.95", "vllm:inter_token_latency_seconds"),
		}},
		{Title: "Tokens per second", Unit: "short", Queries: []Query{
			q(`sum by (model_name) (rate(vllm:prompt_tokens_total{`+modelSel+`}[5m]))`, "{{model_name}} in"),
			q(`sum by (model_name) (rate(vllm:generation_tokens_total{`+modelSel+`}[5m]))`, "{{model_name}} out"),
		}},
		{Title: "Running vs waiting requests", Unit: "short", Queries: []Query{
			q(`sum by (model_name) (vllm:num_requests_running{`+modelSel+`})`, "{{model_name}} running"),
			q(`sum by (model_name) (vllm:num_requests_waiting{`+modelSel+`})`, "{{model_name}} waiting"),
		}},
		{Title: "KV cache use", Unit: "percentunit", Queries: []Query{
			q(`max by (model_name) (vllm:kv_cache_usage_perc{`+modelSel+`})`, "{{model_name}}"),
		}},
		{Title: "Replicas: desired vs available", Unit: "short", Queries: []Query{
			q(fmt.Sprintf(`sum by (deployment) (kube_deployment_spec_replicas{%s})`, deployments), "{{deployment}} desired"),
			q(fmt.Sprintf(`sum by (deployment) (kube_deployment_status_replicas_available{%s})`, deployments), "{{deployment}} available"),
		}},
		// Cold start per model against its budget: the slowest pod that
		// started in the window (ColdStartWindowSeconds after it became ready).
		{Title: "Cold start vs budget", Unit: "s", Queries: []Query{
			q(`max by (model) (`+ColdStartSeconds+`)`, "{{model}}"),
			q(`max by (model) (`+ColdStartBudgetSeconds+`)`, "{{model}} budget"),
		}},
		{Title: "Cold start by phase", Unit: "s", Queries: []Query{
			q(`max by (model, phase) (`+ColdStartPhaseSeconds+`)`, "{{model}} {{phase}}"),
		}},
	}
	panels = append(panels, poolPanels(modelNamespace)...)
	// Every request at the gateway by the model asked for and the model
	// sent on: self-hosted, hosted and fallen-back traffic alike.
	panels = append(panels, Panel{Title: "Gateway requests: asked for, sent as", Unit: "reqps", Queries: []Query{
		q(fmt.Sprintf(`sum by (%[1]s, %[2]s) (rate(gen_ai_server_request_duration_seconds_count[5m]))`, metrics.GatewayOriginalModel, metrics.GatewayModel),
			"{{"+metrics.GatewayOriginalModel+"}} as {{"+metrics.GatewayModel+"}}"),
	}})
	var fallbacks []Query
	for _, m := range models {
		if m.FallbackModel != "" {
			fallbacks = append(fallbacks, q(FallbackRate(m.ServedName, m.FallbackModel), "{{"+metrics.GatewayOriginalModel+"}} to "+m.FallbackModel))
		}
	}
	if len(fallbacks) > 0 {
		panels = append(panels, Panel{Title: "Requests served by the fallback", Unit: "reqps", Queries: fallbacks})
	}
	return append(panels, []Panel{
		{Title: "GPU utilization", Unit: "percent", Queries: []Query{
			q(`avg by (hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)`, "{{hostname}} gpu{{gpu}}"),
		}},
		{Title: "GPU memory used", Unit: "decmbytes", Queries: []Query{
			q(`sum by (hostname, gpu) (DCGM_FI_DEV_FB_USED)`, "{{hostname}} gpu{{gpu}}"),
		}},
		{Title: "GPU power", Unit: "watt", Queries: []Query{
			q(`sum by (hostname, gpu) (DCGM_FI_DEV_POWER_USAGE)`, "{{hostname}} gpu{{gpu}}"),
		}},
		// Input and output only: the AI Gateway v1.0.0 also records
		// cached_input, cache_creation_input and reasoning, which are
		// parts of those two (internal/metrics/metrics_impl.go), and has
		// no "total" type.
		{Title: "Tokens per client", Unit: "short", Queries: []Query{
			q(`sum by (client_id, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{gen_ai_token_type=~"input|output"}[5m]))`, "{{client_id}} {{gen_ai_token_type}}"),
		}},
	}...)
}

// ChatUserPanel charts the chat front end's tokens per signed-in user:
// the gateway's token counts of the chat client, by the user Open WebUI
// forwarded and the token type. The client_id filter is what makes the
// user label trustworthy: another client could send the header, but its
// series carry its own client_id.
func ChatUserPanel() Panel {
	return Panel{Title: "Chat usage per user", Unit: "short", Queries: []Query{{
		Expr: fmt.Sprintf(`sum by (%[1]s, %[2]s) (rate(gen_ai_client_token_usage_sum{%[3]s=%[4]q,%[2]s=~"input|output"}[5m]))`,
			metrics.GatewayUser, metrics.GatewayTokenType, metrics.GatewayClient, metrics.ChatClient),
		Legend: "{{" + metrics.GatewayUser + "}} {{" + metrics.GatewayTokenType + "}}",
	}}}
}

// DashboardJSON renders the Grafana dashboard: two panels per row, ids in
// order from 1; extra panels (the chat front end's) come last.
func DashboardJSON(modelNamespace string, models []ModelSLO, extra ...Panel) string {
	return grafana.Dashboard{
		UID: "llm-platform", Title: "LLM platform", Tags: []string{"llm-platform"}, Refresh: "30s", From: "now-3h",
		Variables: []grafana.Variable{{Name: "model", Label: "Model", Query: "label_values(vllm:num_requests_running, model_name)"}},
		Panels:    append(DashboardPanels(modelNamespace, models), extra...),
	}.JSON()
}
