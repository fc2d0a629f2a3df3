package tests

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-platform/llm-platform/gateway"
	"github.com/llm-platform/llm-platform/observability/chartdefaults"
	"github.com/llm-platform/llm-platform/platformpool"
	"github.com/llm-platform/llm-platform/sizing"
	"github.com/llm-platform/llm-platform/versions"
)

// Every pod the platform runs must (a) select the nodes it belongs on, the
// Karpenter platform pool for every platform service, and (b) request CPU
// and memory and have a memory limit: the system nodes are tainted
// CriticalAddonsOnly, so a pod without the platform nodeSelector stays
// Pending, and Karpenter sizes the platform nodes from the requests.
//
// TestPlacementAndResources checks it on what this module can see, the
// goldens (which TestGoldenRenders proves are the program's output):
//   - the pod templates of every golden Deployment, Job, StatefulSet and
//     DaemonSet, every container and init container;
//   - the pods Envoy Gateway and the AI Gateway build from the EnvoyProxy
//     and GatewayConfig objects;
//   - for the charts tests/crd/kubeapi cannot render (KEDA,
//     kube-prometheus-stack, dcgm-exporter), and for the Envoy Gateway
//     rate-limit Deployment, which its controller builds from values inside
//     the chart's configuration, the values paths chartWorkloads lists.
//
// The charts tests/crd/kubeapi renders from Go modules (Envoy Gateway, AI
// Gateway) are checked on their rendered pods there
// (TestChartPodsPlacedAndSized). A release of any other chart fails here
// until it is classified below.

// placement is where a workload must run.
type placement int

const (
	// onPlatform: the platform pool's nodeSelector.
	onPlatform placement = iota
	// onGPU: a GPU pool's labels (the model servers, the GPU exporter).
	onGPU
	// everyNode: a DaemonSet meant for every node, so no pool selector.
	everyNode
)

// valuesWorkload is one container a chart renders, with the values paths
// (dotted) that place and size it.
type valuesWorkload struct {
	workload, container string
	// nodeSelector are the paths the chart's template reads the pod's
	// nodeSelector from, first non-empty one wins (`a | default b`).
	nodeSelector []string
	placement    placement
	resources    string
	// size is what package sizing says; nil checks presence only.
	size *sizing.Resources
	// when, if set, is a values path that must be set for the chart (or
	// its controller) to create the workload.
	when string
}

// kpsSource is where the kube-prometheus-stack paths below were read (the
// pinned 88.6.5 is not in the snapshot read; chartdefaults says why the
// difference does not matter).
const kpsSource = "prometheus-community/helm-charts, tag kube-prometheus-stack-88.5.3: charts/kube-prometheus-stack/values.yaml and templates; grafana-12.11.1, kube-state-metrics-8.4.0, prometheus-node-exporter-4.56.1"

// chartWorkloads lists, per chart this module checks by values, every
// container its release renders or makes a controller create.
var chartWorkloads = map[string]struct {
	source    string
	workloads []valuesWorkload
	// off are values paths that must not be true: each would add pods
	// chartWorkloads does not list (value "true" means the chart's default
	// is on, so the release must say false).
	off map[string]bool
}{
	versions.KEDARepo + "/keda": {
		source: "kedacore/charts, tag v2.20.2: keda/templates/{manager,metrics-server,webhooks}/deployment.yaml (nodeSelector `<component>.nodeSelector | default .Values.nodeSelector`; resources.<component>), values.yaml",
		workloads: []valuesWorkload{
			{workload: "keda-operator", container: "keda-operator", nodeSelector: []string{"operator.nodeSelector", "nodeSelector"}, resources: "resources.operator", size: &sizing.KEDAOperator},
			{workload: "keda-operator-metrics-apiserver", container: "keda-operator-metrics-apiserver", nodeSelector: []string{"metricsServer.nodeSelector", "nodeSelector"}, resources: "resources.metricServer", size: &sizing.KEDAMetricsServer},
			{workload: "keda-admission-webhooks", container: "keda-admission-webhooks", nodeSelector: []string{"webhooks.nodeSelector", "nodeSelector"}, resources: "resources.webhooks", size: &sizing.KEDAWebhooks},
		},
	},
	strings.TrimSuffix(versions.OpenWebUIRepo, "/") + "/" + versions.OpenWebUIChart: {
		source: "open-webui/helm-charts, tag open-webui-16.0.0: charts/open-webui/templates/workload-manager.yaml (nodeSelector through tpl; resources; copyAppData.resources on the copy-app-data init container), values.yaml",
		workloads: []valuesWorkload{
			{workload: "open-webui", container: "open-webui", nodeSelector: []string{"nodeSelector"}, resources: "resources", size: &sizing.OpenWebUI},
			{workload: "open-webui", container: "copy-app-data", nodeSelector: []string{"nodeSelector"}, resources: "copyAppData.resources", size: &sizing.OpenWebUICopy},
		},
	},
	versions.KubePrometheusStackChart: {
		source: kpsSource,
		workloads: []valuesWorkload{
			{workload: "prometheus", container: "prometheus", nodeSelector: []string{"prometheus.prometheusSpec.nodeSelector"}, resources: "prometheus.prometheusSpec.resources", size: &sizing.Prometheus},
			{workload: "prometheus", container: "config-reloader", nodeSelector: []string{"prometheus.prometheusSpec.nodeSelector"}, resources: "prometheusOperator.prometheusConfigReloader.resources", size: &sizing.ConfigReloader},
			{workload: "prometheus", container: "init-config-reloader", nodeSelector: []string{"prometheus.prometheusSpec.nodeSelector"}, resources: "prometheusOperator.prometheusConfigReloader.resources", size: &sizing.ConfigReloader},
			{workload: "alertmanager", container: "alertmanager", nodeSelector: []string{"alertmanager.alertmanagerSpec.nodeSelector"}, resources: "alertmanager.alertmanagerSpec.resources", size: &sizing.Alertmanager},
			{workload: "alertmanager", container: "config-reloader", nodeSelector: []string{"alertmanager.alertmanagerSpec.nodeSelector"}, resources: "prometheusOperator.prometheusConfigReloader.resources", size: &sizing.ConfigReloader},
			{workload: "alertmanager", container: "init-config-reloader", nodeSelector: []string{"alertmanager.alertmanagerSpec.nodeSelector"}, resources: "prometheusOperator.prometheusConfigReloader.resources", size: &sizing.ConfigReloader},
			{workload: "prometheus-operator", container: "kube-prometheus-stack", nodeSelector: []string{"prometheusOperator.nodeSelector"}, resources: "prometheusOperator.resources", size: &sizing.PrometheusOperator},
			// templates/prometheus-operator/admission-webhooks/job-patch/
			// job-createSecret.yaml and job-patchWebhook.yaml: one
			// nodeSelector and resources for both hook Jobs.
			{workload: "admission-create", container: "admission-create", nodeSelector: []string{"prometheusOperator.admissionWebhooks.patch.nodeSelector"}, resources: "prometheusOperator.admissionWebhooks.patch.resources", size: &sizing.AdmissionJob},
			{workload: "admission-patch", container: "admission-patch", nodeSelector: []string{"prometheusOperator.admissionWebhooks.patch.nodeSelector"}, resources: "prometheusOperator.admissionWebhooks.patch.resources", size: &sizing.AdmissionJob},
			// grafana templates/_pod.tpl: the sidecars share
			// sidecar.resources.
			{workload: "grafana", container: "grafana", nodeSelector: []string{"grafana.nodeSelector"}, resources: "grafana.resources", size: &sizing.Grafana},
			{workload: "grafana", container: "grafana-sc-dashboard", nodeSelector: []string{"grafana.nodeSelector"}, resources: "grafana.sidecar.resources", size: &sizing.GrafanaSidecar},
			{workload: "grafana", container: "grafana-sc-datasources", nodeSelector: []string{"grafana.nodeSelector"}, resources: "grafana.sidecar.resources", size: &sizing.GrafanaSidecar},
			{workload: "kube-state-metrics", container: "kube-state-metrics", nodeSelector: []string{"kube-state-metrics.nodeSelector"}, resources: "kube-state-metrics.resources", size: &sizing.KubeStateMetrics},
			// A DaemonSet on every node, GPU and system nodes included:
			// node metrics from all of them (observability.go).
			{workload: "node-exporter", container: "node-exporter", placement: everyNode, resources: "prometheus-node-exporter.resources", size: &sizing.NodeExporter},
		},
		off: map[string]bool{
			// grafana values.yaml testFramework.enabled: true renders a
			// `helm test` Pod into the release, unsized.
			"grafana.testFramework.enabled": true,
			// Off by default; each renders pods of its own.
			"grafana.persistence.enabled":                             false, // init-chown-data
			"thanosRuler.enabled":                                     false,
			"prometheusOperator.admissionWebhooks.deployment.enabled": false,
			"crds.upgradeJob.enabled":                                 false,
			"windowsMonitoring.enabled":                               false,
		},
	},
	versions.DCGMExporterRepo + "/dcgm-exporter": {
		source: "NVIDIA/dcgm-exporter deployment/templates/daemonset.yaml (nodeSelector, container exporter: resources), tag 4.5.3-4.8.2, the newest in the snapshot read (pinned: 4.8.4)",
		workloads: []valuesWorkload{
			// GPU nodes only, and not a platform service: package sizing
			// does not size it.
			{workload: "dcgm-exporter", container: "exporter", nodeSelector: []string{"nodeSelector"}, placement: onGPU, resources: "resources"},
		},
	},
	// The chart's own pods are rendered and checked in tests/crd/kubeapi;
	// the rate-limit service is created by the controller from
	// config.envoyGateway (api/v1alpha1 EnvoyGatewayKubernetesProvider,
	// v1.8.3), only with a rate-limit backend.
	versions.EnvoyGatewayChart: {
		source: "envoyproxy/gateway v1.8.3: charts/gateway-helm/templates/envoy-gateway-config.yaml; internal/infrastructure/kubernetes/ratelimit/resource_provider.go",
		workloads: []valuesWorkload{
			{
				workload: "envoy-ratelimit", container: "envoy-ratelimit",
				nodeSelector: []string{"config.envoyGateway.provider.kubernetes.rateLimitDeployment.pod.nodeSelector"},
				resources:    "config.envoyGateway.provider.kubernetes.rateLimitDeployment.container.resources",
				size:         &sizing.RateLimit, when: "config.envoyGateway.rateLimit",
			},
		},
	},
}

// chartsElsewhere are the other charts the goldens install, and why this
// test reads no values of theirs.
var chartsElsewhere = map[string]string{
	versions.AIGatewayChart:        "rendered and checked in tests/crd/kubeapi (TestChartPodsPlacedAndSized)",
	versions.EnvoyGatewayCRDsChart: "CRDs only, no pods",
	versions.AIGatewayCRDsChart:    "CRDs only, no pods",
	versions.KarpenterCRDChart:     "CRDs only, no pods",
	versions.KarpenterChart:        "runs on the system node group by design: it launches the platform pool's nodes",
}

// The model servers run on their GPU pool.
const modelComponentLabel, modelComponent = "llm-platform/component", "vllm"

func TestPlacementAndResources(t *testing.T) {
	t.Parallel()
	platform := platformpool.NodeSelector()
	for name := range stacks {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs := goldenObjects(t, name)
			pools := nodePoolLabels(objs)
			if len(pools) > 0 && !isSubset(platform, pools[platformpool.PoolName]) {
				t.Fatalf("platformpool.NodeSelector() %v is not among the platform NodePool's labels %v", platform, pools[platformpool.PoolName])
			}
			gpuPool := func(sel map[string]any) bool {
				for name, labels := range pools {
					if name != platformpool.PoolName && len(sel) > 0 && isSubset(stringMap(sel), labels) {
						return true
					}
				}
				return false
			}
			workloads := 0
			for _, o := range objs {
				file, obj := o.file, o.obj
				switch kind(obj) {
				case "apps/v1 Deployment", "apps/v1 StatefulSet", "apps/v1 DaemonSet", "batch/v1 Job":
					workloads++
					tmpl := mapAt(obj, "spec", "template")
					sel := mapAt(tmpl, "spec", "nodeSelector")
					switch {
					case stringAt(mapAt(tmpl, "metadata", "labels"), modelComponentLabel) == modelComponent:
						if !gpuPool(sel) {
							t.Errorf("%s: model server nodeSelector %v selects no GPU NodePool of the stack", file, sel)
						}
					case !equalSelector(sel, podSelector(mapAt(tmpl, "spec"))):
						t.Errorf("%s: pod nodeSelector %v, want the platform pool's %v", file, sel, podSelector(mapAt(tmpl, "spec")))
					}
					spec := mapAt(tmpl, "spec")
					for _, list := range []string{"initContainers", "containers"} {
						for _, c := range listAt(spec, list) {
							cm, _ := c.(map[string]any)
							if err := checkResources(cm["resources"], nil); err != nil {
								t.Errorf("%s: %s %s: %v", file, list, cm["name"], err)
							}
						}
					}
				case "v1 Pod", "batch/v1 CronJob", "apps/v1 ReplicaSet":
					t.Errorf("%s: %s: no check covers this kind yet", file, kind(obj))
				case "gateway.envoyproxy.io/v1alpha1 EnvoyProxy":
					workloads++
					checkEnvoyProxy(t, file, obj, platform)
				case "gateway.networking.k8s.io/v1 Gateway":
					checkGatewayConfig(t, file, obj, objs)
				}
			}

			for _, o := range objs {
				spec, ok := o.obj["helmRelease"].(map[string]any)
				if !ok {
					spec, ok = o.obj["helmChart"].(map[string]any)
				}
				if !ok {
					continue
				}
				key, _ := spec["chart"].(string)
				if repo := stringAt(mapAt(spec, "repositoryOpts"), "repo"); repo != "" {
					key = strings.TrimSuffix(repo, "/") + "/" + key
				}
				values := mapAt(spec, "values")
				chart, ok := chartWorkloads[key]
				if !ok {
					if _, ok := chartsElsewhere[key]; !ok {
						t.Errorf("%s: chart %s is neither in chartWorkloads (its values paths) nor in chartsElsewhere: say where its pods are checked", o.file, key)
					}
					continue
				}
				for _, w := range chart.workloads {
					if w.when != "" && chartdefaults.Lookup(values, w.when) == nil {
						continue
					}
					workloads++
					where := fmt.Sprintf("%s: %s container %s (%s)", o.file, w.workload, w.container, chart.source)
					var sel map[string]any
					for _, p := range w.nodeSelector {
						if m, _ := chartdefaults.Lookup(values, p).(map[string]any); len(m) > 0 {
							sel = m
							break
						}
					}
					switch w.placement {
					case onPlatform:
						if !equalSelector(sel, platform) {
							t.Errorf("%s: nodeSelector (%s) is %v, want the platform pool's %v", where, strings.Join(w.nodeSelector, " | default "), sel, platform)
						}
					case onGPU:
						if !gpuPool(sel) {
							t.Errorf("%s: nodeSelector (%s) %v selects no GPU NodePool of the stack", where, strings.Join(w.nodeSelector, " | default "), sel)
						}
					}
					if err := checkResources(chartdefaults.Lookup(values, w.resources), w.size); err != nil {
						t.Errorf("%s: %s: %v", where, w.resources, err)
					}
				}
				for _, p := range slices.Sorted(maps.Keys(chart.off)) {
					v := chartdefaults.Lookup(values, p)
					if chart.off[p] && v != false || !chart.off[p] && v == true {
						t.Errorf("%s: %s is %v: it would render pods chartWorkloads does not list (%s)", o.file, p, v, chart.source)
					}
				}
			}
			t.Logf("%s: %d workloads checked", name, workloads)
		})
	}
}

// The kube-prometheus-stack rows cover every pod and container
// chartdefaults records for the chart (which the real API server check
// dry-runs): a pod added there needs its values paths here.
func TestKubePrometheusStackWorkloadsListed(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, w := range chartWorkloads[versions.KubePrometheusStackChart].workloads {
		listed[w.workload+"/"+w.container] = true
	}
	seen := map[string]bool{}
	for _, p := range chartdefaults.KubePrometheusStack {
		for _, c := range p.Containers {
			k := p.Component + "/" + c.Name
			seen[k] = true
			if !listed[k] {
				t.Errorf("chartdefaults.KubePrometheusStack has %s, which chartWorkloads does not place and size", k)
			}
		}
	}
	for k := range listed {
		if !seen[k] {
			t.Errorf("chartWorkloads lists %s, which chartdefaults.KubePrometheusStack does not", k)
		}
	}
}

// checkEnvoyProxy: the Envoy pods Envoy Gateway builds from the EnvoyProxy
// (proxy/resource_provider.go, v1.8.3) are placed by envoyDeployment.pod,
// the envoy container sized by envoyDeployment.container, and the
// shutdown-manager only by envoyDeployment.patch.
func checkEnvoyProxy(t *testing.T, file string, obj map[string]any, platform map[string]string) {
	t.Helper()
	d := mapAt(obj, "spec", "provider", "kubernetes", "envoyDeployment")
	if sel := mapAt(d, "pod", "nodeSelector"); !equalSelector(sel, platform) {
		t.Errorf("%s: envoyDeployment.pod.nodeSelector %v, want %v", file, sel, platform)
	}
	if err := checkResources(mapAt(d, "container", "resources"), &sizing.Envoy); err != nil {
		t.Errorf("%s: envoyDeployment.container.resources: %v", file, err)
	}
	if typ := stringAt(mapAt(d, "patch"), "type"); typ != "StrategicMerge" {
		t.Errorf("%s: envoyDeployment.patch.type %q, want StrategicMerge (containers merge by name)", file, typ)
	}
	var found bool
	for _, c := range listAt(mapAt(d, "patch", "value", "spec", "template", "spec"), "containers") {
		cm, _ := c.(map[string]any)
		if cm["name"] != gateway.ShutdownManagerContainer {
			continue
		}
		found = true
		if err := checkResources(cm["resources"], &sizing.ShutdownManager); err != nil {
			t.Errorf("%s: envoyDeployment.patch: %s resources: %v", file, gateway.ShutdownManagerContainer, err)
		}
	}
	if !found {
		t.Errorf("%s: envoyDeployment.patch does not size the %s container", file, gateway.ShutdownManagerContainer)
	}
}

// checkGatewayConfig: the AI Gateway's sidecar in the Envoy pods is sized
// only by the GatewayConfig the Gateway names, in the Gateway's namespace
// (gateway/gatewayconfig.go).
func checkGatewayConfig(t *testing.T, file string, gw map[string]any, objs []goldenObject) {
	t.Helper()
	name := stringAt(mapAt(gw, "metadata", "annotations"), gateway.GatewayConfigAnnotationKey)
	if name == "" {
		t.Errorf("%s: the Gateway has no %s annotation: the AI Gateway's sidecar would run unsized", file, gateway.GatewayConfigAnnotationKey)
		return
	}
	ns := stringAt(mapAt(gw, "metadata"), "namespace")
	for _, o := range objs {
		md := mapAt(o.obj, "metadata")
		if kind(o.obj) != "aigateway.envoyproxy.io/v1beta1 GatewayConfig" || stringAt(md, "name") != name || stringAt(md, "namespace") != ns {
			continue
		}
		if err := checkResources(mapAt(o.obj, "spec", "extProc", "kubernetes", "resources"), &sizing.ExtProc); err != nil {
			t.Errorf("%s: spec.extProc.kubernetes.resources: %v", o.file, err)
		}
		return
	}
	t.Errorf("%s: the Gateway names GatewayConfig %s/%s, which the stack does not declare", file, ns, name)
}

// checkResources: CPU and memory requests and a memory limit, equal to
// want's when given.
func checkResources(v any, want *sizing.Resources) error {
	r, _ := v.(map[string]any)
	got := map[string]string{
		"requests.cpu":    fmt.Sprint(mapAt(r, "requests")["cpu"]),
		"requests.memory": fmt.Sprint(mapAt(r, "requests")["memory"]),
		"limits.memory":   fmt.Sprint(mapAt(r, "limits")["memory"]),
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if got[k] == "<nil>" || got[k] == "" {
			return fmt.Errorf("no %s (resources %v)", k, v)
		}
	}
	if want == nil {
		return nil
	}
	w := want.Values()
	exp := map[string]string{
		"requests.cpu":    fmt.Sprint(mapAt(w, "requests")["cpu"]),
		"requests.memory": fmt.Sprint(mapAt(w, "requests")["memory"]),
		"limits.memory":   fmt.Sprint(mapAt(w, "limits")["memory"]),
	}
	if !maps.Equal(got, exp) {
		return fmt.Errorf("resources %v, want package sizing's %v", got, exp)
	}
	return nil
}

type goldenObject struct {
	file string
	obj  map[string]any
}

func goldenObjects(t *testing.T, stack string) []goldenObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", stack, "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens for %s (%v)", stack, err)
	}
	var out []goldenObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(b, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, goldenObject{file: filepath.Join(stack, filepath.Base(f)), obj: obj})
	}
	return out
}

// nodePoolLabels are the labels each Karpenter NodePool gives its nodes.
func nodePoolLabels(objs []goldenObject) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, o := range objs {
		if kind(o.obj) == "karpenter.sh/v1 NodePool" {
			out[stringAt(mapAt(o.obj, "metadata"), "name")] = stringMap(mapAt(o.obj, "spec", "template", "metadata", "labels"))
		}
	}
	return out
}

func kind(obj map[string]any) string {
	return fmt.Sprintf("%v %v", obj["apiVersion"], obj["kind"])
}

func mapAt(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		m, _ = m[k].(map[string]any)
	}
	return m
}

func listAt(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func stringAt(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func stringMap(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

func equalSelector(sel map[string]any, want map[string]string) bool {
	return maps.Equal(stringMap(sel), want)
}

// isSubset: every label of sel is on nodes labelled labels.
func isSubset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// podSelector is the node selector a platform pod must have: the pool's,
// pinned to amd64 when one of its images publishes no arm64 build
// (versions.PlatformImages; an image missing from it counts as amd64 only).
func podSelector(spec map[string]any) map[string]string {
	sel := platformpool.NodeSelector()
	for _, list := range []string{"initContainers", "containers"} {
		for _, c := range listAt(spec, list) {
			cm, _ := c.(map[string]any)
			if image, _ := cm["image"].(string); !versions.PublishesARM64(image) {
				sel = platformpool.NodeSelectorFor(image)
			}
		}
	}
	return sel
}
