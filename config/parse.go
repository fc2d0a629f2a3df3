package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Keys are the project config keys (without the "llm-platform:" namespace),
// in the order Pulumi.yaml declares them.
var Keys = []string{"network", "cluster", "llm", "gpu", "platformNodes", "storage", "gateway", "models", "providers", "observability", "chat", "tags"}

// SecretKeys are project config keys that must be Pulumi secrets.
var SecretKeys = []string{"huggingFaceToken", AlertWebhookURLKey, OpenAIAPIKeyKey, AnthropicAPIKeyKey, ChatOIDCClientSecretKey, ChatDatabaseURLKey}

// AlertWebhookURLKey is the secret key holding the URL the alert receiver
// posts to.
const AlertWebhookURLKey = "alertWebhookUrl"

// Input is the raw stack configuration: each key of Keys mapped to its JSON
// value as Pulumi passes it to the program. Missing keys take their defaults.
type Input struct {
	Project string
	Stack   string
	Region  string
	Values  map[string]string
	// Secrets says which of SecretKeys the stack sets. Their values never
	// reach Parse (nor its errors); Load reads them as secret outputs.
	Secrets map[string]bool
}

// Parse decodes, defaults and validates a stack configuration. It never
// touches Pulumi, so it is safe to call before any resource exists. The error,
// when there is one, lists every problem found, each naming its key and value.
func Parse(in Input) (*Config, error) {
	c := &Config{
		Project:       in.Project,
		Stack:         in.Stack,
		Region:        in.Region,
		Network:       DefaultNetwork(),
		Cluster:       DefaultCluster(),
		GPU:           DefaultGPU(),
		PlatformNodes: DefaultPlatformNodes(),
		Storage:       DefaultStorage(),
		Gateway:       DefaultGateway(),
		Models:        []Model{},
		Providers:     []Provider{},
		Observability: DefaultObservability(),
		Chat:          DefaultChat(),
		Tags:          map[string]string{},
		// Known before validation: the receiver needs it, and it must not
		// be set without one.
		HasAlertWebhookURL: in.Secrets[AlertWebhookURLKey],
	}
	var errs Errors
	known := map[string]bool{}
	for _, k := range Keys {
		known[k] = true
	}
	for _, k := range sortedKeys(in.Values) {
		if !known[k] {
			errs.add(k, in.Values[k], "unknown config key (known keys: %s)", strings.Join(Keys, ", "))
		}
	}
	targets := map[string]any{
		"network": &c.Network, "cluster": &c.Cluster, "llm": &c.LLM, "gpu": &c.GPU, "platformNodes": &c.PlatformNodes,
		"storage": &c.Storage, "gateway": &c.Gateway, "providers": &c.Providers, "observability": &c.Observability, "chat": &c.Chat, "tags": &c.Tags,
	}
	for _, k := range Keys {
		raw, ok := in.Values[k]
		if !ok || strings.TrimSpace(raw) == "" {
			continue
		}
		if k == "models" {
			models, err := decodeModels(raw)
			if err != nil {
				errs.add(k, raw, "%v", err)
				continue
			}
			c.Models = models
			continue
		}
		if err := decodeStrict(raw, targets[k]); err != nil {
			errs.add(k, raw, "%v", err)
		}
	}
	if len(errs) > 0 {
		// Validation of half-decoded values would only add noise.
		return nil, errs
	}
	if c.Cluster.Name == "" {
		c.Cluster.Name = DefaultClusterName(in.Stack)
	}
	for i := range c.Models {
		if c.Models[i].ServedName == "" {
			c.Models[i].ServedName = c.Models[i].Name
		}
	}
	c.defaultProviders()
	c.defaultChat()
	if errs := c.validate(in.Secrets); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// decodeModels decodes each model onto DefaultModel, so a model sets only the
// fields it changes and an explicit 0 (minReplicas: 0) stays 0.
func decodeModels(raw string) ([]Model, error) {
	var items []json.RawMessage
	if err := decodeStrict(raw, &items); err != nil {
		return nil, err
	}
	models := make([]Model, 0, len(items))
	for i, item := range items {
		m := DefaultModel()
		if err := decodeStrict(string(item), &m); err != nil {
			return nil, fmt.Errorf("models[%d]: %w", i, err)
		}
		models = append(models, m)
	}
	return models, nil
}

// decodeStrict decodes JSON onto v, rejecting unknown fields and trailing
// data. encoding/json matches field names case-insensitively, so the field
// names are checked first, exactly: "azcount" must not silently fall back
// to the default of azCount.
func decodeStrict(raw string, v any) error {
	var generic any
	if err := json.Unmarshal([]byte(raw), &generic); err != nil {
		return err
	}
	if err := checkFields(generic, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the value")
	}
	return nil
}

// checkFields walks a decoded JSON value alongside the Go type it will be
// decoded into and reports the first object key that is not exactly a
// field's json name.
func checkFields(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported by the decoder
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
			names = append(names, name)
		}
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				hint := ""
				for _, n := range names {
					if strings.EqualFold(n, k) {
						hint = fmt.Sprintf(" (did you mean %q?)", n)
					}
				}
				return fmt.Errorf("unknown field %q%s; known fields: %s", path+k, hint, strings.Join(names, ", "))
			}
			if err := checkFields(obj[k], ft, path+k+"."); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range arr {
			if err := checkFields(e, t.Elem(), fmt.Sprintf("%s%d.", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// FieldError is one invalid config value.
type FieldError struct {
	// Key is the full key path, e.g. "network.azCount" or "models[0].name".
	Key string
	// Value is the offending value as the user wrote it.
	Value string
	Msg   string
}

func (e FieldError) Error() string {
	return fmt.Sprintf("config key %q (value %s): %s", "llm-platform:"+e.Key, e.Value, e.Msg)
}

// Errors is every problem found in one configuration.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return "invalid stack configuration:\n  " + strings.Join(lines, "\n  ")
}

func (es *Errors) add(key string, value any, format string, args ...any) {
	*es = append(*es, FieldError{Key: key, Value: show(value), Msg: fmt.Sprintf(format, args...)})
}

// hidden stands for a secret's value in an error message.
type hidden struct{}

// show renders a value for an error message the way the user would write it.
func show(v any) string {
	if _, ok := v.(hidden); ok {
		return "[secret]"
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
