package observability

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The pod pattern selects the model's Deployment pods only: not its
// preload Job's, not another model's whose name starts with this one's.
func TestPodPattern(t *testing.T) {
	t.Parallel()
	// Prometheus anchors label regexes at both ends.
	re := regexp.MustCompile("^(?:" + podPattern("qwen") + ")$")
	for pod, want := range map[string]bool{
		"qwen-5d8f7c9b4-x2b7k":        true,
		"qwen-66c8d9bf5b-4mz7q":       true,
		"qwen-preload-b2503754-x2b7k": false, // the preload Job's pod
		"qwen-coder-5d8f7c9b4-x2b7k":  false, // model qwen-coder
		"qwen-5d8f7c9b4":              false, // a ReplicaSet, not a pod
		"qwen-5d8f7c9b4-x2b7k-extra":  false,
		"xqwen-5d8f7c9b4-x2b7k":       false,
		"other-qwen-5d8f7c9b4-x2b7k":  false,
		"qwen-5d8f7c9b4-x2b7kk":       false,
		"qwen-awq-5d8f7c9b4-x2b7k":    false, // model qwen-awq
		"qwen-5d8f7c9b4-X2B7K":        false, // pod names are lower case
	} {
		if got := re.MatchString(pod); got != want {
			t.Errorf("%q matches %s = %v, want %v", pod, podPattern("qwen"), got, want)
		}
	}
	// A dot in a name is literal.
	if regexp.MustCompile("^(?:" + podPattern("qwen.7b") + ")$").MatchString("qwenx7b-5d8f7c9b4-x2b7k") {
		t.Error("the model name is not quoted in the pattern")
	}
}

func TestColdStartRecords(t *testing.T) {
	t.Parallel()
	m := testModels[0]
	records := ColdStartRecords(m)
	phases := map[string]string{}
	var total, budget string
	for _, r := range records {
		if r.Labels["model"] != m.Name {
			t.Errorf("%s %v lacks the static label model=%s", r.Record, r.Labels, m.Name)
		}
		switch r.Record {
		case ColdStartPhaseSeconds:
			phases[r.Labels["phase"]] = r.Expr
		case ColdStartSeconds:
			total = r.Expr
		case ColdStartBudgetSeconds:
			budget = r.Expr
		default:
			t.Errorf("unexpected record %s", r.Record)
		}
	}
	if budget != "vector(245.2)" {
		t.Errorf("budget record = %q, want vector(245.2)", budget)
	}
	// Each phase is its end timestamp minus its beginning's.
	want := map[string][2]string{
		PhaseNode:  {"kube_pod_status_scheduled_time", "kube_pod_created"},
		PhaseImage: {"kube_pod_container_state_started", "kube_pod_status_scheduled_time"},
		PhaseStart: {"kube_pod_status_ready_time", "kube_pod_container_state_started"},
		"total":    {"kube_pod_status_ready_time", "kube_pod_created"},
	}
	if len(phases) != 3 {
		t.Errorf("phases %v, want node, image and start", phases)
	}
	phases["total"] = total
	for phase, ends := range want {
		expr := phases[phase]
		end, begin := strings.Index(expr, ends[0]), strings.Index(expr, ends[1])
		minus := strings.Index(expr, " - on (namespace, pod) ")
		if end < 0 || begin < 0 || end >= minus || minus >= begin {
			t.Errorf("%s = %s, want %s - %s", phase, expr, ends[0], ends[1])
		}
		for _, must := range []string{
			// The model's pods, in its namespace.
			`namespace="models",pod=~"qwen-[a-z0-9]+-[a-z0-9]{5}"`,
			// Created after the current revision's preload completed.
			`> on (namespace) group_left () max by (namespace) (kube_job_status_completion_time{namespace="models",job_name="qwen-preload-0123abcd"})`,
			// Within the window after the pod first became ready.
			`unless on (namespace, pod) (min by (namespace, pod) (min_over_time(kube_pod_status_ready_time{`,
			`[2h])) < time() - 1800)`,
		} {
			if !strings.Contains(expr, must) {
				t.Errorf("%s = %s\nlacks %s", phase, expr, must)
			}
		}
	}
	if !strings.Contains(phases[PhaseImage], `container="vllm"`) || !strings.Contains(phases[PhaseStart], `container="vllm"`) {
		t.Error("the container start time is not the vLLM container's")
	}
}

func TestColdStartAlert(t *testing.T) {
	t.Parallel()
	for _, m := range testModels {
		a := ColdStartAlert(m)
		if a.Name != "LLMColdStartOverBudget" || a.Severity != "warning" || a.For != "0m" {
			t.Errorf("%+v", a)
		}
		if want := `llm:cold_start_seconds{model="` + m.Name + `"} > ` + num(m.ColdStartBudgetSeconds); a.Expr != want {
			t.Errorf("expr = %s, want %s", a.Expr, want)
		}
		for _, lever := range []string{ColdStartPhaseSeconds, "gpu.sociParallelPull", "gpu.dataVolumeSnapshotId", "models[].loadFormat", "models[].compileCache"} {
			if !strings.Contains(a.Runbook, lever) {
				t.Errorf("runbook does not mention %s: %s", lever, a.Runbook)
			}
		}
	}
}

// The PrometheusRule holds the SLO group and the cold-start group; in the
// latter the records come before the alerts that read them.
func TestPrometheusRuleGroups(t *testing.T) {
	t.Parallel()
	obj := PrometheusRuleObject(Namespace, RuleGroups(testModels, 0.02, "gpu-l4"))
	groups := obj["spec"].(map[string]any)["groups"].([]any)
	if len(groups) != 2 {
		t.Fatalf("%d groups", len(groups))
	}
	slo, cold := groups[0].(map[string]any), groups[1].(map[string]any)
	if slo["name"] != SLOGroup || cold["name"] != ColdStartGroup {
		t.Errorf("groups %v, %v", slo["name"], cold["name"])
	}
	for _, r := range slo["rules"].([]any) {
		if _, ok := r.(map[string]any)["alert"]; !ok {
			t.Errorf("SLO group has a non-alert rule %v", r)
		}
	}
	records, alerts := map[string]int{}, 0
	for _, r := range cold["rules"].([]any) {
		rule := r.(map[string]any)
		switch {
		case rule["record"] != nil:
			if alerts > 0 {
				t.Errorf("record %v after an alert: the alert would read the previous evaluation", rule["record"])
			}
			if rule["labels"].(map[string]any)["model"] == "" {
				t.Errorf("record %v without model label", rule["record"])
			}
			records[rule["record"].(string)]++
		case rule["alert"] == "LLMColdStartOverBudget":
			alerts++
		default:
			t.Errorf("unexpected rule %v", rule)
		}
	}
	if alerts != len(testModels) || records[ColdStartSeconds] != len(testModels) ||
		records[ColdStartBudgetSeconds] != len(testModels) || records[ColdStartPhaseSeconds] != 3*len(testModels) {
		t.Errorf("records %v, %d alerts, for %d models", records, alerts, len(testModels))
	}
}

func TestColdStartNeedsBudgetAndPreloadJob(t *testing.T) {
	t.Parallel()
	for _, broken := range []func(*ModelSLO){
		func(m *ModelSLO) { m.ColdStartBudgetSeconds = 0 },
		func(m *ModelSLO) { m.PreloadJob = "" },
	} {
		a := testArgs(&kubernetes.Provider{})
		a.ClusterName = pulumi.String("c")
		a.Models = append([]ModelSLO(nil), testModels...)
		broken(&a.Models[1])
		if err := a.validate(); err == nil || !strings.Contains(err.Error(), "model scaled") {
			t.Errorf("%+v: %v", a.Models[1], err)
		}
	}
	a := testArgs(&kubernetes.Provider{})
	if err := a.validate(); err != nil {
		t.Error(err)
	}
}
