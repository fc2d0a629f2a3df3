package tests

import (
	"testing"

	"github.com/llm-platform/llm-platform/platform"
	"github.com/llm-platform/llm-platform/render"
)

// projectDir is the repository root (Pulumi.yaml and the stack files).
const projectDir = ".."

// loadStack reads a stack by name (Pulumi.<name>.yaml at the root) or by
// path (testdata/stacks/*.yaml).
func loadStack(t *testing.T, stack string) *render.StackConfig {
	t.Helper()
	sc, err := render.LoadStack(projectDir, stack)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// runProgram runs the whole program for a stack config.
func runProgram(sc *render.StackConfig) (*render.Result, error) {
	return render.Run(platform.Program, sc, sc.Region())
}

func mustRun(t *testing.T, sc *render.StackConfig) *render.Result {
	t.Helper()
	res, err := runProgram(sc)
	if err != nil {
		t.Fatalf("stack %s: %v", sc.Stack, err)
	}
	return res
}

// stacks are the configurations every whole-program test covers.
var stacks = map[string]string{
	"dev":        "dev",
	"base":       "testdata/stacks/base.yaml",
	"two-models": "testdata/stacks/two-models.yaml",
	"hosted":     "testdata/stacks/hosted.yaml",
}
