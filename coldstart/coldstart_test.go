package coldstart

import (
	"math"
	"strings"
	"testing"
)

// qwen7bAWQ is the dev stack's model: 7.6 B parameters at 0.56 bytes each
// (config.BytesPerParam for 4-bit formats).
const qwen7bAWQ = 7.6e9 * 0.56 / (1 << 30)

// The expected figures are worked out by hand from the sources in
// coldstart.go, so a changed figure or formula fails here and must be
// re-derived, not copied from the output.
func TestEstimate(t *testing.T) {
	cases := []struct {
		name  string
		model Model
		// phase -> seconds
		want     map[string]float64
		total    float64
		inCold   float64 // in-container part with a cold compile cache
		probeMax int     // startup probe failureThreshold
	}{
		{
			// 4.26 GB of weights; 10 GB image.
			name:  "dev model, every lever",
			model: Model{WeightsGiB: qwen7bAWQ, ImageGB: 10, NetworkGbps: 10, Levers: AllLevers},
			want: map[string]float64{
				PhaseSignal: 30,
				PhaseNode:   60,
				// 5 s + 6 GiB / 300 MiB/s = 5 + 20.48
				PhaseImage: 25.5,
				// 4.26 GB / 1.25 GB/s (10 Gbps caps the streamer's 1.78 GB/s)
				PhaseWeights: 3.4,
				// (35.08 - 14.34) + 7.51
				PhaseEngine: 28.3,
				// 2 + 5 + 2
				PhaseReady: 9,
			},
			total: 156.2,
			// 3.4 + (20.74 + 19.37)
			inCold: 43.5,
			// 4 x 43.5 = 174 s, rounded up to 180 s, every 2 s
			probeMax: 90,
		},
		{
			name:  "dev model, SOCI instead of a snapshot",
			model: Model{WeightsGiB: qwen7bAWQ, ImageGB: 10, NetworkGbps: 10, Levers: Levers{SOCIParallelPull: true, RunAIStreamer: true, CompileCache: true}},
			// 10 GB / (9.354 GB / 23.229 s)
			want:  map[string]float64{PhaseImage: 24.8, PhaseWeights: 3.4, PhaseEngine: 28.3},
			total: 155.5, inCold: 43.5, probeMax: 90,
		},
		{
			name:  "dev model, no lever",
			model: Model{WeightsGiB: qwen7bAWQ, ImageGB: 10, NetworkGbps: 10},
			want: map[string]float64{
				// 10 GB / (9.354 GB / 130.813 s)
				PhaseImage: 139.8,
				// 4.26 GB / (15 GB / 47.99 s)
				PhaseWeights: 13.6,
				// 20.74 + 19.37
				PhaseEngine: 40.1,
			},
			total: 292.5, inCold: 53.7,
			// 4 x 53.7 = 215 -> 240 s
			probeMax: 120,
		},
		{
			// 70 B AWQ on a 4-GPU g6.12xlarge (40 Gbps): the streamer's own
			// 1.78 GB/s is the limit, not the network.
			name:  "70B AWQ over four GPUs",
			model: Model{WeightsGiB: 70e9 * 0.56 / (1 << 30), ImageGB: 10, NetworkGbps: 40, Levers: AllLevers},
			// 39.2 GB / (15 / 8.45) GB/s
			want:  map[string]float64{PhaseWeights: 22.1},
			total: 174.9, inCold: 62.2, probeMax: 150,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := Estimate(c.model)
			for phase, want := range c.want {
				if got := b.Seconds(phase); math.Abs(got-want) > 0.05 {
					t.Errorf("%s: %.1f s, want %.1f s", phase, got, want)
				}
			}
			if got := b.Total(); math.Abs(got-c.total) > 0.15 {
				t.Errorf("total %.1f s, want %.1f s", got, c.total)
			}
			if got := ColdCache(c.model).InContainer(); math.Abs(got-c.inCold) > 0.15 {
				t.Errorf("in-container with a cold cache %.1f s, want %.1f s", got, c.inCold)
			}
			if got := StartupProbeFailureThreshold(c.model); got != c.probeMax {
				t.Errorf("startup probe failureThreshold %d, want %d", got, c.probeMax)
			}
			if got, want := b.FromPodCreated(), b.Total()-b.Seconds(PhaseSignal); math.Abs(got-want) > 0.15 {
				t.Errorf("from pod created %.1f s, want total minus the signal, %.1f s", got, want)
			}
		})
	}
}

// The published measurements the rates come from are reproduced.
func TestRatesReproduceTheirSources(t *testing.T) {
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"containerd pull of the blueprint image", imageBlueprintGB / containerdPullGBps, 130.813},
		{"SOCI pull of the blueprint image", imageBlueprintGB / sociPullGBps, 23.229},
		{"safetensors load of Llama-3-8B", benchmarkWeightsGB / safetensorsGBps, 47.99},
		{"streamer load of Llama-3-8B", benchmarkWeightsGB / streamerGBps, 8.45},
	} {
		if math.Abs(c.got-c.want) > 0.001 {
			t.Errorf("%s: %.3f s, source says %.3f s", c.what, c.got, c.want)
		}
	}
}

func TestEveryLeverShortensItsPhase(t *testing.T) {
	base := Model{WeightsGiB: qwen7bAWQ, ImageGB: 10, NetworkGbps: 10}
	for _, c := range []struct {
		lever string
		phase string
		set   func(*Levers)
	}{
		{"gpu.sociParallelPull", PhaseImage, func(l *Levers) { l.SOCIParallelPull = true }},
		{"gpu.dataVolumeSnapshotId", PhaseImage, func(l *Levers) { l.DataVolumeSnapshot = true }},
		{"models[].loadFormat", PhaseWeights, func(l *Levers) { l.RunAIStreamer = true }},
		{"models[].compileCache", PhaseEngine, func(l *Levers) { l.CompileCache = true }},
	} {
		on := base
		c.set(&on.Levers)
		before, after := Estimate(base), Estimate(on)
		if after.Seconds(c.phase) >= before.Seconds(c.phase) {
			t.Errorf("%s does not shorten %s: %.1f s -> %.1f s", c.lever, c.phase, before.Seconds(c.phase), after.Seconds(c.phase))
		}
		for _, p := range after.Phases {
			if p.Name == c.phase && p.Lever != c.lever {
				t.Errorf("phase %s names lever %q, want %q", p.Name, p.Lever, c.lever)
			}
		}
	}
}

func TestHoldChain(t *testing.T) {
	// Each link outlasts the next: the picker answers before Envoy's call
	// to it times out, which is before Envoy's stream idle timeout, which
	// is before the NLB drops the flow.
	chain := []struct {
		name    string
		seconds int
	}{
		{"default queue timeout", DefaultQueueTimeoutSeconds - 1}, // may equal the maximum
		{"largest queue timeout", MaxQueueTimeoutSeconds},
		{"AI Gateway's call to the picker", ExtProcMessageTimeoutSeconds},
		{"Envoy's stream idle timeout", StreamIdleTimeoutSeconds},
		{"NLB idle timeout", NLBIdleTimeoutSeconds},
	}
	for i := 1; i < len(chain); i++ {
		if chain[i-1].seconds >= chain[i].seconds {
			t.Errorf("%s (%d s) does not end before %s (%d s)", chain[i-1].name, chain[i-1].seconds, chain[i].name, chain[i].seconds)
		}
	}
	// The dev model wakes within the hold time with its levers on, and
	// would not without them: validation has something to refuse.
	dev := Model{WeightsGiB: qwen7bAWQ, ImageGB: 10, NetworkGbps: 10}
	max := MaxWakeSeconds(DefaultQueueTimeoutSeconds)
	if Estimate(dev).Total() <= max {
		t.Errorf("the dev model wakes in %.1f s without levers: the levers buy nothing", Estimate(dev).Total())
	}
	dev.Levers = Levers{SOCIParallelPull: true, RunAIStreamer: true, CompileCache: true}
	if Estimate(dev).Total() > max {
		t.Errorf("the dev model wakes in %.1f s with its default levers, over %.0f s", Estimate(dev).Total(), max)
	}
}

func TestTableHasEveryPhaseAndSource(t *testing.T) {
	b := Estimate(Model{WeightsGiB: qwen7bAWQ, ImageGB: 10, NetworkGbps: 10, Levers: AllLevers})
	table := Table(b, DefaultQueueTimeoutSeconds)
	for _, p := range b.Phases {
		if p.Source == "" {
			t.Errorf("phase %s has no source", p.Name)
		}
		if !strings.Contains(table, "| "+p.Name+" |") {
			t.Errorf("table lacks phase %s:\n%s", p.Name, table)
		}
	}
	if !strings.Contains(table, "156.2") {
		t.Errorf("table lacks the total:\n%s", table)
	}
}
