package crd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/observability/chartdefaults"
)

// Issue 14, defect 3: Alertmanager had no receiver. For every golden
// kube-prometheus-stack release, the Alertmanager config the chart renders
// (its default alertmanager.config with the release's coalesced over it,
// as Helm does) must load with Alertmanager's own config.Load, which the
// Prometheus operator also runs on it before anything else
// (prometheus-operator v0.93.1, pkg/alertmanager/amcfg.go,
// alertmanagerConfigFromBytes); and its routing tree must send critical
// and warning alerts to the stack's receiver, everything else to "null".
// Alertmanager's config package is v0.31.0 here, the version this module
// already resolves (through Prometheus); the chart runs v0.34.0, whose
// config package accepts the same fields (notify/webhook/config.go
// url_file, config/notifiers.go SlackConfig api_url_file).
func TestAlertmanagerConfigLoadsAndRoutesBySeverity(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*", "kubernetes", "release-*-kube-prometheus-stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden kube-prometheus-stack release")
	}
	withReceiver := 0
	for _, f := range files {
		stackDir := filepath.Dir(filepath.Dir(f))
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			HelmRelease struct {
				Namespace string         `json:"namespace"`
				Values    map[string]any `json:"values"`
			} `json:"helmRelease"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		values := doc.HelmRelease.Values
		release, _ := chartdefaults.Lookup(values, "alertmanager.config").(map[string]any)
		merged := chartdefaults.Coalesce(chartdefaults.KubePrometheusStackAlertmanagerConfig(), release)
		out, err := yaml.Marshal(merged)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := amconfig.Load(string(out))
		if err != nil {
			t.Errorf("%s: Alertmanager refuses the rendered config: %v\n%s", f, err, out)
			continue
		}

		// The receiver's URL file must be a Secret Alertmanager mounts,
		// which the stack declares in the release namespace.
		mounted := map[string]bool{}
		secrets, _ := chartdefaults.Lookup(values, "alertmanager.alertmanagerSpec.secrets").([]any)
		for _, s := range secrets {
			name, _ := s.(string)
			if !declaresSecret(t, stackDir, doc.HelmRelease.Namespace, name) {
				t.Errorf("%s: Alertmanager mounts Secret %s/%s, which the stack does not declare", f, doc.HelmRelease.Namespace, name)
			}
			mounted[name] = true
		}
		want := "null"
		for _, r := range cfg.Receivers {
			for _, file := range receiverFiles(r) {
				rest, ok := strings.CutPrefix(file, "/etc/alertmanager/secrets/")
				name, _, _ := strings.Cut(rest, "/")
				if !ok || !mounted[name] {
					t.Errorf("%s: receiver %s reads %s, which is in no Secret of alertmanagerSpec.secrets %v", f, r.Name, file, secrets)
				}
				want = r.Name
			}
		}
		if want != "null" {
			withReceiver++
		}

		root := dispatch.NewRoute(cfg.Route, nil)
		for _, tc := range []struct {
			labels  model.LabelSet
			receive string
		}{
			{model.LabelSet{"alertname": "LLMErrorRatioHigh", "severity": "critical"}, want},
			{model.LabelSet{"alertname": "LLMRequestsQueued", "severity": "warning"}, want},
			{model.LabelSet{"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "models"}, want},
			{model.LabelSet{"alertname": "Watchdog", "severity": "none"}, "null"},
			{model.LabelSet{"alertname": "InfoInhibitor", "severity": "none"}, "null"},
			{model.LabelSet{"alertname": "CPUThrottlingHigh", "severity": "info"}, "null"},
		} {
			var got []string
			for _, r := range root.Match(tc.labels) {
				got = append(got, r.RouteOpts.Receiver)
			}
			if len(got) != 1 || got[0] != tc.receive {
				t.Errorf("%s: alert %v goes to %v, want [%s]", f, tc.labels, got, tc.receive)
			}
		}
	}
	if withReceiver == 0 {
		t.Error("no golden stack configures an alert receiver: the receiver path is untested")
	}
}

// receiverFiles lists the URL files a receiver reads.
func receiverFiles(r amconfig.Receiver) []string {
	var out []string
	for _, w := range r.WebhookConfigs {
		out = append(out, w.URLFile)
	}
	for _, s := range r.SlackConfigs {
		out = append(out, s.APIURLFile)
	}
	return out
}

// declaresSecret reports whether a golden stack renders a Secret ns/name.
func declaresSecret(t *testing.T, stackDir, ns, name string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(stackDir, "kubernetes", "secret-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Metadata struct{ Name, Namespace string }
		}
		if err := yaml.Unmarshal(b, &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Metadata.Name == name && obj.Metadata.Namespace == ns {
			return true
		}
	}
	return false
}
