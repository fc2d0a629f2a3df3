package eppconfig

import (
	"errors"
	"fmt"
	"strconv"
)

// Spec is what the EPP configuration of one model depends on.
type Spec struct {
	// MaxNumSeqs is vLLM's --max-num-seqs: the sequences one replica runs
	// at once. It is the saturation detector's per-endpoint capacity.
	MaxNumSeqs int
	// RequestTTLSeconds is the longest the EPP holds a request in its
	// flow-control queue (the model has no ready replica, or its replicas
	// are saturated) before it fails the request (503, "request timed out
	// in queue": pkg/epp/requestcontrol/admission.go
	// translateFlowControlOutcome). It must be shorter than every timeout
	// on the path to the client, or the client sees a dropped connection
	// instead of the EPP's error: the hold happens inside Envoy's call to
	// the EPP, whose message timeout the AI Gateway v1.0.0 sets to 300 s
	// (internal/extensionserver/inferencepool.go), then Envoy's stream idle
	// timeout and the NLB's idle timeout (package coldstart).
	RequestTTLSeconds int
	// MaxQueuedRequests bounds the requests the EPP holds for the model:
	// one more is rejected at once.
	MaxQueuedRequests int
	// MaxQueuedBytes bounds the request bodies the EPP holds for the model
	// (EPP memory, not GPU memory or tokens).
	MaxQueuedBytes int64
}

// Validate reports every field that would make Config write a file the
// platform must not run, naming the field and the bad value.
func (s Spec) Validate() error {
	var errs []error
	if s.MaxNumSeqs < 1 || s.MaxNumSeqs > 1024 {
		errs = append(errs, fmt.Errorf("eppconfig: MaxNumSeqs %d: must be between 1 and 1024 (vLLM's --max-num-seqs)", s.MaxNumSeqs))
	}
	// A zero TTL is valid to the EPP and means no TTL at all: a request
	// waits until the client goes away (flowControl.defaultRequestTTL in
	// apix/config/v1alpha1/endpointpickerconfig_types.go; the controller
	// sets no deadline when it is 0, pkg/epp/flowcontrol/controller/controller.go
	// createRequestContext). The platform never wants that.
	if s.RequestTTLSeconds < 1 {
		errs = append(errs, fmt.Errorf("eppconfig: RequestTTLSeconds %d: must be at least 1 (0 means wait forever)", s.RequestTTLSeconds))
	}
	// 0 means no limit to the EPP (pkg/epp/flowcontrol/registry/config.go
	// NewConfigFromAPI); the queue must be bounded.
	if s.MaxQueuedRequests < 1 {
		errs = append(errs, fmt.Errorf("eppconfig: MaxQueuedRequests %d: must be at least 1 (0 means no limit)", s.MaxQueuedRequests))
	}
	if s.MaxQueuedBytes < 1 {
		errs = append(errs, fmt.Errorf("eppconfig: MaxQueuedBytes %d: must be at least 1 (0 means no limit)", s.MaxQueuedBytes))
	}
	return errors.Join(errs...)
}

// APIVersion and Kind of the file. The group is the one the v1.5.0 loader
// decodes, strictly, into EndpointPickerConfig:
// apix/config/v1alpha1/zz_generated.register.go (GroupName) installed in
// the only scheme pkg/epp/config/loader/configloader.go decodes with
// (decodeRawConfig, serializer.EnableStrict). The flow-control guide
// (site-src/guides/flow-control.md) shows config.x-k8s.io/v1alpha1, which
// that loader refuses; the chart (config/charts/epplib/templates/_config.yaml)
// and the loader's own default (pkg/epp/config/loader/defaults.go) use this.
const (
	APIVersion = "inference.networking.x-k8s.io/v1alpha1"
	Kind       = "EndpointPickerConfig"
)

// FlowControlGate is the feature gate that turns the flow-control layer on
// (pkg/epp/flowcontrol/config.go FeatureGate, registered by
// cmd/epp/runner/runner.go parseConfigurationPhaseOne). It goes in the
// file's top-level featureGates list. Without it the flowControl section is
// not even read (pkg/epp/config/loader/configloader.go
// InstantiateAndConfigure) and the runner uses the legacy admission
// controller, which never queues: it rejects sheddable requests when
// saturated and sends the rest straight to the model server.
const FlowControlGate = "flowControl"

// Plugin types, each the name of its only instance (the loader names an
// instance after its type when the name is omitted,
// pkg/epp/config/loader/defaults.go applyStaticDefaults; the file names
// them anyway so that every reference is visibly resolvable). Paths are
// under pkg/epp/framework/plugins/.
const (
	// The chart's default scheduling (config/charts/epplib/templates/_config.yaml,
	// the same as pkg/epp/config/loader/defaults.go loadDefaultConfig),
	// with the picker and profile handler the loader would add.
	QueueScorer    = "queue-scorer"                // scheduling/scorer/queuedepth/queue.go
	KVCacheScorer  = "kv-cache-utilization-scorer" // scheduling/scorer/kvcacheutilization/kvcache_utilization.go
	PrefixScorer   = "prefix-cache-scorer"         // scheduling/scorer/prefix/plugin.go
	MaxScorePicker = "max-score-picker"            // scheduling/picker/max_score_picker.go
	ProfileHandler = "single-profile-handler"      // scheduling/profile/single_profile_handler.go
	MetricsSource  = "metrics-data-source"         // datalayer/source/metrics/datasource.go
	MetricsExtract = "core-metrics-extractor"      // datalayer/extractor/metrics/factories.go
	// Flow control.
	FairnessPolicy = "round-robin-fairness-policy" // flowcontrol/fairness/roundrobin.go
	OrderingPolicy = "fcfs-ordering-policy"        // flowcontrol/ordering/fcfs.go
	Detector       = "concurrency-detector"        // flowcontrol/saturationdetector/concurrency/detector.go
	InFlightLoad   = "inflight-load-producer"      // requestcontrol/requestdataproducer/inflightload/producer.go
)

// ProfileName is the one scheduling profile's name.
const ProfileName = "default"

// ConcurrencyMode is the detector's accounting: requests, not estimated
// tokens (vLLM's --max-num-seqs counts sequences).
const ConcurrencyMode = "requests"

// Scorer weights: the chart's default profile
// (config/charts/epplib/templates/_config.yaml).
const (
	QueueScorerWeight   = 2
	KVCacheScorerWeight = 2
	PrefixScorerWeight  = 3
)

// Where the EPP scrapes each vLLM replica: vLLM serves Prometheus metrics
// on its API port (the InferencePool's target port) at /metrics, over plain
// HTTP. These are the data source's defaults
// (pkg/epp/framework/plugins/datalayer/source/metrics/datasource.go), the
// values the chart sets; the chart's insecureSkipVerify only applies to
// https and is left out.
const (
	MetricsScheme = "http"
	MetricsPath   = "/metrics"
)

// Priority is the one priority band's level. A request gets the priority
// of its InferenceObjective, or 0 without one
// (pkg/epp/requestcontrol/director.go getInferenceObjective); the platform
// creates none, so every request is in this band.
const Priority = 0

// Config returns the EndpointPickerConfig file for one model. It panics if
// s is invalid: callers validate the stack configuration first (Validate
// says what is wrong).
func Config(s Spec) string {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return marshal(document(s))
}

// document builds the file as an ordered tree (see yaml.go).
func document(s Spec) mapping {
	plugin := func(name string, params mapping) mapping {
		m := mapping{{"name", name}, {"type", name}}
		if params != nil {
			m = append(m, field{"parameters", params})
		}
		return m
	}
	ref := func(name string) mapping { return mapping{{"pluginRef", name}} }
	weighted := func(name string, w int) mapping { return mapping{{"pluginRef", name}, {"weight", w}} }

	return mapping{
		{"apiVersion", APIVersion},
		{"kind", Kind},
		{"featureGates", sequence{FlowControlGate}},
		{"plugins", sequence{
			plugin(QueueScorer, nil),
			plugin(KVCacheScorer, nil),
			// The loader also creates the prefix data producer this scorer
			// reads from (pkg/epp/config/loader/configloader.go
			// instantiatePlugins).
			plugin(PrefixScorer, nil),
			plugin(MaxScorePicker, nil),
			plugin(ProfileHandler, nil),
			plugin(MetricsSource, mapping{{"scheme", MetricsScheme}, {"path", MetricsPath}}),
			// No parameters: the default engine is vLLM, whose series
			// (vllm:num_requests_waiting, vllm:num_requests_running,
			// vllm:kv_cache_usage_perc, ...) feed the queue and KV-cache
			// scorers (pkg/epp/framework/plugins/datalayer/extractor/metrics/factories.go
			// defaultEngineConfigs).
			plugin(MetricsExtract, nil),
			plugin(FairnessPolicy, nil),
			plugin(OrderingPolicy, nil),
			// The saturation detector. Two exist at v1.5.0
			// (pkg/epp/framework/plugins/flowcontrol/saturationdetector/):
			//   - utilization-detector (utilization/config.go): an endpoint's
			//     score is max(waiting / queueDepthThreshold (default 5),
			//     KV-cache use / kvCacheUtilThreshold (default 0.8)) from
			//     scraped metrics, stale ones (metricsStalenessThreshold,
			//     default 200ms) counting as saturated;
			//   - concurrency-detector (concurrency/config.go): an endpoint's
			//     capacity is maxConcurrency (default 100) requests in
			//     flight, counted by the EPP itself; the pool is saturated
			//     when the requests in flight reach the sum of its
			//     endpoints' capacities (concurrency/detector.go Saturation),
			//     and is saturated when it has no endpoint at all (the
			//     scale-from-zero hold).
			// vLLM runs at most --max-num-seqs sequences per replica and
			// queues the rest where the EPP's fairness cannot reach them,
			// so maxConcurrency = MaxNumSeqs is the direct mapping; the
			// utilization detector has no parameter for it. Headroom stays
			// at its default 0: no burst above max-num-seqs. The detector
			// reads the in-flight counts that inflight-load-producer
			// writes, which nothing adds by default.
			//
			// Caveat at v1.5.0: the producer writes the counts into the
			// scheduler's per-request copies of the endpoints
			// (pkg/epp/framework/interface/scheduling/types.go NewEndpoint
			// clones the attributes), while flow control asks the detector
			// about the datastore's endpoints
			// (pkg/epp/flowcontrol/controller/internal/processor.go
			// dispatchCycle, pkg/epp/requestcontrol/candidates.go Locate),
			// so the pool's saturation stays 0 while it has endpoints and
			// only the no-endpoint hold works (upstream
			// llm-d/llm-d-router#1474, fixed after v1.5.0).
			// tests/epp pins this behaviour.
			plugin(Detector, mapping{
				{"concurrencyMode", ConcurrencyMode},
				{"maxConcurrency", s.MaxNumSeqs},
			}),
			plugin(InFlightLoad, nil),
		}},
		{"schedulingProfiles", sequence{mapping{
			{"name", ProfileName},
			{"plugins", sequence{
				weighted(QueueScorer, QueueScorerWeight),
				weighted(KVCacheScorer, KVCacheScorerWeight),
				weighted(PrefixScorer, PrefixScorerWeight),
				ref(MaxScorePicker),
			}},
		}}},
		// One detector serves flow control and the legacy admission path
		// (apix/config/v1alpha1/endpointpickerconfig_types.go
		// SaturationDetectorConfig); without this section the loader picks
		// utilization-detector (pkg/epp/config/loader/defaults.go
		// ensureSaturationDetector).
		{"saturationDetector", ref(Detector)},
		// Written out although it is what the loader would add for an
		// absent section (pkg/epp/config/loader/defaults.go ensureDataLayer).
		{"dataLayer", mapping{{"sources", sequence{mapping{
			{"pluginRef", MetricsSource},
			{"extractors", sequence{ref(MetricsExtract)}},
		}}}}},
		{"flowControl", flowControl(s)},
	}
}

// flowControl is the flowControl section
// (apix/config/v1alpha1/endpointpickerconfig_types.go FlowControlConfig).
func flowControl(s Spec) mapping {
	band := func(priority *int) mapping {
		var m mapping
		if priority != nil {
			m = append(m, field{"priority", *priority})
		}
		return append(m,
			field{"maxRequests", s.MaxQueuedRequests},
			field{"maxBytes", s.MaxQueuedBytes},
			// Round robin between flows: a flow is a fairness ID (the
			// x-gateway-inference-fairness-id request header, our API
			// client; "default-flow" without one: pkg/epp/metadata/consts.go,
			// pkg/epp/handlers/request.go) at a priority. The default,
			// global-strict-fairness-policy
			// (pkg/epp/flowcontrol/registry/config.go
			// DefaultFairnessPolicyRef), serves the oldest request of the
			// band whoever sent it, so one client can starve the others
			// (pkg/epp/framework/plugins/flowcontrol/fairness/doc.go).
			field{"fairnessPolicyRef", FairnessPolicy},
			// First come, first served within a client's flow (also the
			// default, registry/config.go DefaultOrderingPolicyRef).
			field{"orderingPolicyRef", OrderingPolicy},
		)
	}
	p := Priority
	return mapping{
		// The queue limits count requests held in the EPP, not in flight
		// (pkg/epp/flowcontrol/controller/internal/processor.go
		// hasCapacity). They are set for the whole layer and again on the
		// band, whose byte limit would otherwise default to 1 GB
		// (pkg/epp/flowcontrol/registry/config.go
		// defaultPriorityBandMaxBytes).
		{"maxRequests", s.MaxQueuedRequests},
		{"maxBytes", s.MaxQueuedBytes},
		// One TTL for the whole layer: v1.5.0 has no per-band TTL
		// (FlowControlConfig.DefaultRequestTTL; controller/config.go
		// NewConfigFromAPI). A request whose context carries an earlier
		// deadline keeps that one (controller/controller.go tryDistribution).
		{"defaultRequestTTL", strconv.Itoa(s.RequestTTLSeconds) + "s"},
		// The template for a band created on the fly for a priority not
		// listed below (an InferenceObjective someone adds): the same
		// policies and limits, rather than the strict-fairness default.
		{"defaultPriorityBand", band(nil)},
		{"priorityBands", sequence{band(&p)}},
	}
}
