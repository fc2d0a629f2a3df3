package xlate

import "testing"

// TestChatBrokenCopiesBite: the chat listener serves Open WebUI only, with
// no credential check of the gateway's; broken copies of the two-models
// golden (which has chat) fail.
func TestChatBrokenCopiesBite(t *testing.T) {
	checkBrokenCopies(t, "two-models", []brokenCopy{
		{
			// Without sectionName a route attaches to every listener
			// that admits it.
			name: "model routes on every listener",
			edit: func(o Object) bool {
				if o.Kind() == "AIGatewayRoute" {
					spec := o["spec"].(map[string]any)
					first := list(spec["parentRefs"])[0].(map[string]any)
					delete(first, "sectionName")
					spec["parentRefs"] = []any{first}
				}
				return true
			},
			want: "not the chat front end: reachable on the chat hostname with no credential",
		},
		{
			name: "API keys required on the chat listener",
			edit: func(o Object) bool {
				if o.Kind() == "SecurityPolicy" && o.Name() == "llm-api-keys" {
					for _, ref := range list(dig(map[string]any(o), "spec", "targetRefs")) {
						delete(ref.(map[string]any), "sectionName")
					}
				}
				return true
			},
			want: "envoy.filters.http.api_key_auth runs here: the chat page's users have no such credential",
		},
	})
}
