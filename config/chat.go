package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// The chat front end (package chat): Open WebUI on the platform pool,
// signed in with OIDC (or one generated admin), reaching models only
// through the gateway as the client ChatClientName.

// Secret config keys of the chat front end.
const (
	// ChatOIDCClientSecretKey holds chat.oidc's client secret.
	ChatOIDCClientSecretKey = "chatOidcClientSecret"
	// ChatDatabaseURLKey holds an external PostgreSQL URL for Open WebUI's
	// state (empty: SQLite on the chat volume).
	ChatDatabaseURLKey = "chatDatabaseUrl"
)

// ChatClientName is the gateway client Open WebUI calls the models as:
// it gets an API key and chat's budgets like any client.
const ChatClientName = "chat"

// Chat configures the chat front end (config key chat).
type Chat struct {
	// Enabled installs Open WebUI (needs llm.enabled).
	Enabled bool `json:"enabled"`
	// Hostname is the DNS name users open; the Gateway's chat listener
	// answers for it.
	Hostname string `json:"hostname"`
	// OIDC signs users in with an OpenID Connect provider; nil: one
	// generated local admin account.
	OIDC *ChatOIDC `json:"oidc"`
	// TokensPerHour, TokensPerDay and TokensPerMonth are the chat
	// client's budgets (all its users together), as a gateway client's.
	TokensPerHour  int `json:"tokensPerHour"`
	TokensPerDay   int `json:"tokensPerDay"`
	TokensPerMonth int `json:"tokensPerMonth"`
	// StorageGiB sizes Open WebUI's encrypted gp3 data volume.
	StorageGiB int `json:"storageGiB"`
}

// ChatOIDC is Open WebUI's OpenID Connect client (chat.oidc).
type ChatOIDC struct {
	// Issuer is the provider's issuer URL (https); Open WebUI reads
	// <issuer>/.well-known/openid-configuration.
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	// AllowedGroups may sign in (at least one); a user whose groups claim
	// names none of them is refused.
	AllowedGroups []string `json:"allowedGroups"`
	// GroupsClaim is the claim listing the user's groups.
	GroupsClaim string `json:"groupsClaim"`
	// AdminGroups make their members Open WebUI admins (empty: none).
	AdminGroups []string `json:"adminGroups"`
}

// DefaultChat is the chat key when the stack does not set it.
func DefaultChat() Chat {
	// 10 GiB: SQLite, uploads, the vector store and the embedding and
	// speech models the image seeds into its data directory (about 1 GiB).
	return Chat{Enabled: false, Hostname: "", TokensPerHour: 0, TokensPerDay: 0, TokensPerMonth: 0, StorageGiB: 10}
}

// DefaultGroupsClaim is chat.oidc.groupsClaim's default.
const DefaultGroupsClaim = "groups"

// Client is the chat front end's gateway client.
func (c Chat) Client() Client {
	return Client{Name: ChatClientName, TokensPerHour: c.TokensPerHour, TokensPerDay: c.TokensPerDay,
		TokensPerMonth: c.TokensPerMonth, Mode: BudgetEnforce}
}

// ChatLayer reports whether the chat front end is created.
func (c *Config) ChatLayer() bool { return c.LLM.Enabled && c.Chat.Enabled }

// Clients are the gateway's clients: the configured ones, then chat's.
func (c *Config) Clients() []Client {
	out := append([]Client{}, c.Gateway.Clients...)
	if c.ChatLayer() {
		out = append(out, c.Chat.Client())
	}
	return out
}

// dnsName is a lower-case DNS name of at least two labels (no wildcard,
// no trailing dot): what a Gateway listener's hostname takes, less
// wildcards and IP addresses.
var dnsName = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (c *Config) defaultChat() {
	if c.Chat.OIDC != nil && c.Chat.OIDC.GroupsClaim == "" {
		c.Chat.OIDC.GroupsClaim = DefaultGroupsClaim
	}
	if c.Chat.OIDC != nil && c.Chat.OIDC.AdminGroups == nil {
		c.Chat.OIDC.AdminGroups = []string{}
	}
	if c.Chat.OIDC != nil && c.Chat.OIDC.AllowedGroups == nil {
		c.Chat.OIDC.AllowedGroups = []string{}
	}
}

func (c *Config) validateChat(errs *Errors, setSecrets map[string]bool) {
	ch := c.Chat
	if !ch.Enabled {
		for _, k := range []string{ChatOIDCClientSecretKey, ChatDatabaseURLKey} {
			if setSecrets[k] {
				errs.add(k, hidden{}, "set without chat.enabled: nothing would use it")
			}
		}
		return
	}
	if !c.LLM.Enabled {
		errs.add("chat.enabled", true, "needs llm.enabled: Open WebUI runs on the platform pool and reaches models only through the gateway")
	} else if !c.Observability.Enabled {
		errs.add("chat.enabled", true, "needs observability.enabled: its volume is an EBS gp3 volume, whose driver and StorageClass come with the observability layer")
	}
	if len(ch.Hostname) > 253 || !dnsName.MatchString(ch.Hostname) {
		errs.add("chat.hostname", ch.Hostname, "must be a lower-case DNS name like chat.example.com (no wildcard, no IP address, no scheme): the Gateway's chat listener answers for it")
	}
	for i, cl := range c.Gateway.Clients {
		if cl.Name == ChatClientName {
			errs.add(fmt.Sprintf("gateway.clients[%d].name", i), cl.Name, "is the chat front end's own client while chat.enabled is true: rename it")
		}
	}
	checkBudgets(errs, "chat", ch.TokensPerHour, ch.TokensPerDay, ch.TokensPerMonth, "")
	if ch.StorageGiB < 1 || ch.StorageGiB > 1000 {
		errs.add("chat.storageGiB", ch.StorageGiB, "must be 1 to 1000")
	}
	if o := ch.OIDC; o != nil {
		if u, err := url.Parse(o.Issuer); o.Issuer == "" || err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
			errs.add("chat.oidc.issuer", o.Issuer, "must be the provider's https issuer URL (Open WebUI reads <issuer>/.well-known/openid-configuration)")
		}
		if strings.TrimSpace(o.ClientID) == "" {
			errs.add("chat.oidc.clientId", o.ClientID, "must be the OIDC client id registered for %s", ch.Hostname)
		}
		if !setSecrets[ChatOIDCClientSecretKey] {
			errs.add("chat.oidc", o.Issuer, "needs the client secret: pulumi config set --secret %s <secret>", ChatOIDCClientSecretKey)
		}
		if len(o.AllowedGroups) == 0 {
			errs.add("chat.oidc.allowedGroups", o.AllowedGroups, "must name at least one group: without it Open WebUI admits only groups literally named user or admin")
		}
		for i, g := range append(append([]string{}, o.AllowedGroups...), o.AdminGroups...) {
			key := fmt.Sprintf("chat.oidc.allowedGroups[%d]", i)
			if i >= len(o.AllowedGroups) {
				key = fmt.Sprintf("chat.oidc.adminGroups[%d]", i-len(o.AllowedGroups))
			}
			// Open WebUI splits the lists on commas.
			if strings.TrimSpace(g) == "" || strings.ContainsAny(g, ",\r\n") || g == "*" {
				errs.add(key, g, "must be a group name (no comma, not *)")
			}
		}
		if !claimName.MatchString(o.GroupsClaim) {
			errs.add("chat.oidc.groupsClaim", o.GroupsClaim, "must name the claim listing the user's groups")
		}
	} else if setSecrets[ChatOIDCClientSecretKey] {
		errs.add(ChatOIDCClientSecretKey, hidden{}, "set without chat.oidc: nothing would use it")
	}
}
