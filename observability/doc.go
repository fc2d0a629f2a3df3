// Package observability provisions the metrics stack of the LLM layer:
// kube-prometheus-stack (Prometheus on an encrypted gp3 volume through the
// EBS CSI driver, Alertmanager, Grafana with a generated admin password),
// the NVIDIA DCGM exporter on GPU nodes, monitors for vLLM, the AI Gateway,
// Karpenter and KEDA, the SLO alerts and the Grafana dashboard.
//
// Every query lives in Go (rules.go, dashboard.go) and may only use the
// metrics listed in package metrics; the PromQL tests parse them all.
package observability
