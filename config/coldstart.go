package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/versions"
)

// NetworkGbps is the burst network bandwidth of each GPU instance type (EC2
// accelerated computing instance specifications, "network bandwidth"; the
// sizes sold as "up to" N Gbps get N while their burst credits last, which
// a node that just booted has).
var NetworkGbps = map[string]map[string]float64{
	"g6": {
		"xlarge": 10, "2xlarge": 10, "4xlarge": 25, "8xlarge": 25, "16xlarge": 25,
		"12xlarge": 40, "24xlarge": 50, "48xlarge": 100,
	},
	"gr6": {"4xlarge": 25, "8xlarge": 25},
}

var snapshotID = regexp.MustCompile(`^snap-([0-9a-f]{8}|[0-9a-f]{17})$`)

// SlowestNetworkGbps is the lowest bandwidth among the allowed instances
// that can hold a replica of gpus GPUs: Karpenter may launch any of them
// (the cheapest, or the one spot has), so the estimate takes the slowest.
func SlowestNetworkGbps(families, sizes []string, gpus int) float64 {
	slowest := 0.0
	for _, f := range families {
		for _, s := range sizes {
			n, ok := GPUsPerInstance[f][s]
			if !ok || n < gpus {
				continue
			}
			if g := NetworkGbps[f][s]; slowest == 0 || g < slowest {
				slowest = g
			}
		}
	}
	return slowest
}

// ImageSizeGB is the compressed size of the model's image.
func (m Model) ImageSizeGB() float64 {
	if m.ImageGB > 0 {
		return m.ImageGB
	}
	return versions.VLLMImageCompressedGB
}

// ColdStartModel is what package coldstart needs to estimate the model's
// cold start with the stack's levers.
func (c *Config) ColdStartModel(m Model) coldstart.Model {
	return coldstart.Model{
		WeightsGiB:  WeightsGiB(m.ParamsBillions, m.Quantization),
		ImageGB:     m.ImageSizeGB(),
		NetworkGbps: SlowestNetworkGbps(c.GPU.InstanceFamilies, c.GPU.InstanceSizes, m.GPUsPerReplica),
		Levers: coldstart.Levers{
			SOCIParallelPull:   c.GPU.SOCIParallelPull,
			DataVolumeSnapshot: c.GPU.DataVolumeSnapshotID != "",
			RunAIStreamer:      m.LoadFormat == LoadFormatRunAIStreamer,
			CompileCache:       m.CompileCache,
		},
	}
}

// ColdStart is the model's cold-start budget.
func (c *Config) ColdStart(m Model) coldstart.Budget {
	return coldstart.Estimate(c.ColdStartModel(m))
}

func (c *Config) validateColdStartLevers(errs *Errors) {
	if q := c.Gateway.QueueTimeoutSeconds; q < 60 || q > coldstart.MaxQueueTimeoutSeconds {
		errs.add("gateway.queueTimeoutSeconds", q, "must be between 60 and %d: the AI Gateway gives up on the endpoint picker after %d s",
			coldstart.MaxQueueTimeoutSeconds, coldstart.ExtProcMessageTimeoutSeconds)
	}
	g := c.GPU
	if g.DataVolumeSnapshotID != "" {
		if !snapshotID.MatchString(g.DataVolumeSnapshotID) {
			errs.add("gpu.dataVolumeSnapshotId", g.DataVolumeSnapshotID, "must be an EBS snapshot id (snap- and 8 or 17 hex digits), or empty")
		}
		// With RAID0, Karpenter's bootstrap binds /var/lib/containerd (and
		// the SOCI snapshotter's state) onto the instance-store array
		// (apiclient ephemeral-storage bind, v1.14.1
		// pkg/providers/amifamily/bootstrap/bottlerocket.go), hiding the
		// image the snapshot put on the EBS data volume.
		if g.InstanceStoreRAID0 {
			errs.add("gpu.dataVolumeSnapshotId", g.DataVolumeSnapshotID, "cannot be used with gpu.instanceStoreRaid0: Bottlerocket moves the image store to the instance-store array, hiding the snapshot's image")
		}
	}
	for i, m := range c.Models {
		key := fmt.Sprintf("models[%d]", i)
		if !slices.Contains(LoadFormats, m.LoadFormat) {
			errs.add(key+".loadFormat", m.LoadFormat, "must be one of %s", strings.Join(LoadFormats, ", "))
		}
		if m.StreamerConcurrency < 1 || m.StreamerConcurrency > 64 {
			errs.add(key+".streamerConcurrency", m.StreamerConcurrency, "must be between 1 and 64")
		}
		if d, err := time.ParseDuration(m.ScaleToZeroAfter); err != nil || d < time.Minute || d > 24*time.Hour {
			errs.add(key+".scaleToZeroAfter", m.ScaleToZeroAfter, "must be a duration between 1m and 24h (like 10m)")
		}
		switch {
		case m.ImageGB < 0 || m.ImageGB > 100:
			errs.add(key+".imageGB", m.ImageGB, "must be the image's compressed size in GB, at most 100")
		case m.ImageGB == 0 && m.Image != versions.VLLMImage:
			errs.add(key+".imageGB", m.ImageGB, "must be set with models[%d].image %s: the cold-start estimate needs the image's compressed size", i, m.Image)
		}
	}
}

// validateWake refuses a model that scales to zero but whose estimated
// wake-up does not fit in the time the gateway holds its first request.
// Models that keep a replica are not held to it: their scale-ups are
// absorbed by the replicas already serving. It runs only on an otherwise
// valid config (the estimate needs valid sizes).
func (c *Config) validateWake(errs *Errors) {
	for i, m := range c.Models {
		// A model with a fallback holds nothing while it wakes: its
		// fallback answers (package providers).
		if m.MinReplicas != 0 || m.Fallback != nil {
			continue
		}
		b := c.ColdStart(m)
		if b.Total() <= coldstart.MaxWakeSeconds(c.Gateway.QueueTimeoutSeconds) {
			continue
		}
		var phases []string
		for _, p := range b.Phases {
			phases = append(phases, fmt.Sprintf("%s %.0f s", p.Name, p.Seconds))
		}
		errs.add(fmt.Sprintf("models[%d].minReplicas", i), m.MinReplicas,
			"model %s would take an estimated %.0f s to wake from zero (%s), more than the %.0f s it may use of the %d s the gateway holds its requests (gateway.queueTimeoutSeconds); "+
				"turn on gpu.sociParallelPull, gpu.dataVolumeSnapshotId, loadFormat runai_streamer and compileCache, raise gateway.queueTimeoutSeconds (at most %d), or keep a replica (minReplicas 1)",
			m.Name, b.Total(), strings.Join(phases, ", "), coldstart.MaxWakeSeconds(c.Gateway.QueueTimeoutSeconds), c.Gateway.QueueTimeoutSeconds, coldstart.MaxQueueTimeoutSeconds)
	}
}

// ScaleToZeroAfterDuration is models[].scaleToZeroAfter, parsed (config
// validation has checked it).
func (m Model) ScaleToZeroAfterDuration() time.Duration {
	d, _ := time.ParseDuration(m.ScaleToZeroAfter)
	return d
}
