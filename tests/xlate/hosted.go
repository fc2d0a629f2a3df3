package xlate

import (
	"fmt"
	"slices"
	"strings"
)

// Hosted providers and fallbacks (package providers): what the translators
// must make of them.
//
//   - A Backend outside the cluster is reached in TLS only: every endpoint
//     of a Backend that a BackendTLSPolicy validates carries, in every
//     cluster it is in, Envoy Gateway's transport socket match
//     (internal/xds/translator/cluster.go), whose TLS context sends the
//     policy's hostname as SNI, requires it as a DNS subject alternative
//     name, and validates the chain against a CA (the system store, which
//     the BackendTLSPolicy names; egctl's dump holds no secrets).
//   - A rule with several AIServiceBackends (a fallback) stays one Envoy
//     cluster, httproute/<ns>/<route>/rule/<i>, holding every backend's
//     endpoint: the AI Gateway's extension server sets the priorities only
//     on clusters of that 5-part name (v1.0.0 internal/extensionserver/
//     post_translate_modify.go); egctl runs without it, so the priorities
//     themselves are checked where the AI Gateway hands them to Envoy
//     Gateway, the generated HTTPRoute's backend-ref-priority annotation
//     (internal/controller/ai_gateway_route.go).
//   - Such a rule's route retries once on the next priority: Envoy's
//     previous_priorities retry plugin, on connection failures.

// priorityAnnotation is where the AI Gateway v1.0.0 records a generated
// HTTPRoute's backend priorities: "<rule>:<backend>:<priority>,...".
const priorityAnnotation = "gateway.envoyproxy.io/backend-ref-priority"

// CheckHosted applies the checks above.
func CheckHosted(objs []Object, res *Result) []string {
	var p []string
	tlsHost := map[string]string{} // Backend namespace/name -> validated hostname
	for _, o := range objs {
		if o.Kind() != "BackendTLSPolicy" {
			continue
		}
		for _, ref := range list(dig(map[string]any(o), "spec", "targetRefs")) {
			if str(ref, "kind") == "Backend" {
				tlsHost[o.Namespace()+"/"+str(ref, "name")] = str(map[string]any(o), "spec", "validation", "hostname")
			}
		}
	}
	endpointTLS := map[string]string{} // host:port -> validated hostname ("" plain)
	for _, o := range objs {
		if o.Kind() != "Backend" {
			continue
		}
		for _, e := range list(dig(map[string]any(o), "spec", "endpoints")) {
			endpointTLS[fmt.Sprintf("%s:%v", str(e, "fqdn", "hostname"), dig(e, "fqdn", "port"))] = tlsHost[o.Namespace()+"/"+o.Name()]
		}
	}
	for _, key := range sortedKeys(res.XDS) {
		_, routeConfigs, clusters := configDump(res.XDS[key])
		for _, c := range clusters {
			p = append(p, checkClusterTLS(key, c, endpointTLS)...)
		}
		p = append(p, checkFallbackRoutes(key, objs, res, routeConfigs, clusters)...)
	}
	return p
}

func checkClusterTLS(key string, c any, endpointTLS map[string]string) []string {
	var p []string
	matches := map[string]any{}
	for _, m := range list(dig(c, "transportSocketMatches")) {
		matches[str(m, "name")] = dig(m, "transportSocket", "typedConfig")
	}
	for _, e := range list(dig(c, "loadAssignment", "endpoints")) {
		for _, lb := range list(dig(e, "lbEndpoints")) {
			a := dig(lb, "endpoint", "address", "socketAddress")
			hp := fmt.Sprintf("%s:%v", str(a, "address"), dig(a, "portValue"))
			host, known := endpointTLS[hp]
			if !known || host == "" {
				continue
			}
			where := fmt.Sprintf("%s cluster %s endpoint %s", key, str(c, "name"), hp)
			ctx, ok := matches[str(lb, "metadata", "filterMetadata", "envoy.transport_socket_match", "name")]
			if !ok {
				p = append(p, where+": reached without TLS (no transport socket match), though a BackendTLSPolicy validates it")
				continue
			}
			if got := str(ctx, "sni"); got != host {
				p = append(p, fmt.Sprintf("%s: SNI %q, want %q", where, got, host))
			}
			v := dig(ctx, "commonTlsContext", "combinedValidationContext")
			var sans []string
			for _, s := range list(dig(v, "defaultValidationContext", "matchTypedSubjectAltNames")) {
				sans = append(sans, str(s, "sanType")+"="+str(s, "matcher", "exact"))
			}
			if !slices.Equal(sans, []string{"DNS=" + host}) {
				p = append(p, fmt.Sprintf("%s: the certificate's subject alternative names are checked against %v, want [DNS=%s]: any publicly trusted certificate would do", where, sans, host))
			}
			// The trust store itself is an SDS secret egctl's dump does
			// not include; the BackendTLSPolicy Accepted (CheckStatus)
			// with wellKnownCACertificates System is what names it.
			if str(v, "validationContextSdsSecretConfig", "name") == "" {
				p = append(p, where+": no trusted CA (validation secret) for the certificate chain")
			}
		}
	}
	return p
}

func checkFallbackRoutes(key string, objs []Object, res *Result, routeConfigs, clusters []any) []string {
	var p []string
	annotations := map[string]string{}
	for _, o := range res.AIGateway {
		if o.Kind() == "HTTPRoute" {
			annotations[o.Namespace()+"/"+o.Name()] = str(map[string]any(o), "metadata", "annotations", priorityAnnotation)
		}
	}
	clusterByName := map[string]any{}
	for _, c := range clusters {
		clusterByName[str(c, "name")] = c
	}
	routeByCluster := map[string]any{}
	for _, rc := range routeConfigs {
		for _, vh := range list(dig(rc, "virtualHosts")) {
			for _, r := range list(dig(vh, "routes")) {
				routeByCluster[str(r, "route", "cluster")] = r
			}
		}
	}
	for _, o := range objs {
		if o.Kind() != "AIGatewayRoute" {
			continue
		}
		var want []string
		for i, rule := range list(dig(map[string]any(o), "spec", "rules")) {
			refs := list(dig(rule, "backendRefs"))
			levels := map[any]bool{}
			for _, ref := range refs {
				if prio := dig(ref, "priority"); prio != nil {
					want = append(want, fmt.Sprintf("%d:%s:%v", i, str(ref, "name"), prio))
					levels[fmt.Sprint(prio)] = true
				}
			}
			if len(refs) > 1 && len(levels) < len(refs) {
				p = append(p, fmt.Sprintf("%s/%s rule %d: %d backends on %d priority levels: Envoy balances requests between them instead of falling back", o.Namespace(), o.Name(), i, len(refs), len(levels)))
			}
			if len(levels) < 2 {
				continue
			}
			name := fmt.Sprintf("httproute/%s/%s/rule/%d", o.Namespace(), o.Name(), i)
			where := fmt.Sprintf("%s %s", key, name)
			c, ok := clusterByName[name]
			if !ok {
				p = append(p, where+": no cluster of the rule's own name: Envoy Gateway split the rule into a cluster per backend, which the AI Gateway's extension server skips (no priorities, no fallback)")
				continue
			}
			if got := len(endpoints(c)); got != len(refs) {
				p = append(p, fmt.Sprintf("%s: %d endpoints for %d prioritized backends", where, got, len(refs)))
			}
			r := routeByCluster[name]
			if str(r, "route", "retryPolicy", "retryPriority", "name") != "envoy.retry_priorities.previous_priorities" {
				p = append(p, where+": no previous_priorities retry: a failed request is never retried on the fallback")
			}
			if on := str(r, "route", "retryPolicy", "retryOn"); !strings.Contains(on, "connect-failure") {
				p = append(p, fmt.Sprintf("%s: retryOn %q does not include connect-failure (a model with no replica)", where, on))
			}
		}
		if len(want) == 0 {
			continue
		}
		if got := annotations[o.Namespace()+"/"+o.Name()]; got != strings.Join(want, ",") {
			p = append(p, fmt.Sprintf("%s/%s: the AI Gateway hands Envoy Gateway the priorities %q, the route declares %q", o.Namespace(), o.Name(), got, strings.Join(want, ",")))
		}
	}
	return p
}
