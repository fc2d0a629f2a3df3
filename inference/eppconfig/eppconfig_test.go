package eppconfig

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.yaml from Config")

// dev is the spec of the example: max-num-seqs 32, a 280 s hold.
var dev = Spec{MaxNumSeqs: 32, RequestTTLSeconds: 280, MaxQueuedRequests: 256, MaxQueuedBytes: 64 << 20}

// TestGolden keeps the whole file for the example spec under review
// (testdata/dev.yaml, regenerated with -update).
func TestGolden(t *testing.T) {
	t.Parallel()
	got := Config(dev)
	path := filepath.Join("testdata", "dev.yaml")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Config(dev) differs from %s (go test -update to accept):\n%s", path, got)
	}
}

// TestConfigFollowsSpec: each Spec field lands where the EPP reads it, and
// nothing else moves.
func TestConfigFollowsSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		spec Spec
		// want are lines the file must contain (indentation included).
		want []string
	}{
		{
			name: "dev",
			spec: dev,
			want: []string{
				"    maxConcurrency: 32\n",
				"  defaultRequestTTL: \"280s\"\n",
				"  maxRequests: 256\n",
				"  maxBytes: 67108864\n",
				"  - priority: 0\n    maxRequests: 256\n    maxBytes: 67108864\n",
			},
		},
		{
			name: "one sequence, one second, one request, one byte",
			spec: Spec{MaxNumSeqs: 1, RequestTTLSeconds: 1, MaxQueuedRequests: 1, MaxQueuedBytes: 1},
			want: []string{
				"    maxConcurrency: 1\n",
				"  defaultRequestTTL: \"1s\"\n",
				"  maxRequests: 1\n",
				"  maxBytes: 1\n",
			},
		},
		{
			name: "vLLM's upper bound",
			spec: Spec{MaxNumSeqs: 1024, RequestTTLSeconds: 3600, MaxQueuedRequests: 10000, MaxQueuedBytes: 1 << 30},
			want: []string{
				"    maxConcurrency: 1024\n",
				"  defaultRequestTTL: \"3600s\"\n",
				"  maxBytes: 1073741824\n",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Config(tc.spec)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			// Everything but the Spec's numbers is the same as dev's.
			if a, b := skeleton(got, tc.spec), skeleton(Config(dev), dev); a != b {
				t.Errorf("beyond the Spec's values, the file differs from dev's:\n%s\nvs\n%s", a, b)
			}
		})
	}
}

// skeleton replaces the spec's values in a file by placeholders.
func skeleton(file string, s Spec) string {
	r := strings.NewReplacer(
		"maxConcurrency: "+itoa(s.MaxNumSeqs), "maxConcurrency: N",
		"defaultRequestTTL: \""+itoa(s.RequestTTLSeconds)+"s\"", "defaultRequestTTL: T",
		"maxRequests: "+itoa(s.MaxQueuedRequests), "maxRequests: R",
		"maxBytes: "+itoa(int(s.MaxQueuedBytes)), "maxBytes: B",
	)
	return r.Replace(file)
}

func itoa(i int) string { return scalar(i) }

// TestFixedChoices: the parts of the file that do not depend on the Spec,
// each a decision the package comments explain.
func TestFixedChoices(t *testing.T) {
	t.Parallel()
	got := Config(dev)
	for _, w := range []string{
		"apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n",
		"featureGates:\n- flowControl\n",
		"saturationDetector:\n  pluginRef: concurrency-detector\n",
		"- name: concurrency-detector\n  type: concurrency-detector\n  parameters:\n    concurrencyMode: requests\n",
		"- name: inflight-load-producer\n  type: inflight-load-producer\n",
		"  - pluginRef: queue-scorer\n    weight: 2\n",
		"  - pluginRef: kv-cache-utilization-scorer\n    weight: 2\n",
		"  - pluginRef: prefix-cache-scorer\n    weight: 3\n",
		"  - pluginRef: max-score-picker\n",
		"- name: single-profile-handler\n",
		"  parameters:\n    scheme: http\n    path: /metrics\n",
		"dataLayer:\n  sources:\n  - pluginRef: metrics-data-source\n    extractors:\n    - pluginRef: core-metrics-extractor\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	// Both the band and the template for unlisted priorities round-robin
	// between clients, first come first served within one.
	if n := strings.Count(got, "fairnessPolicyRef: round-robin-fairness-policy\n"); n != 2 {
		t.Errorf("round-robin fairness on %d bands, want 2 (the band and the default template)", n)
	}
	if n := strings.Count(got, "orderingPolicyRef: fcfs-ordering-policy\n"); n != 2 {
		t.Errorf("FCFS ordering on %d bands, want 2", n)
	}
	if strings.Contains(got, "global-strict") || strings.Contains(got, "utilization-detector") {
		t.Errorf("a default the file replaces is named:\n%s", got)
	}
}

// TestValidate: every invalid field is reported by name with its value,
// and Config refuses to write the file.
func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"TTL 0 (wait forever)", func(s *Spec) { s.RequestTTLSeconds = 0 }, "RequestTTLSeconds 0: must be at least 1 (0 means wait forever)"},
		{"negative TTL", func(s *Spec) { s.RequestTTLSeconds = -5 }, "RequestTTLSeconds -5"},
		{"no sequences", func(s *Spec) { s.MaxNumSeqs = 0 }, "MaxNumSeqs 0: must be between 1 and 1024"},
		{"above vLLM's bound", func(s *Spec) { s.MaxNumSeqs = 1025 }, "MaxNumSeqs 1025"},
		{"unbounded queue", func(s *Spec) { s.MaxQueuedRequests = 0 }, "MaxQueuedRequests 0: must be at least 1 (0 means no limit)"},
		{"unbounded bytes", func(s *Spec) { s.MaxQueuedBytes = 0 }, "MaxQueuedBytes 0: must be at least 1 (0 means no limit)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := dev
			tc.edit(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
			defer func() {
				if r := recover(); r == nil {
					t.Error("Config wrote a file for an invalid spec")
				}
			}()
			_ = Config(s)
		})
	}
	if err := dev.Validate(); err != nil {
		t.Errorf("dev: %v", err)
	}
	if err := (Spec{}).Validate(); err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("zero Spec: want all four fields reported, got %v", err)
	}
}

// TestScalar: strings YAML would read as something else are quoted.
func TestScalar(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{
		{"queue-scorer", "queue-scorer"},
		{"/metrics", "/metrics"},
		{"inference.networking.x-k8s.io/v1alpha1", "inference.networking.x-k8s.io/v1alpha1"},
		{"280s", `"280s"`},
		{"on", `"on"`},
		{"No", `"No"`},
		{"null", `"null"`},
		{"a: b", `"a: b"`},
		{"a #b", `"a #b"`},
		{"", `""`},
		{"quote\"d", `"quote\"d"`},
		{2, "2"},
		{int64(67108864), "67108864"},
		{2.5, "2.5"},
		{true, "true"},
	} {
		if got := scalar(tc.in); got != tc.want {
			t.Errorf("scalar(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestMarshal: nesting, empty collections and sequence items.
func TestMarshal(t *testing.T) {
	t.Parallel()
	got := marshal(mapping{
		{"a", 1},
		{"b", mapping{{"c", "d"}, {"e", sequence{"f", mapping{{"g", 1}, {"h", mapping{{"i", 2}}}}}}}},
		{"j", sequence{}},
		{"k", mapping{}},
		{"l", sequence{mapping{}}},
	})
	want := `a: 1
b:
  c: d
  e:
  - f
  - g: 1
    h:
      i: 2
j: []
k: {}
l:
- {}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
