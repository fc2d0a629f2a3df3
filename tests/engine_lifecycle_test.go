package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/llm-platform/llm-platform/platform"
	"github.com/llm-platform/llm-platform/render"
)

// engineContext bounds one engine test: a hung engine or provider fails
// the test instead of the whole run. Take it after newEngine, which may
// spend minutes building the CLI.
func engineContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// The dev stack's whole life under the real engine, scenario by scenario
// (engine_test.go), each step starting from the state the previous one
// left, as an operator would go through them.
func TestEngineLifecycle(t *testing.T) {
	t.Parallel()
	e := newEngine(t, platform.Program)
	ctx := engineContext(t)
	st, err := e.stack(ctx, devStack, nil)
	if err != nil {
		t.Fatal(err)
	}
	must := func(scenario string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s:\n%v", scenario, err)
		}
	}

	planned, err := e.checkFreshPreview(ctx, st)
	must("1. preview of a fresh stack", err)
	must("2. up, then a preview with no changes", e.checkUpConverges(ctx, st, planned))
	full, err := e.state(ctx, st)
	must("state", err)

	must("3. gpu.gpuLimit 2 -> 3 updates only the NodePool",
		e.checkConfigChangeTouchesOnly(ctx, st, setGPULimit(3), []resourceKey{nodePool}))
	// The new limit reached the cloud, not only the plan.
	pool, ok := e.cloud.get(nodePool.Type, "id-"+nodePool.Name)
	if v, _ := lookup(pool.inputs, "spec.limits"); !ok || v.ObjectValue()["nvidia.com/gpu"].NumberValue() != 3 {
		t.Fatalf("NodePool in the cloud has limits %v, want nvidia.com/gpu 3", v)
	}

	// The picker's configuration carries maxNumSeqs (a replica's
	// capacity), and the picker reads it at start: its Deployment rolls.
	must("3b. one model's maxNumSeqs 32 -> 48 changes only that model's Deployment, autoscaler and picker",
		e.checkConfigChangeTouchesOnly(ctx, st, setModelField(0, "maxNumSeqs", 48), []resourceKey{
			{"kubernetes:apps/v1:Deployment", "qwen25-7b"},
			{"kubernetes:keda.sh/v1alpha1:ScaledObject", "qwen25-7b-autoscaler"},
			{"kubernetes:v1:ConfigMap", "qwen25-7b-epp-configmap"},
			{"kubernetes:apps/v1:Deployment", "qwen25-7b-epp-deployment"},
		}))

	must("4. no secret in clear text", e.checkNoPlaintextSecrets(ctx, st))
	must("5. destroy --exclude-protected keeps the bucket", e.checkDestroyKeepsProtected(ctx, st))
	must("5b. up again recreates the rest around the bucket", e.checkUpAroundKeptBucket(ctx, st, len(full.Resources)))
	must("8. llm.enabled off keeps the bucket, on again re-attaches S3 Files to it", e.checkLayerOffOn(ctx, st))
	must("6. unprotect, destroy", e.checkFullTeardown(ctx, st))

	ws := st.Workspace()
	must("stack rm", ws.RemoveStack(ctx, devStack))
	err = e.checkAdoptRetainedBucket(ctx, devStack)
	must("7. a new stack adopts the retained bucket", err)
}

// What the first real `pulumi up` on AWS needs, each on a fresh dev stack
// with one config change (engine_aws_test.go).
func TestEngineFirstUpOnAWS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		edit     func(map[string]any)
		noToken  bool
		scenario func(ctx context.Context, e *engine, st auto.Stack) error
	}{{
		// The CLI refuses a stack that lacks a declared key with no
		// default (pkg/workspace/config.go, mergeConfig): an optional
		// secret must have an empty default.
		name:    "14. no Hugging Face token (optional)",
		noToken: true,
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			_, err := e.checkFreshPreview(ctx, st)
			return err
		},
	}, {
		name: "9. private API endpoint",
		edit: setCluster(map[string]any{"endpointPublicAccess": false, "publicAccessCidrs": []any{}}),
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkPrivateEndpoint(ctx, st)
		},
	}, {
		name: "10. deploying principal in adminRoleArns",
		edit: setCluster(map[string]any{"adminRoleArns": []any{render.FakeCallerRoleARN}}),
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkCallerNotAdmin(ctx, st)
		},
	}, {
		name: "15. a listed admin updates the cluster CI created",
		edit: setCluster(map[string]any{"adminRoleArns": []any{humanRole}}),
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkListedPrincipalUpdates(ctx, st)
		},
	}, {
		name: "11. unknown config key",
		edit: func(config map[string]any) { config["llm-platform:modles"] = []any{} },
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkUnknownKeyRefused(ctx, st, "llm-platform:modles")
		},
	}, {
		name: "12. spot service-linked role on an account that never used spot",
		edit: func(config map[string]any) {
			config["llm-platform:gpu"].(map[string]any)["createSpotServiceLinkedRole"] = true
		},
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkSpotRoleCreatedAndKept(ctx, st)
		},
	}, {
		name: "13. control-plane logs",
		edit: setCluster(map[string]any{"logTypes": []any{"api", "audit"}}),
		scenario: func(ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkControlPlaneLogs(ctx, st)
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, platform.Program)
			e.noToken = c.noToken
			ctx := engineContext(t)
			st, err := e.stack(ctx, devStack, c.edit)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.scenario(ctx, e, st); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The fake cloud refuses what AWS refuses: a second spot service-linked
// role in an account that has one (so the role stays opt-in).
func TestFakeCloudRefusesSecondSpotRole(t *testing.T) {
	t.Parallel()
	e := newEngine(t, platform.Program)
	spotRoleInAccount(e.cloud)
	ctx := engineContext(t)
	st, err := e.stack(ctx, devStack, func(config map[string]any) {
		config["llm-platform:gpu"].(map[string]any)["createSpotServiceLinkedRole"] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.up(ctx, st)
	if err == nil || !strings.Contains(err.Error(), "AWSServiceRoleForEC2Spot has been taken in this account") {
		t.Fatalf("up creating a spot role the account has: %v, want AWS's InvalidInput", err)
	}
}
