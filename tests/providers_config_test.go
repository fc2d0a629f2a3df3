package tests

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

// Issue 17: each case breaks one thing about the hosted golden's providers
// or fallback. The whole program must fail naming the key and the value,
// before any resource or AWS call.
func TestBadProviderConfigRejectedBeforeAnyResource(t *testing.T) {
	t.Parallel()
	hosted := loadStack(t, stacks["hosted"])
	var providers []map[string]any
	if err := json.Unmarshal([]byte(hosted.Values["llm-platform:providers"]), &providers); err != nil {
		t.Fatal(err)
	}
	var models []map[string]any
	if err := json.Unmarshal([]byte(hosted.Values["llm-platform:models"]), &models); err != nil {
		t.Fatal(err)
	}
	// provider returns the providers key with provider i changed by f.
	provider := func(i int, f func(p map[string]any)) string {
		out := make([]any, len(providers))
		for j, p := range providers {
			c := maps.Clone(p)
			if j == i {
				f(c)
			}
			out[j] = c
		}
		return mustJSON(t, out)
	}
	fallback := func(f map[string]any) string {
		m := maps.Clone(models[0])
		m["fallback"] = f
		return mustJSON(t, []any{m})
	}
	tests := []struct {
		name, key, value, wantKey, wantValue string
		// unset removes these keys from the stack.
		unset []string
	}{
		{name: "unknown provider kind", key: "providers", value: provider(1, func(p map[string]any) { p["kind"] = "mistral" }),
			wantKey: "providers[1].kind", wantValue: `"mistral"`},
		{name: "fallback to an unknown provider", key: "models", value: fallback(map[string]any{"provider": "azure", "upstreamModel": "gpt-4o"}),
			wantKey: "models[0].fallback.provider", wantValue: `"azure"`},
		{name: "hosted name colliding with a self-hosted one", key: "providers", value: provider(1, func(p map[string]any) {
			p["models"] = []any{map[string]any{"servedName": "llama-3.1-8b-instruct", "upstreamModel": "gpt-4o-mini"}}
		}), wantKey: "providers[1].models[0].servedName", wantValue: `"llama-3.1-8b-instruct"`},
		{name: "key-based provider without its key", key: "providers", value: provider(1, func(map[string]any) {}),
			unset: []string{"llm-platform:openaiApiKey"}, wantKey: "providers[1].kind", wantValue: `"openai"`},
		{name: "a key with no provider of its kind", key: "providers", value: mustJSON(t, []any{providers[0], providers[1]}),
			wantKey: "anthropicApiKey", wantValue: `[secret]`},
		{name: "second provider of a key-based kind", key: "providers", value: mustJSON(t, append(toAny(providers), map[string]any{
			"kind": "openai", "name": "openai-2", "models": []any{map[string]any{"servedName": "o3", "upstreamModel": "o3"}},
		})), wantKey: "providers[3].kind", wantValue: `"openai"`},
		{name: "VPC endpoint for another region", key: "providers", value: provider(0, func(p map[string]any) { p["region"] = "eu-west-1" }),
			wantKey: "providers[0].privateEndpoint", wantValue: `true`},
		{name: "wildcard Bedrock model", key: "providers", value: provider(0, func(p map[string]any) {
			p["models"] = []any{map[string]any{"servedName": "any-claude", "upstreamModel": "anthropic.*"}}
		}), wantKey: "providers[0].models[0].upstreamModel", wantValue: `"anthropic.*"`},
		{name: "region on a provider without regions", key: "providers", value: provider(1, func(p map[string]any) { p["region"] = "us-east-1" }),
			wantKey: "providers[1].region", wantValue: `"us-east-1"`},
		{name: "fallback id equal to the served name", key: "models", value: fallback(map[string]any{"provider": "openai", "upstreamModel": "llama-3.1-8b-instruct"}),
			wantKey: "models[0].fallback.upstreamModel", wantValue: `"llama-3.1-8b-instruct"`},
		{name: "providers without the LLM layer", key: "llm", value: `{"enabled": false}`,
			wantKey: "providers", wantValue: `3`},
		{name: "provider without models", key: "providers", value: provider(2, func(p map[string]any) { delete(p, "models") }),
			wantKey: "providers[2].models", wantValue: `"[]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &render.StackConfig{Project: hosted.Project, Stack: hosted.Stack, Values: maps.Clone(hosted.Values), SecretKeys: hosted.SecretKeys}
			for _, k := range tt.unset {
				delete(sc.Values, k)
			}
			checkRejected(t, sc, tt.key, tt.value, tt.wantKey, tt.wantValue)
		})
	}
}

// checkRejected sets one config key of the stack and requires the whole
// program to fail naming wantKey and wantValue, before any resource or
// AWS call.
func checkRejected(t *testing.T, sc *render.StackConfig, key, value, wantKey, wantValue string) {
	t.Helper()
	sc.Values["llm-platform:"+key] = value
	msg := rejectedBeforeAnyResource(t, sc)
	if !strings.Contains(msg, `"llm-platform:`+wantKey+`"`) || !strings.Contains(msg, wantValue) {
		t.Errorf("error does not name key %s and value %s:\n%s", wantKey, wantValue, msg)
	}
}

// rejectedBeforeAnyResource runs the whole program on the stack, requires
// it to fail before any resource or AWS call, and returns the error.
func rejectedBeforeAnyResource(t *testing.T, sc *render.StackConfig) string {
	t.Helper()
	res, err := runProgram(sc)
	if err == nil {
		t.Fatalf("config accepted: %v", sc.Values)
	}
	if len(res.Resources) != 0 || len(res.Calls) != 0 {
		t.Errorf("registered %d resources and made %d AWS calls before failing", len(res.Resources), len(res.Calls))
	}
	return err.Error()
}

// A provider's API key in plain text would land in the state: refuse it,
// without showing it.
func TestPlainProviderKeyRejected(t *testing.T) {
	t.Parallel()
	hosted := loadStack(t, stacks["hosted"])
	const key = "sk-doNotLeakThisKey"
	sc := &render.StackConfig{Project: hosted.Project, Stack: hosted.Stack, Values: maps.Clone(hosted.Values)}
	for _, k := range hosted.SecretKeys {
		if k != "llm-platform:openaiApiKey" {
			sc.SecretKeys = append(sc.SecretKeys, k)
		}
	}
	sc.Values["llm-platform:openaiApiKey"] = key
	msg := rejectedBeforeAnyResource(t, sc)
	if !strings.Contains(msg, `"llm-platform:openaiApiKey"`) || !strings.Contains(msg, "--secret") {
		t.Fatalf("err = %v, want an openaiApiKey --secret error", msg)
	}
	if strings.Contains(msg, key) {
		t.Errorf("the error shows the key: %v", msg)
	}
}

func toAny(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}
