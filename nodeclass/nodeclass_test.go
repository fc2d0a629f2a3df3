package nodeclass

import "testing"

func TestAMIAlias(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1.64.0": "bottlerocket@v1.64.0", "latest": "bottlerocket@latest"} {
		if got := AMIAlias(in); got != want {
			t.Errorf("AMIAlias(%q) = %q, want %q", in, got, want)
		}
	}
}
