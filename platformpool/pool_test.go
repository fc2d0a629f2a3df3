package platformpool

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/render"
	"github.com/llm-platform/llm-platform/versions"
)

func requirements(n config.PlatformNodes) map[string][]any {
	got := map[string][]any{}
	for _, r := range Requirements(n) {
		m := r.(map[string]any)
		got[m["key"].(string)] = m["values"].([]any)
	}
	return got
}

// The pool's architectures follow its families: Graviton families allow
// arm64, x86 ones amd64, and a pod that names none can only land on an
// architecture the pool's families provide.
func TestRequirementsFollowFamilies(t *testing.T) {
	t.Parallel()
	n := config.DefaultPlatformNodes()
	got := requirements(n)
	if !slices.Equal(got["kubernetes.io/arch"], []any{"amd64", "arm64"}) {
		t.Errorf("default arch = %v, want amd64 and arm64 (m7g, m8g, m7i)", got["kubernetes.io/arch"])
	}
	if !slices.Equal(got["karpenter.sh/capacity-type"], []any{"on-demand"}) {
		t.Errorf("default capacity = %v, want on-demand", got["karpenter.sh/capacity-type"])
	}
	n.InstanceFamilies = []string{"m7g"}
	if got := requirements(n)["kubernetes.io/arch"]; !slices.Equal(got, []any{"arm64"}) {
		t.Errorf("m7g only: arch = %v, want arm64", got)
	}
}

func TestNodePool(t *testing.T) {
	t.Parallel()
	n := config.DefaultPlatformNodes()
	n.CPULimit, n.MemoryLimitGiB = 12, 48
	pool := NodePool(n)["spec"].(map[string]any)
	if l := pool["limits"].(map[string]any); l["cpu"] != "12" || l["memory"] != "48Gi" {
		t.Errorf("limits = %v, want cpu 12, memory 48Gi", l)
	}
	d := pool["disruption"].(map[string]any)
	if d["consolidationPolicy"] != "WhenEmptyOrUnderutilized" || d["consolidateAfter"] != n.ConsolidateAfter {
		t.Errorf("disruption = %v", d)
	}
	if b := d["budgets"].([]any); len(b) != 1 || b[0].(map[string]any)["nodes"] != "1" {
		t.Errorf("budgets = %v, want one node at a time", b)
	}
	tmpl := pool["template"].(map[string]any)
	if l := tmpl["metadata"].(map[string]any)["labels"].(map[string]any); l["llm-platform/node-role"] != PoolName {
		t.Errorf("node labels = %v", l)
	}
	if _, tainted := tmpl["spec"].(map[string]any)["taints"]; tainted {
		t.Error("the platform pool must not be tainted: platform services select it, nothing tolerates a taint")
	}
	class := NodeClass(Spec{ClusterName: "c", NodeRoleName: "r", BottlerocketVersion: "1.64.0", Nodes: n})["spec"].(map[string]any)
	if class["amiSelectorTerms"].([]any)[0].(map[string]any)["alias"] != "bottlerocket@v1.64.0" {
		t.Errorf("node class AMI = %v", class["amiSelectorTerms"])
	}
	if _, ok := class["userData"]; ok {
		t.Error("the platform node class needs no user data (SOCI is for the GPU pool's vLLM image)")
	}
}

// An image without an arm64 build is pinned to amd64; one with is not.
func TestNodeSelectorFor(t *testing.T) {
	t.Parallel()
	if sel := NodeSelectorFor(versions.EndpointPickerImage); sel["kubernetes.io/arch"] != "amd64" || sel["llm-platform/node-role"] != PoolName {
		t.Errorf("picker selector = %v, want the pool and amd64 (its image is amd64 only)", sel)
	}
	if sel := NodeSelectorFor(versions.RedisImage); len(sel) != 1 {
		t.Errorf("redis selector = %v, want only the pool (multi-arch image)", sel)
	}
	if sel := NodeSelectorFor("example.com/unlisted:1"); sel["kubernetes.io/arch"] != "amd64" {
		t.Errorf("an image not in versions.PlatformImages must be taken as amd64 only, got %v", sel)
	}
}

// Both objects depend on the Karpenter release and the node access entry,
// so a destroy deletes the pool (and Karpenter its nodes) first.
func TestPoolDependsOnKarpenter(t *testing.T) {
	t.Parallel()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		var release, access pulumi.CustomResourceState
		if err := ctx.RegisterResource("kubernetes:helm.sh/v3:Release", "karpenter", pulumi.Map{}, &release); err != nil {
			return err
		}
		if err := ctx.RegisterResource("aws:eks/accessEntry:AccessEntry", "node-access", pulumi.Map{}, &access); err != nil {
			return err
		}
		_, err := NewPool(ctx, "platform", &Args{
			Spec:     Spec{ClusterName: "c", NodeRoleName: "r", BottlerocketVersion: "1.64.0", Nodes: config.DefaultPlatformNodes()},
			Provider: provider, Karpenter: &release, KarpenterNodeAccess: &access,
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	release := res.Named("kubernetes:helm.sh/v3:Release", "karpenter").URN
	access := res.Named("aws:eks/accessEntry:AccessEntry", "node-access").URN
	class := res.Named("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "platform-nodeclass")
	pool := res.Named("kubernetes:karpenter.sh/v1:NodePool", "platform-nodepool")
	if class == nil || pool == nil {
		t.Fatalf("objects missing: %+v", res.Resources)
	}
	for _, r := range []*render.Resource{class, pool} {
		if !slices.Contains(r.DependsOn, release) || !slices.Contains(r.DependsOn, access) {
			t.Errorf("%s depends on %v: want the Karpenter release and node access entry", r.Name, r.DependsOn)
		}
	}
	if !slices.Contains(pool.DependsOn, class.URN) {
		t.Error("the NodePool must depend on its EC2NodeClass")
	}
}
