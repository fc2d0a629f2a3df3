// Package chartdefaults records what the charts the platform installs but
// no test can render do by default, in the parts Kubernetes validation and
// Pod Security admission look at, and Helm's rule for merging a release's
// values over those defaults.
//
// The dcgm-exporter and kube-prometheus-stack charts ship in no Go module
// the proxy serves, so `make test` cannot `helm template` them (see
// tests/crd/kubeapi, chartsNotInModules). What their pods would look like
// is therefore copied here from the charts' values.yaml and templates at
// the pinned versions, file by file with the tag it was read at, merged
// with the golden release values by Coalesce, and dry-run applied as bare
// Pods on the real kube-apiserver of tests/crd/kubeapi in the namespace
// the chart would use. When a pin in package versions moves, re-read the
// cited files and update the defaults here.
//
// It has no dependencies, so the tests/crd module can import it.
package chartdefaults

import "strings"

// Pod is the part of one pod a chart renders that Kubernetes validation
// and Pod Security admission read, with the values paths the chart renders
// each part from.
type Pod struct {
	// Component names the workload ("dcgm-exporter", "prometheus").
	Component string
	// Source says where each default below was read.
	Source string
	// NamespaceOverride is the values path ("a.b.c") of the chart's
	// namespace override for this pod; empty, or unset in the values,
	// means the release namespace.
	NamespaceOverride string
	// SecurityContext is the pod securityContext the chart renders by
	// default, from the values path SecurityContextValues ("" when no
	// value changes it).
	SecurityContext       map[string]any
	SecurityContextValues string
	HostNetwork           bool
	HostPID               bool
	// HostPaths are the hostPath volumes the chart always mounts.
	HostPaths []string
	// Containers are the pod's containers (init containers included: Pod
	// Security treats them alike).
	Containers []Container
}

// Container is one container of a Pod.
type Container struct {
	Name string
	// SecurityContext is the default, rendered from the values path
	// SecurityContextValues ("" when no value changes it).
	SecurityContext       map[string]any
	SecurityContextValues string
}

// Spec renders the pod spec the chart would render with values (the
// release's values, before Helm merges them with the chart's): each
// securityContext is the chart default with the release's value at its
// values path coalesced over it, as Helm does. Images are placeholders:
// the API server only checks that one is set.
func (p Pod) Spec(values map[string]any) map[string]any {
	spec := map[string]any{}
	if sc := merged(p.SecurityContext, values, p.SecurityContextValues); len(sc) > 0 {
		spec["securityContext"] = sc
	}
	if p.HostNetwork {
		spec["hostNetwork"] = true
	}
	if p.HostPID {
		spec["hostPID"] = true
	}
	var volumes, mounts []any
	for i, path := range p.HostPaths {
		name := "host-" + string(rune('a'+i))
		volumes = append(volumes, map[string]any{"name": name, "hostPath": map[string]any{"path": path}})
		mounts = append(mounts, map[string]any{"name": name, "mountPath": "/host" + path, "readOnly": true})
	}
	if len(volumes) > 0 {
		spec["volumes"] = volumes
	}
	var containers []any
	for _, c := range p.Containers {
		ct := map[string]any{"name": c.Name, "image": "registry.invalid/chart-default/" + p.Component + ":0"}
		if sc := merged(c.SecurityContext, values, c.SecurityContextValues); len(sc) > 0 {
			ct["securityContext"] = sc
		}
		if len(mounts) > 0 {
			ct["volumeMounts"] = mounts
		}
		containers = append(containers, ct)
	}
	spec["containers"] = containers
	return spec
}

// Namespace is where the pod runs for a release in releaseNamespace with
// values.
func (p Pod) Namespace(releaseNamespace string, values map[string]any) string {
	if p.NamespaceOverride != "" {
		if ns, _ := Lookup(values, p.NamespaceOverride).(string); ns != "" {
			return ns
		}
	}
	return releaseNamespace
}

func merged(def, values map[string]any, path string) map[string]any {
	if path == "" {
		return DeepCopy(def)
	}
	v, ok := Lookup(values, path).(map[string]any)
	if !ok {
		return DeepCopy(def)
	}
	return Coalesce(def, v)
}

// Lookup returns the value at a dotted path ("securityContext",
// "prometheus.prometheusSpec.securityContext") of values, or nil.
func Lookup(values map[string]any, path string) any {
	var cur any = values
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// Coalesce merges a release's values over a chart's defaults the way Helm
// v3 does for a chart's own keys (helm.sh/helm/v3 v3.19.0,
// pkg/chartutil/coalesce.go: coalesceValues and coalesceTablesFullKey with
// merge=false): the release's value wins, except that two maps merge key
// by key, recursively, and a null in the release deletes the chart's key.
// Lists are replaced, never merged. Neither argument is modified.
// tests/crd/kubeapi checks it against the helm binary.
func Coalesce(defaults, values map[string]any) map[string]any {
	out := DeepCopy(values)
	if out == nil {
		out = map[string]any{}
	}
	for k, def := range defaults {
		v, set := out[k]
		switch {
		case !set:
			out[k] = deepCopyValue(def)
		case v == nil:
			delete(out, k)
		default:
			dm, dok := def.(map[string]any)
			vm, vok := v.(map[string]any)
			if dok && vok {
				out[k] = Coalesce(dm, vm)
			}
		}
	}
	return out
}

// DeepCopy copies a values map (maps and lists are copied, scalars shared).
func DeepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return DeepCopy(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}
