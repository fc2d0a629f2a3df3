package crd

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/util/teststorage"
	"sigs.k8s.io/yaml"
)

// ruleRun evaluates a rendered PrometheusRule with Prometheus' own rule
// manager (the file loader, recording rules written back to storage,
// alert states) over synthetic series, one evaluation every interval as
// Prometheus does.
type ruleRun struct {
	storage *teststorage.TestStorage
	engine  *promql.Engine
	groups  []*rules.Group
	next    time.Time
}

const ruleInterval = 30 * time.Second

func newRuleRun(t *testing.T, spec map[string]any, load string) *ruleRun {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": spec["groups"]})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &ruleRun{
		storage: promqltest.LoadedStorage(t, load),
		engine:  promqltest.NewTestEngine(t, false, 5*time.Minute, 1e6),
		next:    time.Unix(0, 0),
	}
	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:  rules.EngineQueryFunc(r.engine, r.storage),
		Appendable: r.storage,
		Queryable:  r.storage,
		Context:    context.Background(),
		NotifyFunc: func(context.Context, string, ...*rules.Alert) {},
	})
	groups, errs := m.LoadGroups(ruleInterval, labels.EmptyLabels(), "", nil, false, file)
	if len(errs) > 0 {
		t.Fatalf("Prometheus refuses the rendered rules: %v", errs)
	}
	for _, g := range groups {
		r.groups = append(r.groups, g)
	}
	return r
}

// evalUntil evaluates every group at each interval up to ts; then at the
// end of each evaluation, calls each (if not nil).
func (r *ruleRun) evalUntil(t *testing.T, ts time.Time, each func(time.Time)) {
	t.Helper()
	for ; !r.next.After(ts); r.next = r.next.Add(ruleInterval) {
		for _, g := range r.groups {
			g.Eval(context.Background(), r.next)
			for _, rule := range g.Rules() {
				if err := rule.LastError(); err != nil {
					t.Fatalf("at %v, rule %s: %v", r.next.Unix(), rule.Name(), err)
				}
			}
		}
		if each != nil {
			each(r.next)
		}
	}
}

// coldStartAlert is the alert under test.
const coldStartAlert = "LLMColdStartOverBudget"

// firing returns the pods LLMColdStartOverBudget fires for, with the
// alert's value, for one model.
func (r *ruleRun) firing(model string) map[string]float64 {
	out := map[string]float64{}
	for _, g := range r.groups {
		for _, rule := range g.Rules() {
			ar, ok := rule.(*rules.AlertingRule)
			if !ok || ar.Name() != coldStartAlert {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring && a.Labels.Get("model") == model {
					out[a.Labels.Get("pod")] = a.Value
				}
			}
		}
	}
	return out
}

// annotations returns the firing alert's annotations for a pod.
func (r *ruleRun) annotations(alert, pod string) labels.Labels {
	for _, g := range r.groups {
		for _, rule := range g.Rules() {
			if ar, ok := rule.(*rules.AlertingRule); ok && ar.Name() == alert {
				for _, a := range ar.ActiveAlerts() {
					if a.Labels.Get("pod") == pod {
						return a.Annotations
					}
				}
			}
		}
	}
	return labels.EmptyLabels()
}

// recorded returns a recorded series' value per pod written by the last
// evaluation, selected by matchers such as `model="x",phase="node"`.
func (r *ruleRun) recorded(t *testing.T, metric, matchers string) map[string]float64 {
	t.Helper()
	expr := metric + "{" + matchers + "}"
	// A 1 s lookback: only what the last evaluation wrote, not a series
	// that ended within the default 5 minutes.
	opts := promql.NewPrometheusQueryOpts(false, time.Second)
	q, err := r.engine.NewInstantQuery(context.Background(), r.storage, opts, expr, r.next.Add(-ruleInterval))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range v {
		out[s.Metric.Get("pod")] = s.F
	}
	return out
}

// span is a value a series holds from one scrape to another (seconds,
// multiples of 30, both included).
type span struct {
	value    float64
	from, to int
}

// ksmSeries is one series as kube-state-metrics v2.20.0 exports it and
// Prometheus scrapes it every 30 s, in promqltest's load syntax: the
// store's labels plus the scrape target's (kube-prometheus-stack's
// ServiceMonitor honours the exported ones; container, instance, job... of
// the kube-state-metrics pod are added, container only where the metric
// has none), absent between spans.
func ksmSeries(metric, labels string, spans ...span) string {
	target := ksmTarget
	if !strings.Contains(labels, "container=") {
		target += `,container="kube-state-metrics"`
	}
	line := fmt.Sprintf("  %s{%s,%s}", metric, labels, target)
	step := 0 // the next scrape, in 30 s steps
	for _, sp := range spans {
		if gap := sp.from/30 - step; gap > 0 {
			line += fmt.Sprintf(" _x%d", gap)
		}
		// VxN is N+1 samples.
		line += fmt.Sprintf(" %gx%d", sp.value, (sp.to-sp.from)/30)
		step = sp.to/30 + 1
	}
	return line + "\n"
}

// ksmTarget are the labels of kube-state-metrics' scrape target.
const ksmTarget = `endpoint="http",instance="10.0.1.7:8080",job="kube-state-metrics",service="kps-kube-state-metrics"`

// next30 is the first scrape at or after an event.
func next30(ts float64) int { return int(math.Ceil(ts/30)) * 30 }

// coldPod is a vLLM pod's life as timestamps (seconds), each exported from
// the first scrape after it happened until the pod ends.
type coldPod struct {
	name                               string
	created, scheduled, started, ready float64
	// restarted, when set, is a vLLM container restart: the container's
	// startedAt moves to it.
	restarted float64
	// readyAgain, when set, is a restart after ready: the pod is not ready
	// from restarted until readyAgain, its new Ready time.
	readyAgain float64
}

func (p coldPod) series(namespace string, end int) string {
	pl := fmt.Sprintf(`namespace=%q,pod=%q,uid="uid-%s"`, namespace, p.name, p.name)
	since := func(ts float64) span { return span{ts, next30(ts), end} }
	until := func(ts, next float64) span { return span{ts, next30(ts), next30(next) - 30} }
	started, ready := []span{since(p.started)}, []span{since(p.ready)}
	if p.restarted != 0 {
		started = []span{until(p.started, p.restarted), since(p.restarted)}
	}
	if p.readyAgain != 0 {
		ready = []span{until(p.ready, p.restarted), since(p.readyAgain)}
	}
	var s strings.Builder
	s.WriteString(ksmSeries("kube_pod_created", pl, since(p.created)))
	s.WriteString(ksmSeries("kube_pod_status_scheduled_time", pl, since(p.scheduled)))
	s.WriteString(ksmSeries("kube_pod_container_state_started", pl+`,container="vllm"`, started...))
	s.WriteString(ksmSeries("kube_pod_status_ready_time", pl, ready...))
	return s.String()
}

// coldStartModel is what the rendered rules say about one model.
type coldStartModel struct {
	name   string
	budget float64
}

// coldStartModels reads the models and their budgets from the rendered
// LLMColdStartOverBudget rules (`llm:cold_start_seconds{model="m"} > b`).
func coldStartModels(t *testing.T, spec map[string]any) []coldStartModel {
	t.Helper()
	var out []coldStartModel
	for _, g := range spec["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rule := r.(map[string]any)
			if rule["alert"] != "LLMColdStartOverBudget" {
				continue
			}
			expr, err := parser.ParseExpr(rule["expr"].(string))
			if err != nil {
				t.Fatal(err)
			}
			bin, ok := expr.(*parser.BinaryExpr)
			if !ok || bin.Op != parser.GTR {
				t.Fatalf("%s is not <cold start> > <budget>", expr)
			}
			budget, ok := bin.RHS.(*parser.NumberLiteral)
			sel, ok2 := bin.LHS.(*parser.VectorSelector)
			if !ok || !ok2 {
				t.Fatalf("%s is not <cold start> > <budget>", expr)
			}
			var model string
			for _, m := range sel.LabelMatchers {
				if m.Name == "model" && m.Type == labels.MatchEqual {
					model = m.Value
				}
			}
			out = append(out, coldStartModel{name: model, budget: budget.Val})
		}
	}
	// The dashboard's budget line is the alert's threshold.
	for _, m := range out {
		want := fmt.Sprintf("vector(%s)", strconv.FormatFloat(m.budget, 'f', -1, 64))
		n := 0
		for _, g := range spec["groups"].([]any) {
			for _, r := range g.(map[string]any)["rules"].([]any) {
				rule := r.(map[string]any)
				if rule["record"] == "llm:cold_start_budget_seconds" && rule["labels"].(map[string]any)["model"] == m.name {
					n++
					if rule["expr"] != want {
						t.Errorf("%s: budget record %v, alert threshold %v", m.name, rule["expr"], m.budget)
					}
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d budget records, want 1", m.name, n)
		}
	}
	return out
}

// renderedJobName is the name of the rendered preload Job of a model, in
// the same golden render as the rules.
func renderedJobName(t *testing.T, objs map[string]map[string]any, dir, model string) string {
	t.Helper()
	var names []string
	for path, obj := range objs {
		if filepath.Dir(path) != dir || obj["kind"] != "Job" {
			continue
		}
		name := obj["metadata"].(map[string]any)["name"].(string)
		if strings.HasPrefix(name, model+"-preload-") {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		t.Fatalf("%s: preload Jobs of %s: %v, want one", dir, model, names)
	}
	return names[0]
}

// Issue 16: LLMColdStartOverBudget fires for a pod that took longer than
// its budget from creation to ready, once the model's current preload Job
// had completed; not for a pod just under budget, nor for one created
// before the preload completed (it waited for the download), nor after the
// window, nor for a pod whose container restarted long after it became
// ready; and the recording rules give each phase's seconds.
func TestColdStartRulesMeasureAndAlert(t *testing.T) {
	t.Parallel()
	const (
		namespace   = "models"
		end         = 5 * 3600 // the synthetic series' last scrape
		preloadDone = 590.0    // the current preload Job's completionTime
		alert       = coldStartAlert
		window      = 1800.0
	)
	objs := renderedObjects(t)
	found := 0
	for path, obj := range objs {
		if obj["kind"] != "PrometheusRule" {
			continue
		}
		spec := obj["spec"].(map[string]any)
		models := coldStartModels(t, spec)
		if len(models) == 0 {
			continue
		}
		found++
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(path))), func(t *testing.T) {
			t.Parallel()
			var load strings.Builder
			load.WriteString("load 30s\n")
			type expect struct {
				pod                       coldPod
				node, image, start, total float64
				fires                     bool
			}
			pods := map[string]map[string]expect{} // model -> scenario -> pod
			var firstReady, lastReady float64      // of the pods that fire
			for _, m := range models {
				if m.budget < 100 {
					t.Fatalf("%s: budget %v: the scenarios below assume at least 100 s", m.name, m.budget)
				}
				// The current revision's Job (named as the rendered Job)
				// completed at preloadDone; an earlier revision's, still
				// there, long before.
				job := renderedJobName(t, objs, filepath.Dir(path), m.name)
				load.WriteString(ksmSeries("kube_job_status_completion_time", fmt.Sprintf(`namespace=%q,job_name=%q`, namespace, job),
					span{preloadDone, next30(preloadDone), end}))
				load.WriteString(ksmSeries("kube_job_status_completion_time", fmt.Sprintf(`namespace=%q,job_name=%q`, namespace, m.name+"-preload-0badc0de"),
					span{60, 60, end}))
				b, fast := m.budget, math.Floor(m.budget/4)
				p := func(suffix string) string { return m.name + "-5d8f7c9b4-" + suffix }
				pods[m.name] = map[string]expect{
					// 30 s over budget.
					"over": {pod: coldPod{name: p("slow1"), created: 1200, scheduled: 1220, started: 1250, ready: 1250 + b - 20},
						node: 20, image: 30, start: b - 20, total: b + 30, fires: true},
					// 10 s under budget.
					"under": {pod: coldPod{name: p("fast1"), created: 1210, scheduled: 1230, started: 1260, ready: 1260 + b - 60},
						node: 20, image: 30, start: b - 60, total: b - 10},
					// Created after the earlier revision's Job completed,
					// before the current one's: it waited in
					// wait-for-weights for the download, not a cold start.
					"waited": {pod: coldPod{name: p("wait1"), created: 300, scheduled: 330, started: preloadDone + 15, ready: preloadDone + 15 + 2*b}},
					// The startup probe killed the first vLLM container; the
					// second became ready. The phases run from the first start.
					"killed": {pod: coldPod{name: p("kill1"), created: 1230, scheduled: 1260, started: 1290, restarted: 1290 + b, ready: 1290 + b + fast},
						node: 30, image: 30, start: b + fast, total: 60 + b + fast, fires: true},
					// Under budget; its vLLM container restarted an hour
					// after ready and was not ready for 5 minutes.
					"restarted": {pod: coldPod{name: p("rest1"), created: 1220, scheduled: 1250, started: 1280, ready: 1280 + fast,
						restarted: 1280 + fast + 3600, readyAgain: 1280 + fast + 3600 + 300},
						node: 30, image: 30, start: fast, total: 60 + fast},
				}
				for _, e := range pods[m.name] {
					load.WriteString(e.pod.series(namespace, end))
					if e.fires {
						if firstReady == 0 || e.pod.ready < firstReady {
							firstReady = e.pod.ready
						}
						lastReady = math.Max(lastReady, e.pod.ready)
					}
				}
			}
			run := newRuleRun(t, spec, load.String())
			everFired := map[string]bool{}
			record := func(time.Time) {
				for _, m := range models {
					for pod := range run.firing(m.name) {
						everFired[pod] = true
					}
				}
			}
			at := func(ts float64) time.Time { return time.Unix(int64(next30(ts)), 0) }
			phases := func(m coldStartModel) map[string]map[string]float64 {
				got := map[string]map[string]float64{}
				for _, ph := range []string{"node", "image", "start"} {
					got[ph] = run.recorded(t, "llm:cold_start_phase_seconds", fmt.Sprintf(`model=%q,phase=%q`, m.name, ph))
				}
				got["total"] = run.recorded(t, "llm:cold_start_seconds", fmt.Sprintf(`model=%q`, m.name))
				return got
			}

			// While the current revision downloads, the pod scheduled
			// meanwhile is not measured.
			run.evalUntil(t, at(450), record)
			for _, m := range models {
				for ph, byPod := range phases(m) {
					if v, ok := byPod[pods[m.name]["waited"].pod.name]; ok {
						t.Errorf("%s: %s of a pod created while the preload runs recorded as %v", m.name, ph, v)
					}
				}
			}

			// Before the over-budget pod is ready: its node and image
			// phases are known, not the rest, and nothing fires.
			run.evalUntil(t, at(1250+30), record)
			for _, m := range models {
				over := pods[m.name]["over"]
				got := phases(m)
				for ph, want := range map[string]float64{"node": over.node, "image": over.image} {
					if v, ok := got[ph][over.pod.name]; !ok || math.Abs(v-want) > 1e-6 {
						t.Errorf("%s: %s of %s before ready = %v (recorded: %v), want %v", m.name, ph, over.pod.name, v, ok, want)
					}
				}
				for _, ph := range []string{"start", "total"} {
					if v, ok := got[ph][over.pod.name]; ok {
						t.Errorf("%s: %s of %s before ready = %v, want none", m.name, ph, over.pod.name, v)
					}
				}
				if f := run.firing(m.name); len(f) > 0 {
					t.Errorf("%s: %s fires before any pod is ready: %v", m.name, alert, f)
				}
			}

			// A minute after the last of them became ready: every phase,
			// and the alert for the pods over budget, with their seconds.
			run.evalUntil(t, at(lastReady+60), record)
			for _, m := range models {
				got := phases(m)
				want := map[string]float64{}
				for scenario, e := range pods[m.name] {
					for ph, w := range map[string]float64{"node": e.node, "image": e.image, "start": e.start, "total": e.total} {
						v, ok := got[ph][e.pod.name]
						switch {
						case scenario == "waited" && ok:
							t.Errorf("%s: %s of %s (created before the preload completed) recorded as %v", m.name, ph, e.pod.name, v)
						case scenario != "waited" && (!ok || math.Abs(v-w) > 1e-6):
							t.Errorf("%s: %s of %s (%s) = %v (recorded: %v), want %v", m.name, ph, e.pod.name, scenario, v, ok, w)
						}
					}
					if e.fires {
						want[e.pod.name] = e.total
					}
				}
				firing := run.firing(m.name)
				if len(firing) != len(want) {
					t.Errorf("%s: %s fires for %v, want %v", m.name, alert, firing, want)
				}
				for pod, w := range want {
					if v, ok := firing[pod]; !ok || math.Abs(v-w) > 1e-6 {
						t.Errorf("%s: %s for %s = %v (firing: %v), want %v", m.name, alert, pod, v, ok, w)
					}
					if s := run.annotations(alert, pod).Get("summary"); !strings.Contains(s, pod) || strings.Contains(s, "error") {
						t.Errorf("%s: summary %q", m.name, s)
					}
				}
			}

			// Still firing 25 minutes after ready.
			run.evalUntil(t, at(firstReady+25*60), record)
			for _, m := range models {
				for _, e := range pods[m.name] {
					if _, ok := run.firing(m.name)[e.pod.name]; e.fires && !ok {
						t.Errorf("%s: %s no longer fires 25 minutes after %s became ready", m.name, alert, e.pod.name)
					}
				}
			}
			// Resolved, and no longer recorded, once the window has
			// passed; still so an hour after.
			for _, after := range []float64{window + 60, 3600} {
				run.evalUntil(t, at(lastReady+after), record)
				for _, m := range models {
					if f := run.firing(m.name); len(f) > 0 {
						t.Errorf("%s: %s still fires %v s after the pods became ready: %v", m.name, alert, after, f)
					}
					for ph, byPod := range phases(m) {
						if len(byPod) > 0 {
							t.Errorf("%s: %s still recorded %v s after the pods became ready: %v", m.name, ph, after, byPod)
						}
					}
				}
			}

			// Through the restart, its 5 minutes not ready and the
			// lookback after it: the restarted pod is never measured
			// again, nothing fires.
			run.evalUntil(t, time.Unix(end, 0), func(ts time.Time) {
				record(ts)
				for _, m := range models {
					r := pods[m.name]["restarted"]
					for ph, byPod := range phases(m) {
						if v, ok := byPod[r.pod.name]; ok {
							t.Fatalf("%s: at %d (restart at %v, ready again at %v) %s of %s recorded again: %v",
								m.name, ts.Unix(), r.pod.restarted, r.pod.readyAgain, ph, r.pod.name, v)
						}
					}
				}
			})
			var fired, want []string
			for pod := range everFired {
				fired = append(fired, pod)
			}
			for _, m := range models {
				for _, e := range pods[m.name] {
					if e.fires {
						want = append(want, e.pod.name)
					}
				}
			}
			sort.Strings(fired)
			sort.Strings(want)
			if strings.Join(fired, ",") != strings.Join(want, ",") {
				t.Errorf("%s fired at some point for %v, want only %v", alert, fired, want)
			}
		})
	}
	if found == 0 {
		t.Fatal("no rendered LLMColdStartOverBudget rule")
	}
}
