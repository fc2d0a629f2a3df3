package inference

import (
	"fmt"
	"slices"
	"sort"

	"github.com/llm-platform/llm-platform/gateway"
)

// Route is what routing needs to know about one model.
type Route struct {
	// Model names the model's InferencePool.
	Model string
	// ServedNames are the OpenAI model names routed to it (the base model
	// and each LoRA adapter).
	ServedNames []string
}

// RouteObjects returns the AIGatewayRoute(s) for all models, in namespace:
// one rule per served name, in name order, each sending the request to
// its model's InferencePool, split into routes of at most
// gateway.MaxRulesPerRoute rules (llm-models-0, llm-models-1, ...).
//
// The routes live in the models' namespace, not the gateway's: the AI
// Gateway v1.0.0 resolves an InferencePool, its endpoint picker Service
// and so the pool's pods in the route's own namespace
// (internal/controller/ai_gateway_route.go; internal/extensionserver/
// inferencepool.go). They attach to the Gateway across namespaces, which
// its listener admits from that namespace only (gateway.GatewayObject).
// Every route records input, output and total tokens as request costs,
// which the token budgets and the usage metrics read.
func RouteObjects(namespace string, models []Route) ([]map[string]any, error) {
	type rule struct{ served, model string }
	var rules []rule
	owner := map[string]string{}
	for _, m := range models {
		for _, s := range m.ServedNames {
			if prev, dup := owner[s]; dup {
				return nil, fmt.Errorf("inference: served name %q is used by models %s and %s", s, prev, m.Model)
			}
			owner[s] = m.Model
			rules = append(rules, rule{s, m.Model})
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].served < rules[j].served })
	var routes []map[string]any
	for i := 0; i < len(rules); i += gateway.MaxRulesPerRoute {
		chunk := rules[i:min(i+gateway.MaxRulesPerRoute, len(rules))]
		var specRules []any
		for _, r := range chunk {
			specRules = append(specRules, map[string]any{
				"matches": []any{map[string]any{"headers": []any{
					map[string]any{"type": "Exact", "name": gateway.ModelHeader, "value": r.served},
				}}},
				// One pool per rule, and no AIServiceBackend beside it
				// (the AIGatewayRoute CRD's rules).
				"backendRefs": []any{map[string]any{"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": r.model}},
				"timeouts":    map[string]any{"request": gateway.RequestTimeout},
			})
		}
		routes = append(routes, map[string]any{
			"apiVersion": "aigateway.envoyproxy.io/v1beta1",
			"kind":       "AIGatewayRoute",
			"metadata":   map[string]any{"name": fmt.Sprintf("llm-models-%d", len(routes)), "namespace": namespace},
			"spec": map[string]any{
				"parentRefs": []any{map[string]any{
					"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.GatewayName, "namespace": gateway.Namespace,
				}},
				"rules": specRules,
				"llmRequestCosts": []any{
					map[string]any{"metadataKey": "llm_input_token", "type": "InputToken"},
					map[string]any{"metadataKey": "llm_output_token", "type": "OutputToken"},
					map[string]any{"metadataKey": "llm_total_token", "type": "TotalToken"},
				},
			},
		})
	}
	return routes, nil
}

// ServedNames lists every served name of the models, sorted.
func ServedNames(models []Route) []string {
	var out []string
	for _, m := range models {
		out = append(out, m.ServedNames...)
	}
	slices.Sort(out)
	return out
}
