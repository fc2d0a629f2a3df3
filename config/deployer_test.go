package config

import (
	"strings"
	"testing"
)

func TestCheckDeployer(t *testing.T) {
	t.Parallel()
	const caller = "arn:aws:sts::111122223333:assumed-role/Deploy/gha-run-42"
	for _, tt := range []struct {
		name    string
		admins  []string
		dryRun  bool
		exists  bool
		wantErr string
		warn    bool
	}{
		{"other roles only", []string{"arn:aws:iam::111122223333:role/Admins", "arn:aws:iam::111122223333:role/Preview"}, false, false, "", false},
		{"the creating role", []string{"arn:aws:iam::111122223333:role/Admins", "arn:aws:iam::111122223333:role/Deploy"}, false, false,
			`config key "llm-platform:cluster.adminRoleArns[1]" (value "arn:aws:iam::111122223333:role/Deploy") is the principal creating the cluster`, false},
		{"the creating role with a path", []string{"arn:aws:iam::111122223333:role/ci/Deploy"}, false, false, "ResourceInUseException", false},
		{"same name in another account", []string{"arn:aws:iam::444455556666:role/Deploy"}, false, false, "", false},
		{"at preview only a warning", []string{"arn:aws:iam::111122223333:role/Deploy"}, true, false, "", true},
		{"a listed principal updating an existing cluster", []string{"arn:aws:iam::111122223333:role/Deploy"}, false, true, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{Project: "llm-platform", Cluster: Cluster{AdminRoleARNs: tt.admins}}
			warning, err := CheckDeployer(c, caller, tt.dryRun, tt.exists)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			case tt.warn != (warning != ""):
				t.Fatalf("warning = %q, want one: %v", warning, tt.warn)
			}
		})
	}
}
