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
