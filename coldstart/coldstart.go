// Package coldstart is the platform's cold-start budget: the seconds from a
// request for a model that has no replica to its first token, phase by
// phase, each figure with its source and the config switch (lever) that
// moves it. The same numbers are printed by `make render`, fill the README
// table (a test compares the two), drive config validation (a model that
// scales to zero must wake within the time the gateway holds a request),
// size vLLM's startup probe, and set the cold-start alert's threshold.
//
// Figures are published measurements where one exists, scaled to the model
// and instance by the stated rate; where none exists the figure is a
// budget and says so, and the recording rules (llm:cold_start_phase_seconds)
// measure it on the first real wake-up.
//
// It has no dependencies, so config, models, gpu and observability can all
// import it.
package coldstart

import (
	"fmt"
	"math"
	"strings"
)

// The hold chain: what bounds how long a request may wait for a model to
// wake, from the client inward. Each link must outlast the next, and the
// innermost, the endpoint picker's queue timeout, is the hold time.
const (
	// NLBIdleTimeoutSeconds is how long the Network Load Balancer keeps a
	// flow with no packets: 350 s, fixed on TLS listeners (Elastic Load
	// Balancing user guide, "Network Load Balancers", connection idle
	// timeout); the in-tree cloud provider cannot change it on TCP ones.
	NLBIdleTimeoutSeconds = 350
	// StreamIdleTimeoutSeconds is Envoy's stream idle timeout (the
	// gateway's ClientTrafficPolicy): it ends a request that has sent no
	// byte either way for this long, with an error the client sees, before
	// the NLB silently drops the flow. A held request sends no byte.
	StreamIdleTimeoutSeconds = 330
	// ExtProcMessageTimeoutSeconds is how long Envoy waits for the
	// endpoint picker to answer one message of a request: the AI Gateway
	// v1.0.0 sets 300 s on the picker's ext_proc filter
	// (internal/extensionserver/inferencepool.go), and a request held in
	// the picker's queue is an unanswered message.
	ExtProcMessageTimeoutSeconds = 300
	// MaxQueueTimeoutSeconds is the longest queue timeout
	// (gateway.queueTimeoutSeconds) accepted: 10 s under the ext_proc
	// timeout, so the picker answers (with its own 503, "request timed out
	// in queue") before Envoy gives up on it.
	MaxQueueTimeoutSeconds = ExtProcMessageTimeoutSeconds - 10
	// DefaultQueueTimeoutSeconds is gateway.queueTimeoutSeconds' default:
	// the endpoint picker's flow-control request TTL.
	DefaultQueueTimeoutSeconds = 280
	// HoldHeadroom is the share of the hold time a wake-up may use: the
	// figures below are estimates, and a budget that fits only exactly
	// fails the first time a phase runs 20% slow.
	HoldHeadroom = 0.8
)

// MaxWakeSeconds is the longest estimated wake-up config validation
// accepts for a model that scales to zero, when the endpoint picker holds
// a request for queueTimeout seconds.
func MaxWakeSeconds(queueTimeout int) float64 {
	return math.Floor(float64(queueTimeout) * HoldHeadroom)
}

// The wake-up signal: how long after a request arrives KEDA decides to
// scale a model up (package models' ScaledObject and package
// observability's scrape interval use these values).
const (
	// ScrapeIntervalSeconds is how often Prometheus scrapes the series the
	// wake-up trigger reads.
	ScrapeIntervalSeconds = 15
	// KEDAPollingSeconds is the ScaledObject's pollingInterval: how often
	// KEDA evaluates the triggers while a model is at zero (KEDA itself
	// scales 0 -> 1; the HPA takes over above one replica).
	KEDAPollingSeconds = 15
)

// Image pull rates, from AWS's Karpenter blueprint for the SOCI snapshotter
// (aws-samples/karpenter-blueprints, blueprints/soci-snapshotter/README.md):
// the vLLM Deep Learning Container, 9,354,342,327 bytes, pulled on
// instances with more than 8 Gbps of EBS and network bandwidth onto a gp3
// data volume of 1,000 MiB/s and 16,000 IOPS.
const (
	imageBlueprintGB = 9.354342327
	// containerd's default pull (3 layers at a time, unpacked one by one):
	// 2m10.813s.
	containerdPullGBps = imageBlueprintGB / 130.813
	// Bottlerocket with SOCI in parallel-pull-unpack mode: 23.229s.
	sociPullGBps = imageBlueprintGB / 23.229

	// DataVolumeThroughputMiBps and DataVolumeIOPS are the data volume the
	// SOCI figure was measured on; the GPU pool provisions the same when
	// parallel pull is on (layers are buffered on disk while they unpack).
	DataVolumeThroughputMiBps = 1000
	DataVolumeIOPS            = 16000
)

// Image from a prebuilt data-volume snapshot (gpu.dataVolumeSnapshotId).
const (
	// cachedImageStartSeconds: a 9.5 GB image already on the node's data
	// volume starts its container in under 5 s, against 334 s pulled
	// (aws-ia/terraform-aws-eks-blueprints, patterns/ml-container-cache/
	// README.md).
	cachedImageStartSeconds = 5
	// VolumeInitializationMiBps is the rate at which EBS fetches the
	// snapshot's blocks into a new volume (EC2NodeClass
	// volumeInitializationRate, 100-300 MiB/s; EBS user guide, "provisioned
	// rate for volume initialization"). Blocks read before they arrive are
	// fetched on demand, so the files vLLM opens at start cost their size
	// at this rate. Fast Snapshot Restore would remove it, at $0.75 per
	// snapshot-AZ-hour ($548 a month per zone): not used.
	VolumeInitializationMiBps = 300
	// startupReadGiB is what vLLM reads from the image before it serves:
	// Python, PyTorch and the CUDA libraries it loads (the torch and
	// nvidia-* wheels of a CUDA 12 build, about 6 GiB installed). An upper
	// bound, not a measurement: llm:cold_start_phase_seconds{phase="image"}
	// measures it.
	startupReadGiB = 6.0
)

// Weight loading, from the Run:ai Model Streamer benchmarks
// (run-ai/runai-model-streamer docs/src/benchmarks.md, tag 0.15.9):
// Llama-3-8B, 15 GB in one safetensors file, on a g5.12xlarge, cold caches.
const (
	benchmarkWeightsGB = 15
	// Hugging Face's safetensors loader: 47.99 s from gp3 (and 47 s from
	// io2 at 4,000 MiB/s: the loader, not the storage, is the limit).
	safetensorsGBps = benchmarkWeightsGB / 47.99
	// The streamer at concurrency 16 from S3 in the same region: 8.45 s.
	// S3 Files streams reads of 128 KiB and more from S3 and allows 3 GiB/s
	// per client (S3 user guide, "S3 Files performance specifications").
	streamerGBps = benchmarkWeightsGB / 8.45
	// s3FilesClientGBps is S3 Files' per-client read limit, 3 GiB/s.
	s3FilesClientGBps = 3 * 1.073741824
)

// Engine start, after the weights are on the GPU.
const (
	// engineBaseSeconds is the Run:ai benchmark's "vLLM ready" minus its
	// time to GPU with the streamer (35.08 s - 14.34 s): imports, memory
	// profiling, KV cache allocation and CUDA graph capture, which vLLM
	// redoes on every start (vllm/v1/worker/gpu_model_runner.py: "usually
	// takes 5~20 seconds").
	engineBaseSeconds = 35.08 - 14.34
	// compileColdSeconds is torch.compile with an empty cache for an 8B
	// model: Dynamo 4.60 s + Inductor 14.77 s (vllm-project/vllm#11005).
	compileColdSeconds = 19.37
	// compileWarmSeconds is torch.compile with the graph loaded from
	// vLLM's cache: 7.51 s (vllm-project/vllm#20264).
	compileWarmSeconds = 7.51
)

// Node launch and readiness.
const (
	// NodeLaunchSeconds is a budget, not a published figure: Karpenter
	// closes a batch of pending pods after 1 s without new ones (10 s at
	// most; BATCH_IDLE_DURATION / BATCH_MAX_DURATION, v1.14 settings), a
	// CPU node registers 39 s after launch (awslabs/amazon-eks-ami#1099),
	// and a GPU instance boots slower and registers its GPUs through the
	// device plugin. Measured by llm:cold_start_phase_seconds{phase="node"}
	// and karpenter_pods_provisioning_startup_duration_seconds.
	NodeLaunchSeconds = 60
	// StartupProbePeriodSeconds is the startup probe's period: short,
	// because every period is time a woken model's held requests wait
	// after vLLM is up, and /health is a constant answer. Once it passes,
	// the readiness probe (period ReadinessPeriodSeconds) marks the pod
	// ready.
	StartupProbePeriodSeconds = 2
	ReadinessPeriodSeconds    = 5
	// endpointSeconds: the ready pod reaches the gateway's endpoints and
	// the held request gets its first token (a prefill of one prompt).
	endpointSeconds = 2
)

// Levers are the config switches that shorten a cold start.
type Levers struct {
	// SOCIParallelPull is gpu.sociParallelPull: Bottlerocket's SOCI
	// snapshotter pulls and unpacks layers in parallel.
	SOCIParallelPull bool
	// DataVolumeSnapshot is gpu.dataVolumeSnapshotId: GPU nodes boot with
	// the image already on their data volume.
	DataVolumeSnapshot bool
	// RunAIStreamer is models[].loadFormat runai_streamer.
	RunAIStreamer bool
	// CompileCache is models[].compileCache: torch.compile artifacts on the
	// shared volume, per model, revision and image.
	CompileCache bool
}

// AllLevers has every lever on.
var AllLevers = Levers{SOCIParallelPull: true, DataVolumeSnapshot: true, RunAIStreamer: true, CompileCache: true}

// Model is what the estimate needs to know about one model.
type Model struct {
	// WeightsGiB is the checkpoint size (config.WeightsGiB).
	WeightsGiB float64
	// ImageGB is the compressed size of the vLLM image.
	ImageGB float64
	// NetworkGbps is the burst network bandwidth of the slowest instance
	// the GPU pool may launch for the model.
	NetworkGbps float64
	Levers
}

// Phase is one step of a cold start.
type Phase struct {
	// Name is also the phase label of the recording rules.
	Name    string
	Seconds float64
	// Lever is the config key that moves it ("" when none does).
	Lever  string
	Source string
}

// Phase names.
const (
	PhaseSignal  = "signal"
	PhaseNode    = "node"
	PhaseImage   = "image"
	PhaseWeights = "weights"
	PhaseEngine  = "engine"
	PhaseReady   = "ready"
)

// Budget is a model's cold start, phase by phase.
type Budget struct{ Phases []Phase }

// Total is the wake-up, from the request's arrival to its first token.
func (b Budget) Total() float64 { return b.sum(nil) }

// FromPodCreated is the part after KEDA creates the pod, from a new GPU
// node to the first token: what the cold-start recording rule measures
// (pod created -> ready) and the alert compares with.
func (b Budget) FromPodCreated() float64 {
	return b.sum(func(p Phase) bool { return p.Name != PhaseSignal })
}

// InContainer is the part after the vLLM container starts (weights and
// engine): what the startup probe waits for.
func (b Budget) InContainer() float64 {
	return b.sum(func(p Phase) bool { return p.Name == PhaseWeights || p.Name == PhaseEngine })
}

// Seconds returns one phase's figure.
func (b Budget) Seconds(name string) float64 {
	return b.sum(func(p Phase) bool { return p.Name == name })
}

func (b Budget) sum(keep func(Phase) bool) float64 {
	t := 0.0
	for _, p := range b.Phases {
		if keep == nil || keep(p) {
			t += p.Seconds
		}
	}
	return round1(t)
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// gbps converts a network bandwidth in Gbit/s to GB/s.
func gbps(g float64) float64 { return g / 8 }

// Estimate is the cold start of one model with its levers.
func Estimate(m Model) Budget {
	var b Budget
	add := func(name string, s float64, lever, source string) {
		b.Phases = append(b.Phases, Phase{Name: name, Seconds: round1(s), Lever: lever, Source: source})
	}
	add(PhaseSignal, ScrapeIntervalSeconds+KEDAPollingSeconds, "",
		fmt.Sprintf("worst case: one scrape of the endpoint picker's queue (%d s) and one KEDA poll (%d s) after the request is queued", ScrapeIntervalSeconds, KEDAPollingSeconds))
	add(PhaseNode, NodeLaunchSeconds, "",
		"budget: Karpenter batch (1-10 s) + a CPU node's 39 s to register (awslabs/amazon-eks-ami#1099) + GPU boot and device plugin")

	switch {
	case m.DataVolumeSnapshot:
		read := startupReadGiB * 1024 / VolumeInitializationMiBps
		add(PhaseImage, cachedImageStartSeconds+read, "gpu.dataVolumeSnapshotId",
			fmt.Sprintf("image on the snapshot: %d s to start (EKS blueprints ml-container-cache) + %.0f GiB of libraries read at the %d MiB/s volume initialization rate",
				cachedImageStartSeconds, startupReadGiB, VolumeInitializationMiBps))
	case m.SOCIParallelPull:
		add(PhaseImage, m.ImageGB/sociPullGBps, "gpu.sociParallelPull",
			fmt.Sprintf("%.1f GB at %.0f MB/s: Bottlerocket SOCI parallel pull (karpenter-blueprints soci-snapshotter: 9.35 GB in 23.2 s)", m.ImageGB, sociPullGBps*1000))
	default:
		add(PhaseImage, m.ImageGB/containerdPullGBps, "gpu.sociParallelPull",
			fmt.Sprintf("%.1f GB at %.0f MB/s: containerd's default pull (karpenter-blueprints soci-snapshotter: 9.35 GB in 130.8 s)", m.ImageGB, containerdPullGBps*1000))
	}

	weightsGB := m.WeightsGiB * 1.073741824
	if m.RunAIStreamer {
		rate, limit := streamerGBps, "Run:ai streamer, concurrency 16: 15 GB in 8.45 s"
		if net := gbps(m.NetworkGbps); net < rate {
			rate, limit = net, fmt.Sprintf("the instance's %.0f Gbps network", m.NetworkGbps)
		}
		if s3FilesClientGBps < rate {
			rate, limit = s3FilesClientGBps, "S3 Files' 3 GiB/s per client"
		}
		add(PhaseWeights, weightsGB/rate, "models[].loadFormat",
			fmt.Sprintf("%.1f GB at %.2f GB/s (%s; runai-model-streamer benchmarks)", weightsGB, rate, limit))
	} else {
		add(PhaseWeights, weightsGB/safetensorsGBps, "models[].loadFormat",
			fmt.Sprintf("%.1f GB at %.2f GB/s: the safetensors loader (15 GB in 48 s; runai-model-streamer benchmarks)", weightsGB, safetensorsGBps))
	}

	if m.CompileCache {
		add(PhaseEngine, engineBaseSeconds+compileWarmSeconds, "models[].compileCache",
			fmt.Sprintf("%.1f s start and CUDA graphs (runai-model-streamer benchmarks) + %.2f s torch.compile from cache (vllm#20264)", engineBaseSeconds, compileWarmSeconds))
	} else {
		add(PhaseEngine, engineBaseSeconds+compileColdSeconds, "models[].compileCache",
			fmt.Sprintf("%.1f s start and CUDA graphs (runai-model-streamer benchmarks) + %.2f s torch.compile, cold (vllm#11005)", engineBaseSeconds, compileColdSeconds))
	}
	add(PhaseReady, StartupProbePeriodSeconds+ReadinessPeriodSeconds+endpointSeconds, "",
		fmt.Sprintf("startup probe (%d s) then readiness probe (%d s) periods, worst case, + %d s to endpoints and first token", StartupProbePeriodSeconds, ReadinessPeriodSeconds, endpointSeconds))
	return b
}

// ColdCache is the model's estimate on its very first start: no compile
// cache yet, whatever the levers. The startup probe must allow it.
func ColdCache(m Model) Budget {
	m.CompileCache = false
	return Estimate(m)
}

// StartupProbeFactor is how many times its estimated in-container start a
// vLLM container gets before the startup probe declares it hung: a restart
// costs that whole start again, so the probe is generous, but bounded, so
// a hung engine is restarted in minutes rather than half an hour.
const StartupProbeFactor = 4

// StartupProbeFailureThreshold is the startup probe's failureThreshold at
// StartupProbePeriodSeconds: StartupProbeFactor times the in-container part
// of the model's cold-cache estimate, rounded up to whole minutes.
func StartupProbeFailureThreshold(m Model) int {
	seconds := math.Ceil(StartupProbeFactor*ColdCache(m).InContainer()/60) * 60
	return int(seconds) / StartupProbePeriodSeconds
}

// Table is the budget as a Markdown table: phase, seconds, lever, source,
// against the hold time of a queueTimeout-second queue.
func Table(b Budget, queueTimeout int) string {
	var s strings.Builder
	s.WriteString("| Phase | Seconds | Lever | Source |\n|---|---:|---|---|\n")
	for _, p := range b.Phases {
		lever := p.Lever
		if lever == "" {
			lever = "-"
		} else {
			lever = "`" + lever + "`"
		}
		fmt.Fprintf(&s, "| %s | %.1f | %s | %s |\n", p.Name, p.Seconds, lever, p.Source)
	}
	fmt.Fprintf(&s, "| **request to first token** | **%.1f** | | held up to %d s (gateway.queueTimeoutSeconds), %.0f%% of it: %.0f s |\n",
		b.Total(), queueTimeout, HoldHeadroom*100, MaxWakeSeconds(queueTimeout))
	fmt.Fprintf(&s, "| new GPU node to first token | %.1f | | pod created to first token |\n", b.FromPodCreated())
	return s.String()
}
