package epp

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	configapi "sigs.k8s.io/gateway-api-inference-extension/apix/config/v1alpha1"
)

// Module is the upstream module, at the version go.mod pins.
const Module = "sigs.k8s.io/gateway-api-inference-extension"

var moduleDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go list -m %s: %w: %s", Module, err, ee.Stderr)
		}
		return "", fmt.Errorf("go list -m %s: %w", Module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: module not downloaded", Module)
	}
	return dir, nil
})

// ModuleDir is the upstream module's source directory (the module cache).
func ModuleDir() (string, error) { return moduleDir() }

// pkgDir is the directory of one of the module's packages.
func pkgDir(importPath string) (string, error) {
	rel, ok := strings.CutPrefix(importPath, Module+"/")
	if !ok {
		return "", fmt.Errorf("%s is not in %s", importPath, Module)
	}
	dir, err := ModuleDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

// parsePkg parses a package's non-test files.
func parsePkg(importPath string) ([]*ast.File, error) {
	dir, err := pkgDir(importPath)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// constString is the value of a string constant of a package.
func constString(importPath, name string) (string, error) {
	files, err := parsePkg(importPath)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name != name || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						return "", fmt.Errorf("%s.%s is not a string literal", importPath, name)
					}
					return strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return "", fmt.Errorf("no constant %s in %s", name, importPath)
}

// RunnerSource is the file whose startup this harness mirrors.
const RunnerSource = "cmd/epp/runner/runner.go"

// RunnerCalls returns, for every call of fn (a "pkg.Func" selector) in the
// body of method in runner.go, its arguments as qualified identifiers
// ("import/path.Name").
func RunnerCalls(method, fn string) ([][]string, error) {
	dir, err := ModuleDir()
	if err != nil {
		return nil, err
	}
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, RunnerSource), nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	imports := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := path.Base(p)
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	qualified := func(e ast.Expr) (string, error) {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return "", fmt.Errorf("%s: argument %T is not pkg.Name", RunnerSource, e)
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok || imports[x.Name] == "" {
			return "", fmt.Errorf("%s: %T.%s is not an imported package's", RunnerSource, sel.X, sel.Sel.Name)
		}
		return imports[x.Name] + "." + sel.Sel.Name, nil
	}
	var calls [][]string
	found := false
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != method || fd.Body == nil {
			continue
		}
		found = true
		var walkErr error
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || walkErr != nil {
				return walkErr == nil
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name+"."+sel.Sel.Name != fn {
				return true
			}
			var args []string
			for _, a := range call.Args {
				q, err := qualified(a)
				if err != nil {
					walkErr = err
					return false
				}
				args = append(args, q)
			}
			calls = append(calls, args)
			return true
		})
		if walkErr != nil {
			return nil, walkErr
		}
	}
	if !found {
		return nil, fmt.Errorf("%s has no %s", RunnerSource, method)
	}
	return calls, nil
}

// qualifiedConst resolves "import/path.Name" to the constant's value.
func qualifiedConst(q string) (string, error) {
	i := strings.LastIndex(q, ".")
	return constString(q[:i], q[i+1:])
}

// RunnerRegistrations maps each plugin type runner.go registers to its
// factory ("import/path.Func").
func RunnerRegistrations() (map[string]string, error) {
	calls, err := RunnerCalls("registerInTreePlugins", "fwkplugin.Register")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range calls {
		if len(c) != 2 {
			return nil, fmt.Errorf("%s: fwkplugin.Register call with %d arguments", RunnerSource, len(c))
		}
		typ, err := qualifiedConst(c[0])
		if err != nil {
			return nil, err
		}
		out[typ] = c[1]
	}
	return out, nil
}

// RunnerFeatureGates are the gates runner.go registers.
func RunnerFeatureGates() ([]string, error) {
	calls, err := RunnerCalls("parseConfigurationPhaseOne", "loader.RegisterFeatureGate")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range calls {
		g, err := qualifiedConst(c[0])
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// FuncName is a function's qualified name ("import/path.Func").
func FuncName(f any) string {
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}

// ParamStruct is where a plugin's factory decodes its parameters: a struct
// of the factory's package, or none (the factory ignores them).
type ParamStruct struct {
	Package string // import path
	Struct  string // "" when the factory takes no parameters
	Factory string // the factory, to check the "none" entries
}

const plugins = Module + "/pkg/epp/framework/plugins/"

// ParamStructs are the parameter structs, by plugin type, of the plugins
// the platform's file names and those the loader adds (TestParamStructs).
var ParamStructs = map[string]ParamStruct{
	"concurrency-detector":         {plugins + "flowcontrol/saturationdetector/concurrency", "apiConfig", ""},
	"utilization-detector":         {plugins + "flowcontrol/saturationdetector/utilization", "apiConfig", ""},
	"metrics-data-source":          {plugins + "datalayer/source/metrics", "metricsDatasourceParams", ""},
	"core-metrics-extractor":       {plugins + "datalayer/extractor/metrics", "modelServerExtractorParams", ""},
	"max-score-picker":             {plugins + "scheduling/picker", "pickerParameters", ""},
	"static-usage-limit-policy":    {plugins + "flowcontrol/usagelimits", "staticPolicyConfig", ""},
	"approx-prefix-cache-producer": {plugins + "requestcontrol/dataproducer/approximateprefix", "config", ""},
	// The loader hands the scorer's parameters to the prefix data producer
	// it creates (pkg/epp/config/loader/configloader.go instantiatePlugins);
	// the scorer's own factory ignores them.
	"prefix-cache-scorer":           {plugins + "requestcontrol/dataproducer/approximateprefix", "config", ""},
	"queue-scorer":                  {plugins + "scheduling/scorer/queuedepth", "", "QueueScorerFactory"},
	"kv-cache-utilization-scorer":   {plugins + "scheduling/scorer/kvcacheutilization", "", "KvCacheUtilizationScorerFactory"},
	"single-profile-handler":        {plugins + "scheduling/profile", "", "SingleProfileHandlerFactory"},
	"round-robin-fairness-policy":   {plugins + "flowcontrol/fairness", "", "RoundRobinFairnessPolicyFactory"},
	"global-strict-fairness-policy": {plugins + "flowcontrol/fairness", "", "GlobalStrictFairnessPolicyFactory"},
	"fcfs-ordering-policy":          {plugins + "flowcontrol/ordering", "", "FCFSOrderingPolicyFactory"},
	"inflight-load-producer":        {plugins + "requestcontrol/requestdataproducer/inflightload", "", "InFlightLoadProducerFactory"},
	"openai-parser":                 {plugins + "requesthandling/parsers/openai", "", "OpenAIParserPluginFactory"},
}

// StructJSONFields are the json names of a struct's fields, read from the
// package source (embedded fields are not supported).
func StructJSONFields(importPath, name string) ([]string, error) {
	files, err := parsePkg(importPath)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if ts.Name.Name != name || !ok {
					continue
				}
				var names []string
				for _, fl := range st.Fields.List {
					if len(fl.Names) == 0 {
						return nil, fmt.Errorf("%s.%s embeds a field", importPath, name)
					}
					tag := ""
					if fl.Tag != nil {
						t, _ := strconv.Unquote(fl.Tag.Value)
						tag = reflect.StructTag(t).Get("json")
					}
					jsonName, _, _ := strings.Cut(tag, ",")
					if jsonName == "-" {
						continue
					}
					for _, n := range fl.Names {
						if !n.IsExported() {
							continue
						}
						if jsonName != "" {
							names = append(names, jsonName)
						} else {
							names = append(names, n.Name)
						}
					}
				}
				return names, nil
			}
		}
	}
	return nil, fmt.Errorf("no struct %s in %s", name, importPath)
}

// FactoryIgnoresParams reports whether a factory's parameters argument is
// the blank identifier.
func FactoryIgnoresParams(importPath, factory string) (bool, error) {
	files, err := parsePkg(importPath)
	if err != nil {
		return false, err
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Name.Name != factory {
				continue
			}
			params := fd.Type.Params.List
			var names []string
			for _, p := range params {
				for _, n := range p.Names {
					names = append(names, n.Name)
				}
			}
			if len(names) != 3 {
				return false, fmt.Errorf("%s.%s: want (name, parameters, handle), got %v", importPath, factory, names)
			}
			return names[1] == "_", nil
		}
	}
	return false, fmt.Errorf("no function %s in %s", factory, importPath)
}

// CheckParams holds each plugin's parameters to its parameter struct: the
// top-level keys must be json names of that struct's fields, spelt exactly
// (encoding/json would ignore an unknown key and match a known one in any
// case). The values' types are checked by the factories themselves.
func CheckParams(specs []configapi.PluginSpec) error {
	var errs []error
	for _, s := range specs {
		if len(s.Parameters) == 0 || string(s.Parameters) == "null" {
			continue
		}
		ps, ok := ParamStructs[s.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("plugin %q (type %s): no parameter struct known for the type: add it to ParamStructs", s.Name, s.Type))
			continue
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(s.Parameters, &keys); err != nil {
			errs = append(errs, fmt.Errorf("plugin %q (type %s): parameters: %w", s.Name, s.Type, err))
			continue
		}
		var allowed []string
		if ps.Struct != "" {
			var err error
			if allowed, err = StructJSONFields(ps.Package, ps.Struct); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		for k := range keys {
			if !slices.Contains(allowed, k) {
				errs = append(errs, fmt.Errorf("plugin %q (type %s): unknown parameter %q (the factory ignores it; known: %v)", s.Name, s.Type, k, allowed))
			}
		}
	}
	return errors.Join(errs...)
}
