package xlate

import (
	"strings"
	"testing"
)

// TestHostedBrokenCopiesBite: each hosted-provider and fallback check
// fails on a broken copy of the hosted golden.
func TestHostedBrokenCopiesBite(t *testing.T) {
	fallbackPolicy := func(o Object) bool {
		return o.Kind() == "BackendTrafficPolicy" && o.Name() == "fallback-0"
	}
	checkBrokenCopies(t, "hosted", []brokenCopy{
		{
			name: "provider without its BackendTLSPolicy",
			edit: func(o Object) bool { return o.Kind() != "BackendTLSPolicy" || o.Name() != "provider-openai" },
			// No TLS policy, no external host: CheckBackends refuses it.
			want: "endpoint api.openai.com:443 is no rendered Service and port",
		},
		{
			name: "TLS policy validating another hostname",
			edit: func(o Object) bool {
				if o.Kind() == "BackendTLSPolicy" && o.Name() == "provider-bedrock" {
					dig(map[string]any(o), "spec", "validation").(map[string]any)["hostname"] = "bedrock.example.com"
				}
				return true
			},
			want: "is no rendered Service and port",
		},
		{
			name: "fallback retry replacing the Gateway's budgets (no mergeType)",
			edit: func(o Object) bool {
				if fallbackPolicy(o) {
					delete(o["spec"].(map[string]any), "mergeType")
				}
				return true
			},
			want: "no token budget",
		},
		{
			name: "fallback route without its retry policy",
			edit: func(o Object) bool { return !fallbackPolicy(o) },
			want: "no previous_priorities retry",
		},
		{
			name: "self-hosted backend by IP (the rule splits into a cluster per backend)",
			edit: func(o Object) bool {
				if o.Kind() == "Backend" && o.Name() == "self-llama-8b" {
					o["spec"] = map[string]any{"endpoints": []any{map[string]any{"ip": map[string]any{"address": "10.40.0.10", "port": 8000}}}}
				}
				return true
			},
			want: "no cluster of the rule's own name",
		},
		{
			name: "fallback without priorities",
			edit: func(o Object) bool {
				if o.Kind() == "AIGatewayRoute" && o.Name() == "fallback-0" {
					for _, r := range list(dig(map[string]any(o), "spec", "rules")) {
						for _, ref := range list(dig(r, "backendRefs")) {
							delete(ref.(map[string]any), "priority")
						}
					}
				}
				return true
			},
			want: "2 backends on 0 priority levels",
		},
	})
}

// checkClusterTLS on clusters egctl would not emit for the goldens: an
// endpoint with no transport socket match, and one whose TLS context
// checks another name.
func TestClusterTLSCheck(t *testing.T) {
	endpoint := func(match string) any {
		lb := map[string]any{"endpoint": map[string]any{"address": map[string]any{"socketAddress": map[string]any{
			"address": "api.openai.com", "portValue": 443.0,
		}}}}
		if match != "" {
			lb["metadata"] = map[string]any{"filterMetadata": map[string]any{"envoy.transport_socket_match": map[string]any{"name": match}}}
		}
		return map[string]any{"lbEndpoints": []any{lb}}
	}
	tlsMatch := func(san string) any {
		return map[string]any{"name": "m", "transportSocket": map[string]any{"typedConfig": map[string]any{
			"sni": "api.openai.com",
			"commonTlsContext": map[string]any{"combinedValidationContext": map[string]any{
				"defaultValidationContext": map[string]any{"matchTypedSubjectAltNames": []any{
					map[string]any{"sanType": "DNS", "matcher": map[string]any{"exact": san}},
				}},
				"validationContextSdsSecretConfig": map[string]any{"name": "provider-openai/models-ca"},
			}},
		}}}
	}
	tls := map[string]string{"api.openai.com:443": "api.openai.com"}
	for _, tc := range []struct {
		name    string
		cluster any
		want    string
	}{
		{"good", map[string]any{"transportSocketMatches": []any{tlsMatch("api.openai.com")},
			"loadAssignment": map[string]any{"endpoints": []any{endpoint("m")}}}, ""},
		{"plaintext", map[string]any{"loadAssignment": map[string]any{"endpoints": []any{endpoint("")}}}, "reached without TLS"},
		{"other name", map[string]any{"transportSocketMatches": []any{tlsMatch("*.example.com")},
			"loadAssignment": map[string]any{"endpoints": []any{endpoint("m")}}}, "any publicly trusted certificate would do"},
	} {
		got := strings.Join(checkClusterTLS("gw", tc.cluster, tls), "\n")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}
