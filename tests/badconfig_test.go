package tests

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

// Each case changes one key of the dev stack to something malformed. The
// whole program must fail with an error naming the key and the bad value,
// and must not have registered a single resource.
func TestBadConfigRejectedBeforeAnyResource(t *testing.T) {
	t.Parallel()
	dev := loadStack(t, "dev")
	var devModels []map[string]any
	if err := json.Unmarshal([]byte(dev.Values["llm-platform:models"]), &devModels); err != nil {
		t.Fatal(err)
	}
	// model returns the models key with the dev model changed by f.
	model := func(f func(m map[string]any)) string {
		m := maps.Clone(devModels[0])
		f(m)
		return mustJSON(t, []any{m})
	}
	twoModels := func(f func(a, b map[string]any)) string {
		a, b := maps.Clone(devModels[0]), maps.Clone(devModels[0])
		b["name"], b["servedName"] = "second", "second"
		f(a, b)
		return mustJSON(t, []any{a, b})
	}
	tests := []struct {
		name      string
		key       string // project key to replace (without namespace)
		value     string // JSON
		wantKey   string // key path the error must name
		wantValue string // value the error must quote
	}{
		{"cidr syntax", "network", `{"cidr": "10.0.0.0/33", "azCount": 2}`, "network.cidr", `"10.0.0.0/33"`},
		{"cidr garbage", "network", `{"cidr": "not-a-cidr"}`, "network.cidr", `"not-a-cidr"`},
		{"cidr public range", "network", `{"cidr": "8.8.0.0/16"}`, "network.cidr", `"8.8.0.0/16"`},
		{"cidr too small", "network", `{"cidr": "10.0.0.0/24"}`, "network.cidr", `"10.0.0.0/24"`},
		{"cidr host bits", "network", `{"cidr": "10.0.0.1/16"}`, "network.cidr", `"10.0.0.1/16"`},
		{"azCount 0", "network", `{"azCount": 0}`, "network.azCount", `0`},
		{"azCount 4", "network", `{"azCount": 4}`, "network.azCount", `4`},
		{"nat mode", "network", `{"nat": "none"}`, "network.nat", `"none"`},
		{"zones count", "network", `{"azCount": 2, "availabilityZones": ["us-east-1a"]}`, "network.availabilityZones", `["us-east-1a"]`},
		{"zone of other region", "network", `{"azCount": 2, "availabilityZones": ["us-west-2a", "us-east-1b"]}`, "network.availabilityZones[0]", `"us-west-2a"`},
		{"zone twice", "network", `{"azCount": 2, "availabilityZones": ["us-east-1a", "us-east-1a"]}`, "network.availabilityZones[1]", `"us-east-1a"`},
		{"unknown field", "network", `{"azcount": 2}`, "network", `azcount`},
		{"not an object", "network", `[1, 2]`, "network", `[1, 2]`},
		{"kubernetes version", "cluster", `{"kubernetesVersion": "1.20"}`, "cluster.kubernetesVersion", `"1.20"`},
		{"system min 1", "cluster", `{"systemNodes": {"minSize": 1, "desiredSize": 1, "maxSize": 2, "instanceTypes": ["m7i.large"], "diskSizeGiB": 50}}`, "cluster.systemNodes.minSize", `1`},
		{"system desired above max", "cluster", `{"systemNodes": {"minSize": 2, "desiredSize": 9, "maxSize": 4, "instanceTypes": ["m7i.large"], "diskSizeGiB": 50}}`, "cluster.systemNodes.desiredSize", `9`},
		{"system negative disk", "cluster", `{"systemNodes": {"minSize": 2, "desiredSize": 2, "maxSize": 4, "instanceTypes": ["m7i.large"], "diskSizeGiB": -50}}`, "cluster.systemNodes.diskSizeGiB", `-50`},
		{"system on GPU", "cluster", `{"systemNodes": {"minSize": 2, "desiredSize": 2, "maxSize": 4, "instanceTypes": ["g6.xlarge"], "diskSizeGiB": 50}}`, "cluster.systemNodes.instanceTypes[0]", `"g6.xlarge"`},
		{"admin not a role", "cluster", `{"adminRoleArns": ["arn:aws:iam::123456789012:user/bob"]}`, "cluster.adminRoleArns[0]", `"arn:aws:iam::123456789012:user/bob"`},
		{"public cidr host bits", "cluster", `{"publicAccessCidrs": ["203.0.113.7/24"]}`, "cluster.publicAccessCidrs[0]", `"203.0.113.7/24"`},
		{"public on, no cidrs", "cluster", `{"endpointPublicAccess": true, "publicAccessCidrs": []}`, "cluster.publicAccessCidrs", `[]`},
		{"log type", "cluster", `{"logTypes": ["everything"]}`, "cluster.logTypes[0]", `"everything"`},
		// Issue 13, defect 9: the public endpoint has no default allowlist.
		{"public endpoint, allowlist left to the default", "cluster", `{"endpointPublicAccess": true}`, "cluster.publicAccessCidrs", `[]`},
		{"log retention", "cluster", `{"publicAccessCidrs": ["0.0.0.0/0"], "logRetentionDays": 31}`, "cluster.logRetentionDays", `31`},
		{"system nodes of two architectures", "cluster", `{"publicAccessCidrs": ["0.0.0.0/0"], "systemNodes": {"minSize": 2, "desiredSize": 2, "maxSize": 3, "instanceTypes": ["t4g.medium", "m7i.large"], "diskSizeGiB": 20}}`, "cluster.systemNodes.instanceTypes", `["t4g.medium","m7i.large"]`},
		{"platform pool burstable", "platformNodes", `{"instanceFamilies": ["t4g", "m7i"]}`, "platformNodes.instanceFamilies[0]", `"t4g"`},
		{"platform pool on GPUs", "platformNodes", `{"instanceFamilies": ["g6", "m7i"]}`, "platformNodes.instanceFamilies[0]", `"g6"`},
		{"platform pool without amd64 for the pickers", "platformNodes", `{"instanceFamilies": ["m7g", "m8g"]}`, "platformNodes.instanceFamilies", `["m7g","m8g"]`},
		{"platform pool size", "platformNodes", `{"instanceSizes": ["huge"]}`, "platformNodes.instanceSizes[0]", `"huge"`},
		{"platform pool cpu limit", "platformNodes", `{"cpuLimit": 0}`, "platformNodes.cpuLimit", `0`},
		{"platform pool capacity type", "platformNodes", `{"capacityTypes": ["reserved"]}`, "platformNodes.capacityTypes[0]", `"reserved"`},
		{"platform pool consolidateAfter", "platformNodes", `{"consolidateAfter": "ten minutes"}`, "platformNodes.consolidateAfter", `"ten minutes"`},
		{"spot role without spot", "gpu", `{"capacityTypes": ["on-demand"], "createSpotServiceLinkedRole": true}`, "gpu.createSpotServiceLinkedRole", `true`},
		{"unknown project key", "modles", `[]`, "modles", `[]`},
		{"cluster name", "cluster", `{"name": "bad name!"}`, "cluster.name", `"bad name!"`},
		{"capacity type", "gpu", `{"capacityTypes": ["reserved"]}`, "gpu.capacityTypes[0]", `"reserved"`},
		{"gpu limit negative", "gpu", `{"gpuLimit": -1}`, "gpu.gpuLimit", `-1`},
		{"gpu family", "gpu", `{"instanceFamilies": ["p5"]}`, "gpu.instanceFamilies[0]", `"p5"`},
		{"bottlerocket version", "gpu", `{"bottlerocketVersion": "v1"}`, "gpu.bottlerocketVersion", `"v1"`},
		{"data volume negative", "gpu", `{"dataVolumeGiB": -10}`, "gpu.dataVolumeGiB", `-10`},
		{"consolidate after", "gpu", `{"consolidateAfter": "10 minutes"}`, "gpu.consolidateAfter", `"10 minutes"`},
		{"bucket prefix", "storage", `{"bucketPrefix": "UPPER"}`, "storage.bucketPrefix", `"UPPER"`},
		{"bucket prefix too long", "storage", `{"bucketPrefix": "a-very-long-bucket-prefix-for-models-and-adapters"}`, "storage.bucketPrefix", `"a-very-long-bucket-prefix-for-models-and-adapters"`},
		{"noncurrent days", "storage", `{"noncurrentVersionExpirationDays": 0}`, "storage.noncurrentVersionExpirationDays", `0`},
		{"kms not an arn", "storage", `{"kmsKeyArn": "alias/models"}`, "storage.kmsKeyArn", `"alias/models"`},
		{"internet-facing, open to the world by default", "gateway", `{"loadBalancer": "internet-facing", "clients": [{"name": "a"}]}`, "gateway.sourceCidrs", `[]`},
		{"load balancer", "gateway", `{"loadBalancer": "public", "clients": [{"name": "a"}]}`, "gateway.loadBalancer", `"public"`},
		{"duplicate clients", "gateway", `{"clients": [{"name": "a"}, {"name": "a"}]}`, "gateway.clients[1].name", `"a"`},
		{"no clients with llm", "gateway", `{"clients": []}`, "gateway.clients", `[]`},
		{"negative token limit", "gateway", `{"clients": [{"name": "a", "tokensPerHour": -5}]}`, "gateway.clients[0].tokensPerHour", `-5`},
		{"duplicate model names", "models", twoModels(func(a, b map[string]any) { b["name"] = a["name"] }), "models[1].name", `"qwen25-7b"`},
		{"model name not DNS", "models", model(func(m map[string]any) { m["name"] = "Qwen_7B" }), "models[0].name", `"Qwen_7B"`},
		{"min above max", "models", model(func(m map[string]any) { m["minReplicas"], m["maxReplicas"] = 3, 2 }), "models[0].minReplicas", `3`},
		{"gpus above limit", "models", model(func(m map[string]any) { m["gpusPerReplica"] = 4 }), "models[0].gpusPerReplica", `4`},
		{"gpus not a TP size", "models", model(func(m map[string]any) { m["gpusPerReplica"] = 3 }), "models[0].gpusPerReplica", `3`},
		{"missing hf repo", "models", model(func(m map[string]any) { delete(m, "hfRepo") }), "models[0].hfRepo", `""`},
		{"branch revision", "models", model(func(m map[string]any) { m["revision"] = "main" }), "models[0].revision", `"main"`},
		{"gpu memory", "models", model(func(m map[string]any) { m["gpuMemoryUtilization"] = 1.5 }), "models[0].gpuMemoryUtilization", `1.5`},
		{"negative max model len", "models", model(func(m map[string]any) { m["maxModelLen"] = -5 }), "models[0].maxModelLen", `-5`},
		{"params missing", "models", model(func(m map[string]any) { delete(m, "paramsBillions") }), "models[0].paramsBillions", `0`},
		{"quantization", "models", model(func(m map[string]any) { m["quantization"] = "int3" }), "models[0].quantization", `"int3"`},
		{"tool parser", "models", model(func(m map[string]any) { m["toolCallParser"] = "magic" }), "models[0].toolCallParser", `"magic"`},
		{"lora rank", "models", model(func(m map[string]any) { m["maxLoraRank"] = 7 }), "models[0].maxLoraRank", `7`},
		{"latest image", "models", model(func(m map[string]any) { m["image"] = "vllm/vllm-openai:latest" }), "models[0].image", `"vllm/vllm-openai:latest"`},
		{"adapter shadows served name", "models", model(func(m map[string]any) {
			m["loraAdapters"] = []any{map[string]any{"name": "qwen2.5-7b-instruct", "hfRepo": "org/a", "revision": strings.Repeat("a", 40)}}
		}), "models[0].loraAdapters[0].name", `"qwen2.5-7b-instruct"`},
		{"model unknown field", "models", model(func(m map[string]any) { m["replicas"] = 2 }), "models", `replicas`},
		{"retention", "observability", `{"retention": "two weeks"}`, "observability.retention", `"two weeks"`},
		{"autoscaling without metrics", "observability", `{"enabled": false}`, "observability.enabled", `false`},
		// Issue 15: the dev model wakes from zero in about 155 s; a 100 s
		// hold cannot cover it, and the queue cannot outlast the AI
		// Gateway's 300 s call to the picker.
		{"hold shorter than the wake-up", "gateway", `{"clients": [{"name": "dev-team"}], "queueTimeoutSeconds": 100}`, "models[0].minReplicas", `0`},
		{"hold beyond the picker call", "gateway", `{"clients": [{"name": "dev-team"}], "queueTimeoutSeconds": 330}`, "gateway.queueTimeoutSeconds", `330`},
		{"idle time not a duration", "models", model(func(m map[string]any) { m["scaleToZeroAfter"] = "soon" }), "models[0].scaleToZeroAfter", `"soon"`},
		// Issue 14, defect 3: a receiver needs the secret alertWebhookUrl.
		{"alert receiver without URL", "observability", `{"alerts": {"receiver": "slack"}}`, "observability.alerts.receiver", `"slack"`},
		{"webhook receiver without URL", "observability", `{"alerts": {"receiver": "webhook"}}`, "observability.alerts.receiver", `"webhook"`},
		{"unknown alert receiver", "observability", `{"alerts": {"receiver": "email"}}`, "observability.alerts.receiver", `"email"`},
		{"aws tag prefix", "tags", `{"aws:team": "x"}`, "tags.aws:team", `"aws:team"`},
		{"discovery tag", "tags", `{"karpenter.sh/discovery": "other"}`, "tags.karpenter.sh/discovery", `"karpenter.sh/discovery"`},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &render.StackConfig{Project: dev.Project, Stack: dev.Stack, Values: maps.Clone(dev.Values), SecretKeys: dev.SecretKeys}
			sc.Values["llm-platform:"+tt.key] = tt.value
			res, err := runProgram(sc)
			if err == nil {
				t.Fatalf("%s = %s accepted", tt.key, tt.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"llm-platform:`+tt.wantKey+`"`) {
				t.Errorf("error does not name key %s:\n%s", tt.wantKey, msg)
			}
			if !strings.Contains(msg, tt.wantValue) {
				t.Errorf("error does not show value %s:\n%s", tt.wantValue, msg)
			}
			if len(res.Resources) != 0 {
				t.Errorf("registered %d resources before failing (first: %s)", len(res.Resources), res.Resources[0].URN)
			}
			if len(res.Calls) != 0 {
				t.Errorf("made AWS calls before failing: %v", res.Calls)
			}
		})
	}
}

// A Hugging Face token in plain text would land in the state: refuse it.
func TestPlainHuggingFaceTokenRejected(t *testing.T) {
	t.Parallel()
	dev := loadStack(t, "dev")
	sc := &render.StackConfig{Project: dev.Project, Stack: dev.Stack, Values: maps.Clone(dev.Values)}
	sc.Values["llm-platform:huggingFaceToken"] = "hf_plaintext"
	res, err := runProgram(sc)
	if err == nil || !strings.Contains(err.Error(), `"llm-platform:huggingFaceToken"`) || !strings.Contains(err.Error(), "--secret") {
		t.Fatalf("err = %v, want a huggingFaceToken --secret error", err)
	}
	if len(res.Resources) != 0 {
		t.Errorf("registered %d resources", len(res.Resources))
	}
}

// Issue 14, defect 3: the alert webhook URL carries a credential. In plain
// text it would land in the state: refuse it. As a secret with no receiver
// to use it: refuse it too, without showing it.
func TestAlertWebhookURLRules(t *testing.T) {
	t.Parallel()
	dev := loadStack(t, "dev")
	const url = "https://hooks.slack.com/services/T000/B000/doNotLeakThisURL"
	for _, tt := range []struct {
		name     string
		secret   bool
		receiver string
		want     []string
	}{
		{"plain text", false, `{"alerts": {"receiver": "slack"}}`, []string{`"llm-platform:alertWebhookUrl"`, "--secret"}},
		{"secret, no receiver", true, "", []string{`"llm-platform:alertWebhookUrl" (value [secret])`, `observability.alerts.receiver is "none"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &render.StackConfig{Project: dev.Project, Stack: dev.Stack, Values: maps.Clone(dev.Values)}
			sc.Values["llm-platform:alertWebhookUrl"] = url
			if tt.secret {
				sc.SecretKeys = []string{"llm-platform:alertWebhookUrl"}
			}
			if tt.receiver != "" {
				sc.Values["llm-platform:observability"] = tt.receiver
			}
			res, err := runProgram(sc)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %s:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "doNotLeak") {
				t.Errorf("the error shows the secret URL: %v", err)
			}
			if len(res.Resources) != 0 {
				t.Errorf("registered %d resources", len(res.Resources))
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
