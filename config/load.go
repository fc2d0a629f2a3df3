package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Load reads the stack configuration from the Pulumi context, once, and
// returns it defaulted and validated. Nothing is registered before it
// returns, so a bad value stops the program before any resource exists.
func Load(ctx *pulumi.Context) (*Config, error) {
	project := pconfig.New(ctx, "")
	in := Input{
		Project: ctx.Project(),
		Stack:   ctx.Stack(),
		Region:  pconfig.New(ctx, "aws").Get("region"),
		Values:  map[string]string{},
		Secrets: map[string]bool{},
	}
	// Secrets must arrive as secrets: a plain value would land in the
	// state and in preview output in clear text. Empty is unset (the
	// project default of an optional secret key, see Pulumi.yaml).
	for _, k := range SecretKeys {
		full := ctx.Project() + ":" + k
		if v, ok := ctx.GetConfig(full); !ok || v == "" {
			continue
		}
		if !ctx.IsConfigSecret(full) {
			return nil, fmt.Errorf("config key %q must be set with --secret (pulumi config set --secret %s <value>)", full, k)
		}
		in.Secrets[k] = true
	}
	// Every key of the project's namespace, not only the known ones: the
	// Pulumi CLI checks declared keys for presence and type but passes
	// unknown ones (a typo such as llm-platform:modles) through silently,
	// so Parse is what refuses them.
	keys, err := stackConfigKeys(ctx)
	if err != nil {
		return nil, err
	}
	prefix := ctx.Project() + ":"
	for _, full := range keys {
		k, ok := strings.CutPrefix(full, prefix)
		if !ok || slices.Contains(SecretKeys, k) {
			continue
		}
		if !slices.Contains(Keys, k) && ctx.IsConfigSecret(full) {
			// Refused as unknown below; its value must not be printed.
			in.Values[k] = "[secret]"
			continue
		}
		if v, err := project.Try(k); err == nil {
			in.Values[k] = v
		}
	}
	c, err := Parse(in)
	if err != nil {
		return nil, err
	}
	if in.Secrets["huggingFaceToken"] {
		c.HuggingFaceToken = project.RequireSecret("huggingFaceToken")
		c.HasHuggingFaceToken = true
	}
	if in.Secrets[AlertWebhookURLKey] {
		c.AlertWebhookURL = project.RequireSecret(AlertWebhookURLKey)
	}
	if in.Secrets[ChatOIDCClientSecretKey] {
		c.ChatOIDCClientSecret = project.RequireSecret(ChatOIDCClientSecretKey)
	}
	if in.Secrets[ChatDatabaseURLKey] {
		c.ChatDatabaseURL = project.RequireSecret(ChatDatabaseURLKey)
		c.HasChatDatabaseURL = true
	}
	c.ProviderAPIKeys = map[string]pulumi.StringOutput{}
	for _, p := range c.Providers {
		if k := ProviderKinds[p.Kind].SecretKey; k != "" {
			c.ProviderAPIKeys[p.Kind] = project.RequireSecret(k)
		}
	}
	return c, nil
}

// stackConfigKeys returns every fully qualified config key the engine
// passed the program. The Go SDK (v3.259.0) looks keys up one at a time
// and has no call that lists them; they live in the context's RunInfo
// (pulumi/context.go: Context.state.info.Config), filled from the
// PULUMI_CONFIG environment variable by `pulumi up` and from the run
// request by the Automation API's inline programs. It is read here by
// reflection, read-only; a layout change in a future SDK is an error (the
// config tests fail), never a silently skipped check.
func stackConfigKeys(ctx *pulumi.Context) ([]string, error) {
	errLayout := errors.New("config: cannot list the stack's config keys: the Pulumi SDK's Context layout changed " +
		"(see config.stackConfigKeys)")
	state := reflect.ValueOf(ctx).Elem().FieldByName("state")
	if state.Kind() != reflect.Pointer || state.IsNil() {
		return nil, errLayout
	}
	info := state.Elem().FieldByName("info")
	if info.Kind() != reflect.Struct || info.Type() != reflect.TypeFor[pulumi.RunInfo]() {
		return nil, errLayout
	}
	cfg := info.FieldByName("Config")
	if cfg.Kind() != reflect.Map || cfg.Type().Key().Kind() != reflect.String {
		return nil, errLayout
	}
	keys := make([]string, 0, cfg.Len())
	for _, k := range cfg.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	return keys, nil
}
