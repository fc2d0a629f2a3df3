package epp

import (
	"context"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/inference/eppconfig"

	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
)

// TestBrokenConfigsBite: each check fails on a broken copy of the file, at
// the stage that should catch it: "startup" (the EPP refuses to start, its
// own message quoted), "params" (the EPP starts, ignoring a parameter;
// CheckParams refuses), "platform" (the EPP starts with something the
// platform did not choose; the expectations refuse).
func TestBrokenConfigsBite(t *testing.T) {
	t.Parallel()
	good := eppconfig.Config(dev)
	for _, tc := range []struct {
		name     string
		old, new string
		stage    string
		want     string
	}{
		{
			name: "misspelled plugin type",
			old:  "  type: queue-scorer\n", new: "  type: queue-scorr\n",
			stage: "startup", want: "plugin type 'queue-scorr' is not registered",
		},
		{
			name: "the flow-control guide's API group",
			old:  "apiVersion: " + eppconfig.APIVersion, new: "apiVersion: config.x-k8s.io/v1alpha1",
			stage: "startup", want: `no kind "EndpointPickerConfig" is registered for version "config.x-k8s.io/v1alpha1"`,
		},
		{
			name: "unknown field (strict decoding)",
			old:  "  defaultRequestTTL:", new: "  defaultRequestTtl:",
			stage: "startup", want: `unknown field "flowControl.defaultRequestTtl"`,
		},
		{
			name: "unknown feature gate",
			old:  "- flowControl\n", new: "- flowcontrol\n",
			stage: "startup", want: "feature gate 'flowcontrol' is unknown or unregistered",
		},
		{
			name:  "fairness policy that is not a plugin",
			old:   "    fairnessPolicyRef: round-robin-fairness-policy\n    orderingPolicyRef: fcfs-ordering-policy\n  priorityBands:",
			new:   "    fairnessPolicyRef: round-robin\n    orderingPolicyRef: fcfs-ordering-policy\n  priorityBands:",
			stage: "startup", want: `no fairness policy registered for name "round-robin"`,
		},
		{
			name: "detector reference to no plugin",
			old:  "saturationDetector:\n  pluginRef: concurrency-detector\n", new: "saturationDetector:\n  pluginRef: concurrency\n",
			stage: "startup", want: "saturation detector references undefined plugin 'concurrency'",
		},
		{
			name: "negative queue bound",
			old:  "flowControl:\n  maxRequests: 256\n", new: "flowControl:\n  maxRequests: -1\n",
			stage: "startup", want: "global MaxRequests must be non-negative, got -1",
		},
		{
			name: "misspelled detector parameter (the EPP keeps the default, 100)",
			old:  "    maxConcurrency: 32\n", new: "    maxConcurency: 32\n",
			stage: "params", want: `plugin "concurrency-detector" (type concurrency-detector): unknown parameter "maxConcurency"`,
		},
		{
			name: "parameter in the wrong case (encoding/json takes it)",
			old:  "    maxConcurrency: 32\n", new: "    MaxConcurrency: 32\n",
			stage: "params", want: `unknown parameter "MaxConcurrency"`,
		},
		{
			name: "parameter to a plugin that takes none",
			old:  "- name: queue-scorer\n  type: queue-scorer\n", new: "- name: queue-scorer\n  type: queue-scorer\n  parameters:\n    weight: 5\n",
			stage: "params", want: `plugin "queue-scorer" (type queue-scorer): unknown parameter "weight"`,
		},
		{
			name: "TTL 0: wait forever (the EPP accepts it)",
			old:  `defaultRequestTTL: "280s"`, new: `defaultRequestTTL: "0s"`,
			stage: "platform", want: "default request TTL 0s, want 4m40s (0 waits until the client gives up)",
		},
		{
			name: "no TTL at all",
			old:  "  defaultRequestTTL: \"280s\"\n", new: "",
			stage: "platform", want: "default request TTL 0s, want 4m40s",
		},
		{
			name: "missing feature gate: flow control off",
			old:  "featureGates:\n- flowControl\n", new: "",
			stage: "platform", want: `flow control is off (feature gate "flowControl" not set)`,
		},
		{
			name: "detector without the in-flight producer",
			old:  "- name: inflight-load-producer\n  type: inflight-load-producer\n", new: "",
			stage: "platform", want: "no inflight-load-producer",
		},
		{
			name: "detector threshold off by one",
			old:  "    maxConcurrency: 32\n", new: "    maxConcurrency: 33\n",
			stage: "platform", want: "saturation detector capacity 33 requests in flight per endpoint, want 32",
		},
		{
			name: "no saturationDetector section (the loader picks utilization-detector)",
			old:  "saturationDetector:\n  pluginRef: concurrency-detector\n", new: "",
			stage: "platform", want: "saturation detector utilization-detector, want concurrency-detector",
		},
		{
			name:  "band with the default fairness",
			old:   "  - priority: 0\n    maxRequests: 256\n    maxBytes: 67108864\n    fairnessPolicyRef: round-robin-fairness-policy\n",
			new:   "  - priority: 0\n    maxRequests: 256\n    maxBytes: 67108864\n",
			stage: "platform", want: "band 0 fairness global-strict-fairness-policy, want round-robin-fairness-policy",
		},
		{
			name: "chart weights changed",
			old:  "    weight: 3\n", new: "    weight: 1\n",
			stage: "platform", want: "prefix-cache-scorer/prefix-cache-scorer: 1.000000",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if strings.Count(good, tc.old) != 1 {
				t.Fatalf("%q occurs %d times in the file", tc.old, strings.Count(good, tc.old))
			}
			stage, problems := check(t, strings.Replace(good, tc.old, tc.new, 1), dev)
			if stage != tc.stage || !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Errorf("stage %q, problems:\n%s\nwant stage %q with %q", stage, strings.Join(problems, "\n"), tc.stage, tc.want)
			}
		})
	}
}

// TestMisspeltParameterIgnored: what the "params" stage guards against:
// the EPP starts with a misspelt maxConcurrency and silently keeps its
// default of 100 requests per endpoint.
func TestMisspeltParameterIgnored(t *testing.T) {
	t.Parallel()
	l := load(t, strings.Replace(eppconfig.Config(dev), "maxConcurrency:", "maxConcurency:", 1))
	if got := l.Config.SaturationDetector.Saturation(context.Background(), []fwkdl.Endpoint{endpoint("a", 32)}); got != 0.32 {
		t.Errorf("saturation at 32 in flight %v, want 0.32 (32 of the default 100)", got)
	}
}
