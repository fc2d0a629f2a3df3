package crd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/llm-platform/llm-platform/versions"
)

// Source is a set of CRD files inside an upstream Go module. The module's
// version is the one this module's go.mod requires (see deps.go), which a
// test pins to the version the platform deploys.
type Source struct {
	Module string
	// Version, when set, is fetched from the module cache (or the module
	// proxy) directly, without being a requirement of this module: for
	// projects whose Go dependency graph is not worth importing.
	Version string
	// Globs are paths inside the module.
	Globs []string
}

// Sources are every CRD the rendered objects may use.
var Sources = []Source{
	// Karpenter v1: NodePool, NodeClaim (karpenter.sh) and EC2NodeClass
	// (karpenter.k8s.aws), generated into the AWS provider's module.
	{Module: "github.com/aws/karpenter-provider-aws", Globs: []string{"pkg/apis/crds/*.yaml"}},
	// Gateway API (GatewayClass, Gateway, HTTPRoute...), experimental
	// channel as Envoy Gateway's CRD chart installs it.
	{Module: "sigs.k8s.io/gateway-api", Globs: []string{"config/crd/experimental/gateway.networking.k8s.io_*.yaml"}},
	// Envoy Gateway (EnvoyProxy, Backend, SecurityPolicy, traffic policies).
	{Module: "github.com/envoyproxy/gateway", Globs: []string{"charts/gateway-helm/charts/crds/crds/generated/*.yaml"}},
	// Envoy AI Gateway (AIGatewayRoute, AIServiceBackend...).
	{Module: "github.com/envoyproxy/ai-gateway", Globs: []string{"manifests/charts/ai-gateway-crds-helm/templates/*.yaml"}},
	// Gateway API Inference Extension: InferencePool
	// (inference.networking.k8s.io/v1, with its CEL rules) and the
	// optional x-k8s.io kinds the endpoint picker watches
	// (InferenceObjective, InferenceModelRewrite, InferencePoolImport).
	// These are the files the release's manifests.yaml, which the program
	// installs, is the kustomize build of (config/crd/kustomization.yaml).
	{Module: "sigs.k8s.io/gateway-api-inference-extension", Globs: []string{"config/crd/bases/*.yaml"}},
	// KEDA (ScaledObject).
	{Module: "github.com/kedacore/keda/v2", Version: "v" + versions.KEDAVersion, Globs: []string{"config/crd/bases/keda.sh_*.yaml"}},
	// Prometheus operator (ServiceMonitor, PodMonitor, PrometheusRule).
	{Module: "github.com/prometheus-operator/prometheus-operator", Version: versions.PrometheusOperatorVersion, Globs: []string{"example/prometheus-operator-crd/*.yaml"}},
}

// Module is a resolved module of the build list.
type Module struct {
	Path    string
	Version string
	Dir     string
}

// ResolveModule asks the go command where a required module lives in the
// module cache (downloading it through the module proxy if needed).
func ResolveModule(path string) (Module, error) {
	cmd := exec.Command("go", "list", "-m", "-json", path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return Module{}, fmt.Errorf("go list -m %s: %w", path, err)
	}
	var m Module
	if err := json.Unmarshal(out, &m); err != nil {
		return Module{}, err
	}
	if m.Dir == "" {
		dl := exec.Command("go", "mod", "download", "-json", path)
		dl.Stderr = os.Stderr
		out, err := dl.Output()
		if err != nil {
			return Module{}, fmt.Errorf("go mod download %s: %w", path, err)
		}
		if err := json.Unmarshal(out, &m); err != nil {
			return Module{}, err
		}
	}
	return m, nil
}

// DownloadModule fetches an exact module version into the module cache and
// returns where it is. It runs outside any module, so the version needs no
// go.mod requirement; the checksum database still verifies it.
func DownloadModule(path, version string) (Module, error) {
	cmd := exec.Command("go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return Module{}, fmt.Errorf("go mod download %s@%s: %w", path, version, err)
	}
	var m Module
	if err := json.Unmarshal(out, &m); err != nil {
		return Module{}, err
	}
	return m, nil
}

// resolve finds the source's module: at its pinned Version when it has
// one, else at the version this module's go.mod requires.
func (s Source) resolve() (Module, error) {
	if s.Version != "" {
		return DownloadModule(s.Module, s.Version)
	}
	return ResolveModule(s.Module)
}

// sourceFile is one file a Source names, with the name it is known by
// (module@version/path).
type sourceFile struct {
	name string
	data []byte
}

// files reads every file the source's globs match in its module, in order.
func (s Source) files() (Module, []sourceFile, error) {
	m, err := s.resolve()
	if err != nil {
		return Module{}, nil, err
	}
	var out []sourceFile
	for _, g := range s.Globs {
		matches, err := filepath.Glob(filepath.Join(m.Dir, g))
		if err != nil {
			return Module{}, nil, err
		}
		sort.Strings(matches)
		for _, f := range matches {
			b, err := os.ReadFile(f)
			if err != nil {
				return Module{}, nil, err
			}
			rel, _ := filepath.Rel(m.Dir, f)
			out = append(out, sourceFile{name: fmt.Sprintf("%s@%s/%s", m.Path, m.Version, rel), data: b})
		}
	}
	return m, out, nil
}

// LoadSources builds a validator from every Source.
func LoadSources(sources []Source) (*Validator, error) {
	v := NewValidator()
	for _, s := range sources {
		m, files, err := s.files()
		if err != nil {
			return nil, err
		}
		v.Modules[m.Path] = m
		n := 0
		for _, f := range files {
			k, err := v.Load(f.name, f.data)
			if err != nil {
				return nil, err
			}
			n += k
		}
		if n == 0 {
			return nil, fmt.Errorf("no CRDs found in %s@%s %v", m.Path, m.Version, s.Globs)
		}
	}
	return v, nil
}
