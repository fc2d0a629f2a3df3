package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

// Issue 16: each model's cold-start rules use its budget from pod created
// to ready (the coldstart estimate for the stack's config) and the name of
// the preload Job the program actually declares for its revision.
// tests/crd evaluates the same rules over synthetic series.
func TestColdStartRulesUseTheBudgetAndPreloadJob(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dev", "two-models"} {
		sc := loadStack(t, stacks[name])
		cfg, err := render.ParseConfig(sc)
		if err != nil {
			t.Fatal(err)
		}
		res := mustRun(t, sc)
		// The platform's rules (package usage has its own PrometheusRule).
		var rules []render.Resource
		for _, r := range res.OfType("kubernetes:monitoring.coreos.com/v1:PrometheusRule") {
			if r.String("metadata.name") == "llm-platform" {
				rules = append(rules, r)
			}
		}
		if len(rules) != 1 {
			t.Fatalf("%s: %d PrometheusRules", name, len(rules))
		}
		groups, _ := rules[0].Input("spec.groups")
		alerts, records := map[string]string{}, map[string][]string{}
		for _, g := range groups.([]any) {
			for _, r := range g.(map[string]any)["rules"].([]any) {
				rule := r.(map[string]any)
				expr := rule["expr"].(string)
				switch {
				case rule["alert"] == "LLMColdStartOverBudget":
					model, _, _ := strings.Cut(strings.TrimPrefix(expr, `llm:cold_start_seconds{model="`), `"`)
					alerts[model] = expr
				case rule["record"] != nil:
					model, _ := rule["labels"].(map[string]any)["model"].(string)
					records[model] = append(records[model], rule["record"].(string)+" "+expr)
				}
			}
		}
		for _, m := range cfg.Models {
			budget := cfg.ColdStart(m).FromPodCreated()
			b := strconv.FormatFloat(budget, 'f', -1, 64)
			if want := fmt.Sprintf(`llm:cold_start_seconds{model=%q} > %s`, m.Name, b); alerts[m.Name] != want {
				t.Errorf("%s: alert for %s = %q, want %q (the budget from pod created)", name, m.Name, alerts[m.Name], want)
			}
			var job string
			for _, r := range res.OfType("kubernetes:batch/v1:Job") {
				if r.Name == m.Name+"-preload" {
					job = r.String("metadata.name")
				}
			}
			if job == "" {
				t.Fatalf("%s: no preload Job for %s", name, m.Name)
			}
			if len(records[m.Name]) != 5 {
				t.Errorf("%s: %d cold-start records for %s, want 5", name, len(records[m.Name]), m.Name)
			}
			for _, r := range records[m.Name] {
				switch {
				case strings.HasPrefix(r, "llm:cold_start_budget_seconds "):
					if r != "llm:cold_start_budget_seconds vector("+b+")" {
						t.Errorf("%s: %s, want the budget %s", name, r, b)
					}
				case !strings.Contains(r, fmt.Sprintf(`job_name=%q`, job)):
					t.Errorf("%s: %s does not select %s's preload Job %s", name, r, m.Name, job)
				}
			}
		}
	}
}
