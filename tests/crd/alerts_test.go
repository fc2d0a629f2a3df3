package crd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// renderedAlerts returns every rendered alert rule's expression named
// alert, by golden file.
func renderedAlerts(t *testing.T, alert string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for path, obj := range renderedObjects(t) {
		if obj["kind"] != "PrometheusRule" {
			continue
		}
		spec := obj["spec"].(map[string]any)
		for _, g := range spec["groups"].([]any) {
			for i, r := range g.(map[string]any)["rules"].([]any) {
				rule := r.(map[string]any)
				if rule["alert"] == alert {
					out[fmt.Sprintf("%s rule %d", path, i)] = rule["expr"].(string)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no rendered %s rule", alert)
	}
	return out
}

// evalAlert evaluates an alert expression at 10m over series loaded with
// promqltest's load syntax, as Prometheus' rule manager would, and
// returns the series that would be firing.
func evalAlert(t *testing.T, load, expr string) promql.Vector {
	t.Helper()
	storage := promqltest.LoadedStorage(t, load)
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1e6)
	q, err := engine.NewInstantQuery(context.Background(), storage, nil, expr, time.Unix(0, 0).Add(10*time.Minute))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", expr, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Issue 14, defect 2: LLMPreloadFailed must fire for a preload Job that
// failed for good (its Failed condition), not for one that failed an
// attempt and then succeeded or is still retrying. The series are those
// kube-state-metrics v2.20.0 (the kube-state-metrics chart 8.4.0 of
// kube-prometheus-stack 88.x) exports for each Job (internal/store/job.go:
// kube_job_status_failed counts failed pods, with a reason label from the
// Failed condition or "" while there is none; kube_job_complete and
// kube_job_failed carry the Complete and Failed conditions, one series per
// status true/false/unknown, only while the condition exists).
func TestPreloadFailedAlertFiresOnlyForAJobThatFailedForGood(t *testing.T) {
	t.Parallel()
	job := func(name string) string {
		return fmt.Sprintf(`namespace="models",job_name=%q`, name)
	}
	// Every rendered model's preload Jobs are <model>-preload-<revision>.
	scenario := func(model string) map[string]struct {
		load string
		fire bool
	} {
		a, b, c := job(model+"-preload-aaaaaaaa"), job(model+"-preload-bbbbbbbb"), job(model+"-preload-cccccccc")
		return map[string]struct {
			load string
			fire bool
		}{
			"one attempt failed, then the Job completed": {fire: false, load: `load 1m
  kube_job_status_failed{` + a + `,reason=""} 1x20
  kube_job_status_succeeded{` + a + `} 0x5 1x15
  kube_job_complete{` + a + `,condition="true"} _x5 1x15
  kube_job_complete{` + a + `,condition="false"} _x5 0x15
  kube_job_complete{` + a + `,condition="unknown"} _x5 0x15
`},
			"one attempt failed, the Job is still retrying": {fire: false, load: `load 1m
  kube_job_status_failed{` + b + `,reason=""} 0x3 1x17
  kube_job_status_active{` + b + `} 1x20
`},
			"the Job failed for good (backoffLimit exceeded)": {fire: true, load: `load 1m
  kube_job_status_failed{` + c + `,reason="BackoffLimitExceeded"} 5x20
  kube_job_status_failed{` + c + `,reason="DeadlineExceeded"} 0x20
  kube_job_status_failed{` + c + `,reason="Evicted"} 0x20
  kube_job_failed{` + c + `,condition="true"} 1x20
  kube_job_failed{` + c + `,condition="false"} 0x20
  kube_job_failed{` + c + `,condition="unknown"} 0x20
`},
		}
	}
	for where, expr := range renderedAlerts(t, "LLMPreloadFailed") {
		// The model is the job_name prefix the rule selects.
		_, after, ok := strings.Cut(expr, `job_name=~"`)
		model, _, ok2 := strings.Cut(after, `-preload`)
		if !ok || !ok2 {
			t.Errorf("%s: %s does not select the model's preload Jobs by job_name", where, expr)
			continue
		}
		for name, sc := range scenario(model) {
			fired := evalAlert(t, sc.load, expr)
			if got := len(fired) > 0; got != sc.fire {
				t.Errorf("%s: %s: %s fires = %v, want %v (result %v)", where, name, expr, got, sc.fire, fired)
			}
		}
	}
}
