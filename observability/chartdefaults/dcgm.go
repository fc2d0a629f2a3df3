package chartdefaults

// DCGMExporter is the one pod of the NVIDIA dcgm-exporter chart (its
// DaemonSet), read from github.com/NVIDIA/dcgm-exporter, deployment/, at
// tag 4.5.3-4.8.2 (chart 4.8.2): values.yaml (securityContext,
// podSecurityContext: {}, hostPID: false, hostNetwork: false, kubeletPath)
// and templates/daemonset.yaml (one container "exporter" whose
// securityContext is toYaml .Values.securityContext; a hostPath volume
// "pod-gpu-resources" at .Values.kubeletPath, always mounted). The
// container securityContext below is the same at tags 4.4.2-4.7.0 (chart
// 4.7.0, where allowPrivilegeEscalation: false and capabilities.drop: [ALL]
// first appear), 4.4.2-4.7.1, 4.5.1-4.8.0, 4.5.2-4.8.1 and on main after
// 4.8.2 (d5e5f51, "Rename Hostname label to hostname"). The pinned chart,
// versions.DCGMExporterVersion, is newer than the newest tag in the copy
// of the repository these were read from (May 2026): re-read it when the
// repository has the pinned tag.
var DCGMExporter = []Pod{{
	Component: "dcgm-exporter",
	Source:    "github.com/NVIDIA/dcgm-exporter deployment/values.yaml and templates/daemonset.yaml, tag 4.5.3-4.8.2",
	// namespaceOverride: "" (the release namespace).
	NamespaceOverride: "namespaceOverride",
	// podSecurityContext: {}.
	SecurityContext:       nil,
	SecurityContextValues: "podSecurityContext",
	HostPaths:             []string{"/var/lib/kubelet/pod-resources"},
	Containers: []Container{{
		Name: "exporter",
		SecurityContext: map[string]any{
			"runAsNonRoot": false,
			"runAsUser":    int64(0),
			"capabilities": map[string]any{
				"add":  []any{"SYS_ADMIN"}, // "Required for profiling metrics (DCGM_FI_PROF_*)"
				"drop": []any{"ALL"},
			},
			"allowPrivilegeEscalation": false,
		},
		SecurityContextValues: "securityContext",
	}},
}}
