package kubeapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/versions"
)

// platformPoolName is the Karpenter NodePool every platform service runs
// on (package platformpool, PoolName): its pods must select the labels it
// gives its nodes, since the system nodes are tainted.
const platformPoolName = "platform"

// chartsOffPlatform are the charts in Go modules whose pods do not run on
// the platform pool, by design.
var chartsOffPlatform = map[string]string{
	versions.KarpenterChart: "Karpenter runs on the system node group: it launches the platform pool's nodes",
}

// TestChartPodsPlacedAndSized renders every chart chartsInModules knows
// with its golden release's values, as the golden check does, and checks
// each Deployment, StatefulSet and Job in it: the pod selects the platform
// pool's node labels, and every container and init container requests CPU
// and memory and has a memory limit. DaemonSets are left out (per-node by
// design); tests/placement_test.go in the root module checks the charts
// that cannot be rendered, by their values.
func TestChartPodsPlacedAndSized(t *testing.T) {
	c := getCluster(t)
	checked := 0
	for _, stack := range stacks(t) {
		s := loadStack(t, stack)
		var platform map[string]string
		for _, tg := range s.objects {
			u := unstructured.Unstructured{Object: tg.obj}
			if u.GetKind() == "NodePool" && u.GetName() == platformPoolName {
				platform, _, _ = unstructured.NestedStringMap(tg.obj, "spec", "template", "metadata", "labels")
			}
		}
		for _, file := range slices.Sorted(maps.Keys(s.releases)) {
			spec := s.releases[file]
			if _, ok := chartsInModules[spec.key()]; !ok {
				continue
			}
			if why, ok := chartsOffPlatform[spec.key()]; ok {
				t.Logf("%s: %s not checked: %s", file, spec.label(), why)
				continue
			}
			docs, err := c.render(spec)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, d := range docs {
				u := unstructured.Unstructured{Object: d.obj}
				where := fmt.Sprintf("%s (%s, %s): %s %s", file, spec.label(), d.template, u.GetKind(), u.GetName())
				gvk := u.GroupVersionKind().String()
				switch gvk {
				case "apps/v1, Kind=DaemonSet":
					t.Logf("%s: a DaemonSet, not checked", where)
					continue
				case "apps/v1, Kind=Deployment", "apps/v1, Kind=StatefulSet", "batch/v1, Kind=Job":
				default:
					if _, ok := podTemplatePath[gvk]; ok || gvk == "/v1, Kind=Pod" {
						t.Errorf("%s: this check does not cover %s yet", where, gvk)
					}
					continue
				}
				checked++
				if platform == nil {
					t.Errorf("%s: golden %s declares no NodePool %q to place it on", where, stack, platformPoolName)
					continue
				}
				sel, _, _ := unstructured.NestedStringMap(d.obj, "spec", "template", "spec", "nodeSelector")
				if len(sel) == 0 || !isSubset(sel, platform) {
					t.Errorf("%s: nodeSelector %v selects no platform node (labels %v)", where, sel, platform)
				}
				for _, list := range []string{"initContainers", "containers"} {
					containers, _, _ := unstructured.NestedSlice(d.obj, "spec", "template", "spec", list)
					for _, ct := range containers {
						cm, _ := ct.(map[string]any)
						if err := sized(cm["resources"]); err != nil {
							t.Errorf("%s: %s %v: %v", where, list, cm["name"], err)
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no chart workload was checked")
	}
	t.Logf("%d chart workloads checked", checked)
}

// TestEnvoyProxyPatchSizesShutdownManager applies each golden EnvoyProxy's
// envoyDeployment.patch the way Envoy Gateway v1.8.3 does to the Envoy
// Deployment it builds (internal/utils/merge.go, MergeWithPatch: a
// strategic merge patch against appsv1.Deployment; internal/
// infrastructure/kubernetes/proxy/resource.go names the containers "envoy"
// and "shutdown-manager" and gives the latter
// DefaultShutdownManagerContainerResourceRequirements): the
// shutdown-manager gets requests and a memory limit, and the envoy
// container keeps its own resources. The EnvoyProxy decodes strictly into
// Envoy Gateway's type first, so a misspelt key fails here.
func TestEnvoyProxyPatchSizesShutdownManager(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*", "kubernetes", "envoyproxy-*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no EnvoyProxy in the goldens (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ep egv1a1.EnvoyProxy
		if err := yaml.UnmarshalStrict(b, &ep); err != nil {
			t.Errorf("%s: does not decode strictly into Envoy Gateway v1.8.3's EnvoyProxy: %v", f, err)
			continue
		}
		var d *egv1a1.KubernetesDeploymentSpec
		if p := ep.Spec.Provider; p != nil && p.Kubernetes != nil {
			d = p.Kubernetes.EnvoyDeployment
		}
		if d == nil || d.Patch == nil || d.Container == nil || d.Container.Resources == nil {
			t.Errorf("%s: envoyDeployment has no container resources or no patch", f)
			continue
		}
		envoy := corev1.Container{Name: "envoy", Resources: *d.Container.Resources}
		original := appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{envoy, {Name: "shutdown-manager", Resources: *egv1a1.DefaultShutdownManagerContainerResourceRequirements()}},
		}}}}
		raw, err := json.Marshal(original)
		if err != nil {
			t.Fatal(err)
		}
		patched, err := strategicpatch.StrategicMergePatch(raw, d.Patch.Value.Raw, &appsv1.Deployment{})
		if err != nil {
			t.Errorf("%s: envoyDeployment.patch does not apply: %v", f, err)
			continue
		}
		var got appsv1.Deployment
		if err := json.Unmarshal(patched, &got); err != nil {
			t.Fatal(err)
		}
		containers := got.Spec.Template.Spec.Containers
		if len(containers) != 2 {
			t.Errorf("%s: the patch leaves %d containers, want envoy and shutdown-manager", f, len(containers))
			continue
		}
		for _, ct := range containers {
			var v map[string]any
			b, _ := json.Marshal(ct.Resources)
			_ = json.Unmarshal(b, &v)
			if err := sized(v); err != nil {
				t.Errorf("%s: after the patch, container %s: %v", f, ct.Name, err)
			}
			if ct.Name == "envoy" && !equalResources(ct.Resources, envoy.Resources) {
				t.Errorf("%s: the patch changes the envoy container's resources to %v", f, ct.Resources)
			}
		}
	}
}

// sized: CPU and memory requests and a memory limit.
func sized(v any) error {
	r, _ := v.(map[string]any)
	for _, p := range [][]string{{"requests", "cpu"}, {"requests", "memory"}, {"limits", "memory"}} {
		if s, _, _ := unstructured.NestedFieldNoCopy(r, p...); s == nil || s == "" {
			return fmt.Errorf("no %s.%s (resources %v)", p[0], p[1], v)
		}
	}
	return nil
}

func equalResources(a, b corev1.ResourceRequirements) bool {
	eq := func(x, y corev1.ResourceList) bool {
		return maps.EqualFunc(x, y, func(p, q resource.Quantity) bool { return p.Cmp(q) == 0 })
	}
	return eq(a.Requests, b.Requests) && eq(a.Limits, b.Limits)
}

// isSubset: every label of sel is among labels.
func isSubset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
