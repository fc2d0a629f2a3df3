package kubeapi

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/inference"
	"github.com/llm-platform/llm-platform/inference/eppconfig"
	"github.com/llm-platform/llm-platform/tests/crd"
	"github.com/llm-platform/llm-platform/versions"
)

// The Inference Extension module ships the inferencepool chart and the
// epplib library chart it depends on as file://../epplib.
const (
	inferenceModule   = "sigs.k8s.io/gateway-api-inference-extension"
	inferencePoolDir  = "config/charts/inferencepool"
	eppLibDir         = "config/charts/epplib"
	inferenceObjectsF = "../../../inference/objects.go"
)

// goldenPool is the pool the program declares for the dev stack's model:
// the golden vLLM Deployment's name, namespace, pod labels and port, the
// EPP configuration of the dev example spec, the system nodes.
func goldenPool(t *testing.T, s stackRender) inference.Pool {
	t.Helper()
	for _, tg := range s.objects {
		u := &unstructured.Unstructured{Object: tg.obj}
		if u.GetKind() != "Deployment" || u.GetLabels()["llm-platform/component"] != "vllm" {
			continue
		}
		labels, _, _ := unstructured.NestedStringMap(tg.obj, "spec", "selector", "matchLabels")
		containers, _, _ := unstructured.NestedSlice(tg.obj, "spec", "template", "spec", "containers")
		port := 0
		for _, ct := range containers {
			ports, _, _ := unstructured.NestedSlice(ct.(map[string]any), "ports")
			for _, p := range ports {
				if pm := p.(map[string]any); pm["name"] == "http" {
					port, _ = strconv.Atoi(fmt.Sprint(pm["containerPort"]))
				}
			}
		}
		if len(labels) == 0 || port == 0 {
			t.Fatalf("%s: the vLLM Deployment has no selector labels or no http port", tg.file)
		}
		return inference.Pool{
			Model:        u.GetName(),
			Namespace:    u.GetNamespace(),
			PodLabels:    labels,
			Port:         port,
			Config:       eppconfig.Config(eppconfig.Spec{MaxNumSeqs: 32, RequestTTLSeconds: 280, MaxQueuedRequests: 256, MaxQueuedBytes: 64 << 20}),
			NodeSelector: map[string]string{"llm-platform/node-role": "system"},
		}
	}
	t.Fatalf("golden %s has no vLLM Deployment", s.name)
	return inference.Pool{}
}

// chartValues are the inferencepool chart's values equivalent to the pool
// (EPPObjects' doc lists them).
func chartValues(p inference.Pool) map[string]any {
	return map[string]any{
		"inferencePool": map[string]any{
			"modelServers": map[string]any{"matchLabels": p.PodLabels},
			"targetPorts":  []any{map[string]any{"number": p.Port}},
		},
		"inferenceExtension": map[string]any{
			"pluginsConfigFile":   inference.ConfigFile,
			"pluginsCustomConfig": map[string]any{inference.ConfigFile: p.Config},
			"flags":               map[string]any{"v": 1},
			"monitoring":          map[string]any{"prometheus": map[string]any{"auth": map[string]any{"enabled": false}}},
		},
	}
}

// renderInferencePoolChart renders the upstream chart from the module the
// tests/crd go.mod pins, as the project releases it (hack/push-chart.sh:
// helm dependency update, then helm package with the tag as chart and app
// version), for release <model> in the pool's namespace.
// kubeVersion, when set, is the server's (helm template --kube-version).
func renderInferencePoolChart(t *testing.T, kubeVersion string, p inference.Pool) []renderedDoc {
	t.Helper()
	m, err := crd.ResolveModule(inferenceModule)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != versions.InferenceExtensionVersion {
		t.Fatalf("tests/crd/go.mod requires %s@%s, but the platform deploys %s", m.Path, m.Version, versions.InferenceExtensionVersion)
	}
	helm, err := binary("helm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Siblings, as in the module: Chart.yaml names file://../epplib.
	chart := filepath.Join(dir, "charts", "inferencepool")
	for src, dst := range map[string]string{inferencePoolDir: chart, eppLibDir: filepath.Join(dir, "charts", "epplib")} {
		if err := copyDir(filepath.Join(m.Dir, src), dst); err != nil {
			t.Fatal(err)
		}
	}
	if err := setChartVersion(chart, m.Version); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "helm")
	if _, err := runHelm(helm, home, "dependency", "update", chart); err != nil {
		t.Fatalf("helm dependency update: %v", err)
	}
	values, err := yaml.Marshal(chartValues(p))
	if err != nil {
		t.Fatal(err)
	}
	valuesFile := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(valuesFile, values, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"template", p.Model, chart, "--namespace", p.Namespace, "--values", valuesFile}
	if kubeVersion != "" {
		args = append(args, "--kube-version", kubeVersion)
	}
	out, err := runHelm(helm, home, args...)
	if err != nil {
		t.Fatalf("helm template inferencepool %s: %v", m.Version, err)
	}
	docs, err := splitRendered("inferencepool", out)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// difference is one field where our object and the chart's differ.
type difference struct {
	path  []string
	ours  any // nil: only the chart has it
	chart any // nil: only ours has it
}

func (d difference) String() string {
	switch {
	case d.chart == nil:
		return fmt.Sprintf("%s: only ours, %v", strings.Join(d.path, "."), d.ours)
	case d.ours == nil:
		return fmt.Sprintf("%s: only the chart's, %v", strings.Join(d.path, "."), d.chart)
	}
	return fmt.Sprintf("%s: ours %v, the chart's %v", strings.Join(d.path, "."), d.ours, d.chart)
}

// diff lists every difference between two decoded objects. Maps are
// compared key by key (a map on one side only, key by key against an
// empty one); lists whose items all have a name are matched by name
// ("containers[epp]"), other lists item by item.
func diff(path []string, ours, chart any) []difference {
	om, oIsMap := ours.(map[string]any)
	cm, cIsMap := chart.(map[string]any)
	if (oIsMap || ours == nil) && (cIsMap || chart == nil) && (oIsMap || cIsMap) {
		var out []difference
		for _, k := range unionKeys(om, cm) {
			out = append(out, diff(append(slices.Clone(path), k), om[k], cm[k])...)
		}
		return out
	}
	ol, oIsList := ours.([]any)
	cl, cIsList := chart.([]any)
	if oIsList && cIsList {
		if on, ok := byName(ol); ok {
			if cn, ok := byName(cl); ok {
				var out []difference
				for _, n := range unionKeys(on, cn) {
					p := slices.Clone(path)
					p[len(p)-1] += "[" + n + "]"
					out = append(out, diff(p, on[n], cn[n])...)
				}
				return out
			}
		}
		if len(ol) == len(cl) {
			var out []difference
			for i := range ol {
				p := slices.Clone(path)
				p[len(p)-1] += "[" + strconv.Itoa(i) + "]"
				out = append(out, diff(p, ol[i], cl[i])...)
			}
			return out
		}
	}
	if reflect.DeepEqual(ours, chart) {
		return nil
	}
	return []difference{{path: path, ours: ours, chart: chart}}
}

// byName indexes a list whose items are all maps with a distinct name.
func byName(l []any) (map[string]any, bool) {
	out := map[string]any{}
	for _, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := m["name"].(string)
		if !ok {
			return nil, false
		}
		if _, dup := out[n]; dup {
			return nil, false
		}
		out[n] = m
	}
	return out, len(out) > 0
}

// allowedDifference is a difference EPPObjects' doc declares. doc is the
// phrase of that doc the entry stands for: the test fails if the doc no
// longer says it, or if the entry allows nothing (the difference is gone).
type allowedDifference struct {
	doc    string
	reason string
	kinds  []string // empty: any kind
	// path is a prefix of the difference's path; "*" matches one segment.
	path []string
	// side: "ours" (only ours has it), "chart" (only the chart's has it),
	// "both" (both have it, with different values).
	side string
}

var allowedDifferences = []allowedDifference{
	{doc: "securityContext:", reason: "the restricted Pod Security level of the models namespace requires it; the chart sets none and has no value for it",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "spec", "securityContext"}, side: "ours"},
	{doc: "securityContext:", reason: "the restricted Pod Security level of the models namespace requires it; the chart sets none and has no value for it",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "spec", "containers[epp]", "securityContext"}, side: "ours"},
	{doc: "nodeSelector:", reason: "the picker runs on the platform pool; the chart offers affinity only",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "spec", "nodeSelector"}, side: "ours"},
	{doc: "resources:", reason: "sized for one pool of a few replicas; the chart's 4 CPUs and 8 GiB are a whole platform node",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "spec", "containers[epp]", "resources"}},
	{doc: "imagePullPolicy:", reason: "a release tag; a restart of the one picker should not depend on the registry (the chart says Always)",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "spec", "containers[epp]", "imagePullPolicy"}, side: "both"},
	{doc: "config-sha256 annotation", reason: "the picker reads its configuration once, at start: a changed configuration must roll it",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "metadata", "annotations", "llm-platform/config-sha256"}, side: "ours"},
	{doc: "do-not-disrupt annotation", reason: "Karpenter must not move the one picker, which holds its model's queued requests, to consolidate",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "metadata", "annotations", "karpenter.sh/do-not-disrupt"}, side: "ours"},
	{doc: "labels: extra ones only", reason: "part-of, instance and the component label the PodMonitor and network policies select; labels on every object",
		path: []string{"metadata", "labels", "*"}, side: "ours"},
	{doc: "labels: extra ones only", reason: "the component label the PodMonitor and network policies select, name, instance and part-of on the picker's pods",
		kinds: []string{"Deployment"}, path: []string{"spec", "template", "metadata", "labels", "*"}, side: "ours"},
	{doc: "default-plugins.yaml, which no argument names", reason: "the chart's default configuration, unused: --config-file names ours",
		kinds: []string{"ConfigMap"}, path: []string{"data", "default-plugins.yaml"}, side: "chart"},
	{doc: "failureMode:", reason: "FailClose is what the AI Gateway v1.0.0 does whatever the pool says; the chart's default is FailOpen",
		kinds: []string{"InferencePool"}, path: []string{"spec", "endpointPickerRef", "failureMode"}, side: "both"},
}

func (a allowedDifference) allows(kind string, d difference) bool {
	if len(a.kinds) > 0 && !slices.Contains(a.kinds, kind) {
		return false
	}
	if len(d.path) < len(a.path) {
		return false
	}
	for i, seg := range a.path {
		if seg != "*" && seg != d.path[i] {
			return false
		}
	}
	switch a.side {
	case "ours":
		return d.chart == nil
	case "chart":
		return d.ours == nil
	case "both":
		return d.ours != nil && d.chart != nil
	}
	return true
}

// compared are fields that must be present in both objects and equal,
// whatever the allow-list says: what makes the picker the chart's.
var compared = map[string][][]string{
	"Role":        {{"rules"}},
	"RoleBinding": {{"subjects"}, {"roleRef"}},
	"Deployment": {
		{"spec", "replicas"}, {"spec", "strategy"}, {"spec", "selector", "matchLabels"},
		{"spec", "template", "metadata", "labels", "inferencepool"},
		{"spec", "template", "metadata", "labels", "inference.networking.k8s.io/igw-mode"},
		{"spec", "template", "spec", "serviceAccountName"}, {"spec", "template", "spec", "terminationGracePeriodSeconds"},
		{"spec", "template", "spec", "volumes"},
		{"spec", "template", "spec", "containers[epp]", "image"},
		{"spec", "template", "spec", "containers[epp]", "args"},
		{"spec", "template", "spec", "containers[epp]", "ports"},
		{"spec", "template", "spec", "containers[epp]", "livenessProbe"},
		{"spec", "template", "spec", "containers[epp]", "readinessProbe"},
		{"spec", "template", "spec", "containers[epp]", "env"},
		{"spec", "template", "spec", "containers[epp]", "volumeMounts"},
	},
	"Service":       {{"spec", "selector"}, {"spec", "ports"}, {"spec", "type"}},
	"ConfigMap":     {{"data", inference.ConfigFile}},
	"InferencePool": {{"spec", "targetPorts"}, {"spec", "appProtocol"}, {"spec", "selector"}, {"spec", "endpointPickerRef", "name"}, {"spec", "endpointPickerRef", "port"}},
}

// field reads a path of diff's form (a "name[x]" segment picks the list
// item named x).
func field(obj any, path []string) (any, bool) {
	cur := obj
	for _, seg := range path {
		name, item, isItem := strings.Cut(strings.TrimSuffix(seg, "]"), "[")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
		if isItem {
			l, _ := cur.([]any)
			byN, ok := byName(l)
			if !ok {
				return nil, false
			}
			if cur, ok = byN[item]; !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

// eppObjectsDoc is EPPObjects' doc comment, read from the source.
func eppObjectsDoc(t *testing.T) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), inferenceObjectsF, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "EPPObjects" && fn.Doc != nil {
			return fn.Doc.Text()
		}
	}
	t.Fatalf("%s: no documented EPPObjects", inferenceObjectsF)
	return ""
}

func kindName(obj map[string]any) string {
	u := &unstructured.Unstructured{Object: obj}
	return u.GetKind() + " " + u.GetName()
}

func docObjects(docs []renderedDoc) []map[string]any {
	out := make([]map[string]any, len(docs))
	for i, d := range docs {
		out[i] = d.obj
	}
	return out
}

// byKindName indexes objects, in their decoded JSON form, by "Kind name".
func byKindName(t *testing.T, what string, objs []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, obj := range objs {
		k := kindName(obj)
		if _, dup := out[k]; dup {
			t.Fatalf("%s has %s twice", what, k)
		}
		out[k] = normalize(t, obj).(map[string]any)
	}
	return out
}

// comparison is what compareWithChart found.
type comparison struct {
	problems []string
	allowed  []string // the allowed differences, with their reasons
	fields   int      // compared fields found equal
}

// compareWithChart holds our objects to the chart's: the same kinds and
// names, the compared fields present and equal, and every other difference
// one allowedDifferences declares, citing doc (EPPObjects' doc comment).
// An allowed difference that no longer occurs is a problem too.
func compareWithChart(ours, chart map[string]map[string]any, doc string) comparison {
	var r comparison
	if got, want := slices.Sorted(maps.Keys(ours)), slices.Sorted(maps.Keys(chart)); !slices.Equal(got, want) {
		r.problems = append(r.problems, fmt.Sprintf("EPPObjects + InferencePoolObject declare %v; the chart renders %v", got, want))
	}
	for _, a := range allowedDifferences {
		if !strings.Contains(doc, a.doc) {
			r.problems = append(r.problems, fmt.Sprintf("allowedDifferences cites %q, which EPPObjects' doc no longer says: align the two", a.doc))
		}
	}
	used := make([]int, len(allowedDifferences))
	for _, k := range slices.Sorted(maps.Keys(ours)) {
		theirs, ok := chart[k]
		if !ok {
			continue
		}
		o := ours[k]
		kind, _ := o["kind"].(string)
		for _, path := range compared[kind] {
			ov, oOK := field(o, path)
			cv, cOK := field(theirs, path)
			switch {
			case !oOK || !cOK:
				r.problems = append(r.problems, fmt.Sprintf("%s: %s is missing (in ours: %v, in the chart's: %v)", k, strings.Join(path, "."), oOK, cOK))
			case !reflect.DeepEqual(ov, cv):
				r.problems = append(r.problems, fmt.Sprintf("%s: %s differs: ours %v, the chart's %v", k, strings.Join(path, "."), ov, cv))
			default:
				r.fields++
			}
		}
		for _, d := range diff(nil, o, theirs) {
			allowed := slices.IndexFunc(allowedDifferences, func(a allowedDifference) bool { return a.allows(kind, d) })
			if allowed < 0 {
				r.problems = append(r.problems, fmt.Sprintf("%s differs from the %s chart where EPPObjects' doc declares no difference: %s",
					k, versions.InferenceExtensionVersion, d))
				continue
			}
			used[allowed]++
			r.allowed = append(r.allowed, fmt.Sprintf("%s: allowed (%s): %s", k, allowedDifferences[allowed].reason, d))
		}
	}
	for i, a := range allowedDifferences {
		if used[i] == 0 {
			r.problems = append(r.problems, fmt.Sprintf("allowedDifferences lets %v %s (%s) differ, but it no longer does: remove the entry", a.kinds, strings.Join(a.path, "."), a.side))
		}
	}
	return r
}

// TestEndpointPickerMatchesChart renders the upstream inferencepool chart
// (v1.5.0, from the Go module) with values equivalent to the dev model's
// pool and compares it, object by object, with inference.EPPObjects and
// InferencePoolObject: the same kinds and names, and no difference but
// the ones EPPObjects' doc declares (allowedDifferences). Then both are
// dry-run in the model namespace, which enforces restricted Pod Security:
// ours are admitted; the chart's pod is refused, which is why the program
// does not install the chart.
func TestEndpointPickerMatchesChart(t *testing.T) {
	c := getCluster(t)
	s := loadStack(t, "dev")
	p := goldenPool(t, s)
	start := time.Now()
	docs := renderInferencePoolChart(t, c.version, p)
	rendered := time.Since(start)

	chart := byKindName(t, "the chart", docObjects(docs))
	ourObjects := append(inference.EPPObjects(p), inference.InferencePoolObject(p))
	ours := byKindName(t, "EPPObjects + InferencePoolObject", ourObjects)
	cmp := compareWithChart(ours, chart, eppObjectsDoc(t))
	for _, l := range cmp.allowed {
		t.Log(l)
	}
	for _, e := range cmp.problems {
		t.Error(e)
	}
	// The dry runs send the decoded form (Go ints do not deep-copy).
	for i, obj := range ourObjects {
		ourObjects[i] = ours[kindName(obj)]
	}

	// The model namespace as the golden declares it, and the picker's
	// ServiceAccount (a Pod's admission needs it).
	var nsLabels map[string]string
	for _, tg := range s.objects {
		u := &unstructured.Unstructured{Object: tg.obj}
		if u.GetKind() == "Namespace" && u.GetName() == p.Namespace {
			nsLabels = u.GetLabels()
		}
	}
	if nsLabels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("golden dev namespace %s enforces Pod Security %q; this check expects restricted", p.Namespace, nsLabels["pod-security.kubernetes.io/enforce"])
	}
	if err := c.ensureNamespaces(map[string]map[string]string{p.Namespace: nsLabels}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ensureServiceAccount(p.Namespace, p.EPPName()); err != nil {
		t.Fatal(err)
	}

	// Ours: every object and the picker's Pod admitted, with no warning.
	var targets []target
	for _, obj := range ourObjects {
		targets = append(targets, target{file: "inference.EPPObjects", obj: obj})
	}
	for _, o := range c.run(withPods(targets)) {
		for _, w := range o.warnings {
			t.Errorf("%s: warning from kube-apiserver %s: %s", o.target.object(), c.version, w)
		}
		if o.err != nil {
			t.Errorf("%s refused by kube-apiserver %s in namespace %s:\n    %v", o.target.object(), c.version, p.Namespace, o.err)
		}
	}

	// The chart's: every object admitted but its pod, refused by Pod
	// Security for the very fields EPPObjects adds; the Deployment itself
	// only draws the warning (Pod Security enforces on Pods).
	targets = nil
	for _, d := range docs {
		targets = append(targets, target{file: "inferencepool chart", via: d.template, obj: d.obj})
	}
	refused := 0
	for _, o := range c.run(withPods(targets)) {
		what := o.target.object()
		if o.target.podOf == "" {
			if o.err != nil {
				t.Errorf("chart %s refused by kube-apiserver %s:\n    %v", what, c.version, o.err)
			}
			if o.target.obj["kind"] == "Deployment" && !strings.Contains(strings.Join(o.warnings, "\n"), `would violate PodSecurity "restricted:latest"`) {
				t.Errorf("chart %s: want the restricted Pod Security warning, got %q", what, o.warnings)
			}
			continue
		}
		if o.err == nil {
			t.Errorf("chart %s admitted in namespace %s, which enforces restricted: the chart could be installed as is", what, p.Namespace)
			continue
		}
		msg := o.err.Error()
		for _, want := range []string{`violates PodSecurity "restricted:latest"`, "allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile", "capabilities"} {
			if !strings.Contains(msg, want) {
				t.Errorf("chart %s refused, but the message does not mention %q:\n    %s", what, want, msg)
			}
		}
		refused++
		t.Logf("chart %s refused by kube-apiserver %s, as expected:\n    %s", what, c.version, msg)
	}
	if refused != 1 {
		t.Errorf("%d chart pods refused; want the picker's one", refused)
	}
	t.Logf("inferencepool chart %s rendered in %s; %d objects compared (%d fields checked equal, %d allowed differences) and dry-run in %s",
		versions.InferenceExtensionVersion, rendered.Round(time.Millisecond), len(ours), cmp.fields, len(cmp.allowed), (time.Since(start) - rendered).Round(time.Millisecond))
}

// The comparison bites: each of these departures from the chart fails it,
// naming the field; the allow-list is tied to EPPObjects' doc both ways.
// Needs helm only, not the API server.
func TestEndpointPickerComparisonBites(t *testing.T) {
	if _, err := binary("helm"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	p := goldenPool(t, loadStack(t, "dev"))
	chart := byKindName(t, "the chart", docObjects(renderInferencePoolChart(t, "", p)))
	doc := eppObjectsDoc(t)
	name := p.EPPName()
	ours := func() map[string]map[string]any {
		return byKindName(t, "EPPObjects + InferencePoolObject", append(inference.EPPObjects(p), inference.InferencePoolObject(p)))
	}
	epp := func(o map[string]map[string]any) map[string]any {
		return o["Deployment "+name]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	}
	if r := compareWithChart(ours(), chart, doc); len(r.problems) > 0 {
		t.Fatalf("the unmodified objects differ from the chart:\n%s", strings.Join(r.problems, "\n"))
	}
	for _, tc := range []struct {
		name   string
		mutate func(o map[string]map[string]any)
		want   string
	}{
		{"wrong probe", func(o map[string]map[string]any) {
			epp(o)["readinessProbe"].(map[string]any)["periodSeconds"] = 5.0
		}, "containers[epp].readinessProbe differs"},
		{"missing env", func(o map[string]map[string]any) {
			c := epp(o)
			c["env"] = c["env"].([]any)[:1]
		}, "containers[epp].env differs"},
		{"wrong arg", func(o map[string]map[string]any) {
			args := epp(o)["args"].([]any)
			args[slices.Index(args, any("--v"))+1] = "2"
		}, "containers[epp].args differs"},
		{"extra container port", func(o map[string]map[string]any) {
			c := epp(o)
			c["ports"] = append(c["ports"].([]any), map[string]any{"name": "pprof", "containerPort": 6060.0})
		}, "containers[epp].ports differs"},
		{"missing object", func(o map[string]map[string]any) {
			delete(o, "RoleBinding "+name+"-sa")
		}, "the chart renders"},
		{"RBAC rule", func(o map[string]map[string]any) {
			o["Role "+name+"-sa"]["rules"].([]any)[0].(map[string]any)["verbs"] = []any{"get", "list"}
		}, "Role " + name + "-sa: rules differs"},
		{"Service selector", func(o map[string]map[string]any) {
			o["Service "+name]["spec"].(map[string]any)["selector"] = map[string]any{"app.kubernetes.io/name": name}
		}, "Service " + name + ": spec.selector differs"},
		{"a chart label left out", func(o map[string]map[string]any) {
			delete(o["Service "+name]["metadata"].(map[string]any)["labels"].(map[string]any), "app.kubernetes.io/version")
		}, "metadata.labels.app.kubernetes.io/version: only the chart's"},
		{"an undeclared field", func(o map[string]map[string]any) {
			o["Deployment "+name]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["hostNetwork"] = true
		}, "spec.template.spec.hostNetwork: only ours"},
		{"pool target port", func(o map[string]map[string]any) {
			o["InferencePool "+p.Model]["spec"].(map[string]any)["targetPorts"] = []any{map[string]any{"number": 8001.0}}
		}, "spec.targetPorts differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ours()
			tc.mutate(o)
			r := compareWithChart(o, chart, doc)
			if !slices.ContainsFunc(r.problems, func(pr string) bool { return strings.Contains(pr, tc.want) }) {
				t.Fatalf("want a problem with %q, got:\n%s", tc.want, strings.Join(r.problems, "\n"))
			}
		})
	}
	t.Run("doc no longer declares a difference", func(t *testing.T) {
		r := compareWithChart(ours(), chart, strings.ReplaceAll(doc, "imagePullPolicy:", "pull policy:"))
		if !slices.ContainsFunc(r.problems, func(pr string) bool { return strings.Contains(pr, `cites "imagePullPolicy:"`) }) {
			t.Fatalf("want the allow-list's citation refused, got:\n%s", strings.Join(r.problems, "\n"))
		}
	})
	t.Run("a difference that is gone", func(t *testing.T) {
		r := compareWithChart(chart, chart, doc)
		if n := len(r.problems); n != len(allowedDifferences) || !strings.Contains(strings.Join(r.problems, "\n"), "no longer does: remove the entry") {
			t.Fatalf("want every allow-list entry reported unused, got %d problems:\n%s", n, strings.Join(r.problems, "\n"))
		}
	})
}

// unionKeys is the sorted set of keys of both maps.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
