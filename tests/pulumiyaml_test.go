package tests

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// Pulumi.yaml passes the Pulumi CLI's own project validation (JSON schema
// and config type declarations), and every stack's values have the declared
// types, as `pulumi up` checks before running the program.
func TestPulumiProjectAndStacksValidForCLI(t *testing.T) {
	t.Parallel()
	proj, err := workspace.LoadProject(filepath.Join(projectDir, "Pulumi.yaml"))
	if err != nil {
		t.Fatalf("Pulumi.yaml rejected by the CLI's loader: %v", err)
	}
	if err := proj.Validate(); err != nil {
		t.Fatalf("Pulumi.yaml: %v", err)
	}
	if proj.Runtime.Name() != "go" || proj.Name.String() != "llm-platform" {
		t.Errorf("project = %s runtime %s", proj.Name, proj.Runtime.Name())
	}
	for name, stack := range stacks {
		sc := loadStack(t, stack)
		for full, raw := range sc.Values {
			key, ok := strings.CutPrefix(full, "llm-platform:")
			if !ok {
				continue
			}
			decl, declared := proj.Config[key]
			if !declared {
				t.Errorf("%s: key %s is not declared in Pulumi.yaml", name, full)
				continue
			}
			var v any = raw
			if decl.TypeName() != "string" {
				if err := json.Unmarshal([]byte(raw), &v); err != nil {
					t.Fatalf("%s: %s: %v", name, full, err)
				}
			}
			if !workspace.ValidateConfigValue(decl.TypeName(), decl.Items, v) {
				t.Errorf("%s: %s = %s is not of declared type %s", name, full, raw, decl.TypeName())
			}
		}
	}
}
