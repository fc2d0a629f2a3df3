package config

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Config is the whole stack configuration, loaded once by Load (or Parse) and
// passed by value to every component. Fields that drive control flow are plain
// Go values; the only Pulumi value is the optional Hugging Face token, which
// must stay a secret end to end.
type Config struct {
	// Project and Stack name the Pulumi project and stack; they feed resource
	// names that must be stable (cluster name, bucket name).
	Project string
	Stack   string
	// Region is the aws:region of the stack, empty when the provider takes it
	// from the environment.
	Region string

	Network       Network       `json:"network"`
	Cluster       Cluster       `json:"cluster"`
	LLM           LLM           `json:"llm"`
	GPU           GPU           `json:"gpu"`
	PlatformNodes PlatformNodes `json:"platformNodes"`
	Storage       Storage       `json:"storage"`
	Gateway       Gateway       `json:"gateway"`
	Models        []Model       `json:"models"`
	// Providers are the hosted model providers (package providers).
	Providers     []Provider    `json:"providers"`
	Observability Observability `json:"observability"`
	// Chat is the chat front end (package chat).
	Chat Chat `json:"chat"`
	// Tags are applied to every taggable AWS resource (see package tags for
	// the merge order).
	Tags map[string]string `json:"tags"`

	// HuggingFaceToken is the secret key huggingFaceToken (needed only for
	// gated models); valid only when HasHuggingFaceToken is true.
	HuggingFaceToken    pulumi.StringOutput
	HasHuggingFaceToken bool
	// AlertWebhookURL is the secret key alertWebhookUrl, where
	// observability.alerts.receiver sends alerts; valid only when
	// HasAlertWebhookURL is true.
	AlertWebhookURL    pulumi.StringOutput
	HasAlertWebhookURL bool
	// ProviderAPIKeys are the key-based providers' API keys by kind (from
	// their secret keys, ProviderKinds[kind].SecretKey); secrets.
	ProviderAPIKeys map[string]pulumi.StringOutput
	// ChatOIDCClientSecret is the secret key chatOidcClientSecret, valid
	// when Chat.OIDC is set.
	ChatOIDCClientSecret pulumi.StringOutput
	// ChatDatabaseURL is the secret key chatDatabaseUrl, valid only when
	// HasChatDatabaseURL is true.
	ChatDatabaseURL    pulumi.StringOutput
	HasChatDatabaseURL bool
}

// Network configures the VPC.
type Network struct {
	// CIDR of the VPC, /16 to /20: pods take VPC addresses (VPC CNI), so the
	// private subnets must stay large.
	CIDR string `json:"cidr"`
	// AZCount is the number of availability zones, 2 or 3.
	AZCount int `json:"azCount"`
	// AvailabilityZones pins the zone names (exactly AZCount of them); empty
	// means the first AZCount zones the account reports as available. Pin
	// them when some zones lack g6 capacity.
	AvailabilityZones []string `json:"availabilityZones"`
	// NAT is "single" (one gateway, cheapest, one AZ of egress) or "perAz"
	// (one per zone, survives a zone outage).
	NAT string `json:"nat"`
}

// NAT modes.
const (
	NATSingle = "single"
	NATPerAZ  = "perAz"
)

// Cluster configures EKS and its system node group.
type Cluster struct {
	// Name of the EKS cluster; empty means "llm-platform-<stack>". Also the
	// value of the karpenter.sh/discovery tags.
	Name              string `json:"name"`
	KubernetesVersion string `json:"kubernetesVersion"`
	// EndpointPublicAccess keeps the public API endpoint on (restricted to
	// PublicAccessCIDRs); the private endpoint is always on.
	EndpointPublicAccess bool     `json:"endpointPublicAccess"`
	PublicAccessCIDRs    []string `json:"publicAccessCidrs"`
	// AdminRoleARNs get cluster-admin access entries. The principal that
	// runs `pulumi up` must not be listed: EKS gives the cluster's creator
	// admin access itself (pulumi-eks sets bootstrapClusterCreatorAdminPermissions).
	AdminRoleARNs []string `json:"adminRoleArns"`
	// LogTypes are the control-plane log types sent to CloudWatch (off by
	// default: they are billed per GB).
	LogTypes []string `json:"logTypes"`
	// LogRetentionDays is the retention of the control-plane log group
	// /aws/eks/<name>/cluster, which the program creates before the
	// cluster (EKS would create it with no retention, and keep it after
	// the cluster is gone).
	LogRetentionDays int         `json:"logRetentionDays"`
	SystemNodes      SystemNodes `json:"systemNodes"`
}

// SystemNodes sizes the on-demand managed node group that runs only what
// must exist before Karpenter can launch a node: Karpenter itself, CoreDNS
// and the node agents (DaemonSets). Its nodes are tainted
// CriticalAddonsOnly; everything else runs on Karpenter's pools. The
// instance types' architecture (Graviton families are arm64) picks the
// Bottlerocket AMI type.
type SystemNodes struct {
	InstanceTypes []string `json:"instanceTypes"`
	MinSize       int      `json:"minSize"`
	DesiredSize   int      `json:"desiredSize"`
	MaxSize       int      `json:"maxSize"`
	DiskSizeGiB   int      `json:"diskSizeGiB"`
}

// LLM is the opt-in gate for everything beyond VPC + EKS + Karpenter.
type LLM struct {
	Enabled bool `json:"enabled"`
}

// GPU configures the Karpenter GPU pool.
type GPU struct {
	// InstanceFamilies with NVIDIA L4 GPUs: g6 and gr6.
	InstanceFamilies []string `json:"instanceFamilies"`
	// InstanceSizes allowed within those families (xlarge ... 48xlarge).
	InstanceSizes []string `json:"instanceSizes"`
	// CapacityTypes: spot and/or on-demand. With both, Karpenter launches
	// spot and falls back to on-demand when spot has no capacity.
	CapacityTypes []string `json:"capacityTypes"`
	// GPULimit caps the GPUs the pool may run at once (the cost ceiling).
	GPULimit int `json:"gpuLimit"`
	// BottlerocketVersion pins the AMI alias bottlerocket@<version>; "latest"
	// is accepted but rolls every GPU node on each AMI release.
	BottlerocketVersion string `json:"bottlerocketVersion"`
	// DataVolumeGiB sizes the Bottlerocket data volume (container images).
	DataVolumeGiB int `json:"dataVolumeGiB"`
	// InstanceStoreRAID0 puts the local NVMe of g6 instances in RAID0 for
	// ephemeral storage.
	InstanceStoreRAID0 bool `json:"instanceStoreRaid0"`
	// ConsolidateAfter is how long a node must be empty before removal.
	ConsolidateAfter string `json:"consolidateAfter"`
	// ExpireAfter is the maximum node lifetime ("Never" disables it).
	ExpireAfter string `json:"expireAfter"`
	// CreateSpotServiceLinkedRole creates the account's EC2 Spot
	// service-linked role (AWSServiceRoleForEC2Spot), which Karpenter needs
	// to launch spot instances. Only for accounts that never used Spot:
	// creating a role that exists fails. Retained on delete (account-wide).
	CreateSpotServiceLinkedRole bool `json:"createSpotServiceLinkedRole"`
	// SOCIParallelPull switches the GPU nodes' containerd to Bottlerocket's
	// SOCI snapshotter in parallel pull-and-unpack mode (about 5x faster
	// for the vLLM image; package coldstart), on a data volume provisioned
	// with the throughput and IOPS the figure was measured on.
	SOCIParallelPull bool `json:"sociParallelPull"`
	// DataVolumeSnapshotID boots every GPU node's data volume from an EBS
	// snapshot that already holds the vLLM image
	// (scripts/build-data-volume-snapshot.sh), so no pull happens at all.
	// Empty: volumes start empty and the image is pulled.
	DataVolumeSnapshotID string `json:"dataVolumeSnapshotId"`
}

// Storage configures the model bucket.
type Storage struct {
	// BucketPrefix starts the deterministic bucket name
	// <prefix>-<stack>-<region>-<account>.
	BucketPrefix string `json:"bucketPrefix"`
	// Protect marks the bucket protected (pulumi destroy refuses it). The
	// bucket is retained on delete regardless.
	Protect bool `json:"protect"`
	// ImportExisting adopts an existing bucket of that name instead of
	// creating one (after a teardown that kept the data).
	ImportExisting bool `json:"importExisting"`
	// KMSKeyARN switches the bucket to SSE-KMS with that key; empty is SSE-S3.
	KMSKeyARN string `json:"kmsKeyArn"`
	// NoncurrentVersionExpirationDays expires replaced object versions.
	NoncurrentVersionExpirationDays int `json:"noncurrentVersionExpirationDays"`
	// KeepBucket keeps the bucket declared while llm.enabled is false, so
	// switching the layer off deletes compute, gateway and models but
	// neither deletes nor trips over the protected bucket, and switching
	// it back on re-attaches S3 Files to the same weights. Set it false
	// only on a stack that never had the layer and wants no bucket.
	KeepBucket bool `json:"keepBucket"`
}

// Gateway configures the OpenAI-compatible endpoint.
type Gateway struct {
	// LoadBalancer is "internal" (default) or "internet-facing".
	LoadBalancer string `json:"loadBalancer"`
	// SourceCIDRs restrict who may reach the load balancer (empty: anyone
	// who can route to it).
	SourceCIDRs []string `json:"sourceCidrs"`
	// CertificateARN turns on an HTTPS listener with that ACM certificate.
	CertificateARN string `json:"certificateArn"`
	// Clients each get an API key.
	Clients []Client `json:"clients"`
	// OIDC lets clients authenticate with a JWT instead of an API key,
	// on a listener of their own (nil: API keys only).
	OIDC *OIDC `json:"oidc"`
	// Groups give each member of a JWT group a default budget.
	Groups []Group `json:"groups"`
	// BudgetStoreDown is what requests get while the budget counters'
	// store is unreachable: "open" (pass, unmetered) or "closed" (refused).
	BudgetStoreDown string `json:"budgetStoreDown"`
	// QueueTimeoutSeconds is how long a model's endpoint picker holds a
	// request while the model has no ready replica (it is waking from
	// zero) before answering 503: the hold time every scale-to-zero
	// model's estimated wake-up must fit in (package coldstart).
	QueueTimeoutSeconds int `json:"queueTimeoutSeconds"`
}

// Load balancer schemes.
const (
	LoadBalancerInternal       = "internal"
	LoadBalancerInternetFacing = "internet-facing"
)

// Client is one API consumer of the gateway, with an API key.
type Client struct {
	Name string `json:"name"`
	// TokensPerHour, TokensPerDay and TokensPerMonth limit the client's
	// total (input + output) tokens in each window; 0 is no budget.
	TokensPerHour  int `json:"tokensPerHour"`
	TokensPerDay   int `json:"tokensPerDay"`
	TokensPerMonth int `json:"tokensPerMonth"`
	// Mode is "enforce" (default: 429 once a budget is spent) or
	// "observe" (would-be 429s are only counted).
	Mode string `json:"mode"`
}

// Model is one vLLM deployment.
type Model struct {
	// Name is a DNS label used in every Kubernetes name of the model.
	Name string `json:"name"`
	// HFRepo is the Hugging Face repository ("org/name").
	HFRepo string `json:"hfRepo"`
	// Revision pins the repository revision (a commit hash, so a restart
	// never loads different weights).
	Revision string `json:"revision"`
	// ServedName is the OpenAI "model" clients send; defaults to Name.
	ServedName string `json:"servedName"`
	// ParamsBillions is the parameter count, used to check the weights fit.
	ParamsBillions float64 `json:"paramsBillions"`
	// Quantization of the checkpoint ("" for BF16/FP16 weights).
	Quantization         string  `json:"quantization"`
	MaxModelLen          int     `json:"maxModelLen"`
	MaxNumSeqs           int     `json:"maxNumSeqs"`
	GPUMemoryUtilization float64 `json:"gpuMemoryUtilization"`
	// GPUsPerReplica is the tensor-parallel size (1, 2, 4 or 8).
	GPUsPerReplica int `json:"gpusPerReplica"`
	MinReplicas    int `json:"minReplicas"`
	MaxReplicas    int `json:"maxReplicas"`
	// ToolCallParser enables auto tool choice with that vLLM parser.
	ToolCallParser string `json:"toolCallParser"`
	// Image overrides the pinned vLLM image.
	Image        string        `json:"image"`
	LoRAAdapters []LoRAAdapter `json:"loraAdapters"`
	// MaxLoRARank is the largest adapter rank vLLM reserves memory for.
	MaxLoRARank int `json:"maxLoraRank"`
	// TTFTTargetSeconds is the p95 time-to-first-token SLO.
	TTFTTargetSeconds float64 `json:"ttftTargetSeconds"`
	// ImageGB is the compressed size of Image, for the cold-start estimate;
	// 0 means the pinned image's (versions.VLLMImageCompressedGB), and is
	// refused with any other image.
	ImageGB float64 `json:"imageGB"`
	// LoadFormat is how vLLM reads the weights: runai_streamer (the Run:ai
	// Model Streamer, concurrent reads; the default) or safetensors (vLLM's
	// plain loader).
	LoadFormat string `json:"loadFormat"`
	// StreamerConcurrency is the Run:ai Model Streamer's reader threads.
	StreamerConcurrency int `json:"streamerConcurrency"`
	// ScaleToZeroAfter is how long a model with minReplicas 0 must be idle
	// (no request running or queued) before its last replica is removed
	// (KEDA's cooldownPeriod), as a Go duration ("10m").
	ScaleToZeroAfter string `json:"scaleToZeroAfter"`
	// Fallback is the hosted model that serves the model's requests when
	// it cannot: no replica (waking from zero, replaced), a refused
	// connection or a 5xx. Nil: no fallback.
	Fallback *Fallback `json:"fallback"`
	// CompileCache keeps vLLM's torch.compile cache on the model volume,
	// per model, revision and image, so every start after the first loads
	// its compiled graphs instead of compiling again.
	CompileCache bool `json:"compileCache"`
}

// Load formats (vLLM --load-format).
const (
	LoadFormatRunAIStreamer = "runai_streamer"
	LoadFormatSafetensors   = "safetensors"
)

// LoadFormats are the values of models[].loadFormat.
var LoadFormats = []string{LoadFormatRunAIStreamer, LoadFormatSafetensors}

// LoRAAdapter is an adapter served on top of a model under its own name.
type LoRAAdapter struct {
	Name     string `json:"name"`
	HFRepo   string `json:"hfRepo"`
	Revision string `json:"revision"`
}

// Observability configures the metrics stack.
type Observability struct {
	Enabled bool `json:"enabled"`
	// Retention of Prometheus data ("15d").
	Retention string `json:"retention"`
	// StorageGiB sizes the Prometheus gp3 volume.
	StorageGiB int `json:"storageGiB"`
	// ErrorRatioTarget is the SLO error ratio per model (0.01 = 1%).
	ErrorRatioTarget float64 `json:"errorRatioTarget"`
	// Alerts says where Alertmanager sends the alerts.
	Alerts Alerts `json:"alerts"`
}

// Alerts configures Alertmanager's receiver.
type Alerts struct {
	// Receiver is "none" (alerts are only seen in Alertmanager and
	// Prometheus), "webhook" (Alertmanager's webhook JSON is POSTed to the
	// secret alertWebhookUrl) or "slack" (alertWebhookUrl is a Slack
	// incoming-webhook URL).
	Receiver string `json:"receiver"`
}

// Alert receivers.
const (
	AlertReceiverNone    = "none"
	AlertReceiverWebhook = "webhook"
	AlertReceiverSlack   = "slack"
)

// AlertReceivers are the values of observability.alerts.receiver.
var AlertReceivers = []string{AlertReceiverNone, AlertReceiverWebhook, AlertReceiverSlack}

// ServedNames lists the OpenAI model names the model answers to: its own
// served name, then each LoRA adapter.
func (m Model) ServedNames() []string {
	names := []string{m.ServedName}
	for _, a := range m.LoRAAdapters {
		names = append(names, a.Name)
	}
	return names
}

// LLMLayer reports whether the opt-in LLM layer (GPU pool, storage, gateway,
// models, observability) is created.
func (c *Config) LLMLayer() bool { return c.LLM.Enabled }

// ObservabilityLayer reports whether the metrics stack is created.
func (c *Config) ObservabilityLayer() bool { return c.LLM.Enabled && c.Observability.Enabled }
