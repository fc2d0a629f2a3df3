// Package gpu provisions the Karpenter GPU pool: an EC2NodeClass for
// Bottlerocket (Karpenter picks the aws-k8s-<version>-nvidia variant for
// GPU instance types) and the gpu-l4 NodePool of NVIDIA L4 instances (g6,
// gr6), spot first with on-demand fallback, capped by a GPU limit.
//
// No NVIDIA device-plugin DaemonSet is deployed: the Bottlerocket NVIDIA
// variants ship the device plugin in the OS, and a second one would fight
// it over the nvidia.com/gpu resource.
//
// Both objects depend on the Karpenter release, so `pulumi destroy` deletes
// them while the controller still runs: Karpenter drains and terminates the
// GPU nodes before it is itself removed.
package gpu
