package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/llm-platform/llm-platform/platform"
)

// openAIKeyCanary is the OpenAI key the engine scenario sets as a secret;
// it must never appear in clear text in what the backend writes.
const openAIKeyCanary = "sk-canary-openai-key-0123456789"

// Scenario 16 (issue 17): adding hosted providers to a running stack
// touches only gateway resources: the providers' own objects and AWS
// access (their components) are created, the Envoy pods' EnvoyProxy is
// updated (the Pod Identity role annotation rolls them), and nothing of
// the network, cluster, pools, models or observability changes. The
// OpenAI key reaches the state encrypted only.
func TestEngineAddingProvidersTouchesOnlyTheGateway(t *testing.T) {
	t.Parallel()
	e := newEngine(t, platform.Program)
	ctx := engineContext(t)
	st, err := e.stack(ctx, devStack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.up(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := e.checkAddingProviders(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// checkAddingProviders adds a Bedrock and an OpenAI provider to a stack
// that is up, and checks the change touches only the gateway and leaves
// the OpenAI key encrypted.
func (e *engine) checkAddingProviders(ctx context.Context, st auto.Stack) error {
	if err := st.SetConfig(ctx, "llm-platform:openaiApiKey", auto.ConfigValue{Value: openAIKeyCanary, Secret: true}); err != nil {
		return err
	}
	if err := e.editConfig(st.Name(), func(config map[string]any) {
		config["llm-platform:providers"] = []any{
			map[string]any{"kind": "bedrock", "privateEndpoint": true, "models": []any{
				map[string]any{"servedName": "claude-haiku", "upstreamModel": "us.anthropic.claude-3-5-haiku-20241022-v1:0"},
			}},
			map[string]any{"kind": "openai", "models": []any{
				map[string]any{"servedName": "gpt-4o-mini", "upstreamModel": "gpt-4o-mini"},
			}},
		}
	}); err != nil {
		return err
	}
	errs := []error{e.checkOnlyGatewayChanges(ctx, st)}
	files, err := e.backendFiles()
	if err != nil {
		return err
	}
	for name, b := range files {
		if bytes.Contains(b, []byte(openAIKeyCanary)) {
			errs = append(errs, fmt.Errorf("%s holds the OpenAI key in clear text", name))
		}
	}
	return errors.Join(errs...)
}

// gatewayScope says whether a resource (by URN) belongs to the gateway:
// the providers' components or the Gateway component.
func gatewayScope(urn string) bool {
	return strings.Contains(urn, "llm-platform:providers:") || strings.Contains(urn, "llm-platform:gateway:Gateway$")
}

func (e *engine) checkOnlyGatewayChanges(ctx context.Context, st auto.Stack) error {
	var errs []error
	steps, err := e.preview(ctx, st)
	if err != nil {
		return err
	}
	created := map[string]int{}
	envoyProxyUpdated := false
	for _, s := range steps {
		switch {
		case s.Op == string(apitype.OpSame):
		case !gatewayScope(s.URN):
			errs = append(errs, fmt.Errorf("preview: %s %s (diffs %v) outside the gateway", s.Op, s.URN, s.Diffs))
		case s.Op == string(apitype.OpCreate):
			created[s.Type]++
		case s.Op == string(apitype.OpUpdate) && strings.HasSuffix(s.URN, "-gateway-envoy-proxy"):
			envoyProxyUpdated = true
		default:
			errs = append(errs, fmt.Errorf("preview: %s %s (diffs %v), want only creates and the EnvoyProxy's update", s.Op, s.URN, s.Diffs))
		}
	}
	for _, typ := range []string{
		"aws:iam/role:Role", "aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:ec2/vpcEndpoint:VpcEndpoint",
		"kubernetes:gateway.envoyproxy.io/v1alpha1:Backend", "kubernetes:aigateway.envoyproxy.io/v1beta1:AIServiceBackend",
		"kubernetes:aigateway.envoyproxy.io/v1beta1:AIGatewayRoute", "kubernetes:core/v1:Secret",
	} {
		if created[typ] == 0 {
			errs = append(errs, fmt.Errorf("preview: no %s created", typ))
		}
	}
	if !envoyProxyUpdated {
		errs = append(errs, errors.New("preview: the EnvoyProxy is not updated: the Envoy pods would not roll to get their Pod Identity credentials"))
	}
	mark := e.cloud.mark()
	if _, _, err := e.up(ctx, st); err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, c := range e.cloud.Calls(mark) {
		if c.Op != "Create" && c.Op != "Update" && c.Op != "Delete" {
			continue
		}
		if !strings.Contains(c.Name, "-providers-") && !strings.Contains(c.Name, "-bedrock-") && !strings.HasSuffix(c.Name, "-gateway-envoy-proxy") {
			errs = append(errs, fmt.Errorf("up: %s %s %s outside the gateway", c.Op, c.Type, c.Name))
		}
	}
	return errors.Join(errs...)
}
