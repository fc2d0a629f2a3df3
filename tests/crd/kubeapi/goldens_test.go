package kubeapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/versions"
)

// goldenDir holds the reviewed renders (tests/testdata/golden); the root
// module's golden test proves they equal the program's output.
var goldenDir = filepath.Join("..", "..", "testdata", "golden")

// target is one object to dry-run apply.
type target struct {
	// file is the golden file it comes from ("dev/deployment-x.yaml").
	file string
	// via names the chart template, for chart output.
	via string
	obj map[string]any
	// podOf is the workload a bare Pod was built from.
	podOf string
}

func objectName(obj map[string]any) string {
	u := &unstructured.Unstructured{Object: obj}
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}

// object identifies the target within its file (knownRejections keys).
func (t target) object() string {
	if t.podOf != "" {
		return "Pod from " + t.podOf
	}
	return objectName(t.obj)
}

func (t target) where() string {
	if t.via != "" {
		return t.file + " (" + t.via + ")"
	}
	return t.file
}

// stackRender is everything one golden stack declares.
type stackRender struct {
	name     string
	objects  []target
	releases map[string]helmSpec // by golden file
}

func stacks(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(goldenDir, "*", "kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		out = append(out, filepath.Base(filepath.Dir(d)))
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no goldens under %s", goldenDir)
	}
	return out
}

// loadStack reads one golden stack's Kubernetes files: objects, and the
// Helm releases and charts (which describe a release, not an object).
func loadStack(t *testing.T, stack string) stackRender {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, stack, "kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	s := stackRender{name: stack, releases: map[string]helmSpec{}}
	for _, f := range files {
		rel := stack + "/" + filepath.Base(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if h, ok := doc["helmRelease"]; ok {
			s.releases[rel] = decodeSpec(t, rel, h)
			continue
		}
		if h, ok := doc["helmChart"]; ok {
			s.releases[rel] = decodeSpec(t, rel, h)
			continue
		}
		// A YAML ConfigFile applies a release's manifests; the only one is
		// the Inference Extension's CRDs, which this check installs from
		// the same release's Go module.
		if c, ok := doc["yamlConfigFile"].(map[string]any); ok {
			if c["file"] != versions.InferenceExtensionCRDsURL {
				t.Errorf("%s: applies %v; the check knows only %s (installed from its module)", rel, c["file"], versions.InferenceExtensionCRDsURL)
			}
			continue
		}
		s.objects = append(s.objects, target{file: rel, obj: unredact(doc)})
	}
	return s
}

func decodeSpec(t *testing.T, file string, v any) helmSpec {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var s helmSpec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	return s
}

// redacted is how the render writes a secret value.
const redacted = "[secret]"

// unredact gives a rendered Secret a value of the right shape: the render
// hides the whole stringData (or data) map as "[secret]".
func unredact(obj map[string]any) map[string]any {
	if obj["apiVersion"] != "v1" || obj["kind"] != "Secret" {
		return obj
	}
	if obj["stringData"] == redacted {
		obj["stringData"] = map[string]any{"value": "redacted-by-the-render"}
	}
	if obj["data"] == redacted {
		obj["data"] = map[string]any{"value": base64.StdEncoding.EncodeToString([]byte("redacted-by-the-render"))}
	}
	return obj
}

// outcome is the server's answer for one target.
type outcome struct {
	target   target
	warnings []string
	err      error
}

// run dry-run applies targets, four at a time, in order of the result.
func (c *cluster) run(targets []target) []outcome {
	out := make([]outcome, len(targets))
	fourAtATime(len(targets), func(i int) {
		w, err := c.apply(targets[i].obj, true)
		out[i] = outcome{target: targets[i], warnings: w, err: err}
	})
	return out
}

// fourAtATime runs fn(0) ... fn(n-1), four at a time, and returns when all
// are done: the API server builds a schema per CRD and validates every
// dry run, and more at once only queue on two cores.
func fourAtATime(n int, fn func(i int)) {
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// withPods adds a bare Pod for every pod template among targets.
func withPods(targets []target) []target {
	out := slices.Clone(targets)
	for _, tg := range targets {
		pod, ok := podFromTemplate(tg.obj)
		if !ok {
			continue
		}
		out = append(out, target{file: tg.file, via: tg.via, obj: pod, podOf: tg.object()})
	}
	return out
}

// counts is what one stack's check applied.
type counts struct {
	objects, pods, chartObjects, chartPods int
	charts                                 []string
	notRendered                            []string
	podSecurity                            []string
}

func (n counts) String() string {
	return fmt.Sprintf("%d golden objects + %d Pods from their templates; %d objects + %d Pods from %d chart renders %v; not rendered: %v",
		n.objects, n.pods, n.chartObjects, n.chartPods, len(n.charts), n.charts, n.notRendered)
}

// TestGoldensOnRealAPIServer dry-run applies, on a real kube-apiserver,
// every object of every golden, every chart in a Go module rendered with
// its release's values, and a bare Pod from every pod template. Any
// rejection fails, except the knownRejections, which must still be
// rejected.
func TestGoldensOnRealAPIServer(t *testing.T) {
	c := getCluster(t)
	seen := map[string]bool{}
	summary := map[string]counts{}
	for _, stack := range stacks(t) {
		t.Run(stack, func(t *testing.T) {
			s := loadStack(t, stack)
			n := counts{}
			golden := withPods(s.objects)
			for _, tg := range golden {
				if tg.podOf != "" {
					n.pods++
				} else {
					n.objects++
				}
			}

			// Chart output, per release.
			var charts []target
			for _, file := range slices.Sorted(maps.Keys(s.releases)) {
				spec := s.releases[file]
				if why, ok := chartsNotInModules[spec.key()]; ok {
					n.notRendered = append(n.notRendered, spec.key()+" "+spec.Version)
					t.Logf("%s: chart %s %s not rendered: %s", file, spec.key(), spec.Version, why)
					continue
				}
				if _, ok := chartsInModules[spec.key()]; !ok {
					t.Errorf("%s: chart %s is in neither chartsInModules nor chartsNotInModules: say whether a Go module ships it", file, spec.key())
					continue
				}
				docs, err := c.render(spec)
				if err != nil {
					t.Errorf("%s: %v", file, err)
					continue
				}
				n.charts = append(n.charts, spec.label())
				for _, d := range docs {
					c.inNamespace(d.obj, spec.Namespace)
					charts = append(charts, target{file: file, via: spec.label() + ", " + d.template, obj: d.obj})
				}
			}
			charts = withPods(charts)
			for _, tg := range charts {
				if tg.podOf != "" {
					n.chartPods++
				} else {
					n.chartObjects++
				}
			}
			all := slices.Concat(golden, charts)

			declared, err := c.prepare(t, s, all)
			if err != nil {
				t.Fatal(err)
			}
			c.probePodSecurity(t, declared)
			for _, o := range c.run(all) {
				for _, w := range o.warnings {
					t.Logf("%s: %s: warning: %s", o.target.where(), o.target.object(), w)
				}
				problem, note, k := judge(o, knownRejections, c.version)
				if k != nil {
					seen[k.key()] = true
				}
				if note != "" {
					t.Log(note)
				}
				if problem != "" {
					t.Error(problem)
				}
			}
			t.Logf("%s: %s", stack, n)
			for _, line := range c.podSecurityReport(t, declared, all) {
				t.Logf("%s: %s", stack, line)
				n.podSecurity = append(n.podSecurity, line)
			}
			summary[stack] = n
		})
	}
	for _, k := range knownRejections {
		if !seen[k.key()] {
			t.Errorf("knownRejections lists %s %s, which is no longer rendered: remove it", k.file, k.object)
		}
	}
	for _, stack := range slices.Sorted(maps.Keys(summary)) {
		fmt.Fprintf(os.Stderr, "kube-apiserver %s, %s: %s\n", c.version, stack, summary[stack])
		for _, line := range summary[stack].podSecurity {
			fmt.Fprintf(os.Stderr, "    %s\n", line)
		}
	}
}

// judge compares the server's answer for one target with the known
// rejections: problem is a failure to report, note a line to log, k the
// known rejection that matched the target.
func judge(o outcome, known []knownRejection, version string) (problem, note string, k *knownRejection) {
	what := o.target.where() + ": " + o.target.object()
	for i := range known {
		if known[i].key() == o.target.file+" "+o.target.object() {
			k = &known[i]
		}
	}
	switch {
	case k == nil && o.err == nil:
	case k == nil:
		problem = fmt.Sprintf("%s rejected by kube-apiserver %s:\n    %v", what, version, o.err)
	case o.err == nil:
		problem = fmt.Sprintf("%s is now accepted by kube-apiserver %s: remove it from knownRejections (%s)", what, version, k.why)
	case strings.Contains(o.err.Error(), k.contains):
		note = fmt.Sprintf("%s still rejected, as knownRejections says (%s):\n    %v", what, k.why, o.err)
	default:
		problem = fmt.Sprintf("%s is rejected by kube-apiserver %s, but no longer with %q (update knownRejections):\n    %v", what, version, k.contains, o.err)
	}
	return problem, note, k
}

// label is the chart and version, for messages.
func (s helmSpec) label() string {
	return s.key() + " " + s.Version
}

// prepare creates, for real, the Namespaces (with their Pod Security
// labels) and ServiceAccounts the dry runs need, and checks that every
// namespace used is created by something the stack declares. It returns
// the declared namespaces and their labels.
func (c *cluster) prepare(t *testing.T, s stackRender, all []target) (map[string]map[string]string, error) {
	t.Helper()
	declared := map[string]map[string]string{}
	created := map[string]string{} // namespace -> what creates it
	for _, ns := range builtinNamespaces {
		created[ns] = "the cluster"
	}
	for _, tg := range all {
		u := &unstructured.Unstructured{Object: tg.obj}
		if tg.podOf == "" && u.GetAPIVersion() == "v1" && u.GetKind() == "Namespace" {
			declared[u.GetName()] = u.GetLabels()
			created[u.GetName()] = tg.where()
		}
	}
	for _, file := range slices.Sorted(maps.Keys(s.releases)) {
		if spec := s.releases[file]; spec.CreateNamespace {
			if _, ok := created[spec.Namespace]; !ok {
				created[spec.Namespace] = file + " (createNamespace)"
			}
		}
	}
	var used []string
	use := func(ns, by string) {
		if _, ok := created[ns]; !ok {
			t.Errorf("%s uses namespace %q, which nothing in golden %s creates", by, ns, s.name)
			created[ns] = "nothing"
		}
		used = append(used, ns)
	}
	for _, file := range slices.Sorted(maps.Keys(s.releases)) {
		use(s.releases[file].Namespace, file)
	}
	for _, tg := range all {
		if ns := (&unstructured.Unstructured{Object: tg.obj}).GetNamespace(); ns != "" {
			use(ns, tg.where()+": "+tg.object())
		}
	}
	if err := c.ensureNamespaces(declared, used); err != nil {
		return nil, err
	}

	// ServiceAccounts: those the stack declares, then any a Pod runs as.
	declaredSA := map[string]bool{}
	for _, tg := range all {
		u := &unstructured.Unstructured{Object: tg.obj}
		if u.GetAPIVersion() == "v1" && u.GetKind() == "ServiceAccount" {
			ns := u.GetNamespace()
			declaredSA[ns+"/"+u.GetName()] = true
			if err := c.ensureServiceAccount(ns, u.GetName()); err != nil {
				return nil, err
			}
		}
	}
	for _, tg := range all {
		if tg.podOf == "" {
			continue
		}
		ns := (&unstructured.Unstructured{Object: tg.obj}).GetNamespace()
		sa := serviceAccountOf(tg.obj)
		if sa == "default" || declaredSA[ns+"/"+sa] {
			continue
		}
		t.Errorf("%s: %s runs as ServiceAccount %s/%s, which nothing in golden %s declares", tg.where(), tg.object(), ns, sa, s.name)
		if err := c.ensureServiceAccount(ns, sa); err != nil {
			return nil, err
		}
		declaredSA[ns+"/"+sa] = true
	}
	return declared, nil
}

// probePodSecurity proves the declared Pod Security levels are in force
// for this stack: a privileged Pod is rejected in every namespace that
// enforces more than "privileged".
func (c *cluster) probePodSecurity(t *testing.T, declared map[string]map[string]string) {
	t.Helper()
	for _, ns := range slices.Sorted(maps.Keys(declared)) {
		level := declared[ns]["pod-security.kubernetes.io/enforce"]
		if level == "" || level == "privileged" {
			continue
		}
		_, err := c.apply(privilegedPod(ns), true)
		if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Errorf("namespace %s enforces Pod Security %q, but a privileged Pod got: %v", ns, level, err)
		}
	}
}

// privilegedPod is a Pod no Pod Security level but "privileged" admits.
func privilegedPod(ns string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "kubeapi-check-privileged", "namespace": ns},
		"spec": map[string]any{"containers": []any{map[string]any{
			"name": "c", "image": "busybox:1.37",
			"securityContext": map[string]any{"privileged": true},
		}}},
	}
}

// podSecurityReport says, for each namespace that enforces no Pod
// Security level (so runs as "privileged"), the strictest level all its
// rendered Pods would pass: what the namespace could enforce. It only
// reports; charts that are not rendered add Pods it cannot see.
func (c *cluster) podSecurityReport(t *testing.T, declared map[string]map[string]string, all []target) []string {
	t.Helper()
	byNS := map[string][]target{}
	for _, tg := range all {
		if tg.podOf == "" {
			continue
		}
		ns := (&unstructured.Unstructured{Object: tg.obj}).GetNamespace()
		if level := declared[ns]["pod-security.kubernetes.io/enforce"]; level != "" && level != "privileged" {
			continue
		}
		byNS[ns] = append(byNS[ns], tg)
	}
	var out []string
	for _, ns := range slices.Sorted(maps.Keys(declared)) {
		if level := declared[ns]["pod-security.kubernetes.io/enforce"]; (level == "" || level == "privileged") && len(byNS[ns]) == 0 {
			out = append(out, fmt.Sprintf("namespace %s enforces no Pod Security level; none of its Pods is rendered here", ns))
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		strictest, levels := c.strictestOf(t, byNS[ns])
		var why []string
		for _, l := range levels {
			if !strings.HasSuffix(l, ": restricted") {
				why = append(why, l)
			}
		}
		line := fmt.Sprintf("namespace %s enforces no Pod Security level; its %d rendered Pods would all pass %q", ns, len(byNS[ns]), strictest)
		if len(why) > 0 {
			line += fmt.Sprintf(" (not restricted: %s)", strings.Join(why, "; "))
		}
		out = append(out, line)
	}
	return out
}

var podSecurityRank = map[string]int{"privileged": 0, "baseline": 1, "restricted": 2}

// strictestOf is the strictest Pod Security level every pod of pods
// passes, with "<pod>: <level>" for each.
func (c *cluster) strictestOf(t *testing.T, pods []target) (string, []string) {
	t.Helper()
	strictest := "restricted"
	var levels []string
	for _, tg := range pods {
		level, err := c.strictestLevel(tg.obj)
		if err != nil {
			t.Errorf("%s: %s: probing its Pod Security level: %v", tg.where(), tg.object(), err)
			continue
		}
		if podSecurityRank[level] < podSecurityRank[strictest] {
			strictest = level
		}
		levels = append(levels, tg.podOf+": "+level)
	}
	return strictest, levels
}

// strictestLevel dry-runs a Pod in namespaces of the check's own that
// enforce restricted, then baseline. The Pod runs as the default
// ServiceAccount there: Pod Security does not look at the account.
func (c *cluster) strictestLevel(pod map[string]any) (string, error) {
	for _, level := range []string{"restricted", "baseline"} {
		ns := "kubeapi-check-probe-" + level
		if err := c.scratchNamespace(ns, level); err != nil {
			return "", err
		}
		p := (&unstructured.Unstructured{Object: pod}).DeepCopy().Object
		unstructured.RemoveNestedField(p, "spec", "serviceAccountName")
		unstructured.RemoveNestedField(p, "spec", "serviceAccount")
		_ = unstructured.SetNestedField(p, ns, "metadata", "namespace")
		_, err := c.apply(p, true)
		switch {
		case err == nil:
			return level, nil
		case !strings.Contains(err.Error(), "violates PodSecurity"):
			return "", err
		}
	}
	return "privileged", nil
}

// scratchNamespace creates (once) a namespace that enforces level; it is
// not in c.namespaces, so ensureNamespaces leaves its labels alone.
func (c *cluster) scratchNamespace(ns, level string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scratch == nil {
		c.scratch = map[string]bool{}
	}
	if c.scratch[ns] {
		return nil
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name":   ns,
		"labels": map[string]any{"pod-security.kubernetes.io/enforce": level},
	}}
	if _, err := c.apply(obj, false); err != nil {
		return err
	}
	if err := c.ensureServiceAccount(ns, "default"); err != nil {
		return err
	}
	c.scratch[ns] = true
	return nil
}
