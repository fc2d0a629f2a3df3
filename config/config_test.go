package config

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The defaults Pulumi.yaml declares must produce exactly the config that an
// empty stack produces, so the schema never documents a default the program
// does not use.
func TestPulumiYAMLDefaultsMatchGoDefaults(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var proj struct {
		Config map[string]struct {
			Type    string `yaml:"type"`
			Default any    `yaml:"default"`
			Secret  bool   `yaml:"secret"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &proj); err != nil {
		t.Fatal(err)
	}
	declared := []string{}
	values := map[string]string{}
	for k, decl := range proj.Config {
		declared = append(declared, k)
		if decl.Secret {
			if !slices.Contains(SecretKeys, k) || decl.Default != nil {
				t.Errorf("Pulumi.yaml: secret key %s must be in SecretKeys and have no default", k)
			}
			continue
		}
		if slices.Contains(SecretKeys, k) {
			// An optional secret: the CLI requires every declared key
			// that has no default, so it defaults to "" (unset), and the
			// program, not the CLI, refuses it in plain text.
			if decl.Type != "string" || decl.Default != "" {
				t.Errorf("Pulumi.yaml: optional secret key %s must be a string with default \"\" (got type %q, default %v)", k, decl.Type, decl.Default)
			}
			continue
		}
		if decl.Default == nil {
			t.Errorf("Pulumi.yaml: key %s has no default", k)
			continue
		}
		j, err := json.Marshal(decl.Default)
		if err != nil {
			t.Fatal(err)
		}
		values[k] = string(j)
	}
	want := append(append([]string{}, Keys...), SecretKeys...)
	sort.Strings(declared)
	sort.Strings(want)
	if !slices.Equal(declared, want) {
		t.Fatalf("Pulumi.yaml declares %v, the program reads %v", declared, want)
	}
	// The public endpoint's allowlist has no default on purpose (a stack
	// must state it), so both sides get the same one to be valid.
	var cluster map[string]any
	if err := json.Unmarshal([]byte(values["cluster"]), &cluster); err != nil {
		t.Fatal(err)
	}
	if cidrs, _ := cluster["publicAccessCidrs"].([]any); len(cidrs) != 0 || len(DefaultCluster().PublicAccessCIDRs) != 0 {
		t.Errorf("publicAccessCidrs defaults: Pulumi.yaml %v, Go %v; want none", cluster["publicAccessCidrs"], DefaultCluster().PublicAccessCIDRs)
	}
	cluster["publicAccessCidrs"] = []string{"203.0.113.0/24"}
	j, err := json.Marshal(cluster)
	if err != nil {
		t.Fatal(err)
	}
	values["cluster"] = string(j)
	fromYAML, err := Parse(Input{Project: "llm-platform", Stack: "dev", Values: values})
	if err != nil {
		t.Fatal(err)
	}
	fromGo, err := Parse(Input{Project: "llm-platform", Stack: "dev", Values: map[string]string{
		"cluster": `{"publicAccessCidrs": ["203.0.113.0/24"]}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromYAML, fromGo) {
		t.Errorf("Pulumi.yaml defaults differ from Go defaults:\nyaml: %+v\ngo:   %+v", fromYAML, fromGo)
	}
}

func TestParseFillsDefaultsPerField(t *testing.T) {
	t.Parallel()
	c, err := Parse(Input{Stack: "prod", Values: map[string]string{
		"network": `{"azCount": 2}`,
		"cluster": `{"systemNodes": {"maxSize": 6}, "endpointPublicAccess": false}`,
		"llm":     `{"enabled": true}`,
		"gateway": `{"clients": [{"name": "a"}]}`,
		"models": `[{"name": "m", "hfRepo": "org/m", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 1.5},
		            {"name": "n", "hfRepo": "org/n", "revision": "0123456789abcdef0123456789abcdef01234567", "paramsBillions": 3, "minReplicas": 0, "servedName": "N"}]`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Network.CIDR != DefaultNetwork().CIDR || c.Network.AZCount != 2 {
		t.Errorf("network = %+v", c.Network)
	}
	if c.Cluster.Name != "llm-platform-prod" || c.Cluster.SystemNodes.MaxSize != 6 || c.Cluster.SystemNodes.MinSize != 2 {
		t.Errorf("cluster = %+v", c.Cluster)
	}
	m := c.Models[0]
	d := DefaultModel()
	if m.ServedName != "m" || m.MaxModelLen != d.MaxModelLen || m.MinReplicas != d.MinReplicas || m.Image != d.Image {
		t.Errorf("model defaults not applied: %+v", m)
	}
	if n := c.Models[1]; n.MinReplicas != 0 || n.ServedName != "N" || !slices.Equal(n.ServedNames(), []string{"N"}) {
		t.Errorf("explicit values lost: %+v", n)
	}
}

func TestParseReportsEveryError(t *testing.T) {
	t.Parallel()
	_, err := Parse(Input{Stack: "dev", Values: map[string]string{
		"network": `{"azCount": 9, "nat": "many"}`,
		"storage": `{"bucketPrefix": "Bad_Prefix"}`,
	}})
	var errs Errors
	if !asErrors(err, &errs) {
		t.Fatalf("err = %v, want Errors", err)
	}
	keys := []string{}
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	for _, k := range []string{"network.azCount", "network.nat", "storage.bucketPrefix"} {
		if !slices.Contains(keys, k) {
			t.Errorf("errors %v miss %s", keys, k)
		}
	}
	if !strings.Contains(err.Error(), `"llm-platform:network.nat" (value "many")`) {
		t.Errorf("message does not name key and value: %v", err)
	}
}

func asErrors(err error, target *Errors) bool {
	return errors.As(err, target)
}

func TestBucketName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ prefix, stack, region, account, want string }{
		{"llm-models", "dev", "us-east-1", "123456789012", "llm-models-dev-us-east-1-123456789012"},
		{"m", "Prod_EU.v2", "eu-west-1", "000000000000", "m-prod-eu-v2-eu-west-1-000000000000"},
	} {
		if got := BucketName(tt.prefix, tt.stack, tt.region, tt.account); got != tt.want {
			t.Errorf("BucketName(%q, %q) = %q, want %q", tt.prefix, tt.stack, got, tt.want)
		}
	}
}

// observability.alerts.receiver and the secret alertWebhookUrl go together:
// a receiver needs the URL, and a URL with no receiver is a mistake. The
// URL's value never reaches Parse, so no error can show it.
func TestAlertReceiverNeedsTheWebhookURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, receiver string
		urlSet         bool
		wantErr        string // "" when valid
	}{
		{"default: no receiver, no URL", "", false, ""},
		{"webhook with URL", "webhook", true, ""},
		{"slack with URL", "slack", true, ""},
		{"webhook without URL", "webhook", false, `"llm-platform:observability.alerts.receiver" (value "webhook"): sends alerts to the URL in the secret alertWebhookUrl, which is not set`},
		{"slack without URL", "slack", false, `"llm-platform:observability.alerts.receiver" (value "slack"): sends alerts to the URL in the secret alertWebhookUrl, which is not set`},
		{"URL without receiver", "none", true, `"llm-platform:alertWebhookUrl" (value [secret]): is set, but observability.alerts.receiver is "none"`},
		{"URL, receiver left to the default", "", true, `"llm-platform:alertWebhookUrl" (value [secret]): is set, but observability.alerts.receiver is "none"`},
		{"unknown receiver", "pagerduty", true, `"llm-platform:observability.alerts.receiver" (value "pagerduty"): must be one of none, webhook, slack`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := Input{Stack: "dev", Values: map[string]string{"cluster": `{"endpointPublicAccess": false}`}, Secrets: map[string]bool{AlertWebhookURLKey: tt.urlSet}}
			if tt.receiver != "" {
				in.Values["observability"] = `{"alerts": {"receiver": "` + tt.receiver + `"}}`
			}
			c, err := Parse(in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr == "":
				if c.HasAlertWebhookURL != tt.urlSet {
					t.Errorf("HasAlertWebhookURL = %v, want %v", c.HasAlertWebhookURL, tt.urlSet)
				}
			case err == nil:
				t.Fatalf("accepted, want %s", tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

func TestArchitecture(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"t4g": ArchARM64, "t4g.medium": ArchARM64, "m7g.large": ArchARM64, "m8g": ArchARM64, "c6gn.xlarge": ArchARM64,
		"r8gd": ArchARM64, "im4gn.large": ArchARM64, "x2gd": ArchARM64, "a1.large": ArchARM64,
		"m7i": ArchAMD64, "m7i.large": ArchAMD64, "m7a.large": ArchAMD64, "t3.medium": ArchAMD64, "g4dn.xlarge": ArchAMD64,
		"c5n.large": ArchAMD64, "m6idn.large": ArchAMD64,
	} {
		if got := Architecture(in); got != want {
			t.Errorf("Architecture(%q) = %s, want %s", in, got, want)
		}
	}
	if got := Architectures([]string{"m7i", "m7g", "m8g", "m7a"}); !slices.Equal(got, []string{ArchAMD64, ArchARM64}) {
		t.Errorf("Architectures = %v", got)
	}
}
