package models

import (
	"fmt"
	"strings"

	"github.com/llm-platform/llm-platform/coldstart"
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
			// With the Prometheus scrape interval, the wake-up signal
			// phase of the cold-start budget.
			"pollingInterval": coldstart.KEDAPollingSeconds,
			// Only applies to going from 1 to 0 replicas: how long every
			// trigger must be inactive (nothing running, waiting or held
			// in the picker) first (models[].scaleToZeroAfter).
			"cooldownPeriod": s.ScaleToZeroAfterSeconds,
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
// complete download. One file at a time: parallel writes through S3 Files'
// NFS interface can deadlock on file locks.
//
// It needs only Python's standard library, so it runs in a small pinned
// Python image (versions.PreloadImage) instead of the ~30 GiB vLLM image
// on the platform nodes' disks, and installs nothing at run time. It speaks
// the Hub's HTTP API directly: the file list of the commit with each file's
// size and hash (GET /api/models/<repo>/revision/<rev>?blobs=true), then
// each file from /<repo>/resolve/<rev>/<path>, checked against its LFS
// sha256 or, for small files, its git blob id. The token goes to the Hub
// only: a redirect to another host (the Hub's CDN, with a signed URL) does
// not carry it.
func PreloadScript(downloads []Download) string {
	var b strings.Builder
	b.WriteString(`import hashlib, json, os, sys, time, urllib.error, urllib.parse, urllib.request

ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
TOKEN = os.environ.get("HF_TOKEN", "")
RETRY_SECONDS = float(os.environ.get("PRELOAD_RETRY_SECONDS", "10"))

class SameHostAuth(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new

OPENER = urllib.request.build_opener(SameHostAuth)

def get(url):
    req = urllib.request.Request(url, headers={"User-Agent": "llm-platform-preload"})
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    return OPENER.open(req, timeout=120)

def retry(what, fn):
    for attempt in range(6):
        try:
            return fn()
        except urllib.error.HTTPError as e:
            # A missing token, a gated model or a wrong revision will not
            # get better: fail now, with the Hub's answer.
            if e.code in (401, 403, 404):
                raise SystemExit(f"{what}: HTTP {e.code} {e.reason} (gated model without huggingFaceToken, or a wrong repository or revision)")
            error = e
        except Exception as e:
            error = e
        if attempt == 5:
            raise error
        wait = RETRY_SECONDS * 2 ** attempt
        print(f"{what}: {error}; retrying in {wait}s", flush=True)
        time.sleep(wait)

def expected(f):
    lfs = f.get("lfs") or {}
    if lfs:
        return lfs.get("size"), hashlib.sha256, lfs.get("sha256")
    size = f.get("size")
    return size, lambda: hashlib.sha1(b"blob %d\0" % size), f.get("blobId")

def verified(path, f):
    size, new_hash, want = expected(f)
    if not os.path.exists(path) or os.path.getsize(path) != size:
        return False
    h = new_hash()
    with open(path, "rb") as src:
        while chunk := src.read(8 << 20):
            h.update(chunk)
    return h.hexdigest() == want

def wanted(files):
    # What vLLM loads: safetensors when the repository has them (not the
    # same weights again as PyTorch pickles), never other runtimes' formats
    # or Meta's original checkpoints.
    names = [f["rfilename"] for f in files]
    has_safetensors = any(n.endswith(".safetensors") for n in names)
    def keep(n):
        if n.startswith("original/") or n.endswith((".gguf", ".onnx", ".onnx_data", ".msgpack", ".h5", ".tflite", ".ot")):
            return False
        if has_safetensors and n.endswith((".bin", ".pth", ".pt")):
            return False
        return True
    return [f for f in files if keep(f["rfilename"])]

def download(repo, revision, f, target):
    # Written in place, not through a temporary name: a rename on S3 Files
    # is a copy and a delete in the versioned bucket (a noncurrent copy of
    # every shard). A file already there with the right size and hash is
    # kept, so a retried Job resumes where the last one stopped; the
    # revision's marker, written last, is what says the download is whole.
    name = f["rfilename"]
    dest = os.path.join(target, name)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if verified(dest, f):
        print(f"{repo}@{revision} {name}: already there", flush=True)
        return
    size, new_hash, want = expected(f)
    def once():
        h = new_hash()
        url = f"{ENDPOINT}/{repo}/resolve/{revision}/{urllib.parse.quote(name)}"
        with get(url) as r, open(dest, "wb") as out:
            while chunk := r.read(8 << 20):
                out.write(chunk)
                h.update(chunk)
        got, n = h.hexdigest(), os.path.getsize(dest)
        if n != size or got != want:
            raise ValueError(f"{name}: got {n} bytes, hash {got}; want {size} bytes, {want}")
    retry(f"{repo}@{revision} {name}", once)

def fetch(repo, revision, target):
    marker = os.path.join(target, ".complete-" + revision)
    if os.path.exists(marker):
        print(f"{repo}@{revision}: already complete in {target}", flush=True)
        return
    os.makedirs(target, exist_ok=True)
    start = time.time()
    def listing():
        with get(f"{ENDPOINT}/api/models/{repo}/revision/{revision}?blobs=true") as r:
            return json.load(r)["siblings"]
    files = wanted(retry(f"{repo}@{revision}: listing", listing))
    print(f"{repo}@{revision}: {len(files)} files to {target}", flush=True)
    for f in files:
        download(repo, revision, f, target)
    tmp = marker + ".tmp"
    with open(tmp, "w") as out:
        out.write(f"{repo}@{revision}\n")
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
