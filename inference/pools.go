package inference

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/versions"
)

// CRDsArgs configures the Inference Extension's CRDs.
type CRDsArgs struct {
	Provider *kubernetes.Provider
	// DependsOn is what must exist first (the system nodes).
	DependsOn []pulumi.Resource
}

// NewCRDs installs the Gateway API Inference Extension CRDs (InferencePool
// and the optional objective, rewrite and import kinds the picker watches)
// from the pinned release's manifests.yaml, the kustomize build of its
// config/crd. The AI Gateway controller must start after them.
func NewCRDs(ctx *pulumi.Context, name string, args *CRDsArgs, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	if args == nil || args.Provider == nil {
		return nil, fmt.Errorf("inference: Provider is required")
	}
	return yamlv2.NewConfigFile(ctx, name, &yamlv2.ConfigFileArgs{
		File: pulumi.String(versions.InferenceExtensionCRDsURL),
	}, append(opts, pulumi.Provider(args.Provider), pulumi.DependsOn(args.DependsOn))...)
}

// Args configures the pools.
type Args struct {
	Pools    []Pool
	Provider *kubernetes.Provider
	// DependsOn is what the pools need first: the CRDs, the model
	// namespace.
	DependsOn []pulumi.Resource
}

// Pools is one InferencePool and endpoint picker per model.
type Pools struct {
	pulumi.ResourceState

	// Names are the InferencePools, in config order.
	Names pulumi.StringArrayOutput `pulumi:"names"`
}

func (a *Args) validate() error {
	if a.Provider == nil {
		return fmt.Errorf("inference: Provider is required")
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
		}
		seen[p.Model] = true
	}
	return nil
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
	var names pulumi.StringArray
	for _, p := range args.Pools {
		parent := pulumi.Parent(ps)
		var picker []pulumi.Resource
		for _, obj := range EPPObjects(p) {
			// The kind keeps the Pulumi names distinct: a Role and its
			// RoleBinding share a Kubernetes name.
			kind := obj["kind"].(string)
			objName := obj["metadata"].(map[string]any)["name"].(string)
			r, err := manifest.Apply(ctx, objName+"-"+strings.ToLower(kind), obj, parent, k8s, after)
			if err != nil {
				return nil, err
			}
			picker = append(picker, r)
		}
		pool, err := manifest.Apply(ctx, p.Model+"-pool", InferencePoolObject(p), parent, k8s, after, pulumi.DependsOn(picker))
		if err != nil {
			return nil, err
		}
		names = append(names, pool.Metadata.Name().Elem())
	}
	ps.Names = names.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(ps, pulumi.Map{"names": ps.Names}); err != nil {
		return nil, err
	}
	return ps, nil
}
