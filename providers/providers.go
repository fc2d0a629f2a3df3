package providers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/manifest"
)

// Args configures the hosted providers' Kubernetes objects.
type Args struct {
	Providers []config.Provider
	// Fallbacks are the self-hosted models with a hosted fallback.
	Fallbacks []FallbackModel
	// APIKeys are the key-based providers' keys by kind (secrets).
	APIKeys map[string]pulumi.StringOutput
	// Namespace is the routes' namespace: the models', the only one the
	// Gateway admits routes from. Backends, their policies and the key
	// Secrets sit next to the routes that name them (an AIGatewayRoute
	// resolves its AIServiceBackends, and a BackendSecurityPolicy its
	// Secret, in its own namespace: AI Gateway v1.0.0 internal/
	// controller/gateway.go).
	Namespace string
	// Listeners are the Gateway listeners the routes attach to
	// (gateway.ModelListeners).
	Listeners []string
	// ModelPort is the self-hosted models' Service port.
	ModelPort int
	Provider  *kubernetes.Provider
	// DependsOn is what the objects need first: the AI Gateway and
	// Envoy Gateway CRDs and controllers, the Gateway and its API-key and
	// budget policies (no route ever serves without them), the models'
	// namespace, and for Bedrock the Pod Identity association.
	DependsOn []pulumi.Resource
}

// Providers are the hosted providers' backends and routes, and the
// fallback routes.
type Providers struct {
	pulumi.ResourceState

	// ServedNames are the hosted served names, sorted.
	ServedNames pulumi.StringArrayOutput `pulumi:"servedNames"`
	// Routes are the AIGatewayRoutes (and the fallback retry policies).
	Routes []pulumi.Resource
}

func (a *Args) validate() error {
	if a.Provider == nil || a.Namespace == "" || a.ModelPort == 0 {
		return fmt.Errorf("providers: Provider, Namespace and ModelPort are required")
	}
	for _, p := range a.Providers {
		k, ok := Kinds[p.Kind]
		if !ok {
			return fmt.Errorf("providers: config key providers: provider %q has unknown kind %q", p.Name, p.Kind)
		}
		if k.Auth == "APIKey" {
			if _, ok := a.APIKeys[p.Kind]; !ok {
				return fmt.Errorf("providers: provider %q (%s) has no API key", p.Name, p.Kind)
			}
		}
	}
	for _, f := range a.Fallbacks {
		if !slices.ContainsFunc(a.Providers, func(p config.Provider) bool { return p.Name == f.Fallback.Provider }) {
			return fmt.Errorf("providers: config key models[].fallback: model %q falls back to unknown provider %q", f.Model, f.Fallback.Provider)
		}
	}
	return nil
}

// NewProviders declares, in the models' namespace, each provider's
// Backend, BackendTLSPolicy, AIServiceBackend, BackendSecurityPolicy and
// API key Secret, the routes of the hosted served names, and for each
// fallback model its direct backend, its fallback route and that route's
// retry policy.
func NewProviders(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Providers, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	p := &Providers{}
	if err := ctx.RegisterComponentResource("llm-platform:providers:Providers", name, p, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(p)
	k8s := pulumi.Provider(args.Provider)
	after := pulumi.DependsOn(args.DependsOn)
	apply := func(obj map[string]any, deps ...pulumi.Resource) (*manifest.Object, error) {
		meta := obj["metadata"].(map[string]any)
		return manifest.Apply(ctx, fmt.Sprintf("%s-%s-%s", name, strings.ToLower(obj["kind"].(string)), meta["name"]), obj,
			parent, k8s, after, pulumi.DependsOn(deps))
	}

	var backends []pulumi.Resource
	var served []string
	for _, prov := range args.Providers {
		var deps []pulumi.Resource
		if Kinds[prov.Kind].Auth == "APIKey" {
			secret, err := corev1.NewSecret(ctx, name+"-"+APIKeySecretName(prov.Name), &corev1.SecretArgs{
				Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(APIKeySecretName(prov.Name)), Namespace: pulumi.String(args.Namespace)},
				Type:       pulumi.String("Opaque"),
				StringData: pulumi.StringMap{APIKeySecretKey: args.APIKeys[prov.Kind]},
			}, parent, k8s, after)
			if err != nil {
				return nil, err
			}
			deps = append(deps, secret)
		}
		// The Backend and its TLS policy before the AIServiceBackend and
		// its security policy, which name them.
		objs := BackendObjects(prov, args.Namespace)
		var created []pulumi.Resource
		for _, obj := range objs {
			res, err := apply(obj, append(deps, created...)...)
			if err != nil {
				return nil, err
			}
			created = append(created, res)
		}
		backends = append(backends, created...)
		for _, m := range prov.Models {
			served = append(served, m.ServedName)
		}
	}
	for _, f := range args.Fallbacks {
		var created []pulumi.Resource
		for _, obj := range SelfBackendObjects(f.Model, args.Namespace, args.ModelPort) {
			res, err := apply(obj, created...)
			if err != nil {
				return nil, err
			}
			created = append(created, res)
		}
		backends = append(backends, created...)
	}

	for _, route := range HostedRouteObjects(args.Providers, args.Namespace, args.Listeners) {
		res, err := apply(route, backends...)
		if err != nil {
			return nil, err
		}
		p.Routes = append(p.Routes, res)
	}
	for _, route := range FallbackRouteObjects(args.Fallbacks, args.Namespace, args.Listeners) {
		// The retry policy first: a fallback route never serves without
		// its fallback, nor, through the policy's merge, without the
		// budgets.
		routeName := route["metadata"].(map[string]any)["name"].(string)
		policy, err := apply(FallbackPolicyObject(routeName, args.Namespace))
		if err != nil {
			return nil, err
		}
		res, err := apply(route, append([]pulumi.Resource{policy}, backends...)...)
		if err != nil {
			return nil, err
		}
		p.Routes = append(p.Routes, res, policy)
	}

	slices.Sort(served)
	p.ServedNames = pulumi.ToStringArray(served).ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{"servedNames": p.ServedNames}); err != nil {
		return nil, err
	}
	return p, nil
}
