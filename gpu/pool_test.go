package gpu

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/render"
)

func spec() (NodeClassSpec, NodePoolSpec) {
	return NodeClassSpec{
			ClusterName: "llm-test", NodeRoleName: "llm-test-karpenter-node", BottlerocketVersion: "1.64.0",
			DataVolumeGiB: 120, Tags: map[string]string{"team": "ml"},
		}, NodePoolSpec{
			InstanceFamilies: []string{"g6"}, InstanceSizes: []string{"xlarge", "12xlarge"},
			CapacityTypes: []string{"spot", "on-demand"}, GPULimit: 4, ConsolidateAfter: "10m", ExpireAfter: "720h",
		}
}

func TestRequirements(t *testing.T) {
	t.Parallel()
	_, np := spec()
	got := map[string][]any{}
	for _, r := range Requirements(np) {
		m := r.(map[string]any)
		if m["operator"] != "In" {
			t.Errorf("requirement %v", m)
		}
		got[m["key"].(string)] = m["values"].([]any)
	}
	want := map[string][]any{
		"karpenter.k8s.aws/instance-family":   {"g6"},
		"karpenter.k8s.aws/instance-size":     {"xlarge", "12xlarge"},
		"karpenter.k8s.aws/instance-gpu-name": {"l4"},
		"karpenter.sh/capacity-type":          {"spot", "on-demand"},
		"kubernetes.io/arch":                  {"amd64"},
		"kubernetes.io/os":                    {"linux"},
	}
	if len(got) != len(want) {
		t.Fatalf("requirements = %v", got)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestNodeClassAndPool(t *testing.T) {
	t.Parallel()
	nc, np := spec()
	nc.InstanceStoreRAID0 = true
	class := NodeClass(nc)["spec"].(map[string]any)
	if class["role"] != "llm-test-karpenter-node" || class["instanceStorePolicy"] != "RAID0" {
		t.Errorf("node class = %v", class)
	}
	vols := class["blockDeviceMappings"].([]any)
	if len(vols) != 2 || vols[1].(map[string]any)["ebs"].(map[string]any)["volumeSize"] != "120Gi" {
		t.Errorf("volumes = %v", vols)
	}
	nc.InstanceStoreRAID0 = false
	if _, set := NodeClass(nc)["spec"].(map[string]any)["instanceStorePolicy"]; set {
		t.Error("instanceStorePolicy set without instanceStoreRaid0")
	}
	pool := NodePool(np)["spec"].(map[string]any)
	if pool["limits"].(map[string]any)["nvidia.com/gpu"] != 4 {
		t.Errorf("limits = %v", pool["limits"])
	}
	d := pool["disruption"].(map[string]any)
	if d["consolidationPolicy"] != "WhenEmpty" || d["consolidateAfter"] != "10m" {
		t.Errorf("disruption = %v", d)
	}
	taints := pool["template"].(map[string]any)["spec"].(map[string]any)["taints"].([]any)
	if taints[0].(map[string]any)["key"] != GPUTaintKey || taints[0].(map[string]any)["effect"] != "NoSchedule" {
		t.Errorf("taints = %v", taints)
	}
}

// The pool depends on the Karpenter release and the node access entry, so a
// destroy removes the NodePool (and Karpenter its nodes) before either.
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
		nc, np := spec()
		_, err := NewPool(ctx, "gpu-l4", &Args{NodeClass: nc, NodePool: np, Provider: provider, Karpenter: &release, KarpenterNodeAccess: &access})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	release := res.Named("kubernetes:helm.sh/v3:Release", "karpenter").URN
	access := res.Named("aws:eks/accessEntry:AccessEntry", "node-access").URN
	class := res.Named("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "gpu-l4-nodeclass")
	pool := res.Named("kubernetes:karpenter.sh/v1:NodePool", "gpu-l4-nodepool")
	if class == nil || pool == nil {
		t.Fatalf("objects missing: %+v", res.Resources)
	}
	for _, r := range []*render.Resource{class, pool} {
		if !slices.Contains(r.DependsOn, release) || !slices.Contains(r.DependsOn, access) {
			t.Errorf("%s depends on %v: want the Karpenter release and node access entry", r.Name, r.DependsOn)
		}
		if r.Provider != res.Named("pulumi:providers:kubernetes", "k8s").URN {
			t.Errorf("%s uses provider %q", r.Name, r.Provider)
		}
	}
	if !slices.Contains(pool.DependsOn, class.URN) {
		t.Error("the NodePool must depend on its EC2NodeClass")
	}
	if pool.String("spec.template.spec.nodeClassRef.name") != class.String("metadata.name") {
		t.Error("nodeClassRef does not name the EC2NodeClass")
	}
}

func TestPoolRejectsMissingArgs(t *testing.T) {
	t.Parallel()
	res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
		nc, np := spec()
		_, err := NewPool(ctx, "gpu-l4", &Args{NodeClass: nc, NodePool: np})
		return err
	})
	if err == nil || len(res.Resources) != 0 {
		t.Fatalf("err = %v, %d resources", err, len(res.Resources))
	}
}

// bottlerocketSettings models the two settings tables the user data sets,
// with the names and types of Bottlerocket's settings reference
// (container-runtime, container-runtime-plugins; 1.44.0 and later).
type bottlerocketSettings struct {
	Settings struct {
		ContainerRuntime struct {
			Snapshotter string `toml:"snapshotter"`
		} `toml:"container-runtime"`
		Plugins struct {
			SOCI struct {
				PullMode string `toml:"pull-mode"`
				Parallel struct {
					MaxConcurrentDownloads         *int    `toml:"max-concurrent-downloads"`
					MaxConcurrentDownloadsPerImage *int    `toml:"max-concurrent-downloads-per-image"`
					ConcurrentDownloadChunkSize    *string `toml:"concurrent-download-chunk-size"`
					MaxConcurrentUnpacks           *int    `toml:"max-concurrent-unpacks"`
					MaxConcurrentUnpacksPerImage   *int    `toml:"max-concurrent-unpacks-per-image"`
					DiscardUnpackedLayers          *bool   `toml:"discard-unpacked-layers"`
				} `toml:"parallel-pull-unpack"`
			} `toml:"soci-snapshotter"`
		} `toml:"container-runtime-plugins"`
	} `toml:"settings"`
}

func TestSOCIUserDataIsBottlerocketSettings(t *testing.T) {
	t.Parallel()
	var s bottlerocketSettings
	md, err := toml.Decode(SOCIUserData, &s)
	if err != nil {
		t.Fatalf("user data is not TOML: %v", err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("keys Bottlerocket does not define: %v", u)
	}
	if s.Settings.ContainerRuntime.Snapshotter != "soci" {
		t.Errorf("snapshotter = %q, want soci", s.Settings.ContainerRuntime.Snapshotter)
	}
	if s.Settings.Plugins.SOCI.PullMode != "parallel-pull-unpack" {
		t.Errorf("pull-mode = %q, want parallel-pull-unpack (the only mode Bottlerocket offers)", s.Settings.Plugins.SOCI.PullMode)
	}
	p := s.Settings.Plugins.SOCI.Parallel
	if p.MaxConcurrentDownloadsPerImage == nil || p.MaxConcurrentUnpacksPerImage == nil || p.DiscardUnpackedLayers == nil || !*p.DiscardUnpackedLayers {
		t.Errorf("parallel-pull-unpack settings = %+v: want the blueprint's per-image concurrency and discarded layers", p)
	}
	// Karpenter rebuilds settings.kubernetes from its own struct and drops
	// what it does not know: the user data must not rely on it.
	if strings.Contains(SOCIUserData, "settings.kubernetes") {
		t.Error("user data sets settings.kubernetes, which Karpenter rewrites")
	}
}

func TestDataVolumeLevers(t *testing.T) {
	t.Parallel()
	ebs := func(s NodeClassSpec) map[string]any {
		nc := NodeClass(s)
		for _, v := range nc["spec"].(map[string]any)["blockDeviceMappings"].([]any) {
			if m := v.(map[string]any); m["deviceName"] == "/dev/xvdb" {
				return m["ebs"].(map[string]any)
			}
		}
		t.Fatal("no /dev/xvdb")
		return nil
	}
	nc, _ := spec()
	plain := ebs(nc)
	for _, k := range []string{"throughput", "iops", "snapshotID", "volumeInitializationRate"} {
		if _, ok := plain[k]; ok {
			t.Errorf("without levers the data volume sets %s", k)
		}
	}
	if _, ok := NodeClass(nc)["spec"].(map[string]any)["userData"]; ok {
		t.Error("user data without gpu.sociParallelPull")
	}

	nc.SOCIParallelPull, nc.DataVolumeSnapshotID = true, "snap-0123456789abcdef0"
	got := ebs(nc)
	if got["throughput"] != 1000 || got["iops"] != 16000 {
		t.Errorf("SOCI data volume %v: want the 1,000 MiB/s and 16,000 IOPS the pull rate was measured on", got)
	}
	if got["snapshotID"] != "snap-0123456789abcdef0" || got["volumeInitializationRate"] != 300 || got["volumeSize"] != "120Gi" {
		t.Errorf("snapshot data volume %v", got)
	}
	if NodeClass(nc)["spec"].(map[string]any)["userData"] != SOCIUserData {
		t.Error("SOCI user data missing")
	}
}

// The snapshot builder boots with the GPU nodes' SOCI settings: a snapshot
// made under another snapshotter would be wiped when a node boots from it.
func TestSnapshotBuilderUsesTheNodesSOCISettings(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../scripts/build-data-volume-snapshot.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "readonly SOCI_USER_DATA='")
	script, _, closed := strings.Cut(rest, "'")
	if !ok || !closed {
		t.Fatal("the script has no SOCI_USER_DATA='...' block")
	}
	var fromScript, fromNodes map[string]any
	if _, err := toml.Decode(script, &fromScript); err != nil {
		t.Fatalf("script user data: %v", err)
	}
	if _, err := toml.Decode(SOCIUserData, &fromNodes); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromScript, fromNodes) {
		t.Errorf("the snapshot builder's SOCI settings\n%v\ndiffer from the GPU nodes'\n%v", fromScript, fromNodes)
	}
}
