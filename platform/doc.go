// Package platform wires the components into the whole program. main.go,
// the offline render and the tests all run Program, so what is tested is
// exactly what `pulumi up` deploys.
//
// The base stack is VPC + EKS + Karpenter. Everything that costs GPU money
// or installs workloads (GPU pool, storage, gateway, models, observability)
// is an opt-in layer behind llm.enabled.
package platform
