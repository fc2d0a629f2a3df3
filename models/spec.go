package models

import (
	"fmt"
	"path"
	"strings"

	"github.com/llm-platform/llm-platform/observability/metrics"
)

// Port is vLLM's OpenAI server port (also /metrics and /health).
const Port = 8000

// MountPath is where the model volume (the S3 Files access point rooted at
// /models) is mounted, in the preload job and in vLLM.
const MountPath = "/models"

// Adapter is a LoRA adapter served on top of a model.
type Adapter struct {
	Name     string
	HFRepo   string
	Revision string
}

// Spec is one model, as the workloads need it.
type Spec struct {
	Name                 string
	HFRepo               string
	Revision             string
	ServedName           string
	Quantization         string
	MaxModelLen          int
	MaxNumSeqs           int
	GPUMemoryUtilization float64
	GPUsPerReplica       int
	MinReplicas          int
	MaxReplicas          int
	ToolCallParser       string
	Image                string
	Adapters             []Adapter
	MaxLoRARank          int
	// LoadFormat is vLLM's --load-format: runai_streamer or safetensors.
	LoadFormat string
	// StreamerConcurrency is the Run:ai Model Streamer's reader threads.
	StreamerConcurrency int
	// CompileCache puts vLLM's cache root on the model volume
	// (CompileCacheDir).
	CompileCache bool
	// ScaleToZeroAfterSeconds is how long a model at minReplicas 0 stays
	// idle before KEDA removes its last replica (cooldownPeriod).
	ScaleToZeroAfterSeconds int
	// WakeOnGatewayRequests adds the gateway's request rate for the
	// served name as a wake-up signal: a model with a hosted fallback is
	// reached directly, not through its endpoint picker, so at zero
	// replicas its requests are served by the fallback and never queue
	// where the picker-queue trigger sees them (package providers).
	WakeOnGatewayRequests bool
	// StartupFailureThreshold is the startup probe's failureThreshold at
	// coldstart.StartupProbePeriodSeconds, from the model's cold-start
	// estimate (coldstart.StartupProbeFailureThreshold).
	StartupFailureThreshold int
}

// Load formats vLLM is started with.
const (
	LoadFormatRunAIStreamer = "runai_streamer"
	LoadFormatSafetensors   = "safetensors"
)

// StreamerMemoryLimitBytes caps the Run:ai Model Streamer's CPU buffer.
// Its default is 40 GB, or the whole checkpoint when smaller
// (runai-model-streamer requests_iterator.py): a 16 GB checkpoint would
// buffer 16 GB inside a pod limited to 14 GiB per GPU. 4 GiB keeps 16
// readers of 2 MiB chunks busy with room to spare.
const StreamerMemoryLimitBytes = 4 << 30

// CompileCacheMountPath is where the model's compile cache directory is
// mounted, read-write, in vLLM; VLLM_CACHE_ROOT points at it.
const CompileCacheMountPath = "/compile-cache"

// CompileCacheDir is the model's compile cache on the volume (relative to
// its root, as a subPath): one directory per model, revision and image.
// vLLM keys its torch.compile cache by a hash of its version, the model
// config and the compilation config (vllm/compilation/backends.py), so a
// shared directory would be safe for reuse; separate directories keep
// replicas of different revisions or images from writing next to each
// other, and make a stale cache a directory to delete.
func (s Spec) CompileCacheDir() string {
	return path.Join(".compile-cache", s.Name, s.Revision, imageKey(s.Image))
}

// imageKey turns an image reference into one path component.
func imageKey(image string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, image)
}

// WeightsDir is where the model's weights live on the volume: one directory
// per revision, so a new revision never overwrites files a running replica
// (or one starting from the old ReplicaSet mid-rollout) reads.
func (s Spec) WeightsDir() string { return path.Join(MountPath, s.Name, s.Revision) }

// AdapterDir is where an adapter's weights live, per revision too.
func AdapterDir(a Adapter) string { return path.Join(MountPath, "loras", a.Name, a.Revision) }

// MarkerFile is written last by the preload job, once the revision is
// complete; vLLM's init container waits for it.
func MarkerFile(dir, revision string) string { return path.Join(dir, ".complete-"+revision) }

// ServedNames are the OpenAI model names the deployment answers to.
func (s Spec) ServedNames() []string {
	names := []string{s.ServedName}
	for _, a := range s.Adapters {
		names = append(names, a.Name)
	}
	return names
}

// VLLMCommand starts vLLM's OpenAI-compatible server.
var VLLMCommand = []string{"vllm", "serve"}

// VLLMArgs builds the vLLM OpenAI server's arguments from the model's
// config. The vllm/vllm-openai image's entrypoint is `vllm serve`, whose
// lasting interface is `vllm serve <model_tag> [options]`: the model is the
// positional argument (recent releases warn that `--model` will be
// removed). The weights are local (the preload job put them on the
// volume), so the model is a path and the served name is set explicitly.
func VLLMArgs(s Spec) []string {
	args := []string{
		s.WeightsDir(),
		"--served-model-name", s.ServedName,
		"--host", "0.0.0.0",
		"--port", fmt.Sprint(Port),
		"--max-model-len", fmt.Sprint(s.MaxModelLen),
		"--max-num-seqs", fmt.Sprint(s.MaxNumSeqs),
		"--gpu-memory-utilization", fmt.Sprint(s.GPUMemoryUtilization),
		"--tensor-parallel-size", fmt.Sprint(s.GPUsPerReplica),
	}
	if s.Quantization != "" {
		args = append(args, "--quantization", s.Quantization)
	}
	args = append(args, "--load-format", s.LoadFormat)
	if s.LoadFormat == LoadFormatRunAIStreamer {
		// vLLM reads the local weights directory with the streamer
		// (runai_streamer_loader.py accepts a local path), which copies
		// concurrency and memory_limit into RUNAI_STREAMER_CONCURRENCY and
		// RUNAI_STREAMER_MEMORY_LIMIT; the streamer ships in the
		// vllm-openai image (docker/Dockerfile, vllm-base stage).
		args = append(args, "--model-loader-extra-config",
			fmt.Sprintf(`{"concurrency":%d,"memory_limit":%d}`, s.StreamerConcurrency, StreamerMemoryLimitBytes))
	}
	if s.ToolCallParser != "" {
		args = append(args, "--enable-auto-tool-choice", "--tool-call-parser", s.ToolCallParser)
	}
	if len(s.Adapters) > 0 {
		// One --lora-modules followed by every name=path: the flag takes
		// nargs='+' and vLLM's LoRAParserAction replaces the list each time
		// the flag repeats (vllm/entrypoints/openai/cli_args.py), so
		// repeating it would serve only the last adapter.
		args = append(args, "--enable-lora", "--lora-modules")
		for _, a := range s.Adapters {
			args = append(args, a.Name+"="+AdapterDir(a))
		}
		args = append(args, "--max-loras", fmt.Sprint(len(s.Adapters)), "--max-lora-rank", fmt.Sprint(s.MaxLoRARank))
	}
	return args
}

// Trigger is one KEDA Prometheus trigger.
type Trigger struct {
	Name       string
	Query      string
	MetricType string // AverageValue or Value
	Threshold  string
	// Activation is the value above which KEDA scales from zero.
	Activation string
}

// RunningRatioThreshold is the share of max-num-seqs in flight per replica
// at which another replica is added: leading (a replica saturates before
// requests queue) and stable (vLLM batches well below its ceiling).
const RunningRatioThreshold = "0.7"

func modelSelector(served string) string { return fmt.Sprintf(`%s=%q`, metrics.VLLMModel, served) }

// QueueThreshold is the requests held in a model's endpoint picker, per
// replica, at which another replica is added.
const QueueThreshold = "2"

// Triggers are the model's autoscaling signals: the leading saturation
// signals read from vLLM, and the requests its endpoint picker holds.
func Triggers(s Spec) []Trigger {
	sel := modelSelector(s.ServedName)
	t := []Trigger{
		{
			// Sum of running sequences over max-num-seqs; as an
			// AverageValue the HPA divides it by the replica count, so
			// each replica is kept near 70% of its batch.
			Name:       "running-ratio",
			Query:      fmt.Sprintf(`sum(vllm:num_requests_running{%s}) / %d`, sel, s.MaxNumSeqs),
			MetricType: "AverageValue",
			Threshold:  RunningRatioThreshold,
		},
		{
			// KV cache pressure precedes preemption and queueing.
			Name:       "kv-cache",
			Query:      fmt.Sprintf(`avg(vllm:kv_cache_usage_perc{%s})`, sel),
			MetricType: "Value",
			Threshold:  "0.8",
		},
		{
			// Backstop: requests already waiting.
			Name:       "waiting",
			Query:      fmt.Sprintf(`sum(vllm:num_requests_waiting{%s})`, sel),
			MetricType: "AverageValue",
			Threshold:  "2",
		},
	}
	// The picker's flow-control queue (one scrape, one poll away: the
	// cold-start budget's signal phase). It is the only signal at zero
	// replicas, where vLLM exposes nothing: a request held while the
	// model has no replica wakes it (activation above 0), and the picker
	// holds it until the replica is ready. Above zero it adds replicas
	// when requests wait at the picker rather than in vLLM; at
	// gateway-api-inference-extension v1.5.0 the picker only queues while
	// the pool has no ready endpoint (its concurrency detector does not
	// see in-flight requests: inference/eppconfig), so there the vLLM
	// signals do the sizing.
	t = append(t, Trigger{
		Name:       "picker-queue",
		Query:      fmt.Sprintf(`sum(inference_extension_flow_control_queue_size{inference_pool=%q})`, s.Name),
		MetricType: "AverageValue",
		Threshold:  QueueThreshold,
		Activation: "0",
	})
	if s.WakeOnGatewayRequests {
		t = append(t, Trigger{
			// Any request for the served name in the last minute wakes
			// the model (activation above 0), while the fallback serves
			// it. The threshold is out of reach, so above zero this
			// trigger never asks for more than one replica: the vLLM
			// signals size the model.
			Name: "gateway-requests",
			Query: fmt.Sprintf(`sum(rate(gen_ai_server_request_duration_seconds_count{%s=%q}[1m]))`,
				metrics.GatewayOriginalModel, s.ServedName),
			MetricType: "AverageValue",
			Threshold:  WakeOnlyThreshold,
			Activation: "0",
		})
	}
	return t
}

// WakeOnlyThreshold is the threshold of a trigger that only wakes a model:
// a request rate per replica no model reaches.
const WakeOnlyThreshold = "1000000"
