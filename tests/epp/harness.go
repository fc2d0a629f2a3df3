package epp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"

	configapi "sigs.k8s.io/gateway-api-inference-extension/apix/config/v1alpha1"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/config"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/config/loader"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/datalayer"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/flowcontrol"
	fcregistry "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/flowcontrol/registry"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	extractormetrics "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/datalayer/extractor/metrics"
	sourcemetrics "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/datalayer/source/metrics"
	sourcenotifications "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/datalayer/source/notifications"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/flowcontrol/fairness"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/flowcontrol/ordering"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/flowcontrol/saturationdetector/concurrency"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/flowcontrol/saturationdetector/utilization"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/flowcontrol/usagelimits"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requestcontrol/admitter/latencyslo"
	reqdataprodprefix "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requestcontrol/dataproducer/approximateprefix"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requestcontrol/requestattributereporter"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requestcontrol/requestdataproducer/inflightload"
	latencyproducer "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requestcontrol/requestdataproducer/predictedlatency"
	testresponsereceived "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requestcontrol/test/responsereceived"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requesthandling/parsers/openai"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requesthandling/parsers/passthrough"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requesthandling/parsers/vllmgrpc"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/filter/prefixcacheaffinity"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/filter/sloheadroomtier"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/picker"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/profile"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/kvcacheutilization"
	latencyscorer "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/latency"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/loraaffinity"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/predictedlatency"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/prefix"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/queuedepth"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/runningrequests"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/scorer/tokenload"
	testfilter "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/scheduling/test/filter"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/handlers"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/scheduling"
)

// FeatureGates are the gates cmd/epp/runner/runner.go registers
// (parseConfigurationPhaseOne); any other in a file is refused.
var FeatureGates = []string{
	datalayer.ExperimentalDatalayerFeatureGate,
	datalayer.EnableLegacyMetricsFeatureGate,
	flowcontrol.FeatureGate,
}

// Registration is one plugin type and its factory, as runner.go's
// registerInTreePlugins pairs them.
type Registration struct {
	Type    string
	Factory fwkplugin.FactoryFunc
}

// Registrations are runner.go's registerInTreePlugins, in its order
// (TestRegistrationsMatchRunner keeps them equal): all of them rather than
// the dozen the file needs, so that a type the EPP accepts is accepted
// here; the others cost about 8 s of a cold build.
var Registrations = []Registration{
	{prefix.PrefixCacheScorerPluginType, prefix.PrefixCachePluginFactory},
	{picker.MaxScorePickerType, picker.MaxScorePickerFactory},
	{picker.RandomPickerType, picker.RandomPickerFactory},
	{picker.WeightedRandomPickerType, picker.WeightedRandomPickerFactory},
	{profile.SingleProfileHandlerType, profile.SingleProfileHandlerFactory},
	{kvcacheutilization.KvCacheUtilizationScorerType, kvcacheutilization.KvCacheUtilizationScorerFactory},
	{queuedepth.QueueScorerType, queuedepth.QueueScorerFactory},
	{runningrequests.RunningRequestsSizeScorerType, runningrequests.RunningRequestsSizeScorerFactory},
	{loraaffinity.LoraAffinityScorerType, loraaffinity.LoraAffinityScorerFactory},
	{tokenload.TokenLoadScorerType, tokenload.TokenLoadScorerFactory},
	{fairness.GlobalStrictFairnessPolicyType, fairness.GlobalStrictFairnessPolicyFactory},
	{fairness.RoundRobinFairnessPolicyType, fairness.RoundRobinFairnessPolicyFactory},
	{ordering.FCFSOrderingPolicyType, ordering.FCFSOrderingPolicyFactory},
	{ordering.EDFOrderingPolicyType, ordering.EDFOrderingPolicyFactory},
	{ordering.SLODeadlineOrderingPolicyType, ordering.SLODeadlineOrderingPolicyFactory},
	{usagelimits.StaticUsageLimitPolicyType, usagelimits.StaticPolicyFactory},
	{reqdataprodprefix.ApproxPrefixCachePluginType, reqdataprodprefix.ApproxPrefixCacheFactory},
	{predictedlatency.PredictedLatencyPluginType, predictedlatency.PredictedLatencyFactory},
	{latencyproducer.LatencyDataProviderPluginType, latencyproducer.PredictedLatencyFactory},
	{latencyslo.LatencyAdmissionPluginType, latencyslo.LatencyAdmissionFactory},
	{prefixcacheaffinity.PluginType, prefixcacheaffinity.Factory},
	{sloheadroomtier.PluginType, sloheadroomtier.Factory},
	{latencyscorer.LatencyScorerType, latencyscorer.Factory},
	{inflightload.InFlightLoadProducerType, inflightload.InFlightLoadProducerFactory},
	{testfilter.HeaderBasedTestingFilterType, testfilter.HeaderBasedTestingFilterFactory},
	{testresponsereceived.DestinationEndpointServedVerifierType, testresponsereceived.DestinationEndpointServedVerifierFactory},
	{sourcemetrics.MetricsDataSourceType, sourcemetrics.MetricsDataSourceFactory},
	{extractormetrics.MetricsExtractorType, extractormetrics.CoreMetricsExtractorFactory},
	{sourcenotifications.NotificationSourceType, sourcenotifications.NotificationSourceFactory},
	{sourcenotifications.EndpointNotificationSourceType, sourcenotifications.EndpointSourceFactory},
	{requestattributereporter.RequestAttributeReporterType, requestattributereporter.RequestAttributeReporterPluginFactory},
	{openai.OpenAIParserType, openai.OpenAIParserPluginFactory},
	{vllmgrpc.VllmGRPCParserType, vllmgrpc.VllmGRPCParserPluginFactory},
	{passthrough.PassthroughParserType, passthrough.PassthroughParserPluginFactory},
	{concurrency.ConcurrencyDetectorType, concurrency.ConcurrencyDetectorFactory},
	{utilization.UtilizationDetectorType, utilization.UtilizationDetectorFactory},
}

var registerOnce sync.Once

// register does what the runner does before loading: the loader's feature
// gates and the plugin registry are process-wide, so once.
func register() {
	registerOnce.Do(func() {
		for _, g := range FeatureGates {
			loader.RegisterFeatureGate(g)
		}
		for _, r := range Registrations {
			fwkplugin.Register(r.Type, r.Factory)
		}
	})
}

// Loaded is a configuration as the EPP holds it once startup has read it.
type Loaded struct {
	// Raw is the decoded file with the loader's defaults applied (the
	// "effective raw configuration" the EPP logs).
	Raw *configapi.EndpointPickerConfig
	// FeatureGates has every registered gate, true when the file sets it.
	FeatureGates map[string]bool
	// Config is what the runner builds the EPP from.
	Config *config.Config
	// Handle holds the instantiated plugins by name.
	Handle fwkplugin.Handle
	// DataOrder is the plugins' data-dependency order.
	DataOrder []string
}

// Load reads text the way the EPP's startup does (package comment) and
// returns the first error startup would stop on. Plugins get ctx through
// their handle.
func Load(ctx context.Context, text string, logger logr.Logger) (*Loaded, error) {
	register()

	// parseConfigurationPhaseOne.
	raw, gates, err := loader.LoadRawConfig([]byte(text), logger)
	if err != nil {
		return nil, fmt.Errorf("failed to parse config - %w", err)
	}

	// parseConfigurationPhaseTwo (no datastore: the handle's pod list is
	// empty).
	handle := fwkplugin.NewEppHandle(ctx, func() []types.NamespacedName { return nil })
	cfg, err := loader.InstantiateAndConfigure(raw, handle, logger)
	if err != nil {
		return nil, fmt.Errorf("failed to load the configuration - %w", err)
	}
	order, err := datalayer.ValidateAndOrderDataDependencies(handle.GetAllPlugins())
	if err != nil {
		return nil, fmt.Errorf("failed to load the configuration - %w", err)
	}
	if handlers.NewParser(cfg.ParserConfig) == nil {
		return nil, errors.New("no parser configured")
	}

	// setup: the scheduler, then configureAndStartDatalayer up to Start.
	if cfg.SchedulerConfig == nil {
		return nil, errors.New("scheduler config must be set either by config api or through code")
	}
	_ = scheduling.NewSchedulerWithConfig(cfg.SchedulerConfig)
	metricsEnabled := !gates[datalayer.EnableLegacyMetricsFeatureGate]
	disallowed := ""
	if !metricsEnabled {
		disallowed = extractormetrics.MetricsExtractorType
	}
	if err := datalayer.NewRuntime(0).Configure(cfg.DataConfig, metricsEnabled, disallowed, logger); err != nil {
		return nil, fmt.Errorf("failed to initialize data layer: %w", err)
	}

	// setup: the flow registry (the controller is started by the tests
	// that exercise it).
	if gates[flowcontrol.FeatureGate] {
		if _, err := fcregistry.NewFlowRegistry(cfg.FlowControlConfig.Registry, logger); err != nil {
			return nil, fmt.Errorf("failed to initialize Flow Registry: %w", err)
		}
	}

	return &Loaded{Raw: raw, FeatureGates: gates, Config: cfg, Handle: handle, DataOrder: order}, nil
}
