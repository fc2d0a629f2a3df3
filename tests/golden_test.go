package tests

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/llm-platform/llm-platform/render"
)

var update = flag.Bool("update", false, "rewrite the golden renders under testdata/golden")

// goldenFiles is the render of one stack as file path -> content, exactly
// what `make render` writes under rendered/<stack>/.
func goldenFiles(t *testing.T, res *render.Result) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	b, err := res.ResourcesJSON()
	if err != nil {
		t.Fatal(err)
	}
	files["resources.json"] = b
	k8s, err := res.KubernetesFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range k8s {
		files[filepath.Join("kubernetes", name)] = content
	}
	return files
}

func TestGoldenRenders(t *testing.T) {
	for name, stack := range stacks {
		t.Run(name, func(t *testing.T) {
			got := goldenFiles(t, mustRun(t, loadStack(t, stack)))
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for path, content := range got {
					full := filepath.Join(dir, path)
					if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(full, content, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			want := map[string][]byte{}
			err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				rel, _ := filepath.Rel(dir, path)
				want[rel] = b
				return err
			})
			if err != nil {
				t.Fatalf("%v (run: go test ./tests -run Golden -update)", err)
			}
			for _, path := range sortedPaths(got, want) {
				switch g, w := got[path], want[path]; {
				case w == nil:
					t.Errorf("%s: rendered but not in the golden (run with -update and review)", path)
				case g == nil:
					t.Errorf("%s: in the golden but no longer rendered", path)
				case !bytes.Equal(g, w):
					t.Errorf("%s differs from the golden (run with -update and review the diff)\n%s", path, firstDiff(g, w))
				}
			}
		})
	}
}

// The same config must render byte-identical output every time: resource
// registration runs concurrently, so this catches anything order-dependent.
func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	sc := loadStack(t, "dev")
	first := goldenFiles(t, mustRun(t, sc))
	for range 5 {
		again := goldenFiles(t, mustRun(t, sc))
		for _, path := range sortedPaths(first, again) {
			if !bytes.Equal(first[path], again[path]) {
				t.Fatalf("%s differs between two renders\n%s", path, firstDiff(first[path], again[path]))
			}
		}
	}
}

func sortedPaths(a, b map[string][]byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string][]byte{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// firstDiff shows the first differing line of two renders.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return fmt.Sprintf("line %d:", i+1) + "\n  got:  " + string(gl) + "\n  want: " + string(wl)
		}
	}
	return ""
}
