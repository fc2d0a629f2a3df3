package kubeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/tests/crd"
	"github.com/llm-platform/llm-platform/versions"
)

// helmSpec is a golden's helmRelease (kubernetes:helm.sh/v3:Release) or
// helmChart (kubernetes:helm.sh/v4:Chart) document.
type helmSpec struct {
	Chart           string         `json:"chart"`
	Version         string         `json:"version"`
	Name            string         `json:"name"`
	Namespace       string         `json:"namespace"`
	Values          map[string]any `json:"values"`
	SkipCrds        bool           `json:"skipCrds"`
	CreateNamespace bool           `json:"createNamespace"`
	RepositoryOpts  struct {
		Repo string `json:"repo"`
	} `json:"repositoryOpts"`
}

// key names the chart: its OCI reference, or repository URL + "/" + name.
func (s helmSpec) key() string {
	if s.RepositoryOpts.Repo != "" {
		return strings.TrimSuffix(s.RepositoryOpts.Repo, "/") + "/" + s.Chart
	}
	return s.Chart
}

// chartSource is a chart that ships inside a Go module, at the module
// version equal to the chart version (the tests/crd go.mod requires these
// modules at the versions the platform deploys).
type chartSource struct {
	module string
	dir    string
	// fill does what the project's release process does to the chart
	// directory before packaging it.
	fill func(dir, version string) error
}

// chartsInModules are rendered and applied.
var chartsInModules = map[string]chartSource{
	versions.KarpenterChart:        {module: "github.com/aws/karpenter-provider-aws", dir: "charts/karpenter", fill: setChartVersion},
	versions.KarpenterCRDChart:     {module: "github.com/aws/karpenter-provider-aws", dir: "charts/karpenter-crd", fill: setChartVersion},
	versions.EnvoyGatewayChart:     {module: "github.com/envoyproxy/gateway", dir: "charts/gateway-helm", fill: fillEnvoyGateway},
	versions.EnvoyGatewayCRDsChart: {module: "github.com/envoyproxy/gateway", dir: "charts/gateway-crds-helm", fill: fillEnvoyGateway},
	versions.AIGatewayChart:        {module: "github.com/envoyproxy/ai-gateway", dir: "manifests/charts/ai-gateway-helm", fill: setChartVersion},
	versions.AIGatewayCRDsChart:    {module: "github.com/envoyproxy/ai-gateway", dir: "manifests/charts/ai-gateway-crds-helm", fill: setChartVersion},
}

// chartsNotInModules cannot be rendered offline: what the check does not
// cover (the README says so). A chart in neither list fails the test.
var chartsNotInModules = map[string]string{
	versions.KEDARepo + "/keda":                      "kedacore/charts is not a Go module (github.com/kedacore/keda/v2 holds the CRDs, not the chart)",
	versions.KubePrometheusStackChart:                "prometheus-community/helm-charts is not a Go module",
	versions.OpenWebUIRepo + versions.OpenWebUIChart: "open-webui/helm-charts is not a Go module (its chart's pod is checked from package chartdefaults)",
	versions.DCGMExporterRepo + "/dcgm-exporter":     "github.com/NVIDIA/dcgm-exporter tags its releases like 4.5.3-4.8.2, not as semantic versions: the module proxy serves no version of it (checked for 4.8.4, v4.8.4 and release commits)",
}

// setChartVersion stamps the pinned version into Chart.yaml: the
// repositories carry a placeholder (v0.0.0-latest) or the previous
// release's, and set the real one when they package the chart. Image
// tags in values.yaml are left alone: they do not change what the API
// server validates.
func setChartVersion(dir, version string) error {
	p := filepath.Join(dir, "Chart.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var chart map[string]any
	if err := yaml.Unmarshal(b, &chart); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	chart["version"] = version
	chart["appVersion"] = version
	out, err := yaml.Marshal(chart)
	if err != nil {
		return err
	}
	return os.WriteFile(p, out, 0o644)
}

var placeholder = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// fillEnvoyGateway does what Envoy Gateway's release does (tools/make/
// helm.mk, helm-generate): envsubst values.tmpl.yaml into values.yaml with
// GatewayImage=docker.io/envoyproxy/gateway:<tag> and
// GatewayImagePullPolicy=IfNotPresent, then package with the tag as chart
// and app version.
func fillEnvoyGateway(dir, version string) error {
	tmpl := filepath.Join(dir, "values.tmpl.yaml")
	if b, err := os.ReadFile(tmpl); err == nil {
		vars := map[string]string{
			"GatewayImage":           "docker.io/envoyproxy/gateway:" + version,
			"GatewayImagePullPolicy": "IfNotPresent",
		}
		var missing []string
		out := placeholder.ReplaceAllStringFunc(string(b), func(m string) string {
			name := placeholder.FindStringSubmatch(m)[1]
			v, ok := vars[name]
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("%s: placeholders this test does not know how to fill: %v", tmpl, missing)
		}
		if err := os.WriteFile(filepath.Join(dir, "values.yaml"), []byte(out), 0o644); err != nil {
			return err
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	return setChartVersion(dir, version)
}

// copyDir copies a chart out of the read-only module cache.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

var (
	chartDirsMu sync.Mutex
	chartDirs   = map[string]string{}
)

// chartDir prepares a chart once per chart and version.
func (c *cluster) chartDir(spec helmSpec) (string, error) {
	src, ok := chartsInModules[spec.key()]
	if !ok {
		return "", fmt.Errorf("chart %s ships in no Go module this check knows", spec.key())
	}
	chartDirsMu.Lock()
	defer chartDirsMu.Unlock()
	k := spec.key() + "@" + spec.Version
	if d, ok := chartDirs[k]; ok {
		return d, nil
	}
	m, err := crd.ResolveModule(src.module)
	if err != nil {
		return "", err
	}
	if strings.TrimPrefix(m.Version, "v") != strings.TrimPrefix(spec.Version, "v") {
		return "", fmt.Errorf("chart %s is deployed at %s, but tests/crd/go.mod requires %s@%s: bump the module with the chart", spec.key(), spec.Version, m.Path, m.Version)
	}
	dst := filepath.Join(c.dir, "charts", strings.NewReplacer("/", "_", ":", "_").Replace(k))
	if err := copyDir(filepath.Join(m.Dir, src.dir), dst); err != nil {
		return "", err
	}
	if err := src.fill(dst, spec.Version); err != nil {
		return "", err
	}
	chartDirs[k] = dst
	return dst, nil
}

// apiVersions lists what the server serves, as a Helm install would see it
// (group/version and group/version/Kind) for .Capabilities.APIVersions.
// The list is read once, with the CRDs installed.
func (c *cluster) apiVersions() ([]string, error) {
	c.apisOnce.Do(func() { c.apis, c.apisErr = c.readAPIVersions() })
	return c.apis, c.apisErr
}

func (c *cluster) readAPIVersions() ([]string, error) {
	_, lists, err := c.discovery.ServerGroupsAndResources()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		out = append(out, l.GroupVersion)
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") {
				out = append(out, l.GroupVersion+"/"+r.Kind)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// renderedDoc is one object of a chart's output.
type renderedDoc struct {
	template string // the chart template it came from
	obj      map[string]any
}

var sourceComment = regexp.MustCompile(`(?m)^# Source: (.+)$`)

// render runs `helm template` for a release with its golden values,
// against the server's version and API list, as `helm install` renders it
// (CRDs from crds/ unless the release skips them; no test hooks).
func (c *cluster) render(spec helmSpec) ([]renderedDoc, error) {
	key, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	docs, ok := c.rendered[string(key)]
	c.mu.Unlock()
	if !ok {
		if docs, err = c.renderChart(spec); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.rendered == nil {
			c.rendered = map[string][]renderedDoc{}
		}
		c.rendered[string(key)] = docs
		c.mu.Unlock()
	}
	// Callers place objects in namespaces: each gets its own copy.
	out := make([]renderedDoc, len(docs))
	for i, d := range docs {
		out[i] = renderedDoc{template: d.template, obj: (&unstructured.Unstructured{Object: d.obj}).DeepCopy().Object}
	}
	return out, nil
}

// renderChart runs helm template for one release.
func (c *cluster) renderChart(spec helmSpec) ([]renderedDoc, error) {
	dir, err := c.chartDir(spec)
	if err != nil {
		return nil, err
	}
	helm, err := binary("helm")
	if err != nil {
		return nil, err
	}
	values, err := yaml.Marshal(spec.Values)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(c.dir, "helm-")
	if err != nil {
		return nil, err
	}
	valuesFile := filepath.Join(tmp, "values.yaml")
	if err := os.WriteFile(valuesFile, values, 0o600); err != nil {
		return nil, err
	}
	name := spec.Name
	if name == "" {
		name = path.Base(spec.Chart)
	}
	args := []string{"template", name, dir, "--namespace", spec.Namespace, "--kube-version", c.version,
		"--skip-tests", "--values", valuesFile}
	if spec.SkipCrds {
		args = append(args, "--skip-crds")
	} else {
		args = append(args, "--include-crds")
	}
	apis, err := c.apiVersions()
	if err != nil {
		return nil, err
	}
	for _, a := range apis {
		args = append(args, "--api-versions", a)
	}
	out, err := runHelm(helm, tmp, args...)
	if err != nil {
		return nil, fmt.Errorf("helm template %s %s: %w", spec.key(), spec.Version, err)
	}
	return splitRendered(spec.key(), out)
}

// runHelm runs helm with its cache, configuration and data under home
// (nothing of the user's), and returns its standard output.
func runHelm(helm, home string, args ...string) ([]byte, error) {
	cmd := exec.Command(helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	return out, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// splitRendered reads helm template's output into its objects, each with
// the template it came from.
func splitRendered(chart string, out []byte) ([]renderedDoc, error) {
	var docs []renderedDoc
	for _, part := range docSeparator.Split(string(out), -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(part), &obj); err != nil {
			return nil, fmt.Errorf("helm template %s: %w\n%s", chart, err, part)
		}
		if len(obj) == 0 {
			continue
		}
		src := ""
		if m := sourceComment.FindStringSubmatch(part); m != nil {
			src = m[1]
		}
		docs = append(docs, renderedDoc{template: src, obj: obj})
	}
	return docs, nil
}
