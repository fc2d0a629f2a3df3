package chat

import (
	"strconv"
	"strings"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/sizing"
)

// Names of the chat front end's objects.
const (
	// Namespace holds Open WebUI, its Secret, route and policies.
	Namespace = "chat"
	// ReleaseName is the Helm release; with the chart's name in it, the
	// chart names its Service and workload exactly this (_helpers.tpl
	// open-webui.fullname).
	ReleaseName = "open-webui"
	// ServiceName and ServicePort are the chart's Service (service.port).
	ServiceName = ReleaseName
	ServicePort = 80
	// ContainerPort is Open WebUI's port (service.containerPort, the
	// image's PORT).
	ContainerPort = 8080
	// SecretName holds the chat client's API key, the session signing
	// key, the admin password and, when set, the OIDC client secret and
	// the database URL.
	SecretName = "open-webui"
	// Keys of SecretName.
	KeyAPIKey        = "openai-api-key"
	KeySessionSecret = "webui-secret-key"
	KeyAdminPassword = "admin-password"
	KeyOIDCSecret    = "oidc-client-secret"
	KeyDatabaseURL   = "database-url"
	// AdminName is the generated admin's display name.
	AdminName = "Admin"
)

// PodLabels select the Open WebUI pod (the chart's
// open-webui.selectorLabels: the release and the chart's name).
func PodLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/instance": ReleaseName, "app.kubernetes.io/component": "open-webui"}
}

// Spec is what the chart's values are made of (plain values only: the
// secrets reach the pod from SecretName).
type Spec struct {
	// URL is the address users open (WEBUI_URL; OIDC redirects to it).
	URL string
	// AdminEmail is the generated local admin's sign-in.
	AdminEmail string
	// OIDC signs users in; nil: the admin account only.
	OIDC *config.ChatOIDC
	// ExternalDatabase: DATABASE_URL comes from SecretName.
	ExternalDatabase bool
	// GatewayURL is the gateway's in-cluster OpenAI base URL.
	GatewayURL   string
	StorageClass string
	StorageGiB   int
	NodeSelector map[string]string
}

// AdminEmail is the generated admin's email for a hostname.
func AdminEmail(hostname string) string { return "admin@" + hostname }

// ProviderURL is the OIDC discovery document Open WebUI reads
// (OPENID_PROVIDER_URL is passed verbatim to authlib as
// server_metadata_url).
func ProviderURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

func env(name, value string) any { return map[string]any{"name": name, "value": value} }

func secretEnv(name, key string) any {
	return map[string]any{"name": name, "valueFrom": map[string]any{
		"secretKeyRef": map[string]any{"name": SecretName, "key": key},
	}}
}

// EnvVars are the extraEnvVars: the settings the chart has no value for.
// Open WebUI reads most of them once into its database and prefers the
// stored copy afterwards; ENABLE_PERSISTENT_CONFIG=False keeps this list
// (so Pulumi) the source of truth on every start.
func EnvVars(s Spec) []any {
	out := []any{
		env("WEBUI_URL", s.URL),
		// Generated and stable: start.sh would otherwise write a random
		// one outside the volume, lost (with every session) on restart.
		secretEnv("WEBUI_SECRET_KEY", KeySessionSecret),
		env("ENABLE_PERSISTENT_CONFIG", "False"),
		// No self-service accounts: OIDC users are created on first
		// sign-in (sso.enableSignup), local ones by the admin.
		env("ENABLE_SIGNUP", "False"),
		env("DEFAULT_USER_ROLE", "pending"),
		// The signed-in user reaches the gateway's metrics
		// (gateway.UserEmailHeader).
		env("ENABLE_FORWARD_USER_INFO_HEADERS", "True"),
		// Every user sees every model the gateway lists; the gateway, not
		// Open WebUI, decides who may call what.
		env("BYPASS_MODEL_ACCESS_CONTROL", "True"),
		// Users must not add their own endpoints: every model call goes
		// through the gateway.
		env("ENABLE_DIRECT_CONNECTIONS", "False"),
		// No update checks or Hugging Face downloads: the image's seeded
		// models are enough, and the pod has no general egress.
		env("OFFLINE_MODE", "True"),
		env("ENABLE_COMMUNITY_SHARING", "False"),
		env("ENABLE_EVALUATION_ARENA_MODELS", "False"),
		// Always a local admin as user #1: with OIDC alone the first
		// person to sign in would become admin, whatever their groups.
		env("WEBUI_ADMIN_EMAIL", s.AdminEmail),
		secretEnv("WEBUI_ADMIN_PASSWORD", KeyAdminPassword),
		env("WEBUI_ADMIN_NAME", AdminName),
	}
	if s.OIDC != nil {
		// The password form off: users sign in with the provider only.
		out = append(out, env("ENABLE_LOGIN_FORM", "False"))
		if len(s.OIDC.AdminGroups) == 0 {
			// The chart emits OAUTH_ADMIN_ROLES only when set, and Open
			// WebUI's default would make a group named "admin" admins.
			out = append(out, env("OAUTH_ADMIN_ROLES", ""))
		}
	}
	if s.ExternalDatabase {
		// The chart's databaseUrl is a plain value; the URL holds a password.
		out = append(out, secretEnv("DATABASE_URL", KeyDatabaseURL))
	}
	return out
}

// Values are the open-webui chart's values (chart 16.0.0; every key is
// listed, with where it was read, in values_test.go).
func Values(s Spec) map[string]any {
	probe := func(path string, period, failures int) map[string]any {
		return map[string]any{
			"httpGet":       map[string]any{"path": path, "port": "http"},
			"periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": failures,
		}
	}
	v := map[string]any{
		// Models come from the gateway only.
		"ollama":    map[string]any{"enabled": false},
		"pipelines": map[string]any{"enabled": false},
		"tika":      map[string]any{"enabled": false},
		"terminals": map[string]any{"enabled": false},
		// One replica: socket.io's in-memory manager, no Redis.
		"websocket":    map[string]any{"enabled": true, "manager": "", "redis": map[string]any{"enabled": false}},
		"ingress":      map[string]any{"enabled": false},
		"replicaCount": 1,
		"persistence": map[string]any{
			"enabled": true, "size": strconv.Itoa(s.StorageGiB) + "Gi", "storageClass": s.StorageClass,
			"accessModes": []any{"ReadWriteOnce"},
			// The chart's PVC is a plain template: Helm would delete it
			// (and the chats) with a replaced release.
			"annotations": map[string]any{"helm.sh/resource-policy": "keep"},
		},
		"nodeSelector": manifest.Map(s.NodeSelector),
		"resources":    sizing.OpenWebUI.Values(),
		"copyAppData":  map[string]any{"resources": sizing.OpenWebUICopy.Values()},
		"podSecurityContext": map[string]any{
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		},
		// Root, as the image is built and tested (Dockerfile UID 0), but
		// without capabilities or privilege escalation: the baseline
		// level, with all of restricted but runAsNonRoot (see the
		// namespace in chat.go).
		"containerSecurityContext": map[string]any{
			"allowPrivilegeEscalation": false,
			"capabilities":             map[string]any{"drop": []any{"ALL"}},
			"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
		},
		// The first start seeds the volume and migrates the database.
		"startupProbe":                  probe("/health", 10, 60),
		"livenessProbe":                 probe("/health", 20, 3),
		"readinessProbe":                probe("/health/db", 10, 3),
		"enableOpenaiApi":               true,
		"openaiBaseApiUrl":              s.GatewayURL,
		"openaiApiKeyExistingSecret":    SecretName,
		"openaiApiKeyExistingSecretKey": KeyAPIKey,
		"extraEnvVars":                  EnvVars(s),
	}
	if o := s.OIDC; o != nil {
		// Sign-in restricted to the allowed groups: Open WebUI has no
		// allowed-groups setting, but role management on the groups
		// claim refuses (403) a user whose groups match no allowed or
		// admin role.
		v["sso"] = map[string]any{
			"enabled":              true,
			"enableSignup":         true,
			"enableRoleManagement": true,
			"roleManagement": map[string]any{
				"rolesClaim":   o.GroupsClaim,
				"allowedRoles": strings.Join(o.AllowedGroups, ","),
				"adminRoles":   strings.Join(o.AdminGroups, ","),
			},
			"oidc": map[string]any{
				"enabled":                 true,
				"clientId":                o.ClientID,
				"clientExistingSecret":    SecretName,
				"clientExistingSecretKey": KeyOIDCSecret,
				"providerUrl":             ProviderURL(o.Issuer),
			},
		}
	}
	return v
}
