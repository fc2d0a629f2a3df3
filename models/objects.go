package models

import (
	"fmt"
	"strings"
)

// Labels of a model's pods; ComponentLabel lets the PodMonitor find every
// vLLM pod.
func Labels(model string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     "vllm",
		"app.kubernetes.io/instance": model,
		"llm-platform/component":     "vllm",
	}
}

// ScaledObjectObject is the KEDA ScaledObject of a model's Deployment.
func ScaledObjectObject(s Spec, namespace, prometheusURL string) map[string]any {
	var triggers []any
	for _, t := range Triggers(s) {
		md := map[string]any{
			"serverAddress": prometheusURL,
			"query":         t.Query,
			"threshold":     t.Threshold,
		}
		if t.Activation != "" {
			md["activationThreshold"] = t.Activation
		}
		triggers = append(triggers, map[string]any{
			"type": "prometheus", "name": t.Name, "metricType": t.MetricType, "metadata": md,
		})
	}
	return map[string]any{
		"apiVersion": "keda.sh/v1alpha1",
		"kind":       "ScaledObject",
		"metadata":   map[string]any{"name": s.Name, "namespace": namespace},
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": s.Name},
			"minReplicaCount": s.MinReplicas,
			"maxReplicaCount": s.MaxReplicas,
			"pollingInterval": 15,
			// Only applies to going from 1 to 0 replicas.
			"cooldownPeriod": 600,
			"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"behavior": map[string]any{
				// A new replica takes minutes (node, image, weights): add
				// them promptly, remove them only after 5 quiet minutes,
				// one at a time.
				"scaleUp": map[string]any{
					"stabilizationWindowSeconds": 0,
					"policies":                   []any{map[string]any{"type": "Pods", "value": 2, "periodSeconds": 60}},
				},
				"scaleDown": map[string]any{
					"stabilizationWindowSeconds": 300,
					"policies":                   []any{map[string]any{"type": "Pods", "value": 1, "periodSeconds": 300}},
				},
			}}},
			"triggers": triggers,
		},
	}
}

// Download is one repository the preload job fetches.
type Download struct {
	Repo, Revision, Dir string
}

// Downloads are the model and its adapters.
func Downloads(s Spec) []Download {
	d := []Download{{Repo: s.HFRepo, Revision: s.Revision, Dir: s.WeightsDir()}}
	for _, a := range s.Adapters {
		d = append(d, Download{Repo: a.HFRepo, Revision: a.Revision, Dir: AdapterDir(a)})
	}
	return d
}

// PreloadScript downloads each repository at its pinned revision onto the
// volume, skipping those whose completion marker exists, and writes the
// marker last through a rename (atomic on NFS), so a marker always means a
// complete download. One worker: parallel writes through S3 Files' NFS
// interface can deadlock on file locks.
func PreloadScript(downloads []Download) string {
	var b strings.Builder
	b.WriteString(`import os, sys, time
from huggingface_hub import snapshot_download

def fetch(repo, revision, target):
    marker = os.path.join(target, ".complete-" + revision)
    if os.path.exists(marker):
        print(f"{repo}@{revision}: already complete in {target}", flush=True)
        return
    os.makedirs(target, exist_ok=True)
    start = time.time()
    print(f"{repo}@{revision}: downloading to {target}", flush=True)
    snapshot_download(repo_id=repo, revision=revision, local_dir=target, max_workers=1)
    tmp = marker + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{repo}@{revision}\n")
    os.rename(tmp, marker)
    print(f"{repo}@{revision}: complete in {time.time() - start:.0f}s", flush=True)

`)
	for _, d := range downloads {
		fmt.Fprintf(&b, "fetch(%q, %q, %q)\n", d.Repo, d.Revision, d.Dir)
	}
	return b.String()
}

// WaitScript blocks vLLM's start until the preload markers exist.
func WaitScript(s Spec) string {
	var markers []string
	for _, d := range Downloads(s) {
		markers = append(markers, MarkerFile(d.Dir, d.Revision))
	}
	return fmt.Sprintf(`for m in %s; do until [ -f "$m" ]; do echo "waiting for $m"; sleep 15; done; done`, strings.Join(markers, " "))
}
