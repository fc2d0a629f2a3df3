package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/llm-platform/llm-platform/config"
)

// Inputs AWS refuses, for what this program sets: the render fails a
// program that declares one (Result.CheckInputs) and the engine tests'
// fake cloud fails its create, with the error AWS gives, so a program
// that would fail in AWS fails here too.

// amiArchitecture is the CPU architecture of each managed node group AMI
// type the program uses (EKS API, Nodegroup amiType).
var amiArchitecture = map[string]string{
	"BOTTLEROCKET_x86_64":    config.ArchAMD64,
	"BOTTLEROCKET_ARM_64":    config.ArchARM64,
	"AL2023_x86_64_STANDARD": config.ArchAMD64,
	"AL2023_ARM_64_STANDARD": config.ArchARM64,
}

// addonSchemas are the configurationValues keys each addon is known to
// accept, by path ("controller.nodeSelector"), from published `aws eks
// describe-addon-configuration` output: coredns v1.10.1-eksbuild.11 (its
// top-level keys), aws-ebs-csi-driver and aws-efs-csi-driver
// (controller.nodeSelector and controller.tolerations, the keys public
// configurations pin against v1.36.0-eksbuild.1 and v2.0.8-eksbuild.1; EFS
// did not accept controller.affinity then), and vpc-cni's
// enableNetworkPolicy. The schemas forbid additional properties: EKS
// refuses any other key. A key missing here may still be valid: add it
// with its source, after reading the addon's schema at the pinned build.
var addonSchemas = map[string][]string{
	"coredns": {"affinity", "autoScaling", "computeType", "corefile", "nodeSelector", "podAnnotations",
		"podDisruptionBudget", "podLabels", "replicaCount", "resources", "tolerations", "topologySpreadConstraints"},
	"aws-ebs-csi-driver": {"controller.nodeSelector", "controller.tolerations"},
	"aws-efs-csi-driver": {"controller.nodeSelector", "controller.tolerations"},
	"vpc-cni":            {"enableNetworkPolicy"},
}

// InputErrors are AWS's errors for inputs of a resource of type typ that
// AWS refuses. Inputs that are not known (a preview) are not checked.
func InputErrors(typ string, in resource.PropertyMap) []string {
	switch typ {
	case "aws:eks/nodeGroup:NodeGroup":
		return nodeGroupErrors(in)
	case "aws:eks/addon:Addon":
		return addonErrors(in)
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		return vpcEndpointErrors(in)
	}
	return nil
}

// vpcEndpointErrors: an Interface endpoint places network interfaces in
// subnets; route tables belong to Gateway endpoints, and EC2 refuses them
// on an Interface one ("InvalidParameter: Route table IDs are only
// supported for Gateway type VPC Endpoint.", hashicorp/terraform-provider-aws#18607,
// ansible-collections/amazon.aws#576).
func vpcEndpointErrors(in resource.PropertyMap) []string {
	if t := in["vpcEndpointType"]; !t.IsString() || t.StringValue() != "Interface" {
		return nil
	}
	if rt := in["routeTableIds"]; rt.IsArray() && len(rt.ArrayValue()) > 0 {
		return []string{fmt.Sprintf("creating EC2 VPC Endpoint (%s): operation error EC2: CreateVpcEndpoint, InvalidParameter: "+
			"Route table IDs are only supported for Gateway type VPC Endpoint.", serviceName(in))}
	}
	return nil
}

func serviceName(in resource.PropertyMap) string {
	if s := in["serviceName"]; s.IsString() {
		return s.StringValue()
	}
	return ""
}

// EndpointZoneErrors are AWS's errors for an Interface endpoint with two
// subnets in one availability zone: it gets one network interface per
// zone, and EC2 refuses "DuplicateSubnetsInSameZone: Found another VPC
// endpoint subnet in the availability zone of subnet-... VPC endpoint
// subnets should be in different availability zones supported by the VPC
// endpoint service." (terraform-aws-modules/terraform-aws-vpc#451 and #583;
// klothoplatform/klotho#468 quotes the provider's "creating EC2 VPC
// Endpoint (<service>):" prefix). zoneOf gives a subnet id's zone; subnets
// it does not know are not checked.
func EndpointZoneErrors(typ string, in resource.PropertyMap, zoneOf func(subnetID string) (string, bool)) []string {
	if typ != "aws:ec2/vpcEndpoint:VpcEndpoint" {
		return nil
	}
	if t := in["vpcEndpointType"]; !t.IsString() || t.StringValue() != "Interface" {
		return nil
	}
	subnets := in["subnetIds"]
	if !subnets.IsArray() {
		return nil
	}
	seen := map[string]bool{}
	var errs []string
	for _, s := range subnets.ArrayValue() {
		if !s.IsString() {
			continue
		}
		zone, ok := zoneOf(s.StringValue())
		if !ok {
			continue
		}
		if seen[zone] {
			errs = append(errs, fmt.Sprintf("creating EC2 VPC Endpoint (%s): operation error EC2: CreateVpcEndpoint, DuplicateSubnetsInSameZone: "+
				"Found another VPC endpoint subnet in the availability zone of %s. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.",
				serviceName(in), s.StringValue()))
		}
		seen[zone] = true
	}
	return errs
}

// subnetZones maps the id the mocks give each declared subnet to its
// availability zone.
func (r *Result) subnetZones() func(string) (string, bool) {
	zones := map[string]string{}
	for _, res := range r.Resources {
		if res.Type != "aws:ec2/subnet:Subnet" {
			continue
		}
		zone, ok := res.Inputs["availabilityZone"].(string)
		if !ok {
			continue
		}
		id := FakeID(res.Name)
		if res.ImportID != "" {
			id = res.ImportID
		}
		zones[id] = zone
	}
	return func(id string) (string, bool) {
		z, ok := zones[id]
		return z, ok
	}
}

func nodeGroupErrors(in resource.PropertyMap) []string {
	ami := in["amiType"]
	if !ami.IsString() {
		return nil
	}
	arch, ok := amiArchitecture[ami.StringValue()]
	if !ok {
		return []string{fmt.Sprintf("creating EKS Node Group: InvalidParameterException: amiType %s is not one this fake knows", ami.StringValue())}
	}
	var errs []string
	if types := in["instanceTypes"]; types.IsArray() {
		for _, t := range types.ArrayValue() {
			if t.IsString() && config.Architecture(t.StringValue()) != arch {
				errs = append(errs, fmt.Sprintf("creating EKS Node Group: InvalidParameterException: [%s] is not a valid instance type for requested amiType %s",
					t.StringValue(), ami.StringValue()))
			}
		}
	}
	if taints := in["taints"]; taints.IsArray() {
		for _, t := range taints.ArrayValue() {
			if e := t.ObjectValue()["effect"]; e.IsString() && !slices.Contains([]string{"NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"}, e.StringValue()) {
				errs = append(errs, fmt.Sprintf("creating EKS Node Group: InvalidParameterException: taint effect %s is not one of NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE", e.StringValue()))
			}
		}
	}
	return errs
}

func addonErrors(in resource.PropertyMap) []string {
	name, values := in["addonName"], in["configurationValues"]
	if !name.IsString() || !values.IsString() || values.StringValue() == "" {
		return nil
	}
	fail := func(detail string) []string {
		return []string{fmt.Sprintf("creating EKS Add-On (%s): InvalidParameterException: ConfigurationValue provided in request is not supported: %s", name.StringValue(), detail)}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(values.StringValue()), &doc); err != nil {
		return fail("not a JSON object: " + err.Error())
	}
	allowed := addonSchemas[name.StringValue()]
	var unknown []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := prefix + k
			switch {
			case slices.Contains(allowed, path):
			case slices.ContainsFunc(allowed, func(a string) bool { return strings.HasPrefix(a, path+".") }):
				if sub, ok := v.(map[string]any); ok {
					walk(path+".", sub)
				} else {
					unknown = append(unknown, path)
				}
			default:
				unknown = append(unknown, path)
			}
		}
	}
	walk("", doc)
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	var errs []string
	for _, p := range unknown {
		errs = append(errs, fail(fmt.Sprintf("Json schema validation failed with error: [$.%s: is not defined in the schema and the schema does not allow additional properties]", p))...)
	}
	return errs
}

// CheckInputs fails when a declared resource has inputs AWS refuses
// (InputErrors, and EndpointZoneErrors against the declared subnets).
func (r *Result) CheckInputs() error {
	var errs []string
	zoneOf := r.subnetZones()
	for _, res := range r.Resources {
		in := resource.NewPropertyMapFromMap(res.Inputs)
		for _, e := range append(InputErrors(res.Type, in), EndpointZoneErrors(res.Type, in, zoneOf)...) {
			errs = append(errs, res.URN+": "+e)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the program declares inputs AWS refuses:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}
