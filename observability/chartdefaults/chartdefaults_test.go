package chartdefaults

import (
	"encoding/json"
	"testing"
)

// Helm's rule (pkg/chartutil/coalesce.go): the release wins, maps merge,
// null deletes, lists replace. tests/crd/kubeapi also compares Coalesce
// with the helm binary on the golden values.
func TestCoalesce(t *testing.T) {
	t.Parallel()
	defaults := map[string]any{
		"a": map[string]any{"keep": 1, "override": 1, "drop": 1, "list": []any{1, 2}},
		"b": "chart",
	}
	values := map[string]any{
		"a": map[string]any{"override": 2, "drop": nil, "list": []any{3}, "new": 4},
		"c": true,
	}
	got, _ := json.Marshal(Coalesce(defaults, values))
	want := `{"a":{"keep":1,"list":[3],"new":4,"override":2},"b":"chart","c":true}`
	if string(got) != want {
		t.Errorf("Coalesce = %s, want %s", got, want)
	}
	if _, ok := defaults["a"].(map[string]any)["drop"]; !ok || values["a"].(map[string]any)["drop"] != nil {
		t.Error("Coalesce modified its arguments")
	}
}
