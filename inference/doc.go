// Package inference declares, per model, a Gateway API Inference Extension
// v1.5.0 InferencePool (inference.networking.k8s.io/v1) of the model's vLLM
// pods and its endpoint picker (EPP), the objects the upstream
// inferencepool chart renders made to pass restricted Pod Security
// (EPPObjects lists every difference; tests/crd/kubeapi renders the chart
// and holds the two to it), with the picker's configuration from package
// eppconfig; the Inference Extension's CRDs (NewCRDs); and the
// AIGatewayRoutes that send each served model name to its pool
// (RouteObjects).
package inference
