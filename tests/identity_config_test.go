package tests

import (
	"maps"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

// Issue 18: each case breaks one thing about the two-models golden's
// clients, OIDC or budgets. The whole program must fail naming the key
// and the value, before any resource or AWS call.
func TestBadIdentityConfigRejectedBeforeAnyResource(t *testing.T) {
	t.Parallel()
	stack := loadStack(t, stacks["two-models"])
	gateway := func(oidc, rest string) string {
		s := `{"loadBalancer": "internet-facing", "sourceCidrs": ["203.0.113.0/24"], "clients": [{"name": "team-a"}]`
		if oidc != "" {
			s += `, "oidc": ` + oidc
		}
		if rest != "" {
			s += ", " + rest
		}
		return s + "}"
	}
	const goodOIDC = `{"issuer": "https://login.example.com", "jwksUri": "https://login.example.com/keys", "clientClaim": "email", "groupClaim": "team"}`
	tests := []struct {
		name, key, value, wantKey, wantValue string
	}{
		{"JWT without issuer", "gateway", gateway(`{"jwksUri": "https://login.example.com/keys", "clientClaim": "sub"}`, ""),
			"gateway.oidc.issuer", `""`},
		{"JWKS over plain http", "gateway", gateway(`{"issuer": "https://login.example.com", "jwksUri": "http://login.example.com/keys", "clientClaim": "sub"}`, ""),
			"gateway.oidc.jwksUri", `"http://login.example.com/keys"`},
		{"no client claim", "gateway", gateway(`{"issuer": "https://login.example.com", "jwksUri": "https://login.example.com/keys"}`, ""),
			"gateway.oidc.clientClaim", `""`},
		{"negative daily budget", "gateway", gateway("", `"clients": [{"name": "team-a", "tokensPerDay": -5}]`),
			"gateway.clients[0].tokensPerDay", `-5`},
		{"day below hour", "gateway", gateway("", `"clients": [{"name": "team-a", "tokensPerHour": 5000, "tokensPerDay": 1000}]`),
			"gateway.clients[0].tokensPerDay", `1000`},
		{"month equal to day", "gateway", gateway("", `"clients": [{"name": "team-a", "tokensPerDay": 1000, "tokensPerMonth": 1000}]`),
			"gateway.clients[0].tokensPerMonth", `1000`},
		{"a weekly budget", "gateway", gateway("", `"clients": [{"name": "team-a", "tokensPerWeek": 1000}]`),
			"gateway", `tokensPerWeek`},
		{"unknown mode", "gateway", gateway("", `"clients": [{"name": "team-a", "tokensPerDay": 10, "mode": "warn"}]`),
			"gateway.clients[0].mode", `"warn"`},
		{"groups without a group claim", "gateway", gateway(`{"issuer": "https://login.example.com", "jwksUri": "https://login.example.com/keys", "clientClaim": "email"}`,
			`"groups": [{"name": "research", "tokensPerDay": 10}]`), "gateway.groups", `1`},
		{"group without a budget", "gateway", gateway(goodOIDC, `"groups": [{"name": "research"}]`),
			"gateway.groups[0]", `"research"`},
		{"store down mode", "gateway", gateway("", `"budgetStoreDown": "retry"`),
			"gateway.budgetStoreDown", `"retry"`},
		{"retention shorter than a month", "observability", `{"retention": "15d", "alerts": {"receiver": "slack"}}`,
			"observability.retention", `"15d"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &render.StackConfig{Project: stack.Project, Stack: stack.Stack, Values: maps.Clone(stack.Values), SecretKeys: stack.SecretKeys}
			checkRejected(t, sc, tt.key, tt.value, tt.wantKey, tt.wantValue)
		})
	}
}
