package providers

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/iampolicy"
	"github.com/llm-platform/llm-platform/render"
)

const (
	testAccount = "111122223333"
	haiku       = "anthropic.claude-3-5-haiku-20241022-v1:0"
	sonnet      = "anthropic.claude-sonnet-4-20250514-v1:0"
)

func TestBedrockModels(t *testing.T) {
	t.Parallel()
	bedrock := func(name, region string, ids ...string) config.Provider {
		p := config.Provider{Name: name, Kind: config.ProviderBedrock, Region: region}
		for _, id := range ids {
			p.Models = append(p.Models, config.HostedModel{ServedName: name + "/" + id, UpstreamModel: id})
		}
		return p
	}
	fallback := func(provider, id string) config.Model {
		return config.Model{Name: "m", Fallback: &config.Fallback{Provider: provider, UpstreamModel: id}}
	}
	openai := config.Provider{Name: "openai", Kind: config.ProviderOpenAI, Models: []config.HostedModel{{ServedName: "gpt", UpstreamModel: "gpt-4o"}}}
	for _, tt := range []struct {
		name string
		c    config.Config
		want []BedrockModel
	}{
		{"no providers", config.Config{}, nil},
		{"only a key-based provider", config.Config{Providers: []config.Provider{openai}, Models: []config.Model{fallback("openai", "gpt-4o-mini")}}, nil},
		{
			"provider models, sorted",
			config.Config{Providers: []config.Provider{bedrock("bedrock", "us-east-1", "us."+sonnet, haiku)}},
			[]BedrockModel{{"us-east-1", haiku}, {"us-east-1", "us." + sonnet}},
		},
		{
			"fallbacks to bedrock, not to openai, deduplicated with the provider's own",
			config.Config{
				Providers: []config.Provider{bedrock("bedrock", "us-east-1", haiku), openai},
				Models:    []config.Model{fallback("bedrock", haiku), fallback("bedrock", "us."+haiku), fallback("openai", "gpt-4o"), {Name: "no-fallback"}},
			},
			[]BedrockModel{{"us-east-1", haiku}, {"us-east-1", "us." + haiku}},
		},
		{
			"two bedrock providers in two regions",
			config.Config{Providers: []config.Provider{bedrock("west", "us-west-2", haiku), bedrock("east", "us-east-1", haiku)}},
			[]BedrockModel{{"us-east-1", haiku}, {"us-west-2", haiku}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := BedrockModels(&tt.c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BedrockModels = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBedrockInvokePolicy(t *testing.T) {
	t.Parallel()
	actions := []string{"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
	viaProfile := func(sid, profile string, resources ...string) iampolicy.Statement {
		return iampolicy.Statement{
			Sid: sid, Effect: iampolicy.Allow, Action: actions, Resource: resources,
			Condition: map[string]map[string]any{"StringEquals": {"bedrock:InferenceProfileArn": profile}},
		}
	}
	usProfile := "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us." + haiku
	globalProfile := "arn:aws:bedrock:us-east-2:111122223333:inference-profile/global." + sonnet
	for _, tt := range []struct {
		name      string
		partition string
		models    []BedrockModel
		want      []iampolicy.Statement
	}{{
		name:      "plain model ids: their foundation-model ARNs, nothing else",
		partition: "aws",
		models:    []BedrockModel{{"us-east-1", haiku}, {"us-west-2", haiku}},
		want: []iampolicy.Statement{{
			Sid: "InvokeFoundationModels", Effect: iampolicy.Allow, Action: actions,
			Resource: []string{"arn:aws:bedrock:us-east-1::foundation-model/" + haiku, "arn:aws:bedrock:us-west-2::foundation-model/" + haiku},
		}},
	}, {
		name:      "a us. profile: the profile, and the model in any Region only through that profile",
		partition: "aws",
		models:    []BedrockModel{{"us-east-1", "us." + haiku}},
		want: []iampolicy.Statement{
			{Sid: "InvokeInferenceProfiles", Effect: iampolicy.Allow, Action: actions, Resource: []string{usProfile}},
			viaProfile("ViaProfile1", usProfile, "arn:aws:bedrock:*::foundation-model/"+haiku),
		},
	}, {
		name:      "a global. profile: the source Region's and the Region-less model ARN, no wildcard",
		partition: "aws",
		models:    []BedrockModel{{"us-east-2", "global." + sonnet}},
		want: []iampolicy.Statement{
			{Sid: "InvokeInferenceProfiles", Effect: iampolicy.Allow, Action: actions, Resource: []string{globalProfile}},
			viaProfile("ViaProfile1", globalProfile, "arn:aws:bedrock:us-east-2::foundation-model/"+sonnet, "arn:aws:bedrock:::foundation-model/"+sonnet),
		},
	}, {
		name:      "mixed, duplicates once, GovCloud partition",
		partition: "aws-us-gov",
		models: []BedrockModel{
			{"us-gov-west-1", haiku}, {"us-gov-west-1", haiku},
			{"us-gov-west-1", "us-gov." + sonnet}, {"us-gov-west-1", "us-gov." + sonnet},
		},
		want: []iampolicy.Statement{
			{Sid: "InvokeFoundationModels", Effect: iampolicy.Allow, Action: actions, Resource: []string{"arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/" + haiku}},
			{Sid: "InvokeInferenceProfiles", Effect: iampolicy.Allow, Action: actions, Resource: []string{"arn:aws-us-gov:bedrock:us-gov-west-1:111122223333:inference-profile/us-gov." + sonnet}},
			viaProfile("ViaProfile1", "arn:aws-us-gov:bedrock:us-gov-west-1:111122223333:inference-profile/us-gov."+sonnet, "arn:aws-us-gov:bedrock:*::foundation-model/"+sonnet),
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := BedrockInvokePolicy(tt.partition, testAccount, tt.models)
			if doc.Version != iampolicy.Version || !reflect.DeepEqual(doc.Statement, tt.want) {
				t.Errorf("policy\n got %s\nwant %s", doc.JSON(), iampolicy.New(tt.want...).JSON())
			}
			checkNoWildcardModel(t, doc)
		})
	}
}

// TestBedrockInvokePolicyHasNoWildcardModel enforces the issue's "IAM
// documents have no wildcard resource for Bedrock" on every shape of model
// id the config accepts.
func TestBedrockInvokePolicyHasNoWildcardModel(t *testing.T) {
	t.Parallel()
	var models []BedrockModel
	for _, id := range []string{haiku, "us." + haiku, "eu." + haiku, "apac." + haiku, "jp." + sonnet, "global." + sonnet, "us-gov." + sonnet, "meta.llama3-1-8b-instruct-v1:0"} {
		models = append(models, BedrockModel{"us-east-1", id}, BedrockModel{"eu-west-1", id})
	}
	checkNoWildcardModel(t, BedrockInvokePolicy("aws", testAccount, models))
}

func checkNoWildcardModel(t *testing.T, doc iampolicy.Document) {
	t.Helper()
	for _, p := range wildcardProblems(doc) {
		t.Error(p)
	}
}

// wildcardProblems lists any Resource "*", any wildcard in an action, an
// account or a model/profile id, and any Region wildcard not conditioned
// on one exact inference profile ARN.
func wildcardProblems(doc iampolicy.Document) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	wild := func(s string) bool { return strings.ContainsAny(s, "*?") }
	if len(doc.Statement) == 0 {
		bad("no statements: IAM refuses an empty policy")
	}
	for _, s := range doc.Statement {
		if s.Effect != iampolicy.Allow || s.Principal != nil {
			bad("%s: effect %s principal %v", s.Sid, s.Effect, s.Principal)
		}
		if !slices.Equal(s.Action, BedrockInvokeActions) {
			bad("%s: actions %v, want only %v", s.Sid, s.Action, BedrockInvokeActions)
		}
		if len(s.Resource) == 0 {
			bad("%s: no resource", s.Sid)
		}
		profile, _ := s.Condition["StringEquals"][InferenceProfileARNKey].(string)
		for _, r := range s.Resource {
			f := strings.SplitN(r, ":", 6)
			if len(f) != 6 || f[0] != "arn" || f[2] != "bedrock" {
				bad("%s: resource %q is not a Bedrock ARN", s.Sid, r)
				continue
			}
			kind, id, _ := strings.Cut(f[5], "/")
			switch {
			case kind != "foundation-model" && kind != "inference-profile":
				bad("%s: resource %q is neither a foundation model nor an inference profile", s.Sid, r)
			case id == "" || wild(id):
				bad("%s: resource %q has no exact model id", s.Sid, r)
			case wild(f[1]) || wild(f[4]):
				bad("%s: resource %q has a wildcard partition or account", s.Sid, r)
			case kind == "inference-profile" && (wild(f[3]) || f[4] == ""):
				bad("%s: profile %q must name its Region and account", s.Sid, r)
			case wild(f[3]) && (f[3] != "*" || profile == "" || wild(profile) || len(s.Condition) != 1):
				bad("%s: resource %q leaves the Region open without the one condition on an exact profile ARN (condition %v)", s.Sid, r, s.Condition)
			}
		}
	}
	return out
}

// The checker itself must catch what the issue forbids.
func TestWildcardProblemsCatches(t *testing.T) {
	t.Parallel()
	allow := func(resources []string, cond map[string]map[string]any) iampolicy.Document {
		return iampolicy.New(iampolicy.Statement{Sid: "S", Effect: iampolicy.Allow, Action: BedrockInvokeActions, Resource: resources, Condition: cond})
	}
	profile := map[string]map[string]any{"StringEquals": {InferenceProfileARNKey: "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us." + haiku}}
	for name, doc := range map[string]iampolicy.Document{
		"no statement":                    iampolicy.New(),
		"every resource":                  allow([]string{"*"}, nil),
		"every foundation model":          allow([]string{"arn:aws:bedrock:us-east-1::foundation-model/*"}, nil),
		"wildcard in a model id":          allow([]string{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.*"}, nil),
		"every profile":                   allow([]string{"arn:aws:bedrock:us-east-1:111122223333:inference-profile/*"}, nil),
		"Region wildcard, no condition":   allow([]string{"arn:aws:bedrock:*::foundation-model/" + haiku}, nil),
		"Region wildcard, any profile":    allow([]string{"arn:aws:bedrock:*::foundation-model/" + haiku}, map[string]map[string]any{"StringLike": {InferenceProfileARNKey: "arn:aws:bedrock:*:*:inference-profile/*"}}),
		"account wildcard":                allow([]string{"arn:aws:bedrock:us-east-1:*:inference-profile/us." + haiku}, nil),
		"profile with an open Region (*)": allow([]string{"arn:aws:bedrock:*:111122223333:inference-profile/us." + haiku}, profile),
		"a wider action": iampolicy.New(iampolicy.Statement{Sid: "S", Effect: iampolicy.Allow, Action: []string{"bedrock:InvokeModel*"},
			Resource: []string{"arn:aws:bedrock:us-east-1::foundation-model/" + haiku}}),
	} {
		if len(wildcardProblems(doc)) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	if p := wildcardProblems(allow([]string{"arn:aws:bedrock:*::foundation-model/" + haiku}, profile)); len(p) != 0 {
		t.Errorf("the conditioned Region wildcard is refused: %v", p)
	}
}

var testArgs = AWSArgs{
	Partition: "aws", Region: "us-east-1", AccountID: testAccount,
	ClusterName:    pulumi.String("llm-test"),
	RoleNamePrefix: "llm-test",
	Namespace:      "envoy-gateway-system", ServiceAccount: "llm-gateway-envoy",
	VpcID:               pulumi.String("vpc-1"),
	PrivateSubnetIDs:    pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}),
	NodeSecurityGroupID: pulumi.String("sg-nodes"),
	Tags:                map[string]string{"team": "ml"},
}

var testModels = []BedrockModel{{"us-east-1", haiku}, {"us-east-1", "us." + sonnet}}

func renderAccess(t *testing.T, endpoint bool) *render.Result {
	t.Helper()
	res, _ := renderAccessReturning(t, endpoint)
	return res
}

// renderAccessReturning also returns what newBedrockAccess returned, with
// its Ready resources as URNs and its role ARN resolved.
func renderAccessReturning(t *testing.T, endpoint bool) (*render.Result, returned) {
	t.Helper()
	var got returned
	res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
		args := testArgs
		access, err := newBedrockAccess(ctx, "providers", &args, testModels, endpoint)
		if err != nil {
			return err
		}
		urns := []pulumi.URNOutput{access.Association.URN()}
		for _, r := range access.Ready {
			urns = append(urns, r.URN())
		}
		all := []any{access.RoleARN}
		for _, u := range urns {
			all = append(all, u)
		}
		pulumi.All(all...).ApplyT(func(v []any) error {
			got.roleARN = v[0].(string)
			got.association = string(v[1].(pulumi.URN))
			for _, u := range v[2:] {
				got.ready = append(got.ready, string(u.(pulumi.URN)))
			}
			return nil
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, got
}

type returned struct {
	roleARN, association string
	ready                []string
}

func TestBedrockAccessReturnsWhatTheGatewayWaitsFor(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []bool{false, true} {
		res, got := renderAccessReturning(t, endpoint)
		if got.roleARN != "arn:aws:iam::"+render.FakeAccount+":role/llm-test-bedrock-invoke" {
			t.Errorf("RoleARN = %q", got.roleARN)
		}
		want := []string{
			named(t, res, "aws:iam/rolePolicy:RolePolicy", "providers-bedrock-invoke").URN,
			named(t, res, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "providers-bedrock-invoke").URN,
		}
		if got.association != want[1] {
			t.Errorf("Association = %s, want %s", got.association, want[1])
		}
		if endpoint {
			want = append(want,
				named(t, res, "aws:ec2/securityGroupRule:SecurityGroupRule", "providers-bedrock-https-from-nodes").URN,
				named(t, res, "aws:ec2/vpcEndpoint:VpcEndpoint", "providers-bedrock-runtime").URN)
		}
		if !slices.Equal(got.ready, want) {
			t.Errorf("endpoint %v: Ready = %v, want %v", endpoint, got.ready, want)
		}
	}
}

func named(t *testing.T, res *render.Result, typ, name string) render.Resource {
	t.Helper()
	r := res.Named(typ, name)
	if r == nil {
		t.Fatalf("no %s %s", typ, name)
	}
	return *r
}

func TestBedrockAccessRolePolicyAndAssociation(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []bool{false, true} {
		res := renderAccess(t, endpoint)
		role := named(t, res, "aws:iam/role:Role", "providers-bedrock-invoke")
		if role.String("name") != "llm-test-bedrock-invoke" || role.String("assumeRolePolicy") != iampolicy.PodIdentityTrust().JSON() {
			t.Errorf("role name %q trust %s", role.String("name"), role.String("assumeRolePolicy"))
		}
		if role.String("tags.team") != "ml" || role.String("tags.Name") != "llm-test-bedrock-invoke" {
			t.Errorf("role tags %v", role.Inputs["tags"])
		}
		if n := len(res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")); n != 0 {
			t.Errorf("%d managed policies attached, want only the inline policy", n)
		}
		policy := named(t, res, "aws:iam/rolePolicy:RolePolicy", "providers-bedrock-invoke")
		if policy.String("policy") != BedrockInvokePolicy("aws", testAccount, testModels).JSON() || policy.String("role") != "llm-test-bedrock-invoke" {
			t.Errorf("role policy on %q: %s", policy.String("role"), policy.String("policy"))
		}
		assoc := named(t, res, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "providers-bedrock-invoke")
		if assoc.String("namespace") != "envoy-gateway-system" || assoc.String("serviceAccount") != "llm-gateway-envoy" ||
			assoc.String("clusterName") != "llm-test" || assoc.String("roleArn") != "arn:aws:iam::"+render.FakeAccount+":role/llm-test-bedrock-invoke" {
			t.Errorf("association = %v", assoc.Inputs)
		}
		if err := res.CheckUnique(render.FakeCallerARN); err != nil {
			t.Error(err)
		}
		if err := res.CheckInputs(); err != nil {
			t.Error(err)
		}
	}
}

func TestBedrockEndpointOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	without := renderAccess(t, false)
	for _, typ := range []string{"aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/securityGroupRule:SecurityGroupRule"} {
		if n := len(without.OfType(typ)); n != 0 {
			t.Errorf("without privateEndpoint: %d %s", n, typ)
		}
	}

	res := renderAccess(t, true)
	vpce := named(t, res, "aws:ec2/vpcEndpoint:VpcEndpoint", "providers-bedrock-runtime")
	sgID := render.FakeID("providers-bedrock-endpoint")
	subnets, _ := vpce.Input("subnetIds")
	sgs, _ := vpce.Input("securityGroupIds")
	if vpce.String("serviceName") != "com.amazonaws.us-east-1.bedrock-runtime" || vpce.String("vpcEndpointType") != "Interface" ||
		vpce.Inputs["privateDnsEnabled"] != true || vpce.String("vpcId") != "vpc-1" ||
		!reflect.DeepEqual(subnets, []any{"subnet-a", "subnet-b", "subnet-c"}) || !reflect.DeepEqual(sgs, []any{sgID}) {
		t.Errorf("endpoint = %v", vpce.Inputs)
	}
	if _, ok := vpce.Inputs["routeTableIds"]; ok {
		t.Error("route tables on an interface endpoint")
	}
	if vpce.String("tags.team") != "ml" || vpce.String("tags.Name") != "providers-bedrock-runtime" {
		t.Errorf("endpoint tags %v", vpce.Inputs["tags"])
	}
	sg := named(t, res, "aws:ec2/securityGroup:SecurityGroup", "providers-bedrock-endpoint")
	if sg.String("vpcId") != "vpc-1" || sg.String("tags.Name") != "providers-bedrock-endpoint" {
		t.Errorf("security group = %v", sg.Inputs)
	}
	for _, inline := range []string{"ingress", "egress"} {
		if _, ok := sg.Inputs[inline]; ok {
			t.Errorf("inline %s rules on the endpoint's security group", inline)
		}
	}
	rules := res.OfType("aws:ec2/securityGroupRule:SecurityGroupRule")
	if len(rules) != 1 {
		t.Fatalf("%d security group rules, want only HTTPS from the nodes", len(rules))
	}
	r := rules[0]
	if r.String("type") != "ingress" || r.String("protocol") != "tcp" || r.Inputs["fromPort"] != 443.0 || r.Inputs["toPort"] != 443.0 ||
		r.String("sourceSecurityGroupId") != "sg-nodes" || r.String("securityGroupId") != sgID {
		t.Errorf("rule = %v", r.Inputs)
	}
	for _, open := range []string{"cidrBlocks", "ipv6CidrBlocks", "prefixListIds", "self"} {
		if _, ok := r.Inputs[open]; ok {
			t.Errorf("rule opens %s", open)
		}
	}
	if err := res.CheckUnique(render.FakeCallerARN); err != nil {
		t.Error(err)
	}
}

func TestBedrockAccessRefusesBadArgs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 50)
	var many []BedrockModel
	for i := range 40 {
		many = append(many, BedrockModel{"us-east-1", fmt.Sprintf("us.anthropic.model-%03d-v1:0", i)})
	}
	for _, tt := range []struct {
		name     string
		mutate   func(*AWSArgs)
		models   []BedrockModel
		endpoint bool
		want     string
	}{
		{"no service account", func(a *AWSArgs) { a.ServiceAccount = "" }, testModels, false, "ServiceAccount"},
		{"no account", func(a *AWSArgs) { a.AccountID = "" }, testModels, false, "AccountID"},
		{"role name too long", func(a *AWSArgs) { a.RoleNamePrefix = long }, testModels, false, "64 characters"},
		{"no models", nil, nil, false, "providers[].models or models[].fallback"},
		{"wildcard model", nil, []BedrockModel{{"us-east-1", "anthropic.*"}}, false, "upstreamModel"},
		{"endpoint without a VPC", func(a *AWSArgs) { a.VpcID = nil }, testModels, true, "providers[].privateEndpoint"},
		{"policy over IAM's quota", nil, many, false, "over IAM's 10240"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
				args := testArgs
				if tt.mutate != nil {
					tt.mutate(&args)
				}
				_, err := newBedrockAccess(ctx, "providers", &args, tt.models, tt.endpoint)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if len(res.Resources) != 0 {
				t.Errorf("registered %d resources before failing validation", len(res.Resources))
			}
		})
	}
}
