package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"
)

var pinnedAction = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+@v[0-9]+\.[0-9]+\.[0-9]+$`)

// Workflows are valid YAML and every action is pinned to an exact release.
func TestWorkflowsPinned(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(projectDir, ".github", "workflows", "*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("workflows: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string `yaml:"uses"`
					Run  string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ranCI := false
		for job, j := range wf.Jobs {
			for _, s := range j.Steps {
				if s.Uses != "" && !pinnedAction.MatchString(s.Uses) {
					t.Errorf("%s job %s: action %q is not pinned to vX.Y.Z", f, job, s.Uses)
				}
				if s.Run == "bash .ci/run" {
					ranCI = true
				}
			}
		}
		if !ranCI {
			t.Errorf("%s does not run .ci/run before touching a stack", f)
		}
	}
}
