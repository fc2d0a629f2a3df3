package budgets

import (
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/gateway"
)

// PolicyName names the budgets' BackendTrafficPolicy.
const PolicyName = "llm-token-limits"

// Units are a budget's windows, as Envoy Gateway's rate limit units, in
// the order of config.Budgets' fields. Envoy's x-ratelimit-limit header
// names a budget by the window's length (";w=3600", ";w=86400",
// ";w=2592000"): Envoy Gateway's Month is a fixed 30 days, aligned to the
// Unix epoch like every window (envoyproxy/ratelimit src/limiter/
// cache_key.go), not a calendar month.
var Units = []string{"Hour", "Day", "Month"}

// Rule is one budget: a client's or a group member's tokens in a window.
type Rule struct {
	// Client is the API key or JWT client it limits; empty for a group.
	Client string
	// Group is the JWT group whose members each get it; empty for a client.
	Group string
	// Unit is the window (Hour, Day, Month).
	Unit   string
	Tokens int
	// Observe runs it in shadow mode: counted, never refused.
	Observe bool
}

// Rules lists the budgets in the order the policy declares them: clients
// in config order, then groups, each by window, then the platform's own
// clients (late: the chat front end's). Envoy Gateway keys a shared
// rule's counters by its position (internal/xds/translator/
// ratelimit.go, getDomainRuleIndex), so config order is kept: a client
// appended to the list leaves every other client's counters as they are,
// and turning chat on or off leaves every configured client's and group's.
func Rules(clients []config.Client, groups []config.Group, late ...config.Client) []Rule {
	var out []Rule
	add := func(client, group string, b config.Budgets) {
		for i, tokens := range []int{b.PerHour, b.PerDay, b.PerMonth} {
			if tokens > 0 {
				out = append(out, Rule{Client: client, Group: group, Unit: Units[i], Tokens: tokens, Observe: b.Observe})
			}
		}
	}
	for _, c := range clients {
		add(c.Name, "", c.Budgets())
	}
	for _, g := range groups {
		add("", g.Name, g.Budgets())
	}
	for _, c := range late {
		add(c.Name, "", c.Budgets())
	}
	return out
}

// FromConfig lists a stack's budgets in policy order: the configured
// clients' and groups', then, with the chat front end, the chat client's.
// The policy (package gateway, through platform) and the usage view's
// rule-index mapping (package usage) both read it, so they agree.
func FromConfig(c *config.Config) []Rule {
	var late []config.Client
	if c.ChatLayer() {
		late = append(late, c.Chat.Client())
	}
	return Rules(c.Gateway.Clients, c.Gateway.Groups, late...)
}

// PolicyObject is the budgets' BackendTrafficPolicy on the Gateway; nil
// when there is no budget.
//
// Each rule charges a response's total tokens (the AI Gateway's
// llm_total_token metadata, once the response is known); the request
// itself costs nothing, so the budget is checked before and charged after
// each completion. Every rule is shared: one counter per client across
// every route, where a per-route counter would give a client its budget
// once per model name (the AI Gateway makes a route rule per name).
//
// A client's rule matches its name exactly. A group's rule matches the
// group exactly and each distinct client in it separately (Distinct), so
// every member has a budget of its own.
//
// Observed rules run in shadow mode (envoyproxy/ratelimit counts them,
// refuses nothing) and send no x-ratelimit headers: an observed budget
// over its limit would otherwise report itself as the nearest limit on
// every response, enforced 429s included.
func PolicyObject(rules []Rule) map[string]any {
	if len(rules) == 0 {
		return nil
	}
	specRules := make([]any, len(rules))
	for i, r := range rules {
		headers := []any{map[string]any{"name": gateway.ClientIDHeader, "type": "Exact", "value": r.Client}}
		if r.Group != "" {
			headers = []any{
				map[string]any{"name": gateway.GroupHeader, "type": "Exact", "value": r.Group},
				map[string]any{"name": gateway.ClientIDHeader, "type": "Distinct"},
			}
		}
		rule := map[string]any{
			"clientSelectors": []any{map[string]any{"headers": headers}},
			"limit":           map[string]any{"requests": r.Tokens, "unit": r.Unit},
			"shared":          true,
			"cost": map[string]any{
				"request": map[string]any{"from": "Number", "number": 0},
				"response": map[string]any{"from": "Metadata", "metadata": map[string]any{
					"namespace": "io.envoy.ai_gateway", "key": gateway.TotalTokenKey,
				}},
			},
		}
		if r.Observe {
			rule["shadowMode"] = true
			rule["xRateLimitHeaders"] = "Off"
		}
		specRules[i] = rule
	}
	return map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "BackendTrafficPolicy",
		"metadata":   map[string]any{"name": PolicyName, "namespace": gateway.Namespace},
		"spec": map[string]any{
			"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.GatewayName}},
			"rateLimit":  map[string]any{"type": "Global", "global": map[string]any{"rules": specRules}},
		},
	}
}

// JWTPolicyName names the OIDC listener's SecurityPolicy.
const JWTPolicyName = "llm-oidc"

// JWTPolicyObject requires a valid JWT from the issuer on the OIDC
// listener and copies its client claim into the client header (and its
// group claim into gateway.GroupHeader). The JWT is read from Authorization:
// Bearer, where OpenAI SDKs put their key, and its signature checked
// against the issuer's published keys, fetched over https with the system
// trust store (Envoy Gateway v1.8.3 internal/gatewayapi/
// securitypolicy.go).
func JWTPolicyObject(o config.OIDC) map[string]any {
	claims := []any{map[string]any{"claim": o.ClientClaim, "header": gateway.ClientIDHeader}}
	if o.GroupClaim != "" {
		claims = append(claims, map[string]any{"claim": o.GroupClaim, "header": gateway.GroupHeader})
	}
	provider := map[string]any{
		"name":           "oidc",
		"issuer":         o.Issuer,
		"remoteJWKS":     map[string]any{"uri": o.JWKSURI},
		"claimToHeaders": claims,
	}
	if len(o.Audiences) > 0 {
		auds := make([]any, len(o.Audiences))
		for i, a := range o.Audiences {
			auds[i] = a
		}
		provider["audiences"] = auds
	}
	return map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "SecurityPolicy",
		"metadata":   map[string]any{"name": JWTPolicyName, "namespace": gateway.Namespace},
		"spec": map[string]any{
			"targetRefs": []any{map[string]any{
				"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.GatewayName,
				"sectionName": gateway.OIDCListener,
			}},
			"jwt": map[string]any{"providers": []any{provider}},
		},
	}
}
