package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Hosted model providers served behind the same endpoint as the
// self-hosted models (package providers builds them). Adding a kind is one
// entry in ProviderKinds (and, for a key-based kind, its secret key in
// SecretKeys and Pulumi.yaml) plus its case in package providers.

// Provider kinds.
const (
	ProviderBedrock   = "bedrock"
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
)

// ProviderKind is what the config needs to know about a kind.
type ProviderKind struct {
	// SecretKey is the project config key holding the API key (set with
	// --secret); empty for a kind that authenticates otherwise (Bedrock:
	// EKS Pod Identity).
	SecretKey string
	// Regional kinds take a region (Bedrock's runtime endpoint is per
	// region).
	Regional bool
}

// ProviderKinds are the kinds the platform can serve.
var ProviderKinds = map[string]ProviderKind{
	ProviderBedrock:   {Regional: true},
	ProviderOpenAI:    {SecretKey: OpenAIAPIKeyKey},
	ProviderAnthropic: {SecretKey: AnthropicAPIKeyKey},
}

// Secret config keys of the key-based providers.
const (
	OpenAIAPIKeyKey    = "openaiApiKey"
	AnthropicAPIKeyKey = "anthropicApiKey"
)

// ProviderKindNames lists the kinds, sorted.
func ProviderKindNames() []string {
	out := make([]string, 0, len(ProviderKinds))
	for k := range ProviderKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Provider is one hosted provider account (config key providers).
type Provider struct {
	// Name names the provider's Kubernetes objects and is what a model's
	// fallback refers to; defaults to Kind.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Region of a Bedrock provider; defaults to the stack's aws:region.
	Region string `json:"region"`
	// PrivateEndpoint reaches Bedrock through an interface VPC endpoint
	// for bedrock-runtime in the private subnets instead of the NAT
	// gateway (Bedrock in the stack's own region only).
	PrivateEndpoint bool `json:"privateEndpoint"`
	// Models are the served names clients send and the provider's model
	// id each maps to.
	Models []HostedModel `json:"models"`
}

// HostedModel maps a served name to the provider's model id (for
// Bedrock, a model id or an inference profile id such as
// us.anthropic.claude-sonnet-4-20250514-v1:0).
type HostedModel struct {
	ServedName    string `json:"servedName"`
	UpstreamModel string `json:"upstreamModel"`
	// USDPerMillionInputTokens and USDPerMillionOutputTokens are the
	// provider's list prices, for the usage view's cost per client (0:
	// not priced).
	USDPerMillionInputTokens  float64 `json:"usdPerMillionInputTokens"`
	USDPerMillionOutputTokens float64 `json:"usdPerMillionOutputTokens"`
}

// Fallback sends a self-hosted model's requests to a hosted model when
// the self-hosted one cannot take them (models[].fallback).
type Fallback struct {
	// Provider is a providers[].name.
	Provider      string `json:"provider"`
	UpstreamModel string `json:"upstreamModel"`
	// Prices of the fallback's tokens, as for a hosted model.
	USDPerMillionInputTokens  float64 `json:"usdPerMillionInputTokens"`
	USDPerMillionOutputTokens float64 `json:"usdPerMillionOutputTokens"`
}

// ProviderByName returns the provider of that name.
func (c *Config) ProviderByName(name string) (Provider, bool) {
	i := slices.IndexFunc(c.Providers, func(p Provider) bool { return p.Name == name })
	if i < 0 {
		return Provider{}, false
	}
	return c.Providers[i], true
}

var (
	awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	// bedrockModelID is a Bedrock model or inference profile id: it ends
	// up in the IAM policy's resource ARNs, so no wildcard or ARN syntax.
	bedrockModelID = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*(:[0-9]+)?$`)
	upstreamModel  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]*$`)
)

// bedrockGeographies are the prefixes of Bedrock's cross-region inference
// profile ids (us.anthropic...): such a profile routes to the model in
// several regions.
var bedrockGeographies = []string{"us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"}

// BedrockProfile splits an inference profile id into its geography and
// the foundation model id; ok is false for a plain model id.
func BedrockProfile(id string) (geography, model string, ok bool) {
	geo, rest, found := strings.Cut(id, ".")
	if !found || !slices.Contains(bedrockGeographies, geo) {
		return "", id, false
	}
	return geo, rest, true
}

// defaultProviders fills each provider's name and region.
func (c *Config) defaultProviders() {
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Name == "" {
			p.Name = p.Kind
		}
		if p.Region == "" && ProviderKinds[p.Kind].Regional {
			p.Region = c.Region
		}
	}
}

// validateProviders checks providers, the key-based providers' secret
// keys (setKeys: which secret keys the stack sets) and the models'
// fallbacks. served maps every self-hosted served name to its owner.
func (c *Config) validateProviders(errs *Errors, setKeys map[string]bool, served map[string]string) {
	if len(c.Providers) > 0 && !c.LLM.Enabled {
		errs.add("providers", len(c.Providers), "hosted providers are served by the gateway, which needs llm.enabled")
	}
	names := map[string]bool{}
	kindUsed := map[string]string{}
	endpointRegion := map[string]string{}
	for i, p := range c.Providers {
		key := fmt.Sprintf("providers[%d]", i)
		kind, known := ProviderKinds[p.Kind]
		if !known {
			errs.add(key+".kind", p.Kind, "unknown provider kind (known: %s)", strings.Join(ProviderKindNames(), ", "))
			continue
		}
		if !dnsLabel.MatchString(p.Name) || len(p.Name) > 40 {
			errs.add(key+".name", p.Name, "must be a DNS label of at most 40 characters")
		} else if names[p.Name] {
			errs.add(key+".name", p.Name, "duplicate provider name")
		}
		names[p.Name] = true
		if kind.SecretKey != "" {
			// One key per kind: a second account of the same kind would
			// need a second key.
			if prev, dup := kindUsed[p.Kind]; dup {
				errs.add(key+".kind", p.Kind, "only one %s provider is supported (its key is %s); %s is one already", p.Kind, kind.SecretKey, prev)
			}
			kindUsed[p.Kind] = key
			if !setKeys[kind.SecretKey] {
				errs.add(key+".kind", p.Kind, "needs its API key: pulumi config set --secret %s <key>", kind.SecretKey)
			}
		}
		switch {
		case !kind.Regional && p.Region != "":
			errs.add(key+".region", p.Region, "only a bedrock provider has a region")
		case kind.Regional && !awsRegion.MatchString(p.Region):
			errs.add(key+".region", p.Region, "must be an AWS region such as us-east-1 (empty takes aws:region, which is not set)")
		}
		if p.PrivateEndpoint {
			switch {
			case p.Kind != ProviderBedrock:
				errs.add(key+".privateEndpoint", true, "only a bedrock provider can use a VPC endpoint")
			case p.Region != c.Region:
				errs.add(key+".privateEndpoint", true, "an interface VPC endpoint serves the VPC's own region (%s), not %s", c.Region, p.Region)
			case endpointRegion[p.Region] != "":
				// AWS refuses a second private-DNS endpoint for one
				// service in a VPC; one endpoint serves both.
				errs.add(key+".privateEndpoint", true, "%s already has the bedrock-runtime endpoint of %s", endpointRegion[p.Region], p.Region)
			default:
				endpointRegion[p.Region] = key
			}
		}
		if len(p.Models) == 0 {
			errs.add(key+".models", "[]", "a provider serves at least one model")
		}
		for j, m := range p.Models {
			mkey := fmt.Sprintf("%s.models[%d]", key, j)
			if !servedName.MatchString(m.ServedName) || len(m.ServedName) > 128 {
				errs.add(mkey+".servedName", m.ServedName, "must be letters, digits and . _ : / - (at most 128)")
			} else if prev, dup := served[m.ServedName]; dup {
				errs.add(mkey+".servedName", m.ServedName, "served name already used by %s", prev)
			} else {
				served[m.ServedName] = mkey
			}
			checkUpstreamModel(errs, mkey+".upstreamModel", p.Kind, m.UpstreamModel)
			checkPrices(errs, mkey, m.USDPerMillionInputTokens, m.USDPerMillionOutputTokens)
		}
	}
	for _, k := range []string{OpenAIAPIKeyKey, AnthropicAPIKeyKey} {
		if setKeys[k] && !slices.ContainsFunc(c.Providers, func(p Provider) bool { return ProviderKinds[p.Kind].SecretKey == k }) {
			errs.add(k, hidden{}, "is set but no provider of its kind is configured (remove it: pulumi config rm %s)", k)
		}
	}
	for i, m := range c.Models {
		if m.Fallback == nil {
			continue
		}
		key := fmt.Sprintf("models[%d].fallback", i)
		p, ok := c.ProviderByName(m.Fallback.Provider)
		if !ok {
			errs.add(key+".provider", m.Fallback.Provider, "no provider of that name in providers")
			continue
		}
		checkUpstreamModel(errs, key+".upstreamModel", p.Kind, m.Fallback.UpstreamModel)
		checkPrices(errs, key, m.Fallback.USDPerMillionInputTokens, m.Fallback.USDPerMillionOutputTokens)
		if m.Fallback.UpstreamModel == m.ServedName {
			// Fallbacks are counted as requests for the served name sent
			// on as another model.
			errs.add(key+".upstreamModel", m.Fallback.UpstreamModel, "must differ from the model's servedName, or fallbacks cannot be told apart in the metrics")
		}
	}
}

func checkUpstreamModel(errs *Errors, key, kind, id string) {
	switch {
	case kind == ProviderBedrock && !bedrockModelID.MatchString(id):
		errs.add(key, id, "must be a Bedrock model id or inference profile id (like anthropic.claude-3-5-haiku-20241022-v1:0)")
	case !upstreamModel.MatchString(id) || len(id) > 256:
		errs.add(key, id, "must be the provider's model id (letters, digits and . _ : / @ -)")
	}
}

func checkPrices(errs *Errors, key string, input, output float64) {
	if input < 0 || input > 10000 {
		errs.add(key+".usdPerMillionInputTokens", input, "must be a price in USD per million tokens, 0 to 10000 (0: not priced)")
	}
	if output < 0 || output > 10000 {
		errs.add(key+".usdPerMillionOutputTokens", output, "must be a price in USD per million tokens, 0 to 10000 (0: not priced)")
	}
}

// HostedPrice is a hosted model id's list prices.
type HostedPrice struct {
	UpstreamModel                                       string
	USDPerMillionInputTokens, USDPerMillionOutputTokens float64
}

// HostedPrices lists the priced hosted model ids (providers' models and
// fallbacks), one entry per id (the first price given wins).
func (c *Config) HostedPrices() []HostedPrice {
	var out []HostedPrice
	seen := map[string]bool{}
	add := func(id string, in, outp float64) {
		if seen[id] || (in == 0 && outp == 0) {
			return
		}
		seen[id] = true
		out = append(out, HostedPrice{id, in, outp})
	}
	for _, p := range c.Providers {
		for _, m := range p.Models {
			add(m.UpstreamModel, m.USDPerMillionInputTokens, m.USDPerMillionOutputTokens)
		}
	}
	for _, m := range c.Models {
		if m.Fallback != nil {
			add(m.Fallback.UpstreamModel, m.Fallback.USDPerMillionInputTokens, m.Fallback.USDPerMillionOutputTokens)
		}
	}
	return out
}
