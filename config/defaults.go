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
		SystemNodes: SystemNodes{
			InstanceTypes: []string{"m7i.large"},
			MinSize:       2,
			DesiredSize:   2,
			MaxSize:       4,
			DiskSizeGiB:   50,
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
		QueueTimeoutSeconds: coldstart.DefaultQueueTimeoutSeconds,
	}
}

// DefaultObservability is the observability key when the stack does not set it.
func DefaultObservability() Observability {
	return Observability{
		Enabled: true, Retention: "15d", StorageGiB: 50, ErrorRatioTarget: 0.01,
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
