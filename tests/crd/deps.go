package crd

// The upstream modules the CRDs come from. Importing one package of each
// keeps the module in go.mod (go mod tidy would drop a bare requirement),
// at the version the platform deploys.
import (
	_ "github.com/aws/karpenter-provider-aws/pkg/apis"
	_ "github.com/envoyproxy/ai-gateway/api/v1beta1"
	_ "github.com/envoyproxy/gateway/api/v1alpha1"
	_ "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	_ "sigs.k8s.io/gateway-api/apis/v1"
)
