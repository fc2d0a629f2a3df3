package render

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestUniqueKeysVpcEndpointPrivateDNS(t *testing.T) {
	t.Parallel()
	const typ = "aws:ec2/vpcEndpoint:VpcEndpoint"
	endpoint := func(vpc, service, kind string, privateDNS bool) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{
			"vpcId": vpc, "serviceName": service, "vpcEndpointType": kind, "privateDnsEnabled": privateDNS,
		})
	}
	bedrock := "com.amazonaws.us-east-1.bedrock-runtime"
	first := UniqueKeys(typ, endpoint("vpc-1", bedrock, "Interface", true))
	if len(first) != 1 {
		t.Fatalf("keys = %v, want one", first)
	}
	want := "private-dns-enabled cannot be set because there is already a conflicting DNS domain for bedrock-runtime.us-east-1.amazonaws.com in the VPC vpc-1"
	if !strings.Contains(first[0].Error, want) || !strings.HasPrefix(first[0].Error, "creating EC2 VPC Endpoint ("+bedrock+")") {
		t.Errorf("error = %q", first[0].Error)
	}
	for _, c := range []struct {
		name string
		in   resource.PropertyMap
		same bool // the key first holds
	}{
		{"same VPC and service", endpoint("vpc-1", bedrock, "Interface", true), true},
		{"another VPC", endpoint("vpc-2", bedrock, "Interface", true), false},
		{"another service", endpoint("vpc-1", "com.amazonaws.us-east-1.sts", "Interface", true), false},
		{"without private DNS", endpoint("vpc-1", bedrock, "Interface", false), false},
		{"a gateway endpoint", endpoint("vpc-1", "com.amazonaws.us-east-1.s3", "Gateway", false), false},
	} {
		keys := UniqueKeys(typ, c.in)
		clash := len(keys) == 1 && keys[0].Key == first[0].Key
		if clash != c.same {
			t.Errorf("%s: keys %v, clash with the first endpoint = %v, want %v", c.name, keys, clash, c.same)
		}
	}
	if keys := UniqueKeys(typ, endpoint("vpc-1", bedrock, "Interface", false)); len(keys) != 0 {
		t.Errorf("an endpoint without private DNS holds %v", keys)
	}
}

func TestPrivateDNSName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"com.amazonaws.us-east-1.bedrock-runtime":                 "bedrock-runtime.us-east-1.amazonaws.com",
		"com.amazonaws.eu-west-1.ecr.dkr":                         "ecr.dkr.eu-west-1.amazonaws.com",
		"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
		"aws.sagemaker.us-east-1.notebook":                        "aws.sagemaker.us-east-1.notebook",
	} {
		if got := PrivateDNSName(in); got != want {
			t.Errorf("PrivateDNSName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two private-DNS endpoints for one service in one VPC fail the render.
func TestCheckUniqueVpcEndpoints(t *testing.T) {
	t.Parallel()
	vpce := func(name string) Resource {
		return Resource{URN: "urn:" + name, Type: "aws:ec2/vpcEndpoint:VpcEndpoint", Name: name, Inputs: map[string]any{
			"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.bedrock-runtime", "vpcEndpointType": "Interface", "privateDnsEnabled": true,
		}}
	}
	if err := (&Result{Resources: []Resource{vpce("a")}}).CheckUnique(FakeCallerARN); err != nil {
		t.Errorf("one endpoint: %v", err)
	}
	err := (&Result{Resources: []Resource{vpce("a"), vpce("b")}}).CheckUnique(FakeCallerARN)
	if err == nil || !strings.Contains(err.Error(), "urn:a and urn:b") || !strings.Contains(err.Error(), "conflicting DNS domain") {
		t.Errorf("two endpoints: %v", err)
	}
}
