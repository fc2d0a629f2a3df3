package kubeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/observability/chartdefaults"
	"github.com/llm-platform/llm-platform/versions"
)

// unrenderedChartPods are the pods of charts this check cannot render
// (chartsNotInModules), as package chartdefaults records them from the
// charts' sources.
var unrenderedChartPods = map[string][]chartdefaults.Pod{
	versions.DCGMExporterRepo + "/dcgm-exporter":     chartdefaults.DCGMExporter,
	versions.KubePrometheusStackChart:                chartdefaults.KubePrometheusStack,
	versions.OpenWebUIRepo + versions.OpenWebUIChart: chartdefaults.OpenWebUI,
}

// chartDefaultPods builds, for every release of a golden stack whose chart
// cannot be rendered, a bare Pod per recorded pod: the chart's defaults
// with the release's golden values coalesced over them as Helm does, in
// the namespace the chart would put it in.
func chartDefaultPods(s stackRender) []target {
	var out []target
	for _, file := range slices.Sorted(maps.Keys(s.releases)) {
		spec := s.releases[file]
		for _, p := range unrenderedChartPods[spec.key()] {
			ns := p.Namespace(spec.Namespace, spec.Values)
			pod := map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": p.Component + "-chart-defaults", "namespace": ns},
				"spec":     p.Spec(spec.Values),
			}
			out = append(out, target{
				file:  file,
				via:   spec.label() + " as recorded in observability/chartdefaults from " + p.Source,
				obj:   pod,
				podOf: fmt.Sprintf("%s chart defaults + golden values: %s", path.Base(spec.Chart), p.Component),
			})
		}
	}
	return out
}

// TestUnrenderedChartPodsOnRealAPIServer covers what `helm template`
// cannot: the pods of the dcgm-exporter (and kube-prometheus-stack)
// charts, built from the chart defaults package chartdefaults cites and
// the golden release values, are dry-run applied in their namespaces with
// the golden Pod Security labels. Issue 14, defect 1: Helm merged
// privileged: true into the dcgm-exporter chart's allowPrivilegeEscalation:
// false, which kube-apiserver refuses.
func TestUnrenderedChartPodsOnRealAPIServer(t *testing.T) {
	c := getCluster(t)
	total := 0
	for _, stack := range stacks(t) {
		t.Run(stack, func(t *testing.T) {
			s := loadStack(t, stack)
			pods := chartDefaultPods(s)
			if len(pods) == 0 {
				t.Logf("%s: no release of a chart recorded in chartdefaults", stack)
				return
			}
			total += len(pods)
			declared, err := c.prepare(t, s, slices.Concat(s.objects, pods))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range c.run(pods) {
				for _, w := range o.warnings {
					t.Logf("%s: %s: warning: %s", o.target.where(), o.target.object(), w)
				}
				if o.err != nil {
					t.Errorf("%s: %s rejected by kube-apiserver %s:\n    %v", o.target.where(), o.target.object(), c.version, o.err)
					continue
				}
				ns := o.target.obj["metadata"].(map[string]any)["namespace"]
				t.Logf("%s: %s accepted in namespace %v", o.target.file, o.target.object(), ns)
			}
			checkStrictestLevel(t, c, declared, slices.Concat(pods, withPods(s.objects)), pods)
		})
	}
	if total == 0 {
		t.Error("no golden stack installs a chart recorded in chartdefaults: the check checked nothing")
	}
}

// checkStrictestLevel: every namespace the chart pods run in (the
// observability namespaces) enforces exactly the strictest Pod Security
// level all its pods pass, golden and chart pods alike: nothing weaker
// (issue 14, defect 4: monitoring enforced nothing) and nothing its pods
// fail.
func checkStrictestLevel(t *testing.T, c *cluster, declared map[string]map[string]string, all, chartPods []target) {
	t.Helper()
	namespaces := map[string]bool{}
	for _, p := range chartPods {
		namespaces[(&unstructured.Unstructured{Object: p.obj}).GetNamespace()] = true
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		var pods []target
		for _, tg := range all {
			if tg.podOf != "" && (&unstructured.Unstructured{Object: tg.obj}).GetNamespace() == ns {
				pods = append(pods, tg)
			}
		}
		n := len(pods)
		strictest, why := c.strictestOf(t, pods)
		got := declared[ns]["pod-security.kubernetes.io/enforce"]
		if got != strictest {
			t.Errorf("namespace %s enforces Pod Security %q, but the strictest level its %d Pods all pass is %q (%s): enforce that", ns, got, n, strictest, strings.Join(why, "; "))
			continue
		}
		t.Logf("namespace %s enforces %q, the strictest level its %d Pods pass (%s)", ns, got, n, strings.Join(why, "; "))
	}
}

// TestCoalesceMatchesHelm holds chartdefaults.Coalesce to Helm's own
// merge: a stub chart whose values.yaml holds every recorded default at
// its values path is rendered by the helm binary with each golden release's
// values, and the merged values it prints must equal Coalesce's.
func TestCoalesceMatchesHelm(t *testing.T) {
	helm, err := binary("helm")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	checked := 0
	for _, stack := range stacks(t) {
		s := loadStack(t, stack)
		for _, file := range slices.Sorted(maps.Keys(s.releases)) {
			spec := s.releases[file]
			pods := unrenderedChartPods[spec.key()]
			if len(pods) == 0 {
				continue
			}
			defaults := map[string]map[string]any{} // values path -> chart default
			for _, p := range pods {
				if p.SecurityContextValues != "" {
					defaults[p.SecurityContextValues] = p.SecurityContext
				}
				for _, ct := range p.Containers {
					if ct.SecurityContextValues != "" {
						defaults[ct.SecurityContextValues] = ct.SecurityContext
					}
				}
			}
			got := helmMergedValues(t, helm, defaults, spec.Values)
			for _, path := range slices.Sorted(maps.Keys(defaults)) {
				want := defaults[path]
				if v, ok := chartdefaults.Lookup(spec.Values, path).(map[string]any); ok {
					want = chartdefaults.Coalesce(defaults[path], v)
				}
				helmSays, _ := chartdefaults.Lookup(got, path).(map[string]any)
				if !reflect.DeepEqual(normalize(t, want), normalize(t, helmSays)) {
					t.Errorf("%s: %s: Coalesce gives %v, helm %v", file, path, want, helmSays)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Error("no values path compared")
	}
}

// helmMergedValues renders a stub chart with the defaults at their values
// paths and returns .Values as Helm merged them with values.
func helmMergedValues(t *testing.T, helm string, defaults map[string]map[string]any, values map[string]any) map[string]any {
	t.Helper()
	dir := t.TempDir()
	chartValues := map[string]any{}
	for path, def := range defaults {
		setPath(chartValues, path, chartdefaults.DeepCopy(def))
	}
	files := map[string]any{
		"Chart.yaml":           map[string]any{"apiVersion": "v2", "name": "stub", "version": "0.1.0"},
		"values.yaml":          chartValues,
		"release-values.yaml":  values,
		"templates/merged.yml": nil,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var b []byte
		if content == nil {
			b = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: merged\ndata:\n  values: {{ toJson .Values | quote }}\n")
		} else {
			var err error
			if b, err = yaml.Marshal(content); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(helm, "template", "stub", dir, "--values", filepath.Join(dir, "release-values.yaml"))
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(dir, "cache"), "HELM_CONFIG_HOME="+filepath.Join(dir, "config"),
		"HELM_DATA_HOME="+filepath.Join(dir, "data"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	var cm struct {
		Data struct {
			Values string `json:"values"`
		} `json:"data"`
	}
	if err := yaml.Unmarshal(out, &cm); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var merged map[string]any
	if err := json.Unmarshal([]byte(cm.Data.Values), &merged); err != nil {
		t.Fatal(err)
	}
	return merged
}

func setPath(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// normalize gives Go values and decoded JSON one shape (int64 vs float64).
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
