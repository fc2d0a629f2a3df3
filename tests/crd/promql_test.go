package crd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/observability/metrics"
)

// renderedQueries collects every PromQL expression the program renders:
// alert and recording rules, dashboard panels and KEDA triggers.
func renderedQueries(t *testing.T) map[string]string {
	t.Helper()
	return queriesOf(t, renderedObjects(t))
}

// queriesOf collects the PromQL expressions of objects, by file.
func queriesOf(t *testing.T, objs map[string]map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for path, obj := range objs {
		spec, _ := obj["spec"].(map[string]any)
		switch obj["kind"] {
		case "PrometheusRule":
			for _, g := range spec["groups"].([]any) {
				for i, r := range g.(map[string]any)["rules"].([]any) {
					rule := r.(map[string]any)
					key := fmt.Sprintf("%s %s rule %d", path, g.(map[string]any)["name"], i)
					if name, ok := rule["alert"].(string); ok {
						out[key+" alert "+name] = rule["expr"].(string)
					} else {
						out[key+" record "+rule["record"].(string)] = rule["expr"].(string)
					}
				}
			}
		case "ScaledObject":
			for i, tr := range spec["triggers"].([]any) {
				md := tr.(map[string]any)["metadata"].(map[string]any)
				if q, ok := md["query"].(string); ok {
					out[path+" trigger "+string(rune('0'+i))] = q
				}
			}
		case "ConfigMap":
			data, _ := obj["data"].(map[string]any)
			for key, v := range data {
				if !strings.HasSuffix(key, ".json") {
					continue
				}
				var d struct {
					Panels []struct {
						ID      int    `json:"id"`
						Title   string `json:"title"`
						Targets []struct {
							Expr string `json:"expr"`
						} `json:"targets"`
					} `json:"panels"`
				}
				if err := json.Unmarshal([]byte(v.(string)), &d); err != nil {
					t.Fatalf("%s %s: dashboard JSON: %v", path, key, err)
				}
				ids := map[int]bool{}
				for _, p := range d.Panels {
					if ids[p.ID] || p.ID == 0 {
						t.Errorf("%s: panel id %d repeated or missing (%s)", path, p.ID, p.Title)
					}
					ids[p.ID] = true
					for j, tg := range p.Targets {
						out[path+" panel "+p.Title+" "+string(rune('A'+j))] = grafanaVars.Replace(tg.Expr)
					}
				}
			}
		}
	}
	return out
}

// grafanaVars stands in for the Grafana range variables a dashboard query
// may use, which Grafana replaces with a duration before it sends the query.
var grafanaVars = strings.NewReplacer("$__range", "1h", "$__rate_interval", "1m", "$__interval", "30s")

// Every query parses with Prometheus' parser and uses only metrics the
// platform's components expose.
func TestRenderedQueriesParseAndUseKnownMetrics(t *testing.T) {
	t.Parallel()
	known := metrics.Series()
	queries := renderedQueries(t)
	kinds := map[string]int{}
	for where, q := range queries {
		for _, k := range []string{" alert ", " record ", " panel ", " trigger "} {
			if strings.Contains(where, k) {
				kinds[k]++
			}
		}
		if err := CheckQuery(q, known); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	if kinds[" alert "] < 8 || kinds[" record "] < 5 || kinds[" panel "] < 10 {
		t.Errorf("too few queries found (%v): are the golden renders complete?", kinds)
	}
}

func TestCheckQueryCatchesMistakes(t *testing.T) {
	t.Parallel()
	known := metrics.Series()
	for _, bad := range []string{
		`rate(vllm:gpu_cache_usage_perc[5m])`,      // removed from vLLM
		`sum(rate(vllm:request_success_total[5m])`, // does not parse
		`histogram_quantile(0.9, rate(nope_bucket[5m]))`,
		`{model_name="x"}`, // no metric name
	} {
		if err := CheckQuery(bad, known); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := CheckQuery(`histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))`, known); err != nil {
		t.Error(err)
	}
}

// The metric list documents where each metric comes from.
func TestMetricCatalogHasSources(t *testing.T) {
	t.Parallel()
	for _, m := range metrics.Known {
		if m.Source == "" || m.Name == "" {
			t.Errorf("%+v", m)
		}
	}
}
