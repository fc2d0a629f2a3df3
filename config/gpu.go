package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// GPUsPerInstance is the number of NVIDIA L4 GPUs of each instance type the
// GPU pool may launch (EC2 accelerated computing instance specifications:
// g6 and gr6). Sizes missing from a family do not exist.
var GPUsPerInstance = map[string]map[string]int{
	"g6": {
		"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
		"12xlarge": 4, "24xlarge": 4, "48xlarge": 8,
	},
	"gr6": {"4xlarge": 1, "8xlarge": 1},
}

// L4UsableGiB is the memory one L4 offers to CUDA (24 GB nominal, about
// 22.3 GiB usable after the driver and ECC).
const L4UsableGiB = 22.3

// RuntimeReserveGiB is what vLLM needs per GPU beyond the weights before a
// single sequence fits: activations, CUDA graphs and a minimal KV cache.
const RuntimeReserveGiB = 2.0

// BytesPerParam estimates the size of one parameter in a checkpoint of
// each quantization. 4-bit formats carry group scales and zero points, and
// keep embeddings in 16 bits, hence more than 0.5; compressed-tensors is
// taken as 8-bit, its most common use, to stay on the safe side.
func BytesPerParam(quantization string) float64 {
	switch quantization {
	case "":
		return 2 // BF16 / FP16
	case "fp8", "compressed-tensors":
		return 1
	default: // awq, awq_marlin, gptq, gptq_marlin, bitsandbytes (4-bit)
		return 0.56
	}
}

// WeightsGiB estimates the weights of a model, in GiB.
func WeightsGiB(paramsBillions float64, quantization string) float64 {
	return paramsBillions * 1e9 * BytesPerParam(quantization) / (1 << 30)
}

// WeightsFit reports whether the weights, split over gpus by tensor
// parallelism, leave room on each L4 for vLLM's runtime within the share of
// memory gpuMemoryUtilization lets vLLM take. It is a coarse estimate: it
// refuses what plainly cannot load, not what would merely run short of KV
// cache.
func WeightsFit(paramsBillions float64, quantization string, gpus int, gpuMemoryUtilization float64) (need, have float64, ok bool) {
	need = WeightsGiB(paramsBillions, quantization) / float64(gpus)
	have = gpuMemoryUtilization*L4UsableGiB - RuntimeReserveGiB
	return need, have, need <= have
}

// MaxGPUsPerInstance is the most GPUs any allowed family x size offers.
func MaxGPUsPerInstance(families, sizes []string) int {
	most := 0
	for _, f := range families {
		for _, s := range sizes {
			most = max(most, GPUsPerInstance[f][s])
		}
	}
	return most
}

// validateGPUFit is the config guard for models against the GPU pool:
// a replica must fit on one allowed instance, its weights on its GPUs, and
// the replicas within the pool's GPU limit.
func (c *Config) validateGPUFit(errs *Errors) {
	g := c.GPU
	for i, size := range g.InstanceSizes {
		offered := false
		for _, f := range g.InstanceFamilies {
			if _, ok := GPUsPerInstance[f][size]; ok {
				offered = true
			}
		}
		if !offered && slices.ContainsFunc(g.InstanceFamilies, func(f string) bool { return GPUsPerInstance[f] != nil }) {
			errs.add(fmt.Sprintf("gpu.instanceSizes[%d]", i), size, "no family in gpu.instanceFamilies (%s) comes in this size", strings.Join(g.InstanceFamilies, ", "))
		}
	}
	most := MaxGPUsPerInstance(g.InstanceFamilies, g.InstanceSizes)
	minGPUs := 0
	for i, m := range c.Models {
		key := fmt.Sprintf("models[%d]", i)
		if !slices.Contains(TensorParallelSizes, m.GPUsPerReplica) || m.ParamsBillions <= 0 {
			continue // reported by validateModels
		}
		if most > 0 && m.GPUsPerReplica > most {
			errs.add(key+".gpusPerReplica", m.GPUsPerReplica,
				"no allowed instance has that many GPUs: the largest of gpu.instanceFamilies x gpu.instanceSizes has %d (g6.12xlarge has 4, g6.48xlarge 8)", most)
		}
		if m.MaxReplicas*m.GPUsPerReplica > g.GPULimit {
			errs.add(key+".maxReplicas", m.MaxReplicas,
				"%d replicas x %d GPUs exceeds gpu.gpuLimit (%d): the last replicas could never be scheduled", m.MaxReplicas, m.GPUsPerReplica, g.GPULimit)
		}
		if m.GPUMemoryUtilization > 0 {
			if need, have, ok := WeightsFit(m.ParamsBillions, m.Quantization, m.GPUsPerReplica, m.GPUMemoryUtilization); !ok {
				errs.add(key+".paramsBillions", m.ParamsBillions,
					"weights of about %.1f GiB per GPU (%s) do not fit the %.1f GiB vLLM can use on an L4 at gpuMemoryUtilization %.2f; use a quantized checkpoint or more gpusPerReplica",
					need, quantLabel(m.Quantization), math.Max(have, 0), m.GPUMemoryUtilization)
			}
		}
		minGPUs += m.MinReplicas * m.GPUsPerReplica
	}
	if minGPUs > g.GPULimit {
		errs.add("gpu.gpuLimit", g.GPULimit, "the models' minimum replicas need %d GPUs together", minGPUs)
	}
}

func quantLabel(q string) string {
	if q == "" {
		return "16-bit"
	}
	return q
}
