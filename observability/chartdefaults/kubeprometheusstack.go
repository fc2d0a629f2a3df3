package chartdefaults

// kube-prometheus-stack, read from github.com/prometheus-community/
// helm-charts, charts/kube-prometheus-stack, at tag
// kube-prometheus-stack-88.5.3: the newest tag in the copy of the
// repository these were read from (August 2026). The pinned chart,
// versions.KubePrometheusStackVersion 88.6.5, came out on 2026-09-03; its
// release notes from 88.5.3 on name no change to the values below (88.6.4
// documents Grafana dashboard folders, 88.6.5 makes the cert-manager
// private key configurable). Re-read them when the pin moves.
const kubePrometheusStackSource = "github.com/prometheus-community/helm-charts charts/kube-prometheus-stack/values.yaml, tag kube-prometheus-stack-88.5.3"

// KubePrometheusStackAlertmanagerConfig is the chart's default
// alertmanager.config (values.yaml), which the release's
// alertmanager.config is coalesced over; the chart renders the result into
// the Secret the operator loads (templates/alertmanager/secret.yaml).
func KubePrometheusStackAlertmanagerConfig() map[string]any {
	return map[string]any{
		"global": map[string]any{"resolve_timeout": "5m"},
		"inhibit_rules": []any{
			map[string]any{
				"source_matchers": []any{"severity = critical"},
				"target_matchers": []any{"severity =~ warning|info"},
				"equal":           []any{"namespace", "alertname"},
			},
			map[string]any{
				"source_matchers": []any{"severity = warning"},
				"target_matchers": []any{"severity = info"},
				"equal":           []any{"namespace", "alertname"},
			},
			map[string]any{
				"source_matchers": []any{"alertname = InfoInhibitor"},
				"target_matchers": []any{"severity = info"},
				"equal":           []any{"namespace"},
			},
			map[string]any{"target_matchers": []any{"alertname = InfoInhibitor"}},
		},
		"route": map[string]any{
			"group_by":        []any{"namespace"},
			"group_wait":      "30s",
			"group_interval":  "5m",
			"repeat_interval": "12h",
			"receiver":        "null",
			"routes": []any{map[string]any{
				"receiver": "null",
				"matchers": []any{`alertname = "Watchdog"`},
			}},
		},
		"receivers": []any{map[string]any{"name": "null"}},
		"templates": []any{"/etc/alertmanager/config/*.tmpl"},
	}
}
