package gateway

import (
	"fmt"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/sizing"
)

// Names of the gateway's Kubernetes objects.
const (
	Namespace        = "llm-gateway"
	ClassName        = "llm-platform"
	GatewayName      = "llm-gateway"
	ControllerName   = "gateway.envoyproxy.io/gatewayclass-controller"
	APIKeySecretName = "llm-api-keys"
	// ClientIDHeader carries the authenticated client's name, set by the
	// API-key check over whatever the client sent, to the rate limiter,
	// the AI Gateway's metrics and the models' endpoint pickers. It is the
	// header the picker reads as a request's fairness ID
	// (gateway-api-inference-extension v1.5.0 pkg/epp/metadata/consts.go),
	// so while a model is waking or saturated its queue serves clients in
	// turn (it reaches vLLM too, which ignores it). A
	// separate x-client-id could not be copied into it: the AI Gateway
	// ignores header mutations on InferencePool rules, and route filters
	// run after the picker.
	ClientIDHeader = "x-gateway-inference-fairness-id"
	// GroupHeader carries a JWT client's group (package budgets), for its
	// group's default budget. Like ClientIDHeader, it is removed from every
	// request before authentication (ClientTrafficPolicyObject), so only a
	// token can set it.
	GroupHeader = "x-llm-platform-group"
	// APIKeyListener and OIDCListener name the Gateway's listeners: API
	// keys on the first, JWTs on the second (package budgets says why two).
	APIKeyListener = "http"
	OIDCListener   = "oidc"
	// ModelHeader is set by the AI Gateway from the request body's "model".
	ModelHeader = "x-ai-eg-model"
	// BackendHeader is the response header naming the backend that
	// served a request routed to AIServiceBackends (a hosted provider, or
	// a fallback model's own Service): the value of BackendMetadata.
	BackendHeader = "x-llm-platform-backend"
	// BackendMetadata is the endpoint metadata the AI Gateway sets on
	// each backend of a route rule's cluster, to
	// <namespace>/<backend>/route/<route>/rule/<i>/ref/<j> (v1.0.0
	// internal/extensionserver/post_translate_modify.go;
	// internalapi.InternalEndpointMetadataNamespace and
	// InternalMetadataBackendNameKey), as an Envoy formatter operator
	// (upstream host metadata, namespace:key). The endpoints of an
	// InferencePool carry none: its responses get no header.
	BackendMetadata = "%UPSTREAM_METADATA(aigateway.envoy.io:per_route_rule_backend_name)%"
	// EnvoyNamespace runs Envoy Gateway and its Envoy proxies (with the AI
	// Gateway external processor as a sidecar).
	EnvoyNamespace = "envoy-gateway-system"
	// MaxRulesPerRoute is the AIGatewayRoute CRD's limit on spec.rules.
	MaxRulesPerRoute = 15
	// BufferLimit is how large a request Envoy buffers: the 32 KiB default
	// rejects long prompts (a 128k-token context is about 512 KiB of text).
	BufferLimit = "16Mi"
	// RequestTimeout bounds one completion from start to end: a streamed
	// one can run this long as long as tokens keep flowing.
	RequestTimeout = "600s"
	// NLBIdleTimeoutSeconds is how long the Network Load Balancer keeps a
	// flow with no packets: 350 s, fixed on TLS listeners (Elastic Load
	// Balancing user guide, "Network Load Balancers", connection idle
	// timeout); the in-tree cloud provider cannot change it on TCP ones.
	// Envoy must act before it: a flow the NLB drops is a connection reset
	// the client cannot tell from a crash.
	NLBIdleTimeoutSeconds = 350
	// StreamIdleTimeout ends a request that has sent no byte either way for
	// this long, with an error the client sees, before the NLB silently
	// drops it: a non-streaming completion must finish within it (stream
	// for longer generations: every token is a byte on the wire).
	StreamIdleTimeout = "330s"
	// ConnectionIdleTimeout closes a keep-alive connection with no request
	// in flight before the NLB forgets it, so a client never reuses a
	// connection the NLB already dropped.
	ConnectionIdleTimeout = "300s"

	envoyGatewayNamespace = EnvoyNamespace
	aiGatewayNamespace    = "envoy-ai-gateway-system"
	aiGatewayController   = "ai-gateway-controller"
	// EnvoyServiceAccount is the Envoy pods' service account, named in
	// the EnvoyProxy rather than left to Envoy Gateway's hashed default
	// (envoy-<namespace>-<gateway>-<hash>, v1.8.3 internal/
	// infrastructure/kubernetes/proxy/resource_provider.go,
	// serviceAccountName): EKS Pod Identity associates a role with a
	// service account by name, and the AI Gateway's external processor in
	// these pods signs Bedrock requests with that role (package
	// providers).
	EnvoyServiceAccount = "llm-gateway-envoy"
	// ShutdownManagerContainer is what Envoy Gateway v1.8.3 names the drain
	// sidecar of each Envoy pod (internal/infrastructure/kubernetes/proxy/
	// resource.go).
	ShutdownManagerContainer = "shutdown-manager"
)

// Listener describes how the load balancer is exposed.
type Listener struct {
	// Internal selects an internal NLB (reachable from the VPC and what is
	// peered or connected to it).
	Internal bool
	// SourceCIDRs restrict the NLB's clients.
	SourceCIDRs []string
	// CertificateARN terminates TLS on the NLB with an ACM certificate.
	CertificateARN string
	// NodeSelector places the Envoy proxies.
	NodeSelector map[string]string
	// OIDC adds the listener for JWT clients (OIDCPort).
	OIDC bool
	// PodAnnotations go on the Envoy pods: a change rolls them (package
	// providers annotates the Pod Identity role, whose credentials a pod
	// gets only if the association exists when it is created).
	PodAnnotations map[string]string
	// RouteNamespace is the one namespace whose routes the Gateway admits:
	// the models', where the AI Gateway needs the routes to be, next to
	// their InferencePools (package inference).
	RouteNamespace string
	// ChatHostname, when set, adds the chat front end's listener
	// (ChatListener) for that hostname, admitting routes from
	// ChatNamespace only, and the in-cluster Service Open WebUI calls.
	ChatHostname  string
	ChatNamespace string
}

// Port is the listener port: 443 with a certificate, 80 without.
func (l Listener) Port() int {
	if l.CertificateARN != "" {
		return 443
	}
	return 80
}

// OIDCPort is the JWT clients' listener port: 8443 with a certificate,
// 8080 without.
func (l Listener) OIDCPort() int {
	if l.CertificateARN != "" {
		return 8443
	}
	return 8080
}

// Scheme is the URL scheme clients use.
func (l Listener) Scheme() string {
	if l.CertificateARN != "" {
		return "https"
	}
	return "http"
}

func meta(name string) map[string]any {
	return map[string]any{"name": name, "namespace": Namespace}
}

func gatewayRef() map[string]any {
	return map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GatewayName}
}

// listenerRef targets one listener of the Gateway.
func listenerRef(section string) map[string]any {
	ref := gatewayRef()
	ref["sectionName"] = section
	return ref
}

// LoadBalancerAnnotations are the Service annotations the in-tree AWS
// cloud provider reads to create a Network Load Balancer.
func LoadBalancerAnnotations(l Listener) map[string]string {
	a := map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-type":                              "nlb",
		"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
	}
	if l.Internal {
		a["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true"
	}
	if l.CertificateARN != "" {
		// TLS ends at the NLB; Envoy receives plain HTTP on 443.
		a["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = l.CertificateARN
		a["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
		if l.OIDC {
			a["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = fmt.Sprintf("443,%d", l.OIDCPort())
		}
		a["service.beta.kubernetes.io/aws-load-balancer-backend-protocol"] = "tcp"
	}
	return a
}

// GatewayClassObject is the class bound to Envoy Gateway.
func GatewayClassObject() map[string]any {
	return map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1",
		"kind":       "GatewayClass",
		"metadata":   map[string]any{"name": ClassName},
		"spec":       map[string]any{"controllerName": ControllerName},
	}
}

// EnvoyProxyObject configures the Envoy data plane: two replicas on the
// platform pool (a PDB keeps one up while Karpenter moves them) behind
// the NLB.
func EnvoyProxyObject(l Listener) map[string]any {
	pod := map[string]any{"nodeSelector": manifest.Map(l.NodeSelector)}
	if len(l.PodAnnotations) > 0 {
		pod["annotations"] = manifest.Map(l.PodAnnotations)
	}
	service := map[string]any{
		"type":        "LoadBalancer",
		"annotations": manifest.Map(LoadBalancerAnnotations(l)),
	}
	if len(l.SourceCIDRs) > 0 {
		service["loadBalancerSourceRanges"] = manifest.List(l.SourceCIDRs)
	}
	return map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "EnvoyProxy",
		"metadata":   meta(GatewayName),
		"spec": map[string]any{
			"provider": map[string]any{
				"type": "Kubernetes",
				"kubernetes": map[string]any{
					"envoyDeployment": map[string]any{
						"replicas":  2,
						"pod":       pod,
						"container": map[string]any{"resources": sizing.Envoy.Values()},
						"patch":     shutdownManagerPatch(),
					},
					"envoyPDB":            map[string]any{"minAvailable": 1},
					"envoyService":        service,
					"envoyServiceAccount": map[string]any{"name": EnvoyServiceAccount},
				},
			},
		},
	}
}

// shutdownManagerPatch sizes the shutdown-manager container Envoy
// Gateway adds to every Envoy pod. EnvoyProxy has no field for it: v1.8.3
// hard-codes its resources (internal/infrastructure/kubernetes/proxy/
// resource.go, container "shutdown-manager" with
// DefaultShutdownManagerContainerResourceRequirements: requests only), then
// applies envoyDeployment.patch to the Deployment it built
// (resource_provider.go, utils.MergeWithPatch; internal/utils/merge.go
// runs strategicpatch.StrategicMergePatch against appsv1.Deployment, so
// containers merge by name and the envoy container is left alone). The
// value is an inline object: the CRD rejects a string of JSON
// (api/v1alpha1/shared_types.go, KubernetesPatchSpec). Envoy Gateway's own
// test case "shutdown-manager" (proxy/resource_provider_test.go, tag
// v1.8.3) patches the same container's resources this way.
func shutdownManagerPatch() map[string]any {
	return map[string]any{
		"type": "StrategicMerge",
		"value": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{
				"name":      ShutdownManagerContainer,
				"resources": sizing.ShutdownManager.Values(),
			}},
		}}}},
	}
}

// GatewayObject is the Gateway with one HTTP listener. The waitFor
// annotation makes `pulumi up` wait until the load balancer has an address,
// so the endpoint output is real; the gateway-config one names the
// GatewayConfig that sizes the AI Gateway's sidecar (gatewayconfig.go).
func GatewayObject(l Listener) map[string]any {
	return map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1",
		"kind":       "Gateway",
		"metadata": map[string]any{
			"name":      GatewayName,
			"namespace": Namespace,
			"annotations": map[string]any{
				"pulumi.com/waitFor":       "jsonpath={.status.addresses[0].value}",
				GatewayConfigAnnotationKey: GatewayConfigName,
			},
		},
		"spec": map[string]any{
			"gatewayClassName": ClassName,
			"listeners":        listeners(l),
			"infrastructure": map[string]any{
				"parametersRef": map[string]any{"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": GatewayName},
			},
		},
	}
}

// listeners are the API-key listener and, with OIDC, the JWT one. Routes
// come from the models' namespace only: a route anywhere else could not
// reach the API keys' or the budgets' policies' protected backends, but
// could answer for a model name.
//
// The chat listener shares the API listener's port (one NLB port, one
// certificate) and is told apart by its hostname: Envoy Gateway merges
// HTTP listeners of a port into one Envoy listener with a virtual host
// per hostname, and requests for any other host (the NLB's name, the
// in-cluster Service's) stay on the API listener. It admits routes from
// the chat namespace only, so no model route is reachable through it.
func listeners(l Listener) []any {
	listener := func(name string, port int, namespace string) map[string]any {
		return map[string]any{
			"name":     name,
			"protocol": "HTTP",
			"port":     port,
			"allowedRoutes": map[string]any{"namespaces": map[string]any{
				"from": "Selector",
				"selector": map[string]any{"matchLabels": map[string]any{
					"kubernetes.io/metadata.name": namespace,
				}},
			}},
		}
	}
	out := []any{listener(APIKeyListener, l.Port(), l.RouteNamespace)}
	if l.OIDC {
		out = append(out, listener(OIDCListener, l.OIDCPort(), l.RouteNamespace))
	}
	if l.ChatHostname != "" {
		chat := listener(ChatListener, l.Port(), l.ChatNamespace)
		chat["hostname"] = l.ChatHostname
		out = append(out, chat)
	}
	return out
}

// ClientTrafficPolicyObject raises the request buffer limit, keeps
// Envoy's idle timeouts under the load balancer's, and names the backend
// that served a response (BackendHeader). The header is set late, after
// routing, where the upstream host is known (Envoy Gateway v1.8.3
// headers.lateResponseHeaders: a header_mutation filter on the listener,
// internal/xds/translator/header_mutation.go), and set rather than added,
// so an upstream cannot supply its own. The identity headers a client
// could send are removed first, before any filter runs (early header
// mutation, internal/xds/translator/listener.go): only the API-key or JWT
// filter sets them, and a token without the claim leaves none.
func ClientTrafficPolicyObject() map[string]any {
	return map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "ClientTrafficPolicy",
		"metadata":   meta(GatewayName + "-buffers"),
		"spec": map[string]any{
			"targetRefs": []any{gatewayRef()},
			"connection": map[string]any{"bufferLimit": BufferLimit},
			"headers": map[string]any{
				"earlyRequestHeaders": map[string]any{"remove": []any{ClientIDHeader, GroupHeader}},
				"lateResponseHeaders": map[string]any{"set": []any{
					map[string]any{"name": BackendHeader, "value": BackendMetadata},
				}},
			},
			"timeout": map[string]any{"http": map[string]any{
				"streamIdleTimeout": StreamIdleTimeout,
				"idleTimeout":       ConnectionIdleTimeout,
			}},
		},
	}
}

// SecurityPolicyObject requires an API key on every request to the
// API-key listener: Envoy reads it from the Authorization header (the
// "Bearer " prefix OpenAI clients send is not part of the key), forwards
// the client's name and strips the key before the request reaches a
// model. The OIDC listener has its own policy (package budgets).
func SecurityPolicyObject() map[string]any {
	return map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "SecurityPolicy",
		"metadata":   meta(APIKeySecretName),
		"spec": map[string]any{
			"targetRefs": []any{listenerRef(APIKeyListener)},
			"apiKeyAuth": map[string]any{
				"credentialRefs":        []any{map[string]any{"group": "", "kind": "Secret", "name": APIKeySecretName}},
				"extractFrom":           []any{map[string]any{"headers": []any{"Authorization"}}},
				"forwardClientIDHeader": ClientIDHeader,
				"sanitize":              true,
			},
		},
	}
}

// Client is one API consumer with an API key (its budgets are package
// budgets').
type Client struct {
	Name string
}

// EnvoyGatewayValues are the gateway-helm values: the AI Gateway extension
// hooks (as the AI Gateway's envoy-gateway-values.yaml sets them), the
// Backend API, the controller on the platform pool, and the Redis rate
// limit backend when token limits are used.
func EnvoyGatewayValues(nodeSelector map[string]string, redisURL string, failClosed bool) map[string]any {
	provider := map[string]any{"type": "Kubernetes"}
	envoyGateway := map[string]any{
		"gateway":  map[string]any{"controllerName": ControllerName},
		"provider": provider,
		"extensionApis": map[string]any{
			"enableEnvoyPatchPolicy": true,
			"enableBackend":          true,
		},
		"extensionManager": map[string]any{
			// Routes to InferencePools reach the AI Gateway's extension
			// server, which builds the pool's cluster and the endpoint
			// picker's ext_proc filter (AI Gateway v1.0.0
			// examples/inference-pool/envoy-gateway-values-addon.yaml).
			// Envoy Gateway v1.8.3 has no InferencePool support of its own.
			"backendResources": []any{map[string]any{
				"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1",
			}},
			"hooks": map[string]any{"xdsTranslator": map[string]any{
				"translation": map[string]any{
					"listener": map[string]any{"includeAll": true},
					"route":    map[string]any{"includeAll": true},
					"cluster":  map[string]any{"includeAll": true},
					"secret":   map[string]any{"includeAll": true},
				},
				"post": []any{"Translation", "Cluster", "Route"},
			}},
			"service": map[string]any{"fqdn": map[string]any{
				"hostname": fmt.Sprintf("%s.%s.svc.cluster.local", aiGatewayController, aiGatewayNamespace),
				"port":     1063,
			}},
		},
	}
	if redisURL != "" {
		envoyGateway["rateLimit"] = map[string]any{
			"backend": map[string]any{"type": "Redis", "redis": map[string]any{"url": redisURL}},
			// gateway.budgetStoreDown: while the counter store is down,
			// requests pass unmetered (open, the default) or Envoy answers
			// 500 (closed) (ratelimit.go; README, "Token budgets").
			"failClosed": failClosed,
		}
		// The counter store requires its password (ratelimit.go).
		provider["kubernetes"] = map[string]any{"rateLimitDeployment": rateLimitDeployment(nodeSelector)}
	}
	return map[string]any{
		"config": map[string]any{"envoyGateway": envoyGateway},
		"deployment": map[string]any{
			"replicas": 2,
			"pod":      map[string]any{"nodeSelector": manifest.Map(nodeSelector)},
			// Stated, though equal to the chart's default (Helm would
			// merge a partial map into it: values.tmpl.yaml).
			"envoyGateway": map[string]any{"resources": sizing.EnvoyGatewayController.Values()},
		},
		// The pre-install hook Job that writes the control plane's
		// certificates (templates/certgen.yaml): its own nodeSelector, not
		// the Deployment's, and no resources by default.
		"certgen": map[string]any{"job": map[string]any{
			"nodeSelector": manifest.Map(nodeSelector),
			"resources":    sizing.Certgen.Values(),
		}},
		"podDisruptionBudget": map[string]any{"minAvailable": 1},
	}
}

// AIGatewayValues are the ai-gateway-helm values: the controller on the
// platform pool, and the client id as a metrics label (client_id), so token
// use can be charted per client (the MCP session seed is set separately,
// as a secret). With chatUsers, the chat front end's forwarded user too
// (user_email): one series per chat user, model and token type, which is
// why it is the only per-user label (and the user's email, not a
// per-chat id).
//
// The controller passes the value to every external processor as its
// -metricsRequestHeaderAttributes flag: comma-separated header:attribute
// pairs (v1.0.0 internal/internalapi ParseRequestHeaderAttributeMapping,
// cmd/extproc/mainlib).
func AIGatewayValues(nodeSelector map[string]string, chatUsers bool) map[string]any {
	attrs := ClientIDHeader + ":client.id"
	if chatUsers {
		attrs += "," + UserEmailHeader + ":" + UserEmailAttribute
	}
	return map[string]any{
		"controller": map[string]any{
			"nodeSelector":                   manifest.Map(nodeSelector),
			"resources":                      sizing.AIGatewayController.Values(),
			"metricsRequestHeaderAttributes": attrs,
		},
	}
}
