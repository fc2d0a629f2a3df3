package observability

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/observability/chartdefaults"
	"github.com/llm-platform/llm-platform/render"
)

// testModels: one model with a replica always, one that scales to zero;
// their wake-up budgets are the cold-start budget plus the 30 s signal
// phase, under the 280 s hold.
var testModels = []ModelSLO{
	{Name: "qwen", ServedName: "qwen-7b", Namespace: "models", TTFTTargetSeconds: 1.5, MinReplicas: 1,
		ColdStartBudgetSeconds: 245.2, PreloadJob: "qwen-preload-0123abcd", HoldSeconds: 280, WakeBudgetSeconds: 275.2},
	{Name: "scaled", ServedName: "scaled-1b", Namespace: "models", TTFTTargetSeconds: 3, MinReplicas: 0,
		ColdStartBudgetSeconds: 190, PreloadJob: "scaled-preload-89abcdef", HoldSeconds: 280, WakeBudgetSeconds: 220},
}

func TestAlertsCoverEverySLO(t *testing.T) {
	t.Parallel()
	alerts := Alerts(testModels, 0.02, "gpu-l4")
	count := map[string]int{}
	for _, a := range alerts {
		count[a.Name]++
		if a.Runbook == "" || a.Summary == "" || a.Severity == "" || a.For == "" {
			t.Errorf("%s lacks runbook, summary, severity or for: %+v", a.Name, a)
		}
	}
	for name, want := range map[string]int{
		"LLMTimeToFirstTokenHigh": 2, "LLMErrorRatioHigh": 2, "LLMRequestsQueued": 2, "LLMKVCacheNearlyFull": 2,
		"LLMPreloadFailed": 2, "LLMNoReadyReplicas": 1, // only the model with a minimum above zero
		"LLMRequestsExpiredInQueue": 2, "LLMRequestsRejectedQueueFull": 2, "LLMStuckAtZero": 1, // the last only at zero
		"GPUXidErrors": 1, "GPUNodePoolAtLimit": 1,
	} {
		if count[name] != want {
			t.Errorf("%d %s alerts, want %d", count[name], name, want)
		}
	}
	for _, a := range alerts {
		switch {
		case a.Name == "LLMTimeToFirstTokenHigh" && strings.Contains(a.Expr, "qwen-7b"):
			if !strings.HasSuffix(a.Expr, "> 1.5") || !strings.Contains(a.Expr, "0.95") {
				t.Errorf("TTFT alert %s does not use the model's p95 target", a.Expr)
			}
		case a.Name == "LLMErrorRatioHigh":
			if !strings.HasSuffix(a.Expr, "> 0.02") {
				t.Errorf("error ratio alert %s does not use the target", a.Expr)
			}
		case a.Name == "LLMRequestsQueued":
			if a.For != "10m" {
				t.Errorf("queueing must be sustained for 10m, got %s", a.For)
			}
		case a.Name == "LLMKVCacheNearlyFull":
			if !strings.Contains(a.Expr, "> 0.9") {
				t.Errorf("KV cache alert %s", a.Expr)
			}
		}
	}
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	var d struct {
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			GridPos struct{ X, Y, W, H int }
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal([]byte(DashboardJSON("models", testModels)), &d); err != nil {
		t.Fatal(err)
	}
	want := []string{"Requests per second", "Time to first token", "Inter-token latency", "Tokens per second",
		"Running vs waiting requests", "KV cache use", "Replicas: desired vs available", "Cold start vs budget",
		"Cold start by phase", "Held requests per model", "Held requests per client", "Time held in the queue",
		"Prefix cache hit rate", "Gateway requests: asked for, sent as", "GPU utilization", "GPU memory used", "GPU power", "Tokens per client"}
	if len(d.Panels) != len(want) {
		t.Fatalf("%d panels", len(d.Panels))
	}
	seen := map[int]bool{}
	cells := map[[2]int]bool{}
	for i, p := range d.Panels {
		if p.Title != want[i] || seen[p.ID] || len(p.Targets) == 0 {
			t.Errorf("panel %d = %+v", i, p)
		}
		seen[p.ID] = true
		cell := [2]int{p.GridPos.X, p.GridPos.Y}
		if cells[cell] {
			t.Errorf("panel %q overlaps another at %v", p.Title, cell)
		}
		cells[cell] = true
	}
	if !strings.Contains(DashboardJSON("models", testModels), `namespace=\"models\"`) {
		t.Error("replica panel does not select the model namespace")
	}
}

// testArgs are the stack's arguments every component test starts from.
func testArgs(provider *kubernetes.Provider) *Args {
	return &Args{
		Partition: "aws", ClusterName: pulumi.String("llm-test"), EBSCSIVersion: "v1.66.0-eksbuild.1", RoleNamePrefix: "llm-test",
		Retention: "15d", StorageGiB: 50, ErrorRatioTarget: 0.01, Models: testModels, ModelNamespace: "models",
		GPUPool: "gpu-l4", GPUNodeSelector: map[string]string{"llm-platform/pool": "gpu-l4"}, GPUTaintKey: "nvidia.com/gpu",
		Provider: provider,
	}
}

func TestStackComponent(t *testing.T) {
	t.Parallel()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		args := testArgs(provider)
		args.PlatformNodeSelector, args.EnvoyNamespace = map[string]string{"role": "system"}, "envoy-gateway-system"
		args.KarpenterNamespace, args.KEDANamespace = "kube-system", "keda"
		st, err := NewStack(ctx, "obs", args)
		if err != nil {
			return err
		}
		if !pulumi.IsSecret(st.GrafanaAdminPassword) {
			t.Error("Grafana admin password is not a secret")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	kps := res.Named("kubernetes:helm.sh/v3:Release", "obs-kube-prometheus-stack")
	for path, want := range map[string]any{
		"values.prometheus.prometheusSpec.retention":                                                       "15d",
		"values.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues":                         false,
		"values.prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues":                             false,
		"values.prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues":                                   false,
		"values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName":           StorageClassName,
		"values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage": "50Gi",
		"values.grafana.admin.existingSecret":                                                              "grafana-admin",
		"values.fullnameOverride":                                                                          "kps",
	} {
		if got, _ := kps.Input(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if s := res.Named("kubernetes:core/v1:Secret", "obs-grafana-admin"); s == nil || s.Inputs["stringData"] != render.Secret {
		t.Error("Grafana admin secret data is not a secret")
	}
	dcgm := res.Named("kubernetes:helm.sh/v3:Release", "obs-dcgm-exporter")
	sel, _ := dcgm.Input("values.nodeSelector")
	if sel.(map[string]any)["llm-platform/pool"] != "gpu-l4" || dcgm.String("values.tolerations.0.key") != "nvidia.com/gpu" {
		t.Errorf("DCGM exporter placement = %v", dcgm.Inputs["values"])
	}
	sc2 := res.Named("kubernetes:storage.k8s.io/v1:StorageClass", "obs-gp3")
	if sc2 == nil || sc2.String("parameters.type") != "gp3" || sc2.String("parameters.encrypted") != "true" || sc2.String("provisioner") != "ebs.csi.aws.com" {
		t.Errorf("storage class = %+v", sc2)
	}
	addon := res.Named("aws:eks/addon:Addon", "obs-ebs-csi-driver")
	if addon == nil || addon.String("podIdentityAssociations.0.serviceAccount") != "ebs-csi-controller-sa" {
		t.Errorf("EBS CSI addon = %+v", addon)
	}
	for _, typ := range []string{"PodMonitor", "ServiceMonitor", "PrometheusRule"} {
		for _, r := range res.WithTypePrefix("kubernetes:monitoring.coreos.com/v1:" + typ) {
			if !containsURN(r.DependsOn, kps.URN) {
				t.Errorf("%s %s does not wait for the Prometheus operator", typ, r.Name)
			}
		}
	}
}

func containsURN(list []string, urn string) bool {
	for _, u := range list {
		if u == urn {
			return true
		}
	}
	return false
}

// Issue 14, defect 1: Helm merges our securityContext into the chart's
// default (allowPrivilegeEscalation: false since chart 4.7.0), and
// kube-apiserver refuses privileged with allowPrivilegeEscalation false
// (ValidateSecurityContext, k8s.io/kubernetes pkg/apis/core/validation).
// tests/crd/kubeapi dry-runs the same merged Pod on a real API server.
func TestDCGMExporterSecurityContextAfterHelmMerge(t *testing.T) {
	t.Parallel()
	values := DCGMExporterValues(map[string]string{"llm-platform/pool": "gpu-l4"}, "nvidia.com/gpu")
	if len(chartdefaults.DCGMExporter) != 1 {
		t.Fatalf("dcgm-exporter chart has %d pods, want its one DaemonSet", len(chartdefaults.DCGMExporter))
	}
	spec := chartdefaults.DCGMExporter[0].Spec(values)
	sc := spec["containers"].([]any)[0].(map[string]any)["securityContext"].(map[string]any)
	// Bottlerocket gives the exporter the GPUs only if it is privileged.
	if sc["privileged"] != true {
		t.Errorf("merged securityContext %v is not privileged: NVML cannot see the GPUs on Bottlerocket", sc)
	}
	if ape, set := sc["allowPrivilegeEscalation"]; set && ape == false && sc["privileged"] == true {
		t.Errorf("merged securityContext %v: kube-apiserver refuses it: cannot set `allowPrivilegeEscalation` to false and `privileged` to true", sc)
	}
}

// Issue 14, defect 3: EKS hides the controller manager, scheduler and
// etcd, and its kube-proxy serves metrics on loopback only: their scrapes
// and default rules must be off, or their "down" alerts never clear.
func TestKubePrometheusStackSkipsWhatEKSHides(t *testing.T) {
	t.Parallel()
	values := KubePrometheusStackValues(&Args{Retention: "15d", StorageGiB: 50})
	for _, component := range []string{"kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"} {
		c, _ := values[component].(map[string]any)
		if c == nil || c["enabled"] != false {
			t.Errorf("values.%s = %v, want enabled: false (EKS hides it; its absent-target alerts would fire forever)", component, values[component])
		}
	}
	// What EKS does expose stays scraped.
	for _, component := range []string{"kubeApiServer", "kubelet", "coreDns", "kubeStateMetrics", "nodeExporter"} {
		if c, ok := values[component].(map[string]any); ok && c["enabled"] == false {
			t.Errorf("values.%s is turned off, but EKS exposes it", component)
		}
	}
}

// Issue 14, defect 3: with a receiver, Alertmanager routes critical and
// warning alerts to it; the URL (a credential) stays a secret end to end:
// only the Secret holds it, the Helm values hold its file path.
func TestAlertReceiver(t *testing.T) {
	t.Parallel()
	const url = "https://hooks.slack.com/services/T000/B000/doNotLeakThisURL"
	for _, receiver := range []string{ReceiverWebhook, ReceiverSlack} {
		t.Run(receiver, func(t *testing.T) {
			t.Parallel()
			res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
				args := testArgs(provider)
				args.AlertReceiver, args.AlertWebhookURL = receiver, pulumi.ToSecret(pulumi.String(url)).(pulumi.StringOutput)
				_, err := NewStack(ctx, "obs", args)
				return err
			}))
			if err != nil {
				t.Fatal(err)
			}
			b, err := res.ResourcesJSON()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), url) || strings.Contains(string(b), "doNotLeak") {
				t.Error("the receiver URL appears in clear text in the render")
			}
			secret := res.Named("kubernetes:core/v1:Secret", "obs-alert-receiver")
			if secret == nil || secret.String("metadata.name") != ReceiverSecretName || secret.String("metadata.namespace") != Namespace ||
				secret.Inputs["stringData"] != render.Secret {
				t.Fatalf("receiver Secret = %+v, want %s/%s with secret stringData", secret, Namespace, ReceiverSecretName)
			}
			kps := res.Named("kubernetes:helm.sh/v3:Release", "obs-kube-prometheus-stack")
			if !containsURN(kps.DependsOn, secret.URN) {
				t.Error("kube-prometheus-stack does not wait for the receiver Secret Alertmanager mounts")
			}
			if got := kps.String("values.alertmanager.alertmanagerSpec.secrets.0"); got != ReceiverSecretName {
				t.Errorf("Alertmanager mounts %q, want the receiver Secret", got)
			}
			field := map[string]string{ReceiverWebhook: "webhook_configs", ReceiverSlack: "slack_configs"}[receiver]
			file := map[string]string{ReceiverWebhook: "url_file", ReceiverSlack: "api_url_file"}[receiver]
			if got := kps.String("values.alertmanager.config.receivers.1." + field + ".0." + file); got != "/etc/alertmanager/secrets/alertmanager-receiver/url" {
				t.Errorf("%s %s = %q, want the mounted Secret's url key", field, file, got)
			}
			for i, severity := range []string{"critical", "warning"} {
				p := fmt.Sprintf("values.alertmanager.config.route.routes.%d.", i)
				if kps.String(p+"receiver") != "platform" || kps.String(p+"matchers.0") != `severity = "`+severity+`"` {
					t.Errorf("route %d = receiver %q matchers %q, want %s alerts to platform", i, kps.String(p+"receiver"), kps.String(p+"matchers.0"), severity)
				}
			}
			if kps.String("values.alertmanager.config.route.receiver") != "null" || kps.String("values.alertmanager.config.receivers.0.name") != "null" {
				t.Error(`alerts of other severities (Watchdog, info) must stay in "null"`)
			}
		})
	}
}

func TestAlertReceiverNeedsURL(t *testing.T) {
	t.Parallel()
	a := &Args{Provider: &kubernetes.Provider{}, ClusterName: pulumi.String("c"), EBSCSIVersion: "v1", StorageGiB: 50, Retention: "15d",
		AlertReceiver: ReceiverSlack}
	if err := a.validate(); err == nil || !strings.Contains(err.Error(), `observability.alerts.receiver = "slack"`) {
		t.Errorf("slack without URL: %v", err)
	}
	a.AlertReceiver = "email"
	if err := a.validate(); err == nil || !strings.Contains(err.Error(), `"email"`) {
		t.Errorf("unknown receiver: %v", err)
	}
	// No receiver: the chart's config, nothing added.
	values := KubePrometheusStackValues(&Args{Retention: "15d", StorageGiB: 50})
	am := values["alertmanager"].(map[string]any)
	if _, ok := am["config"]; ok {
		t.Errorf("receiver none sets alertmanager.config: %v", am["config"])
	}
}

// Issue 14, defect 4: every namespace the stack owns enforces the
// strictest Pod Security level its pods pass, and the pods that need the
// host (the DCGM exporter, node-exporter) are the only ones in the
// privileged one. tests/crd/kubeapi checks the same pods on a real API
// server.
func TestPodSecurity(t *testing.T) {
	t.Parallel()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		_, err := NewStack(ctx, "obs", testArgs(provider))
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	enforced := map[string]string{}
	for _, n := range res.OfType("kubernetes:core/v1:Namespace") {
		labels, _ := n.Input("metadata.labels")
		m, _ := labels.(map[string]any)
		level, _ := m["pod-security.kubernetes.io/enforce"].(string)
		enforced[n.String("metadata.name")] = level
	}
	if enforced[Namespace] != "restricted" || enforced[HostNamespace] != "privileged" || len(enforced) != 2 {
		t.Errorf("namespaces enforce %v, want %s restricted and %s privileged", enforced, Namespace, HostNamespace)
	}

	kps := res.Named("kubernetes:helm.sh/v3:Release", "obs-kube-prometheus-stack")
	dcgm := res.Named("kubernetes:helm.sh/v3:Release", "obs-dcgm-exporter")
	hostNS := res.Named("kubernetes:core/v1:Namespace", "obs-host-namespace")
	if hostNS == nil {
		t.Fatalf("no namespace %s for the pods that need the host", HostNamespace)
	}
	for _, r := range []*render.Resource{kps, dcgm} {
		if !containsURN(r.DependsOn, hostNS.URN) {
			t.Errorf("%s does not wait for namespace %s, where it puts pods", r.Name, HostNamespace)
		}
	}
	releases := []struct {
		namespace string
		values    map[string]any
		pods      []chartdefaults.Pod
	}{
		{kps.String("namespace"), kps.Inputs["values"].(map[string]any), chartdefaults.KubePrometheusStack},
		{dcgm.String("namespace"), dcgm.Inputs["values"].(map[string]any), chartdefaults.DCGMExporter},
	}
	for _, rel := range releases {
		for _, p := range rel.pods {
			ns := p.Namespace(rel.namespace, rel.values)
			want := Namespace
			if needsHost(p.Spec(rel.values)) {
				want = HostNamespace
			}
			if ns != want {
				t.Errorf("%s runs in %s, want %s (it needs the host: %v)", p.Component, ns, want, want == HostNamespace)
			}
		}
	}
}

// needsHost reports whether a pod spec needs the privileged Pod Security
// level for its host access (the baseline level's checks).
func needsHost(spec map[string]any) bool {
	if spec["hostNetwork"] == true || spec["hostPID"] == true || spec["hostIPC"] == true {
		return true
	}
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		if _, ok := v.(map[string]any)["hostPath"]; ok {
			return true
		}
	}
	for _, c := range spec["containers"].([]any) {
		if sc, ok := c.(map[string]any)["securityContext"].(map[string]any); ok && sc["privileged"] == true {
			return true
		}
	}
	return false
}

// A model with a hosted fallback gets its fallback rate charted; without
// one, there is no fallback panel.
func TestFallbackPanel(t *testing.T) {
	panel := func(models []ModelSLO) []string {
		for _, p := range DashboardPanels("models", models) {
			if p.Title == "Requests served by the fallback" {
				var exprs []string
				for _, q := range p.Queries {
					exprs = append(exprs, q.Expr)
				}
				return exprs
			}
		}
		return nil
	}
	if got := panel(testModels); got != nil {
		t.Errorf("fallback panel without a fallback: %v", got)
	}
	with := append([]ModelSLO(nil), testModels...)
	with[0].FallbackModel = "us.meta.llama3-1-8b-instruct-v1:0"
	want := `sum by (gen_ai_original_model) (rate(gen_ai_server_request_duration_seconds_count{gen_ai_original_model="` +
		with[0].ServedName + `",gen_ai_request_model="us.meta.llama3-1-8b-instruct-v1:0"}[5m]))`
	if got := panel(with); len(got) != 1 || got[0] != want {
		t.Errorf("fallback panel = %v, want [%s]", got, want)
	}
}

// The chat panel sums the chat client's tokens by user: never another
// client's, whose user header would be whatever it sent.
func TestChatUserPanel(t *testing.T) {
	t.Parallel()
	p := ChatUserPanel()
	if len(p.Queries) != 1 || !strings.Contains(p.Queries[0].Expr, `client_id="chat"`) || !strings.Contains(p.Queries[0].Expr, "by (user_email, gen_ai_token_type)") {
		t.Errorf("chat panel query = %+v", p.Queries)
	}
	if strings.Contains(DashboardJSON("models", testModels), p.Title) {
		t.Error("chat panel without chat")
	}
	if !strings.Contains(DashboardJSON("models", testModels, p), p.Title) {
		t.Error("no chat panel with chat")
	}
}
