package render

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ComponentStack is the stack component tests render under.
var ComponentStack = StackConfig{Project: "llm-platform", Stack: "test"}

// RunComponent runs a program (typically one component) under the mocks of
// the test stack in region: the component tests' way into Run.
func RunComponent(region string, program pulumi.RunFunc) (*Result, error) {
	sc := ComponentStack
	return Run(program, &sc, region)
}

// WithKubernetes gives a component program an explicit Kubernetes provider,
// as the cluster component hands one to every Kubernetes component.
func WithKubernetes(program func(ctx *pulumi.Context, provider *kubernetes.Provider) error) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		return program(ctx, provider)
	}
}
