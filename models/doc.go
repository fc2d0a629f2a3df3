// Package models runs the vLLM models: KEDA, and per model a preload Job
// that puts the pinned Hugging Face revision on the S3 Files volume, a vLLM
// Deployment on the L4 pool that waits for it, a Service, a disruption
// budget, network policies, and a KEDA ScaledObject that scales on vLLM's
// leading saturation signals (running/max-num-seqs, KV cache use, waiting
// requests), and wakes a scaled-to-zero model on the gateway's request rate.
package models
