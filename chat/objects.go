package chat

// Policy is what the chat pod may reach and be reached by.
type Policy struct {
	// EnvoyNamespace and EnvoyPodLabels select the gateway's Envoy pods;
	// EnvoyPort is their container port of the API listener (the port a
	// policy sees once the Service's address is translated).
	EnvoyNamespace string
	EnvoyPodLabels map[string]string
	EnvoyPort      int
	// OIDC opens HTTPS to addresses outside VPCCIDR (the issuer: a
	// NetworkPolicy names addresses, not hosts).
	OIDC    bool
	VPCCIDR string
	// ExternalDatabase opens PostgreSQL's port (5432) to any address:
	// the database may be in the VPC (RDS) or beyond.
	ExternalDatabase bool
}

// PostgresPort is the port opened for an external database.
const PostgresPort = 5432

func stringMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func port(protocol string, n int) any { return map[string]any{"protocol": protocol, "port": n} }

// DefaultDenyObject refuses every pod of the namespace all traffic that
// no other policy allows.
func DefaultDenyObject() map[string]any {
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": "default-deny", "namespace": Namespace},
		"spec": map[string]any{
			"podSelector": map[string]any{},
			"policyTypes": []any{"Ingress", "Egress"},
		},
	}
}

// NetworkPolicyObject admits to Open WebUI only the Envoy pods (the
// chat listener's route), and lets it reach only the Envoy pods' API
// listener, the cluster DNS and, as configured, the OIDC issuer and the
// database.
func NetworkPolicyObject(p Policy) map[string]any {
	envoy := map[string]any{
		"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": p.EnvoyNamespace}},
		"podSelector":       map[string]any{"matchLabels": stringMap(p.EnvoyPodLabels)},
	}
	dns := map[string]any{
		"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
		"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
	}
	egress := []any{
		map[string]any{"to": []any{envoy}, "ports": []any{port("TCP", p.EnvoyPort)}},
		map[string]any{"to": []any{dns}, "ports": []any{port("UDP", 53), port("TCP", 53)}},
	}
	if p.OIDC {
		egress = append(egress, map[string]any{
			"to":    []any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0", "except": []any{p.VPCCIDR}}}},
			"ports": []any{port("TCP", 443)},
		})
	}
	if p.ExternalDatabase {
		egress = append(egress, map[string]any{"ports": []any{port("TCP", PostgresPort)}})
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": ReleaseName, "namespace": Namespace},
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": stringMap(PodLabels())},
			"policyTypes": []any{"Ingress", "Egress"},
			"ingress":     []any{map[string]any{"from": []any{envoy}, "ports": []any{port("TCP", ContainerPort)}}},
			"egress":      egress,
		},
	}
}

// Route is where the chat listener sends a hostname's requests.
type Route struct {
	Hostname                               string
	GatewayName, GatewayNamespace, Section string
	// Timeout bounds a request (a streamed answer arrives on one).
	Timeout string
}

// HTTPRouteObject sends the chat hostname's requests on the Gateway's chat
// listener to Open WebUI's Service.
func HTTPRouteObject(r Route) map[string]any {
	return map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1",
		"kind":       "HTTPRoute",
		"metadata":   map[string]any{"name": ReleaseName, "namespace": Namespace},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{
				"group": "gateway.networking.k8s.io", "kind": "Gateway",
				"name": r.GatewayName, "namespace": r.GatewayNamespace, "sectionName": r.Section,
			}},
			"hostnames": []any{r.Hostname},
			"rules": []any{map[string]any{
				"backendRefs": []any{map[string]any{"name": ServiceName, "port": ServicePort}},
				"timeouts":    map[string]any{"request": r.Timeout},
			}},
		},
	}
}
