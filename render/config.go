package render

import (
	"slices"
	"strings"

	"github.com/llm-platform/llm-platform/config"
)

// ParseConfig parses a stack config the way the program's config.Load
// does, without running the program.
func ParseConfig(sc *StackConfig) (*config.Config, error) {
	in := config.Input{Project: sc.Project, Stack: sc.Stack, Region: sc.Values["aws:region"], Values: map[string]string{}, Secrets: map[string]bool{}}
	for k, v := range sc.Values {
		key, ok := strings.CutPrefix(k, sc.Project+":")
		switch {
		case !ok:
		case slices.Contains(config.SecretKeys, key):
			// Empty is unset (an optional secret key's project default).
			in.Secrets[key] = v != ""
		default:
			in.Values[key] = v
		}
	}
	return config.Parse(in)
}
