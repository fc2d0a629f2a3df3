package providers

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/gateway"
)

func spec(o map[string]any) map[string]any { return o["spec"].(map[string]any) }

// Each kind: the API host (the Backend's endpoint and the certificate name
// the TLS policy requires), the schema and the authentication.
func TestBackendObjectsPerKind(t *testing.T) {
	for _, tc := range []struct {
		p                  config.Provider
		host, schema, auth string
	}{
		{config.Provider{Name: "bedrock", Kind: config.ProviderBedrock, Region: "eu-west-1"}, "bedrock-runtime.eu-west-1.amazonaws.com", "AWSBedrock", "AWSCredentials"},
		{config.Provider{Name: "openai", Kind: config.ProviderOpenAI}, "api.openai.com", "OpenAI", "APIKey"},
		{config.Provider{Name: "claude", Kind: config.ProviderAnthropic}, "api.anthropic.com", "OpenAI", "APIKey"},
	} {
		objs := BackendObjects(tc.p, "models")
		kinds := []string{}
		for _, o := range objs {
			kinds = append(kinds, o["kind"].(string))
			if o["metadata"].(map[string]any)["name"] != BackendName(tc.p.Name) {
				t.Errorf("%s: %s named %v", tc.p.Name, o["kind"], o["metadata"])
			}
		}
		if !reflect.DeepEqual(kinds, []string{"Backend", "BackendTLSPolicy", "AIServiceBackend", "BackendSecurityPolicy"}) {
			t.Fatalf("%s: kinds %v", tc.p.Name, kinds)
		}
		endpoint := spec(objs[0])["endpoints"].([]any)[0].(map[string]any)["fqdn"].(map[string]any)
		if endpoint["hostname"] != tc.host || endpoint["port"] != HTTPSPort {
			t.Errorf("%s: endpoint %v", tc.p.Name, endpoint)
		}
		validation := spec(objs[1])["validation"].(map[string]any)
		if validation["hostname"] != tc.host || validation["wellKnownCACertificates"] != "System" {
			t.Errorf("%s: TLS validation %v", tc.p.Name, validation)
		}
		if got := spec(objs[2])["schema"].(map[string]any)["name"]; got != tc.schema {
			t.Errorf("%s: schema %v", tc.p.Name, got)
		}
		if got := spec(objs[2])["headerMutation"]; !reflect.DeepEqual(got, map[string]any{"remove": []any{gateway.ClientIDHeader}}) {
			t.Errorf("%s: the client's name would reach the provider: headerMutation %v", tc.p.Name, got)
		}
		policy := spec(objs[3])
		if policy["type"] != tc.auth {
			t.Errorf("%s: auth %v", tc.p.Name, policy["type"])
		}
		switch tc.auth {
		case "AWSCredentials":
			// Region only: the default credential chain (Pod Identity).
			if want := map[string]any{"region": tc.p.Region}; !reflect.DeepEqual(policy["awsCredentials"], want) {
				t.Errorf("%s: awsCredentials %v, want %v", tc.p.Name, policy["awsCredentials"], want)
			}
		case "APIKey":
			ref := policy["apiKey"].(map[string]any)["secretRef"].(map[string]any)
			if ref["name"] != APIKeySecretName(tc.p.Name) {
				t.Errorf("%s: key secret %v", tc.p.Name, ref)
			}
		}
	}
}

func TestHostedRoutesSortedChunkedAndOverridden(t *testing.T) {
	var models []config.HostedModel
	for i := 20; i > 0; i-- {
		models = append(models, config.HostedModel{ServedName: fmt.Sprintf("m%02d", i), UpstreamModel: fmt.Sprintf("up-%d", i)})
	}
	routes := HostedRouteObjects([]config.Provider{{Name: "openai", Kind: config.ProviderOpenAI, Models: models}}, "models", gateway.ModelListeners(true))
	if len(routes) != 2 || len(spec(routes[0])["rules"].([]any)) != gateway.MaxRulesPerRoute || len(spec(routes[1])["rules"].([]any)) != 5 {
		t.Fatalf("routes: %d", len(routes))
	}
	first := spec(routes[0])["rules"].([]any)[0].(map[string]any)
	match := first["matches"].([]any)[0].(map[string]any)["headers"].([]any)[0].(map[string]any)
	ref := first["backendRefs"].([]any)[0].(map[string]any)
	if match["value"] != "m01" || ref["name"] != "provider-openai" || ref["modelNameOverride"] != "up-1" {
		t.Errorf("first rule: match %v, ref %v", match, ref)
	}
	if routes[1]["metadata"].(map[string]any)["name"] != "hosted-1" {
		t.Errorf("second route %v", routes[1]["metadata"])
	}
}

// The model first, its fallback next, in one rule; the retry policy on the
// generated HTTPRoute of the same name, merged with the Gateway's budgets.
func TestFallbackRouteAndPolicy(t *testing.T) {
	routes := FallbackRouteObjects([]FallbackModel{{
		Model: "llama", ServedName: "llama-3.1-8b",
		Fallback: config.Fallback{Provider: "bedrock", UpstreamModel: "us.meta.llama3-1-8b-instruct-v1:0"},
	}}, "models", gateway.ModelListeners(false))
	if len(routes) != 1 {
		t.Fatalf("%d routes", len(routes))
	}
	refs := spec(routes[0])["rules"].([]any)[0].(map[string]any)["backendRefs"].([]any)
	want := []any{
		map[string]any{"name": "self-llama", "priority": 0},
		map[string]any{"name": "provider-bedrock", "priority": 1, "modelNameOverride": "us.meta.llama3-1-8b-instruct-v1:0"},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("backendRefs %v, want %v", refs, want)
	}
	name := routes[0]["metadata"].(map[string]any)["name"].(string)
	p := spec(FallbackPolicyObject(name, "models"))
	target := p["targetRefs"].([]any)[0].(map[string]any)
	if target["kind"] != "HTTPRoute" || target["name"] != name || p["mergeType"] != "StrategicMerge" {
		t.Errorf("policy targets %v, mergeType %v", target, p["mergeType"])
	}
	retry := p["retry"].(map[string]any)
	if retry["numAttemptsPerPriority"] != 1 || retry["numRetries"] != 1 {
		t.Errorf("retry %v", retry)
	}
	self := SelfBackendObjects("llama", "models", 8000)
	fqdn := spec(self[0])["endpoints"].([]any)[0].(map[string]any)["fqdn"].(map[string]any)
	if fqdn["hostname"] != "llama.models.svc.cluster.local" || fqdn["port"] != 8000 {
		t.Errorf("self backend %v", fqdn)
	}
}

// Every config kind has a way to be reached, and the key-based ones
// authenticate with their key.
func TestEveryConfigKindIsBuilt(t *testing.T) {
	for name, kind := range config.ProviderKinds {
		k, ok := Kinds[name]
		if !ok {
			t.Errorf("config kind %q has no Kinds entry", name)
			continue
		}
		if (kind.SecretKey != "") != (k.Auth == "APIKey") {
			t.Errorf("%s: secret key %q but auth %s", name, kind.SecretKey, k.Auth)
		}
	}
}
