// Package cluster provisions Amazon EKS through pulumi-eks v4 and everything
// the cluster needs before workloads: a small Bottlerocket on-demand system
// node group (Graviton by default, tainted CriticalAddonsOnly: Karpenter,
// CoreDNS and node agents only), pinned managed addons (vpc-cni, kube-proxy, coredns and the EKS Pod
// Identity agent), admin access entries, the Kubernetes provider, and
// Karpenter with its node role, Pod Identity controller role, interruption
// queue and EventBridge rules.
//
// Authentication is access entries only (no aws-auth ConfigMap) and every
// workload identity is EKS Pod Identity (no OIDC provider, no IRSA). The
// Karpenter controller runs on the system node group, never on a node it
// manages. Dependencies are declared so that `pulumi destroy` removes what
// owns Karpenter nodes first, then the controller, then the cluster.
package cluster
