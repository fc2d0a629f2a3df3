package tests

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

// Issue 19: each case breaks one thing about the two-models golden's chat
// front end. The whole program must fail naming the key and the value,
// before any resource or AWS call.
func TestBadChatConfigRejectedBeforeAnyResource(t *testing.T) {
	t.Parallel()
	stack := loadStack(t, stacks["two-models"])
	const chat = `{"enabled": true, "hostname": "chat.example.com"}`
	tests := []struct {
		name          string
		values        map[string]string
		dropSecret    string
		wantKey, want string
	}{
		{"chat without the LLM layer", map[string]string{"llm": `{"enabled": false}`, "models": `[]`, "chat": chat},
			"", "chat.enabled", `true`},
		{"OIDC without the client secret", nil, "llm-platform:chatOidcClientSecret", "chat.oidc", `"https://login.example.com/realms/llm"`},
		{"hostname with a scheme", map[string]string{"chat": `{"enabled": true, "hostname": "https://chat.example.com"}`},
			"", "chat.hostname", `"https://chat.example.com"`},
		{"hostname that is an IP address", map[string]string{"chat": `{"enabled": true, "hostname": "10.0.0.1"}`},
			"", "chat.hostname", `"10.0.0.1"`},
		{"no hostname", map[string]string{"chat": `{"enabled": true}`}, "", "chat.hostname", `""`},
		{"a gateway client named chat", map[string]string{
			"gateway": `{"loadBalancer": "internet-facing", "sourceCidrs": ["203.0.113.0/24"], "clients": [{"name": "team-a"}, {"name": "chat"}]}`,
			"chat":    chat,
		}, "", "gateway.clients[1].name", `"chat"`},
		{"OIDC without allowed groups", map[string]string{
			"chat": `{"enabled": true, "hostname": "chat.example.com", "oidc": {"issuer": "https://login.example.com", "clientId": "webui"}}`,
		}, "", "chat.oidc.allowedGroups", `[]`},
		{"chat's daily budget below its hourly one", map[string]string{
			"chat": `{"enabled": true, "hostname": "chat.example.com", "tokensPerHour": 100, "tokensPerDay": 50}`,
		}, "llm-platform:chatOidcClientSecret", "chat.tokensPerDay", `50`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := &render.StackConfig{Project: stack.Project, Stack: stack.Stack, Values: maps.Clone(stack.Values),
				SecretKeys: slices.DeleteFunc(slices.Clone(stack.SecretKeys), func(k string) bool { return k == tt.dropSecret })}
			if tt.dropSecret != "" {
				delete(sc.Values, tt.dropSecret)
			}
			for k, v := range tt.values {
				sc.Values["llm-platform:"+k] = v
			}
			msg := rejectedBeforeAnyResource(t, sc)
			if !strings.Contains(msg, `"llm-platform:`+tt.wantKey+`" (value `+tt.want) {
				t.Errorf("error does not name key %s and value %s:\n%s", tt.wantKey, tt.want, msg)
			}
		})
	}
}
