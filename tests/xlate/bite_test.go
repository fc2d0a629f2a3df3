package xlate

import (
	"strings"
	"testing"
)

// edit returns a copy of objs with f applied to each (f returns false to
// drop the object).
func edit(objs []Object, f func(o Object) bool) []Object {
	var out []Object
	for _, o := range objs {
		c := deepCopy(o)
		if f(c) {
			out = append(out, c)
		}
	}
	return out
}

// rateLimitRules returns the BackendTrafficPolicy's global rules.
func rateLimitRules(o Object) []any {
	return list(dig(o, "spec", "rateLimit", "global", "rules"))
}

// TestBrokenGoldensBite: each assertion fails on a broken copy of a golden,
// with the translator's own message where the translator is what refuses.
func TestBrokenGoldensBite(t *testing.T) {
	checkBrokenCopies(t, "two-models", []brokenCopy{
		{
			name: "missing API-key Secret",
			edit: func(o Object) bool {
				return o.Kind() != "Secret" || o.Name() != "llm-api-keys"
			},
			// Envoy Gateway's SecurityPolicy status, quoted.
			want: "SecurityPolicy llm-gateway/llm-api-keys on llm-gateway: Accepted=False (Invalid): ",
		},
		{
			name: "per-route budget (shared removed)",
			edit: func(o Object) bool {
				if o.Kind() == "BackendTrafficPolicy" {
					for _, r := range rateLimitRules(o) {
						delete(r.(map[string]any), "shared")
					}
				}
				return true
			},
			want: "counted per route",
		},
		{
			name: "unsupported rate-limit unit",
			edit: func(o Object) bool {
				if o.Kind() == "BackendTrafficPolicy" {
					for _, r := range rateLimitRules(o) {
						r.(map[string]any)["limit"].(map[string]any)["unit"] = "Week"
					}
				}
				return true
			},
			want: `Unsupported value: "Week"`,
		},
		{
			name: "stream idle timeout beyond the NLB",
			edit: func(o Object) bool {
				if o.Kind() == "ClientTrafficPolicy" {
					dig(o, "spec", "timeout", "http").(map[string]any)["streamIdleTimeout"] = "400s"
				}
				return true
			},
			want: "not under the NLB's 350 s idle limit",
		},
		{
			name: "API keys not on the Gateway",
			edit: func(o Object) bool {
				return o.Kind() != "SecurityPolicy"
			},
			want: "no envoy.filters.http.api_key_auth filter",
		},
	})
}

// brokenCopy is a golden broken on purpose.
type brokenCopy struct {
	name string
	// edit breaks the objects; false drops one.
	edit func(o Object) bool
	// want is a substring of the problem (or translator error) expected.
	want string
}

// checkBrokenCopies translates and checks each broken copy of a stack's
// golden and fails unless the expected problem is reported.
func checkBrokenCopies(t *testing.T, stack string, cases []brokenCopy) {
	t.Helper()
	set := settings(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			aigw, egctl := binaries(t)
			objs := edit(loadStack(t, stack), tc.edit)
			res, err := Translate(aigw, egctl, t.TempDir(), objs)
			var problems []string
			if err != nil {
				problems = []string{err.Error()}
			} else {
				problems = Check(set, objs, res)
			}
			all := strings.Join(problems, "\n")
			if !strings.Contains(all, tc.want) {
				t.Fatalf("the broken copy was not caught with %q; problems:\n%s", tc.want, all)
			}
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					t.Logf("caught: %s", firstLine(p))
				}
			}
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
