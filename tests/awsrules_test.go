package tests

import (
	"maps"
	"strings"
	"testing"

	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi-eks/sdk/v4/go/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/platform"
	"github.com/llm-platform/llm-platform/render"
)

// The offline render applies pulumi-eks' input checks and children and AWS's
// uniqueness rules (render/ekscomponent.go, render/awsrules.go), so `make
// render` and every whole-program test refuse what the first real `pulumi
// up` would fail on. Each case is a program with one of the defects of issue
// 13; the dev stack renders (TestGolden), these must not.
func TestRenderRefusesWhatAWSRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		program pulumi.RunFunc
		cluster string // the dev stack's cluster key, when changed
		want    string
	}{{
		name:    "pulumi-eks' own vpc-cni addon beside the program's",
		program: withClusterArgs(func(a *eks.ClusterArgs) { a.UseDefaultVpcCni = nil }),
		want:    "ResourceInUseException: Addon already exists",
	}, {
		name:    "publicAccessCidrs [] with a private endpoint",
		program: withClusterArgs(func(a *eks.ClusterArgs) { a.PublicAccessCidrs = pulumi.StringArray{} }),
		cluster: `{"endpointPublicAccess": false}`,
		want:    "`publicAccessCidrs` can only be set when `endpointPublicAccess` is true",
	}, {
		name: "an access entry for the cluster's creator",
		program: withExtra(func(ctx *pulumi.Context) error {
			_, err := awseks.NewAccessEntry(ctx, "creator-again", &awseks.AccessEntryArgs{
				ClusterName:  pulumi.String("llm-platform-dev"),
				PrincipalArn: pulumi.String(render.FakeCallerRoleARN),
			})
			return err
		}),
		want: "The specified access entry resource is already in use on this cluster",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dev := loadStack(t, "dev")
			sc := &render.StackConfig{Project: dev.Project, Stack: dev.Stack, Values: maps.Clone(dev.Values), SecretKeys: dev.SecretKeys}
			if tt.cluster != "" {
				sc.Values["llm-platform:cluster"] = tt.cluster
			}
			_, err := render.Run(tt.program, sc, sc.Region())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render: %v, want an error with %q", err, tt.want)
			}
			// The unmodified program renders the same stack.
			if _, err := render.Run(platform.Program, sc, sc.Region()); err != nil {
				t.Fatalf("the program itself fails this stack: %v", err)
			}
		})
	}
}

// withClusterArgs runs the program with the arguments of its pulumi-eks
// cluster changed by edit (an SDK-side transformation, which the render's
// mocks and the engine both apply).
func withClusterArgs(edit func(*eks.ClusterArgs)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		err := ctx.RegisterStackTransformation(func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
			a, ok := args.Props.(*eks.ClusterArgs)
			if !ok {
				return nil
			}
			changed := *a
			edit(&changed)
			return &pulumi.ResourceTransformationResult{Props: &changed, Opts: args.Opts}
		})
		if err != nil {
			return err
		}
		return platform.Program(ctx)
	}
}
