package xlate

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// GoldenDir holds the reviewed renders (tests/testdata/golden); the root
// module's golden test proves they equal the program's output.
var GoldenDir = filepath.Join("..", "testdata", "golden")

// gatewayKinds are the kinds of the objects fed to the translators: what the
// gateway package renders for Envoy Gateway and the AI Gateway, and the core
// objects they reference.
var gatewayKinds = []string{
	"GatewayClass", "Gateway", "EnvoyProxy",
	"ClientTrafficPolicy", "SecurityPolicy", "BackendTrafficPolicy",
	"Backend", "BackendTLSPolicy", "AIServiceBackend", "AIGatewayRoute", "BackendSecurityPolicy",
	"HTTPRoute", "ReferenceGrant", "Secret", "Service",
	"InferencePool", "Namespace",
}

// contextKinds are loaded with the gateway objects but not translated: the
// checks read them (an InferencePool's selector must select their pods).
var contextKinds = []string{"Deployment", "StatefulSet"}

// Object is one Kubernetes object as rendered.
type Object map[string]any

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name is the object's metadata.name.
func (o Object) Name() string { return str(o, "metadata", "name") }

// Namespace is the object's metadata.namespace.
func (o Object) Namespace() string { return str(o, "metadata", "namespace") }

// ID is "Kind namespace/name".
func (o Object) ID() string {
	if ns := o.Namespace(); ns != "" {
		return o.Kind() + " " + ns + "/" + o.Name()
	}
	return o.Kind() + " " + o.Name()
}

// Stacks lists the golden stacks that render a Gateway.
func Stacks() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(GoldenDir, "*", "kubernetes", "gateway-*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(filepath.Dir(filepath.Dir(f))))
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// LoadGateway reads a golden stack's gateway objects (gatewayKinds) and the
// workloads the checks read (contextKinds), with each rendered Secret given
// a placeholder value of the right shape.
func LoadGateway(stack string) ([]Object, error) {
	files, err := filepath.Glob(filepath.Join(GoldenDir, stack, "kubernetes", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var o Object
		if err := yaml.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if svc := chartService(o); svc != nil {
			out = append(out, svc)
			continue
		}
		if !slices.Contains(gatewayKinds, o.Kind()) && !slices.Contains(contextKinds, o.Kind()) {
			continue
		}
		out = append(out, unredact(o))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no gateway objects in %s", filepath.Join(GoldenDir, stack))
	}
	return out, nil
}

// redacted is how the render writes a secret value.
const redacted = "[secret]"

// placeholderClient names the one key of a placeholder Secret: API-key
// Secrets map client ids to keys, and the translators only read the shape.
const placeholderClient = "placeholder-client"

// unredact gives a rendered Secret a one-key value (the render hides the
// whole stringData or data map as "[secret]"), and moves stringData into
// data as the API server does on write: Envoy Gateway reads only data, and
// egctl's loader does not convert.
func unredact(o Object) Object {
	if o.Kind() != "Secret" {
		return o
	}
	if o["stringData"] == redacted || o["data"] == redacted {
		delete(o, "stringData")
		o["data"] = map[string]any{placeholderClient: base64.StdEncoding.EncodeToString([]byte("placeholder-value"))}
	}
	if sd, ok := o["stringData"].(map[string]any); ok {
		data, _ := o["data"].(map[string]any)
		if data == nil {
			data = map[string]any{}
		}
		for k, v := range sd {
			s, _ := v.(string)
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
		o["data"] = data
		delete(o, "stringData")
	}
	return o
}

// deepCopy copies an object's nested maps and slices.
func deepCopy(o Object) Object {
	var cp func(v any) any
	cp = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			m := make(map[string]any, len(t))
			for k, x := range t {
				m[k] = cp(x)
			}
			return m
		case Object:
			return cp(map[string]any(t))
		case []any:
			l := make([]any, len(t))
			for i, x := range t {
				l[i] = cp(x)
			}
			return l
		default:
			return v
		}
	}
	return Object(cp(map[string]any(o)).(map[string]any))
}

// Marshal writes objects as one multi-document YAML stream.
func Marshal(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.ID(), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// str walks nested maps and returns the string at the path, or "".
func str(v any, path ...string) string {
	s, _ := dig(v, path...).(string)
	return s
}

// dig walks nested maps along path; nil when a step is missing.
func dig(v any, path ...string) any {
	for _, p := range path {
		if o, ok := v.(Object); ok {
			v = map[string]any(o)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// list is v as a slice (nil otherwise).
func list(v any) []any { l, _ := v.([]any); return l }

// chartService is the Service a rendered Helm release's chart creates, for
// the charts whose Service a route of the platform names and that are not
// Go modules (so tests/crd/kubeapi cannot render them either): the
// open-webui chart 16.0.0 (templates/service.yaml) names its Service after
// the release's fullname, the release name when it contains the chart's
// name, with port service.port (default 80) to the container port "http".
// Nil for any other object.
func chartService(o Object) Object {
	rel, _ := o["helmRelease"].(map[string]any)
	if rel == nil || str(rel, "chart") != "open-webui" || !strings.Contains(str(rel, "name"), "open-webui") {
		return nil
	}
	port := dig(rel, "values", "service", "port")
	if port == nil {
		port = 80
	}
	return Object{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata":   map[string]any{"name": str(rel, "name"), "namespace": str(rel, "namespace")},
		// The API server assigns a cluster IP; egctl routes to it.
		"spec": map[string]any{"clusterIP": "10.100.0.80", "ports": []any{map[string]any{
			"name": "http", "port": port, "targetPort": "http",
		}}},
	}
}
