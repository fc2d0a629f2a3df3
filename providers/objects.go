package providers

import (
	"fmt"
	"sort"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/gateway"
)

// Kind is how the gateway reaches one kind of provider.
type Kind struct {
	// Schema is the AI Gateway's API schema for the backend
	// (AIServiceBackend spec.schema.name).
	Schema string
	// Prefix is the schema's path prefix (OpenAI: requests go to
	// <prefix>/chat/completions); empty where the schema has none.
	Prefix string
	// Host is the provider's API host for a region (empty for kinds
	// without regions).
	Host func(region string) string
	// Auth is the BackendSecurityPolicy type: APIKey (Authorization:
	// Bearer, AI Gateway v1.0.0 internal/backendauth/api_key.go) or
	// AWSCredentials (SigV4 with the default credential chain).
	Auth string
}

// Kinds maps config.ProviderKinds to how each is reached.
//
// Anthropic goes through its OpenAI SDK compatibility endpoint
// (https://api.anthropic.com/v1/chat/completions with the key as a Bearer
// token: Claude API docs, "OpenAI SDK compatibility"): the AI Gateway's
// Anthropic schema serves only the native /anthropic/v1/messages path, not
// /v1/chat/completions (v1.0.0 internal/endpointspec/endpointspec.go), and
// this platform's endpoint is OpenAI's. Anthropic calls that layer a way
// to test and compare models rather than a long-term production
// interface; the README says so.
var Kinds = map[string]Kind{
	config.ProviderBedrock: {
		Schema: "AWSBedrock",
		// The external processor signs for exactly this host
		// (internal/backendauth/aws.go), so the Backend must use it.
		Host: func(region string) string { return "bedrock-runtime." + region + ".amazonaws.com" },
		Auth: "AWSCredentials",
	},
	config.ProviderOpenAI: {
		Schema: "OpenAI", Prefix: "v1",
		Host: func(string) string { return "api.openai.com" },
		Auth: "APIKey",
	},
	config.ProviderAnthropic: {
		Schema: "OpenAI", Prefix: "v1",
		Host: func(string) string { return "api.anthropic.com" },
		Auth: "APIKey",
	},
}

// HTTPSPort is the providers' API port.
const HTTPSPort = 443

// Names of the objects.
const (
	// APIKeySecretKey is the key the AI Gateway reads an API key from
	// (api/v1beta1/backendsecurity_policy.go: the Secret's "apiKey").
	APIKeySecretKey = "apiKey"
)

// BackendName names a provider's Backend, AIServiceBackend and
// BackendSecurityPolicy.
func BackendName(provider string) string { return "provider-" + provider }

// SelfBackendName names the Backend and AIServiceBackend that reach a
// self-hosted model's Service directly (for its fallback rule).
func SelfBackendName(model string) string { return "self-" + model }

// APIKeySecretName names the Secret holding a provider's key.
func APIKeySecretName(provider string) string { return BackendName(provider) + "-api-key" }

// Route name prefixes (with -0, -1, ... per MaxRulesPerRoute rules).
const (
	HostedRoutePrefix   = "hosted"
	FallbackRoutePrefix = "fallback"
)

// Host is the provider's API host.
func Host(p config.Provider) string { return Kinds[p.Kind].Host(p.Region) }

func meta(name, namespace string) map[string]any {
	return map[string]any{"name": name, "namespace": namespace, "labels": map[string]any{
		"app.kubernetes.io/part-of": "llm-platform", "app.kubernetes.io/component": "hosted-provider",
	}}
}

// BackendObjects are a provider's Envoy Gateway Backend (its API host on
// 443), the BackendTLSPolicy that validates the host's certificate against
// the system trust store and its name, the AIServiceBackend with the
// provider's schema, and the BackendSecurityPolicy that authenticates each
// request. The API key Secret (key-based kinds) is created separately: its
// value is a secret output.
//
// A BackendTLSPolicy rather than the Backend's own tls settings: Envoy
// Gateway v1.8.3 turns Backend.spec.tls.wellKnownCACertificates into a
// trust store only (internal/gatewayapi/backendtlspolicy.go,
// processServerValidationTLSSettings), while a BackendTLSPolicy's
// validation.hostname also becomes the subject alternative name Envoy
// requires of the certificate: without it any publicly trusted
// certificate would do. gateway.networking.k8s.io/v1 is the version the
// Gateway API CRDs Envoy Gateway v1.8.3 ships serve (v1alpha3, in the AI
// Gateway's examples, is not served there).
func BackendObjects(p config.Provider, namespace string) []map[string]any {
	k := Kinds[p.Kind]
	name, host := BackendName(p.Name), Host(p)
	schema := map[string]any{"name": k.Schema}
	if k.Prefix != "" {
		schema["prefix"] = k.Prefix
	}
	policy := map[string]any{
		"targetRefs": []any{map[string]any{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend", "name": name}},
		"type":       k.Auth,
	}
	switch k.Auth {
	case "APIKey":
		policy["apiKey"] = map[string]any{"secretRef": map[string]any{"name": APIKeySecretName(p.Name)}}
	case "AWSCredentials":
		// Region only: the external processor falls back to the AWS
		// SDK's default credential chain (api/v1beta1/
		// backendsecurity_policy.go, AWSCredentials), which reads the
		// Pod Identity credentials of the Envoy pods (bedrock.go).
		policy["awsCredentials"] = map[string]any{"region": p.Region}
	}
	return []map[string]any{
		{
			"apiVersion": "gateway.envoyproxy.io/v1alpha1",
			"kind":       "Backend",
			"metadata":   meta(name, namespace),
			"spec": map[string]any{"endpoints": []any{map[string]any{
				"fqdn": map[string]any{"hostname": host, "port": HTTPSPort},
			}}},
		},
		{
			"apiVersion": "gateway.networking.k8s.io/v1",
			"kind":       "BackendTLSPolicy",
			"metadata":   meta(name, namespace),
			"spec": map[string]any{
				"targetRefs": []any{map[string]any{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": name}},
				"validation": map[string]any{"wellKnownCACertificates": "System", "hostname": host},
			},
		},
		{
			"apiVersion": "aigateway.envoyproxy.io/v1beta1",
			"kind":       "AIServiceBackend",
			"metadata":   meta(name, namespace),
			"spec": map[string]any{
				"schema":     schema,
				"backendRef": map[string]any{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": name},
				// The client's name is for the budgets, metrics and
				// pickers here, not for a third party. The external
				// processor removes it from what it forwards only: its
				// metrics still read it (v1.0.0 internal/headermutator/
				// header_mutator.go, Mutate), and the rate limit filter
				// has read it before the upstream filter runs.
				"headerMutation": map[string]any{"remove": []any{gateway.ClientIDHeader}},
			},
		},
		{
			"apiVersion": "aigateway.envoyproxy.io/v1beta1",
			"kind":       "BackendSecurityPolicy",
			"metadata":   meta(name, namespace),
			"spec":       policy,
		},
	}
}

// SelfBackendObjects reach a self-hosted model's Service directly, in
// plain HTTP, for its fallback rule: a Backend on the Service's cluster
// DNS name (a FQDN endpoint, like the providers', so the rule stays one
// Envoy cluster with a priority per backend: Envoy Gateway v1.8.3 splits a
// rule whose backends mix address types into a cluster per backend
// (internal/ir/xds.go), which the AI Gateway's extension server then
// skips, losing the priorities, authentication and translation) and an
// AIServiceBackend speaking OpenAI's schema, which vLLM serves.
func SelfBackendObjects(model, namespace string, port int) []map[string]any {
	name := SelfBackendName(model)
	return []map[string]any{
		{
			"apiVersion": "gateway.envoyproxy.io/v1alpha1",
			"kind":       "Backend",
			"metadata":   meta(name, namespace),
			"spec": map[string]any{"endpoints": []any{map[string]any{
				"fqdn": map[string]any{"hostname": fmt.Sprintf("%s.%s.svc.cluster.local", model, namespace), "port": port},
			}}},
		},
		{
			"apiVersion": "aigateway.envoyproxy.io/v1beta1",
			"kind":       "AIServiceBackend",
			"metadata":   meta(name, namespace),
			"spec": map[string]any{
				"schema":     map[string]any{"name": "OpenAI", "prefix": "v1"},
				"backendRef": map[string]any{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": name},
			},
		},
	}
}

// HostedRouteObjects route each hosted served name to its provider,
// rewriting the model to the provider's id.
func HostedRouteObjects(providers []config.Provider, namespace string, listeners []string) []map[string]any {
	type served struct{ name, provider, upstream string }
	var all []served
	for _, p := range providers {
		for _, m := range p.Models {
			all = append(all, served{m.ServedName, p.Name, m.UpstreamModel})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	rules := make([]any, len(all))
	for i, s := range all {
		rules[i] = gateway.ModelRule(s.name, map[string]any{"name": BackendName(s.provider), "modelNameOverride": s.upstream})
	}
	return routes(HostedRoutePrefix, namespace, listeners, rules)
}

// FallbackModel is a self-hosted model with a hosted fallback.
type FallbackModel struct {
	// Model names the model's Service.
	Model string
	// ServedName is its base served name (its adapters stay on the pool).
	ServedName string
	Fallback   config.Fallback
}

// FallbackRouteObjects send each fallback model's base served name to the
// model itself first (priority 0) and to its hosted model next
// (priority 1, with the model rewritten). Envoy moves a request to the
// next priority only on a retry (FallbackPolicyObject) or when priority 0
// has no healthy host.
func FallbackRouteObjects(models []FallbackModel, namespace string, listeners []string) []map[string]any {
	sorted := append([]FallbackModel(nil), models...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ServedName < sorted[j].ServedName })
	rules := make([]any, len(sorted))
	for i, m := range sorted {
		rules[i] = gateway.ModelRule(m.ServedName,
			map[string]any{"name": SelfBackendName(m.Model), "priority": 0},
			map[string]any{"name": BackendName(m.Fallback.Provider), "priority": 1, "modelNameOverride": m.Fallback.UpstreamModel},
		)
	}
	return routes(FallbackRoutePrefix, namespace, listeners, rules)
}

func routes(prefix, namespace string, listeners []string, rules []any) []map[string]any {
	var out []map[string]any
	for i, chunk := range gateway.ChunkRules(rules) {
		out = append(out, gateway.AIGatewayRouteObject(fmt.Sprintf("%s-%d", prefix, i), namespace, listeners, chunk))
	}
	return out
}

// FallbackStatusCodes are the self-hosted answers retried on the hosted
// model: vLLM's 500 (an engine error), and the 502, 503 and 504 Envoy
// gives for a replica that is gone, not ready or hung.
var FallbackStatusCodes = []int{500, 502, 503, 504}

// FallbackPolicyObject retries a fallback route's failed first attempt
// once, on the next priority (the hosted model), when the connection to
// the model fails (no ready replica: the Service has no endpoints and
// kube-proxy refuses the connection, so a model waking from zero falls
// back at once instead of holding the request), is reset, or answers one
// of FallbackStatusCodes before any byte of the response reached the
// client. numAttemptsPerPriority 1 is Envoy's previous_priorities retry
// plugin (Envoy Gateway v1.8.3 internal/xds/translator/route.go,
// buildRetryPolicy). There is no per-try timeout: a long generation is
// not a failure.
//
// mergeType StrategicMerge keeps the Gateway's own BackendTrafficPolicy
// (the token budgets) in force on this route: without it the more
// specific policy replaces the Gateway's entirely (api/v1alpha1/
// backendtrafficpolicy_types.go, MergeType), and the route would be
// unmetered.
func FallbackPolicyObject(route, namespace string) map[string]any {
	codes := make([]any, len(FallbackStatusCodes))
	for i, c := range FallbackStatusCodes {
		codes[i] = c
	}
	return map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "BackendTrafficPolicy",
		"metadata":   meta(route, namespace),
		"spec": map[string]any{
			"targetRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route}},
			"mergeType":  "StrategicMerge",
			"retry": map[string]any{
				"numRetries":             1,
				"numAttemptsPerPriority": 1,
				"retryOn": map[string]any{
					"triggers":        []any{"connect-failure", "reset", "retriable-status-codes"},
					"httpStatusCodes": codes,
				},
				"perRetry": map[string]any{"backOff": map[string]any{"baseInterval": "100ms", "maxInterval": "1s"}},
			},
		},
	}
}
