package tests

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llm-platform/llm-platform/gateway"
	"github.com/llm-platform/llm-platform/render"
)

// What the fake cloud knows about AWS beyond "store what was created":
// the uniqueness rules AWS enforces (render.UniqueKeys), what AWS creates
// by itself (the EKS cluster creator's access entry and control-plane log
// group), account-wide state a stack may find already there (the EC2 Spot
// service-linked role), and the load balancer Envoy Gateway's Service
// makes, which keeps its subnets from being deleted until it is gone.

type awsState struct {
	// taken maps a uniqueness key to who holds it: "<type> <id>" of a
	// created resource, or a description of what AWS made by itself.
	taken map[string]string
	// implicit are the keys an EKS cluster's creation took for itself,
	// by the cluster's "<type> <id>"; released with the cluster.
	implicit map[string][]string
	// loadBalancers maps a namespace to the NLB a LoadBalancer Service in
	// it owns (Envoy Gateway puts the Envoy Service in its controller's
	// namespace: envoy-gateway-system, v1.8.3's default).
	loadBalancers map[string]string
}

func newAWSState() awsState {
	return awsState{taken: map[string]string{}, implicit: map[string][]string{}, loadBalancers: map[string]string{}}
}

// preexisting marks keys the account already holds before the stack runs:
// most accounts have launched a spot instance once, which created the EC2
// Spot service-linked role.
func (c *fakeCloud) preexisting(typ string, in resource.PropertyMap, who string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range render.UniqueKeys(typ, in) {
		c.aws.taken[k.Key] = who
	}
}

// spotRoleInAccount is the account's spot service-linked role, for
// preexisting.
func spotRoleInAccount(c *fakeCloud) {
	c.preexisting("aws:iam/serviceLinkedRole:ServiceLinkedRole",
		resource.PropertyMap{"awsServiceName": resource.NewProperty("spot.amazonaws.com")}, "the account (an earlier spot launch)")
}

// awsError is how a provider reports a failed create or delete to the
// engine.
func awsError(msg string) error { return status.Error(codes.Unknown, msg) }

// created applies the cloud's rules to a create that is about to succeed:
// it fails like AWS when a unique key is held, and records what AWS itself
// creates along with the resource.
func (c *fakeCloud) created(pkg, typ, id string, in resource.PropertyMap) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	who := typ + " " + id
	switch pkg {
	case "aws":
		if errs := render.InputErrors(typ, in); len(errs) > 0 {
			return awsError(strings.Join(errs, "; "))
		}
		keys := render.UniqueKeys(typ, in)
		for _, k := range keys {
			if holder, ok := c.aws.taken[k.Key]; ok {
				return awsError(fmt.Sprintf("%s (held by %s)", k.Error, holder))
			}
		}
		for _, k := range keys {
			c.aws.taken[k.Key] = who
		}
		kept, logs := render.ImplicitKeys(typ, in, c.caller)
		for _, k := range kept {
			c.aws.taken[k.Key] = "EKS (the cluster creator's access entry)"
			c.aws.implicit[who] = append(c.aws.implicit[who], k.Key)
		}
		// EKS writes control-plane logs to /aws/eks/<name>/cluster and
		// creates the group, with no retention, if it does not exist. It
		// is not deleted with the cluster.
		for _, k := range logs {
			if _, ok := c.aws.taken[k.Key]; !ok {
				c.aws.taken[k.Key] = "EKS (control-plane logging, no retention)"
			}
		}
	case "kubernetes":
		if typ == "kubernetes:gateway.networking.k8s.io/v1:Gateway" {
			// Envoy Gateway answers a Gateway with an Envoy Deployment and
			// a LoadBalancer Service in its own namespace; the cloud
			// provider makes an NLB in the VPC's subnets for it.
			c.aws.loadBalancers[gateway.EnvoyNamespace] = "NLB of " + id
		}
	}
	return nil
}

// deleted applies the cloud's rules to a delete: a subnet or VPC that still
// holds a load balancer's network interfaces cannot be deleted, and
// deleting a namespace (which waits for its Services' finalizers) removes
// the load balancers they own.
func (c *fakeCloud) deleted(pkg, typ, id string, olds resource.PropertyMap) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	who := typ + " " + id
	switch {
	case pkg == "aws" && (typ == "aws:ec2/subnet:Subnet" || typ == "aws:ec2/vpc:Vpc") && len(c.aws.loadBalancers) > 0:
		var lbs []string
		for ns, lb := range c.aws.loadBalancers {
			lbs = append(lbs, fmt.Sprintf("%s (its Service was in namespace %s)", lb, ns))
		}
		sort.Strings(lbs)
		op := map[string]string{"aws:ec2/subnet:Subnet": "DeleteSubnet", "aws:ec2/vpc:Vpc": "DeleteVpc"}[typ]
		return awsError(fmt.Sprintf("deleting %s (%s): operation error EC2: %s, api error DependencyViolation: "+
			"The %s '%s' has dependencies and cannot be deleted. [fake cloud: left behind: %s]",
			strings.TrimPrefix(typ, "aws:ec2/"), id, op, strings.ToLower(op[6:]), id, strings.Join(lbs, "; ")))
	case pkg == "kubernetes" && typ == "kubernetes:core/v1:Namespace":
		if name, ok := lookup(olds, "metadata.name"); ok && name.IsString() {
			delete(c.aws.loadBalancers, name.StringValue())
		}
	}
	for k, holder := range c.aws.taken {
		if holder == who {
			delete(c.aws.taken, k)
		}
	}
	for _, k := range c.aws.implicit[who] {
		delete(c.aws.taken, k)
	}
	delete(c.aws.implicit, who)
	return nil
}

// holder reports who holds a uniqueness key of a resource of type typ with
// these inputs, if anyone.
func (c *fakeCloud) holder(typ string, in resource.PropertyMap) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range render.UniqueKeys(typ, in) {
		if h, ok := c.aws.taken[k.Key]; ok {
			return h, true
		}
	}
	return "", false
}

// constructEKSCluster builds the remote eks:index:Cluster the way the
// pulumi-eks v4.0.1 provider does (render.EKSCluster): it makes the input
// checks, registers the component and each child it creates (the service
// role, the cluster, the VPC CNI addon unless useDefaultVpcCni, ...) with
// the engine's resource monitor, and returns the outputs the program reads.
// The children share the program's default aws provider (the real
// component brings its own @pulumi/aws 7.1.0; one provider keeps the fake
// simple and changes nothing the tests look at).
func (p *fakeProvider) constructEKSCluster(ctx context.Context, req *pulumirpc.ConstructRequest, call *providerCall,
	inputs resource.PropertyMap, monitor pulumirpc.ResourceMonitorClient,
) (*pulumirpc.ConstructResponse, error) {
	children, err := render.EKSCluster(req.Name, inputs)
	if err != nil {
		return nil, fmt.Errorf("eks:index:Cluster resource '%s': %w", req.Name, err)
	}

	// Without the component's own registration the engine records the
	// children under a parent that is not in the snapshot, and `up` fails
	// its integrity check.
	propDeps := map[string]*pulumirpc.RegisterResourceRequest_PropertyDependencies{}
	inputDeps := map[string]bool{}
	for k, d := range req.InputDependencies {
		propDeps[k] = &pulumirpc.RegisterResourceRequest_PropertyDependencies{Urns: d.Urns}
		for _, u := range d.Urns {
			inputDeps[u] = true
		}
	}
	comp, err := monitor.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{
		Type: req.Type, Name: req.Name, Parent: req.Parent, Object: req.Inputs,
		Dependencies: req.Dependencies, PropertyDependencies: propDeps,
		Protect: req.Protect, RetainOnDelete: req.RetainOnDelete,
		AcceptSecrets: true, AcceptResources: true,
	})
	if err != nil {
		return nil, fmt.Errorf("registering %s: %w", req.Type, err)
	}
	call.URN = comp.Urn

	// The real cluster is built from the component's inputs (subnets, VPC),
	// so it depends on whatever they came from: that is what deletes the
	// cluster before the subnets.
	baseDeps := append([]string{}, req.Dependencies...)
	for u := range inputDeps {
		baseDeps = append(baseDeps, u)
	}
	sort.Strings(baseDeps)

	urns := map[string]string{}                 // child name -> URN
	states := map[string]resource.PropertyMap{} // custom child name -> outputs
	var clusterURN, clusterID, clusterName string
	var clusterState resource.PropertyMap
	for _, c := range children {
		parent := comp.Urn
		if c.Parent != "" {
			parent = urns[c.Parent]
		}
		if !c.Custom {
			r, err := monitor.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{
				Type: c.Type, Name: c.Name, Parent: parent, AcceptSecrets: true, AcceptResources: true,
			})
			if err != nil {
				return nil, fmt.Errorf("registering %s %s: %w", c.Type, c.Name, err)
			}
			urns[c.Name] = r.Urn
			if _, err := monitor.RegisterResourceOutputs(ctx, &pulumirpc.RegisterResourceOutputsRequest{Urn: r.Urn}); err != nil {
				return nil, err
			}
			continue
		}
		in := c.Inputs.Copy()
		for k, v := range in {
			if v.IsNull() {
				delete(in, k)
			}
		}
		deps := append([]string{}, baseDeps...)
		switch {
		case c.Type == "aws:eks/cluster:Cluster":
			if role, ok := states[req.Name+"-eksRole-role"]; ok {
				in["roleArn"] = role["arn"]
				deps = append(deps, urns[req.Name+"-eksRole-role"])
			}
		case c.Type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
			if role, ok := states[req.Name+"-eksRole-role"]; ok {
				in["role"] = role["name"]
				deps = append(deps, urns[req.Name+"-eksRole-role"])
			}
		case c.NeedsClusterName:
			in["clusterName"] = resource.NewProperty(clusterName)
			if clusterName == "" {
				in["clusterName"] = resource.MakeComputed(resource.NewProperty(""))
			}
			deps = append(deps, clusterURN)
		}
		obj, err := marshal(in)
		if err != nil {
			return nil, err
		}
		r, err := monitor.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{
			Type: c.Type, Name: c.Name, Parent: parent, Custom: true, Object: obj,
			Dependencies: deps, Version: sdkVersion("aws"), AcceptSecrets: true, AcceptResources: true,
		})
		if err != nil {
			return nil, fmt.Errorf("registering %s %s: %w", c.Type, c.Name, err)
		}
		urns[c.Name] = r.Urn
		if states[c.Name], err = unmarshal(r.Object); err != nil {
			return nil, err
		}
		if c.Type == "aws:eks/cluster:Cluster" {
			clusterURN, clusterID, clusterState = r.Urn, r.Id, states[c.Name]
			if n, ok := clusterState["name"]; ok && n.IsString() {
				clusterName = n.StringValue()
			}
		}
	}

	// The outputs follow the cluster's state, as pulumi-eks' do: at a fresh
	// preview the cluster's endpoint and security group are unknown, and
	// so is the kubeconfig built from them (absent keys are unknown); once
	// the cluster exists they are known at preview too. The real kubeconfig
	// holds no credential (it runs `aws eks get-token`) and pulumi-eks does
	// not mark it secret; this one carries a canary standing for a
	// credential, so it is a secret like one would have to be.
	state := resource.PropertyMap{
		"eksCluster": resource.MakeCustomResourceReference(resource.URN(clusterURN), resource.ID(clusterID), sdkVersion("aws")),
	}
	if ep, ok := clusterState["endpoint"]; ok && ep.IsString() {
		state["kubeconfigJson"] = resource.MakeSecret(resource.NewProperty(p.cloud.kubeconfig))
	}
	if vpc, ok := clusterState["vpcConfig"]; ok && vpc.IsObject() {
		if sg, ok := vpc.ObjectValue()["clusterSecurityGroupId"]; ok && sg.IsString() {
			// Both are the group EKS creates (cluster.ts 2185-2187).
			state["clusterSecurityGroupId"] = sg
			state["nodeSecurityGroupId"] = sg
		}
	}
	out, err := marshal(state)
	if err != nil {
		return nil, err
	}
	if _, err := monitor.RegisterResourceOutputs(ctx, &pulumirpc.RegisterResourceOutputsRequest{Urn: comp.Urn, Outputs: out}); err != nil {
		return nil, err
	}
	// Every output depends on the cluster: that is what makes the
	// kubernetes provider (configured from kubeconfigJson), and so every
	// Kubernetes object, get deleted before the cluster. A dependency on
	// the component waits for all its children (the CNI addon included).
	all := make([]string, 0, len(urns))
	for _, u := range urns {
		all = append(all, u)
	}
	sort.Strings(all)
	deps := map[string]*pulumirpc.ConstructResponse_PropertyDependencies{}
	for k := range state {
		deps[string(k)] = &pulumirpc.ConstructResponse_PropertyDependencies{Urns: all}
	}
	return &pulumirpc.ConstructResponse{Urn: comp.Urn, State: out, StateDependencies: deps}, nil
}

// invokeAnswer answers a data-source invoke from the fake cloud where the
// answer depends on it (the caller, the clusters that exist), and with the
// render's fixed answers otherwise.
func (c *fakeCloud) invokeAnswer(tok string) (resource.PropertyMap, error) {
	ret, err := render.InvokeAnswer(tok, c.region)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch tok {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		ret["arn"] = resource.NewProperty(c.caller)
	case "aws:eks/getClusters:getClusters":
		var names []resource.PropertyValue
		for key, obj := range c.objects {
			if strings.HasPrefix(key, "aws:eks/cluster:Cluster ") {
				names = append(names, obj.inputs["name"])
			}
		}
		sort.Slice(names, func(i, j int) bool { return names[i].StringValue() < names[j].StringValue() })
		ret["names"] = resource.NewProperty(names)
	}
	return ret, nil
}
