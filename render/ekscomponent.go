package render

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// What pulumi-eks v4.0.1 does with the inputs of an eks:index:Cluster, as
// the render mocks and the engine tests' fake eks provider both need it:
// the input checks that throw, and the child resources it creates. Read
// from github.com/pulumi/pulumi-eks at tag v4.0.1 (commit bd94c11f);
// cluster.ts is nodejs/eks/cluster/cluster.ts. The children that exist
// only with inputs this program never sets (a default node group, Fargate,
// auto mode, storage classes) are refused rather than half-modelled, so a
// program that starts using them fails here until the model learns them.
// One child is left out on purpose: the pulumi:providers:kubernetes
// "<name>-eks-k8s" provider (cluster.ts 910-917), which creates nothing in
// AWS and which no resource of this program uses.

// EKSChild is one resource pulumi-eks creates inside the component.
type EKSChild struct {
	Type string
	Name string
	// Parent is the Name of the parent child, empty for the component.
	Parent string
	// Custom is false for pulumi-eks' own component resources.
	Custom bool
	Inputs resource.PropertyMap
	// NeedsClusterName: the child's clusterName input is the created
	// cluster's name (an output of the cluster in pulumi-eks).
	NeedsClusterName bool
}

// EKSCluster checks the inputs of an eks:index:Cluster named name the way
// pulumi-eks v4.0.1 does and returns the children it would create, in
// creation order. Unknown inputs (a preview) are treated as set.
func EKSCluster(name string, in resource.PropertyMap) ([]EKSChild, error) {
	get := func(k string) (resource.PropertyValue, bool) {
		v, ok := in[resource.PropertyKey(k)]
		if ok && v.IsSecret() {
			v = v.SecretValue().Element
		}
		return v, ok && !v.IsNull()
	}
	boolean := func(k string, def bool) bool {
		if v, ok := get(k); ok && v.IsBool() {
			return v.BoolValue()
		}
		return def
	}
	object := func(k string) resource.PropertyMap {
		if v, ok := get(k); ok && v.IsObject() {
			return v.ObjectValue()
		}
		return nil
	}
	nonEmpty := func(k string) bool {
		v, ok := get(k)
		return ok && (v.IsComputed() || (v.IsArray() && len(v.ArrayValue()) > 0) || (v.IsObject() && len(v.ObjectValue()) > 0))
	}

	var errs []error
	// cluster.ts 705-717: `if (!publicAccess && cidrs)`; an empty array is
	// truthy in JavaScript, so any value at all throws.
	if _, set := get("publicAccessCidrs"); set && !boolean("endpointPublicAccess", true) {
		errs = append(errs, errors.New("`publicAccessCidrs` can only be set when `endpointPublicAccess` is true"))
	}
	// authenticationMode.ts 25-69.
	mode := ""
	if v, ok := get("authenticationMode"); ok && v.IsString() {
		mode = v.StringValue()
	}
	switch mode {
	case "", "CONFIG_MAP", "API_AND_CONFIG_MAP", "API":
	default:
		errs = append(errs, fmt.Errorf("Invalid value for authenticationMode: %s. Allowed values are: CONFIG_MAP, API_AND_CONFIG_MAP, API.", mode)) //nolint:revive,staticcheck // pulumi-eks' message, verbatim
	}
	if mode == "API" {
		for _, prop := range []string{"roleMappings", "userMappings", "instanceRoles"} {
			if nonEmpty(prop) {
				errs = append(errs, fmt.Errorf("The '%s' property does not support non-empty values when 'authenticationMode' is set to '%s'.", prop, mode)) //nolint:revive,staticcheck // pulumi-eks' message, verbatim
			}
		}
	}
	if nonEmpty("accessEntries") && mode != "API" && mode != "API_AND_CONFIG_MAP" {
		errs = append(errs, fmt.Errorf("The 'accessEntries' property is not supported when 'authenticationMode' is set to '%s'.", mode)) //nolint:revive,staticcheck // pulumi-eks' message, verbatim
	}
	if _, set := get("subnetIds"); set && (nonEmpty("publicSubnetIds") || nonEmpty("privateSubnetIds")) {
		errs = append(errs, errors.New("subnetIds, and the use of publicSubnetIds and/or privateSubnetIds are mutually exclusive. Choose a single approach.")) //nolint:revive,staticcheck // pulumi-eks' message, verbatim
	}
	// Children this model does not know: refuse instead of pretending.
	if !boolean("skipDefaultNodeGroup", false) {
		errs = append(errs, errors.New("fake pulumi-eks: the default node group (skipDefaultNodeGroup unset) is not modelled"))
	}
	if _, set := get("fargate"); set {
		errs = append(errs, errors.New("fake pulumi-eks: fargate is not modelled"))
	}
	if auto := object("autoMode"); auto != nil && auto["enabled"].IsBool() && auto["enabled"].BoolValue() {
		errs = append(errs, errors.New("fake pulumi-eks: autoMode is not modelled"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	var children []EKSChild
	add := func(c EKSChild) { children = append(children, c) }
	tags := in["tags"]

	// cluster.ts 514-543, servicerole.ts 75-110: the cluster's service role,
	// auto-named, with AmazonEKSClusterPolicy.
	if _, set := get("serviceRole"); !set {
		add(EKSChild{Type: "eks:index:ServiceRole", Name: name + "-eksRole"})
		trust, _ := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": "eks.amazonaws.com"},
				"Action": []string{"sts:AssumeRole", "sts:TagSession"},
			}},
		})
		add(EKSChild{Type: "aws:iam/role:Role", Name: name + "-eksRole-role", Parent: name + "-eksRole", Custom: true,
			Inputs: resource.PropertyMap{
				"assumeRolePolicy": resource.NewProperty(string(trust)),
				"description":      resource.NewProperty("Allows EKS to manage clusters on your behalf."),
				"tags":             tags,
			}})
		add(EKSChild{Type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", Name: name + "-eksRole-4b490823",
			Parent: name + "-eksRole", Custom: true,
			Inputs: resource.PropertyMap{"policyArn": resource.NewProperty("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")}})
	}
	// cluster.ts 546-583: the cluster security group, unless skipped.
	if !boolean("skipDefaultSecurityGroups", false) {
		if _, set := get("clusterSecurityGroup"); !set {
			add(EKSChild{Type: "aws:ec2/securityGroup:SecurityGroup", Name: name + "-eksClusterSecurityGroup", Custom: true,
				Inputs: resource.PropertyMap{"vpcId": in["vpcId"], "tags": tags}})
		}
	}
	// cluster.ts 684-758: the EKS cluster itself.
	vpcConfig := resource.PropertyMap{
		"endpointPrivateAccess": in["endpointPrivateAccess"],
		"endpointPublicAccess":  in["endpointPublicAccess"],
		"subnetIds":             in["privateSubnetIds"],
	}
	if v, set := get("publicAccessCidrs"); set {
		vpcConfig["publicAccessCidrs"] = v
	}
	clusterIn := resource.PropertyMap{
		"name":                       in["name"],
		"version":                    in["version"],
		"vpcConfig":                  resource.NewProperty(vpcConfig),
		"enabledClusterLogTypes":     in["enabledClusterLogTypes"],
		"bootstrapSelfManagedAddons": resource.NewProperty(boolean("bootstrapSelfManagedAddons", true)),
		"upgradePolicy":              in["upgradePolicy"],
		"tags":                       tags,
	}
	if mode != "" {
		// Hard-coded true: EKS gives the creating principal cluster-admin
		// through an access entry Pulumi does not track (cluster.ts 730-738).
		clusterIn["accessConfig"] = resource.NewProperty(resource.PropertyMap{
			"authenticationMode":                      resource.NewProperty(mode),
			"bootstrapClusterCreatorAdminPermissions": resource.NewProperty(true),
		})
	}
	add(EKSChild{Type: "aws:eks/cluster:Cluster", Name: name + "-eksCluster", Custom: true, Inputs: clusterIn})

	// cluster.ts 1086-1107, addons/cni-addon.ts 272-313: the VPC CNI addon,
	// unless useDefaultVpcCni is true (unset creates it, whatever the
	// schema's doc says).
	if !boolean("useDefaultVpcCni", false) {
		add(EKSChild{Type: "eks:index:VpcCniAddon", Name: name + "-vpc-cni"})
		add(EKSChild{Type: "aws:eks/addon:Addon", Name: name + "-vpc-cni", Parent: name + "-vpc-cni", Custom: true, NeedsClusterName: true,
			Inputs: resource.PropertyMap{
				"addonName":                resource.NewProperty("vpc-cni"),
				"resolveConflictsOnCreate": resource.NewProperty("OVERWRITE"),
				"resolveConflictsOnUpdate": resource.NewProperty("OVERWRITE"),
				"preserve":                 resource.NewProperty(true),
				"tags":                     tags,
			}})
	}
	// cluster.ts 760-793: kube-proxy unless explicitly disabled.
	if opts := object("kubeProxyAddonOptions"); opts == nil || !opts["enabled"].IsBool() || opts["enabled"].BoolValue() {
		add(EKSChild{Type: "aws:eks/addon:Addon", Name: name + "-kube-proxy", Custom: true, NeedsClusterName: true,
			Inputs: resource.PropertyMap{"addonName": resource.NewProperty("kube-proxy"), "tags": tags}})
	}
	// cluster.ts 1169-1237: CoreDNS only when asked for explicitly here
	// (the default node group, Fargate and auto mode are refused above).
	if opts := object("corednsAddonOptions"); opts != nil && opts["enabled"].IsBool() && opts["enabled"].BoolValue() {
		add(EKSChild{Type: "aws:eks/addon:Addon", Name: name + "-coredns", Custom: true, NeedsClusterName: true,
			Inputs: resource.PropertyMap{"addonName": resource.NewProperty("coredns"), "tags": tags}})
	}
	// cluster.ts 1240-1258.
	if boolean("createOidcProvider", false) {
		add(EKSChild{Type: "aws:iam/openIdConnectProvider:OpenIdConnectProvider", Name: name + "-oidcProvider", Custom: true,
			Inputs: resource.PropertyMap{"clientIdLists": resource.NewProperty([]resource.PropertyValue{resource.NewProperty("sts.amazonaws.com")})}})
	}
	return children, nil
}
