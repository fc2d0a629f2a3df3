package cost

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/sizing"
)

func parse(t *testing.T, values map[string]string) *config.Config {
	t.Helper()
	if _, ok := values["cluster"]; !ok {
		values["cluster"] = `{"publicAccessCidrs": ["203.0.113.0/24"]}`
	}
	c, err := config.Parse(config.Input{Stack: "t", Region: "us-east-1", Values: values})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func line(e Estimate, item string) (Line, bool) {
	for _, l := range e.Lines {
		if l.Item == item {
			return l, true
		}
	}
	return Line{}, false
}

func TestMonthly(t *testing.T) {
	t.Parallel()
	base := Monthly(parse(t, map[string]string{"network": `{"nat": "perAz", "azCount": 3}`}))
	if l, _ := line(base, "NAT gateways"); l.IdleUSD != 98.55 {
		t.Errorf("three NAT gateways = %v", l.IdleUSD)
	}
	// Each NAT gateway's Elastic IP is a billed public IPv4 address.
	if l, _ := line(base, "NAT Elastic IPs"); l.IdleUSD != 10.95 || l.MaxUSD != 10.95 {
		t.Errorf("three NAT Elastic IPs = %+v, want 3 x $0.005 x 730 h", l)
	}
	if _, ok := line(base, "GPU nodes (on-demand)"); ok {
		t.Error("GPU cost without the LLM layer")
	}
	single := Monthly(parse(t, map[string]string{"network": `{"nat": "single", "azCount": 3}`}))
	if l, _ := line(single, "NAT gateways"); l.IdleUSD != 32.85 {
		t.Errorf("one NAT gateway = %v", l.IdleUSD)
	}
	llm := Monthly(parse(t, map[string]string{
		"llm":     `{"enabled": true}`,
		"gateway": `{"clients": [{"name": "a"}]}`,
		"models": `[{"name": "m", "hfRepo": "o/m", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 7.6,
		            "quantization": "awq", "minReplicas": 0, "maxReplicas": 3}]`,
	}))
	gpu, _ := line(llm, "GPU nodes (on-demand)")
	if gpu.IdleUSD != 0 || math.Abs(gpu.MaxUSD-3*0.8048*730) > 0.01 {
		t.Errorf("GPU nodes idle %v max %v: want 0 and 3 x g6.xlarge", gpu.IdleUSD, gpu.MaxUSD)
	}
	var sum float64
	for _, l := range llm.Lines {
		sum += l.MaxUSD
	}
	if math.Abs(sum-llm.MaxUSD) > 0.01 {
		t.Errorf("total %v is not the sum of its lines %v", llm.MaxUSD, sum)
	}
}

func TestGPUInstanceCheapestWithEnoughGPUs(t *testing.T) {
	t.Parallel()
	g := config.DefaultGPU()
	for gpus, want := range map[int]string{1: "g6.xlarge", 2: "g6.12xlarge", 4: "g6.12xlarge"} {
		if got, _, ok := GPUInstance(g, gpus); !ok || got != want {
			t.Errorf("%d GPUs: %s, want %s", gpus, got, want)
		}
	}
	if _, _, ok := GPUInstance(g, 8); ok {
		t.Error("no allowed priced instance has 8 GPUs")
	}
}

// Every GPU instance the config accepts has a price, so no estimate silently
// leaves a GPU node out.
func TestEveryAcceptedGPUInstanceIsPriced(t *testing.T) {
	t.Parallel()
	for family, sizes := range config.GPUsPerInstance {
		for size := range sizes {
			if _, ok := InstanceHourly[family+"."+size]; !ok {
				t.Errorf("no price for %s.%s, which gpu.instanceFamilies/instanceSizes accept", family, size)
			}
		}
	}
	for _, it := range config.DefaultCluster().SystemNodes.InstanceTypes {
		if _, ok := InstanceHourly[it]; !ok {
			t.Errorf("no price for the default system instance type %s", it)
		}
	}
}

// SOCI parallel pull's data volume costs its IOPS and throughput above
// gp3's included 3,000 and 125 MiB/s: 13,000 x $0.005 + 875 x $0.04 = $100
// a node-month on top of the size.
func TestGPUNodeVolumesPriceTheSOCIVolume(t *testing.T) {
	g := config.DefaultGPU()
	g.SOCIParallelPull = false
	plain := GPUNodeVolumesMonthly(g)
	if want := 104 * 0.08; math.Abs(plain-want) > 1e-9 {
		t.Errorf("plain volumes %.2f, want %.2f", plain, want)
	}
	g.SOCIParallelPull = true
	if extra := GPUNodeVolumesMonthly(g) - plain; math.Abs(extra-100) > 1e-9 {
		t.Errorf("SOCI adds %.2f a month, want 100.00", extra)
	}
}

// Issue 20's target: a two-zone, single-NAT stack without the LLM layer
// idles at or below $170 a month, and has no platform pool to pay for.
func TestBaseStackIdlesAtOrBelow170(t *testing.T) {
	t.Parallel()
	base := Monthly(parse(t, map[string]string{"network": `{"nat": "single", "azCount": 2}`}))
	if base.IdleUSD > 170 {
		t.Errorf("base stack idles at $%.2f a month, want at most $170:\n%s", base.IdleUSD, Table(base))
	}
	if _, ok := line(base, "Platform pool (Karpenter)"); ok {
		t.Error("the base stack prices a platform pool it does not create")
	}
	if l, _ := line(base, "System nodes"); math.Abs(l.IdleUSD-2*0.0336*730) > 0.01 {
		t.Errorf("system nodes = $%.2f, want 2 x t4g.medium", l.IdleUSD)
	}
}

// The platform pool holds the platform's requests: its nodes offer at
// least what the pods ask plus the DaemonSets on each node, and the
// amd64-only pickers get an amd64 node.
func TestPlatformPoolHoldsItsPods(t *testing.T) {
	t.Parallel()
	cfg := parse(t, map[string]string{
		"llm":     `{"enabled": true}`,
		"gateway": `{"clients": [{"name": "a", "tokensPerHour": 1000}]}`,
		"models": `[{"name": "m", "hfRepo": "o/m", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 7.6,
		            "quantization": "awq", "minReplicas": 0, "maxReplicas": 3}]`,
	})
	pool, ok := PlatformPool(cfg)
	if !ok {
		t.Fatal("the default platform pool is not priced")
	}
	var cpu, mem, price float64
	amd := false
	for _, n := range pool.Nodes {
		c, m := Instances[n].Allocatable()
		per := sizing.PerNode(cfg.ObservabilityLayer())
		cpu += float64(c - per.CPUMilli)
		mem += float64(m - per.MemoryMiB)
		price += InstanceHourly[n]
		amd = amd || config.Architecture(n) == config.ArchAMD64
	}
	if cpu < float64(pool.Requests.CPUMilli) || mem < float64(pool.Requests.MemoryMiB) {
		t.Errorf("nodes %v offer %.0fm / %.0fMi, less than the requests %+v", pool.Nodes, cpu, mem, pool.Requests)
	}
	if !amd {
		t.Errorf("nodes %v: no amd64 node for the endpoint picker (amd64-only image)", pool.Nodes)
	}
	if math.Abs(price-pool.HourlyUSD) > 1e-9 {
		t.Errorf("pool price %v is not the sum of its nodes' %v", pool.HourlyUSD, price)
	}
	// More models mean more pickers: the pool does not shrink.
	cfg.Models = append(cfg.Models, cfg.Models[0], cfg.Models[0], cfg.Models[0], cfg.Models[0])
	bigger, _ := PlatformPool(cfg)
	if bigger.HourlyUSD < pool.HourlyUSD || bigger.Requests.CPUMilli <= pool.Requests.CPUMilli {
		t.Errorf("five models: pool %+v, one model: %+v", bigger, pool)
	}
}

// Allocatable follows Bottlerocket's reservations as Karpenter models
// them: a t4g.medium keeps about 3.2 GiB for pods.
func TestAllocatable(t *testing.T) {
	t.Parallel()
	cpu, mem := Instances["t4g.medium"].Allocatable()
	if cpu != 1930 || mem < 3200 || mem > 3300 {
		t.Errorf("t4g.medium allocatable = %dm / %dMi, want 1930m / about 3246Mi", cpu, mem)
	}
	cpu, _ = Instances["m7g.2xlarge"].Allocatable()
	if cpu != 8000-90 {
		t.Errorf("m7g.2xlarge allocatable CPU = %dm, want 7910m", cpu)
	}
}

// A bedrock provider's private endpoint costs $0.01 per zone-hour, idle or
// not; its traffic and the tokens are usage and only noted.
func TestBedrockEndpoint(t *testing.T) {
	t.Parallel()
	providers := func(privateEndpoint bool) string {
		return fmt.Sprintf(`[{"kind": "bedrock", "privateEndpoint": %t, "models": [{"servedName": "claude-haiku", "upstreamModel": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}]}]`, privateEndpoint)
	}
	stack := func(azCount int, providers string) Estimate {
		values := map[string]string{
			"network": fmt.Sprintf(`{"azCount": %d}`, azCount),
			"llm":     `{"enabled": true}`,
			"gateway": `{"clients": [{"name": "a"}]}`,
		}
		if providers != "" {
			values["providers"] = providers
		}
		return Monthly(parse(t, values))
	}
	hasNote := func(e Estimate, part string) bool {
		return slices.ContainsFunc(e.Notes, func(n string) bool { return strings.Contains(n, part) })
	}
	for _, tt := range []struct {
		name      string
		azCount   int
		providers string
		want      float64 // 0: no endpoint line
	}{
		{"no providers", 3, "", 0},
		{"bedrock through the NAT gateway", 3, providers(false), 0},
		{"endpoint in three zones", 3, providers(true), 3 * 0.01 * 730},
		{"endpoint in two zones", 2, providers(true), 2 * 0.01 * 730},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := stack(tt.azCount, tt.providers)
			l, ok := line(e, "Bedrock VPC endpoint")
			switch {
			case tt.want == 0 && ok:
				t.Errorf("endpoint priced without privateEndpoint: %+v", l)
			case tt.want != 0 && (!ok || math.Abs(l.IdleUSD-tt.want) > 0.005 || l.MaxUSD != l.IdleUSD):
				t.Errorf("endpoint line %+v (found %v), want $%.2f idle and max", l, ok, tt.want)
			}
			if got := hasNote(e, "data processing ($0.01/GB)"); got != (tt.want != 0) {
				t.Errorf("data processing note = %v, notes %v", got, e.Notes)
			}
			if got := hasNote(e, "bill per token"); got != (tt.providers != "") {
				t.Errorf("per-token note = %v, notes %v", got, e.Notes)
			}
		})
	}
}

// The budget counters' volume is priced whenever the gateway runs the
// counter store: a client's, a group's or only the chat client's budget.
func TestBudgetCounterVolume(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		gateway string
		chat    string
		want    bool
	}{
		{"no budget", `{"clients": [{"name": "a"}]}`, "", false},
		{"a client's budget", `{"clients": [{"name": "a", "tokensPerHour": 1000}]}`, "", true},
		{"only the chat client's budget", `{"clients": [{"name": "a"}]}`, `{"enabled": true, "hostname": "chat.example.com", "tokensPerDay": 1000}`, true},
	} {
		values := map[string]string{"llm": `{"enabled": true}`, "gateway": tt.gateway}
		if tt.chat != "" {
			values["chat"] = tt.chat
		}
		l, ok := line(Monthly(parse(t, values)), "Budget counter volume")
		if ok != tt.want || (ok && l.IdleUSD != GP3PerGiBMonth*config.CounterStoreGiB) {
			t.Errorf("%s: counter volume line %+v (found %v), want %v", tt.name, l, ok, tt.want)
		}
	}
}
