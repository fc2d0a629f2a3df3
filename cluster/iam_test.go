package cluster

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/iampolicy"
)

var testAccount = Account{Partition: "aws", Region: "us-east-1", ID: "111122223333", Cluster: "llm-test"}

func TestTrustPolicies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		doc     iampolicy.Document
		service string
		actions []string
	}{
		{"node", NodeTrustPolicy(), "ec2.amazonaws.com", []string{"sts:AssumeRole"}},
		{"pod identity", PodIdentityTrustPolicy(), "pods.eks.amazonaws.com", []string{"sts:AssumeRole", "sts:TagSession"}},
	} {
		if len(tt.doc.Statement) != 1 {
			t.Fatalf("%s: %d statements", tt.name, len(tt.doc.Statement))
		}
		s := tt.doc.Statement[0]
		if s.Effect != iampolicy.Allow || s.Principal == nil || !slices.Equal(s.Principal.Service, []string{tt.service}) || !slices.Equal(s.Action, tt.actions) {
			t.Errorf("%s trust = %+v, want %s allowed %v", tt.name, s, tt.service, tt.actions)
		}
		if s.Principal.AWS != nil {
			t.Errorf("%s trust lets AWS principals assume the role", tt.name)
		}
	}
}

// The controller policy follows Karpenter v1.14's getting-started
// template statement for statement.
func TestKarpenterPoliciesMatchUpstreamStatements(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"node-lifecycle": {
			"AllowScopedEC2InstanceAccessActions", "AllowScopedEC2LaunchTemplateAccessActions",
			"AllowScopedEC2InstanceActionsWithTags", "AllowScopedResourceCreationTagging",
			"AllowScopedResourceTagging", "AllowScopedDeletion",
		},
		"iam-integration": {
			"AllowPassingInstanceRole", "AllowScopedInstanceProfileCreationActions",
			"AllowScopedInstanceProfileTagActions", "AllowScopedInstanceProfileActions",
		},
		"eks-integration":    {"AllowAPIServerEndpointDiscovery"},
		"interruption":       {"AllowInterruptionQueueActions"},
		"zonal-shift":        {"AllowZonalShiftStatusReadOnly"},
		"resource-discovery": {"AllowRegionalReadActions", "AllowSSMReadActions", "AllowPricingReadActions", "AllowUnscopedInstanceProfileListAction", "AllowInstanceProfileReadActions"},
	}
	got := KarpenterPolicies(testAccount)
	if len(got) != len(want) {
		t.Fatalf("got policies %v", keysOf(got))
	}
	for name, sids := range want {
		var gotSids []string
		for _, s := range got[name].Statement {
			gotSids = append(gotSids, s.Sid)
		}
		if !slices.Equal(gotSids, sids) {
			t.Errorf("%s statements = %v, want %v", name, gotSids, sids)
		}
	}
}

func TestKarpenterPoliciesAreScoped(t *testing.T) {
	t.Parallel()
	policies := KarpenterPolicies(testAccount)
	// Only these read-only or self-scoped actions may apply to every
	// resource, and only discovery reads without a condition.
	unscopedOK := map[string]bool{
		"ec2:DescribeCapacityReservations": true, "ec2:DescribeImages": true, "ec2:DescribeInstances": true,
		"ec2:DescribeInstanceStatus": true, "ec2:DescribeInstanceTypeOfferings": true, "ec2:DescribeInstanceTypes": true,
		"ec2:DescribeLaunchTemplates": true, "ec2:DescribePlacementGroups": true, "ec2:DescribeSecurityGroups": true,
		"ec2:DescribeSpotPriceHistory": true, "ec2:DescribeSubnets": true,
		"pricing:GetProducts": true, "iam:ListInstanceProfiles": true, "arc-zonal-shift:GetManagedResource": true,
	}
	mutating := []string{"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags", "ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}
	total := 0
	for name, doc := range policies {
		total += len(doc.JSON())
		for _, s := range doc.Statement {
			if s.Effect != iampolicy.Allow {
				t.Errorf("%s/%s: unexpected effect %s", name, s.Sid, s.Effect)
			}
			for _, a := range s.Action {
				if strings.Contains(a, "*") {
					t.Errorf("%s/%s: wildcard action %s", name, s.Sid, a)
				}
				if slices.Contains(s.Resource, "*") && !unscopedOK[a] {
					t.Errorf("%s/%s: %s on every resource", name, s.Sid, a)
				}
			}
			// Every statement that can create, tag or delete instances
			// is conditioned on this cluster's ownership tag.
			if slices.ContainsFunc(s.Action, func(a string) bool { return slices.Contains(mutating, a) }) &&
				s.Sid != "AllowScopedEC2InstanceAccessActions" {
				if !strings.Contains(string(mustJSON(t, s.Condition)), "kubernetes.io/cluster/llm-test") {
					t.Errorf("%s/%s: %v not scoped to the cluster tag: %v", name, s.Sid, s.Action, s.Condition)
				}
			}
			for _, r := range s.Resource {
				if r != "*" && !strings.HasPrefix(r, "arn:aws:") {
					t.Errorf("%s/%s: resource %q is not an ARN of partition aws", name, s.Sid, r)
				}
				if strings.Contains(r, ":us-west-2:") {
					t.Errorf("%s/%s: resource %q in the wrong region", name, s.Sid, r)
				}
			}
		}
	}
	// The six documents are attached as inline policies, which share a
	// 10,240-character limit per role.
	if total > 10240 {
		t.Errorf("controller policies total %d characters, above the inline limit of 10240", total)
	}
}

func TestKarpenterPassRoleOnlyNodeRoleToEC2(t *testing.T) {
	t.Parallel()
	var pass []iampolicy.Statement
	for _, doc := range KarpenterPolicies(testAccount) {
		for _, s := range doc.Statement {
			if slices.Contains(s.Action, "iam:PassRole") {
				pass = append(pass, s)
			}
		}
	}
	if len(pass) != 1 {
		t.Fatalf("%d statements allow iam:PassRole", len(pass))
	}
	s := pass[0]
	if !slices.Equal(s.Resource, []string{"arn:aws:iam::111122223333:role/llm-test-karpenter-node"}) {
		t.Errorf("PassRole on %v, want only the Karpenter node role", s.Resource)
	}
	got := s.Condition["StringEquals"]["iam:PassedToService"]
	if !slices.Equal(got.([]string), []string{"ec2.amazonaws.com", "ec2.amazonaws.com.cn"}) {
		t.Errorf("PassRole condition = %v", s.Condition)
	}
}

func TestKarpenterQueueAndClusterARNs(t *testing.T) {
	t.Parallel()
	p := KarpenterPolicies(testAccount)
	if got := p["interruption"].Statement[0].Resource; !slices.Equal(got, []string{"arn:aws:sqs:us-east-1:111122223333:llm-test"}) {
		t.Errorf("interruption resource = %v", got)
	}
	if got := p["eks-integration"].Statement[0].Resource; !slices.Equal(got, []string{"arn:aws:eks:us-east-1:111122223333:cluster/llm-test"}) {
		t.Errorf("eks resource = %v", got)
	}
	cn := testAccount
	cn.Partition, cn.Region = "aws-cn", "cn-north-1"
	if got := KarpenterPolicies(cn)["eks-integration"].Statement[0].Resource[0]; got != "arn:aws-cn:eks:cn-north-1:111122223333:cluster/llm-test" {
		t.Errorf("China partition ARN = %s", got)
	}
}

func TestInterruptionQueuePolicy(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:sqs:us-east-1:111122223333:llm-test"
	var doc map[string]any
	if err := json.Unmarshal([]byte(InterruptionQueuePolicy(arn).JSON()), &doc); err != nil {
		t.Fatal(err)
	}
	stmts := doc["Statement"].([]any)
	allow, deny := stmts[0].(map[string]any), stmts[1].(map[string]any)
	if allow["Effect"] != "Allow" || !sameStrings(allow["Principal"].(map[string]any)["Service"], "events.amazonaws.com", "sqs.amazonaws.com") ||
		!sameStrings(allow["Action"], "sqs:SendMessage") || !sameStrings(allow["Resource"], arn) {
		t.Errorf("allow statement = %v", allow)
	}
	if deny["Effect"] != "Deny" || deny["Principal"] != "*" || !sameStrings(deny["Action"], "sqs:*") {
		t.Errorf("deny statement = %v", deny)
	}
	if c := deny["Condition"].(map[string]any)["Bool"].(map[string]any)["aws:SecureTransport"]; c != "false" {
		t.Errorf("deny condition = %v", deny["Condition"])
	}
}

func TestInterruptionRules(t *testing.T) {
	t.Parallel()
	rules := InterruptionRules()
	want := map[string]string{
		"AWS Health Event":                                       "aws.health",
		"EC2 Spot Instance Interruption Warning":                 "aws.ec2",
		"EC2 Instance Rebalance Recommendation":                  "aws.ec2",
		"EC2 Instance State-change Notification":                 "aws.ec2",
		"EC2 Capacity Reservation Instance Interruption Warning": "aws.ec2",
	}
	if len(rules) != len(want) {
		t.Fatalf("%d rules", len(rules))
	}
	for _, r := range rules {
		var pattern map[string][]string
		if err := json.Unmarshal([]byte(r.EventPattern()), &pattern); err != nil {
			t.Fatal(err)
		}
		if want[r.DetailType] != r.Source || !slices.Equal(pattern["source"], []string{r.Source}) || !slices.Equal(pattern["detail-type"], []string{r.DetailType}) {
			t.Errorf("rule %s pattern %v", r.Key, pattern)
		}
	}
}

func sameStrings(v any, want ...string) bool {
	var got []string
	switch x := v.(type) {
	case string:
		got = []string{x}
	case []any:
		for _, e := range x {
			s, _ := e.(string)
			got = append(got, s)
		}
	}
	return slices.Equal(got, want)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
