package config

import (
	"math"
	"strings"
	"testing"
)

func TestWeightsFit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		params float64
		quant  string
		gpus   int
		util   float64
		fits   bool
	}{
		{"7B bf16 on one L4", 7.6, "", 1, 0.9, true},
		{"8B bf16 on one L4", 8.0, "", 1, 0.9, true},
		{"14B bf16 on one L4", 14.8, "", 1, 0.9, false},
		{"14B bf16 over two", 14.8, "", 2, 0.9, true},
		{"14B awq on one", 14.8, "awq_marlin", 1, 0.9, true},
		{"32B awq on one", 32.8, "awq", 1, 0.9, true},
		{"32B fp8 on one", 32.8, "fp8", 1, 0.9, false},
		{"70B bf16 over four", 70.6, "", 4, 0.9, false},
		{"70B awq over four", 70.6, "awq", 4, 0.9, true},
		{"7B bf16 at low utilisation", 7.6, "", 1, 0.5, false},
	} {
		need, have, ok := WeightsFit(tt.params, tt.quant, tt.gpus, tt.util)
		if ok != tt.fits {
			t.Errorf("%s: need %.1f GiB, have %.1f GiB: fits = %v, want %v", tt.name, need, have, ok, tt.fits)
		}
	}
	if got := WeightsGiB(1, ""); math.Abs(got-1.8626) > 0.001 {
		t.Errorf("1B bf16 = %.4f GiB, want 1.8626", got)
	}
}

func TestMaxGPUsPerInstance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		families, sizes []string
		want            int
	}{
		{[]string{"g6"}, []string{"xlarge", "2xlarge"}, 1},
		{[]string{"g6"}, []string{"xlarge", "12xlarge"}, 4},
		{[]string{"g6", "gr6"}, []string{"48xlarge"}, 8},
		{[]string{"gr6"}, []string{"12xlarge"}, 0},
	} {
		if got := MaxGPUsPerInstance(tt.families, tt.sizes); got != tt.want {
			t.Errorf("MaxGPUsPerInstance(%v, %v) = %d, want %d", tt.families, tt.sizes, got, tt.want)
		}
	}
}

func TestGPUGuardRejectsImpossibleModels(t *testing.T) {
	t.Parallel()
	model := func(extra string) string {
		return `[{"name": "m", "hfRepo": "org/m", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 7.6` + extra + `}]`
	}
	for _, tt := range []struct {
		name    string
		values  map[string]string
		wantKey string
	}{
		{"tensor parallel wider than any instance",
			map[string]string{"gpu": `{"instanceSizes": ["xlarge", "2xlarge"], "gpuLimit": 8}`, "models": model(`, "gpusPerReplica": 2, "maxReplicas": 1`)},
			"models[0].gpusPerReplica"},
		{"replicas beyond the pool limit",
			map[string]string{"gpu": `{"gpuLimit": 4}`, "models": model(`, "gpusPerReplica": 2, "maxReplicas": 3`)},
			"models[0].maxReplicas"},
		{"weights do not fit",
			map[string]string{"models": model(`, "paramsBillions": 32, "maxReplicas": 1`)},
			"models[0].paramsBillions"},
		{"minimums exceed the limit",
			map[string]string{"gpu": `{"gpuLimit": 2}`, "models": `[
				{"name": "a", "hfRepo": "org/a", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 1, "minReplicas": 2, "maxReplicas": 2},
				{"name": "b", "hfRepo": "org/b", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 1, "minReplicas": 1, "maxReplicas": 1}]`},
			"gpu.gpuLimit"},
		{"size the family lacks",
			map[string]string{"gpu": `{"instanceFamilies": ["gr6"], "instanceSizes": ["xlarge", "4xlarge"]}`},
			"gpu.instanceSizes[0]"},
	} {
		_, err := Parse(Input{Stack: "dev", Values: tt.values})
		if err == nil || !strings.Contains(err.Error(), `"llm-platform:`+tt.wantKey+`"`) {
			t.Errorf("%s: err = %v, want one naming %s", tt.name, err, tt.wantKey)
		}
	}
	// The dev-sized model is accepted.
	if _, err := Parse(Input{Stack: "dev", Values: map[string]string{
		"models": model(`, "quantization": "awq_marlin"`), "cluster": `{"endpointPublicAccess": false}`,
	}}); err != nil {
		t.Errorf("a 7B AWQ model was refused: %v", err)
	}
}

func TestColdStartLeversAreValidated(t *testing.T) {
	t.Parallel()
	model := func(extra string) string {
		return `[{"name": "m", "hfRepo": "org/m", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 7.6, "quantization": "awq_marlin"` + extra + `}]`
	}
	for _, tt := range []struct {
		name    string
		values  map[string]string
		wantKey string
	}{
		{"snapshot id of the wrong shape",
			map[string]string{"gpu": `{"dataVolumeSnapshotId": "snapshot-1"}`}, "gpu.dataVolumeSnapshotId"},
		{"snapshot with the image store moved to instance store",
			map[string]string{"gpu": `{"dataVolumeSnapshotId": "snap-0123456789abcdef0", "instanceStoreRaid0": true}`}, "gpu.dataVolumeSnapshotId"},
		{"unknown load format",
			map[string]string{"models": model(`, "loadFormat": "tensorizer"`)}, "models[0].loadFormat"},
		{"streamer without readers",
			map[string]string{"models": model(`, "streamerConcurrency": 0`)}, "models[0].streamerConcurrency"},
		{"custom image without its size",
			map[string]string{"models": model(`, "image": "example.com/vllm:v1"`)}, "models[0].imageGB"},
		{"negative image size",
			map[string]string{"models": model(`, "imageGB": -1`)}, "models[0].imageGB"},
		{"queue timeout beyond the AI Gateway's call to the picker",
			map[string]string{"gateway": `{"clients": [{"name": "team"}], "queueTimeoutSeconds": 300}`}, "gateway.queueTimeoutSeconds"},
		{"idle time that is not a duration",
			map[string]string{"models": model(`, "scaleToZeroAfter": "10"`)}, "models[0].scaleToZeroAfter"},
		// With every default lever the dev model wakes in about 155 s: a
		// two-minute hold leaves it 96 s.
		{"hold shorter than the wake-up",
			map[string]string{
				"gateway": `{"clients": [{"name": "team"}], "queueTimeoutSeconds": 120}`,
				"models":  model(`, "minReplicas": 0`),
			}, "models[0].minReplicas"},
		// Without its levers the dev model takes about 290 s to wake, over
		// the 264 s it may use of the 330 s hold time.
		{"scale to zero without the levers",
			map[string]string{
				"gpu":    `{"sociParallelPull": false}`,
				"models": model(`, "minReplicas": 0, "loadFormat": "safetensors", "compileCache": false`),
			}, "models[0].minReplicas"},
		// A 20 GB custom image pulled with SOCI still takes 50 s, and a
		// cold compile: over budget on a 10 Gbps instance with the plain loader.
		{"scale to zero with a huge image and plain loader",
			map[string]string{
				"models": model(`, "minReplicas": 0, "image": "example.com/vllm:v1", "imageGB": 60, "loadFormat": "safetensors", "compileCache": false`),
			}, "models[0].minReplicas"},
	} {
		_, err := Parse(Input{Stack: "dev", Values: valid(tt.values)})
		if err == nil || !strings.Contains(err.Error(), `"llm-platform:`+tt.wantKey+`"`) {
			t.Errorf("%s: err = %v, want one naming %s", tt.name, err, tt.wantKey)
		}
	}
	// The default levers wake the dev model in time; a model that keeps a
	// replica is not held to the wake budget at all.
	for _, extra := range []string{`, "minReplicas": 0`, `, "minReplicas": 1, "loadFormat": "safetensors", "compileCache": false`} {
		values := map[string]string{"models": model(extra), "gpu": `{"sociParallelPull": false}`}
		if strings.Contains(extra, `"minReplicas": 0`) {
			delete(values, "gpu")
		}
		if _, err := Parse(Input{Stack: "dev", Values: valid(values)}); err != nil {
			t.Errorf("model %s refused: %v", extra, err)
		}
	}
}

func TestSlowestNetwork(t *testing.T) {
	t.Parallel()
	sizes := []string{"xlarge", "4xlarge", "12xlarge", "48xlarge"}
	for _, tt := range []struct {
		gpus int
		want float64
	}{{1, 10}, {2, 40}, {4, 40}, {8, 100}} {
		if got := SlowestNetworkGbps([]string{"g6"}, sizes, tt.gpus); got != tt.want {
			t.Errorf("%d GPUs: %v Gbps, want %v", tt.gpus, got, tt.want)
		}
	}
	// Every instance that has GPUs has a bandwidth.
	for f, sizes := range GPUsPerInstance {
		for s := range sizes {
			if NetworkGbps[f][s] <= 0 {
				t.Errorf("%s.%s has no network bandwidth", f, s)
			}
		}
	}
}

// valid completes values into an otherwise valid LLM stack, so the wake-up
// check (which runs only on a config with no other error) is reached.
func valid(values map[string]string) map[string]string {
	out := map[string]string{
		"cluster": `{"endpointPublicAccess": false}`, "llm": `{"enabled": true}`,
		"gateway": `{"clients": [{"name": "team"}]}`,
	}
	for k, v := range values {
		out[k] = v
	}
	return out
}
