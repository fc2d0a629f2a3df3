// Package providers serves hosted models behind the platform's one
// OpenAI-compatible endpoint, beside the self-hosted ones: Amazon Bedrock
// (requests signed by the AI Gateway's external processor with an IAM role
// reached through EKS Pod Identity), OpenAI and Anthropic (API keys from
// Pulumi secrets), and fallback from a self-hosted model to a hosted one.
//
// Hosted traffic goes through the same Gateway, so the same client API
// keys, token budgets, fairness header and gen_ai metrics apply to it; the
// AI Gateway (v1.0.0) lists every served name on /v1/models from the
// routes' model matches (internal/controller/gateway.go).
//
// A fallback cannot share a rule with the model's InferencePool: the
// AIGatewayRoute CRD refuses a rule that mixes an InferencePool with
// AIServiceBackends (api/v1beta1/ai_gateway_route.go, "cannot mix
// InferencePool and AIServiceBackend references in the same rule"). So a
// model with a fallback is reached, under its base served name, through an
// AIServiceBackend on the model's own Service (priority 0) with the
// hosted model next (priority 1), the AI Gateway's own fallback design
// (examples/provider_fallback, tag v1.0.0); its LoRA adapters stay on the
// pool. objects.go says what that costs and why it is still the better
// behaviour for such a model.
package providers
