package observability

import (
	"fmt"
	"regexp"

	"github.com/llm-platform/llm-platform/coldstart"
)

// Cold start (issue 16): package coldstart estimates each model's wake-up
// phase by phase; the rules below measure it on every vLLM pod from the
// timestamps kube-state-metrics exports for it, and alert when a pod took
// longer than its budget.

// ColdStartGroup is the PrometheusRule group of the cold-start rules.
const ColdStartGroup = "llm-platform.coldstart"

// Recorded series. Each carries the static label model (the config name)
// and, per pod, namespace and pod.
const (
	// ColdStartSeconds is a pod's cold start: created to Ready.
	ColdStartSeconds = "llm:cold_start_seconds"
	// ColdStartPhaseSeconds is one measured phase of it (label phase).
	ColdStartPhaseSeconds = "llm:cold_start_phase_seconds"
	// ColdStartBudgetSeconds is the model's budget for ColdStartSeconds
	// (coldstart.Budget.FromPodCreated), a constant, for the dashboard.
	ColdStartBudgetSeconds = "llm:cold_start_budget_seconds"
)

// Measured phases: the values of the phase label. Node and image are the
// estimate's phases of the same name; start covers its weights, engine and
// ready phases, which no Kubernetes timestamp separates (vLLM logs them).
const (
	// PhaseNode is created -> PodScheduled: Karpenter's batch, the GPU
	// node's launch, registration and device plugin (about zero on a node
	// that already has a free GPU).
	PhaseNode = coldstart.PhaseNode
	// PhaseImage is PodScheduled -> vLLM container started: image pull
	// (the init container uses the same image) and the wait-for-weights
	// init container, which returns at once when the preload is done.
	PhaseImage = coldstart.PhaseImage
	// PhaseStart is vLLM container started -> Ready: weights, engine
	// (torch.compile, CUDA graphs) and the startup and readiness probes.
	PhaseStart = "start"
)

const (
	// ColdStartWindowSeconds is how long after a pod first becomes Ready
	// its cold-start series are recorded, and so how long the alert fires:
	// 30 minutes. kube-state-metrics exports the timestamps for the pod's
	// whole life: without the window a slow start would alert, and a
	// dashboard line would last, as long as the pod.
	ColdStartWindowSeconds = 30 * 60
	// coldStartLookback is how far back the rules look for a pod's first
	// vLLM start and first Ready. A container restart or a readiness
	// probe failure moves both timestamps; taking the earliest seen keeps
	// the measure on the first start, and a pod ready before the window
	// stays out of it. A pod not ready for longer than lookback minus
	// window (90 minutes) that then recovers is measured again, as if it
	// were new.
	coldStartLookback = "2h"
)

// vLLMContainer is the vLLM container's name in the model's pods (package
// models).
const vLLMContainer = "vllm"

// coldStartQueries are the per-pod expressions a model's rules are built
// from. Every kube-state-metrics series is reduced to (namespace, pod) by
// max or min first: the series carry other labels (uid, the scrape's
// instance, container: kube-state-metrics' own on most, the pod's
// container on kube_pod_container_state_started) that would stop a match,
// and during a kube-state-metrics rollout two instances export the same
// pod.
type coldStartQueries struct {
	// cold is kube_pod_created of the pods that count.
	cold, scheduled, started, ready string
	// past are the pods first ready more than ColdStartWindowSeconds ago.
	past string
}

// podPattern matches the names of a model's vLLM pods (Prometheus anchors
// it). The model's Deployment is named after it: its pods are
// <model>-<pod-template-hash>-<5 characters>. The preload Job's pods
// (<model>-preload-<revision>-<5>) and those of another model whose name
// extends this one (<model>-x-<hash>-<5>) have one more dash-separated part
// and do not match.
func podPattern(model string) string {
	return regexp.QuoteMeta(model) + "-[a-z0-9]+-[a-z0-9]{5}"
}

func newColdStartQueries(m ModelSLO) coldStartQueries {
	sel := fmt.Sprintf(`namespace=%q,pod=~%q`, m.Namespace, podPattern(m.Name))
	var q coldStartQueries
	created := fmt.Sprintf(`max by (namespace, pod) (kube_pod_created{%s})`, sel)
	// Only pods created after the current revision's preload Job
	// completed: an earlier pod waited in wait-for-weights for the first
	// download, which is not a cold start. kube_job_status_completion_time
	// exists once the Job completed (CompletionTime set).
	q.cold = fmt.Sprintf(`(%s > on (namespace) group_left () max by (namespace) (kube_job_status_completion_time{namespace=%q,job_name=%q}))`,
		created, m.Namespace, m.PreloadJob)
	q.scheduled = fmt.Sprintf(`max by (namespace, pod) (kube_pod_status_scheduled_time{%s})`, sel)
	q.started = fmt.Sprintf(`min by (namespace, pod) (min_over_time(kube_pod_container_state_started{%s,container=%q}[%s]))`, sel, vLLMContainer, coldStartLookback)
	q.ready = fmt.Sprintf(`min by (namespace, pod) (min_over_time(kube_pod_status_ready_time{%s}[%s]))`, sel, coldStartLookback)
	q.past = fmt.Sprintf(`(%s < time() - %d)`, q.ready, ColdStartWindowSeconds)
	return q
}

// since is end - creation for the model's cold-start pods inside the
// window.
func (q coldStartQueries) since(end string) string {
	return fmt.Sprintf(`(%s - on (namespace, pod) %s) unless on (namespace, pod) %s`, end, q.cold, q.past)
}

// between is end - begin for the model's cold-start pods inside the window.
func (q coldStartQueries) between(end, begin string) string {
	return fmt.Sprintf(`((%s - on (namespace, pod) %s) and on (namespace, pod) %s) unless on (namespace, pod) %s`, end, begin, q.cold, q.past)
}

// ColdStartRecords are a model's cold-start recording rules: its budget,
// and for each pod created after its preload completed, from creation
// until ColdStartWindowSeconds after it first became Ready, the phases
// measured so far and, once Ready, the total.
func ColdStartRecords(m ModelSLO) []Record {
	q := newColdStartQueries(m)
	model := map[string]string{"model": m.Name}
	phase := func(p string) map[string]string { return map[string]string{"model": m.Name, "phase": p} }
	return []Record{
		{Record: ColdStartBudgetSeconds, Expr: fmt.Sprintf(`vector(%s)`, num(m.ColdStartBudgetSeconds)), Labels: model},
		{Record: ColdStartPhaseSeconds, Expr: q.since(q.scheduled), Labels: phase(PhaseNode)},
		{Record: ColdStartPhaseSeconds, Expr: q.between(q.started, q.scheduled), Labels: phase(PhaseImage)},
		{Record: ColdStartPhaseSeconds, Expr: q.between(q.ready, q.started), Labels: phase(PhaseStart)},
		{Record: ColdStartSeconds, Expr: q.since(q.ready), Labels: model},
	}
}

// ColdStartAlert fires for each pod of the model that first became Ready
// within ColdStartWindowSeconds and took longer than the budget from its
// creation. No `for`: the value is a finished pod start's, waiting cannot
// change it; the window ends the alert.
func ColdStartAlert(m ModelSLO) Alert {
	return Alert{
		Name:     "LLMColdStartOverBudget",
		Expr:     fmt.Sprintf(`%s{model=%q} > %s`, ColdStartSeconds, m.Name, num(m.ColdStartBudgetSeconds)),
		For:      "0m",
		Severity: "warning",
		Summary: fmt.Sprintf("pod {{ $labels.pod }} of %s took {{ $value | humanizeDuration }} from creation to ready, over its %s s cold-start budget",
			m.Name, num(m.ColdStartBudgetSeconds)),
		Runbook: fmt.Sprintf(`See which phase overran: %s{model=%q,pod="<pod>"} against the model's budget phase by phase (package coldstart). `+
			`node (created to scheduled): GPU capacity and node launch, kubectl get nodeclaims and the Karpenter logs. `+
			`image (scheduled to vLLM started): turn on gpu.sociParallelPull, or boot nodes with the image from gpu.dataVolumeSnapshotId. `+
			`start (vLLM started to ready, weights and engine): models[].loadFormat runai_streamer and models[].compileCache; the vLLM log (kubectl -n %s logs <pod> -c vllm) times the weight load and torch.compile.`,
			ColdStartPhaseSeconds, m.Name, m.Namespace),
	}
}

// ColdStartRuleGroup is the rule group of every model's cold-start rules:
// the recording rules first, so the alerts, evaluated after them in the
// same group, read this evaluation's values.
func ColdStartRuleGroup(models []ModelSLO) RuleGroup {
	g := RuleGroup{Name: ColdStartGroup}
	for _, m := range models {
		g.Records = append(g.Records, ColdStartRecords(m)...)
	}
	for _, m := range models {
		g.Alerts = append(g.Alerts, ColdStartAlert(m))
	}
	return g
}
