package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/cost"
	"github.com/llm-platform/llm-platform/render"
)

// The README's cost tables are exactly what `make render` prints for the
// base-only stacks and the dev stack.
func TestREADMECostTablesMatchEstimates(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(projectDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for marker, stack := range map[string]string{"base": stacks["base"], "base-small": "testdata/stacks/base-small.yaml", "dev": "dev"} {
		cfg, err := render.ParseConfig(loadStack(t, stack))
		if err != nil {
			t.Fatal(err)
		}
		want := cost.Table(cost.Monthly(cfg))
		open, close := "<!-- cost:"+marker+" -->\n", "<!-- /cost:"+marker+" -->"
		i, j := strings.Index(readme, open), strings.Index(readme, close)
		if i < 0 || j < i {
			t.Fatalf("README has no %s cost block", marker)
		}
		if got := readme[i+len(open) : j]; got != want {
			t.Errorf("README %s cost table is stale; `make render` prints:\n%s", marker, want)
		}
	}
}
