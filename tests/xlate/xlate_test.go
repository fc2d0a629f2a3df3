package xlate

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// binaries returns the translators, skipping the test when they are not
// built, except in CI (CI set), where they must always be buildable.
func binaries(t *testing.T) (aigw, egctl string) {
	t.Helper()
	aigw, egctl, err := Binaries()
	if err != nil {
		if errors.Is(err, ErrNoBinary) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return aigw, egctl
}

// translate runs one stack's objects through both translators.
func translate(t *testing.T, objs []Object) *Result {
	t.Helper()
	aigw, egctl := binaries(t)
	res, err := Translate(aigw, egctl, t.TempDir(), objs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func settings(t *testing.T) Settings {
	t.Helper()
	s, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadStack(t *testing.T, stack string) []Object {
	t.Helper()
	objs, err := LoadGateway(stack)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestGoldensTranslate: every golden stack's gateway objects pass both
// translators with everything Accepted, and the xDS does what the README
// promises.
func TestGoldensTranslate(t *testing.T) {
	stacks, err := Stacks()
	if err != nil {
		t.Fatal(err)
	}
	if len(stacks) == 0 {
		t.Fatalf("no golden stack under %s renders a Gateway", GoldenDir)
	}
	set := settings(t)
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			t.Parallel()
			objs := loadStack(t, stack)
			res := translate(t, objs)
			// An object egctl cannot load is one nothing here checks: a
			// new kind needs its own way in (as InferencePools have,
			// pool.go).
			if len(res.Dropped) > 0 {
				t.Errorf("the AI Gateway translation emitted objects egctl v1.8.3 cannot load, so unchecked: %s", strings.Join(res.Dropped, ", "))
			}
			// One stand-in per InferencePool and per listener selecting
			// namespaces, each of which the checks then evaluate.
			if want := standInsNeeded(objs); len(res.StandIns) != want {
				t.Errorf("%d stand-ins, want %d (one per pool and per namespace-selecting listener): %v", len(res.StandIns), want, res.StandIns)
			}
			for _, p := range Check(set, objs, res) {
				t.Error(p)
			}
		})
	}
}

// standInsNeeded counts what Translate must stand in for egctl: each
// InferencePool and each listener admitting routes by namespace selector.
func standInsNeeded(objs []Object) int {
	n := 0
	for _, o := range objs {
		switch o.Kind() {
		case inferencePoolKind:
			n++
		case "Gateway":
			for _, l := range list(dig(o, "spec", "listeners")) {
				if str(l.(map[string]any), "allowedRoutes", "namespaces", "from") == "Selector" {
					n++
				}
			}
		}
	}
	return n
}
