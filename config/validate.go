package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/llm-platform/llm-platform/versions"
)

// Allowed values. Each list is what the components downstream know how to
// build; anything else would fail late, inside AWS or the cluster.
var (
	// LogTypes are the EKS control-plane log types.
	LogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}
	// LogRetentionDays are the retentions CloudWatch Logs accepts
	// (PutRetentionPolicy, retentionInDays).
	LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	// GPUFamilies are the EC2 families with NVIDIA L4 GPUs.
	GPUFamilies = []string{"g6", "gr6"}
	// CapacityTypes are Karpenter's capacity types for this pool.
	CapacityTypes = []string{CapacitySpot, CapacityOnDemand}
	// Quantizations are the vLLM --quantization values for checkpoints that
	// run on an L4 (Ada, compute capability 8.9).
	Quantizations = []string{"awq", "awq_marlin", "gptq", "gptq_marlin", "fp8", "compressed-tensors", "bitsandbytes"}
	// ToolCallParsers are vLLM --tool-call-parser values.
	ToolCallParsers = []string{
		"hermes", "llama3_json", "llama4_json", "mistral", "pythonic", "granite", "internlm",
		"jamba", "qwen3_coder", "qwen3_xml", "deepseek_v3", "deepseek_v31", "openai", "phi4_mini_json",
	}
	// LoRARanks are the values vLLM accepts for --max-lora-rank.
	LoRARanks = []int{1, 8, 16, 32, 64, 128, 256, 320, 512}
	// TensorParallelSizes are the GPU counts a replica may span (within one
	// instance: g6 has 1, 4 or 8 GPUs).
	TensorParallelSizes = []int{1, 2, 4, 8}
)

// Capacity types.
const (
	CapacitySpot     = "spot"
	CapacityOnDemand = "on-demand"
)

var (
	dnsLabel        = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	clusterName     = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]*$`)
	k8sVersion      = regexp.MustCompile(`^1\.[0-9]+$`)
	azName          = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$`)
	roleARN         = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	kmsARN          = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[\w/-]+$`)
	acmARN          = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$`)
	instanceType    = regexp.MustCompile(`^([a-z][a-z0-9-]*)\.([a-z0-9]+)$`)
	acceleratedFam  = regexp.MustCompile(`^(g[0-9]|gr[0-9]|p[0-9]|inf[0-9]|trn[0-9]|dl[0-9])`)
	gpuSize         = regexp.MustCompile(`^(xlarge|[0-9]+xlarge)$`)
	semver          = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	karpenterDur    = regexp.MustCompile(`^([0-9]+(s|m|h))+$`)
	promDuration    = regexp.MustCompile(`^[0-9]+(ms|s|m|h|d|w|y)$`)
	bucketPrefix    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*[a-z0-9]$`)
	hfRepo          = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitHash      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	servedName      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
	imageRef        = regexp.MustCompile(`^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	tagChars        = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	reservedTagPref = []string{"aws:", "kubernetes.io/", "karpenter.sh/", "karpenter.k8s.aws/", "eks:"}
)

// Limits on names that feed derived AWS names (IAM roles allow 64
// characters, S3 buckets 63).
const (
	maxClusterName = 40
	maxModelName   = 40
	maxTags        = 40
	// longestRegion is the length assumed for the bucket name when the stack
	// does not set aws:region ("ap-southeast-5").
	longestRegion = 14
)

// BucketName is the deterministic model bucket name for a stack: the same
// prefix, stack, region and account always give the same name, so a bucket
// kept after a teardown can be found and adopted again.
func BucketName(prefix, stack, region, account string) string {
	s := strings.ToLower(stack)
	s = strings.NewReplacer("_", "-", ".", "-").Replace(s)
	return fmt.Sprintf("%s-%s-%s-%s", prefix, s, region, account)
}

func (c *Config) validate(setSecrets map[string]bool) Errors {
	var errs Errors
	c.validateNetwork(&errs)
	c.validateCluster(&errs)
	c.validateGPU(&errs)
	c.validatePlatformNodes(&errs)
	c.validateStorage(&errs)
	c.validateGateway(&errs)
	c.validateIdentity(&errs)
	c.validateChat(&errs, setSecrets)
	served := c.validateModels(&errs)
	c.validateProviders(&errs, setSecrets, served)
	c.validateGPUFit(&errs)
	c.validateAutoscaling(&errs)
	c.validateColdStartLevers(&errs)
	c.validateObservability(&errs)
	c.validateTags(&errs)
	if len(errs) == 0 {
		c.validateWake(&errs)
	}
	return errs
}

func (c *Config) validateNetwork(errs *Errors) {
	n := c.Network
	p, err := netip.ParsePrefix(n.CIDR)
	switch {
	case err != nil:
		errs.add("network.cidr", n.CIDR, "not an IPv4 CIDR: %v", err)
	case !p.Addr().Is4():
		errs.add("network.cidr", n.CIDR, "must be an IPv4 CIDR")
	case p.Masked() != p:
		errs.add("network.cidr", n.CIDR, "has host bits set; did you mean %s?", p.Masked())
	case p.Bits() < 16 || p.Bits() > 20:
		errs.add("network.cidr", n.CIDR, "prefix must be /16 to /20 (pods take VPC addresses)")
	case !isPrivate(p):
		errs.add("network.cidr", n.CIDR, "must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
	}
	if n.AZCount < 2 || n.AZCount > 3 {
		errs.add("network.azCount", n.AZCount, "must be 2 or 3")
	}
	if len(n.AvailabilityZones) > 0 && len(n.AvailabilityZones) != n.AZCount {
		errs.add("network.availabilityZones", n.AvailabilityZones, "must list exactly azCount (%d) zones, or none", n.AZCount)
	}
	seen := map[string]bool{}
	for i, az := range n.AvailabilityZones {
		key := fmt.Sprintf("network.availabilityZones[%d]", i)
		switch {
		case !azName.MatchString(az):
			errs.add(key, az, "not an availability zone name (like us-east-1a)")
		case c.Region != "" && !strings.HasPrefix(az, c.Region) || c.Region != "" && len(az) != len(c.Region)+1:
			errs.add(key, az, "not a zone of region %s", c.Region)
		case seen[az]:
			errs.add(key, az, "listed twice")
		}
		seen[az] = true
	}
	if n.NAT != NATSingle && n.NAT != NATPerAZ {
		errs.add("network.nat", n.NAT, "must be %q or %q", NATSingle, NATPerAZ)
	}
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if netip.MustParsePrefix(r).Contains(p.Addr()) && netip.MustParsePrefix(r).Bits() <= p.Bits() {
			return true
		}
	}
	return false
}

func (c *Config) validateCluster(errs *Errors) {
	cl := c.Cluster
	if !clusterName.MatchString(cl.Name) || len(cl.Name) > maxClusterName {
		errs.add("cluster.name", cl.Name, "must start with a letter or digit, contain only letters, digits, - and _, and be at most %d characters", maxClusterName)
	}
	if !k8sVersion.MatchString(cl.KubernetesVersion) || !slices.Contains(versions.SupportedKubernetesVersions, cl.KubernetesVersion) {
		errs.add("cluster.kubernetesVersion", cl.KubernetesVersion, "must be one of %s (the versions EKS, Karpenter and Envoy AI Gateway all support)",
			strings.Join(versions.SupportedKubernetesVersions, ", "))
	}
	if cl.EndpointPublicAccess && len(cl.PublicAccessCIDRs) == 0 {
		errs.add("cluster.publicAccessCidrs", cl.PublicAccessCIDRs,
			"must list who may reach the public API endpoint while endpointPublicAccess is true: "+
				"your address as <ip>/32 (curl -s https://checkip.amazonaws.com), your CI runners' ranges, "+
				"or [\"0.0.0.0/0\"] to open it to the world on purpose; or set endpointPublicAccess: false "+
				"and run Pulumi from inside the VPC")
	}
	for i, cidr := range cl.PublicAccessCIDRs {
		if p, err := netip.ParsePrefix(cidr); err != nil || !p.Addr().Is4() || p.Masked() != p {
			errs.add(fmt.Sprintf("cluster.publicAccessCidrs[%d]", i), cidr, "not an IPv4 network CIDR")
		}
	}
	checkUnique(errs, "cluster.adminRoleArns", cl.AdminRoleARNs)
	for i, arn := range cl.AdminRoleARNs {
		if !roleARN.MatchString(arn) {
			errs.add(fmt.Sprintf("cluster.adminRoleArns[%d]", i), arn, "not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
		}
	}
	if !slices.Contains(LogRetentionDays, cl.LogRetentionDays) {
		errs.add("cluster.logRetentionDays", cl.LogRetentionDays, "must be a CloudWatch Logs retention: %s", joinInts(LogRetentionDays))
	}
	checkUnique(errs, "cluster.logTypes", cl.LogTypes)
	for i, lt := range cl.LogTypes {
		if !slices.Contains(LogTypes, lt) {
			errs.add(fmt.Sprintf("cluster.logTypes[%d]", i), lt, "must be one of %s", strings.Join(LogTypes, ", "))
		}
	}
	sn := cl.SystemNodes
	if len(sn.InstanceTypes) == 0 {
		errs.add("cluster.systemNodes.instanceTypes", sn.InstanceTypes, "must list at least one instance type")
	}
	checkUnique(errs, "cluster.systemNodes.instanceTypes", sn.InstanceTypes)
	for i, it := range sn.InstanceTypes {
		key := fmt.Sprintf("cluster.systemNodes.instanceTypes[%d]", i)
		if !instanceType.MatchString(it) {
			errs.add(key, it, "not an EC2 instance type (like m7i.large)")
		} else if acceleratedFam.MatchString(it) {
			errs.add(key, it, "system nodes must not be GPU or accelerator instances; the GPU pool is Karpenter's")
		}
	}
	// One managed node group runs one AMI type, x86_64 or arm64.
	if archs := Architectures(sn.InstanceTypes); len(archs) > 1 {
		errs.add("cluster.systemNodes.instanceTypes", sn.InstanceTypes, "mixes architectures (%s): a managed node group runs one AMI type", strings.Join(archs, " and "))
	}
	// Two nodes in two zones keep Karpenter's two replicas and the gateway up
	// through a node or zone loss.
	if sn.MinSize < 2 {
		errs.add("cluster.systemNodes.minSize", sn.MinSize, "must be at least 2 (controllers run two replicas across zones)")
	}
	if sn.MaxSize < sn.MinSize {
		errs.add("cluster.systemNodes.maxSize", sn.MaxSize, "must be at least minSize (%d)", sn.MinSize)
	}
	if sn.DesiredSize < sn.MinSize || sn.DesiredSize > sn.MaxSize {
		errs.add("cluster.systemNodes.desiredSize", sn.DesiredSize, "must be between minSize (%d) and maxSize (%d)", sn.MinSize, sn.MaxSize)
	}
	if sn.DiskSizeGiB < 20 || sn.DiskSizeGiB > 1000 {
		errs.add("cluster.systemNodes.diskSizeGiB", sn.DiskSizeGiB, "must be between 20 and 1000")
	}
}

func (c *Config) validateGPU(errs *Errors) {
	g := c.GPU
	checkSubset(errs, "gpu.instanceFamilies", g.InstanceFamilies, GPUFamilies)
	checkUnique(errs, "gpu.instanceSizes", g.InstanceSizes)
	if len(g.InstanceSizes) == 0 {
		errs.add("gpu.instanceSizes", g.InstanceSizes, "must list at least one size")
	}
	for i, s := range g.InstanceSizes {
		if !gpuSize.MatchString(s) {
			errs.add(fmt.Sprintf("gpu.instanceSizes[%d]", i), s, "not an instance size (like xlarge or 12xlarge)")
		}
	}
	checkSubset(errs, "gpu.capacityTypes", g.CapacityTypes, CapacityTypes)
	if g.CreateSpotServiceLinkedRole && !slices.Contains(g.CapacityTypes, CapacitySpot) {
		errs.add("gpu.createSpotServiceLinkedRole", g.CreateSpotServiceLinkedRole, "is only for spot: gpu.capacityTypes has no spot")
	}
	if g.GPULimit < 1 || g.GPULimit > 256 {
		errs.add("gpu.gpuLimit", g.GPULimit, "must be between 1 and 256")
	}
	if g.BottlerocketVersion != "latest" && !semver.MatchString(g.BottlerocketVersion) {
		errs.add("gpu.bottlerocketVersion", g.BottlerocketVersion, "must be a release version like %s, or \"latest\"", versions.Bottlerocket)
	}
	if g.DataVolumeGiB < 40 || g.DataVolumeGiB > 2000 {
		errs.add("gpu.dataVolumeGiB", g.DataVolumeGiB, "must be between 40 and 2000 (the vLLM image alone needs about 30)")
	}
	if !karpenterDur.MatchString(g.ConsolidateAfter) {
		errs.add("gpu.consolidateAfter", g.ConsolidateAfter, "must be a duration in s, m and h (like 10m)")
	}
	if g.ExpireAfter != "Never" && !karpenterDur.MatchString(g.ExpireAfter) {
		errs.add("gpu.expireAfter", g.ExpireAfter, "must be a duration in s, m and h (like 720h), or \"Never\"")
	}
}

func (c *Config) validateStorage(errs *Errors) {
	s := c.Storage
	region := len(c.Region)
	if region == 0 {
		region = longestRegion
	}
	if !bucketPrefix.MatchString(s.BucketPrefix) {
		errs.add("storage.bucketPrefix", s.BucketPrefix, "must be lowercase letters, digits and hyphens, starting and ending with a letter or digit")
	} else if n := len(BucketName(s.BucketPrefix, c.Stack, strings.Repeat("r", region), "123456789012")); n > 63 {
		errs.add("storage.bucketPrefix", s.BucketPrefix, "the bucket name <prefix>-<stack>-<region>-<account> would be %d characters; S3 allows 63", n)
	}
	if s.KMSKeyARN != "" && !kmsARN.MatchString(s.KMSKeyARN) {
		errs.add("storage.kmsKeyArn", s.KMSKeyARN, "not a KMS key or alias ARN")
	}
	if s.NoncurrentVersionExpirationDays < 1 || s.NoncurrentVersionExpirationDays > 3650 {
		errs.add("storage.noncurrentVersionExpirationDays", s.NoncurrentVersionExpirationDays, "must be between 1 and 3650")
	}
}

func (c *Config) validateGateway(errs *Errors) {
	g := c.Gateway
	if g.LoadBalancer != LoadBalancerInternal && g.LoadBalancer != LoadBalancerInternetFacing {
		errs.add("gateway.loadBalancer", g.LoadBalancer, "must be %q or %q", LoadBalancerInternal, LoadBalancerInternetFacing)
	}
	// With no loadBalancerSourceRanges, the in-tree cloud provider opens the
	// nodes' NodePorts to 0.0.0.0/0 for an internet-facing NLB: the world
	// must be asked for by name.
	if c.LLMLayer() && g.LoadBalancer == LoadBalancerInternetFacing && len(g.SourceCIDRs) == 0 {
		errs.add("gateway.sourceCidrs", g.SourceCIDRs, "must list who may reach an internet-facing load balancer "+
			"(the cloud provider opens the nodes' ports to every source otherwise); [\"0.0.0.0/0\"] opens it to the world on purpose")
	}
	for i, cidr := range g.SourceCIDRs {
		if p, err := netip.ParsePrefix(cidr); err != nil || p.Masked() != p {
			errs.add(fmt.Sprintf("gateway.sourceCidrs[%d]", i), cidr, "not a network CIDR")
		}
	}
	if g.CertificateARN != "" && !acmARN.MatchString(g.CertificateARN) {
		errs.add("gateway.certificateArn", g.CertificateARN, "not an ACM certificate ARN")
	}
	if c.LLM.Enabled && len(g.Clients) == 0 {
		errs.add("gateway.clients", g.Clients, "must list at least one client when llm.enabled is true: every request needs an API key")
	}
	seen := map[string]bool{}
	for i, cl := range g.Clients {
		key := fmt.Sprintf("gateway.clients[%d]", i)
		if !dnsLabel.MatchString(cl.Name) || len(cl.Name) > 63 {
			errs.add(key+".name", cl.Name, "must be a DNS label (lowercase letters, digits and -, at most 63)")
		} else if seen[cl.Name] {
			errs.add(key+".name", cl.Name, "duplicate client name")
		}
		seen[cl.Name] = true
		checkBudgets(errs, key, cl.TokensPerHour, cl.TokensPerDay, cl.TokensPerMonth, cl.Mode)
	}
}

// validateModels checks the models and returns every served name (the
// models' and their adapters') with the key that claims it.
func (c *Config) validateModels(errs *Errors) map[string]string {
	names := map[string]bool{}
	served := map[string]string{}
	claim := func(key, name, owner string) {
		if prev, ok := served[name]; ok {
			errs.add(key, name, "served name already used by %s", prev)
			return
		}
		served[name] = owner
	}
	for i, m := range c.Models {
		key := fmt.Sprintf("models[%d]", i)
		if !dnsLabel.MatchString(m.Name) || len(m.Name) > maxModelName {
			errs.add(key+".name", m.Name, "must be a DNS label of at most %d characters (lowercase letters, digits and -)", maxModelName)
		} else if names[m.Name] {
			errs.add(key+".name", m.Name, "duplicate model name")
		}
		names[m.Name] = true
		checkRepo(errs, key, m.HFRepo, m.Revision)
		if !servedName.MatchString(m.ServedName) || len(m.ServedName) > 128 {
			errs.add(key+".servedName", m.ServedName, "must be letters, digits and . _ : / - (at most 128)")
		} else {
			claim(key+".servedName", m.ServedName, key)
		}
		if m.ParamsBillions <= 0 || m.ParamsBillions > 1000 {
			errs.add(key+".paramsBillions", m.ParamsBillions, "must be the parameter count in billions (like 7.6)")
		}
		if m.Quantization != "" && !slices.Contains(Quantizations, m.Quantization) {
			errs.add(key+".quantization", m.Quantization, "must be empty or one of %s", strings.Join(Quantizations, ", "))
		}
		if m.MaxModelLen < 128 || m.MaxModelLen > 1048576 {
			errs.add(key+".maxModelLen", m.MaxModelLen, "must be between 128 and 1048576 tokens")
		}
		if m.MaxNumSeqs < 1 || m.MaxNumSeqs > 1024 {
			errs.add(key+".maxNumSeqs", m.MaxNumSeqs, "must be between 1 and 1024")
		}
		if m.GPUMemoryUtilization < 0.5 || m.GPUMemoryUtilization > 0.95 {
			errs.add(key+".gpuMemoryUtilization", m.GPUMemoryUtilization, "must be between 0.5 and 0.95")
		}
		if !slices.Contains(TensorParallelSizes, m.GPUsPerReplica) {
			errs.add(key+".gpusPerReplica", m.GPUsPerReplica, "must be 1, 2, 4 or 8")
		} else if m.GPUsPerReplica > c.GPU.GPULimit {
			errs.add(key+".gpusPerReplica", m.GPUsPerReplica, "exceeds gpu.gpuLimit (%d): no replica could ever start", c.GPU.GPULimit)
		}
		if m.MinReplicas < 0 {
			errs.add(key+".minReplicas", m.MinReplicas, "must not be negative")
		}
		if m.MaxReplicas < 1 || m.MaxReplicas > 100 {
			errs.add(key+".maxReplicas", m.MaxReplicas, "must be between 1 and 100")
		} else if m.MinReplicas > m.MaxReplicas {
			errs.add(key+".minReplicas", m.MinReplicas, "must not exceed maxReplicas (%d)", m.MaxReplicas)
		}
		if m.ToolCallParser != "" && !slices.Contains(ToolCallParsers, m.ToolCallParser) {
			errs.add(key+".toolCallParser", m.ToolCallParser, "must be empty or one of %s", strings.Join(ToolCallParsers, ", "))
		}
		if !imageRef.MatchString(m.Image) || !strings.ContainsAny(m.Image, ":@") || strings.HasSuffix(m.Image, ":latest") {
			errs.add(key+".image", m.Image, "must be an image reference pinned to a tag or digest (not latest)")
		}
		if !slices.Contains(LoRARanks, m.MaxLoRARank) {
			errs.add(key+".maxLoraRank", m.MaxLoRARank, "must be one of %v", LoRARanks)
		}
		if m.TTFTTargetSeconds <= 0 || m.TTFTTargetSeconds > 120 {
			errs.add(key+".ttftTargetSeconds", m.TTFTTargetSeconds, "must be between 0 and 120 seconds")
		}
		for j, a := range m.LoRAAdapters {
			akey := fmt.Sprintf("%s.loraAdapters[%d]", key, j)
			if !dnsLabel.MatchString(a.Name) || len(a.Name) > 63 {
				errs.add(akey+".name", a.Name, "must be a DNS label (it is a served name and a directory)")
			} else {
				claim(akey+".name", a.Name, akey)
			}
			checkRepo(errs, akey, a.HFRepo, a.Revision)
		}
	}
	return served
}

// checkRepo checks a Hugging Face repository and its revision. Only a commit
// hash pins the weights: a branch moves, and the preload marker is keyed by
// revision, so "main" would never download again after the first time.
func checkRepo(errs *Errors, key, repo, revision string) {
	if !hfRepo.MatchString(repo) {
		errs.add(key+".hfRepo", repo, "must be a Hugging Face repository like org/name")
	}
	if !commitHash.MatchString(revision) {
		errs.add(key+".revision", revision, "must be a 40-character commit hash of the repository")
	}
}

func (c *Config) validateObservability(errs *Errors) {
	o := c.Observability
	if !promDuration.MatchString(o.Retention) {
		errs.add("observability.retention", o.Retention, "must be a Prometheus duration like 15d")
	}
	if o.StorageGiB < 10 || o.StorageGiB > 16384 {
		errs.add("observability.storageGiB", o.StorageGiB, "must be between 10 and 16384")
	}
	if o.ErrorRatioTarget <= 0 || o.ErrorRatioTarget > 0.5 {
		errs.add("observability.errorRatioTarget", o.ErrorRatioTarget, "must be above 0 and at most 0.5")
	}
	// The URL is a secret (it carries a token): it is checked for
	// presence only, and never shown.
	switch r := o.Alerts.Receiver; {
	case !slices.Contains(AlertReceivers, r):
		errs.add("observability.alerts.receiver", r, "must be one of %s", strings.Join(AlertReceivers, ", "))
	case r != AlertReceiverNone && !c.HasAlertWebhookURL:
		errs.add("observability.alerts.receiver", r,
			"sends alerts to the URL in the secret %[1]s, which is not set: pulumi config set --secret %[1]s <url> "+
				"(a Slack incoming-webhook URL for slack), or set the receiver to %[2]q", AlertWebhookURLKey, AlertReceiverNone)
	case r == AlertReceiverNone && c.HasAlertWebhookURL:
		errs.add(AlertWebhookURLKey, hidden{},
			"is set, but observability.alerts.receiver is %q, so nothing would use it: set the receiver to %s or %s, "+
				"or pulumi config rm %s", r, AlertReceiverWebhook, AlertReceiverSlack, AlertWebhookURLKey)
	}
}

func (c *Config) validateTags(errs *Errors) {
	if len(c.Tags) > maxTags {
		errs.add("tags", len(c.Tags), "at most %d tags (AWS allows 50 per resource; the platform adds its own)", maxTags)
	}
	for _, k := range sortedKeys(c.Tags) {
		v := c.Tags[k]
		key := "tags." + k
		switch {
		case k == "" || len(k) > 128 || !tagChars.MatchString(k):
			errs.add(key, k, "tag keys are 1 to 128 letters, digits, spaces and _ . : / = + - @")
		case hasAnyPrefix(strings.ToLower(k), reservedTagPref):
			errs.add(key, k, "reserved prefix (%s): the platform sets these tags itself", strings.Join(reservedTagPref, " "))
		case len(v) > 256 || !tagChars.MatchString(v):
			errs.add(key, v, "tag values are at most 256 letters, digits, spaces and _ . : / = + - @")
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func checkUnique(errs *Errors, key string, values []string) {
	seen := map[string]bool{}
	for i, v := range values {
		if seen[v] {
			errs.add(fmt.Sprintf("%s[%d]", key, i), v, "listed twice")
		}
		seen[v] = true
	}
}

func checkSubset(errs *Errors, key string, values, allowed []string) {
	if len(values) == 0 {
		errs.add(key, values, "must list at least one of %s", strings.Join(allowed, ", "))
	}
	checkUnique(errs, key, values)
	for i, v := range values {
		if !slices.Contains(allowed, v) {
			errs.add(fmt.Sprintf("%s[%d]", key, i), v, "must be one of %s", strings.Join(allowed, ", "))
		}
	}
}

// validateAutoscaling: KEDA reads vLLM's metrics from the metrics stack, so
// a model that autoscales needs it.
func (c *Config) validateAutoscaling(errs *Errors) {
	if !c.LLM.Enabled || c.Observability.Enabled {
		return
	}
	for i, m := range c.Models {
		if m.MinReplicas != m.MaxReplicas {
			errs.add("observability.enabled", false,
				"models[%d] (%s) autoscales between %d and %d replicas, which needs the metrics stack; enable it or set minReplicas equal to maxReplicas",
				i, m.Name, m.MinReplicas, m.MaxReplicas)
		}
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
