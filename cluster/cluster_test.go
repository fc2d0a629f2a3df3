package cluster

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/render"
	"github.com/llm-platform/llm-platform/versions"
)

const (
	typeRelease  = "kubernetes:helm.sh/v3:Release"
	typeAddon    = "aws:eks/addon:Addon"
	typeEntry    = "aws:eks/accessEntry:AccessEntry"
	typeRole     = "aws:iam/role:Role"
	typeNodeGrp  = "aws:eks/nodeGroup:NodeGroup"
	typeEKS      = "eks:index:Cluster"
	typeRule     = "aws:cloudwatch/eventRule:EventRule"
	typeTarget   = "aws:cloudwatch/eventTarget:EventTarget"
	typePodIdent = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
)

func testArgs() *Args {
	return &Args{
		Account:              testAccount,
		KubernetesVersion:    "1.35",
		VpcID:                pulumi.String("vpc-1"),
		PrivateSubnetIDs:     pulumi.ToStringArray([]string{"subnet-a", "subnet-b"}),
		EndpointPublicAccess: true,
		PublicAccessCIDRs:    []string{"203.0.113.0/24"},
		AdminRoleARNs:        []string{"arn:aws:iam::111122223333:role/platform-admin"},
		SystemNodes:          SystemNodes{InstanceTypes: []string{"m7i.large"}, MinSize: 2, DesiredSize: 2, MaxSize: 4, DiskSizeGiB: 50},
		Tags:                 map[string]string{"team": "ml"},
	}
}

type rendered struct {
	*render.Result
	kubeconfigSecret bool
}

func renderCluster(t *testing.T, args *Args) rendered {
	t.Helper()
	var out rendered
	res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
		c, err := NewCluster(ctx, "llm-test", args)
		if err != nil {
			return err
		}
		out.kubeconfigSecret = pulumi.IsSecret(c.KubeconfigJSON)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Result = res
	return out
}

func one(t *testing.T, res rendered, typ, name string) render.Resource {
	t.Helper()
	r := res.Named(typ, name)
	if r == nil {
		t.Fatalf("no %s %s", typ, name)
	}
	return *r
}

func TestEKSClusterSettings(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	eks := one(t, res, typeEKS, "llm-test")
	want := map[string]any{
		"name":                       "llm-test",
		"version":                    "1.35",
		"authenticationMode":         "API",
		"endpointPrivateAccess":      true,
		"endpointPublicAccess":       true,
		"createOidcProvider":         false,
		"skipDefaultNodeGroup":       true,
		"bootstrapSelfManagedAddons": false,
	}
	for k, v := range want {
		if eks.Inputs[k] != v {
			t.Errorf("eks %s = %v, want %v", k, eks.Inputs[k], v)
		}
	}
	if eks.String("upgradePolicy.supportType") != "STANDARD" {
		t.Errorf("upgrade policy = %v, want STANDARD (no extended-support billing)", eks.Inputs["upgradePolicy"])
	}
	if _, public := eks.Inputs["publicSubnetIds"]; public {
		t.Error("control plane must only use the private subnets")
	}
	if got, _ := eks.Input("publicAccessCidrs"); !slices.Equal(got.([]any), []any{"203.0.113.0/24"}) {
		t.Errorf("publicAccessCidrs = %v", got)
	}
	if v, _ := eks.Input("corednsAddonOptions.enabled"); v != false {
		t.Error("pulumi-eks must not manage coredns (the pinned aws.eks.Addon does)")
	}
	if !res.kubeconfigSecret {
		t.Error("kubeconfig output is not a secret")
	}
	provider := one(t, res, "pulumi:providers:kubernetes", "llm-test-k8s")
	if provider.Inputs["kubeconfig"] != render.Secret {
		t.Errorf("kubernetes provider kubeconfig = %v, want a secret", provider.Inputs["kubeconfig"])
	}
}

func TestPrivateOnlyEndpointDropsCIDRs(t *testing.T) {
	t.Parallel()
	args := testArgs()
	args.EndpointPublicAccess = false
	res := renderCluster(t, args)
	eks := one(t, res, typeEKS, "llm-test")
	if eks.Inputs["endpointPublicAccess"] != false {
		t.Error("public endpoint still on")
	}
	// Unset, not []: pulumi-eks v4.0.1 throws for any value while the
	// public endpoint is off (render.EKSCluster).
	if got, set := eks.Inputs["publicAccessCidrs"]; set {
		t.Errorf("publicAccessCidrs = %v with the public endpoint off, want it unset", got)
	}
}

func TestAddonsPinnedAndOrdered(t *testing.T) {
	t.Parallel()
	for _, version := range versions.SupportedKubernetesVersions {
		args := testArgs()
		args.KubernetesVersion = version
		res := renderCluster(t, args)
		pins := versions.Addons[version]
		want := map[string]string{"vpc-cni": pins.VPCCNI, "coredns": pins.CoreDNS, "kube-proxy": pins.KubeProxy, "eks-pod-identity-agent": pins.PodIdentityAgent}
		addons := res.OfType(typeAddon)
		if len(addons) != len(want) {
			t.Fatalf("%s: %d addons", version, len(addons))
		}
		for _, a := range addons {
			if want[a.String("addonName")] != a.String("addonVersion") || a.String("clusterName") != "llm-test" {
				t.Errorf("%s: addon %s version %s", version, a.String("addonName"), a.String("addonVersion"))
			}
		}
		if !strings.HasPrefix(pins.KubeProxy, "v"+version+".") {
			t.Errorf("kube-proxy %s does not match Kubernetes %s", pins.KubeProxy, version)
		}
	}
	res := renderCluster(t, testArgs())
	ng := one(t, res, typeNodeGrp, "llm-test-system")
	for _, dep := range []string{"vpc-cni", "kube-proxy", "eks-pod-identity-agent"} {
		if !slices.Contains(ng.DependsOn, one(t, res, typeAddon, "llm-test-"+dep).URN) {
			t.Errorf("system node group does not wait for %s", dep)
		}
	}
	if !slices.Contains(one(t, res, typeAddon, "llm-test-coredns").DependsOn, ng.URN) {
		t.Error("coredns must wait for the system nodes")
	}
}

func TestSystemNodeGroup(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	ng := one(t, res, typeNodeGrp, "llm-test-system")
	checks := map[string]any{
		"amiType": "BOTTLEROCKET_x86_64", "capacityType": "ON_DEMAND", "version": "1.35",
		"scalingConfig.minSize": 2.0, "scalingConfig.desiredSize": 2.0, "scalingConfig.maxSize": 4.0,
		"labels." + SystemNodeLabelKey: SystemNodeLabelValue,
		"nodeRoleArn":                  "arn:aws:iam::123456789012:role/llm-test-system-node",
	}
	for path, want := range checks {
		if got, _ := ng.Input(path); got != want {
			t.Errorf("node group %s = %v, want %v", path, got, want)
		}
	}
	// Tainted: only Karpenter, CoreDNS and the node agents land here.
	if v, _ := ng.Input("taints"); !reflect.DeepEqual(v, []any{map[string]any{"key": SystemTaintKey, "value": "true", "effect": "NO_SCHEDULE"}}) {
		t.Errorf("node group taints = %v, want %s=true:NO_SCHEDULE", v, SystemTaintKey)
	}
	// CoreDNS stays on the tainted system nodes it tolerates.
	if v := one(t, res, typeAddon, "llm-test-coredns").String("configurationValues"); v != `{"nodeSelector":{"`+SystemNodeLabelKey+`":"`+SystemNodeLabelValue+`"}}` {
		t.Errorf("coredns configuration = %s, want a nodeSelector on the system nodes", v)
	}
	lt := one(t, res, "aws:ec2/launchTemplate:LaunchTemplate", "llm-test-system")
	if v, _ := lt.Input("metadataOptions.httpTokens"); v != "required" {
		t.Error("IMDSv2 not required")
	}
	if v, _ := lt.Input("metadataOptions.httpPutResponseHopLimit"); v != 1.0 {
		t.Errorf("hop limit = %v, want 1", v)
	}
	for i, dev := range []string{"/dev/xvda", "/dev/xvdb"} {
		bd := "blockDeviceMappings." + string(rune('0'+i))
		if lt.String(bd+".deviceName") != dev || lt.String(bd+".ebs.encrypted") != "true" || lt.String(bd+".ebs.volumeType") != "gp3" {
			t.Errorf("block device %d = %v", i, lt.Inputs["blockDeviceMappings"])
		}
	}
	if v, _ := lt.Input("blockDeviceMappings.1.ebs.volumeSize"); v != 50.0 {
		t.Errorf("data volume = %v GiB, want 50", v)
	}
}

// The AMI type follows the instance types' architecture: an x86 AMI on a
// Graviton type fails the node group's create.
func TestSystemAMIType(t *testing.T) {
	t.Parallel()
	for types, want := range map[string]string{
		"t4g.medium": "BOTTLEROCKET_ARM_64", "m7g.large": "BOTTLEROCKET_ARM_64", "c6gn.xlarge": "BOTTLEROCKET_ARM_64",
		"m7i.large": "BOTTLEROCKET_x86_64", "t3.medium": "BOTTLEROCKET_x86_64", "m7a.large": "BOTTLEROCKET_x86_64",
	} {
		if got := SystemAMIType([]string{types}); got != want {
			t.Errorf("SystemAMIType(%s) = %s, want %s", types, got, want)
		}
	}
	args := testArgs()
	args.SystemNodes.InstanceTypes = []string{"t4g.medium"}
	ng := one(t, renderCluster(t, args), typeNodeGrp, "llm-test-system")
	if v, _ := ng.Input("amiType"); v != "BOTTLEROCKET_ARM_64" {
		t.Errorf("t4g.medium node group amiType = %v", v)
	}
}

func TestNodeRolesAndAccess(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	for _, role := range []string{"llm-test-system-node", "llm-test-karpenter-node"} {
		r := one(t, res, typeRole, role)
		if r.String("assumeRolePolicy") != NodeTrustPolicy().JSON() {
			t.Errorf("%s trust = %s", role, r.String("assumeRolePolicy"))
		}
		var attached []string
		for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			if a.String("role") == role {
				attached = append(attached, a.String("policyArn"))
			}
		}
		slices.Sort(attached)
		want := NodeManagedPolicies("aws")
		slices.Sort(want)
		if !slices.Equal(attached, want) {
			t.Errorf("%s policies = %v, want %v", role, attached, want)
		}
	}
	entry := one(t, res, typeEntry, "llm-test-karpenter-node")
	if entry.String("type") != "EC2_LINUX" || entry.String("principalArn") != "arn:aws:iam::123456789012:role/llm-test-karpenter-node" {
		t.Errorf("Karpenter node access entry = %v", entry.Inputs)
	}
	admin := one(t, res, typeEntry, "llm-test-admin-0")
	assoc := one(t, res, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "llm-test-admin-0")
	if admin.String("principalArn") != "arn:aws:iam::111122223333:role/platform-admin" ||
		!strings.HasSuffix(assoc.String("policyArn"), "/AmazonEKSClusterAdminPolicy") || assoc.String("accessScope.type") != "cluster" {
		t.Errorf("admin access = %v / %v", admin.Inputs, assoc.Inputs)
	}
	tag := one(t, res, "aws:ec2/tag:Tag", "llm-test-cluster-sg-discovery")
	if tag.String("key") != "karpenter.sh/discovery" || tag.String("value") != "llm-test" || tag.String("resourceId") != "sg-llm-test" {
		t.Errorf("cluster security group discovery tag = %v", tag.Inputs)
	}
}

func TestKarpenterIdentityQueueAndRules(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	ctrl := one(t, res, typeRole, "llm-test-karpenter-controller")
	if ctrl.String("assumeRolePolicy") != PodIdentityTrustPolicy().JSON() {
		t.Errorf("controller trust = %s", ctrl.String("assumeRolePolicy"))
	}
	assoc := one(t, res, typePodIdent, "llm-test-karpenter")
	if assoc.String("namespace") != "kube-system" || assoc.String("serviceAccount") != "karpenter" ||
		assoc.String("roleArn") != "arn:aws:iam::123456789012:role/llm-test-karpenter-controller" {
		t.Errorf("pod identity association = %v", assoc.Inputs)
	}
	inline := res.OfType("aws:iam/rolePolicy:RolePolicy")
	if len(inline) != len(KarpenterPolicies(testAccount)) {
		t.Errorf("%d inline controller policies", len(inline))
	}
	for _, p := range inline {
		if p.String("role") != "llm-test-karpenter-controller" {
			t.Errorf("policy %s on role %s", p.Name, p.String("role"))
		}
		key := strings.TrimPrefix(p.Name, "llm-test-karpenter-")
		if p.String("policy") != KarpenterPolicies(testAccount)[key].JSON() {
			t.Errorf("policy %s is not KarpenterPolicies[%s]", p.Name, key)
		}
	}
	queue := one(t, res, "aws:sqs/queue:Queue", "llm-test-karpenter-interruption")
	if queue.String("name") != "llm-test" || queue.Inputs["messageRetentionSeconds"] != 300.0 || queue.Inputs["sqsManagedSseEnabled"] != true {
		t.Errorf("queue = %v", queue.Inputs)
	}
	queueARN := "arn:aws:sqs:us-east-1:123456789012:llm-test"
	rules, targets := res.OfType(typeRule), res.OfType(typeTarget)
	if len(rules) != 5 || len(targets) != 5 {
		t.Fatalf("%d rules, %d targets", len(rules), len(targets))
	}
	for _, tg := range targets {
		if tg.String("arn") != queueARN {
			t.Errorf("target %s sends to %s, want the queue", tg.Name, tg.String("arn"))
		}
		if res.Named(typeRule, tg.Name) == nil || tg.String("rule") != res.Named(typeRule, tg.Name).String("name") {
			t.Errorf("target %s is not attached to its rule", tg.Name)
		}
	}
}

func TestKarpenterRelease(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	rel := one(t, res, typeRelease, "llm-test-karpenter")
	crd := one(t, res, typeRelease, "llm-test-karpenter-crd")
	if rel.String("chart") != versions.KarpenterChart || rel.String("version") != versions.KarpenterVersion || rel.String("name") != "karpenter" ||
		rel.String("namespace") != "kube-system" || rel.Inputs["skipCrds"] != true {
		t.Errorf("karpenter release = %v", rel.Inputs)
	}
	if crd.String("chart") != versions.KarpenterCRDChart || crd.String("version") != versions.KarpenterVersion {
		t.Errorf("karpenter-crd release = %v", crd.Inputs)
	}
	values := map[string]any{
		"replicas": 2.0, "podDisruptionBudget.maxUnavailable": 1.0,
		"settings.clusterName": "llm-test", "settings.interruptionQueue": "llm-test",
		"serviceAccount.name": "karpenter", "nodeSelector." + SystemNodeLabelKey: SystemNodeLabelValue,
		"controller.env.0.value": "us-east-1",
	}
	for path, want := range values {
		if got, _ := rel.Input("values." + path); got != want {
			t.Errorf("values.%s = %v, want %v", path, got, want)
		}
	}
	provider := one(t, res, "pulumi:providers:kubernetes", "llm-test-k8s")
	if rel.Provider != provider.URN || crd.Provider != provider.URN {
		t.Errorf("releases use provider %q/%q, want the cluster's", rel.Provider, crd.Provider)
	}
}

// Destroy runs in reverse dependency order. For Karpenter to drain and
// terminate its nodes, the release must be deleted before everything it
// needs: its nodes, DNS, identity, permissions and queue. NodePools (gpu
// package) depend on the release, so they go first.
func TestKarpenterDestroyOrdering(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	rel := one(t, res, typeRelease, "llm-test-karpenter")
	mustDependOn := []struct{ typ, name string }{
		{typeRelease, "llm-test-karpenter-crd"},
		{typeNodeGrp, "llm-test-system"},
		{typeAddon, "llm-test-coredns"},
		{typeAddon, "llm-test-eks-pod-identity-agent"},
		{typePodIdent, "llm-test-karpenter"},
		{typeEntry, "llm-test-karpenter-node"},
	}
	for _, p := range []string{"node-lifecycle", "iam-integration", "eks-integration", "interruption", "zonal-shift", "resource-discovery"} {
		mustDependOn = append(mustDependOn, struct{ typ, name string }{"aws:iam/rolePolicy:RolePolicy", "llm-test-karpenter-" + p})
	}
	for _, r := range InterruptionRules() {
		mustDependOn = append(mustDependOn, struct{ typ, name string }{typeTarget, "llm-test-karpenter-" + r.Key})
	}
	for _, d := range mustDependOn {
		if !slices.Contains(rel.DependsOn, one(t, res, d.typ, d.name).URN) {
			t.Errorf("the Karpenter release does not depend on %s %s: destroy could remove it while Karpenter still runs", d.typ, d.name)
		}
	}
	// And everything above depends, through its cluster name, on the EKS
	// cluster, so the cluster goes last.
	eksChild := res.OfType("aws:eks/cluster:Cluster")[0].URN
	for _, typ := range []string{typeNodeGrp, typeAddon, typeEntry, typePodIdent} {
		for _, r := range res.OfType(typ) {
			if !slices.Contains(r.DependsOn, eksChild) {
				t.Errorf("%s %s does not depend on the EKS cluster", typ, r.Name)
			}
		}
	}
}

func TestClusterRejectsBadArgs(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Args){
		"version":  func(a *Args) { a.KubernetesVersion = "1.29" },
		"name":     func(a *Args) { a.Account.Cluster = "no spaces allowed" },
		"account":  func(a *Args) { a.Account.ID = "" },
		"min size": func(a *Args) { a.SystemNodes.MinSize = 1 },
		"cidrs":    func(a *Args) { a.PublicAccessCIDRs = nil },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := testArgs()
			mutate(args)
			res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
				_, err := NewCluster(ctx, "llm-test", args)
				return err
			})
			if err == nil {
				t.Fatal("want an error")
			}
			if len(res.Resources) != 0 {
				t.Errorf("registered %d resources", len(res.Resources))
			}
		})
	}
}

// The Helm values are plain data: they must survive a JSON round trip
// unchanged (no Go-only types that Pulumi would serialise differently).
func TestKarpenterValuesJSON(t *testing.T) {
	t.Parallel()
	v := KarpenterValues(testAccount, "q")
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"interruptionQueue":"q"`) || !strings.Contains(string(b), `"clusterName":"llm-test"`) {
		t.Errorf("values = %s", b)
	}
}

// One vpc-cni addon per cluster: pulumi-eks makes its own unless
// useDefaultVpcCni (the render mocks build its children the way v4.0.1
// does), and EKS refuses a second addon of a name.
func TestOneVPCCNIAddon(t *testing.T) {
	t.Parallel()
	res := renderCluster(t, testArgs())
	var cni []string
	for _, r := range res.OfType(typeAddon) {
		if r.String("addonName") == "vpc-cni" {
			cni = append(cni, r.URN)
		}
	}
	if len(cni) != 1 {
		t.Fatalf("vpc-cni addons: %v, want exactly one", cni)
	}
	if cfg := res.Named(typeAddon, "llm-test-vpc-cni"); cfg == nil || !strings.Contains(cfg.String("configurationValues"), `"enableNetworkPolicy":"true"`) {
		t.Errorf("the vpc-cni addon is not the program's (network policy on): %v", cni)
	}
	if err := res.CheckUnique(render.FakeCallerARN); err != nil {
		t.Error(err)
	}
}

// With control-plane logging, the log group EKS writes to exists (with a
// retention) before the cluster; without, there is none.
func TestControlPlaneLogGroup(t *testing.T) {
	t.Parallel()
	args := testArgs()
	args.LogTypes, args.LogRetentionDays = []string{"api", "audit"}, 90
	res := renderCluster(t, args)
	group := one(t, res, "aws:cloudwatch/logGroup:LogGroup", "llm-test-control-plane-logs")
	if group.String("name") != "/aws/eks/llm-test/cluster" || group.Inputs["retentionInDays"] != 90.0 {
		t.Errorf("log group = %v", group.Inputs)
	}
	if eks := one(t, res, typeEKS, "llm-test"); !slices.Contains(eks.DependsOn, group.URN) {
		t.Errorf("the cluster does not wait for its log group: dependsOn %v", eks.DependsOn)
	}
	if none := renderCluster(t, testArgs()); len(none.OfType("aws:cloudwatch/logGroup:LogGroup")) != 0 {
		t.Error("a log group without logTypes")
	}
}
