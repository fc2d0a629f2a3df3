package xlate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Gateway API Inference Extension InferencePools (inference.networking.k8s.io/v1).
//
// The AI Gateway translation (v1.0.0) takes an AIGatewayRoute backendRef to
// an InferencePool as is: it copies the reference into the HTTPRoute, with
// the route's namespace, and neither reads the pool nor needs its CRD (its
// scheme already installs the v1 types); the pool objects pass through its
// output untouched.
//
// egctl v1.8.3 can take neither: its loader knows no InferencePool kind
// (`no kind "InferencePool" is registered for version
// "inference.networking.k8s.io/v1"`), and its translator treats a pool only
// as a custom backend of an extension manager
// (extensionManager.backendResources), which egctl cannot be given; an
// HTTPRoute backendRef to a pool is ResolvedRefs=False (InvalidKind).
// Nor does its loader keep a Namespace's labels, so a listener's
// `allowedRoutes.namespaces.from: Selector` admits no route offline
// (NotAllowedByListeners).
//
// So, between the two translators, standIns replaces
//   - each InferencePool by a stand-in Backend (PoolStandIn), one FQDN
//     endpoint per target port, and each HTTPRoute backendRef to the pool
//     by a reference to it: Envoy Gateway then builds the route rule's
//     cluster, timeouts and per-route policies as it does for the pool
//     (in a cluster the AI Gateway's extension server turns that cluster
//     into an ORIGINAL_DST cluster and adds the endpoint picker's
//     external processor, neither of which runs offline);
//   - each `from: Selector` listener by `from: All`; CheckListenerNamespaces
//     evaluates the selector itself, against the rendered Namespaces'
//     labels plus the kubernetes.io/metadata.name label the API server sets.
// CheckPools checks what the pool promises instead of Envoy: its selector
// selects a rendered workload's pods, its target ports are their container
// ports, its endpoint picker Service exists with the referenced port.

const (
	inferencePoolGroup = "inference.networking.k8s.io"
	inferencePoolKind  = "InferencePool"
	// defaultPickerPort: endpointPickerRef.port is required for a Service
	// (CRD validation); 9002 is the AI Gateway's default.
	defaultPickerPort = 9002
)

// PoolStandIn is the name of the Backend that stands in for an InferencePool
// in egctl's input.
func PoolStandIn(pool string) string { return "inferencepool-" + pool }

// poolEndpoint is a stand-in Backend's endpoint for one target port: a name
// that says which pool it stands for and resolves nowhere.
func poolEndpoint(namespace, pool string, port any) string {
	return fmt.Sprintf("%s.%s.inferencepool.invalid:%v", pool, namespace, port)
}

// isPoolRef: a backendRef (AIGatewayRoute or HTTPRoute) to an InferencePool.
func isPoolRef(ref any) bool {
	return str(ref, "group") == inferencePoolGroup && str(ref, "kind") == inferencePoolKind
}

// poolEndpoints are the stand-in endpoints of a pool object, sorted.
func poolEndpoints(pool Object) []string {
	var out []string
	for _, p := range list(dig(pool, "spec", "targetPorts")) {
		out = append(out, poolEndpoint(pool.Namespace(), pool.Name(), dig(p, "number")))
	}
	sort.Strings(out)
	return out
}

// standIns rewrites the AI Gateway's output for egctl (see above) and says
// what it replaced.
func standIns(objs []Object) (out []Object, notes []string) {
	pools := map[string]bool{} // namespace/name
	for _, o := range objs {
		switch {
		case o.Kind() == inferencePoolKind && str(o, "apiVersion") == inferencePoolGroup+"/v1":
			pools[o.Namespace()+"/"+o.Name()] = true
			var eps []any
			for _, p := range list(dig(o, "spec", "targetPorts")) {
				eps = append(eps, map[string]any{"fqdn": map[string]any{
					"hostname": fmt.Sprintf("%s.%s.inferencepool.invalid", o.Name(), o.Namespace()),
					"port":     dig(p, "number"),
				}})
			}
			out = append(out, Object{
				"apiVersion": "gateway.envoyproxy.io/v1alpha1",
				"kind":       "Backend",
				"metadata":   map[string]any{"name": PoolStandIn(o.Name()), "namespace": o.Namespace()},
				"spec":       map[string]any{"endpoints": eps},
			})
			notes = append(notes, fmt.Sprintf("%s -> Backend %s/%s", o.ID(), o.Namespace(), PoolStandIn(o.Name())))
			continue
		case o.Kind() == "Gateway":
			for _, l := range list(dig(o, "spec", "listeners")) {
				ns, _ := dig(l, "allowedRoutes", "namespaces").(map[string]any)
				if ns != nil && ns["from"] == "Selector" {
					ns["from"] = "All"
					delete(ns, "selector")
					notes = append(notes, fmt.Sprintf("%s listener %s: from Selector -> All", o.ID(), str(l, "name")))
				}
			}
		}
		out = append(out, o)
	}
	for _, o := range out {
		if o.Kind() != "HTTPRoute" {
			continue
		}
		for _, r := range list(dig(o, "spec", "rules")) {
			for _, ref := range list(dig(r, "backendRefs")) {
				m := ref.(map[string]any)
				if !isPoolRef(m) {
					continue
				}
				ns := str(m, "namespace")
				if ns == "" {
					ns = o.Namespace()
				}
				// A reference to a pool that is not there stays as is:
				// egctl's InvalidKind stands for the cluster's
				// BackendNotFound, and CheckPools names the pool.
				if !pools[ns+"/"+str(m, "name")] {
					continue
				}
				m["group"], m["kind"], m["name"] = "gateway.envoyproxy.io", "Backend", PoolStandIn(str(m, "name"))
			}
		}
	}
	return out, notes
}

// podTemplates are the pod templates of the rendered workloads, by namespace.
func podTemplates(objs []Object) map[string][]any {
	out := map[string][]any{}
	for _, o := range objs {
		if slices.Contains(contextKinds, o.Kind()) {
			out[o.Namespace()] = append(out[o.Namespace()], dig(o, "spec", "template"))
		}
	}
	return out
}

// labelSelector is a rendered metav1.LabelSelector (matchLabels and
// matchExpressions), matched as the API machinery does; written out here to
// keep the Kubernetes libraries out of this module.
type labelSelector struct {
	matchLabels map[string]string
	exprs       []any
}

func selector(v any) (labelSelector, error) {
	s := labelSelector{matchLabels: labelSet(dig(v, "matchLabels")), exprs: list(dig(v, "matchExpressions"))}
	for _, e := range s.exprs {
		switch str(e, "operator") {
		case "In", "NotIn", "Exists", "DoesNotExist":
		default:
			return s, fmt.Errorf("unknown operator %q", str(e, "operator"))
		}
	}
	return s, nil
}

// Empty: the selector selects everything.
func (s labelSelector) Empty() bool { return len(s.matchLabels) == 0 && len(s.exprs) == 0 }

func (s labelSelector) Matches(l map[string]string) bool {
	for k, v := range s.matchLabels {
		if got, ok := l[k]; !ok || got != v {
			return false
		}
	}
	for _, e := range s.exprs {
		v, ok := l[str(e, "key")]
		in := slices.ContainsFunc(list(dig(e, "values")), func(x any) bool { return x == v })
		switch str(e, "operator") {
		case "In":
			if !ok || !in {
				return false
			}
		case "NotIn":
			if ok && in {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		}
	}
	return true
}

func (s labelSelector) String() string {
	var parts []string
	for _, k := range sortedKeys(s.matchLabels) {
		parts = append(parts, k+"="+s.matchLabels[k])
	}
	for _, e := range s.exprs {
		parts = append(parts, fmt.Sprintf("%s %s %v", str(e, "key"), str(e, "operator"), list(dig(e, "values"))))
	}
	return strings.Join(parts, ",")
}

// labelSet is a map of string labels.
func labelSet(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, x := range m {
		s, _ := x.(string)
		out[k] = s
	}
	return out
}

// CheckPools requires every AIGatewayRoute backendRef to an InferencePool
// to name a rendered pool in the route's namespace (the AI Gateway sets
// that namespace, and Envoy Gateway finds the pool nowhere else), and every
// pool to select the pods of a rendered workload in its namespace, on
// container ports of theirs, with its endpoint picker Service rendered in
// its namespace, on the referenced port, selecting rendered pods.
func CheckPools(objs []Object) []string {
	var p []string
	pools := map[string]Object{}
	services := map[string]Object{}
	for _, o := range objs {
		switch o.Kind() {
		case inferencePoolKind:
			pools[o.Namespace()+"/"+o.Name()] = o
		case "Service":
			services[o.Namespace()+"/"+o.Name()] = o
		}
	}
	for _, o := range objs {
		if o.Kind() != "AIGatewayRoute" {
			continue
		}
		for i, r := range list(dig(o, "spec", "rules")) {
			for _, ref := range list(dig(r, "backendRefs")) {
				if !isPoolRef(ref) {
					continue
				}
				if ns := str(ref, "namespace"); ns != "" && ns != o.Namespace() {
					p = append(p, fmt.Sprintf("%s rule %d: InferencePool %s/%s is in another namespace; the AI Gateway routes to the pool of that name in the route's namespace %s", o.ID(), i, ns, str(ref, "name"), o.Namespace()))
				}
				if _, ok := pools[o.Namespace()+"/"+str(ref, "name")]; !ok {
					p = append(p, fmt.Sprintf("%s rule %d: InferencePool %s/%s is not rendered", o.ID(), i, o.Namespace(), str(ref, "name")))
				}
			}
		}
	}
	pods := podTemplates(objs)
	for _, key := range sortedKeys(pools) {
		pool := pools[key]
		id := pool.ID()
		sel, err := selector(dig(pool, "spec", "selector"))
		switch {
		case err != nil:
			p = append(p, fmt.Sprintf("%s: selector: %v", id, err))
		case sel.Empty():
			p = append(p, id+": empty selector (would select every pod in the namespace)")
		default:
			var selected []any
			for _, t := range pods[pool.Namespace()] {
				if sel.Matches(labelSet(dig(t, "metadata", "labels"))) {
					selected = append(selected, t)
				}
			}
			if len(selected) == 0 {
				p = append(p, fmt.Sprintf("%s: selector %s selects no rendered workload's pods in namespace %s", id, sel, pool.Namespace()))
			}
			for _, tp := range list(dig(pool, "spec", "targetPorts")) {
				for _, t := range selected {
					if !hasContainerPort(t, dig(tp, "number")) {
						p = append(p, fmt.Sprintf("%s: target port %v is no container port of the pods it selects (%s)", id, dig(tp, "number"), str(t, "metadata", "labels", "app.kubernetes.io/instance")))
						break
					}
				}
			}
		}
		if len(list(dig(pool, "spec", "targetPorts"))) == 0 {
			p = append(p, id+": no target ports")
		}
		epp := dig(pool, "spec", "endpointPickerRef")
		if k := str(epp, "kind"); k != "" && k != "Service" {
			p = append(p, fmt.Sprintf("%s: endpoint picker is a %s; only a Service is checked", id, k))
			continue
		}
		port := dig(epp, "port", "number")
		if port == nil {
			port = defaultPickerPort
		}
		svc, ok := services[pool.Namespace()+"/"+str(epp, "name")]
		if !ok {
			p = append(p, fmt.Sprintf("%s: endpoint picker Service %s/%s is not rendered", id, pool.Namespace(), str(epp, "name")))
			continue
		}
		i := slices.IndexFunc(list(dig(svc, "spec", "ports")), func(sp any) bool { return fmt.Sprint(dig(sp, "port")) == fmt.Sprint(port) })
		if i < 0 {
			p = append(p, fmt.Sprintf("%s: endpoint picker %s has no port %v", id, svc.ID(), port))
			continue
		}
		p = append(p, checkServicePods(id+": endpoint picker", svc, list(dig(svc, "spec", "ports"))[i], pods[pool.Namespace()])...)
	}
	return p
}

// hasContainerPort: a container of the pod template has the port, by
// number or (for a Service's named targetPort) by name.
func hasContainerPort(template any, port any) bool {
	for _, c := range list(dig(template, "spec", "containers")) {
		for _, cp := range list(dig(c, "ports")) {
			if fmt.Sprint(dig(cp, "containerPort")) == fmt.Sprint(port) || str(cp, "name") == fmt.Sprint(port) {
				return true
			}
		}
	}
	return false
}

// checkServicePods: a Service selects some rendered pods, and its port's
// target is one of their container ports.
func checkServicePods(what string, svc Object, port any, templates []any) []string {
	sel, err := selector(map[string]any{"matchLabels": dig(svc, "spec", "selector")})
	if err != nil || sel.Empty() {
		return []string{fmt.Sprintf("%s %s has no selector", what, svc.ID())}
	}
	target := dig(port, "targetPort")
	if target == nil {
		target = dig(port, "port")
	}
	found := false
	for _, t := range templates {
		if !sel.Matches(labelSet(dig(t, "metadata", "labels"))) {
			continue
		}
		found = true
		if !hasContainerPort(t, target) {
			return []string{fmt.Sprintf("%s %s: target port %v is no container port of the pods it selects", what, svc.ID(), target)}
		}
	}
	if !found {
		return []string{fmt.Sprintf("%s %s: selector %s selects no rendered workload's pods", what, svc.ID(), sel)}
	}
	return nil
}

// CheckListenerNamespaces requires every HTTPRoute the AI Gateway generated
// to be admitted by a listener of each Gateway it names, by the listener's
// allowedRoutes namespaces (Same, All, or a selector over the Namespace's
// labels, evaluated here because egctl's loader drops them).
func CheckListenerNamespaces(objs []Object, res *Result) []string {
	nsLabels := map[string]map[string]string{}
	gateways := map[string]Object{}
	for _, o := range objs {
		switch o.Kind() {
		case "Namespace":
			l := labelSet(dig(o, "metadata", "labels"))
			l["kubernetes.io/metadata.name"] = o.Name() // set by the API server
			nsLabels[o.Name()] = l
		case "Gateway":
			gateways[o.Namespace()+"/"+o.Name()] = o
		}
	}
	var p []string
	for _, r := range res.AIGateway {
		if r.Kind() != "HTTPRoute" {
			continue
		}
		for _, pr := range list(dig(r, "spec", "parentRefs")) {
			if k := str(pr, "kind"); k != "" && k != "Gateway" {
				continue
			}
			gwNS := str(pr, "namespace")
			if gwNS == "" {
				gwNS = r.Namespace()
			}
			gw, ok := gateways[gwNS+"/"+str(pr, "name")]
			if !ok {
				p = append(p, fmt.Sprintf("%s: parent Gateway %s/%s is not rendered", r.ID(), gwNS, str(pr, "name")))
				continue
			}
			var why []string
			admitted := false
			for _, l := range list(dig(gw, "spec", "listeners")) {
				if s := str(pr, "sectionName"); s != "" && s != str(l, "name") {
					continue
				}
				from := str(l, "allowedRoutes", "namespaces", "from")
				switch from {
				case "", "Same":
					admitted = admitted || r.Namespace() == gw.Namespace()
				case "All":
					admitted = true
				case "Selector":
					sel, err := selector(dig(l, "allowedRoutes", "namespaces", "selector"))
					if err != nil {
						why = append(why, fmt.Sprintf("listener %s: selector: %v", str(l, "name"), err))
						continue
					}
					ls, ok := nsLabels[r.Namespace()]
					if !ok {
						why = append(why, fmt.Sprintf("listener %s: Namespace %s is not rendered, its labels unknown", str(l, "name"), r.Namespace()))
						continue
					}
					admitted = admitted || sel.Matches(ls)
				}
				why = append(why, fmt.Sprintf("listener %s from %s", str(l, "name"), from))
			}
			if !admitted {
				p = append(p, fmt.Sprintf("%s: no listener of %s admits routes from namespace %s (NotAllowedByListeners): %v", r.ID(), gw.ID(), r.Namespace(), why))
			}
		}
	}
	return p
}
