package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/render"
)

// The README's cold-start tables are the estimate for the dev stack's
// model, as the stack ships and with every lever on: the figures the
// README states are the ones config validation, the startup probe and the
// alert use.
func TestREADMEColdStartTablesMatchEstimates(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(projectDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	cfg, err := render.ParseConfig(loadStack(t, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Models) != 1 {
		t.Fatalf("the dev stack has %d models; the README describes one", len(cfg.Models))
	}
	m := cfg.Models[0]
	allLevers := cfg.ColdStartModel(m)
	allLevers.Levers = coldstart.AllLevers
	for marker, b := range map[string]coldstart.Budget{
		"dev":            cfg.ColdStart(m),
		"dev-all-levers": coldstart.Estimate(allLevers),
	} {
		want := "\n" + coldstart.Table(b, cfg.Gateway.QueueTimeoutSeconds) + "\n"
		open, close := "<!-- coldstart:"+marker+" -->\n", "<!-- /coldstart:"+marker+" -->"
		i, j := strings.Index(readme, open), strings.Index(readme, close)
		if i < 0 || j < i {
			t.Fatalf("README has no %s cold-start block", marker)
		}
		if got := readme[i+len(open) : j]; got != want {
			t.Errorf("README %s cold-start table is stale; want:\n%s", marker, want)
		}
	}
}
