package config

import (
	"strings"
	"testing"
)

// A scale-to-zero model too slow to wake within the hold is refused, unless
// it has a fallback: then nothing is held, the fallback answers.
func TestFallbackLiftsTheWakeLimit(t *testing.T) {
	t.Parallel()
	slow := `{"name": "slow", "hfRepo": "org/m", "revision": "` + strings.Repeat("a", 40) + `", "paramsBillions": 7,
		"quantization": "awq_marlin", "minReplicas": 0, "loadFormat": "safetensors", "compileCache": false%s}`
	in := func(fallback string) Input {
		return Input{Stack: "dev", Region: "us-east-1", Values: map[string]string{
			"llm":       `{"enabled": true}`,
			"cluster":   `{"endpointPublicAccess": false}`,
			"gpu":       `{"sociParallelPull": false}`,
			"gateway":   `{"clients": [{"name": "a"}]}`,
			"models":    "[" + strings.Replace(slow, "%s", fallback, 1) + "]",
			"providers": `[{"kind": "bedrock", "models": [{"servedName": "haiku", "upstreamModel": "anthropic.claude-3-5-haiku-20241022-v1:0"}]}]`,
		}}
	}
	_, err := Parse(in(""))
	if err == nil || !strings.Contains(err.Error(), `"llm-platform:models[0].minReplicas"`) {
		t.Fatalf("slow scale-to-zero model without a fallback: err = %v", err)
	}
	c, err := Parse(in(`, "fallback": {"provider": "bedrock", "upstreamModel": "us.meta.llama3-1-8b-instruct-v1:0"}`))
	if err != nil {
		t.Fatalf("with a fallback: %v", err)
	}
	if p, ok := c.ProviderByName("bedrock"); !ok || p.Region != "us-east-1" {
		t.Errorf("bedrock provider %+v: name and region default to the kind and aws:region", p)
	}
}

func TestBedrockProfile(t *testing.T) {
	t.Parallel()
	for id, want := range map[string][3]string{
		"us.anthropic.claude-3-5-haiku-20241022-v1:0": {"us", "anthropic.claude-3-5-haiku-20241022-v1:0", "true"},
		"global.anthropic.claude-sonnet-4-v1:0":       {"global", "anthropic.claude-sonnet-4-v1:0", "true"},
		"amazon.titan-text-lite-v1":                   {"", "amazon.titan-text-lite-v1", "false"},
	} {
		geo, model, ok := BedrockProfile(id)
		if geo != want[0] || model != want[1] || (ok != (want[2] == "true")) {
			t.Errorf("BedrockProfile(%q) = %q, %q, %v", id, geo, model, ok)
		}
	}
}
