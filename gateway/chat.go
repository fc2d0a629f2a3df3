package gateway

import "fmt"

// The chat front end's side of the gateway (package chat): a listener
// of its own for the chat hostname, an in-cluster Service in front of
// the Envoy pods that Open WebUI calls the models through, and the
// forwarded chat user as a metrics label.

const (
	// ChatListener names the Gateway listener of the chat front end: the
	// API listener's port, its own hostname, routes only from the chat
	// namespace, and no API-key policy (Open WebUI signs its users in).
	ChatListener = "chat"
	// InClusterServiceName is the ClusterIP Service in front of the Envoy
	// pods, on port 80, for callers inside the cluster. Envoy Gateway
	// names its own Service envoy-<namespace>-<gateway>-<hash>; naming
	// that one (EnvoyProxy envoyService.name) would replace the
	// LoadBalancer Service, and so the NLB and the endpoint's address, on
	// every stack that has one.
	InClusterServiceName = "llm-gateway-internal"
	// UserEmailHeader is the signed-in user Open WebUI forwards with each
	// model call (ENABLE_FORWARD_USER_INFO_HEADERS). The AI Gateway records
	// it as the metrics label user_email, next to client_id. Any client
	// could send it: it means something only where client_id is "chat".
	UserEmailHeader = "x-openwebui-user-email"
	// UserEmailAttribute is the metrics attribute it becomes (user.email,
	// exported to Prometheus as user_email).
	UserEmailAttribute = "user.email"
)

// wellKnownPortShift is what Envoy Gateway v1.8.3 adds to a listener
// port under 1024 to get the Envoy container's port, which runs unprivileged
// (internal/gatewayapi/translator.go wellKnownPortShift, listener.go).
const wellKnownPortShift = 10000

// ContainerPort is the Envoy container port a Gateway listener port maps to
// (80: 10080, 443: 10443): what a NetworkPolicy towards the Envoy pods names,
// since policies see the pod's port, not the Service's.
func ContainerPort(listenerPort int) int {
	if listenerPort < 1024 {
		return listenerPort + wellKnownPortShift
	}
	return listenerPort
}

// EnvoyPodLabels select this Gateway's Envoy pods: Envoy Gateway v1.8.3
// labels them with its app labels and the owning Gateway
// (internal/infrastructure/kubernetes/proxy/resource.go EnvoyAppLabel,
// resource_provider.go stableSelector).
func EnvoyPodLabels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":                         "envoy",
		"app.kubernetes.io/component":                    "proxy",
		"app.kubernetes.io/managed-by":                   "envoy-gateway",
		"gateway.envoyproxy.io/owning-gateway-name":      GatewayName,
		"gateway.envoyproxy.io/owning-gateway-namespace": Namespace,
	}
}

// InClusterURL is the OpenAI base URL inside the cluster: the API
// listener through InClusterServiceName, plain HTTP (TLS, where there is
// any, ends at the NLB), authenticated with an API key like any client.
func InClusterURL() string {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local/v1", InClusterServiceName, EnvoyNamespace)
}

// InClusterServiceObject is the ClusterIP Service behind InClusterURL: port
// 80 to the Envoy container port of the API listener (l.Port()).
func InClusterServiceObject(l Listener) map[string]any {
	selector := map[string]any{}
	for k, v := range EnvoyPodLabels() {
		selector[k] = v
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata":   map[string]any{"name": InClusterServiceName, "namespace": EnvoyNamespace},
		"spec": map[string]any{
			"type":     "ClusterIP",
			"selector": selector,
			"ports": []any{map[string]any{
				"name": "http", "protocol": "TCP", "port": 80, "targetPort": ContainerPort(l.Port()),
			}},
		},
	}
}
