package render

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestInputErrors(t *testing.T) {
	t.Parallel()
	nodeGroup := func(ami string, types ...string) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{"amiType": ami, "instanceTypes": types,
			"taints": []any{map[string]any{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}}})
	}
	addon := func(name, values string) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{"addonName": name, "configurationValues": values})
	}
	endpoint := func(typ, key string, ids ...string) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{"vpcEndpointType": typ, "serviceName": "com.amazonaws.us-east-1.bedrock-runtime", key: ids})
	}
	cases := []struct {
		name string
		typ  string
		in   resource.PropertyMap
		want string // "" accepts
	}{
		{"arm64 AMI, Graviton types", "aws:eks/nodeGroup:NodeGroup", nodeGroup("BOTTLEROCKET_ARM_64", "t4g.medium", "m7g.large"), ""},
		{"x86 AMI, x86 type", "aws:eks/nodeGroup:NodeGroup", nodeGroup("BOTTLEROCKET_x86_64", "m7i.large"), ""},
		{"x86 AMI, Graviton type", "aws:eks/nodeGroup:NodeGroup", nodeGroup("BOTTLEROCKET_x86_64", "t4g.medium"), "[t4g.medium] is not a valid instance type for requested amiType BOTTLEROCKET_x86_64"},
		{"arm64 AMI, x86 type", "aws:eks/nodeGroup:NodeGroup", nodeGroup("BOTTLEROCKET_ARM_64", "m7i.large"), "[m7i.large] is not a valid instance type"},
		{"taint effect in Kubernetes spelling", "aws:eks/nodeGroup:NodeGroup",
			resource.NewPropertyMapFromMap(map[string]any{"amiType": "BOTTLEROCKET_ARM_64", "taints": []any{map[string]any{"key": "k", "effect": "NoSchedule"}}}),
			"taint effect NoSchedule"},
		{"coredns nodeSelector", "aws:eks/addon:Addon", addon("coredns", `{"nodeSelector":{"a":"b"}}`), ""},
		{"coredns unknown key", "aws:eks/addon:Addon", addon("coredns", `{"controller":{"nodeSelector":{"a":"b"}}}`), "[$.controller: is not defined in the schema"},
		{"efs controller nodeSelector", "aws:eks/addon:Addon", addon("aws-efs-csi-driver", `{"controller":{"nodeSelector":{"a":"b"}}}`), ""},
		{"efs controller affinity", "aws:eks/addon:Addon", addon("aws-efs-csi-driver", `{"controller":{"affinity":{}}}`), "[$.controller.affinity: is not defined"},
		{"ebs nodeSelector at the top", "aws:eks/addon:Addon", addon("aws-ebs-csi-driver", `{"nodeSelector":{"a":"b"}}`), "[$.nodeSelector: is not defined"},
		{"vpc-cni network policy", "aws:eks/addon:Addon", addon("vpc-cni", `{"enableNetworkPolicy":"true"}`), ""},
		{"not JSON", "aws:eks/addon:Addon", addon("coredns", `nodeSelector: {}`), "not a JSON object"},
		{"no configuration", "aws:eks/addon:Addon", addon("kube-proxy", ""), ""},
		{"interface endpoint in subnets", "aws:ec2/vpcEndpoint:VpcEndpoint", endpoint("Interface", "subnetIds", "subnet-a", "subnet-b"), ""},
		{"interface endpoint with route tables", "aws:ec2/vpcEndpoint:VpcEndpoint", endpoint("Interface", "routeTableIds", "rtb-a"),
			"Route table IDs are only supported for Gateway type VPC Endpoint"},
		{"gateway endpoint with route tables", "aws:ec2/vpcEndpoint:VpcEndpoint", endpoint("Gateway", "routeTableIds", "rtb-a"), ""},
	}
	for _, c := range cases {
		errs := InputErrors(c.typ, c.in)
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%s: refused: %v", c.name, errs)
		case c.want != "" && (len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), c.want)):
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}

func TestEndpointZoneErrors(t *testing.T) {
	t.Parallel()
	zones := map[string]string{"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-a2": "us-east-1a"}
	zoneOf := func(id string) (string, bool) { z, ok := zones[id]; return z, ok }
	endpoint := func(typ string, subnets ...string) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{"vpcEndpointType": typ, "serviceName": "com.amazonaws.us-east-1.bedrock-runtime", "subnetIds": subnets})
	}
	for _, c := range []struct {
		name string
		in   resource.PropertyMap
		want string
	}{
		{"one subnet per zone", endpoint("Interface", "subnet-a", "subnet-b"), ""},
		{"two subnets in one zone", endpoint("Interface", "subnet-a", "subnet-b", "subnet-a2"),
			"DuplicateSubnetsInSameZone: Found another VPC endpoint subnet in the availability zone of subnet-a2"},
		{"subnets of unknown zones", endpoint("Interface", "subnet-x", "subnet-y"), ""},
		{"not an interface endpoint", endpoint("Gateway", "subnet-a", "subnet-a2"), ""},
	} {
		errs := EndpointZoneErrors("aws:ec2/vpcEndpoint:VpcEndpoint", c.in, zoneOf)
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%s: refused: %v", c.name, errs)
		case c.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], c.want)):
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}

// The render resolves an endpoint's subnets to the zones the program
// declared them in.
func TestCheckInputsEndpointSubnetZones(t *testing.T) {
	t.Parallel()
	subnet := func(name, zone string) Resource {
		return Resource{URN: "urn:" + name, Type: "aws:ec2/subnet:Subnet", Name: name, Inputs: map[string]any{"availabilityZone": zone}}
	}
	vpce := func(subnets ...any) Resource {
		return Resource{URN: "urn:vpce", Type: "aws:ec2/vpcEndpoint:VpcEndpoint", Name: "vpce", Inputs: map[string]any{
			"vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.bedrock-runtime", "subnetIds": subnets,
		}}
	}
	base := []Resource{subnet("private-a", "us-east-1a"), subnet("private-b", "us-east-1b"), subnet("public-a", "us-east-1a")}
	ok := &Result{Resources: append(append([]Resource{}, base...), vpce(FakeID("private-a"), FakeID("private-b")))}
	if err := ok.CheckInputs(); err != nil {
		t.Errorf("one subnet per zone: %v", err)
	}
	bad := &Result{Resources: append(append([]Resource{}, base...), vpce(FakeID("private-a"), FakeID("public-a")))}
	if err := bad.CheckInputs(); err == nil || !strings.Contains(err.Error(), "DuplicateSubnetsInSameZone") {
		t.Errorf("private and public subnet of one zone: %v", err)
	}
}
