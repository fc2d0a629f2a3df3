// Package inference puts each self-hosted model behind a Gateway API
// Inference Extension InferencePool (v1.5.0) and its endpoint picker, and
// routes every served name to its model's pool through the AI Gateway.
//
// The picker chooses a replica for each request (prefix-cache affinity,
// queue depth, KV-cache use: package eppconfig) and, with flow control on,
// holds requests in memory while the model has no ready replica, for up to
// gateway.queueTimeoutSeconds: a model at zero replicas is woken by KEDA
// from the picker's queue (package models) and serves the held requests
// once its first replica is ready, so scaling to zero costs the first
// client a wait, not an error. The client's name, which the gateway's
// API-key check writes into the picker's fairness header, makes the queue
// serve clients in turn.
//
// The picker's objects are those of the project's inferencepool chart at
// the pinned release, declared directly (EPPObjects says why and how they
// differ); the real API server check renders the chart and compares.
package inference
