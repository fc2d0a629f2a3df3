package cost

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/sizing"
	"github.com/llm-platform/llm-platform/versions"
)

// Pool is the platform pool at its expected size: the nodes Karpenter
// needs for the platform's long-running pods (package sizing) at the
// cheapest allowed instance types, and its ceiling at the pool's limits.
type Pool struct {
	// Nodes are the instance types of the expected nodes, cheapest first.
	Nodes []string
	// Requests are the pods' summed requests (DaemonSets excluded).
	Requests sizing.Resources
	// HourlyUSD is the expected nodes' on-demand price per hour.
	HourlyUSD float64
	// CeilingHourlyUSD is the pool at platformNodes.cpuLimit, in the
	// allowed type that costs most per vCPU; CeilingNodes is the most
	// nodes that limit allows (all of the smallest allowed type).
	CeilingHourlyUSD float64
	CeilingNodes     int
}

// daemonSets counts the DaemonSet pods on each platform node (aws-node,
// kube-proxy, the Pod Identity agent and the EFS CSI node plugin; with
// observability the EBS CSI node plugin and the node exporter), which
// take pod slots (Instance.MaxPods) as well as resources.
func daemonSets(observability bool) int {
	if observability {
		return 6
	}
	return 4
}

// packing is n nodes of one instance type.
type packing struct {
	instance string
	n        int
	hourly   float64
	spare    sizing.Resources // what the nodes offer beyond the pods packed
}

// pack finds the cheapest way to run pods (whose largest pod is largest)
// on nodes of one of the types: treating the pods as divisible, it is a
// lower bound on what Karpenter's bin-packing reaches after
// consolidation, exact when every pod is small against a node.
func pack(total sizing.Resources, pods int, largest sizing.Resources, types []string, perNode sizing.Resources, ds int) (packing, bool) {
	best, found := packing{}, false
	for _, t := range types {
		inst, price := Instances[t], InstanceHourly[t]
		cpu, mem := inst.Allocatable()
		cpu, mem = cpu-perNode.CPUMilli, mem-perNode.MemoryMiB
		slots := inst.MaxPods - ds
		if cpu < largest.CPUMilli || mem < largest.MemoryMiB || slots < 1 {
			continue
		}
		n := max(ceilDiv(total.CPUMilli, cpu), ceilDiv(total.MemoryMiB, mem), ceilDiv(pods, slots), 1)
		p := packing{instance: t, n: n, hourly: float64(n) * price,
			spare: sizing.Resources{CPUMilli: n*cpu - total.CPUMilli, MemoryMiB: n*mem - total.MemoryMiB}}
		if !found || p.hourly < best.hourly {
			best, found = p, true
		}
	}
	return best, found
}

func ceilDiv(a, b int) int { return int(math.Ceil(float64(a) / float64(b))) }

// PlatformPool estimates the platform pool of a stack with the LLM layer.
// Pods whose image has no arm64 build (the endpoint pickers) need amd64
// nodes; the rest go where it is cheapest, filling the amd64 nodes' spare
// room first. ok is false when no allowed type has a known price and
// size (the estimate then leaves the pool out and says so).
func PlatformPool(c *config.Config) (Pool, bool) {
	obs := c.ObservabilityLayer()
	tokenLimits := slices.ContainsFunc(c.Clients(), func(cl config.Client) bool { return cl.TokensPerHour > 0 })
	pods := sizing.AlwaysOn(sizing.Platform{
		Models: len(c.Models), TokenLimits: tokenLimits, Observability: obs, Chat: c.ChatLayer(),
		PickerAMD64Only: !versions.PublishesARM64(versions.EndpointPickerImage),
	})
	var all, amdOnly []string
	for _, f := range c.PlatformNodes.InstanceFamilies {
		for _, s := range c.PlatformNodes.InstanceSizes {
			t := f + "." + s
			_, sized := Instances[t]
			_, priced := InstanceHourly[t]
			if sized && priced {
				all = append(all, t)
				if config.Architecture(t) == config.ArchAMD64 {
					amdOnly = append(amdOnly, t)
				}
			}
		}
	}
	var amd, rest, amdLargest, restLargest sizing.Resources
	var amdPods, restPods int
	for _, p := range pods {
		for range p.Replicas {
			if p.AMD64Only {
				amd, amdPods, amdLargest = amd.Plus(p.Resources), amdPods+1, larger(amdLargest, p.Resources)
			} else {
				rest, restPods, restLargest = rest.Plus(p.Resources), restPods+1, larger(restLargest, p.Resources)
			}
		}
	}
	perNode, ds := sizing.PerNode(obs), daemonSets(obs)
	pool := Pool{Requests: amd.Plus(rest)}
	var chosen []packing
	if amdPods == 0 {
		p, ok := pack(rest, restPods, restLargest, all, perNode, ds)
		if !ok {
			return pool, false
		}
		chosen = []packing{p}
	} else {
		// Everything on amd64 nodes, or the amd64-only pods there and the
		// rest filling their spare room, then on the cheapest type.
		together, ok := pack(amd.Plus(rest), amdPods+restPods, larger(amdLargest, restLargest), amdOnly, perNode, ds)
		if !ok {
			return pool, false
		}
		chosen = []packing{together}
		if first, ok := pack(amd, amdPods, amdLargest, amdOnly, perNode, ds); ok {
			left := sizing.Resources{CPUMilli: max(rest.CPUMilli-first.spare.CPUMilli, 0), MemoryMiB: max(rest.MemoryMiB-first.spare.MemoryMiB, 0)}
			split := []packing{first}
			if left.CPUMilli > 0 || left.MemoryMiB > 0 {
				second, ok := pack(left, restPods, restLargest, all, perNode, ds)
				if ok {
					split = append(split, second)
				} else {
					split = nil
				}
			}
			if split != nil && hourly(split) < together.hourly {
				chosen = split
			}
		}
	}
	for _, p := range chosen {
		for range p.n {
			pool.Nodes = append(pool.Nodes, p.instance)
		}
	}
	pool.HourlyUSD = hourly(chosen)
	perVCPU, smallest := 0.0, math.MaxInt
	for _, t := range all {
		perVCPU = max(perVCPU, InstanceHourly[t]/float64(Instances[t].VCPUs))
		smallest = min(smallest, Instances[t].VCPUs)
	}
	pool.CeilingNodes = c.PlatformNodes.CPULimit / smallest
	pool.CeilingHourlyUSD = perVCPU * float64(c.PlatformNodes.CPULimit)
	return pool, true
}

func larger(a, b sizing.Resources) sizing.Resources {
	return sizing.Resources{CPUMilli: max(a.CPUMilli, b.CPUMilli), MemoryMiB: max(a.MemoryMiB, b.MemoryMiB)}
}

func hourly(ps []packing) float64 {
	total := 0.0
	for _, p := range ps {
		total += p.hourly
	}
	return total
}

// describe says which nodes: "m7i.large + 2 x m7g.large".
func (p Pool) describe() string {
	var parts []string
	for i := 0; i < len(p.Nodes); {
		j := i
		for j < len(p.Nodes) && p.Nodes[j] == p.Nodes[i] {
			j++
		}
		if j-i == 1 {
			parts = append(parts, p.Nodes[i])
		} else {
			parts = append(parts, fmt.Sprintf("%d x %s", j-i, p.Nodes[i]))
		}
		i = j
	}
	return strings.Join(parts, " + ")
}
