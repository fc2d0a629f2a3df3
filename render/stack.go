package render

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// StackConfig is a stack's configuration as the Pulumi CLI hands it to the
// program: project-level defaults from Pulumi.yaml overlaid by the stack
// file, keys fully qualified ("llm-platform:network"), object and array
// values as JSON.
type StackConfig struct {
	Project    string
	Stack      string
	Values     map[string]string
	SecretKeys []string
}

type projectFile struct {
	Name   string                      `yaml:"name"`
	Config map[string]projectConfigKey `yaml:"config"`
}

type projectConfigKey struct {
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	Secret      bool   `yaml:"secret"`
	Default     any    `yaml:"default"`
}

type stackFile struct {
	Config map[string]any `yaml:"config"`
}

// LoadStack reads Pulumi.yaml and Pulumi.<stack>.yaml from dir. A stack may
// be given as a path to any YAML file with a config: map instead (tests use
// this for synthetic stacks). Encrypted values (secure:) cannot be
// decrypted offline; they become the secret placeholder "[secret]".
func LoadStack(dir, stack string) (*StackConfig, error) {
	var proj projectFile
	if err := readYAML(filepath.Join(dir, "Pulumi.yaml"), &proj); err != nil {
		return nil, err
	}
	sc := &StackConfig{Project: proj.Name, Stack: stack, Values: map[string]string{}}
	secret := map[string]bool{}
	for k, decl := range proj.Config {
		full := qualify(proj.Name, k)
		if decl.Secret {
			secret[full] = true
		}
		if decl.Default == nil {
			continue
		}
		v, err := configValue(decl.Default)
		if err != nil {
			return nil, fmt.Errorf("project file Pulumi.yaml, config %s default: %w", k, err)
		}
		sc.Values[full] = v
	}
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	if filepath.Ext(stack) == ".yaml" {
		path = stack
		sc.Stack = stackName(stack)
	}
	var sf stackFile
	if err := readYAML(path, &sf); err != nil {
		return nil, err
	}
	for k, raw := range sf.Config {
		full := qualify(proj.Name, k)
		if m, ok := raw.(map[string]any); ok && len(m) == 1 && m["secure"] != nil {
			sc.Values[full] = Secret
			secret[full] = true
			continue
		}
		v, err := configValue(raw)
		if err != nil {
			return nil, fmt.Errorf("%s config %s: %w", path, k, err)
		}
		sc.Values[full] = v
	}
	for k := range secret {
		if _, set := sc.Values[k]; set {
			sc.SecretKeys = append(sc.SecretKeys, k)
		}
	}
	sort.Strings(sc.SecretKeys)
	return sc, nil
}

func stackName(path string) string {
	base := filepath.Base(path)
	base = base[:len(base)-len(filepath.Ext(base))]
	if len(base) > len("Pulumi.") && base[:len("Pulumi.")] == "Pulumi." {
		base = base[len("Pulumi."):]
	}
	return base
}

// qualify adds the project namespace to a bare key, as the CLI does.
func qualify(project, key string) string {
	for _, c := range key {
		if c == ':' {
			return key
		}
	}
	return project + ":" + key
}

// configValue renders a config value the way the CLI passes it: strings as
// they are, everything else as JSON.
func configValue(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func readYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
