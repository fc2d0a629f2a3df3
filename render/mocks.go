package render

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FakeAccount is the AWS account id the mocks answer with.
const FakeAccount = "123456789012"

// FakeCallerARN is the principal running Pulumi in the fake account: a
// deploy role's session, as in CI. FakeCallerRoleARN is its role, the
// principal EKS gives the cluster creator's access entry to.
const (
	FakeCallerARN     = "arn:aws:sts::" + FakeAccount + ":assumed-role/llm-platform-deploy/pulumi"
	FakeCallerRoleARN = "arn:aws:iam::" + FakeAccount + ":role/llm-platform-deploy"
)

// Resource is one registered resource as the render records it.
type Resource struct {
	URN            string   `json:"urn"`
	Type           string   `json:"type"`
	Name           string   `json:"name"`
	Parent         string   `json:"parent"`
	Protect        bool     `json:"protect"`
	RetainOnDelete bool     `json:"retainOnDelete"`
	DependsOn      []string `json:"dependsOn"`
	Provider       string   `json:"provider"`
	ImportID       string   `json:"importId,omitempty"`
	// Mocked marks a child the mocks registered for a remote component
	// (in a real run the component's provider creates it).
	Mocked bool           `json:"mocked,omitempty"`
	Inputs map[string]any `json:"inputs"`
}

// Mocks is a pulumi.MockResourceMonitor that records every registration and
// answers with deterministic outputs: the inputs, plus an id and the
// computed properties the program reads, derived only from the type and
// name. The same program and config therefore always see the same values.
type Mocks struct {
	// Project, Stack and Region shape URNs and fake ARNs.
	Project, Stack, Region string

	mu        sync.Mutex
	resources []Resource
	calls     []string
	// ctx is the program's context, used to register the children a remote
	// component would create (set by Run).
	ctx *pulumi.Context
	// fakeParents maps the URN of a child registered for a remote component
	// to the component's URN, so the render shows it where the engine would.
	fakeParents map[string]string
}

var _ pulumi.MockResourceMonitor = (*Mocks)(nil)

// NewResource records the registration and returns fake state.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	if rpc == nil {
		return "", nil, fmt.Errorf("mocks: %s %s registered without an RPC", args.TypeToken, args.Name)
	}
	deps := append([]string{}, rpc.GetDependencies()...)
	sort.Strings(deps)
	provider := rpc.GetProvider()
	if i := strings.Index(provider, "::"+FakeIDPrefix); i >= 0 {
		provider = provider[:i]
	}
	urn := m.urn(rpc.GetParent(), args.TypeToken, args.Name)
	parent := rootless(rpc.GetParent())
	m.mu.Lock()
	fakeParent, mocked := m.fakeParents[urn]
	if mocked {
		parent = fakeParent
	}
	m.mu.Unlock()
	r := Resource{
		URN:            urn,
		Type:           args.TypeToken,
		Name:           args.Name,
		Parent:         parent,
		Protect:        rpc.GetProtect(),
		RetainOnDelete: rpc.GetRetainOnDelete(),
		DependsOn:      compact(deps),
		Provider:       provider,
		ImportID:       args.ID,
		Inputs:         Plain(args.Inputs),
		Mocked:         mocked,
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	if rpc.GetRemote() {
		state, err := m.construct(args.TypeToken, args.Name, urn, args.Inputs)
		return "", state, err
	}
	state := MergeComputed(args.Inputs, ComputedOutputs(args.TypeToken, args.Name, m.Region, args.Inputs),
		resource.NewPropertyValue)
	// The engine makes the outputs an SDK declares secret (a generated
	// password's result) secrets; so do the mocks.
	for _, k := range rpc.GetAdditionalSecretOutputs() {
		if v, ok := state[resource.PropertyKey(k)]; ok && !v.IsSecret() {
			state[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
	id := FakeIDPrefix + args.Name
	if args.ID != "" {
		id = args.ID
	}
	if !args.Custom {
		id = ""
	}
	return id, state, nil
}

// FakeIDPrefix starts every fake physical id.
const FakeIDPrefix = "id-"

// ComputedOutputs returns the provider-computed outputs the program reads,
// per type, for a resource of that logical name and inputs in region.
// Physical names default to the logical name (no random suffix), so
// everything derived from them is deterministic. The mocks and the engine
// tests' fake providers both answer with it, so the two agree.
func ComputedOutputs(typ, name, region string, in resource.PropertyMap) map[string]any {
	out := map[string]any{}
	physical := name
	if v, ok := in["name"]; ok && v.IsString() && v.StringValue() != "" {
		physical = v.StringValue()
	} else if strings.HasPrefix(typ, "aws:") {
		out["name"] = name
	}
	if strings.HasPrefix(typ, "aws:") {
		service := strings.SplitN(strings.TrimPrefix(typ, "aws:"), "/", 2)[0]
		out["arn"] = fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", service, region, FakeAccount, lastSegment(typ), physical)
	}
	switch typ {
	case "aws:ec2/eip:Eip":
		out["allocationId"] = "eipalloc-" + name
		out["publicIp"] = "198.51.100.1"
	case "aws:iam/role:Role":
		out["arn"] = fmt.Sprintf("arn:aws:iam::%s:role/%s", FakeAccount, physical)
		out["uniqueId"] = "AROA" + strings.ToUpper(strings.ReplaceAll(physical, "-", ""))
	case "aws:iam/policy:Policy":
		out["arn"] = fmt.Sprintf("arn:aws:iam::%s:policy/%s", FakeAccount, physical)
	case "aws:sqs/queue:Queue":
		out["arn"] = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, FakeAccount, physical)
		out["url"] = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, FakeAccount, physical)
	case "aws:cloudwatch/eventRule:EventRule":
		out["arn"] = fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, FakeAccount, physical)
	case "aws:ec2/launchTemplate:LaunchTemplate":
		out["latestVersion"] = 1
	case "random:index/randomPassword:RandomPassword":
		// Deterministic, so a re-run sees the same value; the SDK declares
		// it secret (additionalSecretOutputs).
		out["result"] = "fake-password-" + name
	case "aws:eks/cluster:Cluster":
		out["arn"] = fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", region, FakeAccount, physical)
		out["endpoint"] = fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(physical), region)
		out["vpcConfig"] = map[string]any{"clusterSecurityGroupId": "sg-" + physical}
		out["certificateAuthority"] = map[string]any{"data": "LS0tLS1CRUdJTi1GQUtFLUNBLS0tLS0="}
	}
	return out
}

// MergeComputed returns the inputs with the computed outputs added: a key
// the inputs do not set takes value(computed), and an object the inputs set
// (an EKS cluster's vpcConfig) gets the computed fields it lacks, as a
// provider's state does.
func MergeComputed(inputs resource.PropertyMap, computed map[string]any, value func(any) resource.PropertyValue) resource.PropertyMap {
	out := inputs.Copy()
	for k, v := range computed {
		key := resource.PropertyKey(k)
		cur, set := out[key]
		sub, isMap := v.(map[string]any)
		switch {
		case !set:
			out[key] = value(v)
		case isMap && cur.IsObject():
			out[key] = resource.NewProperty(MergeComputed(cur.ObjectValue(), sub, value))
		}
	}
	return out
}

// construct answers for a remote (multi-language) component. The SDK never
// creates its children under mocks, so for eks:index:Cluster the mock
// registers the aws:eks/cluster:Cluster child the program reads through
// the eksCluster output, then returns the outputs the program uses.
func (m *Mocks) construct(typ, name, urn string, in resource.PropertyMap) (resource.PropertyMap, error) {
	if typ == "eks:index:Cluster" {
		children, err := EKSCluster(name, in)
		if err != nil {
			return nil, fmt.Errorf("eks:index:Cluster %s: %w", name, err)
		}
		clusterName := name
		if v, ok := in["name"]; ok && v.IsString() {
			clusterName = v.StringValue()
		}
		// Register pulumi-eks' custom children (the render shows them under
		// the component, marked mocked); its own components are not
		// resources the render needs.
		var clusterURN string
		for _, c := range children {
			if !c.Custom {
				continue
			}
			props := resource.PropertyMap{}
			for k, v := range c.Inputs {
				if !v.IsNull() {
					props[k] = v
				}
			}
			if c.NeedsClusterName {
				props["clusterName"] = resource.NewProperty(clusterName)
			}
			m.mu.Lock()
			if m.fakeParents == nil {
				m.fakeParents = map[string]string{}
			}
			m.fakeParents[m.urn("", c.Type, c.Name)] = urn
			m.mu.Unlock()
			var child pulumi.CustomResourceState
			if err := m.ctx.RegisterResource(c.Type, c.Name, pulumi.ToMap(props.MapRepl(nil, nil)), &child); err != nil {
				return nil, err
			}
			childURN := make(chan string, 1)
			child.URN().ApplyT(func(u pulumi.URN) error { childURN <- string(u); return nil })
			u := <-childURN
			if c.Type == "aws:eks/cluster:Cluster" {
				clusterURN = u
			}
		}
		kubeconfig := fmt.Sprintf(`{"apiVersion":"v1","clusters":[{"name":"%[1]s","cluster":{"server":"https://%[1]s.eks.invalid"}}],"users":[{"name":"aws","user":{"exec":{"command":"aws","args":["eks","get-token","--cluster-name","%[1]s"]}}}]}`, clusterName)
		return resource.PropertyMap{
			"kubeconfigJson": resource.MakeSecret(resource.NewProperty(kubeconfig)),
			"eksCluster": resource.MakeCustomResourceReference(
				resource.URN(clusterURN), resource.ID(FakeIDPrefix+name+"-eksCluster"), ""),
			"clusterSecurityGroupId": resource.NewProperty("sg-" + clusterName),
		}, nil
	}
	// Other remote components (a Helm v4 Chart) expose nothing the
	// program reads; their children are not rendered.
	return resource.PropertyMap{}, nil
}

// Call answers invokes (data sources) with fixed values.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.calls = append(m.calls, args.Token)
	m.mu.Unlock()
	return InvokeAnswer(args.Token, m.Region)
}

// InvokeAnswer is the fixed answer to a data-source invoke in region (the
// mocks' and the fake providers' alike).
func InvokeAnswer(token, region string) (resource.PropertyMap, error) {
	switch token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		names, ids := []any{}, []any{}
		for i, s := range zoneLetters(region) {
			names = append(names, region+s)
			ids = append(ids, zoneID(region, i))
		}
		return resource.NewPropertyMapFromMap(map[string]any{"names": names, "zoneIds": ids, "id": region}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"region": region, "name": region, "id": region}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": FakeAccount, "arn": FakeCallerARN, "userId": "AROAFAKEDEPLOY:pulumi", "id": FakeAccount,
		}), nil
	case "aws:eks/getClusters:getClusters":
		// A fresh account: no cluster yet.
		return resource.NewPropertyMapFromMap(map[string]any{"names": []any{}, "id": region, "region": region}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}), nil
	}
	return nil, fmt.Errorf("mocks: no answer for invoke %s", token)
}

// Resources returns the recorded resources sorted by URN.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Resource{}, m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// Calls returns the invoke tokens seen, in call order.
func (m *Mocks) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.calls...)
}

// urn computes the URN exactly as the Pulumi engine (and the SDK's mock
// monitor) does: the parent's qualified type, "$", then the type.
func (m *Mocks) urn(parent, typ, name string) string {
	qualified := typ
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		qualified = string(p.QualifiedType()) + "$" + typ
	}
	return fmt.Sprintf("urn:pulumi:%s::%s::%s::%s", m.Stack, m.Project, qualified, name)
}

// rootless drops the root stack as a parent: every resource has it.
func rootless(parent string) string {
	if resource.URN(parent).QualifiedType() == resource.RootStackType {
		return ""
	}
	return parent
}

func compact(urns []string) []string {
	out := []string{}
	for _, u := range urns {
		if u != "" && (len(out) == 0 || out[len(out)-1] != u) {
			out = append(out, u)
		}
	}
	return out
}

func lastSegment(typ string) string {
	i := strings.LastIndex(typ, ":")
	return strings.ToLower(typ[i+1:])
}

// zoneLetters are the zones an account typically sees: us-east-1 has six,
// us-west-1 only two (a and c), most regions three.
// zoneID is the zone ID of the i-th zone name of zoneLetters. Names map to
// IDs per account; in the fake account, as in many real ones, us-east-1e is
// use1-az3, the zone where EKS cannot place a control plane.
func zoneID(region string, i int) string {
	switch region {
	case "us-east-1":
		return []string{"use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az5"}[i]
	case "us-west-1":
		return []string{"usw1-az1", "usw1-az3"}[i]
	}
	return fmt.Sprintf("%s-az%d", region, i+1)
}

func zoneLetters(region string) []string {
	switch region {
	case "us-east-1":
		return []string{"a", "b", "c", "d", "e", "f"}
	case "us-west-1":
		return []string{"a", "c"}
	}
	return []string{"a", "b", "c"}
}
