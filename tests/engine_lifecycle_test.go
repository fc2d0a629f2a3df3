package tests

import (
	"context"
	"testing"
	"time"

	"github.com/llm-platform/llm-platform/platform"
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

	must("3b. one model's maxNumSeqs 32 -> 48 changes only that model's Deployment and autoscaler",
		e.checkConfigChangeTouchesOnly(ctx, st, setModelField(0, "maxNumSeqs", 48), []resourceKey{
			{"kubernetes:apps/v1:Deployment", "qwen25-7b"},
			{"kubernetes:keda.sh/v1alpha1:ScaledObject", "qwen25-7b-autoscaler"},
		}))

	must("4. no secret in clear text", e.checkNoPlaintextSecrets(ctx, st))
	must("5. destroy --exclude-protected keeps the bucket", e.checkDestroyKeepsProtected(ctx, st))
	must("5b. up again recreates the rest around the bucket", e.checkUpAroundKeptBucket(ctx, st, len(full.Resources)))
	must("6. unprotect, destroy", e.checkFullTeardown(ctx, st))

	ws := st.Workspace()
	must("stack rm", ws.RemoveStack(ctx, devStack))
	err = e.checkAdoptRetainedBucket(ctx, devStack)
	must("7. a new stack adopts the retained bucket", err)
}
