package inference

import (
	"crypto/sha256"
	"fmt"
	"maps"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/sizing"
	"github.com/llm-platform/llm-platform/versions"
)

// Ports of the endpoint picker (gateway-api-inference-extension v1.5.0
// config/charts/epplib/templates/_deployment.yaml, pkg/epp/server/options.go).
const (
	// ExtProcPort is the gRPC external-processing port Envoy calls.
	ExtProcPort = 9002
	// HealthPort answers the gRPC health checks (service
	// "inference-extension").
	HealthPort = 9003
	// MetricsPort serves /metrics, including the flow-control queue the
	// autoscaler reads.
	MetricsPort = 9090
)

// ConfigFile is the key of the picker's ConfigMap holding its
// EndpointPickerConfig (package eppconfig), mounted at /config.
const ConfigFile = "llm-platform.yaml"

// ConfigChecksumAnnotation on the picker's pods is the SHA-256 of its
// configuration.
const ConfigChecksumAnnotation = "llm-platform/config-sha256"

// DoNotDisruptAnnotation on a pod keeps Karpenter from disrupting its
// node voluntarily (karpenter.sh/v1, consolidation and drift).
const DoNotDisruptAnnotation = "karpenter.sh/do-not-disrupt"

// ComponentLabel marks the pickers' pods, for their PodMonitor and the
// network policies.
const (
	ComponentLabel = "llm-platform/component"
	ComponentValue = "endpoint-picker"
)

// The chart's mode label: the picker serves an InferencePool (not the
// standalone mode).
const (
	modeLabel = "inference.networking.k8s.io/igw-mode"
	modeValue = "inferencepool"
)

// Pool is one model's InferencePool and endpoint picker.
type Pool struct {
	// Model names the pool (and, with "-epp", the picker's objects).
	Model     string
	Namespace string
	// PodLabels select the model's vLLM pods.
	PodLabels map[string]string
	// Port is vLLM's port on those pods.
	Port int
	// Config is the picker's EndpointPickerConfig YAML.
	Config string
	// NodeSelector places the picker (the platform pool).
	NodeSelector map[string]string
}

// EPPName names the picker's ServiceAccount, Roles, ConfigMap, Deployment
// and Service, as the chart names them (<release>-epp).
func (p Pool) EPPName() string { return p.Model + "-epp" }

// eppLabels are the picker pods' labels: the chart's selector label
// (inferencepool: <name>-epp) and mode label, plus ours.
func (p Pool) eppLabels() map[string]any {
	return map[string]any{
		"inferencepool":              p.EPPName(),
		modeLabel:                    modeValue,
		"app.kubernetes.io/name":     p.EPPName(),
		ComponentLabel:               ComponentValue,
		"app.kubernetes.io/instance": p.Model,
		"app.kubernetes.io/part-of":  "llm-platform",
	}
}

// meta names an object and gives it the chart's common labels
// (app.kubernetes.io/name <model>-epp, app.kubernetes.io/version the
// chart's appVersion, the release tag) plus ours.
func (p Pool) meta(name string) map[string]any {
	return map[string]any{
		"name":      name,
		"namespace": p.Namespace,
		"labels": map[string]any{
			"app.kubernetes.io/name":    p.EPPName(),
			"app.kubernetes.io/version": versions.InferenceExtensionVersion,
			"app.kubernetes.io/part-of": "llm-platform",
		},
	}
}

// InferencePoolObject is the pool of the model's vLLM pods, whose endpoint
// picker is the model's picker Service.
func InferencePoolObject(p Pool) map[string]any {
	return map[string]any{
		"apiVersion": "inference.networking.k8s.io/v1",
		"kind":       "InferencePool",
		"metadata":   p.meta(p.Model),
		"spec": map[string]any{
			"targetPorts": []any{map[string]any{"number": p.Port}},
			"appProtocol": "http",
			"selector":    map[string]any{"matchLabels": manifest.Map(p.PodLabels)},
			"endpointPickerRef": map[string]any{
				"name": p.EPPName(),
				"port": map[string]any{"number": ExtProcPort},
				// What happens anyway: the AI Gateway v1.0.0 builds the
				// picker's ext_proc filter with failure_mode_allow false
				// whatever the pool says (internal/extensionserver/
				// inferencepool.go). A request the picker cannot place
				// fails rather than reaching a random, possibly absent,
				// replica. The chart's default is FailOpen.
				"failureMode": "FailClose",
			},
		},
	}
}

// EPPObjects are the picker's objects, as the upstream inferencepool chart
// (v1.5.0, config/charts/inferencepool with its epplib templates) renders
// them for release <model> in the model namespace with the values
//
//	inferencePool.modelServers.matchLabels: <PodLabels>
//	inferencePool.targetPorts: [{number: <Port>}]
//	inferenceExtension.pluginsConfigFile: <ConfigFile>
//	inferenceExtension.pluginsCustomConfig: {<ConfigFile>: <Config>}
//	inferenceExtension.flags: {v: 1}
//	inferenceExtension.monitoring.prometheus.auth.enabled: false
//
// The last one serves the metrics endpoint without authentication (the
// chart then passes --metrics-endpoint-auth=false), so the platform's
// PodMonitor can scrape it; a NetworkPolicy admits only Envoy and the
// monitoring namespace. The objects differ from the chart's in these
// fields only (the chart offers no value for the first two and the labels;
// the others are choices of ours against the chart's defaults):
//   - securityContext: the pod and container security contexts the
//     namespace's restricted Pod Security level requires (the chart sets
//     none, so its pods would be refused);
//   - nodeSelector: the platform pool (the chart offers affinity only);
//   - do-not-disrupt annotation: Karpenter never moves a picker to
//     consolidate the platform pool. The one picker holds its model's
//     queued requests, which a move would fail (it has no second replica
//     to take over, see replicas); an expired node still drains it after
//     platformpool.TerminationGracePeriod;
//   - resources: package sizing's EndpointPicker, for one pool of a few
//     replicas (the chart asks 4 CPUs and 8 GiB, sized for "high QPS", a
//     whole platform node);
//   - imagePullPolicy: IfNotPresent, not the chart's Always: the image is a
//     release tag, and a restart of the one picker (Recreate) should neither
//     wait on the registry nor fail when it cannot be reached;
//   - labels: extra ones only (app.kubernetes.io/part-of, and on the pods
//     the component label the PodMonitor and the network policies select,
//     app.kubernetes.io/name and app.kubernetes.io/instance); every object
//     carries the common labels, where the chart leaves the ConfigMap and
//     the RoleBindings without;
//   - the ConfigMap holds only <ConfigFile>: the chart also writes its
//     default-plugins.yaml, which no argument names;
//   - failureMode: the InferencePool says FailClose, not the chart's
//     default FailOpen (see InferencePoolObject);
//   - the pods' config-sha256 annotation (ConfigChecksumAnnotation): the
//     picker reads its configuration once, at start, so a changed
//     configuration must roll it.
//
// tests/crd/kubeapi renders the chart at v1.5.0 with those values and
// fails on any other difference.
func EPPObjects(p Pool) []map[string]any {
	name := p.EPPName()
	sa := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": p.meta(name)}
	role := func(suffix string, rules []any) []map[string]any {
		n := name + suffix
		return []map[string]any{
			{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": p.meta(n), "rules": rules},
			{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": p.meta(n),
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": p.Namespace}},
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": n},
			},
		}
	}
	read := []any{"get", "watch", "list"}
	out := []map[string]any{sa}
	// The pods it picks from (epplib _rbac.yaml) ...
	out = append(out, role("-sa", []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": read}})...)
	// ... and its pool and the optional objective and rewrite objects
	// (inferencepool rbac.yaml).
	out = append(out, role("-non-sa", []any{
		map[string]any{"apiGroups": []any{"inference.networking.x-k8s.io"}, "resources": []any{"inferenceobjectives", "inferencemodelrewrites"}, "verbs": read},
		map[string]any{"apiGroups": []any{"inference.networking.k8s.io"}, "resources": []any{"inferencepools"}, "verbs": read},
	})...)
	out = append(out,
		map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": p.meta(name),
			"data": map[string]any{ConfigFile: p.Config},
		},
		eppDeployment(p),
		map[string]any{
			"apiVersion": "v1", "kind": "Service", "metadata": p.meta(name),
			"spec": map[string]any{
				"type":     "ClusterIP",
				"selector": map[string]any{"inferencepool": name},
				"ports": []any{
					map[string]any{"name": "grpc-ext-proc", "protocol": "TCP", "port": ExtProcPort},
					map[string]any{"name": "http-metrics", "protocol": "TCP", "port": MetricsPort},
				},
			},
		},
	)
	return out
}

// deploymentMeta adds the chart's mode label to the Deployment's own
// labels, as the chart does.
func deploymentMeta(p Pool) map[string]any {
	m := p.meta(p.EPPName())
	m["labels"].(map[string]any)[modeLabel] = modeValue
	return m
}

func eppDeployment(p Pool) map[string]any {
	name := p.EPPName()
	labels := p.eppLabels()
	selector := map[string]any{"inferencepool": name}
	grpcProbe := func(extra map[string]any) map[string]any {
		probe := map[string]any{"grpc": map[string]any{"port": HealthPort, "service": "inference-extension"}}
		maps.Copy(probe, extra)
		return probe
	}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   deploymentMeta(p),
		"spec": map[string]any{
			// One replica, replaced with Recreate: the prefix-cache index
			// and the flow-control queues live in the picker's memory, and
			// two pickers would each hold half of both (the chart's
			// reasoning; several need its leader election).
			"replicas": 1,
			"strategy": map[string]any{"type": "Recreate"},
			"selector": map[string]any{"matchLabels": selector},
			"template": map[string]any{
				"metadata": map[string]any{
					"labels": labels,
					// The picker reads its configuration once, at start:
					// a changed configuration must roll it.
					// Karpenter does not move the picker to consolidate
					// (it holds the queued requests).
					"annotations": map[string]any{
						ConfigChecksumAnnotation: fmt.Sprintf("%x", sha256.Sum256([]byte(p.Config))),
						DoNotDisruptAnnotation:   "true",
					},
				},
				"spec": map[string]any{
					"serviceAccountName":            name,
					"terminationGracePeriodSeconds": 130,
					"nodeSelector":                  manifest.Map(p.NodeSelector),
					"securityContext": map[string]any{
						"runAsNonRoot":   true,
						"runAsUser":      65532,
						"runAsGroup":     65532,
						"seccompProfile": map[string]any{"type": "RuntimeDefault"},
					},
					"containers": []any{map[string]any{
						"name":            "epp",
						"image":           versions.EndpointPickerImage,
						"imagePullPolicy": "IfNotPresent",
						"args":            eppArgs(p),
						"ports": []any{
							map[string]any{"name": "grpc", "containerPort": ExtProcPort},
							map[string]any{"name": "grpc-health", "containerPort": HealthPort},
							map[string]any{"name": "metrics", "containerPort": MetricsPort},
						},
						"livenessProbe":  grpcProbe(map[string]any{"initialDelaySeconds": 5, "periodSeconds": 10}),
						"readinessProbe": grpcProbe(map[string]any{"periodSeconds": 2}),
						"env": []any{
							map[string]any{"name": "NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
							map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
						},
						"resources": sizing.EndpointPicker.Values(),
						"securityContext": map[string]any{
							"allowPrivilegeEscalation": false,
							"readOnlyRootFilesystem":   true,
							"capabilities":             map[string]any{"drop": []any{"ALL"}},
						},
						"volumeMounts": []any{map[string]any{"name": "plugins-config-volume", "mountPath": "/config"}},
					}},
					"volumes": []any{map[string]any{"name": "plugins-config-volume", "configMap": map[string]any{"name": name}}},
				},
			},
		},
	}
}

// eppArgs are the chart's arguments for a vLLM pool (release <model>,
// flags {v: 1}, tracing off, metrics auth off).
func eppArgs(p Pool) []any {
	return []any{
		"--pool-name", p.Model,
		"--pool-namespace", p.Namespace,
		"--pool-group", "inference.networking.k8s.io",
		"--zap-encoder", "json",
		"--config-file", "/config/" + ConfigFile,
		"--v", "1",
		"--tracing=false",
		"--metrics-endpoint-auth=false",
	}
}

// EPPNetworkPolicy admits to the picker only Envoy, on the ext_proc port,
// and the metrics scraper, on the metrics port. Its egress stays open: it
// watches the API server (whose address is the control plane's, outside
// any pod selector) and scrapes the vLLM pods, whose own policy admits it
// (package models).
func EPPNetworkPolicy(p Pool, envoyNamespace, monitoringNamespace string) map[string]any {
	from := func(ns string, port int) map[string]any {
		return map[string]any{
			"from": []any{map[string]any{"namespaceSelector": map[string]any{
				"matchLabels": map[string]any{"kubernetes.io/metadata.name": ns},
			}}},
			"ports": []any{map[string]any{"protocol": "TCP", "port": port}},
		}
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   p.meta(p.EPPName()),
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": map[string]any{"inferencepool": p.EPPName()}},
			"policyTypes": []any{"Ingress"},
			"ingress":     []any{from(envoyNamespace, ExtProcPort), from(monitoringNamespace, MetricsPort)},
		},
	}
}

// PickerPodLabels select every picker's pods (the vLLM pods' policy
// admits them).
func PickerPodLabels() map[string]string { return map[string]string{ComponentLabel: ComponentValue} }
