package config

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/llm-platform/llm-platform/versions"
)

// PlatformNodes configures the Karpenter pool the platform services run on
// (everything of the LLM layer that is not a model replica): the gateway's
// data and control planes, the AI Gateway controller, KEDA, the metrics
// stack, the counter store and the endpoint pickers. It exists only with
// the LLM layer.
type PlatformNodes struct {
	// InstanceFamilies the pool may launch; their architecture (Graviton
	// families are arm64) sets the pool's kubernetes.io/arch requirement.
	InstanceFamilies []string `json:"instanceFamilies"`
	// InstanceSizes allowed within those families.
	InstanceSizes []string `json:"instanceSizes"`
	// CapacityTypes: on-demand by default; with spot, Karpenter launches
	// spot and falls back to on-demand.
	CapacityTypes []string `json:"capacityTypes"`
	// CPULimit and MemoryLimitGiB cap what the pool may run at once (its
	// cost ceiling).
	CPULimit       int `json:"cpuLimit"`
	MemoryLimitGiB int `json:"memoryLimitGiB"`
	// ConsolidateAfter is how long a node must be empty or underutilized
	// before Karpenter removes or replaces it.
	ConsolidateAfter string `json:"consolidateAfter"`
	// ExpireAfter is the maximum node lifetime ("Never" disables it).
	ExpireAfter string `json:"expireAfter"`
	// DataVolumeGiB sizes the Bottlerocket data volume (images, logs).
	DataVolumeGiB int `json:"dataVolumeGiB"`
}

// Architectures, as Kubernetes names them (kubernetes.io/arch).
const (
	ArchARM64 = "arm64"
	ArchAMD64 = "amd64"
)

// graviton matches the EC2 families of AWS Graviton processors: a
// processor-family letter after the generation (m7g, c6gn, r8gd, t4g,
// im4gn, x2gd). a1 is the first Graviton, before the naming rule.
var graviton = regexp.MustCompile(`^[a-z]+[0-9]+g[a-z]*$`)

// Architecture is the CPU architecture of an EC2 instance family or
// instance type ("m7g" or "m7g.large" -> arm64, "m7i" -> amd64).
func Architecture(familyOrType string) string {
	family := familyOrType
	if m := instanceType.FindStringSubmatch(familyOrType); m != nil {
		family = m[1]
	}
	if family == "a1" || graviton.MatchString(family) {
		return ArchARM64
	}
	return ArchAMD64
}

// Architectures are the distinct architectures of the given families or
// instance types, sorted.
func Architectures(familiesOrTypes []string) []string {
	var out []string
	for _, f := range familiesOrTypes {
		if a := Architecture(f); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

var (
	instanceFamily = regexp.MustCompile(`^[a-z][a-z0-9-]*[0-9][a-z0-9-]*$`)
	instanceSize   = regexp.MustCompile(`^(nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal(-[0-9]+xl)?)$`)
)

func (c *Config) validatePlatformNodes(errs *Errors) {
	p := c.PlatformNodes
	if len(p.InstanceFamilies) == 0 {
		errs.add("platformNodes.instanceFamilies", p.InstanceFamilies, "must list at least one instance family (like m7g)")
	}
	checkUnique(errs, "platformNodes.instanceFamilies", p.InstanceFamilies)
	for i, f := range p.InstanceFamilies {
		key := fmt.Sprintf("platformNodes.instanceFamilies[%d]", i)
		switch {
		case !instanceFamily.MatchString(f):
			errs.add(key, f, "not an EC2 instance family (like m7g)")
		case acceleratedFam.MatchString(f):
			errs.add(key, f, "platform services need no GPU or accelerator; the GPU pool is configured under gpu")
		case f[0] == 't':
			// Karpenter packs a node full; a burstable node at full
			// requests runs past its CPU baseline and is billed surplus
			// credits (or throttled) all the time.
			errs.add(key, f, "burstable families are refused for a pool Karpenter packs full; use general-purpose families (m7g, m8g)")
		}
	}
	// The endpoint pickers run on this pool (with the LLM layer), pinned
	// to an architecture their image is built for.
	if c.LLMLayer() && !versions.PublishesARM64(versions.EndpointPickerImage) && !slices.Contains(Architectures(p.InstanceFamilies), ArchAMD64) {
		errs.add("platformNodes.instanceFamilies", p.InstanceFamilies,
			"lists no amd64 family, but the endpoint picker image %s is published for amd64 only: add one (like m7i)", versions.EndpointPickerImage)
	}
	if len(p.InstanceSizes) == 0 {
		errs.add("platformNodes.instanceSizes", p.InstanceSizes, "must list at least one size")
	}
	checkUnique(errs, "platformNodes.instanceSizes", p.InstanceSizes)
	for i, s := range p.InstanceSizes {
		if !instanceSize.MatchString(s) {
			errs.add(fmt.Sprintf("platformNodes.instanceSizes[%d]", i), s, "not an instance size (like large or 2xlarge)")
		}
	}
	checkSubset(errs, "platformNodes.capacityTypes", p.CapacityTypes, CapacityTypes)
	if p.CPULimit < 2 || p.CPULimit > 1000 {
		errs.add("platformNodes.cpuLimit", p.CPULimit, "must be between 2 and 1000 vCPUs")
	}
	if p.MemoryLimitGiB < 4 || p.MemoryLimitGiB > 4000 {
		errs.add("platformNodes.memoryLimitGiB", p.MemoryLimitGiB, "must be between 4 and 4000")
	}
	if !karpenterDur.MatchString(p.ConsolidateAfter) {
		errs.add("platformNodes.consolidateAfter", p.ConsolidateAfter, "must be a duration in s, m and h (like 10m)")
	}
	if p.ExpireAfter != "Never" && !karpenterDur.MatchString(p.ExpireAfter) {
		errs.add("platformNodes.expireAfter", p.ExpireAfter, "must be a duration in s, m and h (like 720h), or \"Never\"")
	}
	if p.DataVolumeGiB < 20 || p.DataVolumeGiB > 1000 {
		errs.add("platformNodes.dataVolumeGiB", p.DataVolumeGiB, "must be between 20 and 1000")
	}
}
