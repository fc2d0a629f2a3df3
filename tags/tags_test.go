package tags

import (
	"reflect"
	"testing"
)

func TestMergeLaterWins(t *testing.T) {
	t.Parallel()
	got := Merge(
		Platform("p", "s"),
		map[string]string{"team": "ml", "managed-by": "someone-else"},
		map[string]string{"Name": "subnet-a", "team": "ignored-by-nobody"},
	)
	want := map[string]string{
		"llm-platform/project": "p",
		"llm-platform/stack":   "s",
		"managed-by":           "someone-else",
		"team":                 "ignored-by-nobody",
		"Name":                 "subnet-a",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
}
