package budgets

import (
	"reflect"
	"testing"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/gateway"
)

func rulesOf(p map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range p["spec"].(map[string]any)["rateLimit"].(map[string]any)["global"].(map[string]any)["rules"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// Clients in config order, each by window, then groups; nothing for a
// client without a budget.
func TestRulesOrderAndWindows(t *testing.T) {
	t.Parallel()
	got := Rules([]config.Client{
		{Name: "b", TokensPerHour: 10, TokensPerMonth: 1000},
		{Name: "free"},
		{Name: "a", TokensPerDay: 50, Mode: config.BudgetObserve},
	}, []config.Group{{Name: "research", TokensPerDay: 7}})
	want := []Rule{
		{Client: "b", Unit: "Hour", Tokens: 10},
		{Client: "b", Unit: "Month", Tokens: 1000},
		{Client: "a", Unit: "Day", Tokens: 50, Observe: true},
		{Group: "research", Unit: "Day", Tokens: 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rules = %+v\nwant %+v", got, want)
	}
	if PolicyObject(Rules([]config.Client{{Name: "free"}}, nil)) != nil {
		t.Error("a policy without any budget")
	}
}

// Every rule: one counter across routes, the response's total tokens
// charged, nothing charged for the request; a client's rule matches its
// name, a group's the group and each member apart; observed rules are
// shadowed and send no x-ratelimit headers.
func TestPolicyObject(t *testing.T) {
	t.Parallel()
	p := PolicyObject([]Rule{
		{Client: "a", Unit: "Hour", Tokens: 10},
		{Group: "research", Unit: "Month", Tokens: 99, Observe: true},
	})
	rules := rulesOf(p)
	if len(rules) != 2 {
		t.Fatalf("%d rules", len(rules))
	}
	for _, r := range rules {
		cost := r["cost"].(map[string]any)
		if r["shared"] != true || cost["request"].(map[string]any)["number"] != 0 ||
			cost["response"].(map[string]any)["metadata"].(map[string]any)["key"] != gateway.TotalTokenKey {
			t.Errorf("rule %v: want shared, request free, response charged total tokens", r)
		}
	}
	client := rules[0]["clientSelectors"].([]any)[0].(map[string]any)["headers"].([]any)
	if !reflect.DeepEqual(client, []any{map[string]any{"name": gateway.ClientIDHeader, "type": "Exact", "value": "a"}}) {
		t.Errorf("client selector %v", client)
	}
	if rules[0]["limit"].(map[string]any)["unit"] != "Hour" || rules[0]["shadowMode"] != nil {
		t.Errorf("client rule %v", rules[0])
	}
	group := rules[1]["clientSelectors"].([]any)[0].(map[string]any)["headers"].([]any)
	if !reflect.DeepEqual(group, []any{
		map[string]any{"name": gateway.GroupHeader, "type": "Exact", "value": "research"},
		map[string]any{"name": gateway.ClientIDHeader, "type": "Distinct"},
	}) {
		t.Errorf("group selector %v", group)
	}
	if rules[1]["shadowMode"] != true || rules[1]["xRateLimitHeaders"] != "Off" {
		t.Errorf("observed rule %v: want shadowMode and no x-ratelimit headers", rules[1])
	}
	target := p["spec"].(map[string]any)["targetRefs"].([]any)[0].(map[string]any)
	if target["kind"] != "Gateway" || target["sectionName"] != nil {
		t.Errorf("target %v: budgets apply on every listener", target)
	}
}

// The JWT policy guards the OIDC listener only, and copies the client and
// group claims into the identity headers.
func TestJWTPolicyObject(t *testing.T) {
	t.Parallel()
	p := JWTPolicyObject(config.OIDC{
		Issuer: "https://idp.example.com", JWKSURI: "https://idp.example.com/keys",
		Audiences: []string{"llm"}, ClientClaim: "email", GroupClaim: "team",
	})
	spec := p["spec"].(map[string]any)
	if ref := spec["targetRefs"].([]any)[0].(map[string]any); ref["sectionName"] != gateway.OIDCListener {
		t.Errorf("target %v", ref)
	}
	provider := spec["jwt"].(map[string]any)["providers"].([]any)[0].(map[string]any)
	if provider["issuer"] != "https://idp.example.com" || provider["remoteJWKS"].(map[string]any)["uri"] != "https://idp.example.com/keys" ||
		!reflect.DeepEqual(provider["audiences"], []any{"llm"}) {
		t.Errorf("provider %v", provider)
	}
	if want := []any{
		map[string]any{"claim": "email", "header": gateway.ClientIDHeader},
		map[string]any{"claim": "team", "header": gateway.GroupHeader},
	}; !reflect.DeepEqual(provider["claimToHeaders"], want) {
		t.Errorf("claimToHeaders %v, want %v", provider["claimToHeaders"], want)
	}
	if _, ok := JWTPolicyObject(config.OIDC{Issuer: "https://i", JWKSURI: "https://i/k", ClientClaim: "sub"})["spec"].(map[string]any)["jwt"].(map[string]any)["providers"].([]any)[0].(map[string]any)["audiences"]; ok {
		t.Error("audiences set without any configured")
	}
}

// The chat client's budgets come after every group's, so turning chat on
// keeps each configured budget at its rule index (its counters' key).
func TestChatRulesLast(t *testing.T) {
	t.Parallel()
	clients := []config.Client{{Name: "b", TokensPerHour: 10}}
	groups := []config.Group{{Name: "research", TokensPerDay: 7}}
	without := Rules(clients, groups)
	chat := config.Chat{TokensPerHour: 100, TokensPerDay: 1000}
	with := Rules(clients, groups, chat.Client())
	if !reflect.DeepEqual(with[:len(without)], without) {
		t.Errorf("chat moved the other budgets: %+v, was %+v", with, without)
	}
	want := []Rule{{Client: "chat", Unit: "Hour", Tokens: 100}, {Client: "chat", Unit: "Day", Tokens: 1000}}
	if !reflect.DeepEqual(with[len(without):], want) {
		t.Errorf("chat's rules = %+v, want %+v", with[len(without):], want)
	}
}
