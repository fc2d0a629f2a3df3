package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Result is everything one offline run of the program declared.
type Result struct {
	Resources []Resource
	// Calls are the invoke tokens the program made, in order.
	Calls []string
}

// Run executes program under Pulumi mocks with the given stack config, the
// way `pulumi preview` would run it but without an engine or providers. It
// returns what was registered even when the program fails, so tests can
// check that a bad config registered nothing.
func Run(program pulumi.RunFunc, sc *StackConfig, region string) (*Result, error) {
	m := &Mocks{Project: sc.Project, Stack: sc.Stack, Region: region}
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = sc.Values
		info.ConfigSecretKeys = sc.SecretKeys
	}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		m.ctx = ctx
		return program(ctx)
	}, pulumi.WithMocks(sc.Project, sc.Stack, m), withConfig)
	res := &Result{Resources: m.Resources(), Calls: m.Calls()}
	if err == nil {
		err = res.CheckUnique(FakeCallerARN)
	}
	if err == nil {
		err = res.CheckInputs()
	}
	return res, err
}

// CheckUnique fails when two declared resources (or a declared resource
// and one AWS creates by itself for the deploying principal caller) share
// a key AWS keeps unique: the second create would fail in AWS.
func (r *Result) CheckUnique(caller string) error {
	owner := map[string]string{}
	var errs []string
	take := func(k UniqueKey, who string) {
		if prev, ok := owner[k.Key]; ok {
			errs = append(errs, fmt.Sprintf("%s and %s: %s", prev, who, k.Error))
			return
		}
		owner[k.Key] = who
	}
	for _, res := range r.Resources {
		in := resource.NewPropertyMapFromMap(res.Inputs)
		// The creator's access entry. (EKS's log group is created only if
		// none exists, so a declared one is a question of order, which the
		// engine tests check.)
		kept, _ := ImplicitKeys(res.Type, in, caller)
		for _, k := range kept {
			take(k, "EKS (for the cluster creator of "+res.URN+")")
		}
	}
	for _, res := range r.Resources {
		for _, k := range UniqueKeys(res.Type, resource.NewPropertyMapFromMap(res.Inputs)) {
			take(k, res.URN)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the program declares what AWS keeps unique twice:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// Region returns the stack's aws:region, defaulting to us-east-1 for the
// offline render.
func (sc *StackConfig) Region() string {
	if r := sc.Values["aws:region"]; r != "" {
		return r
	}
	return "us-east-1"
}

// Write writes resources.json and kubernetes/ under dir, replacing what was
// there. Output is byte-for-byte deterministic for the same result.
func (r *Result) Write(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "kubernetes"), 0o755); err != nil {
		return err
	}
	b, err := r.ResourcesJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resources.json"), b, 0o644); err != nil {
		return err
	}
	files, err := r.KubernetesFiles()
	if err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, "kubernetes", name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ResourcesJSON is the content of resources.json: every resource sorted by
// URN (encoding/json sorts map keys, so nested inputs are ordered too).
func (r *Result) ResourcesJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.Resources); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// KubernetesFiles renders one YAML document per Kubernetes object the
// program declares, keyed by file name (<kind>-<logical name>.yaml). Helm
// releases are written as their chart, repository, version, namespace and
// values, a YAML ConfigFile as the file it applies; providers are skipped
// (their kubeconfig is a secret anyway).
func (r *Result) KubernetesFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, res := range r.Resources {
		if !strings.HasPrefix(res.Type, "kubernetes:") {
			continue
		}
		kind := strings.ToLower(lastSegment(res.Type))
		doc := res.Inputs
		switch res.Type {
		case "kubernetes:helm.sh/v3:Release":
			doc = map[string]any{"helmRelease": pick(res.Inputs,
				"name", "chart", "version", "repositoryOpts", "namespace", "createNamespace", "values", "skipCrds", "atomic", "timeout")}
		case "kubernetes:helm.sh/v4:Chart":
			doc = map[string]any{"helmChart": pick(res.Inputs,
				"name", "chart", "version", "repositoryOpts", "namespace", "values", "skipCrds")}
		case "kubernetes:yaml/v2:ConfigFile":
			doc = map[string]any{"yamlConfigFile": pick(res.Inputs, "file", "skipAwait")}
		}
		name := unsafeFileChars.ReplaceAllString(kind+"-"+res.Name, "_") + ".yaml"
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("render: two Kubernetes objects map to %s", name)
		}
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# %s\n", res.URN)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
		files[name] = buf.Bytes()
	}
	return files, nil
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
