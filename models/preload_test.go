package models

import (
	"crypto/sha1" //nolint:gosec // git blob ids are SHA-1
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The preload script runs for real (python3, standard library only, as in
// versions.PreloadImage) against a fake Hugging Face Hub: the commit's file
// list with sizes and hashes, a small file served by the Hub, a large one
// redirected to a CDN on another host. It must write every file verified,
// send the token to the Hub and never to the CDN, retry a corrupted
// transfer, write the marker last, and skip a revision whose marker exists.
func TestPreloadScriptAgainstFakeHub(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is needed to run the preload script")
		}
		t.Skip("no python3")
	}
	const repo, rev, token = "org/model", "0123456789abcdef0123456789abcdef01234567", "hf_secretToken"
	config := []byte(`{"architectures": ["Qwen2ForCausalLM"]}`)
	weights := []byte(strings.Repeat("weights!", 4096))
	blobID := func(b []byte) string {
		h := sha1.New() //nolint:gosec // git blob ids are SHA-1
		_, _ = fmt.Fprintf(h, "blob %d\x00", len(b))
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil))
	}
	sum := sha256.Sum256(weights)

	var mu sync.Mutex
	var log []string
	record := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	corruptOnce := true
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("cdn " + r.URL.Path + " auth=" + r.Header.Get("Authorization"))
		mu.Lock()
		corrupt := corruptOnce
		corruptOnce = false
		mu.Unlock()
		if corrupt {
			_, _ = w.Write(weights[:len(weights)-1])
			_, _ = w.Write([]byte("X"))
			return
		}
		_, _ = w.Write(weights)
	}))
	defer cdn.Close()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("hub " + r.URL.Path + " auth=" + r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/api/models/" + repo + "/revision/" + rev:
			if r.URL.Query().Get("blobs") != "true" {
				http.Error(w, "blobs=true expected", http.StatusBadRequest)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"siblings": []any{
				map[string]any{"rfilename": "config.json", "size": len(config), "blobId": blobID(config)},
				map[string]any{"rfilename": "shards/model.safetensors", "size": len(weights), "blobId": "irrelevant",
					"lfs": map[string]any{"sha256": hex.EncodeToString(sum[:]), "size": len(weights)}},
				// The same weights again in formats vLLM does not load here.
				map[string]any{"rfilename": "pytorch_model.bin", "size": 1, "lfs": map[string]any{"sha256": "x", "size": 1}},
				map[string]any{"rfilename": "original/consolidated.00.pth", "size": 1, "lfs": map[string]any{"sha256": "x", "size": 1}},
			}})
		case "/" + repo + "/resolve/" + rev + "/config.json":
			_, _ = w.Write(config)
		case "/" + repo + "/resolve/" + rev + "/shards/model.safetensors":
			http.Redirect(w, r, cdn.URL+"/xet/abc?signature=1", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer hub.Close()

	target := filepath.Join(t.TempDir(), "model", rev)
	script := PreloadScript([]Download{{Repo: repo, Revision: rev, Dir: target}})
	run := func() string {
		cmd := exec.Command(python, "-c", script)
		cmd.Env = append(os.Environ(), "HF_ENDPOINT="+hub.URL, "HF_TOKEN="+token, "PRELOAD_RETRY_SECONDS=0.01")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("preload script: %v\n%s", err, out)
		}
		return string(out)
	}
	out := run()
	for name, want := range map[string][]byte{"config.json": config, "shards/model.safetensors": weights} {
		got, err := os.ReadFile(filepath.Join(target, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: %d bytes, err %v; want the Hub's %d bytes", name, len(got), err, len(want))
		}
	}
	if _, err := os.Stat(MarkerFile(target, rev)); err != nil {
		t.Errorf("no completion marker: %v\n%s", err, out)
	}
	if !strings.Contains(out, "retrying") {
		t.Errorf("the corrupted transfer was not retried:\n%s", out)
	}
	mu.Lock()
	calls := strings.Join(log, "\n")
	mu.Unlock()
	if !strings.Contains(calls, "hub /api/models/"+repo+"/revision/"+rev+" auth=Bearer "+token) {
		t.Errorf("the Hub did not get the token:\n%s", calls)
	}
	if strings.Contains(calls, "cdn /xet/abc auth=Bearer") {
		t.Errorf("the token was sent to the CDN:\n%s", calls)
	}

	for _, skipped := range []string{"pytorch_model.bin", "original/consolidated.00.pth"} {
		if strings.Contains(calls, skipped) {
			t.Errorf("downloaded %s beside the safetensors", skipped)
		}
	}

	mu.Lock()
	log = nil
	mu.Unlock()
	if again := run(); !strings.Contains(again, "already complete") {
		t.Errorf("second run did not skip the complete revision:\n%s", again)
	}
	if len(log) != 0 {
		t.Errorf("second run made requests: %v", log)
	}

	// A Job retried after a failure resumes: verified files stay.
	if err := os.Remove(MarkerFile(target, rev)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	log = nil
	mu.Unlock()
	run()
	mu.Lock()
	resumed := strings.Join(log, "\n")
	mu.Unlock()
	if strings.Contains(resumed, "/resolve/") || strings.Contains(resumed, "cdn ") {
		t.Errorf("a resumed run downloaded verified files again:\n%s", resumed)
	}

	// A wrong repository or revision fails at once, not after retries.
	missing := PreloadScript([]Download{{Repo: "org/missing", Revision: rev, Dir: filepath.Join(t.TempDir(), "m")}})
	cmd := exec.Command(python, "-c", missing)
	cmd.Env = append(os.Environ(), "HF_ENDPOINT="+hub.URL, "PRELOAD_RETRY_SECONDS=5")
	start := time.Now()
	failed, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(failed), "HTTP 404") || time.Since(start) > 4*time.Second {
		t.Errorf("missing repository: err %v after %v, output:\n%s\nwant an immediate HTTP 404 failure", err, time.Since(start), failed)
	}
}
