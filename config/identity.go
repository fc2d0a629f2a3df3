package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Identity and spend (package budgets): OIDC clients beside API keys,
// token budgets per hour, day and month, group default budgets, an
// observe mode, and what the store of the counters does when it is down.

// Budget modes.
const (
	// BudgetEnforce answers 429 once the budget is spent.
	BudgetEnforce = "enforce"
	// BudgetObserve only counts what would have been refused (the rate
	// limit's shadow mode), to size a budget before enforcing it.
	BudgetObserve = "observe"
)

// What the gateway does while the counter store is unreachable.
const (
	StoreDownOpen   = "open"
	StoreDownClosed = "closed"
)

// OIDC lets clients authenticate with a JWT from an OpenID Connect
// issuer instead of an API key (gateway.oidc).
type OIDC struct {
	// Issuer is the tokens' iss (an https URL).
	Issuer string `json:"issuer"`
	// JWKSURI is where the issuer publishes its signing keys (https).
	JWKSURI string `json:"jwksUri"`
	// Audiences the token's aud must include one of (empty: not checked).
	Audiences []string `json:"audiences"`
	// ClientClaim names the client, as an API key's name does: budgets,
	// metrics and fairness key on it. A string claim.
	ClientClaim string `json:"clientClaim"`
	// GroupClaim, optional, names the client's group, whose default
	// budget applies to each of its members. A string claim: Envoy copies
	// no array claim into a header.
	GroupClaim string `json:"groupClaim"`
}

// Group is a JWT group with a default budget per member
// (gateway.groups).
type Group struct {
	Name           string `json:"name"`
	TokensPerHour  int    `json:"tokensPerHour"`
	TokensPerDay   int    `json:"tokensPerDay"`
	TokensPerMonth int    `json:"tokensPerMonth"`
	Mode           string `json:"mode"`
}

// Budgets are the token budgets of a client or a group member, by
// window; 0 is no budget for that window.
type Budgets struct {
	PerHour, PerDay, PerMonth int
	// Observe counts would-be refusals instead of refusing.
	Observe bool
}

// MaxBudgetRules is Envoy Gateway v1.8.3's limit on a policy's rate limit
// rules (api/v1alpha1/ratelimit_types.go, Global.Rules MaxItems); a
// Gateway takes one BackendTrafficPolicy.
const MaxBudgetRules = 256

func (b Budgets) windows() int {
	n := 0
	for _, v := range []int{b.PerHour, b.PerDay, b.PerMonth} {
		if v > 0 {
			n++
		}
	}
	return n
}

// Any says whether any window has a budget.
func (b Budgets) Any() bool { return b.PerHour > 0 || b.PerDay > 0 || b.PerMonth > 0 }

// Budgets of a client.
func (c Client) Budgets() Budgets {
	return Budgets{PerHour: c.TokensPerHour, PerDay: c.TokensPerDay, PerMonth: c.TokensPerMonth, Observe: c.Mode == BudgetObserve}
}

// Budgets of a group's member.
func (g Group) Budgets() Budgets {
	return Budgets{PerHour: g.TokensPerHour, PerDay: g.TokensPerDay, PerMonth: g.TokensPerMonth, Observe: g.Mode == BudgetObserve}
}

// budgets are every client's (the chat client's too) and group's
// budgets.
func (c *Config) budgets() []Budgets {
	var out []Budgets
	for _, cl := range c.Clients() {
		out = append(out, cl.Budgets())
	}
	for _, g := range c.Gateway.Groups {
		out = append(out, g.Budgets())
	}
	return out
}

// durableBudgets says whether any budget spans more than an hour: those
// need counters that survive a restart of their store.
func (c *Config) durableBudgets() bool {
	return slices.ContainsFunc(c.budgets(), func(b Budgets) bool { return b.PerDay > 0 || b.PerMonth > 0 })
}

var claimName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:/-]*$`)

// CounterStoreGiB sizes the budgets' counter volume: a few keys per
// client, group member and window; 1 GiB is the smallest gp3 volume.
const CounterStoreGiB = 1

// HasBudgets says whether any client (the chat client too) or group has a
// budget, and so the gateway runs the counter store.
func (c *Config) HasBudgets() bool {
	return slices.ContainsFunc(c.budgets(), Budgets.Any)
}

// MinMonthlyRetentionDays is the Prometheus retention the monthly usage
// view needs: a 31-day month and a day of margin.
const MinMonthlyRetentionDays = 32

func (c *Config) validateIdentity(errs *Errors) {
	g := c.Gateway
	if o := g.OIDC; o != nil {
		if u, err := url.Parse(o.Issuer); o.Issuer == "" || err != nil || u.Scheme != "https" || u.Host == "" {
			errs.add("gateway.oidc.issuer", o.Issuer, "must be the issuer's https URL, as in its tokens' iss")
		}
		if u, err := url.Parse(o.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" {
			errs.add("gateway.oidc.jwksUri", o.JWKSURI, "must be an https URL: keys fetched in clear text could be swapped")
		}
		for i, a := range o.Audiences {
			if strings.TrimSpace(a) == "" {
				errs.add(fmt.Sprintf("gateway.oidc.audiences[%d]", i), a, "must not be empty")
			}
		}
		if len(o.Audiences) > 8 {
			errs.add("gateway.oidc.audiences", len(o.Audiences), "at most 8 (Envoy Gateway's JWT provider limit)")
		}
		if !claimName.MatchString(o.ClientClaim) {
			errs.add("gateway.oidc.clientClaim", o.ClientClaim, "must name the string claim that identifies the client (like sub or email)")
		}
		if o.GroupClaim != "" && !claimName.MatchString(o.GroupClaim) {
			errs.add("gateway.oidc.groupClaim", o.GroupClaim, "must name a string claim")
		}
	}
	if len(g.Groups) > 0 && (g.OIDC == nil || g.OIDC.GroupClaim == "") {
		errs.add("gateway.groups", len(g.Groups), "group budgets need gateway.oidc.groupClaim: the group comes from the token")
	}
	seen := map[string]bool{}
	for i, gr := range g.Groups {
		key := fmt.Sprintf("gateway.groups[%d]", i)
		if strings.TrimSpace(gr.Name) == "" || strings.ContainsAny(gr.Name, "\r\n") || len(gr.Name) > 128 {
			errs.add(key+".name", gr.Name, "must be the group claim's value (at most 128 characters)")
		} else if seen[gr.Name] {
			errs.add(key+".name", gr.Name, "duplicate group")
		}
		seen[gr.Name] = true
		checkBudgets(errs, key, gr.TokensPerHour, gr.TokensPerDay, gr.TokensPerMonth, gr.Mode)
		if !gr.Budgets().Any() {
			errs.add(key, gr.Name, "a group without a budget does nothing: set tokensPerHour, tokensPerDay or tokensPerMonth")
		}
	}
	rules := 0
	for _, b := range c.budgets() {
		rules += b.windows()
	}
	if rules > MaxBudgetRules {
		errs.add("gateway.clients", len(g.Clients), "with gateway.groups, %d budgets (one per client or group and window): Envoy Gateway holds at most %d in the one policy a Gateway takes", rules, MaxBudgetRules)
	}
	if g.BudgetStoreDown != StoreDownOpen && g.BudgetStoreDown != StoreDownClosed {
		errs.add("gateway.budgetStoreDown", g.BudgetStoreDown, "must be %q (requests pass unmetered) or %q (requests are refused)", StoreDownOpen, StoreDownClosed)
	}
	if c.durableBudgets() && c.LLMLayer() && !c.ObservabilityLayer() {
		errs.add("observability.enabled", false, "daily and monthly budgets keep their counters on an EBS volume, whose driver comes with the observability layer")
	}
	if c.ObservabilityLayer() {
		if d, ok := retentionDays(c.Observability.Retention); ok && d < MinMonthlyRetentionDays {
			errs.add("observability.retention", c.Observability.Retention, "must keep at least %d days: the usage and cost view covers a month", MinMonthlyRetentionDays)
		}
	}
}

// checkBudgets checks one client's or group's budgets: no negative
// budget, and each window's budget above every shorter window's. One at
// or below a shorter one's makes the shorter unreachable (a mix no budget
// means), and distinct limits are what tells a 429's x-ratelimit-limit
// apart: its first number is the exhausted budget's.
func checkBudgets(errs *Errors, key string, hour, day, month int, mode string) {
	for _, b := range []struct {
		name string
		v    int
	}{{"tokensPerHour", hour}, {"tokensPerDay", day}, {"tokensPerMonth", month}} {
		if b.v < 0 {
			errs.add(key+"."+b.name, b.v, "must be 0 (no budget) or positive")
		}
	}
	if hour > 0 && day > 0 && day <= hour {
		errs.add(key+".tokensPerDay", day, "must exceed tokensPerHour (%d): the hourly budget could never bind otherwise; lower it or raise the daily one", hour)
	}
	if day > 0 && month > 0 && month <= day {
		errs.add(key+".tokensPerMonth", month, "must exceed tokensPerDay (%d): the daily budget could never bind otherwise", day)
	} else if hour > 0 && month > 0 && month <= hour {
		errs.add(key+".tokensPerMonth", month, "must exceed tokensPerHour (%d): the hourly budget could never bind otherwise", hour)
	}
	if mode != "" && mode != BudgetEnforce && mode != BudgetObserve {
		errs.add(key+".mode", mode, "must be %q or %q", BudgetEnforce, BudgetObserve)
	}
}

// retentionDays reads a Prometheus retention in days (d, w or y units;
// shorter units are under a day).
func retentionDays(r string) (int, bool) {
	if len(r) < 2 {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscanf(r[:len(r)-1], "%d", &n); err != nil {
		return 0, false
	}
	switch r[len(r)-1] {
	case 'd':
		return n, true
	case 'w':
		return 7 * n, true
	case 'y':
		return 365 * n, true
	case 'h', 'm', 's':
		return 0, true
	}
	return 0, false
}
