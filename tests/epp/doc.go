// Package epp loads the endpoint picker configuration that package
// inference/eppconfig writes with the EPP's own code at the version the
// platform deploys (sigs.k8s.io/gateway-api-inference-extension v1.5.0), the
// way cmd/epp/runner/runner.go does at startup, and fails on anything the
// EPP would refuse there:
//
//  1. the feature gates the runner registers (parseConfigurationPhaseOne);
//  2. every plugin type and factory the runner registers
//     (registerInTreePlugins; a test reads runner.go to keep the two
//     lists equal);
//  3. loader.LoadRawConfig: strict decoding of the apiVersion, kind and
//     every field, static defaults, unknown feature gates;
//  4. loader.InstantiateAndConfigure: each plugin's factory with its
//     parameters, the injected defaults, references between sections, the
//     scheduler, data layer, flow-control (registry and controller
//     validation and defaulting, pkg/epp/flowcontrol/config.go) and parser
//     configurations, the saturation detector;
//  5. datalayer.ValidateAndOrderDataDependencies over all plugins, the
//     data layer runtime's source/extractor check (Runtime.Configure), and
//     the flow registry's construction (NewFlowRegistry).
//
// On top of that, the tests hold the loaded result to the platform's
// choices (flow control on, the TTL, one round-robin band, the detector's
// capacity measured by asking the detector, the chart's scorers), and run
// the flow controller the runner would build from it: a request is held
// while the model has no replica and dispatched when one appears, evicted
// at the TTL, rejected beyond the queue bound, and API clients are served
// in turn. Broken copies of the file prove that each check bites.
//
// What startup does besides, and this harness does not: flags, the
// Kubernetes client and controller manager, the datastore, servers; the
// deprecated ENABLE_EXPERIMENTAL_FLOW_CONTROL_LAYER environment variable,
// which can add the flow-control gate (the platform never sets it).
//
// Plugin parameters are decoded by each factory with encoding/json, which
// ignores unknown keys (a misspelt parameter silently keeps its default), so
// CheckParams holds every parameter key to the json names of the plugin's
// parameter struct, read from the upstream source.
package epp
