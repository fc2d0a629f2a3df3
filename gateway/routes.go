package gateway

// AIGatewayRoutes: package inference routes served names to self-hosted
// pools, package providers to hosted providers and to fallbacks. Every
// route has the same shape, built here.

// Token costs every route records: the budgets (RateLimitPolicyObject)
// charge TotalTokenKey, the usage metrics read all three.
const (
	InputTokenKey  = "llm_input_token"
	OutputTokenKey = "llm_output_token"
	TotalTokenKey  = "llm_total_token"
)

// ModelRule is an AIGatewayRoute rule for one served name (matched on
// the header the AI Gateway fills from the body's "model"), sending it to
// backendRefs, bounded by RequestTimeout.
func ModelRule(servedName string, backendRefs ...any) map[string]any {
	return map[string]any{
		"matches": []any{map[string]any{"headers": []any{
			map[string]any{"type": "Exact", "name": ModelHeader, "value": servedName},
		}}},
		"backendRefs": backendRefs,
		"timeouts":    map[string]any{"request": RequestTimeout},
	}
}

// ModelListeners are the Gateway listeners that serve models: the
// API-key one and, with OIDC, the JWT one; never the chat listener, which
// no credential guards (its users sign in to Open WebUI).
func ModelListeners(oidc bool) []string {
	if oidc {
		return []string{APIKeyListener, OIDCListener}
	}
	return []string{APIKeyListener}
}

// AIGatewayRouteObject is an AIGatewayRoute on the model listeners of the
// platform's Gateway (across namespaces: those listeners admit routes from
// the models' namespace only; naming the listeners keeps a route off any
// other, whatever it admits) that records input, output and total tokens
// as request costs. The AI Gateway generates an HTTPRoute of the same name and
// namespace from it (v1.0.0 internal/controller/ai_gateway_route.go), the
// name a policy for the route targets.
func AIGatewayRouteObject(name, namespace string, listeners []string, rules []any) map[string]any {
	parents := make([]any, len(listeners))
	for i, l := range listeners {
		parents[i] = map[string]any{
			"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GatewayName, "namespace": Namespace,
			"sectionName": l,
		}
	}
	return map[string]any{
		"apiVersion": "aigateway.envoyproxy.io/v1beta1",
		"kind":       "AIGatewayRoute",
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"parentRefs": parents,
			"rules":      rules,
			"llmRequestCosts": []any{
				map[string]any{"metadataKey": InputTokenKey, "type": "InputToken"},
				map[string]any{"metadataKey": OutputTokenKey, "type": "OutputToken"},
				map[string]any{"metadataKey": TotalTokenKey, "type": "TotalToken"},
			},
		},
	}
}

// ChunkRules splits rules into groups of at most MaxRulesPerRoute (the
// AIGatewayRoute CRD's limit on spec.rules).
func ChunkRules(rules []any) [][]any {
	var out [][]any
	for i := 0; i < len(rules); i += MaxRulesPerRoute {
		out = append(out, rules[i:min(i+MaxRulesPerRoute, len(rules))])
	}
	return out
}
