package render

import (
	"strings"

	"github.com/llm-platform/llm-platform/config"
)

// ParseConfig parses a stack config the way the program's config.Load
// does, without running the program.
func ParseConfig(sc *StackConfig) (*config.Config, error) {
	in := config.Input{Project: sc.Project, Stack: sc.Stack, Region: sc.Values["aws:region"], Values: map[string]string{}}
	for k, v := range sc.Values {
		if key, ok := strings.CutPrefix(k, sc.Project+":"); ok && key != "huggingFaceToken" {
			in.Values[key] = v
		}
	}
	return config.Parse(in)
}
