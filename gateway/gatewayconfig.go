package gateway

import "github.com/llm-platform/llm-platform/sizing"

// The AI Gateway's external processor runs in every Envoy pod, injected
// by the AI Gateway controller's pod webhook, and no chart value or
// controller flag sizes it: without a GatewayConfig it gets no resources
// at all (AI Gateway v1.0.0 internal/controller/gateway_mutator.go,
// mutatePod: `var resources corev1.ResourceRequirements` is filled only
// from the GatewayConfig's spec.extProc.kubernetes.resources).
//
// How the controller finds it (same files, tag v1.0.0):
//   - the Gateway names it in the annotation GatewayConfigAnnotationKey
//     (internal/controller/ai_gateway_route.go);
//   - it must be in the Gateway's namespace: fetchGatewayConfig looks it
//     up by that name in the Gateway's namespace (gateway_mutator.go and
//     gateway.go);
//   - it is read when an Envoy pod is admitted (mutatePod calls
//     fetchGatewayConfig), and a missing one means "no resources", not an
//     error. A later change to it makes the controller reconcile the
//     Gateway (internal/controller/gateway_config.go), which does not roll
//     the running Envoy pods; their next rollout picks it up.
//
// So NewGateway applies it before the Gateway: the first Envoy pods are
// sized.

const (
	// GatewayConfigName names the GatewayConfig, next to the Gateway.
	GatewayConfigName = GatewayName
	// GatewayConfigAnnotationKey is the Gateway annotation the AI Gateway
	// reads the GatewayConfig's name from.
	GatewayConfigAnnotationKey = "aigateway.envoyproxy.io/gateway-config"
)

// GatewayConfigObject sizes the AI Gateway's external processor sidecar
// in the Envoy pods (package sizing, ExtProc).
func GatewayConfigObject() map[string]any {
	return map[string]any{
		"apiVersion": "aigateway.envoyproxy.io/v1beta1",
		"kind":       "GatewayConfig",
		"metadata":   meta(GatewayConfigName),
		"spec": map[string]any{"extProc": map[string]any{"kubernetes": map[string]any{
			"resources": sizing.ExtProc.Values(),
		}}},
	}
}
