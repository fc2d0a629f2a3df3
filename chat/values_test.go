package chat

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/config"
)

// chartKeys are the open-webui chart's values (16.0.0, tag
// open-webui-16.0.0 of open-webui/helm-charts, charts/open-webui/
// values.yaml) the program sets, each with where it was read: the
// values.yaml line where known, else the template that reads it. A key
// the program starts to set must be read there first and added here.
var chartKeys = map[string]string{
	"ollama.enabled":                   "values.yaml l.17",
	"pipelines.enabled":                "values.yaml l.48",
	"tika.enabled":                     "values.yaml l.59",
	"terminals.enabled":                "values.yaml l.64",
	"websocket.enabled":                "values.yaml l.69",
	"websocket.manager":                "values.yaml l.72",
	"websocket.redis.enabled":          "values.yaml l.88",
	"ingress.enabled":                  "values.yaml l.298",
	"replicaCount":                     "values.yaml (default 1); templates/workload-manager.yaml",
	"persistence.enabled":              "values.yaml l.394",
	"persistence.size":                 "values.yaml persistence.size (2Gi); templates/pvc.yaml",
	"persistence.storageClass":         "values.yaml persistence.storageClass; templates/pvc.yaml",
	"persistence.accessModes":          "values.yaml persistence.accessModes; templates/pvc.yaml",
	"persistence.annotations":          "values.yaml persistence.annotations; templates/pvc.yaml",
	"nodeSelector":                     "values.yaml nodeSelector (passed through tpl)",
	"resources":                        "values.yaml resources",
	"copyAppData.resources":            "values.yaml copyAppData.resources; workload-manager.yaml:58-85",
	"podSecurityContext":               "values.yaml podSecurityContext",
	"containerSecurityContext":         "values.yaml containerSecurityContext (init and main containers)",
	"startupProbe":                     "values.yaml startupProbe",
	"livenessProbe":                    "values.yaml livenessProbe",
	"readinessProbe":                   "values.yaml readinessProbe",
	"enableOpenaiApi":                  "values.yaml enableOpenaiApi; workload-manager.yaml:156-170",
	"openaiBaseApiUrl":                 "values.yaml openaiBaseApiUrl; workload-manager.yaml:156-170",
	"openaiApiKeyExistingSecret":       "values.yaml openaiApiKeyExistingSecret; workload-manager.yaml:156-170",
	"openaiApiKeyExistingSecretKey":    "values.yaml openaiApiKeyExistingSecretKey (no default)",
	"extraEnvVars":                     "values.yaml extraEnvVars (list form)",
	"sso.enabled":                      "values.yaml sso.enabled",
	"sso.enableSignup":                 "values.yaml sso.enableSignup (ENABLE_OAUTH_SIGNUP)",
	"sso.enableRoleManagement":         "values.yaml sso.enableRoleManagement",
	"sso.roleManagement.rolesClaim":    "values.yaml sso.roleManagement.rolesClaim",
	"sso.roleManagement.allowedRoles":  "values.yaml sso.roleManagement.allowedRoles",
	"sso.roleManagement.adminRoles":    "values.yaml sso.roleManagement.adminRoles",
	"sso.oidc.enabled":                 "values.yaml sso.oidc.enabled",
	"sso.oidc.clientId":                "values.yaml sso.oidc.clientId",
	"sso.oidc.clientExistingSecret":    "values.yaml sso.oidc.clientExistingSecret",
	"sso.oidc.clientExistingSecretKey": "values.yaml sso.oidc.clientExistingSecretKey",
	"sso.oidc.providerUrl":             "values.yaml sso.oidc.providerUrl (the well-known URL)",
}

// Leaf values whose content is the chart's business, not a key path:
// Kubernetes objects the chart passes through whole.
var opaque = []string{"nodeSelector", "resources", "copyAppData.resources", "podSecurityContext",
	"containerSecurityContext", "startupProbe", "livenessProbe", "readinessProbe", "persistence.annotations"}

func keyPaths(v map[string]any, prefix string) []string {
	var out []string
	for k, x := range v {
		p := prefix + k
		if m, ok := x.(map[string]any); ok && !slices.Contains(opaque, p) {
			out = append(out, keyPaths(m, p+".")...)
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func spec(oidc *config.ChatOIDC, db bool) Spec {
	return Spec{URL: "https://chat.example.com", AdminEmail: AdminEmail("chat.example.com"), OIDC: oidc, ExternalDatabase: db,
		GatewayURL: "http://gw/v1", StorageClass: "gp3", StorageGiB: 10, NodeSelector: map[string]string{"a": "b"}}
}

var testOIDC = &config.ChatOIDC{Issuer: "https://login.example.com/", ClientID: "webui", AllowedGroups: []string{"a", "b"}, GroupsClaim: "groups", AdminGroups: []string{}}

// Every value the program sets is a key of the chart at the pinned
// version.
func TestValuesAreChartKeys(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{spec(nil, false), spec(testOIDC, true)} {
		for _, p := range keyPaths(Values(s), "") {
			if _, ok := chartKeys[p]; !ok {
				t.Errorf("value %s is not in the chart keys read from values.yaml", p)
			}
		}
	}
}

func envOf(s Spec) map[string]any {
	out := map[string]any{}
	for _, e := range EnvVars(s) {
		m := e.(map[string]any)
		if _, dup := out[m["name"].(string)]; dup {
			panic("duplicate env " + m["name"].(string))
		}
		if v, ok := m["value"]; ok {
			out[m["name"].(string)] = v
		} else {
			out[m["name"].(string)] = m["valueFrom"]
		}
	}
	return out
}

// Without OIDC: the generated admin, no signup, the password form on, no
// SSO values (the chart would fail without a client secret).
func TestValuesWithoutOIDC(t *testing.T) {
	t.Parallel()
	s := spec(nil, false)
	v := Values(s)
	if _, ok := v["sso"]; ok {
		t.Error("sso values without OIDC")
	}
	env := envOf(s)
	for k, want := range map[string]string{"ENABLE_SIGNUP": "False", "WEBUI_ADMIN_EMAIL": "admin@chat.example.com",
		"ENABLE_FORWARD_USER_INFO_HEADERS": "True", "BYPASS_MODEL_ACCESS_CONTROL": "True", "ENABLE_DIRECT_CONNECTIONS": "False"} {
		if env[k] != want {
			t.Errorf("%s = %v, want %s", k, env[k], want)
		}
	}
	if _, ok := env["WEBUI_ADMIN_PASSWORD"].(map[string]any); !ok {
		t.Error("the admin password is not read from the Secret")
	}
	for _, k := range []string{"ENABLE_LOGIN_FORM", "DATABASE_URL"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s set without OIDC or a database", k)
		}
	}
}

// With OIDC: groups gate sign-in, the password form is off, the issuer's
// discovery URL is the provider URL, no group is admin by default.
func TestValuesWithOIDC(t *testing.T) {
	t.Parallel()
	s := spec(testOIDC, true)
	sso := Values(s)["sso"].(map[string]any)
	if got := sso["oidc"].(map[string]any)["providerUrl"]; got != "https://login.example.com/.well-known/openid-configuration" {
		t.Errorf("providerUrl = %v", got)
	}
	if got := sso["roleManagement"].(map[string]any)["allowedRoles"]; got != "a,b" {
		t.Errorf("allowedRoles = %v", got)
	}
	env := envOf(s)
	if env["ENABLE_LOGIN_FORM"] != "False" || env["OAUTH_ADMIN_ROLES"] != "" {
		t.Errorf("login form %v, admin roles %q", env["ENABLE_LOGIN_FORM"], env["OAUTH_ADMIN_ROLES"])
	}
	if _, ok := env["DATABASE_URL"].(map[string]any); !ok {
		t.Error("DATABASE_URL not from the Secret")
	}
}

// The pod may reach the issuer only over HTTPS outside the VPC, and the
// database only on PostgreSQL's port; without them, neither.
func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	p := Policy{EnvoyNamespace: "envoy", EnvoyPodLabels: map[string]string{"x": "y"}, EnvoyPort: 10443, VPCCIDR: "10.0.0.0/16"}
	egress := func(p Policy) []any { return NetworkPolicyObject(p)["spec"].(map[string]any)["egress"].([]any) }
	if n := len(egress(p)); n != 2 {
		t.Errorf("%d egress rules without OIDC or database, want Envoy and DNS", n)
	}
	p.OIDC, p.ExternalDatabase = true, true
	e := egress(p)
	if len(e) != 4 || !strings.Contains(stringOf(e[2]), "10.0.0.0/16") || !strings.Contains(stringOf(e[3]), "5432") {
		t.Errorf("egress = %v", e)
	}
	if !strings.Contains(stringOf(e[0]), "10443") {
		t.Errorf("Envoy egress not to its container port: %v", e[0])
	}
}

func stringOf(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				b.WriteString(k + ":")
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		default:
			b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(x), "\n", ""), " ", "")) + ";")
		}
	}
	walk(v)
	return b.String()
}

func fmtAny(v any) string { return fmt.Sprint(v) }
