package gateway

import (
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/versions"
)

// Args configures the Gateway.
type Args struct {
	Listener Listener
	// Clients each get an API key.
	Clients []Client
	// ServedNames are the model names the endpoint answers to (package
	// inference routes them).
	ServedNames []string
	// Provider is the cluster's Kubernetes provider.
	Provider *kubernetes.Provider
	// Budgets is the token budgets' BackendTrafficPolicy (package
	// budgets); nil: no budget, and no counter store.
	Budgets map[string]any
	// JWTPolicy is the OIDC listener's SecurityPolicy (package budgets);
	// set exactly when Listener.OIDC is.
	JWTPolicy map[string]any
	// CounterStore is how the budgets' counters are kept.
	CounterStore CounterStore
	// DependsOn holds what the controllers need first (the platform pool).
	DependsOn []pulumi.Resource
	// EnvoyDependsOn holds what the Envoy pods need before they start
	// (the Pod Identity association their Bedrock credentials come from).
	EnvoyDependsOn []pulumi.Resource
}

// Gateway is the platform's OpenAI-compatible endpoint.
type Gateway struct {
	pulumi.ResourceState

	// Endpoint is the base URL clients use: <scheme>://<load balancer>/v1.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// OIDCEndpoint is the base URL of JWT clients (the OIDC listener's
	// port); empty without OIDC.
	OIDCEndpoint pulumi.StringOutput `pulumi:"oidcEndpoint"`
	// ServedModels are the model names the endpoint answers to.
	ServedModels pulumi.StringArrayOutput `pulumi:"servedModels"`
	// APIKeys maps each client to its API key (a secret).
	APIKeys pulumi.StringMapOutput `pulumi:"apiKeys"`

	// Ready is what routes to the gateway need first: the Gateway and its
	// API-key and budget policies (the controllers and CRDs with them).
	Ready []pulumi.Resource
	// InferenceCRDs are the Gateway API Inference Extension CRDs.
	InferenceCRDs pulumi.Resource
	// LoadBalancerNamespace is the namespace holding the Envoy Service that
	// owns the NLB; its delete completes only once the NLB is gone.
	LoadBalancerNamespace pulumi.Resource
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (a *Args) validate() error {
	if a.Provider == nil {
		return fmt.Errorf("gateway: Provider is required")
	}
	if len(a.Clients) == 0 {
		return fmt.Errorf("gateway: config key gateway.clients is empty: every request needs an API key")
	}
	seen := map[string]bool{}
	for _, c := range a.Clients {
		if !dnsLabel.MatchString(c.Name) || seen[c.Name] {
			return fmt.Errorf("gateway: config key gateway.clients: client name %q is not a unique DNS label", c.Name)
		}
		seen[c.Name] = true
	}
	if a.Listener.OIDC != (a.JWTPolicy != nil) {
		return fmt.Errorf("gateway: the OIDC listener and its JWT policy come together (config key gateway.oidc)")
	}
	if a.Listener.RouteNamespace == "" {
		return fmt.Errorf("gateway: the listener's RouteNamespace is required")
	}
	if (a.Listener.ChatHostname == "") != (a.Listener.ChatNamespace == "") {
		return fmt.Errorf("gateway: the chat listener needs both its hostname and its namespace (config key chat.hostname)")
	}
	return nil
}

// NewGateway installs Envoy Gateway and the AI Gateway and declares the
// gateway, its security and rate-limit policies and the model routes.
func NewGateway(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Gateway, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	gw := &Gateway{}
	if err := ctx.RegisterComponentResource("llm-platform:gateway:Gateway", name, gw, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(gw)
	k8s := pulumi.Provider(args.Provider)
	nodeSelector := args.Listener.NodeSelector

	// Pod Security, enforced per namespace at the strictest level its pods
	// pass (the real API server check in tests/crd/kubeapi dry-runs them):
	// Redis, Envoy Gateway's controller, its Envoy proxies with the AI
	// Gateway's external processor and its rate limit service all pass
	// restricted (Envoy Gateway v1.8.3 internal/infrastructure/kubernetes/
	// resource.DefaultSecurityContext; AI Gateway v1.0.0 internal/controller/
	// gateway_mutator.go); the AI Gateway controller's chart defaults pass
	// baseline only.
	ns, err := manifest.NewNamespace(ctx, name+"-namespace", Namespace,
		manifest.PodSecurityLabels(manifest.PodSecurityRestricted), parent, k8s)
	if err != nil {
		return nil, err
	}
	inNamespace := pulumi.DependsOn([]pulumi.Resource{ns})

	// Envoy Gateway creates the Envoy proxies' LoadBalancer Service, and so
	// the NLB, in its own namespace (v1.8.3 default: the controller's
	// namespace). Helm's createNamespace would leave that namespace, the
	// Service and the NLB behind on uninstall, and the NLB's network
	// interfaces would then fail the subnets' and VPC's deletes
	// (DependencyViolation; envoyproxy/gateway#1820, #2939). Declared
	// here, the namespace is deleted after the controller and before the
	// cluster and system nodes, and the delete waits until the namespace
	// is gone: until the Service's load-balancer-cleanup finalizer is
	// released, that is, until the cloud provider has deleted the NLB.
	egNamespace, err := manifest.NewNamespace(ctx, name+"-envoy-gateway-namespace", envoyGatewayNamespace,
		manifest.PodSecurityLabels(manifest.PodSecurityRestricted), parent, k8s, pulumi.DependsOn(args.DependsOn),
		// NLB deletion plus deregistration delay takes minutes.
		pulumi.Timeouts(&pulumi.CustomTimeouts{Delete: "20m"}))
	if err != nil {
		return nil, err
	}
	gw.LoadBalancerNamespace = egNamespace

	// Token budgets need a shared counter store (ratelimit.go).
	redisURL := ""
	var controllerDeps []pulumi.Resource
	if args.Budgets != nil {
		store, err := newCounterStore(ctx, name, nodeSelector, args.CounterStore, ns, egNamespace, parent, k8s)
		if err != nil {
			return nil, err
		}
		redisURL = store.url
		controllerDeps = append(controllerDeps, store.ready...)
	}

	// Gateway API and Envoy Gateway CRDs, applied object by object (they
	// do not fit a Helm release Secret) with server-side apply.
	crds, err := helmv4.NewChart(ctx, name+"-envoy-gateway-crds", &helmv4.ChartArgs{
		Chart:     pulumi.String(versions.EnvoyGatewayCRDsChart),
		Version:   pulumi.String(versions.EnvoyGatewayVersion),
		Namespace: pulumi.String(envoyGatewayNamespace),
		Values: pulumi.ToMap(map[string]any{
			"crds": map[string]any{
				"gatewayAPI":   map[string]any{"enabled": true, "channel": "experimental"},
				"envoyGateway": map[string]any{"enabled": true},
			},
		}),
	}, parent, k8s, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, err
	}
	eg, err := helmv3.NewRelease(ctx, name+"-envoy-gateway", &helmv3.ReleaseArgs{
		Name:            pulumi.String("eg"),
		Chart:           pulumi.String(versions.EnvoyGatewayChart),
		Version:         pulumi.String(versions.EnvoyGatewayVersion),
		Namespace:       egNamespace.Metadata.Name().Elem(),
		CreateNamespace: pulumi.Bool(false),
		SkipCrds:        pulumi.Bool(true),
		Values:          pulumi.ToMap(EnvoyGatewayValues(nodeSelector, redisURL, args.CounterStore.FailClosed)),
	}, parent, k8s, pulumi.DependsOn(append([]pulumi.Resource{crds, egNamespace}, controllerDeps...)))
	if err != nil {
		return nil, err
	}
	aiNamespace, err := manifest.NewNamespace(ctx, name+"-ai-gateway-namespace", aiGatewayNamespace,
		manifest.PodSecurityLabels(manifest.PodSecurityBaseline), parent, k8s, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, err
	}
	// The Inference Extension's CRDs go in before the AI Gateway
	// controller starts: it sets up its InferencePool controller only if
	// the CRD exists then (v1.0.0 internal/controller/controller.go).
	inferenceCRDs, err := yamlv2.NewConfigFile(ctx, name+"-inference-extension-crds", &yamlv2.ConfigFileArgs{
		File: pulumi.String(versions.InferenceExtensionCRDsURL),
	}, parent, k8s, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, err
	}
	gw.InferenceCRDs = inferenceCRDs
	aiCRDs, err := helmv3.NewRelease(ctx, name+"-ai-gateway-crds", &helmv3.ReleaseArgs{
		Name:            pulumi.String("aieg-crd"),
		Chart:           pulumi.String(versions.AIGatewayCRDsChart),
		Version:         pulumi.String(versions.AIGatewayVersion),
		Namespace:       aiNamespace.Metadata.Name().Elem(),
		CreateNamespace: pulumi.Bool(false),
	}, parent, k8s, pulumi.DependsOn([]pulumi.Resource{aiNamespace}))
	if err != nil {
		return nil, err
	}
	// The chart's default MCP session-encryption seed is a public string;
	// a generated one keeps MCP sessions unforgeable.
	seed, err := random.NewRandomPassword(ctx, name+"-mcp-seed", &random.RandomPasswordArgs{
		Length: pulumi.Int(48), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	values := AIGatewayValues(nodeSelector, args.Listener.ChatHostname != "")
	controller := pulumi.ToMap(values["controller"].(map[string]any))
	controller["mcp"] = pulumi.Map{"sessionEncryption": pulumi.Map{"seed": seed.Result}}
	aiValues := pulumi.ToMap(values)
	aiValues["controller"] = controller
	ai, err := helmv3.NewRelease(ctx, name+"-ai-gateway", &helmv3.ReleaseArgs{
		Name:      pulumi.String("aieg"),
		Chart:     pulumi.String(versions.AIGatewayChart),
		Version:   pulumi.String(versions.AIGatewayVersion),
		Namespace: pulumi.String(aiGatewayNamespace),
		SkipCrds:  pulumi.Bool(true),
		Values:    aiValues,
	}, parent, k8s, pulumi.DependsOn([]pulumi.Resource{aiCRDs, eg, inferenceCRDs}))
	if err != nil {
		return nil, err
	}
	controllers := pulumi.DependsOn([]pulumi.Resource{ns, eg, ai})

	apply := func(suffix string, obj map[string]any, extra ...pulumi.ResourceOption) (*manifest.Object, error) {
		return manifest.Apply(ctx, name+"-"+suffix, obj, append([]pulumi.ResourceOption{parent, k8s, controllers}, extra...)...)
	}
	class, err := apply("class", GatewayClassObject())
	if err != nil {
		return nil, err
	}
	proxy, err := apply("envoy-proxy", EnvoyProxyObject(args.Listener), pulumi.DependsOn(args.EnvoyDependsOn))
	if err != nil {
		return nil, err
	}
	// Before the Gateway: the AI Gateway reads it when it admits an Envoy
	// pod (gatewayconfig.go).
	extProcConfig, err := apply("gateway-config", GatewayConfigObject())
	if err != nil {
		return nil, err
	}
	gateway, err := apply("gateway", GatewayObject(args.Listener), pulumi.DependsOn([]pulumi.Resource{class, proxy, extProcConfig}))
	if err != nil {
		return nil, err
	}
	afterGateway := pulumi.DependsOn([]pulumi.Resource{gateway})
	if _, err := apply("buffers", ClientTrafficPolicyObject(), afterGateway); err != nil {
		return nil, err
	}

	keys, keySecret, err := newAPIKeys(ctx, name, args.Clients, parent, k8s, inNamespace)
	if err != nil {
		return nil, err
	}
	apiKeys, err := apply("api-keys", SecurityPolicyObject(), afterGateway, pulumi.DependsOn([]pulumi.Resource{keySecret}))
	if err != nil {
		return nil, err
	}
	gw.Ready = []pulumi.Resource{gateway, apiKeys}
	if args.Listener.ChatHostname != "" {
		if _, err := apply("in-cluster", InClusterServiceObject(args.Listener), pulumi.DependsOn([]pulumi.Resource{egNamespace})); err != nil {
			return nil, err
		}
	}
	if args.JWTPolicy != nil {
		jwt, err := apply("oidc", args.JWTPolicy, afterGateway)
		if err != nil {
			return nil, err
		}
		gw.Ready = append(gw.Ready, jwt)
	}
	if args.Budgets != nil {
		limits, err := apply("token-limits", args.Budgets, afterGateway)
		if err != nil {
			return nil, err
		}
		gw.Ready = append(gw.Ready, limits)
	}

	scheme, port := args.Listener.Scheme(), args.Listener.Port()
	gw.Endpoint = gateway.Status.ApplyT(func(status any) string {
		return EndpointURL(scheme, port, loadBalancerAddress(status))
	}).(pulumi.StringOutput)
	oidcPort := args.Listener.OIDCPort()
	gw.OIDCEndpoint = gateway.Status.ApplyT(func(status any) string {
		if !args.Listener.OIDC {
			return ""
		}
		return EndpointURL(scheme, oidcPort, loadBalancerAddress(status))
	}).(pulumi.StringOutput)
	gw.ServedModels = pulumi.ToStringArray(args.ServedNames).ToStringArrayOutput()
	gw.APIKeys = keys
	if err := ctx.RegisterResourceOutputs(gw, pulumi.Map{
		"endpoint":     gw.Endpoint,
		"oidcEndpoint": gw.OIDCEndpoint,
		"servedModels": gw.ServedModels,
		"apiKeys":      gw.APIKeys,
	}); err != nil {
		return nil, err
	}
	return gw, nil
}

// loadBalancerAddress reads status.addresses[0].value of a Gateway.
func loadBalancerAddress(status any) string {
	s, _ := status.(map[string]any)
	addrs, _ := s["addresses"].([]any)
	if len(addrs) == 0 {
		return ""
	}
	first, _ := addrs[0].(map[string]any)
	v, _ := first["value"].(string)
	return v
}

// EndpointURL is the OpenAI base URL for a load balancer address; empty
// until the load balancer has one.
func EndpointURL(scheme string, port int, address string) string {
	if address == "" {
		return ""
	}
	if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
		return fmt.Sprintf("%s://%s/v1", scheme, address)
	}
	return fmt.Sprintf("%s://%s:%d/v1", scheme, address, port)
}

// newAPIKeys generates one key per client and stores them in the Secret
// the SecurityPolicy reads (client name -> key, no "Bearer " prefix).
func newAPIKeys(ctx *pulumi.Context, name string, clients []Client, parent pulumi.ResourceOption, k8sOpts ...pulumi.ResourceOption) (pulumi.StringMapOutput, *corev1.Secret, error) {
	keys := pulumi.StringMap{}
	for _, c := range clients {
		// 48 letters and digits: about 285 bits, and nothing that needs
		// escaping in a header.
		pw, err := random.NewRandomPassword(ctx, name+"-key-"+c.Name, &random.RandomPasswordArgs{
			Length:  pulumi.Int(48),
			Special: pulumi.Bool(false),
		}, parent)
		if err != nil {
			return pulumi.StringMapOutput{}, nil, err
		}
		keys[c.Name] = pw.Result
	}
	secret, err := corev1.NewSecret(ctx, name+"-api-keys", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(APIKeySecretName), Namespace: pulumi.String(Namespace)},
		Type:       pulumi.String("Opaque"),
		StringData: keys,
	}, append([]pulumi.ResourceOption{parent}, k8sOpts...)...)
	if err != nil {
		return pulumi.StringMapOutput{}, nil, err
	}
	return pulumi.ToSecret(keys.ToStringMapOutput()).(pulumi.StringMapOutput), secret, nil
}
