package epp

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-platform/llm-platform/inference/eppconfig"

	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/flowcontrol"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
	fwkfc "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/flowcontrol"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwkrc "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/requestcontrol"
	attrconcurrency "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/datalayer/attribute/concurrency"
)

// dev is the example: vLLM --max-num-seqs 32, a 280 s hold.
var dev = eppconfig.Spec{MaxNumSeqs: 32, RequestTTLSeconds: 280, MaxQueuedRequests: 256, MaxQueuedBytes: 64 << 20}

// logger is quiet unless EPP_LOG is set: the plugins log at info level.
func logger(t *testing.T) logr.Logger {
	if os.Getenv("EPP_LOG") != "" {
		return testr.New(t)
	}
	return logr.Discard()
}

// load runs the EPP's startup reading of text, failing the test where the
// EPP would refuse to start.
func load(t *testing.T, text string) *Loaded {
	t.Helper()
	l, err := tryLoad(t, text)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func tryLoad(t *testing.T, text string) (*Loaded, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return Load(ctx, text, logger(t))
}

// check is what the platform needs of a loaded configuration: the first
// stage that fails (startup, the strict parameter check, then the
// platform's expectations) and its problems.
func check(t *testing.T, text string, s eppconfig.Spec) (stage string, problems []string) {
	t.Helper()
	l, err := tryLoad(t, text)
	if err != nil {
		return "startup", []string{err.Error()}
	}
	if err := CheckParams(l.Raw.Plugins); err != nil {
		return "params", strings.Split(err.Error(), "\n")
	}
	if p := expectations(l, s); len(p) > 0 {
		return "platform", p
	}
	return "", nil
}

// TestConfigLoads: the file for the example spec starts the EPP and holds
// everything the platform chose.
func TestConfigLoads(t *testing.T) {
	t.Parallel()
	for _, s := range []eppconfig.Spec{
		dev,
		{MaxNumSeqs: 1, RequestTTLSeconds: 1, MaxQueuedRequests: 1, MaxQueuedBytes: 1},
		{MaxNumSeqs: 1024, RequestTTLSeconds: 3600, MaxQueuedRequests: 100000, MaxQueuedBytes: 1 << 30},
	} {
		t.Run(fmt.Sprintf("seqs=%d,ttl=%ds", s.MaxNumSeqs, s.RequestTTLSeconds), func(t *testing.T) {
			t.Parallel()
			if stage, problems := check(t, eppconfig.Config(s), s); stage != "" {
				t.Fatalf("%s:\n%s", stage, strings.Join(problems, "\n"))
			}
		})
	}
}

// expectations lists what the loaded configuration lacks of the
// platform's choices for s (package eppconfig explains each).
func expectations(l *Loaded, s eppconfig.Spec) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	fc := l.Config.FlowControlConfig
	if !l.FeatureGates[flowcontrol.FeatureGate] || fc == nil {
		bad("flow control is off (feature gate %q not set): the EPP never queues", flowcontrol.FeatureGate)
		return p
	}
	if got, want := fc.Controller.DefaultRequestTTL, time.Duration(s.RequestTTLSeconds)*time.Second; got != want || got <= 0 {
		bad("default request TTL %v, want %v (0 waits until the client gives up)", got, want)
	}
	reg := fc.Registry
	if reg.MaxRequests != uint64(s.MaxQueuedRequests) || reg.MaxBytes != uint64(s.MaxQueuedBytes) {
		bad("flow control limits %d requests / %d bytes, want %d / %d", reg.MaxRequests, reg.MaxBytes, s.MaxQueuedRequests, s.MaxQueuedBytes)
	}
	if len(reg.PriorityBands) != 1 || reg.PriorityBands[eppconfig.Priority] == nil {
		bad("priority bands %v, want one at %d", slices.Sorted(maps.Keys(reg.PriorityBands)), eppconfig.Priority)
	} else {
		b := reg.PriorityBands[eppconfig.Priority]
		if b.MaxRequests != uint64(s.MaxQueuedRequests) || b.MaxBytes != uint64(s.MaxQueuedBytes) {
			bad("band limits %d requests / %d bytes, want %d / %d", b.MaxRequests, b.MaxBytes, s.MaxQueuedRequests, s.MaxQueuedBytes)
		}
		p = append(p, policies("band 0", b.FairnessPolicy, b.OrderingPolicy)...)
	}
	if d := reg.DefaultPriorityBand; d == nil {
		bad("no default priority band")
	} else {
		p = append(p, policies("default band template", d.FairnessPolicy, d.OrderingPolicy)...)
	}

	sd := l.Config.SaturationDetector
	if sd == nil || sd.TypedName().Type != eppconfig.Detector {
		bad("saturation detector %v, want %s", typeOf(sd), eppconfig.Detector)
	} else if got := capacity(sd); got != s.MaxNumSeqs {
		bad("saturation detector capacity %d requests in flight per endpoint, want %d (max-num-seqs)", got, s.MaxNumSeqs)
	}
	if pl := l.Handle.Plugin(eppconfig.InFlightLoad); pl == nil {
		bad("no %s: the concurrency detector never sees a request in flight", eppconfig.InFlightLoad)
	} else {
		// The runner hands every plugin to request control, which calls
		// these hooks (cmd/epp/runner/runner.go parseConfigurationPhaseTwo).
		_, pre := pl.(fwkrc.PreRequest)
		_, body := pl.(fwkrc.ResponseBody)
		_, prep := pl.(fwkrc.PrepareDataPlugin)
		if !pre || !body || !prep {
			bad("%s lacks a request-control hook (PreRequest %v, ResponseBody %v, PrepareData %v)", eppconfig.InFlightLoad, pre, body, prep)
		}
	}

	if got, want := l.Config.SchedulerConfig.String(), wantScheduler; got != want {
		bad("scheduler\n got %s\nwant %s", got, want)
	}
	if dc := l.Config.DataConfig; dc == nil || len(dc.Sources) != 1 ||
		dc.Sources[0].Plugin.TypedName().Type != eppconfig.MetricsSource ||
		len(dc.Sources[0].Extractors) != 1 || dc.Sources[0].Extractors[0].TypedName().Type != eppconfig.MetricsExtract {
		bad("data layer %+v, want %s with %s", dc, eppconfig.MetricsSource, eppconfig.MetricsExtract)
	}
	if pc := l.Config.ParserConfig; pc == nil || pc.Parser.TypedName().Type != "openai-parser" {
		bad("parser %+v, want openai-parser", pc)
	}

	// What the loader adds to the file (pkg/epp/config/loader/defaults.go
	// applySystemDefaults, configloader.go instantiatePlugins): nothing
	// that changes a choice. An upgrade that adds more shows here.
	var added []string
	for name := range l.Handle.GetAllPluginsWithNames() {
		if !strings.Contains(eppconfig.Config(s), "- name: "+name+"\n") {
			added = append(added, name)
		}
	}
	if want := []string{"approx-prefix-cache-producer", "static-usage-limit-policy", "global-strict-fairness-policy", "openai-parser"}; !sameSet(added, want) {
		bad("the loader added plugins %v, want %v", added, want)
	}
	return p
}

// wantScheduler is the scheduler the runner builds: the chart's weights,
// the max-score picker, one profile.
const wantScheduler = "{ProfileHandler: single-profile-handler/single-profile-handler, Profiles: map[default:{Filters: [], " +
	"Scorers: [queue-scorer/queue-scorer: 2.000000, kv-cache-utilization-scorer/kv-cache-utilization-scorer: 2.000000, " +
	"prefix-cache-scorer/prefix-cache-scorer: 3.000000], Picker: max-score-picker/max-score-picker}]}"

// policies checks a band's fairness and ordering.
func policies(band string, f fwkfc.FairnessPolicy, o fwkfc.OrderingPolicy) []string {
	var p []string
	if f == nil || f.TypedName().Type != eppconfig.FairnessPolicy {
		p = append(p, fmt.Sprintf("%s fairness %v, want %s", band, typeOf(f), eppconfig.FairnessPolicy))
	}
	if o == nil || o.TypedName().Type != eppconfig.OrderingPolicy {
		p = append(p, fmt.Sprintf("%s ordering %v, want %s", band, typeOf(o), eppconfig.OrderingPolicy))
	}
	return p
}

// typeOf names a plugin's type, or nil.
func typeOf(p any) string {
	if t, ok := p.(fwkplugin.Plugin); ok && t != nil {
		return t.TypedName().Type
	}
	return fmt.Sprint(p)
}

// capacity measures the detector's per-endpoint capacity: the requests in
// flight on one endpoint at which the pool reads saturated (1.0), found by
// asking the detector itself.
func capacity(sd fwkfc.SaturationDetector) int {
	ctx := context.Background()
	for n := 1; n <= 4096; n++ {
		if sd.Saturation(ctx, []fwkdl.Endpoint{endpoint("vllm-0", n)}) >= 1.0 {
			return n
		}
	}
	return -1
}

// endpoint is a datastore endpoint with n requests in flight recorded the
// way the concurrency detector reads them.
func endpoint(name string, n int) *fwkdl.ModelServer {
	e := fwkdl.NewEndpoint(&fwkdl.EndpointMetadata{NamespacedName: types.NamespacedName{Namespace: "models", Name: name}}, nil)
	if n >= 0 {
		e.GetAttributes().Put(attrconcurrency.InFlightLoadKey, &attrconcurrency.InFlightLoad{Requests: int64(n)})
	}
	return e
}

// TestDetectorThreshold: the loaded detector reads the pool as saturated
// exactly at max-num-seqs requests in flight per endpoint, summed over the
// pool, and as saturated with no endpoint (the scale-from-zero hold).
func TestDetectorThreshold(t *testing.T) {
	t.Parallel()
	sd := load(t, eppconfig.Config(dev)).Config.SaturationDetector
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		eps  []fwkdl.Endpoint
		want float64
	}{
		{"no endpoint", nil, 1.0},
		{"idle", []fwkdl.Endpoint{endpoint("a", -1)}, 0},
		{"31 of 32", []fwkdl.Endpoint{endpoint("a", 31)}, 31.0 / 32},
		{"32 of 32", []fwkdl.Endpoint{endpoint("a", 32)}, 1.0},
		{"over", []fwkdl.Endpoint{endpoint("a", 40)}, 40.0 / 32},
		{"two replicas, one full", []fwkdl.Endpoint{endpoint("a", 32), endpoint("b", 0)}, 0.5},
		{"two replicas, both full", []fwkdl.Endpoint{endpoint("a", 32), endpoint("b", 32)}, 1.0},
	} {
		if got := sd.Saturation(ctx, tc.eps); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: saturation %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRegistrationsMatchRunner: the harness registers the feature gates
// runner.go registers, and each plugin type with the factory runner.go
// registers for it.
func TestRegistrationsMatchRunner(t *testing.T) {
	t.Parallel()
	gates, err := RunnerFeatureGates()
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(gates, FeatureGates) {
		t.Errorf("runner.go registers feature gates %v, the harness %v", gates, FeatureGates)
	}
	reg, err := RunnerRegistrations()
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]string{}
	for _, r := range Registrations {
		ours[r.Type] = FuncName(r.Factory)
	}
	for typ, f := range reg {
		if ours[typ] != f {
			t.Errorf("%q: runner.go registers %s, the harness %q", typ, f, ours[typ])
		}
	}
	for typ := range ours {
		if reg[typ] == "" {
			t.Errorf("the harness registers %q, runner.go does not", typ)
		}
	}
	if len(reg) < 30 {
		t.Errorf("read %d registrations from runner.go: the parse misses some", len(reg))
	}
}

// TestParamStructs: every plugin of the file and of the loader's defaults
// has a parameter entry, each struct exists, and each "no parameters"
// factory does ignore them.
func TestParamStructs(t *testing.T) {
	t.Parallel()
	registered := map[string]string{}
	for _, r := range Registrations {
		registered[r.Type] = FuncName(r.Factory)
	}
	for _, ps := range load(t, eppconfig.Config(dev)).Raw.Plugins {
		if _, ok := ParamStructs[ps.Type]; !ok {
			t.Errorf("%s: no ParamStructs entry", ps.Type)
		}
	}
	for typ, ps := range ParamStructs {
		if registered[typ] == "" {
			t.Errorf("%s: not a registered type", typ)
		}
		if ps.Struct != "" {
			if _, err := StructJSONFields(ps.Package, ps.Struct); err != nil {
				t.Errorf("%s: %v", typ, err)
			}
			continue
		}
		ignores, err := FactoryIgnoresParams(ps.Package, ps.Factory)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
		} else if !ignores {
			t.Errorf("%s: %s reads its parameters: name their struct in ParamStructs", typ, ps.Factory)
		}
		if want := ps.Package + "." + ps.Factory; registered[typ] != want {
			t.Errorf("%s: ParamStructs names %s, registered %s", typ, want, registered[typ])
		}
	}
	// The fields the platform sets are where it expects them.
	for typ, want := range map[string][]string{
		eppconfig.Detector:      {"concurrencyMode", "maxConcurrency"},
		eppconfig.MetricsSource: {"scheme", "path"},
	} {
		got, err := StructJSONFields(ParamStructs[typ].Package, ParamStructs[typ].Struct)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s parameters %v lack %s", typ, got, w)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
