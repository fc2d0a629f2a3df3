package inference

import (
	"fmt"
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
func RouteObjects(namespace string, listeners []string, models []Route) ([]map[string]any, error) {
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
	specRules := make([]any, len(rules))
	for i, r := range rules {
		// One pool per rule, and no AIServiceBackend beside it (the
		// AIGatewayRoute CRD's rules).
		specRules[i] = gateway.ModelRule(r.served,
			map[string]any{"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": r.model})
	}
	var routes []map[string]any
	for i, chunk := range gateway.ChunkRules(specRules) {
		routes = append(routes, gateway.AIGatewayRouteObject(fmt.Sprintf("llm-models-%d", i), namespace, listeners, chunk))
	}
	return routes, nil
}
