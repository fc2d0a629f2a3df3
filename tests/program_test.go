package tests

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

// llmLayerTypes are the type prefixes that belong to the opt-in LLM layer.
// A base-only stack must contain none of them.
var llmLayerTypes = []string{
	"llm-platform:gpu:", "llm-platform:storage:", "llm-platform:gateway:",
	"llm-platform:models:", "llm-platform:observability:", "llm-platform:usage:",
	"aws:s3/", "random:",
	"kubernetes:karpenter.sh/", "kubernetes:karpenter.k8s.aws/",
}

func TestBaseOnlyStackHasNoLLMLayer(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, stacks["base"]))
	if len(res.Resources) == 0 {
		t.Fatal("base stack rendered nothing")
	}
	for _, r := range res.Resources {
		// The model bucket and its settings outlive the layer
		// (storage.keepBucket, docs/decisions/0006): nothing else of it.
		if r.Type == "llm-platform:storage:Storage" || strings.HasPrefix(r.Type, "aws:s3/bucket") {
			continue
		}
		for _, p := range llmLayerTypes {
			if strings.HasPrefix(r.Type, p) {
				t.Errorf("base-only stack declares LLM-layer resource %s", r.URN)
			}
		}
	}
	if b := res.Named("aws:s3/bucket:Bucket", "llm-platform-base-models-bucket"); b == nil || !b.Protect || !b.RetainOnDelete {
		t.Errorf("base-only stack's model bucket = %+v, want it declared, protected and retained", b)
	}
	// perAz in the base stack: one NAT gateway per zone, three zones.
	if n := len(res.OfType("aws:ec2/natGateway:NatGateway")); n != 3 {
		t.Errorf("base stack has %d NAT gateways, want 3 (perAz)", n)
	}
}

// untaggable AWS types have no tags argument.
var untaggable = map[string]bool{
	"aws:ec2/route:Route": true,
	"aws:ec2/routeTableAssociation:RouteTableAssociation": true,
	"aws:ec2/tag:Tag": true,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                                      true,
	"aws:iam/rolePolicy:RolePolicy":                                                          true,
	"aws:sqs/queuePolicy:QueuePolicy":                                                        true,
	"aws:cloudwatch/eventTarget:EventTarget":                                                 true,
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation":                                true,
	"aws:ec2/securityGroupRule:SecurityGroupRule":                                            true,
	"aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":                       true,
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                 true,
	"aws:s3/bucketPolicy:BucketPolicy":                                                       true,
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                 true,
	"aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": true,
	"aws:s3/bucketVersioning:BucketVersioning":                                               true,
	"aws:s3/filesFileSystemPolicy:FilesFileSystemPolicy":                                     true,
	"aws:s3/filesMountTarget:FilesMountTarget":                                               true,
	"aws:s3/filesSynchronizationConfiguration:FilesSynchronizationConfiguration":             true,
}

// Every taggable AWS resource carries the platform tags and the stack's
// tags, whatever component declared it.
func TestEveryAWSResourceTagged(t *testing.T) {
	t.Parallel()
	for name, stack := range stacks {
		sc := loadStack(t, stack)
		res := mustRun(t, sc)
		// pulumi-eks applies its tags input to what it creates.
		checked := append(res.WithTypePrefix("aws:"), res.OfType("eks:index:Cluster")...)
		for _, r := range checked {
			if untaggable[r.Type] || r.Mocked {
				continue
			}
			want := map[string]string{
				"llm-platform/stack":   sc.Stack,
				"llm-platform/project": "llm-platform",
				"managed-by":           "pulumi",
				"environment":          name,
			}
			for k, v := range want {
				if got := r.Tag(k); got != v {
					t.Errorf("%s: %s tag %s = %q, want %q", name, r.URN, k, got, v)
				}
			}
		}
	}
}

// Every resource belongs to a component: nothing floats at the stack root
// except the components main.go wires.
func TestEveryResourceParented(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, "dev"))
	for _, r := range res.Resources {
		if r.Parent == "" && !strings.HasPrefix(r.Type, "llm-platform:") && !strings.HasPrefix(r.Type, "pulumi:providers:") {
			t.Errorf("%s has no parent component", r.URN)
		}
		if r.Parent != "" && res.ByURN(r.Parent) == nil {
			t.Errorf("%s has unknown parent %s", r.URN, r.Parent)
		}
	}
}

func TestDevStackNetwork(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, "dev"))
	vpc := res.Named("aws:ec2/vpc:Vpc", "llm-platform-dev-vpc")
	if vpc == nil || vpc.String("cidrBlock") != "10.20.0.0/16" {
		t.Fatalf("dev VPC = %+v", vpc)
	}
	if n := len(res.OfType("aws:ec2/subnet:Subnet")); n != 4 {
		t.Errorf("dev has %d subnets, want 4 (2 zones)", n)
	}
	if n := len(res.OfType("aws:ec2/natGateway:NatGateway")); n != 1 {
		t.Errorf("dev has %d NAT gateways, want 1 (single)", n)
	}
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		if strings.Contains(s.Name, "private") && s.Tag("karpenter.sh/discovery") != "llm-platform-dev" {
			t.Errorf("%s discovery tag = %q", s.Name, s.Tag("karpenter.sh/discovery"))
		}
	}
}

// Secret config never appears in clear text in a render.
func TestSecretsMaskedInRender(t *testing.T) {
	t.Parallel()
	dev := loadStack(t, "dev")
	sc := &render.StackConfig{Project: dev.Project, Stack: dev.Stack, Values: map[string]string{}, SecretKeys: []string{"llm-platform:huggingFaceToken"}}
	for k, v := range dev.Values {
		sc.Values[k] = v
	}
	const token = "hf_doNotLeakThisToken"
	sc.Values["llm-platform:huggingFaceToken"] = token
	res := mustRun(t, sc)
	b, err := res.ResourcesJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), token) {
		t.Error("the Hugging Face token appears in resources.json")
	}
}

// The alert receiver's URL is a credential: with the slack receiver, it is
// in no resource input in clear text (Helm values included) and reaches
// the cluster only as the receiver Secret's data.
func TestAlertWebhookURLMaskedInRender(t *testing.T) {
	t.Parallel()
	dev := loadStack(t, "dev")
	sc := &render.StackConfig{Project: dev.Project, Stack: dev.Stack, Values: maps.Clone(dev.Values), SecretKeys: []string{"llm-platform:alertWebhookUrl"}}
	const url = "https://hooks.slack.com/services/T000/B000/doNotLeakThisURL"
	sc.Values["llm-platform:alertWebhookUrl"] = url
	sc.Values["llm-platform:observability"] = `{"alerts": {"receiver": "slack"}}`
	res := mustRun(t, sc)
	b, err := res.ResourcesJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "doNotLeak") {
		t.Error("the alert webhook URL appears in resources.json")
	}
	files, err := res.KubernetesFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if strings.Contains(string(content), "doNotLeak") {
			t.Errorf("the alert webhook URL appears in %s", name)
		}
	}
	secret := res.Named("kubernetes:core/v1:Secret", "llm-platform-dev-observability-alert-receiver")
	if secret == nil || secret.Inputs["stringData"] != render.Secret {
		t.Errorf("receiver Secret = %+v, want its data a secret", secret)
	}
}

// The base layer (VPC + EKS + Karpenter) is the same in every stack.
func TestEveryStackHasClusterAndKarpenter(t *testing.T) {
	t.Parallel()
	for name, stack := range stacks {
		res := mustRun(t, loadStack(t, stack))
		counts := map[string]int{
			"eks:index:Cluster":                                     1,
			"aws:eks/nodeGroup:NodeGroup":                           1,
			"aws:eks/addon:Addon":                                   4,
			"aws:eks/podIdentityAssociation:PodIdentityAssociation": 1,
			"aws:sqs/queue:Queue":                                   1,
			"aws:cloudwatch/eventRule:EventRule":                    5,
			"aws:cloudwatch/eventTarget:EventTarget":                5,
			"kubernetes:helm.sh/v3:Release":                         2, // karpenter-crd, karpenter
			"pulumi:providers:kubernetes":                           1,
		}
		clusterURN := res.OfType("llm-platform:cluster:Cluster")[0].URN
		for typ, want := range counts {
			got := 0
			for _, r := range res.OfType(typ) {
				if r.Parent == clusterURN {
					got++
				}
			}
			if got != want {
				t.Errorf("%s: %d %s, want %d", name, got, typ, want)
			}
		}
		var roles []string
		for _, r := range res.OfType("aws:iam/role:Role") {
			roles = append(roles, r.String("name"))
		}
		cluster := res.OfType("eks:index:Cluster")[0].String("name")
		for _, want := range []string{cluster + "-system-node", cluster + "-karpenter-node", cluster + "-karpenter-controller"} {
			if !slices.Contains(roles, want) {
				t.Errorf("%s: no IAM role %s (have %v)", name, want, roles)
			}
		}
	}
}

// Across components: the GPU pool of the dev stack depends on the cluster's
// Karpenter release, so destroy deletes NodePool -> release -> cluster.
func TestDevGPUPoolDestroyOrder(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, "dev"))
	pool := res.Named("kubernetes:karpenter.sh/v1:NodePool", "gpu-l4-nodepool")
	class := res.Named("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "gpu-l4-nodeclass")
	release := res.Named("kubernetes:helm.sh/v3:Release", "llm-platform-dev-karpenter")
	if pool == nil || class == nil || release == nil {
		t.Fatal("dev stack lacks the GPU pool or the Karpenter release")
	}
	for _, r := range []*render.Resource{pool, class} {
		if !slices.Contains(r.DependsOn, release.URN) {
			t.Errorf("%s does not depend on the Karpenter release", r.Name)
		}
	}
	if !slices.Contains(release.DependsOn, res.Named("aws:eks/nodeGroup:NodeGroup", "llm-platform-dev-system").URN) {
		t.Error("the Karpenter release does not depend on the system node group")
	}
	if got := class.String("spec.role"); got != "llm-platform-dev-karpenter-node" {
		t.Errorf("EC2NodeClass role %q is not the Karpenter node role", got)
	}
	if v, _ := pool.Input("spec.limits"); v.(map[string]any)["nvidia.com/gpu"] != 2.0 {
		t.Errorf("dev GPU limit = %v, want 2 (Pulumi.dev.yaml)", v)
	}
}

func TestDevStorage(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, "dev"))
	buckets := res.OfType("aws:s3/bucket:Bucket")
	if len(buckets) != 1 || !buckets[0].Protect || !buckets[0].RetainOnDelete {
		t.Fatalf("dev model bucket = %+v: want one, protected and retained", buckets)
	}
	if got := buckets[0].String("bucket"); got != "llm-models-dev-us-east-1-123456789012" {
		t.Errorf("bucket name %q is not <prefix>-<stack>-<region>-<account>", got)
	}
	counts := map[string]int{
		"aws:s3/filesFileSystem:FilesFileSystem":             1,
		"aws:s3/filesMountTarget:FilesMountTarget":           2, // one per zone of the dev VPC
		"aws:s3/filesAccessPoint:FilesAccessPoint":           1,
		"kubernetes:core/v1:PersistentVolume":                1,
		"kubernetes:core/v1:PersistentVolumeClaim":           1,
		"aws:s3/filesFileSystemPolicy:FilesFileSystemPolicy": 1,
	}
	for typ, want := range counts {
		if got := len(res.OfType(typ)); got != want {
			t.Errorf("%d %s, want %d", got, typ, want)
		}
	}
	subnets := map[string]bool{}
	for _, mt := range res.OfType("aws:s3/filesMountTarget:FilesMountTarget") {
		subnets[mt.String("subnetId")] = true
	}
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		if strings.Contains(s.Name, "-private-") && !subnets[render.FakeID(s.Name)] {
			t.Errorf("no mount target in private subnet %s", s.Name)
		}
	}
	rule := res.OfType("aws:ec2/securityGroupRule:SecurityGroupRule")
	if len(rule) != 1 || rule[0].String("sourceSecurityGroupId") != "sg-llm-platform-dev" {
		t.Errorf("NFS rule = %+v: want one, from the EKS cluster security group", rule)
	}
}

func TestDevGateway(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, "dev"))
	for _, typ := range []string{
		"kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "kubernetes:gateway.networking.k8s.io/v1:Gateway",
		"kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "kubernetes:inference.networking.k8s.io/v1:InferencePool",
		"kubernetes:yaml/v2:ConfigFile", "kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute",
		"kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy", "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy",
		"kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "kubernetes:helm.sh/v4:Chart",
	} {
		if len(res.OfType(typ)) == 0 {
			t.Errorf("dev has no %s", typ)
		}
	}
	route := res.OfType("kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute")[0]
	if got := route.String("spec.rules.0.matches.0.headers.0.value"); got != "qwen2.5-7b-instruct" {
		t.Errorf("route matches %q, want the dev model's served name", got)
	}
	if kind, pool := route.String("spec.rules.0.backendRefs.0.kind"), route.String("spec.rules.0.backendRefs.0.name"); kind != "InferencePool" || pool != "qwen25-7b" {
		t.Errorf("route sends to %s %s, want the model's InferencePool", kind, pool)
	}
	// The internal NLB is the default, and dev keeps it.
	proxy := res.OfType("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")[0]
	if v, _ := proxy.Input("spec.provider.kubernetes.envoyService.annotations"); v.(map[string]any)["service.beta.kubernetes.io/aws-load-balancer-internal"] != "true" {
		t.Error("dev load balancer is not internal")
	}
}

// Generated API keys and seeds never reach the render in clear text: the
// mocks generate them as secrets, exactly as pulumi-random does.
func TestGeneratedSecretsNeverRendered(t *testing.T) {
	t.Parallel()
	res := mustRun(t, loadStack(t, "dev"))
	b, err := res.ResourcesJSON()
	if err != nil {
		t.Fatal(err)
	}
	files, err := res.KubernetesFiles()
	if err != nil {
		t.Fatal(err)
	}
	all := string(b)
	for _, f := range files {
		all += string(f)
	}
	if strings.Contains(all, "fake-password-") {
		t.Error("a generated password appears in the render")
	}
}

// Every configured model gets the whole set of workload objects, with no
// name collisions between models.
func TestModelWorkloads(t *testing.T) {
	t.Parallel()
	for name, want := range map[string][]string{"dev": {"qwen25-7b"}, "two-models": {"qwen-awq", "qwen-bf16"}} {
		res := mustRun(t, loadStack(t, stacks[name]))
		for _, typ := range []string{
			"kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
			"kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:keda.sh/v1alpha1:ScaledObject",
			"kubernetes:networking.k8s.io/v1:NetworkPolicy", "llm-platform:models:InferenceService",
		} {
			seen := map[string]bool{}
			for _, r := range res.OfType(typ) {
				if r.Inputs["metadata"] != nil {
					key := r.String("metadata.namespace") + "/" + r.String("metadata.name")
					if seen[key] {
						t.Errorf("%s: two %s named %s", name, typ, key)
					}
					seen[key] = true
				}
			}
			for _, m := range want {
				found := false
				for _, r := range res.OfType(typ) {
					if strings.HasPrefix(r.Name, m) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no %s for model %s", name, typ, m)
				}
			}
		}
	}
	// Adapter names are routed like served names.
	res := mustRun(t, loadStack(t, stacks["two-models"]))
	var served []string
	for _, r := range res.OfType("kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute") {
		rules, _ := r.Input("spec.rules")
		for _, rule := range rules.([]any) {
			h := rule.(map[string]any)["matches"].([]any)[0].(map[string]any)["headers"].([]any)[0].(map[string]any)
			served = append(served, h["value"].(string))
		}
	}
	slices.Sort(served)
	if !slices.Equal(served, []string{"qwen-sql", "qwen2.5-7b-instruct", "qwen2.5-7b-instruct-bf16"}) {
		t.Errorf("routed names %v", served)
	}
}

// Prometheus runs in the kube-prometheus-stack release's namespace, and
// the models' NetworkPolicies admit scrapes by namespace: moving the
// privileged exporters out of it (issue 14, defect 4) must leave that
// namespace the one the vLLM pods accept.
func TestPrometheusMayScrapeVLLM(t *testing.T) {
	t.Parallel()
	for name, stack := range stacks {
		res := mustRun(t, loadStack(t, stack))
		var kps *render.Resource
		for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
			if r.String("name") == "kube-prometheus-stack" {
				kps = &r
			}
		}
		if kps == nil {
			continue
		}
		prometheusNS, checked := kps.String("namespace"), 0
		for _, np := range res.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if np.String("spec.podSelector.matchLabels.llm-platform/component") != "vllm" {
				continue
			}
			checked++
			ingress, _ := np.Input("spec.ingress")
			allowed := false
			for _, rule := range ingress.([]any) {
				from, _ := rule.(map[string]any)["from"].([]any)
				for _, peer := range from {
					sel, _ := peer.(map[string]any)["namespaceSelector"].(map[string]any)
					labels, _ := sel["matchLabels"].(map[string]any)
					if labels["kubernetes.io/metadata.name"] == prometheusNS {
						allowed = true
					}
				}
			}
			if !allowed {
				t.Errorf("%s: NetworkPolicy %s does not admit Prometheus' namespace %s", name, np.Name, prometheusNS)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no vLLM NetworkPolicy found", name)
		}
	}
}

// privilegedNamespaces may enforce the privileged Pod Security level, each
// for a stated reason.
var privilegedNamespaces = map[string]string{
	"monitoring-host": "the DCGM exporter (NVML needs a privileged container on Bottlerocket) and node-exporter (host network, PID and paths)",
}

// Every namespace the program owns is declared (not left to a Helm
// release's createNamespace, which labels nothing) and enforces a Pod
// Security level: restricted or baseline, privileged only where listed.
func TestEveryNamespaceEnforcesPodSecurity(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "two-models"} {
		res := mustRun(t, loadStack(t, stacks[stack]))
		declared := map[string]bool{"kube-system": true}
		for _, ns := range res.OfType("kubernetes:core/v1:Namespace") {
			name := ns.String("metadata.name")
			declared[name] = true
			// The label key has dots, so it is read from the labels map,
			// not through a dotted path.
			labels, _ := ns.Input("metadata.labels")
			m, _ := labels.(map[string]any)
			level, _ := m["pod-security.kubernetes.io/enforce"].(string)
			switch {
			case level == "restricted" || level == "baseline":
			case level == "privileged" && privilegedNamespaces[name] != "":
			default:
				t.Errorf("%s: namespace %s enforces %q", stack, name, level)
			}
		}
		for _, rel := range res.OfType("kubernetes:helm.sh/v3:Release") {
			if rel.Inputs["createNamespace"] == true {
				t.Errorf("%s: release %s creates its namespace %s (unlabelled); declare it", stack, rel.Name, rel.String("namespace"))
			}
			if ns := rel.String("namespace"); !declared[ns] {
				t.Errorf("%s: release %s installs into %s, which the program does not declare", stack, rel.Name, ns)
			}
		}
	}
}
