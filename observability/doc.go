// Package observability provisions the metrics stack of the LLM layer:
// kube-prometheus-stack (Prometheus on an encrypted gp3 volume through the
// EBS CSI driver, Alertmanager with the configured receiver, Grafana with
// a generated admin password), the NVIDIA DCGM exporter on GPU nodes,
// monitors for vLLM, the models' endpoint pickers, the AI Gateway,
// Karpenter and KEDA, the SLO alerts (with the endpoint pickers' held,
// expired and refused requests, pools.go), the cold-start recording rules
// and alert, and the Grafana dashboard.
//
// Two namespaces: Namespace enforces the restricted Pod Security level;
// HostNamespace, labelled privileged, holds only the exporters that need
// the host (DCGM exporter, node-exporter).
//
// Every query lives in Go (rules.go, dashboard.go) and may only use the
// metrics listed in package metrics; the PromQL tests parse them all.
// Package chartdefaults records what the charts installed here do by
// default, where tests cannot render them.
package observability
