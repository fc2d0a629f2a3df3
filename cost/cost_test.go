package cost

import (
	"math"
	"testing"

	"github.com/llm-platform/llm-platform/config"
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
