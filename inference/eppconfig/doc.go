// Package eppconfig writes the configuration file of the Gateway API
// Inference Extension endpoint picker (EPP, sigs.k8s.io/gateway-api-inference-extension
// v1.5.0) that sits in front of each vLLM model (issue 15): an
// EndpointPickerConfig with the flow-control layer on (requests wait in the
// EPP, round-robin between API clients, for at most a TTL, while the model
// has no ready replica or its replicas are saturated), a saturation
// detector sized from vLLM's --max-num-seqs, and the chart's default
// scheduling (prefix-cache, queue and KV-cache scorers, max-score picker,
// vLLM metrics scraped by the EPP's data layer).
//
// It is pure (standard library only, no Pulumi), so the program renders the
// file into a ConfigMap and tests/epp, a module of its own, loads the same
// text with the EPP's own loader at the pinned version. Comments cite files
// of the upstream module at v1.5.0, relative to its root.
package eppconfig
