package xlate

import "testing"

// TestIdentityBrokenCopiesBite: the checks on the two listeners (API keys,
// JWTs) and the identity headers fail on broken copies of the two-models
// golden, which has both.
func TestIdentityBrokenCopiesBite(t *testing.T) {
	checkBrokenCopies(t, "two-models", []brokenCopy{
		{
			name: "OIDC listener without its JWT policy",
			edit: func(o Object) bool { return o.Kind() != "SecurityPolicy" || o.Name() != "llm-oidc" },
			want: "no envoy.filters.http.jwt_authn filter",
		},
		{
			// One policy with both: Envoy Gateway chains both filters,
			// and each must pass.
			name: "API keys and JWTs in one Gateway-wide policy",
			edit: func(o Object) bool {
				if o.Kind() != "SecurityPolicy" {
					return true
				}
				if o.Name() == "llm-oidc" {
					return false
				}
				spec := o["spec"].(map[string]any)
				spec["jwt"] = map[string]any{"providers": []any{map[string]any{
					"name": "oidc", "issuer": "https://login.example.com/realms/llm",
					"remoteJWKS": map[string]any{"uri": "https://login.example.com/realms/llm/protocol/openid-connect/certs"},
				}}}
				for _, ref := range list(spec["targetRefs"]) {
					delete(ref.(map[string]any), "sectionName")
				}
				return true
			},
			want: "also runs here: its clients would need both credentials",
		},
		{
			name: "client identity headers not removed early",
			edit: func(o Object) bool {
				if o.Kind() == "ClientTrafficPolicy" {
					delete(dig(map[string]any(o), "spec", "headers").(map[string]any), "earlyRequestHeaders")
				}
				return true
			},
			want: "a client's own x-gateway-inference-fairness-id header reaches the filters",
		},
		{
			name: "x-ratelimit headers turned off",
			edit: func(o Object) bool {
				if o.Kind() == "ClientTrafficPolicy" {
					dig(map[string]any(o), "spec", "headers").(map[string]any)["disableRateLimitHeaders"] = true
				}
				return true
			},
			want: "sends no x-ratelimit headers",
		},
	})
}
