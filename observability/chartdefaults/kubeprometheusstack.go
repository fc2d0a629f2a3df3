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

// Container securityContext the Prometheus operator v0.93.1 gives every
// container it generates for Prometheus and Alertmanager (the server,
// config-reloader and init-config-reloader): pkg/prometheus/server/
// statefulset.go, pkg/alertmanager/statefulset.go, pkg/operator/
// config_reloader.go. No value of the chart changes it.
func operatorContainer(name string) Container {
	return Container{Name: name, SecurityContext: map[string]any{
		"allowPrivilegeEscalation": false,
		"readOnlyRootFilesystem":   true,
		"capabilities":             map[string]any{"drop": []any{"ALL"}},
	}}
}

// operatorPodSecurityContext is the chart's default for
// prometheus.prometheusSpec.securityContext and
// alertmanager.alertmanagerSpec.securityContext, which the operator copies
// onto the pod.
func operatorPodSecurityContext() map[string]any {
	return map[string]any{
		"runAsGroup": int64(2000), "runAsNonRoot": true, "runAsUser": int64(1000), "fsGroup": int64(2000),
		"seccompProfile": map[string]any{"type": "RuntimeDefault"},
	}
}

func dropAll() map[string]any {
	return map[string]any{
		"allowPrivilegeEscalation": false,
		"readOnlyRootFilesystem":   true,
		"capabilities":             map[string]any{"drop": []any{"ALL"}},
	}
}

// KubePrometheusStack are the pods kube-prometheus-stack's install creates
// (the chart's own, its subcharts', the admission-webhook Jobs its hooks
// run, and those the Prometheus operator generates from the Prometheus and
// Alertmanager it renders), with the chart defaults of the pinned
// subcharts: kube-state-metrics 8.4.0 (app v2.20.0), prometheus-node-
// exporter 4.56.1 (same repository, tags kube-state-metrics-8.4.0 and
// prometheus-node-exporter-4.56.1), grafana 12.11.1 (github.com/
// grafana-community/helm-charts, tag grafana-12.11.1), as
// kube-prometheus-stack 88.5.3's Chart.yaml pins them. Helm test pods are
// left out: an install never runs them.
var KubePrometheusStack = []Pod{
	{
		Component: "prometheus", Source: kubePrometheusStackSource + "; prometheus-operator v0.93.1 pkg/prometheus/server/statefulset.go",
		NamespaceOverride: "namespaceOverride",
		SecurityContext:   operatorPodSecurityContext(), SecurityContextValues: "prometheus.prometheusSpec.securityContext",
		Containers: []Container{operatorContainer("prometheus"), operatorContainer("config-reloader"), operatorContainer("init-config-reloader")},
	},
	{
		Component: "alertmanager", Source: kubePrometheusStackSource + "; prometheus-operator v0.93.1 pkg/alertmanager/statefulset.go",
		NamespaceOverride: "alertmanager.namespaceOverride",
		SecurityContext:   operatorPodSecurityContext(), SecurityContextValues: "alertmanager.alertmanagerSpec.securityContext",
		Containers: []Container{operatorContainer("alertmanager"), operatorContainer("config-reloader"), operatorContainer("init-config-reloader")},
	},
	{
		Component: "prometheus-operator", Source: kubePrometheusStackSource + " (prometheusOperator)",
		NamespaceOverride: "namespaceOverride",
		SecurityContext: map[string]any{
			"fsGroup": int64(65534), "runAsGroup": int64(65534), "runAsNonRoot": true, "runAsUser": int64(65534),
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		},
		SecurityContextValues: "prometheusOperator.securityContext",
		Containers: []Container{{
			Name: "kube-prometheus-stack", SecurityContext: dropAll(),
			SecurityContextValues: "prometheusOperator.containerSecurityContext",
		}},
	},
	// The admission webhook's certificate Jobs (pre-install and
	// post-install hooks, templates/prometheus-operator/admission-webhooks/
	// job-patch/): one container each.
	admissionJob("admission-create", "createSecretJob"),
	admissionJob("admission-patch", "patchWebhookJob"),
	{
		Component: "grafana", Source: "github.com/grafana-community/helm-charts charts/grafana/values.yaml, tag grafana-12.11.1",
		NamespaceOverride: "grafana.namespaceOverride",
		SecurityContext: map[string]any{
			"runAsNonRoot": true, "runAsUser": int64(472), "runAsGroup": int64(472), "fsGroup": int64(472),
		},
		SecurityContextValues: "grafana.securityContext",
		Containers: []Container{
			{
				Name: "grafana", SecurityContextValues: "grafana.containerSecurityContext",
				SecurityContext: map[string]any{
					"allowPrivilegeEscalation": false, "privileged": false,
					"capabilities":   map[string]any{"drop": []any{"ALL"}},
					"seccompProfile": map[string]any{"type": "RuntimeDefault"},
				},
			},
			// The dashboard and datasource sidecars (both on in
			// kube-prometheus-stack) share sidecar.securityContext.
			grafanaSidecar("grafana-sc-dashboard"),
			grafanaSidecar("grafana-sc-datasources"),
		},
	},
	{
		Component: "kube-state-metrics", Source: "github.com/prometheus-community/helm-charts charts/kube-state-metrics/values.yaml, tag kube-state-metrics-8.4.0",
		NamespaceOverride: "kube-state-metrics.namespaceOverride",
		// The chart's securityContext also has enabled: true, which its
		// template strips; the values here are what it renders.
		SecurityContext: map[string]any{
			"runAsGroup": int64(65534), "runAsUser": int64(65534), "fsGroup": int64(65534), "runAsNonRoot": true,
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		},
		Containers: []Container{{
			Name: "kube-state-metrics", SecurityContext: dropAll(),
			SecurityContextValues: "kube-state-metrics.containerSecurityContext",
		}},
	},
	{
		// hostNetwork and hostPID to read the node's network and process
		// statistics, and the host's /proc, /sys and / read-only
		// (hostRootFsMount.enabled): only the privileged Pod Security
		// level admits them.
		Component: "node-exporter", Source: "github.com/prometheus-community/helm-charts charts/prometheus-node-exporter/values.yaml and templates/daemonset.yaml, tag prometheus-node-exporter-4.56.1",
		NamespaceOverride: "prometheus-node-exporter.namespaceOverride",
		SecurityContext: map[string]any{
			"fsGroup": int64(65534), "runAsGroup": int64(65534), "runAsNonRoot": true, "runAsUser": int64(65534),
		},
		SecurityContextValues: "prometheus-node-exporter.securityContext",
		HostNetwork:           true,
		HostPID:               true,
		HostPaths:             []string{"/proc", "/sys", "/"},
		Containers: []Container{{
			Name: "node-exporter", SecurityContext: map[string]any{"readOnlyRootFilesystem": true},
			SecurityContextValues: "prometheus-node-exporter.containerSecurityContext",
		}},
	},
}

func admissionJob(component, containerValues string) Pod {
	return Pod{
		Component: component, Source: kubePrometheusStackSource + " (prometheusOperator.admissionWebhooks)",
		NamespaceOverride: "namespaceOverride",
		SecurityContext: map[string]any{
			"runAsGroup": int64(2000), "runAsNonRoot": true, "runAsUser": int64(2000),
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		},
		SecurityContextValues: "prometheusOperator.admissionWebhooks.patch.securityContext",
		Containers: []Container{{
			Name: component, SecurityContext: dropAll(),
			SecurityContextValues: "prometheusOperator.admissionWebhooks." + containerValues + ".securityContext",
		}},
	}
}

func grafanaSidecar(name string) Container {
	return Container{
		Name: name, SecurityContextValues: "grafana.sidecar.securityContext",
		SecurityContext: map[string]any{
			"allowPrivilegeEscalation": false,
			"capabilities":             map[string]any{"drop": []any{"ALL"}},
			"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
		},
	}
}
