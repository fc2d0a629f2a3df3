package xlate

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Check returns every problem found in a translation of objs: status
// conditions the translators set (quoted), then what the xDS contradicts.
func Check(set Settings, objs []Object, res *Result) []string {
	var p []string
	p = append(p, CheckStatus(objs, res)...)
	p = append(p, CheckXDS(set, objs, res)...)
	p = append(p, CheckBackends(objs)...)
	p = append(p, CheckPools(objs)...)
	p = append(p, CheckListenerNamespaces(objs, res)...)
	p = append(p, CheckHosted(objs, res)...)
	return p
}

// condition is one metav1.Condition of a status.
type condition struct {
	Type, Status, Reason, Message string
}

func conditions(v any) []condition {
	var out []condition
	for _, c := range list(v) {
		out = append(out, condition{
			Type: str(c, "type"), Status: str(c, "status"),
			Reason: str(c, "reason"), Message: str(c, "message"),
		})
	}
	return out
}

// requireTrue reports each wanted condition type that is not True, quoting
// the translator's reason and message.
func requireTrue(what string, conds []condition, types ...string) []string {
	var p []string
	for _, t := range types {
		i := slices.IndexFunc(conds, func(c condition) bool { return c.Type == t })
		switch {
		case i < 0:
			p = append(p, fmt.Sprintf("%s: no %s condition (translator set %s)", what, t, describe(conds)))
		case conds[i].Status != "True":
			c := conds[i]
			p = append(p, fmt.Sprintf("%s: %s=%s (%s): %s", what, c.Type, c.Status, c.Reason, c.Message))
		}
	}
	return p
}

func describe(conds []condition) string {
	if len(conds) == 0 {
		return "none"
	}
	var s []string
	for _, c := range conds {
		s = append(s, fmt.Sprintf("%s=%s (%s): %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(s, "; ")
}

func objID(kind string, o any) string {
	if ns := str(o, "metadata", "namespace"); ns != "" {
		return kind + " " + ns + "/" + str(o, "metadata", "name")
	}
	return kind + " " + str(o, "metadata", "name")
}

// policyFields are egctl's output fields for policies, by kind.
var policyFields = map[string]string{
	"ClientTrafficPolicy":  "clientTrafficPolicies",
	"BackendTrafficPolicy": "backendTrafficPolicies",
	"SecurityPolicy":       "securityPolicies",
	"EnvoyExtensionPolicy": "envoyExtensionPolicies",
	"BackendTLSPolicy":     "backendTLSPolicies",
}

// CheckStatus requires the GatewayClass, every Gateway and listener, every route
// (the AI Gateway's generated HTTPRoutes) and every policy Accepted, with
// references resolved, as Envoy Gateway's translator judged them.
func CheckStatus(objs []Object, res *Result) []string {
	var p []string
	st := res.Status
	if gc := st["gatewayClass"]; gc == nil {
		p = append(p, "egctl returned no GatewayClass")
	} else {
		p = append(p, requireTrue(objID("GatewayClass", gc), conditions(dig(gc, "status", "conditions")), "Accepted")...)
	}
	gateways := list(st["gateways"])
	if len(gateways) == 0 {
		p = append(p, "egctl returned no Gateway")
	}
	for _, g := range gateways {
		id := objID("Gateway", g)
		// Offline, egctl sets no Gateway-level condition (Accepted and
		// Programmed come with the infrastructure's addresses): any it
		// does set must not be False; the listeners carry the verdict.
		for _, c := range conditions(dig(g, "status", "conditions")) {
			if c.Status == "False" {
				p = append(p, fmt.Sprintf("%s: %s=%s (%s): %s", id, c.Type, c.Status, c.Reason, c.Message))
			}
		}
		listeners := list(dig(g, "status", "listeners"))
		if len(listeners) != len(list(dig(g, "spec", "listeners"))) {
			p = append(p, fmt.Sprintf("%s: %d listeners, %d with status", id, len(list(dig(g, "spec", "listeners"))), len(listeners)))
		}
		for _, l := range listeners {
			p = append(p, requireTrue(id+" listener "+str(l, "name"), conditions(dig(l, "conditions")), "Accepted", "ResolvedRefs", "Programmed")...)
		}
	}
	routes := list(st["httpRoutes"])
	if len(routes) == 0 {
		p = append(p, "no HTTPRoute reached Envoy Gateway (the AI Gateway translation generated none)")
	}
	for _, r := range routes {
		id := objID("HTTPRoute", r)
		parents := list(dig(r, "status", "parents"))
		if len(parents) == 0 {
			p = append(p, id+": attached to no parent")
		}
		for _, pr := range parents {
			p = append(p, requireTrue(id+" on "+str(pr, "parentRef", "name"), conditions(dig(pr, "conditions")), "Accepted", "ResolvedRefs")...)
		}
	}
	// Every policy the stack renders (and every one the AI Gateway adds)
	// must come back attached and Accepted: a policy egctl drops is one
	// Envoy never applies.
	want := map[string]bool{}
	for _, o := range objs {
		if _, ok := policyFields[o.Kind()]; ok {
			want[o.ID()] = true
		}
	}
	for kind, field := range policyFields {
		for _, pol := range list(st[field]) {
			id := objID(kind, pol)
			delete(want, id)
			ancestors := list(dig(pol, "status", "ancestors"))
			if len(ancestors) == 0 {
				p = append(p, id+": attached to nothing (no ancestor status)")
			}
			// A route's policy with a mergeType is merged into the
			// Gateway's (package providers: the fallback retry keeps the
			// token budgets): Envoy Gateway says Merged on one ancestor.
			mergeType := str(pol, "spec", "mergeType") != ""
			merged := false
			for _, a := range ancestors {
				conds := conditions(dig(a, "conditions"))
				if mergeType && len(requireTrue("", conds, "Merged")) == 0 {
					merged = true
					continue
				}
				p = append(p, requireTrue(id+" on "+str(a, "ancestorRef", "name"), conds, "Accepted")...)
			}
			if mergeType && !merged {
				p = append(p, id+": merged into no Gateway policy (no Merged=True ancestor)")
			}
		}
	}
	for _, id := range sortedKeys(want) {
		p = append(p, id+": missing from Envoy Gateway's output")
	}
	for _, b := range list(st["backends"]) {
		p = append(p, requireTrue(objID("Backend", b), conditions(dig(b, "status", "conditions")), "Accepted")...)
	}
	return p
}

// CheckBackends requires each Backend's endpoint to be a rendered Service
// (name.namespace.svc.cluster.local and one of its ports), or a host
// outside the cluster whose certificate a BackendTLSPolicy validates
// against that very hostname (a hosted provider): Envoy Gateway accepts
// any hostname, and a typo only shows as 503s.
func CheckBackends(objs []Object) []string {
	services := map[string]bool{}
	for _, o := range objs {
		if o.Kind() == "BackendTLSPolicy" {
			for _, ref := range list(dig(map[string]any(o), "spec", "targetRefs")) {
				if str(ref, "kind") == "Backend" {
					services["tls:"+o.Namespace()+"/"+str(ref, "name")+"/"+str(map[string]any(o), "spec", "validation", "hostname")] = true
				}
			}
		}
		if o.Kind() != "Service" {
			continue
		}
		for _, port := range list(dig(o, "spec", "ports")) {
			services[fmt.Sprintf("%s.%s.svc.cluster.local:%v", o.Name(), o.Namespace(), dig(port, "port"))] = true
		}
	}
	var p []string
	for _, o := range objs {
		if o.Kind() != "Backend" {
			continue
		}
		for _, e := range list(dig(o, "spec", "endpoints")) {
			hp := fmt.Sprintf("%s:%v", str(e, "fqdn", "hostname"), dig(e, "fqdn", "port"))
			external := services["tls:"+o.Namespace()+"/"+o.Name()+"/"+str(e, "fqdn", "hostname")]
			if !services[hp] && !external {
				p = append(p, fmt.Sprintf("%s: endpoint %s is no rendered Service and port", o.ID(), hp))
			}
		}
	}
	return p
}

// configDump splits one egctl xds config dump into listeners, route
// configurations and clusters.
func configDump(dump any) (listeners, routeConfigs, clusters []any) {
	for _, c := range list(dig(dump, "configs")) {
		t := str(c, "@type")
		switch {
		case strings.HasSuffix(t, ".ListenersConfigDump"):
			for _, l := range list(dig(c, "dynamicListeners")) {
				listeners = append(listeners, dig(l, "activeState", "listener"))
			}
		case strings.HasSuffix(t, ".RoutesConfigDump"):
			for _, r := range list(dig(c, "dynamicRouteConfigs")) {
				routeConfigs = append(routeConfigs, dig(r, "routeConfig"))
			}
		case strings.HasSuffix(t, ".ClustersConfigDump"):
			for _, cl := range list(dig(c, "dynamicActiveClusters")) {
				clusters = append(clusters, dig(cl, "cluster"))
			}
		}
	}
	return listeners, routeConfigs, clusters
}

// hcms returns the HTTP connection managers of a listener.
func hcms(listener any) []any {
	var out []any
	chains := list(dig(listener, "filterChains"))
	if d := dig(listener, "defaultFilterChain"); d != nil {
		chains = append(chains, d)
	}
	for _, ch := range chains {
		for _, f := range list(dig(ch, "filters")) {
			if str(f, "name") == "envoy.filters.network.http_connection_manager" {
				out = append(out, dig(f, "typedConfig"))
			}
		}
	}
	return out
}

const (
	apiKeyFilter    = "envoy.filters.http.api_key_auth"
	jwtFilter       = "envoy.filters.http.jwt_authn"
	rateLimitFilter = "envoy.filters.http.ratelimit"
)

// oidcListener is the listener of JWT clients (gateway.OIDCListener):
// there a JWT, not an API key, authenticates every request.
const oidcListener = "oidc"

// authFilter is the filter that must authenticate every request of a
// listener or route configuration, by its name (<ns>/<gateway>/<listener>).
func authFilter(name string) string {
	if strings.HasSuffix(name, "/"+oidcListener) {
		return jwtFilter
	}
	return apiKeyFilter
}

// isRateLimit: Envoy Gateway names its global rate limit filters
// envoy.filters.http.ratelimit, with a suffix for shared rules' domains
// (internal/xds/translator/ratelimit.go).
func isRateLimit(name string) bool { return strings.HasPrefix(name, rateLimitFilter) }

// stackFacts is what the rendered objects promise.
type stackFacts struct {
	limited bool // a BackendTrafficPolicy with global rate limit rules
	// apiKeys: every request authenticates with an API key (README); not
	// read from the objects, so that a missing SecurityPolicy is caught.
	apiKeys bool
	// models maps each model name an AIGatewayRoute matches to the
	// host:port of the Backend behind its AIServiceBackend, or the
	// endpoints of its InferencePool's stand-in (pool.go), sorted.
	models map[string][]string
	// chatHost is the chat listener's hostname (gateway.ChatListener),
	// empty without chat: its virtual host serves Open WebUI only.
	chatHost string
}

// chatListener is the listener of the chat front end (package chat).
const chatListener = "chat"

func facts(set Settings, objs []Object) stackFacts {
	f := stackFacts{models: map[string][]string{}, apiKeys: true}
	backends := map[string]string{}   // Backend name -> host:port
	aiBackends := map[string]string{} // AIServiceBackend name -> Backend name
	pools := map[string][]string{}    // InferencePool namespace/name -> stand-in endpoints
	for _, o := range objs {
		if o.Kind() == "Gateway" {
			for _, l := range list(dig(map[string]any(o), "spec", "listeners")) {
				if str(l, "name") == chatListener {
					f.chatHost = str(l, "hostname")
				}
			}
		}
		switch o.Kind() {
		case "BackendTrafficPolicy":
			if len(list(dig(map[string]any(o), "spec", "rateLimit", "global", "rules"))) > 0 {
				f.limited = true
			}
		case "Backend":
			for _, e := range list(dig(map[string]any(o), "spec", "endpoints")) {
				backends[o.Name()] = fmt.Sprintf("%s:%v", str(e, "fqdn", "hostname"), dig(e, "fqdn", "port"))
			}
		case "AIServiceBackend":
			aiBackends[o.Name()] = str(map[string]any(o), "spec", "backendRef", "name")
		case inferencePoolKind:
			pools[o.Namespace()+"/"+o.Name()] = poolEndpoints(o)
		}
	}
	for _, o := range objs {
		if o.Kind() != "AIGatewayRoute" {
			continue
		}
		for _, r := range list(dig(map[string]any(o), "spec", "rules")) {
			refs := list(dig(r, "backendRefs"))
			if len(refs) == 0 {
				continue
			}
			var target []string
			for _, ref := range refs {
				target = append(target, backends[aiBackends[str(ref, "name")]])
			}
			sort.Strings(target)
			if isPoolRef(refs[0]) {
				// The AI Gateway routes to the pool in the route's namespace.
				target = pools[o.Namespace()+"/"+str(refs[0], "name")]
			}
			for _, m := range list(dig(r, "matches")) {
				for _, h := range list(dig(m, "headers")) {
					if str(h, "name") == set.ModelHeader {
						f.models[str(h, "value")] = target
					}
				}
			}
		}
	}
	return f
}

// CheckXDS reads the xDS Envoy Gateway generated for each Gateway.
func CheckXDS(set Settings, objs []Object, res *Result) []string {
	var p []string
	f := facts(set, objs)
	if len(res.XDS) == 0 {
		return []string{"egctl returned no xDS"}
	}
	for _, key := range sortedKeys(res.XDS) {
		listeners, routeConfigs, clusters := configDump(res.XDS[key])
		p = append(p, checkFilters(set, key, listeners, f)...)
		p = append(p, checkRoutes(set, key, routeConfigs, clusters, f)...)
	}
	return p
}

// checkFilters: API-key authentication runs before every rate limit
// filter; the connection manager's idle timeouts are the configured ones,
// inside the NLB's idle limit.
func checkFilters(set Settings, key string, listeners []any, f stackFacts) []string {
	var p []string
	n := 0
	for _, l := range listeners {
		// The Gateway's own listeners ("namespace/name/listener"), not
		// Envoy Gateway's readiness listener.
		if !strings.HasPrefix(str(l, "name"), key+"/") {
			continue
		}
		for _, h := range hcms(l) {
			n++
			where := fmt.Sprintf("%s listener %s", key, str(l, "name"))
			var names []string
			for _, hf := range list(dig(h, "httpFilters")) {
				names = append(names, str(hf, "name"))
			}
			want := authFilter(str(l, "name"))
			auth := slices.Index(names, want)
			if f.apiKeys && auth < 0 {
				p = append(p, fmt.Sprintf("%s: no %s filter (filters: %s)", where, want, strings.Join(names, ", ")))
			}
			limits := 0
			for i, name := range names {
				if !isRateLimit(name) {
					continue
				}
				limits++
				// A 429 says which budget ran out: x-ratelimit-limit's
				// first number is the exhausted budget's, its window in
				// the quota policies (";w=86400").
				if hf := list(dig(h, "httpFilters"))[i]; f.limited && str(hf, "typedConfig", "enableXRatelimitHeaders") != "DRAFT_VERSION_03" {
					p = append(p, fmt.Sprintf("%s: rate limit filter %s sends no x-ratelimit headers: a 429 would not say which budget ran out", where, name))
				}
				if auth > i {
					p = append(p, fmt.Sprintf("%s: rate limit filter %s runs before authentication (%s; filters: %s)", where, name, want, strings.Join(names, ", ")))
				}
			}
			if f.limited && limits == 0 {
				p = append(p, fmt.Sprintf("%s: token budgets rendered but no rate limit filter (filters: %s)", where, strings.Join(names, ", ")))
			}
			// Before any filter: the early header mutation removes what
			// a client could send as its identity.
			early, _ := json.Marshal(dig(h, "earlyHeaderMutationExtensions"))
			for _, hdr := range set.IdentityHeaders {
				if !strings.Contains(string(early), `"remove":"`+hdr+`"`) {
					p = append(p, fmt.Sprintf("%s: a client's own %s header reaches the filters (no early removal): a request the authentication leaves without one passes as whoever it names", where, hdr))
				}
			}
			p = append(p, within(set, where+" streamIdleTimeout", str(h, "streamIdleTimeout"), set.StreamIdleTimeout)...)
			p = append(p, within(set, where+" idle timeout", str(h, "commonHttpProtocolOptions", "idleTimeout"), set.ConnectionIdleTimeout)...)
		}
	}
	if n == 0 {
		p = append(p, key+": no HTTP listener in the xDS")
	}
	return p
}

// within checks an xDS duration against the configured value and the NLB's
// idle limit.
func within(set Settings, what, got string, want time.Duration) []string {
	if got == "" {
		return []string{fmt.Sprintf("%s: not set (want %s, under the NLB's %.0f s)", what, want, set.NLBIdleTimeout.Seconds())}
	}
	g, err := time.ParseDuration(got)
	if err != nil {
		return []string{fmt.Sprintf("%s: %q: %v", what, got, err)}
	}
	var p []string
	if g != want {
		p = append(p, fmt.Sprintf("%s is %s, configured %s", what, g, want))
	}
	if g >= set.NLBIdleTimeout {
		p = append(p, fmt.Sprintf("%s is %s, not under the NLB's %.0f s idle limit", what, g, set.NLBIdleTimeout.Seconds()))
	}
	return p
}

// checkRoutes: every route authenticates and is rate limited; all routes
// share one rate limit configuration (one counter per client across model
// names); every model name routes to its backend with the configured
// timeout; unknown names reach the catch-all.
func checkRoutes(set Settings, key string, routeConfigs, clusters []any, f stackFacts) []string {
	var p []string
	byName := map[string]any{}
	for _, c := range clusters {
		byName[str(c, "name")] = c
	}
	// One rate limit configuration across every route of every listener:
	// a client's budget is one counter whichever way it authenticates.
	firstLimits, firstRoute := "", ""
	for _, rc := range routeConfigs {
		rcName := str(rc, "name")
		auth := authFilter(rcName)
		seen := map[string]bool{}
		catchAll := ""
		for _, vh := range list(dig(rc, "virtualHosts")) {
			routes := list(dig(vh, "routes"))
			if f.chatHost != "" && slices.Contains(list(dig(vh, "domains")), any(f.chatHost)) {
				p = append(p, checkChatRoutes(key, rcName, routes)...)
				continue
			}
			for _, r := range routes {
				name := str(r, "name")
				where := fmt.Sprintf("%s %s route %s", key, rcName, name)
				pfc, _ := dig(r, "typedPerFilterConfig").(map[string]any)
				if f.apiKeys {
					a, ok := pfc[auth]
					switch {
					case !ok || dig(a, "disabled") == true:
						p = append(p, fmt.Sprintf("%s: authentication (%s) not enabled on this route", where, auth))
					case auth == apiKeyFilter && len(list(dig(a, "credentials"))) == 0:
						p = append(p, where+": API-key authentication has no credentials (every request would be refused)")
					}
					// The other listener's authentication must not run here
					// too: both would have to pass, and a JWT client has no
					// API key (nor an API-key client a JWT).
					for _, other := range []string{apiKeyFilter, jwtFilter} {
						if o, ok := pfc[other]; other != auth && ok && dig(o, "disabled") != true {
							p = append(p, fmt.Sprintf("%s: %s also runs here: its clients would need both credentials", where, other))
						}
					}
				}
				limits := map[string]any{}
				for k, v := range pfc {
					if isRateLimit(k) {
						limits[k] = v
					}
				}
				if rl := dig(r, "route", "rateLimits"); rl != nil {
					limits["route.rateLimits"] = rl
				}
				// Routes that reach a backend spend tokens and must carry
				// the budget; the catch-all answers 404 itself (Envoy
				// Gateway puts no rate limit on a direct response).
				if f.limited && str(r, "route", "cluster") != "" {
					b, _ := json.Marshal(limits)
					rule, _, _ := strings.Cut(name, "/match/")
					switch {
					case len(limits) == 0:
						p = append(p, where+": no token budget (no rate limit on this route)")
					case strings.Contains(string(b), rule):
						p = append(p, fmt.Sprintf("%s: rate limit descriptors name the route, so each client's token budget is counted per route, not once across model names (a rule without shared: true?): %s", where, b))
					case firstRoute == "":
						firstLimits, firstRoute = string(b), name
					case string(b) != firstLimits:
						p = append(p, fmt.Sprintf("%s: rate limit descriptors differ from route %s's, so a client's token budget is not one counter across model names:\n  %s\n  %s", where, firstRoute, b, firstLimits))
					}
				}
				model := modelMatch(set, r)
				if model == "" {
					// Each generated HTTPRoute ends in its own catch-all;
					// they must all come after every model's route.
					catchAll = name
					seen[""] = true
					continue
				}
				if catchAll != "" {
					p = append(p, fmt.Sprintf("%s: comes after %s, a route without a model match, which takes its requests", where, catchAll))
				}
				seen[model] = true
				want, ok := f.models[model]
				if !ok {
					p = append(p, fmt.Sprintf("%s: matches model %q, which no AIGatewayRoute declares", where, model))
					continue
				}
				cluster := str(r, "route", "cluster")
				if got := endpoints(byName[cluster]); !slices.Equal(got, want) {
					p = append(p, fmt.Sprintf("%s: model %q goes to cluster %q, whose endpoints %v are not its backend %s", where, model, cluster, got, want))
				}
				if d, err := time.ParseDuration(str(r, "route", "timeout")); err != nil || d != set.RequestTimeout {
					p = append(p, fmt.Sprintf("%s timeout is %q, configured %s", where, str(r, "route", "timeout"), set.RequestTimeout))
				}
				if it := str(r, "route", "idleTimeout"); it != "" {
					if d, err := time.ParseDuration(it); err == nil && d >= set.NLBIdleTimeout {
						p = append(p, fmt.Sprintf("%s idleTimeout %s is not under the NLB's %.0f s idle limit", where, d, set.NLBIdleTimeout.Seconds()))
					}
				}
			}
		}
		for _, m := range sortedKeys(f.models) {
			if !seen[m] {
				p = append(p, fmt.Sprintf("%s %s: no route for model %q", key, rcName, m))
			}
		}
		if len(f.models) > 0 && !seen[""] {
			p = append(p, key+" "+rcName+": no catch-all route for unknown model names")
		}
	}
	return p
}

// endpoints lists a cluster's endpoint addresses as host:port.
func endpoints(cluster any) []string {
	var out []string
	for _, e := range list(dig(cluster, "loadAssignment", "endpoints")) {
		for _, lb := range list(dig(e, "lbEndpoints")) {
			a := dig(lb, "endpoint", "address", "socketAddress")
			out = append(out, fmt.Sprintf("%s:%v", str(a, "address"), dig(a, "portValue")))
		}
	}
	sort.Strings(out)
	return out
}

// modelMatch is the exact model-header value a route matches, or "".
func modelMatch(set Settings, r any) string {
	for _, h := range list(dig(r, "match", "headers")) {
		if str(h, "name") == set.ModelHeader {
			if v := str(h, "stringMatch", "exact"); v != "" {
				return v
			}
			return str(h, "exactMatch")
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkChatRoutes: the chat listener's virtual host sends everything to
// Open WebUI, which signs its users in itself, and nothing else: no model
// route (which would serve models with no credential), no API-key check
// (which would refuse every browser).
func checkChatRoutes(key, rcName string, routes []any) []string {
	var p []string
	for _, r := range routes {
		where := fmt.Sprintf("%s %s chat route %s", key, rcName, str(r, "name"))
		if str(r, "route", "cluster") != "" && !strings.HasPrefix(str(r, "route", "cluster"), "httproute/"+chatListener+"/") {
			p = append(p, fmt.Sprintf("%s: goes to %s, not the chat front end: reachable on the chat hostname with no credential", where, str(r, "route", "cluster")))
		}
		pfc, _ := dig(r, "typedPerFilterConfig").(map[string]any)
		for _, auth := range []string{apiKeyFilter, jwtFilter} {
			if a, ok := pfc[auth]; ok && dig(a, "disabled") != true {
				p = append(p, fmt.Sprintf("%s: %s runs here: the chat page's users have no such credential", where, auth))
			}
		}
	}
	return p
}
