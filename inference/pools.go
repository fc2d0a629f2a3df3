package inference

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
)

// Args configures the pools and their routes.
type Args struct {
	Pools []Pool
	// Routes are the served names of each pool's model.
	Routes []Route
	// Listeners are the Gateway listeners the routes attach to
	// (gateway.ModelListeners).
	Listeners []string
	Provider  *kubernetes.Provider
	// DependsOn is what the pools need first: the Inference Extension
	// CRDs, the model namespace.
	DependsOn []pulumi.Resource
	// EnvoyNamespace and MonitoringNamespace may reach the pickers.
	EnvoyNamespace      string
	MonitoringNamespace string
	// GatewayReady is what the routes need first: the Gateway and its
	// API-key and budget policies, so that no route ever serves without
	// them.
	GatewayReady []pulumi.Resource
}

// Pools is one InferencePool and endpoint picker per model, and the
// routes from served names to them.
type Pools struct {
	pulumi.ResourceState

	// Names are the InferencePools, in config order.
	Names pulumi.StringArrayOutput `pulumi:"names"`
	// Routes are the AIGatewayRoutes, for workloads that must wait for
	// routing and be deleted before it.
	Routes []pulumi.Resource
}

func (a *Args) validate() error {
	if a.Provider == nil || a.EnvoyNamespace == "" || a.MonitoringNamespace == "" {
		return fmt.Errorf("inference: Provider, EnvoyNamespace and MonitoringNamespace are required")
	}
	seen := map[string]bool{}
	for _, p := range a.Pools {
		switch {
		case p.Model == "" || p.Namespace == "" || p.Port == 0 || len(p.PodLabels) == 0:
			return fmt.Errorf("inference: pool %q needs a model, namespace, port and pod labels", p.Model)
		case p.Config == "":
			return fmt.Errorf("inference: pool %q has no endpoint picker configuration", p.Model)
		case seen[p.Model]:
			return fmt.Errorf("inference: pool %q declared twice", p.Model)
		case p.Namespace != a.Pools[0].Namespace:
			return fmt.Errorf("inference: pool %q is in namespace %s, the others in %s: the routes must share the pools' namespace", p.Model, p.Namespace, a.Pools[0].Namespace)
		}
		seen[p.Model] = true
	}
	for _, r := range a.Routes {
		if !seen[r.Model] {
			return fmt.Errorf("inference: served names %v route to model %q, which has no pool", r.ServedNames, r.Model)
		}
		if len(r.ServedNames) == 0 {
			return fmt.Errorf("inference: model %q has no served name", r.Model)
		}
	}
	_, err := RouteObjects(a.namespace(), a.Listeners, a.Routes)
	return err
}

// namespace is the pools' (and so the routes') namespace.
func (a *Args) namespace() string {
	if len(a.Pools) == 0 {
		return ""
	}
	return a.Pools[0].Namespace
}

// NewPools declares each model's InferencePool and endpoint picker.
func NewPools(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Pools, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	ps := &Pools{}
	if err := ctx.RegisterComponentResource("llm-platform:inference:Pools", name, ps, opts...); err != nil {
		return nil, err
	}
	k8s := pulumi.Provider(args.Provider)
	after := pulumi.DependsOn(args.DependsOn)
	parent := pulumi.Parent(ps)
	var names pulumi.StringArray
	// What the routes wait for: every pool and every picker object. The
	// pool itself waits for none of its picker's objects: the picker
	// reports healthy only once it has read its pool (gateway-api-
	// inference-extension v1.5.0 cmd/epp/runner/health.go answers with
	// datastore.PoolHasSynced()), so a pool created after the picker's
	// Deployment is ready would never be created; the chart creates them
	// together.
	var ready []pulumi.Resource
	for _, p := range args.Pools {
		pool, err := manifest.Apply(ctx, p.Model+"-pool", InferencePoolObject(p), parent, k8s, after)
		if err != nil {
			return nil, err
		}
		names = append(names, pool.Metadata.Name().Elem())
		ready = append(ready, pool)
		for _, obj := range EPPObjects(p) {
			// The kind keeps the Pulumi names distinct: a Role and its
			// RoleBinding share a Kubernetes name.
			kind := obj["kind"].(string)
			objName := obj["metadata"].(map[string]any)["name"].(string)
			r, err := manifest.Apply(ctx, objName+"-"+strings.ToLower(kind), obj, parent, k8s, after)
			if err != nil {
				return nil, err
			}
			ready = append(ready, r)
		}
		if _, err := manifest.Apply(ctx, p.EPPName()+"-networkpolicy", EPPNetworkPolicy(p, args.EnvoyNamespace, args.MonitoringNamespace), parent, k8s, after); err != nil {
			return nil, err
		}
	}
	// A route sends traffic to its pool's picker: it waits for both, and
	// for the Gateway's API-key and budget policies.
	routes, _ := RouteObjects(args.namespace(), args.Listeners, args.Routes) // validated above
	for i, r := range routes {
		route, err := manifest.Apply(ctx, fmt.Sprintf("%s-route-%d", name, i), r, parent, k8s,
			pulumi.DependsOn(append(ready, args.GatewayReady...)))
		if err != nil {
			return nil, err
		}
		ps.Routes = append(ps.Routes, route)
	}
	ps.Names = names.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(ps, pulumi.Map{"names": ps.Names}); err != nil {
		return nil, err
	}
	return ps, nil
}
