// Package cost estimates what a stack costs per month from its config and
// the resources the program declares for it, with the price table in
// prices.go. It is a planning aid, not a bill: traffic, spot discounts and
// services without a listed price are left out and said so.
package cost

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/config"
)

// Line is one cost item, per month, at minimum (idle) and maximum scale.
type Line struct {
	Item      string
	IdleUSD   float64
	MaxUSD    float64
	Reasoning string
}

// Estimate is a stack's monthly cost.
type Estimate struct {
	Lines   []Line
	IdleUSD float64
	MaxUSD  float64
	// Notes list what is not priced.
	Notes []string
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

// Monthly estimates a stack's monthly cost. Idle is every model at its
// minimum replicas, max at its maximum; GPU nodes are priced on demand (the
// ceiling: spot is usually cheaper but varies) as the cheapest allowed
// instance with enough GPUs, one replica per node.
func Monthly(c *config.Config) Estimate {
	e := Estimate{}
	add := func(item string, idle, max float64, why string) {
		e.Lines = append(e.Lines, Line{Item: item, IdleUSD: round(idle), MaxUSD: round(max), Reasoning: why})
	}
	add("EKS control plane", EKSControlPlaneHourly*HoursPerMonth, EKSControlPlaneHourly*HoursPerMonth, "standard support")

	nats := 1
	if c.Network.NAT == config.NATPerAZ {
		nats = c.Network.AZCount
	}
	natCost := float64(nats) * NATGatewayHourly * HoursPerMonth
	add("NAT gateways", natCost, natCost, fmt.Sprintf("%d x $%.3f/h, before data processing", nats, NATGatewayHourly))
	// Each NAT gateway holds an Elastic IP, billed as a public IPv4 address.
	eipCost := float64(nats) * PublicIPv4Hourly * HoursPerMonth
	add("NAT Elastic IPs", eipCost, eipCost, fmt.Sprintf("%d x $%.3f/h public IPv4", nats, PublicIPv4Hourly))

	sn := c.Cluster.SystemNodes
	if price, ok := InstanceHourly[sn.InstanceTypes[0]]; ok {
		idle := float64(sn.DesiredSize) * price * HoursPerMonth
		max := float64(sn.MaxSize) * price * HoursPerMonth
		add("System nodes", idle, max, fmt.Sprintf("%d to %d x %s", sn.DesiredSize, sn.MaxSize, sn.InstanceTypes[0]))
	} else {
		e.Notes = append(e.Notes, fmt.Sprintf("no price for system instance type %s", sn.InstanceTypes[0]))
	}
	if strings.HasPrefix(sn.InstanceTypes[0], "t") {
		e.Notes = append(e.Notes, fmt.Sprintf("%s system nodes are burstable (unlimited mode, the default): CPU above the baseline, averaged over 24 h, is billed as surplus credits and is not priced", sn.InstanceTypes[0]))
	}
	volume := float64(4+sn.DiskSizeGiB) * GP3PerGiBMonth
	add("System node volumes", float64(sn.DesiredSize)*volume, float64(sn.MaxSize)*volume, fmt.Sprintf("%d GiB gp3 each", 4+sn.DiskSizeGiB))

	if len(c.Cluster.LogTypes) > 0 {
		e.Notes = append(e.Notes, "control-plane logs are billed by CloudWatch Logs per GB ingested and stored, and are not priced")
	}
	if c.LLMLayer() {
		if pool, ok := PlatformPool(c); ok {
			add("Platform pool (Karpenter)", pool.HourlyUSD*HoursPerMonth, pool.CeilingHourlyUSD*HoursPerMonth,
				fmt.Sprintf("%s for %.1f vCPU / %.1f GiB of platform requests; max at platformNodes.cpuLimit %d vCPUs",
					pool.describe(), float64(pool.Requests.CPUMilli)/1000, float64(pool.Requests.MemoryMiB)/1024, c.PlatformNodes.CPULimit))
			vol := float64(4+c.PlatformNodes.DataVolumeGiB) * GP3PerGiBMonth
			add("Platform node volumes", float64(len(pool.Nodes))*vol, float64(pool.CeilingNodes)*vol, fmt.Sprintf("%d GiB gp3 per node", 4+c.PlatformNodes.DataVolumeGiB))
		} else {
			e.Notes = append(e.Notes, "no priced platformNodes instance type: the platform pool is not priced")
		}
		nlb := NLBHourly * HoursPerMonth
		add("Network Load Balancer", nlb, nlb, "before capacity units")
		if len(c.Providers) > 0 {
			e.Notes = append(e.Notes, "hosted providers (providers, models[].fallback) bill per token as they are used, and are not priced")
		}
		if n := BedrockEndpoints(c); n > 0 {
			// One interface endpoint, with a network interface in each of
			// the stack's zones (the private subnets), for as long as it
			// exists: the same idle and at scale.
			vpce := float64(n*c.Network.AZCount) * InterfaceEndpointAZHourly * HoursPerMonth
			add("Bedrock VPC endpoint", vpce, vpce, fmt.Sprintf("%d interface endpoint x %d zones x $%.2f/h, before data processing", n, c.Network.AZCount, InterfaceEndpointAZHourly))
			e.Notes = append(e.Notes, fmt.Sprintf("the Bedrock VPC endpoint's data processing ($%.2f/GB) is not priced", InterfaceEndpointPerGB))
		}
		var idleGPU, maxGPU, idleVol, maxVol, weights float64
		for _, m := range c.Models {
			_, price, ok := GPUInstance(c.GPU, m.GPUsPerReplica)
			if !ok {
				e.Notes = append(e.Notes, fmt.Sprintf("no priced instance for %d GPUs for model %s", m.GPUsPerReplica, m.Name))
				continue
			}
			nodeVol := GPUNodeVolumesMonthly(c.GPU)
			idleGPU += float64(m.MinReplicas) * price * HoursPerMonth
			maxGPU += float64(m.MaxReplicas) * price * HoursPerMonth
			idleVol += float64(m.MinReplicas) * nodeVol
			maxVol += float64(m.MaxReplicas) * nodeVol
			weights += config.WeightsGiB(m.ParamsBillions, m.Quantization) * (1 << 30) / 1e9
		}
		add("GPU nodes (on-demand)", idleGPU, maxGPU, "models at minimum / maximum replicas")
		volumes := fmt.Sprintf("%d GiB gp3 per node", 4+c.GPU.DataVolumeGiB)
		if c.GPU.SOCIParallelPull {
			volumes += fmt.Sprintf(", data volume at %d MiB/s and %d IOPS", coldstart.DataVolumeThroughputMiBps, coldstart.DataVolumeIOPS)
		}
		add("GPU node volumes", idleVol, maxVol, volumes)
		add("Model weights in S3", weights*S3StandardPerGBMonth, weights*S3StandardPerGBMonth, fmt.Sprintf("about %.0f GB", weights))
		e.Notes = append(e.Notes, "S3 Files, data transfer and spot discounts are not priced")
		if c.ObservabilityLayer() {
			pv := float64(c.Observability.StorageGiB) * GP3PerGiBMonth
			add("Prometheus volume", pv, pv, fmt.Sprintf("%d GiB gp3", c.Observability.StorageGiB))
			if c.HasBudgets() {
				v := float64(config.CounterStoreGiB) * GP3PerGiBMonth
				add("Budget counter volume", v, v, fmt.Sprintf("%d GiB gp3 (Redis, persisted)", config.CounterStoreGiB))
			}
			if c.ChatLayer() {
				v := float64(c.Chat.StorageGiB) * GP3PerGiBMonth
				add("Chat volume", v, v, fmt.Sprintf("%d GiB gp3 (Open WebUI)", c.Chat.StorageGiB))
			}
		}
	}
	for _, l := range e.Lines {
		e.IdleUSD += l.IdleUSD
		e.MaxUSD += l.MaxUSD
	}
	e.IdleUSD, e.MaxUSD = round(e.IdleUSD), round(e.MaxUSD)
	return e
}

// BedrockEndpoints is the number of bedrock-runtime interface endpoints
// the stack creates: one per region with a bedrock provider that sets
// privateEndpoint (config allows only the stack's own region, once).
func BedrockEndpoints(c *config.Config) int {
	regions := map[string]bool{}
	for _, p := range c.Providers {
		if p.Kind == config.ProviderBedrock && p.PrivateEndpoint {
			regions[p.Region] = true
		}
	}
	return len(regions)
}

// GPUNodeVolumesMonthly is a GPU node's two volumes for a month: their
// size, and with SOCI parallel pull the data volume's IOPS and throughput
// above what gp3 includes.
func GPUNodeVolumesMonthly(g config.GPU) float64 {
	usd := float64(4+g.DataVolumeGiB) * GP3PerGiBMonth
	if g.SOCIParallelPull {
		usd += float64(coldstart.DataVolumeIOPS-GP3IncludedIOPS)*GP3PerIOPSMonth +
			float64(coldstart.DataVolumeThroughputMiBps-GP3IncludedThroughputMiBps)*GP3PerMiBpsMonth
	}
	return usd
}

// GPUInstance is the cheapest priced instance of the allowed families and
// sizes with at least gpus GPUs: what Karpenter launches for one replica.
func GPUInstance(g config.GPU, gpus int) (string, float64, bool) {
	type cand struct {
		name  string
		price float64
	}
	var cands []cand
	for _, f := range g.InstanceFamilies {
		for _, s := range g.InstanceSizes {
			name := f + "." + s
			price, ok := InstanceHourly[name]
			if ok && config.GPUsPerInstance[f][s] >= gpus {
				cands = append(cands, cand{name, price})
			}
		}
	}
	if len(cands) == 0 {
		return "", 0, false
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].price < cands[j].price })
	return cands[0].name, cands[0].price, true
}

// Table renders the estimate as a Markdown table (make render prints it;
// the README shows it for the dev and base-only stacks).
func Table(e Estimate) string {
	out := fmt.Sprintf("Estimated monthly cost (%s on-demand prices, %s):\n\n", PricesRegion, PricesDate)
	out += "| item | idle | max | basis |\n| --- | --- | --- | --- |\n"
	for _, l := range e.Lines {
		out += fmt.Sprintf("| %s | $%.2f | $%.2f | %s |\n", l.Item, l.IdleUSD, l.MaxUSD, l.Reasoning)
	}
	out += fmt.Sprintf("| **total** | **$%.2f** | **$%.2f** | |\n", e.IdleUSD, e.MaxUSD)
	for _, n := range e.Notes {
		out += "\n" + n + "."
	}
	return out + "\n"
}
