package crd

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"

	"github.com/llm-platform/llm-platform/observability/metrics"
)

// Issue 15: the endpoint pickers' PodMonitor and the alerts on their flow
// control. Package observability writes what it renders for two example
// models (one that scales to zero) to observability/testdata/example, so
// these checks run before a stack render carries the objects; once one
// does, its rules are evaluated as well.

// exampleDir is observability's example render.
var exampleDir = filepath.Join("..", "..", "observability", "testdata", "example")

func exampleObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(exampleDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no example objects in %s", exampleDir)
	}
	objs := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if objs[f], err = DecodeYAML(b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return objs
}

// The example's PodMonitor and PrometheusRule are accepted by the
// prometheus-operator CRDs (a `for` of whole seconds included), and every
// query in it parses and uses only catalogued metrics.
func TestObservabilityExampleValid(t *testing.T) {
	t.Parallel()
	v := load(t)
	objs := exampleObjects(t)
	kinds := map[string]bool{}
	for path, obj := range objs {
		if obj["kind"] == "ConfigMap" {
			continue
		}
		kinds[obj["kind"].(string)] = true
		if errs := v.Validate(obj); len(errs) > 0 {
			t.Errorf("%s is invalid:\n%s", path, errs.ToAggregate())
		}
	}
	if !kinds["PodMonitor"] || !kinds["PrometheusRule"] {
		t.Errorf("example kinds %v", kinds)
	}
	known := metrics.Series()
	queries := queriesOf(t, objs)
	var panels int
	for where, q := range queries {
		if strings.Contains(where, " panel ") {
			panels++
		}
		if err := CheckQuery(q, known); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	if len(queries) < 20 || panels < 10 {
		t.Errorf("%d queries, %d panel queries: is the example complete?", len(queries), panels)
	}
}

// poolRule is one rendered alerting rule and the model it watches.
type poolRule struct {
	where     string
	rule      map[string]any
	pool      string // the inference_pool the rule selects
	namespace string
	forDur    time.Duration
}

// poolRules returns every rendered rule named alert, in the example and in
// the stack renders, with the pool it selects.
func poolRules(t *testing.T, alert string) []poolRule {
	t.Helper()
	objs := exampleObjects(t)
	for path, obj := range renderedObjects(t) {
		objs[path] = obj
	}
	var out []poolRule
	for path, obj := range objs {
		if obj["kind"] != "PrometheusRule" {
			continue
		}
		for _, g := range obj["spec"].(map[string]any)["groups"].([]any) {
			for i, r := range g.(map[string]any)["rules"].([]any) {
				rule := r.(map[string]any)
				if rule["alert"] != alert {
					continue
				}
				pr := poolRule{where: fmt.Sprintf("%s rule %d", path, i), rule: rule}
				expr, err := parser.ParseExpr(rule["expr"].(string))
				if err != nil {
					t.Fatalf("%s: %v", pr.where, err)
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					if vs, ok := n.(*parser.VectorSelector); ok {
						for _, m := range vs.LabelMatchers {
							switch {
							case m.Name == metrics.InferencePool && m.Type == labels.MatchEqual:
								pr.pool = m.Value
							case m.Name == "namespace" && m.Type == labels.MatchEqual:
								pr.namespace = m.Value
							}
						}
					}
					return nil
				})
				d, err := model.ParseDuration(rule["for"].(string))
				if err != nil {
					t.Fatalf("%s: for %v: %v", pr.where, rule["for"], err)
				}
				pr.forDur = time.Duration(d)
				if pr.pool == "" || pr.namespace == "" {
					t.Fatalf("%s: %s selects no pool and namespace", pr.where, rule["expr"])
				}
				out = append(out, pr)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no rendered %s rule", alert)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

// run evaluates the one rule with Prometheus' rule manager every 30 s from
// 0 to end over the series, and returns the evaluation times at which it
// was firing.
func (p poolRule) run(t *testing.T, load string, end int) []int {
	t.Helper()
	spec := map[string]any{"groups": []any{map[string]any{"name": "pools", "rules": []any{p.rule}}}}
	r := newRuleRun(t, spec, load)
	var firing []int
	r.evalUntil(t, time.Unix(int64(end), 0), func(ts time.Time) {
		for _, g := range r.groups {
			for _, rule := range g.Rules() {
				ar, ok := rule.(*rules.AlertingRule)
				if !ok {
					continue
				}
				for _, a := range ar.ActiveAlerts() {
					if a.State == rules.StateFiring {
						firing = append(firing, int(ts.Unix()))
						return
					}
				}
			}
		}
	})
	return firing
}

// gone marks a series absent from a time on.
var gone = math.NaN()

// at is a series' value from a time (seconds) on.
type at struct {
	t int
	v float64
}

// scrapes is one series in promqltest's load syntax, one sample every step
// seconds from 0 to end: absent before its first change and while a change
// is gone, otherwise the value of the last change.
func scrapes(series string, step, end int, changes ...at) string {
	var b strings.Builder
	b.WriteString("  " + series)
	for ts := 0; ts <= end; ts += step {
		v, seen := 0.0, false
		for _, c := range changes {
			if c.t <= ts {
				v, seen = c.v, true
			}
		}
		if !seen || math.IsNaN(v) {
			b.WriteString(" _")
		} else {
			b.WriteString(" " + strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	return b.String() + "\n"
}

// picker is one endpoint picker pod as the PodMonitor scrapes it (every
// 15 s, until end): its target labels, and the flow-control labels of a
// client's requests to the model.
type picker struct {
	namespace, pool, pod string
	end                  int
}

func (p picker) target() string {
	return fmt.Sprintf(`namespace=%q,pod=%q,container="epp",endpoint="metrics",instance="10.0.2.9:9090",job="monitoring/endpoint-picker"`, p.namespace, p.pod)
}

func (p picker) flow(client string) string {
	return fmt.Sprintf(`fairness_id=%q,priority="0",inference_pool=%q,model_name=%q,target_model_name=%q,%s`,
		client, p.pool, p.pool+"-served", p.pool+"-served", p.target())
}

// queue is the held-requests gauge of a client.
func (p picker) queue(client string, changes ...at) string {
	return scrapes("inference_extension_flow_control_queue_size{"+p.flow(client)+"}", 15, p.end, changes...)
}

// outcomes is the queue-duration histogram's _count of a client's requests
// that left with the outcome.
func (p picker) outcomes(client, outcome string, changes ...at) string {
	return scrapes(fmt.Sprintf("inference_extension_flow_control_request_queue_duration_seconds_count{%s,outcome=%q}", p.flow(client), outcome), 15, p.end, changes...)
}

func (p picker) up(changes ...at) string {
	return scrapes("up{"+p.target()+"}", 15, p.end, changes...)
}

// available is kube_deployment_status_replicas_available of a Deployment
// as a kube-state-metrics instance exports it (scraped every 30 s).
func available(namespace, deployment, instance string, end int, changes ...at) string {
	target := strings.Replace(ksmTarget, `instance="10.0.1.7:8080"`, fmt.Sprintf("instance=%q", instance), 1) + `,container="kube-state-metrics"`
	return scrapes(fmt.Sprintf("kube_deployment_status_replicas_available{namespace=%q,deployment=%q,%s}", namespace, deployment, target), 30, end, changes...)
}

// LLMStuckAtZero fires when a model at zero has held requests and no
// available replica for longer than its wake-up budget (the rule's `for`),
// not before, and not when a replica becomes available in time, the queue
// is empty, or the model has replicas and is only busy.
func TestStuckAtZeroAlert(t *testing.T) {
	t.Parallel()
	for _, r := range poolRules(t, "LLMStuckAtZero") {
		budget := int(r.forDur.Seconds())
		// A wake-up takes minutes (package coldstart): a shorter `for`
		// would warn about every wake-up in progress.
		if budget < 120 {
			t.Fatalf("%s: for %v: the wake-up budget is missing or too short (the scenarios below assume at least 120 s)", r.where, r.rule["for"])
		}
		const arrive = 1800 // the first held request
		end := arrive + budget + 900
		p := picker{r.namespace, r.pool, r.pool + "-epp-7c9d8b6f5-x2b7k", end}
		other := picker{r.namespace, "other-" + r.pool, "other-" + r.pool + "-epp-7c9d8b6f5-q4w8z", end}
		woken := (arrive+budget-60)/30*30 - 30 // a replica available a minute or more before the budget
		expired := arrive + budget + 300       // the held requests leave (evicted at the hold)
		for name, sc := range map[string]struct {
			series string
			fires  bool
		}{
			// Two clients' requests held, no replica; a kube-state-metrics
			// rollout exports the Deployment twice for a while.
			"held with no replica": {fires: true, series: p.queue("team-a", at{0, 0}, at{arrive, 1}, at{expired, 0}) +
				p.queue("team-b", at{arrive + 90, 1}, at{expired, 0}) +
				available(r.namespace, r.pool, "10.0.1.7:8080", end, at{0, 0}) +
				available(r.namespace, r.pool, "10.0.1.8:8080", end, at{arrive + 120, 0}, at{arrive + 300, gone})},
			"woken in time": {series: p.queue("team-a", at{0, 0}, at{arrive, 1}, at{woken + 15, 0}) +
				available(r.namespace, r.pool, "10.0.1.7:8080", end, at{0, 0}, at{woken, 1})},
			// Another model waits; this one is idle at zero.
			"idle at zero": {series: p.queue("team-a", at{0, 0}) +
				available(r.namespace, r.pool, "10.0.1.7:8080", end, at{0, 0}) +
				other.queue("team-a", at{0, 0}, at{arrive, 4}) +
				available(r.namespace, other.pool, "10.0.1.7:8080", end, at{0, 0})},
			"busy with replicas": {series: p.queue("team-a", at{0, 0}, at{arrive, 6}) +
				available(r.namespace, r.pool, "10.0.1.7:8080", end, at{0, 2})},
		} {
			load := "load 15s\n"
			var ksm strings.Builder
			for _, line := range strings.SplitAfter(sc.series, "\n") {
				if strings.HasPrefix(line, "  kube_") {
					ksm.WriteString(line)
				} else {
					load += line
				}
			}
			load += "\nload 30s\n" + ksm.String()
			firing := r.run(t, load, end)
			switch {
			case !sc.fires && len(firing) > 0:
				t.Errorf("%s: %s: fires at %v (requests from %d, budget %d s)", r.where, name, firing, arrive, budget)
			case sc.fires && len(firing) == 0:
				t.Errorf("%s: %s: never fires (requests from %d, budget %d s)", r.where, name, arrive, budget)
			case sc.fires:
				// The first evaluation that sees the held requests is at
				// arrival (a scrape and an evaluation both fall on it).
				if first := firing[0]; first < arrive+budget || first > arrive+budget+60 {
					t.Errorf("%s: %s: first fires at %d, want within a minute after %d (requests from %d, budget %d s)",
						r.where, name, first, arrive+budget, arrive, budget)
				}
				if last := firing[len(firing)-1]; last > expired+60 {
					t.Errorf("%s: %s: still fires at %d, the queue emptied at %d", r.where, name, last, expired)
				}
			}
		}
	}
}

// LLMRequestsExpiredInQueue and LLMRequestsRejectedQueueFull fire for five
// minutes on requests of the model that left with their outcome: the first
// one of a client (its series appears, counting 1) as well as a later one;
// not on other outcomes or pools, nor on a series Prometheus sees again
// after a gap in its data.
func TestPoolOutcomeAlerts(t *testing.T) {
	t.Parallel()
	for alert, outcome := range map[string]string{
		"LLMRequestsExpiredInQueue":    "EvictedTTL",
		"LLMRequestsRejectedQueueFull": "RejectedCapacity",
	} {
		for _, r := range poolRules(t, alert) {
			if r.forDur != 0 {
				t.Errorf("%s: for %v: a refused request is an event, there is nothing to wait for", r.where, r.forDur)
			}
			if !strings.Contains(r.rule["expr"].(string), fmt.Sprintf("outcome=%q", outcome)) {
				t.Errorf("%s: %s does not count outcome %s", r.where, r.rule["expr"], outcome)
			}
			const event = 3600
			end := event + 900
			p := picker{r.namespace, r.pool, r.pool + "-epp-7c9d8b6f5-x2b7k", end}
			restarted := picker{r.namespace, r.pool, r.pool + "-epp-7c9d8b6f5-m3n9p", end}
			other := picker{r.namespace, "other-" + r.pool, "other-" + r.pool + "-epp-7c9d8b6f5-q4w8z", end}
			// Traffic that never fires: requests dispatched all along.
			base := p.up(at{0, 1}) + p.outcomes("team-a", "Dispatched", at{0, 10}, at{1200, 25}, at{event, 40}, at{event + 300, 55})
			gap := event - 600 // Prometheus down from here to event
			for name, sc := range map[string]struct {
				series string
				fires  bool
			}{
				"the first of a client": {fires: true, series: base + p.outcomes("team-b", outcome, at{event, 1})},
				"one more":              {fires: true, series: base + p.outcomes("team-a", outcome, at{0, 2}, at{event, 3})},
				// The picker restarted 2 minutes before: all its series
				// are new, and the new pod's first refusal counts.
				"the first after the picker restarted": {fires: true, series: p.up(at{0, 1}, at{event - 120, gone}) +
					p.outcomes("team-a", outcome, at{0, 2}, at{event - 120, gone}) +
					restarted.up(at{event - 105, 1}) + restarted.outcomes("team-a", "Dispatched", at{event - 90, 1}) +
					restarted.outcomes("team-a", outcome, at{event, 1})},
				"other outcomes and pools": {series: base +
					p.outcomes("team-b", "EvictedContextCancelled", at{event, 1}) +
					p.outcomes("team-b", "Dispatched", at{event, 1}) +
					other.up(at{0, 1}) + other.outcomes("team-a", outcome, at{0, 1}, at{event, 2}) +
					other.outcomes("team-b", outcome, at{event, 1})},
				// Prometheus had no data for 10 minutes; the series come
				// back with the counts they had.
				"seen again after a gap in Prometheus' data": {series: p.up(at{0, 1}, at{gap, gone}, at{event, 1}) +
					p.outcomes("team-a", "Dispatched", at{0, 10}, at{gap, gone}, at{event, 12}) +
					p.outcomes("team-a", outcome, at{0, 2}, at{gap, gone}, at{event, 2})},
			} {
				firing := r.run(t, "load 15s\n"+sc.series, end)
				switch {
				case !sc.fires && len(firing) > 0:
					t.Errorf("%s: %s: fires at %v", r.where, name, firing)
				case sc.fires && len(firing) == 0:
					t.Errorf("%s: %s: never fires (event at %d)", r.where, name, event)
				case sc.fires:
					if first, last := firing[0], firing[len(firing)-1]; first < event || first > event+30 || last > event+330 {
						t.Errorf("%s: %s: fires from %d to %d, want from the event at %d for about 5 minutes", r.where, name, first, last, event)
					}
				}
			}
		}
	}
}
