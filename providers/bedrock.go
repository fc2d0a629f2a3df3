package providers

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/awsrole"
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/iampolicy"
	"github.com/llm-platform/llm-platform/tags"
)

// The AWS side of the Bedrock providers: who may call Bedrock (an IAM role
// for the gateway's Envoy pods, through EKS Pod Identity), on which models,
// and optionally a private path to Bedrock's runtime endpoint.
//
// Who signs: AI Gateway v1.0.0 injects its external processor
// (ai-gateway-extproc) into every Envoy proxy pod; that container SigV4-signs
// each Bedrock request with the AWS SDK's default credential chain
// (BackendSecurityPolicy awsCredentials with only a region), and the chain
// reads EKS Pod Identity's AWS_CONTAINER_CREDENTIALS_FULL_URI. The
// association is therefore on the Envoy pods' service account
// (ai-gateway internal/backendauth/aws.go; api/v1beta1/backendsecurity_policy.go
// "awsCredentials" doc comment).

// BedrockModel is one model a Bedrock provider invokes: a foundation model
// id (anthropic.claude-3-5-haiku-20241022-v1:0) or a cross-region
// inference profile id (us.anthropic.claude-3-5-haiku-20241022-v1:0), in
// the region whose bedrock-runtime endpoint the gateway calls.
type BedrockModel struct{ Region, ModelID string }

// BedrockModels is every (region, upstream model) a bedrock-kind provider
// serves: its providers[].models and every models[].fallback whose provider
// is of kind bedrock. Deduplicated and sorted by region, then model id, so
// the policy built from it is stable.
func BedrockModels(c *config.Config) []BedrockModel {
	var out []BedrockModel
	for _, p := range c.Providers {
		if p.Kind != config.ProviderBedrock {
			continue
		}
		for _, m := range p.Models {
			out = append(out, BedrockModel{Region: p.Region, ModelID: m.UpstreamModel})
		}
	}
	for _, m := range c.Models {
		if m.Fallback == nil {
			continue
		}
		if p, ok := c.ProviderByName(m.Fallback.Provider); ok && p.Kind == config.ProviderBedrock {
			out = append(out, BedrockModel{Region: p.Region, ModelID: m.Fallback.UpstreamModel})
		}
	}
	slices.SortFunc(out, func(a, b BedrockModel) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.ModelID, b.ModelID))
	})
	return slices.Compact(out)
}

// BedrockInvokeActions are the only actions the gateway needs. AI Gateway
// v1.0.0 translates chat completions and Anthropic messages to Bedrock's
// Converse and ConverseStream (internal/translator/openai_awsbedrock.go), and
// AWSAnthropic to InvokeModel and InvokeModelWithResponseStream. AWS
// authorizes all four with these two actions: "attach the following
// permissions to the role to allow it to use the InvokeModel,
// InvokeModelWithResponseStream, Converse, and ConverseStream actions"
// (Amazon Bedrock user guide, "Prerequisites for running model inference",
// https://docs.aws.amazon.com/bedrock/latest/userguide/inference-prereq.html).
// bedrock:ListFoundationModels and aws-marketplace:ViewSubscriptions, which
// AI Gateway's own example policy adds, are not needed to invoke a model.
var BedrockInvokeActions = []string{"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}

// InferenceProfileARNKey is the condition key that holds, when a foundation
// model is invoked through an inference profile, the profile's ARN (Service
// Authorization Reference, Amazon Bedrock condition keys).
const InferenceProfileARNKey = "bedrock:InferenceProfileArn"

// FoundationModelARN is a foundation model's ARN in a region; AWS leaves
// the account empty in foundation-model ARNs. An empty region is the
// region-less ARN global inference profiles are authorized against.
func FoundationModelARN(partition, region, modelID string) string {
	return iampolicy.ARN(partition, "bedrock", region, "", "foundation-model/"+modelID)
}

// InferenceProfileARN is a system-defined (cross-region) inference
// profile's ARN, in the region the request is sent to and the caller's
// account.
func InferenceProfileARN(partition, region, accountID, profileID string) string {
	return iampolicy.ARN(partition, "bedrock", region, accountID, "inference-profile/"+profileID)
}

// BedrockInvokePolicy allows invoking exactly the configured models and
// nothing else: BedrockInvokeActions only, no Resource "*", no
// foundation-model/*, no wildcard in a model or profile id.
//
//   - A plain model id is allowed on its foundation-model ARN in its
//     region (statement InvokeFoundationModels).
//   - An inference profile id is allowed on the profile's ARN in the
//     provider's region and this account (InvokeInferenceProfiles), and on
//     the foundation model it routes to, but only when the request comes
//     through that profile (one ViaProfile<n> statement each, conditioned
//     with StringEquals on bedrock:InferenceProfileArn). AWS authorizes a
//     profile request again against the foundation model in the Region it
//     is routed to: "When you specify an inference profile in the Resource
//     field ..., you must also specify the foundation model in each Region
//     associated with it", and "To restrict user access such that they can
//     invoke a foundation model only through an inference profile, add a
//     Condition field and use the [bedrock:]InferenceProfileArn condition
//     key ... This condition can be included in a statement that scopes to
//     the foundation-model resources" (Amazon Bedrock user guide,
//     "Prerequisites for inference profiles",
//     https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html;
//     "Geographic cross-Region inference", IAM policy requirements,
//     https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html,
//     conditions its destination-Region statement the same way).
//   - A geographic profile (us., eu., apac., ...): its destination Regions
//     are not part of the id, differ per model and grow when AWS adds a
//     Region to the profile (the user guide's "Supported Regions and models
//     for inference profiles" table), and a destination missing from the
//     policy fails only the requests routed there. The foundation-model ARN
//     therefore leaves the Region as "*", and the condition on the exact
//     profile ARN is what scopes it: through that profile the model can
//     only be reached in the profile's own destinations. AWS's re:Post
//     knowledge center pairs the same two things, a Region-wildcard
//     foundation-model ARN and bedrock:InferenceProfileArn, to tell
//     profile-routed invocations apart in its cross-Region SCP
//     (https://repost.aws/knowledge-center/bedrock-access-denied-exception).
//     AWS's own examples list the destination Regions instead; that list
//     would have to be kept by hand, per model. The Region is the only
//     wildcard in the document, and it never appears without the
//     condition (TestBedrockInvokePolicyHasNoWildcardModel).
//   - A global profile (global.): no wildcard at all. AWS authorizes it
//     against the foundation model in the source Region and against the
//     Region-less foundation-model ARN (arn:aws:bedrock:::foundation-model/<id>),
//     both conditioned on the profile ARN, as the prerequisites page's
//     Global Claude Sonnet 4 example shows.
//
// Statement order and contents depend only on the models' order (sorted by
// BedrockModels), so a re-render shows no diff.
func BedrockInvokePolicy(partition, accountID string, models []BedrockModel) iampolicy.Document {
	var direct, profiles []string
	var via []iampolicy.Statement
	for _, m := range models {
		geography, model, isProfile := config.BedrockProfile(m.ModelID)
		if !isProfile {
			direct = appendNew(direct, FoundationModelARN(partition, m.Region, m.ModelID))
			continue
		}
		profile := InferenceProfileARN(partition, m.Region, accountID, m.ModelID)
		if slices.Contains(profiles, profile) {
			continue
		}
		profiles = append(profiles, profile)
		routed := []string{FoundationModelARN(partition, "*", model)}
		if geography == "global" {
			routed = []string{FoundationModelARN(partition, m.Region, model), FoundationModelARN(partition, "", model)}
		}
		via = append(via, iampolicy.Statement{
			Sid:       fmt.Sprintf("ViaProfile%d", len(via)+1),
			Effect:    iampolicy.Allow,
			Action:    BedrockInvokeActions,
			Resource:  routed,
			Condition: map[string]map[string]any{"StringEquals": {InferenceProfileARNKey: profile}},
		})
	}
	doc := iampolicy.New()
	if len(direct) > 0 {
		doc.Statement = append(doc.Statement, iampolicy.Statement{
			Sid: "InvokeFoundationModels", Effect: iampolicy.Allow, Action: BedrockInvokeActions, Resource: direct,
		})
	}
	if len(profiles) > 0 {
		doc.Statement = append(doc.Statement, iampolicy.Statement{
			Sid: "InvokeInferenceProfiles", Effect: iampolicy.Allow, Action: BedrockInvokeActions, Resource: profiles,
		})
	}
	doc.Statement = append(doc.Statement, via...)
	return doc
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// RolePolicySizeLimit is IAM's quota on the aggregate size of a role's
// inline policies, in non-whitespace characters (IAM user guide, "IAM and
// AWS STS quotas": "Role policy size cannot exceed 10,240 characters").
// The Bedrock role has one inline policy, rendered without whitespace.
const RolePolicySizeLimit = 10240

// AWSArgs is what the AWS side of the providers needs from the rest of the
// platform. Plain values drive names and the policy; Pulumi inputs carry
// other components' outputs (and the dependency on them).
type AWSArgs struct {
	// Partition, Region and AccountID locate the stack (aws, the stack's
	// aws:region, the deploying account); the policy's ARNs are built from
	// them, so it is known at preview.
	Partition, Region, AccountID string
	// ClusterName is the EKS cluster the Pod Identity association is made
	// in (the cluster's output, so the association waits for it).
	ClusterName pulumi.StringInput
	// RoleNamePrefix starts the IAM role's name (the cluster name): the
	// role is <RoleNamePrefix>-bedrock-invoke.
	RoleNamePrefix string
	// Namespace and ServiceAccount are the Envoy proxy pods' service
	// account, whose AI Gateway external processor signs Bedrock requests.
	Namespace, ServiceAccount string
	// VpcID, PrivateSubnetIDs (one per zone) and NodeSecurityGroupID (every
	// node's security group) place the bedrock-runtime interface endpoint;
	// used only when the endpoint is requested.
	VpcID               pulumi.StringInput
	PrivateSubnetIDs    pulumi.StringArrayInput
	NodeSecurityGroupID pulumi.StringInput
	// Tags are the stack's merged tags (package tags), applied to every
	// taggable resource under a resource-specific Name.
	Tags map[string]string
}

// bedrockAccess is what newBedrockAccess made that the Kubernetes side
// needs.
type bedrockAccess struct {
	// RoleARN is the role the Envoy pods receive through Pod Identity.
	RoleARN pulumi.StringOutput
	// Association is the Pod Identity association. EKS injects the
	// credentials only into pods created after it exists, so the Envoy
	// proxy (its EnvoyProxy/Gateway) should depend on it.
	Association pulumi.Resource
	// Ready is everything that must exist before a Bedrock request can
	// succeed: the role's policy, the association and, with the endpoint,
	// the endpoint and its ingress rule.
	Ready []pulumi.Resource
}

// maxRoleName is IAM's limit on a role name's length.
const maxRoleName = 64

func (a *AWSArgs) validate(models []BedrockModel, endpoint bool) error {
	switch {
	case a.Partition == "" || a.Region == "" || a.AccountID == "":
		return fmt.Errorf("providers: Partition, Region and AccountID are required")
	case a.ClusterName == nil || a.RoleNamePrefix == "":
		return fmt.Errorf("providers: ClusterName and RoleNamePrefix are required")
	case a.Namespace == "" || a.ServiceAccount == "":
		return fmt.Errorf("providers: the Envoy proxy pods' Namespace and ServiceAccount are required for the Pod Identity association")
	case len(bedrockRoleName(a.RoleNamePrefix)) > maxRoleName:
		return fmt.Errorf("providers: IAM role name %q is longer than IAM's %d characters (it starts with the cluster name)", bedrockRoleName(a.RoleNamePrefix), maxRoleName)
	case len(models) == 0:
		return fmt.Errorf("providers: no Bedrock model in providers[].models or models[].fallback: IAM refuses a policy without statements")
	case endpoint && (a.VpcID == nil || a.PrivateSubnetIDs == nil || a.NodeSecurityGroupID == nil):
		return fmt.Errorf("providers: providers[].privateEndpoint needs VpcID, PrivateSubnetIDs and NodeSecurityGroupID")
	}
	for _, m := range models {
		// config validates upstream model ids; this guards the one
		// property the policy relies on.
		if m.Region == "" || strings.ContainsAny(m.ModelID, "*?") || m.ModelID == "" {
			return fmt.Errorf("providers: Bedrock model %q in region %q (providers[].models[].upstreamModel or models[].fallback.upstreamModel): a model id names one model, in a region", m.ModelID, m.Region)
		}
	}
	if n := len(BedrockInvokePolicy(a.Partition, a.AccountID, models).JSON()); n > RolePolicySizeLimit {
		return fmt.Errorf("providers: the Bedrock invoke policy for %d models is %d characters, over IAM's %d for a role's inline policies: serve fewer Bedrock models (providers[].models, models[].fallback)", len(models), n, RolePolicySizeLimit)
	}
	return nil
}

func bedrockRoleName(prefix string) string { return prefix + "-bedrock-invoke" }

// BedrockRuntimeService is the interface endpoint service of Bedrock's
// runtime API (InvokeModel, Converse) in a region.
func BedrockRuntimeService(region string) string {
	return fmt.Sprintf("com.amazonaws.%s.bedrock-runtime", region)
}

// newBedrockAccess creates the gateway's access to Bedrock: the role its
// Envoy pods assume through Pod Identity, allowed to invoke exactly models,
// and, with endpoint, an interface VPC endpoint for bedrock-runtime in the
// stack's region. Every child gets opts (the caller passes
// pulumi.Parent(component)).
func newBedrockAccess(ctx *pulumi.Context, name string, args *AWSArgs, models []BedrockModel, endpoint bool, opts ...pulumi.ResourceOption) (*bedrockAccess, error) {
	if args == nil {
		args = &AWSArgs{}
	}
	if err := args.validate(models, endpoint); err != nil {
		return nil, err
	}
	tagged := func(nameTag string) pulumi.StringMap {
		return tags.Map(tags.Merge(args.Tags, map[string]string{"Name": nameTag}))
	}

	roleName := bedrockRoleName(args.RoleNamePrefix)
	role, _, err := awsrole.New(ctx, name+"-bedrock-invoke", awsrole.Args{
		Name: roleName, Trust: iampolicy.PodIdentityTrust(), Tags: tagged(roleName),
	}, opts...)
	if err != nil {
		return nil, err
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-bedrock-invoke", &iam.RolePolicyArgs{
		Name:   pulumi.String("bedrock-invoke"),
		Role:   role.Name,
		Policy: pulumi.String(BedrockInvokePolicy(args.Partition, args.AccountID, models).JSON()),
	}, opts...)
	if err != nil {
		return nil, err
	}
	association, err := awseks.NewPodIdentityAssociation(ctx, name+"-bedrock-invoke", &awseks.PodIdentityAssociationArgs{
		ClusterName:    args.ClusterName,
		Namespace:      pulumi.String(args.Namespace),
		ServiceAccount: pulumi.String(args.ServiceAccount),
		RoleArn:        role.Arn,
		Tags:           tagged(roleName),
	}, opts...)
	if err != nil {
		return nil, err
	}
	access := &bedrockAccess{RoleARN: role.Arn, Association: association, Ready: []pulumi.Resource{policy, association}}
	if !endpoint {
		return access, nil
	}

	// An interface endpoint costs per zone-hour (cost package), so it is
	// opt-in: without it the Envoy pods reach Bedrock through the NAT
	// gateway like any other public AWS endpoint. With private DNS the
	// regional hostname bedrock-runtime.<region>.amazonaws.com resolves to
	// the endpoint inside the VPC, so the gateway's Backend and its SigV4
	// host stay unchanged.
	sgName := name + "-bedrock-endpoint"
	sg, err := ec2.NewSecurityGroup(ctx, sgName, &ec2.SecurityGroupArgs{
		VpcId:       args.VpcID,
		Description: pulumi.String("bedrock-runtime interface endpoint: HTTPS from cluster nodes only"),
		Tags:        tagged(sgName),
	}, opts...)
	if err != nil {
		return nil, err
	}
	// The only rule: the endpoint answers, it never initiates, and security
	// groups are stateful, so it needs no egress (the provider removes the
	// default allow-all egress rule of a group it creates).
	rule, err := ec2.NewSecurityGroupRule(ctx, name+"-bedrock-https-from-nodes", &ec2.SecurityGroupRuleArgs{
		Type:                  pulumi.String("ingress"),
		SecurityGroupId:       sg.ID(),
		Protocol:              pulumi.String("tcp"),
		FromPort:              pulumi.Int(443),
		ToPort:                pulumi.Int(443),
		SourceSecurityGroupId: args.NodeSecurityGroupID,
		Description:           pulumi.String("HTTPS from EKS nodes (the Envoy pods) to bedrock-runtime"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	vpce, err := ec2.NewVpcEndpoint(ctx, name+"-bedrock-runtime", &ec2.VpcEndpointArgs{
		VpcId:             args.VpcID,
		ServiceName:       pulumi.String(BedrockRuntimeService(args.Region)),
		VpcEndpointType:   pulumi.String("Interface"),
		SubnetIds:         args.PrivateSubnetIDs,
		SecurityGroupIds:  pulumi.StringArray{sg.ID()},
		PrivateDnsEnabled: pulumi.Bool(true),
		Tags:              tagged(name + "-bedrock-runtime"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	access.Ready = append(access.Ready, rule, vpce)
	return access, nil
}
