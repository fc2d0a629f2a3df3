package config

import (
	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/versions"
)

// Defaults for every key. Pulumi.yaml declares the same values as the
// project-level config defaults; a test keeps the two in step.

// DefaultNetwork is the network key when the stack does not set it.
func DefaultNetwork() Network {
	// Two zones would be cheaper, but three keep the system node group and
	// the mount targets available through a zone outage; one NAT gateway is
	// the cost trade-off (perAz for production).
	return Network{CIDR: "10.0.0.0/16", AZCount: 3, AvailabilityZones: []string{}, NAT: NATSingle}
}

// DefaultCluster is the cluster key when the stack does not set it.
func DefaultCluster() Cluster {
	return Cluster{
		Name:              "",
		KubernetesVersion: versions.KubernetesVersion,
		// pulumi up talks to the API server from wherever it runs (a laptop
		// or a CI runner), so the public endpoint is on by default, but its
		// allowlist has no default: a stack states who may reach it (a
		// world-open endpoint only when the stack file says 0.0.0.0/0).
		EndpointPublicAccess: true,
		PublicAccessCIDRs:    []string{},
		AdminRoleARNs:        []string{},
		LogTypes:             []string{},
		LogRetentionDays:     30,
		// The smallest Graviton instance that holds Karpenter, CoreDNS and
		// the node agents with headroom (README, "What runs where"): 2
		// vCPUs, 4 GiB and 17 pods each. t4g.small's 2 GiB and 11 pods
		// leave no room for Karpenter's memory to grow with the cluster;
		// m7g.medium allows 8 pods, fewer than the agents and controllers
		// of one node. Burstable is fine here: these pods idle far below
		// the 20% per vCPU baseline. Two, one per zone, for Karpenter's
		// two replicas; the group never needs to grow, as nothing else
		// lands on it.
		SystemNodes: SystemNodes{
			InstanceTypes: []string{"t4g.medium"},
			MinSize:       2,
			DesiredSize:   2,
			MaxSize:       3,
			// Bottlerocket's default data volume: the images of a few
			// controllers and agents.
			DiskSizeGiB: 20,
		},
	}
}

// DefaultGPU is the gpu key when the stack does not set it.
func DefaultGPU() GPU {
	return GPU{
		InstanceFamilies:    []string{"g6"},
		InstanceSizes:       []string{"xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge"},
		CapacityTypes:       []string{CapacitySpot, CapacityOnDemand},
		GPULimit:            4,
		BottlerocketVersion: versions.Bottlerocket,
		// The vLLM image is about 10 GB compressed and twice that unpacked;
		// containerd keeps both during a pull.
		DataVolumeGiB:      100,
		InstanceStoreRAID0: false,
		ConsolidateAfter:   "10m",
		ExpireAfter:        "720h",
		// Most accounts have the role already; creating it again fails.
		CreateSpotServiceLinkedRole: false,
		SOCIParallelPull:            true,
		DataVolumeSnapshotID:        "",
	}
}

// DefaultPlatformNodes is the platformNodes key when the stack does not set it.
func DefaultPlatformNodes() PlatformNodes {
	return PlatformNodes{
		// General-purpose Graviton (Graviton3 and 4): every platform image
		// but one publishes arm64 (versions.PlatformImages), and Graviton
		// costs about 20% less than the x86 instance of the same size. The
		// endpoint picker's image is amd64 only, so one x86 family is
		// allowed for the pickers (pinned to amd64); Karpenter fills the
		// rest of that node with whatever fits.
		InstanceFamilies: []string{"m7g", "m8g", "m7i"},
		// From 2 vCPU / 8 GiB (29 pods) up: medium allows 8 pods, which the
		// node agents nearly fill.
		InstanceSizes: []string{"large", "xlarge", "2xlarge"},
		// On-demand: the gateway and the endpoint pickers hold requests;
		// a spot reclaim would fail the ones in flight.
		CapacityTypes: []string{CapacityOnDemand},
		// Room for the platform at several times its idle size; the
		// ceiling on what a runaway (or a mistake) can cost.
		CPULimit:         16,
		MemoryLimitGiB:   64,
		ConsolidateAfter: "10m",
		ExpireAfter:      "720h",
		DataVolumeGiB:    20,
	}
}

// DefaultStorage is the storage key when the stack does not set it.
func DefaultStorage() Storage {
	return Storage{
		BucketPrefix:                    "llm-models",
		Protect:                         true,
		ImportExisting:                  false,
		KMSKeyARN:                       "",
		NoncurrentVersionExpirationDays: 30,
		KeepBucket:                      true,
	}
}

// DefaultGateway is the gateway key when the stack does not set it.
func DefaultGateway() Gateway {
	return Gateway{
		LoadBalancer: LoadBalancerInternal, SourceCIDRs: []string{}, CertificateARN: "", Clients: []Client{},
		Groups: []Group{}, BudgetStoreDown: StoreDownOpen,
		QueueTimeoutSeconds: coldstart.DefaultQueueTimeoutSeconds,
	}
}

// DefaultObservability is the observability key when the stack does not set it.
func DefaultObservability() Observability {
	return Observability{
		// 35 days: the usage and cost view covers a month.
		Enabled: true, Retention: "35d", StorageGiB: 50, ErrorRatioTarget: 0.01,
		// No receiver until the stack names one and sets its URL secret.
		Alerts: Alerts{Receiver: AlertReceiverNone},
	}
}

// DefaultModel holds the per-model defaults; Name, HFRepo, Revision and
// ParamsBillions have none.
func DefaultModel() Model {
	return Model{
		MaxModelLen:          8192,
		MaxNumSeqs:           16,
		GPUMemoryUtilization: 0.90,
		GPUsPerReplica:       1,
		MinReplicas:          1,
		MaxReplicas:          2,
		Image:                versions.VLLMImage,
		LoRAAdapters:         []LoRAAdapter{},
		MaxLoRARank:          16,
		TTFTTargetSeconds:    2,
		ImageGB:              0,
		LoadFormat:           LoadFormatRunAIStreamer,
		StreamerConcurrency:  16,
		CompileCache:         true,
		ScaleToZeroAfter:     "10m",
	}
}

// DefaultClusterName is the cluster name when cluster.name is empty.
func DefaultClusterName(stack string) string { return "llm-platform-" + stack }
