package providers

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/iampolicy"
)

// BedrockAccess is the gateway's AWS access to Bedrock: the role the Envoy
// pods get through EKS Pod Identity and, optionally, the bedrock-runtime
// interface VPC endpoint (bedrock.go).
type BedrockAccess struct {
	pulumi.ResourceState

	// RoleARN is the role the Envoy pods' external processor signs with.
	RoleARN pulumi.StringOutput `pulumi:"roleArn"`
	// Ready is what the Envoy pods need before they start: their
	// credentials exist only for pods created after the association.
	Ready []pulumi.Resource
	// PodAnnotations go on the Envoy pods, so that they roll once the
	// association exists (adding Bedrock to a running gateway) and again
	// if the role changes.
	PodAnnotations map[string]string
}

// RoleAnnotation on the Envoy pods names the Pod Identity role.
const RoleAnnotation = "llm-platform/bedrock-role"

// BedrockEndpoint says whether a bedrock provider asks for the VPC
// endpoint (config allows one per region, the stack's).
func BedrockEndpoint(c *config.Config) bool {
	for _, p := range c.Providers {
		if p.Kind == config.ProviderBedrock && p.PrivateEndpoint {
			return true
		}
	}
	return false
}

// NewBedrockAccess creates the role, its policy on exactly models, the Pod
// Identity association of the Envoy pods' service account and, with
// endpoint, the interface VPC endpoint.
func NewBedrockAccess(ctx *pulumi.Context, name string, args *AWSArgs, models []BedrockModel, endpoint bool, opts ...pulumi.ResourceOption) (*BedrockAccess, error) {
	if args == nil {
		args = &AWSArgs{}
	}
	if err := args.validate(models, endpoint); err != nil {
		return nil, err
	}
	a := &BedrockAccess{}
	if err := ctx.RegisterComponentResource("llm-platform:providers:BedrockAccess", name, a, opts...); err != nil {
		return nil, err
	}
	access, err := newBedrockAccess(ctx, name, args, models, endpoint, pulumi.Parent(a))
	if err != nil {
		return nil, err
	}
	a.RoleARN = access.RoleARN
	a.Ready = access.Ready
	// Known at preview: the role's name is deterministic.
	a.PodAnnotations = map[string]string{
		RoleAnnotation: iampolicy.ARN(args.Partition, "iam", "", args.AccountID, "role/"+bedrockRoleName(args.RoleNamePrefix)),
	}
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"roleArn": a.RoleARN}); err != nil {
		return nil, err
	}
	return a, nil
}
