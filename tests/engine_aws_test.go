package tests

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/llm-platform/llm-platform/render"
)

// Scenarios for what the first real `pulumi up` on AWS needs (issue 13):
// each runs the program against the fake cloud's AWS rules
// (fakecloud_test.go) and fails for the program that had the defect
// (engine_broken_test.go).

var (
	// egNamespace is the namespace of Envoy Gateway and of the Envoy
	// Service that owns the gateway's NLB.
	egNamespace = resourceKey{"kubernetes:core/v1:Namespace", "llm-platform-dev-gateway-envoy-gateway-namespace"}
	fileSystem  = resourceKey{"aws:s3/filesFileSystem:FilesFileSystem", "llm-platform-dev-models"}
	modelDeploy = resourceKey{"kubernetes:apps/v1:Deployment", "qwen25-7b"}
	spotRole    = resourceKey{"aws:iam/serviceLinkedRole:ServiceLinkedRole", "gpu-l4-spot"}
	logGroup    = resourceKey{"aws:cloudwatch/logGroup:LogGroup", "llm-platform-dev-control-plane-logs"}
)

// setLayer switches the LLM layer.
func setLayer(on bool) func(map[string]any) {
	return func(config map[string]any) { config["llm-platform:llm"] = map[string]any{"enabled": on} }
}

// setCluster sets fields of the stack's cluster object.
func setCluster(fields map[string]any) func(map[string]any) {
	return func(config map[string]any) {
		cl, _ := config["llm-platform:cluster"].(map[string]any)
		if cl == nil {
			cl = map[string]any{}
		}
		for k, v := range fields {
			cl[k] = v
		}
		config["llm-platform:cluster"] = cl
	}
}

// Scenario 8. The LLM layer on, then off, then on again: off deletes the
// compute, gateway and models and keeps the protected bucket (no delete
// reaches it or its settings); on again attaches a new S3 Files file
// system to that same bucket, which is not created again.
func (e *engine) checkLayerOffOn(ctx context.Context, st auto.Stack) error {
	before, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	bucket := find(before, modelBucket)
	if bucket == nil {
		return fmt.Errorf("the model bucket is not in the stack before switching the layer off")
	}
	if err := e.editConfig(st.Name(), setLayer(false)); err != nil {
		return err
	}
	mark := e.cloud.mark()
	if _, _, err := e.up(ctx, st); err != nil {
		return fmt.Errorf("llm.enabled false: %w", err)
	}
	var errs []error
	for _, c := range e.cloud.Calls(mark) {
		if c.Op == "Delete" && strings.HasPrefix(c.Type, "aws:s3/bucket") {
			errs = append(errs, fmt.Errorf("llm.enabled false deleted %s %s", c.Type, c.Name))
		}
	}
	off, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	if b := find(off, modelBucket); b == nil || !b.Protect || b.ID != bucket.ID {
		errs = append(errs, fmt.Errorf("llm.enabled false: the bucket in the stack is %+v, want the same one, protected", b))
	}
	// The base stack has no platform pool: nothing of it needs one.
	for _, gone := range []resourceKey{fileSystem, modelDeploy, nodePool, egNamespace, platformNodePool, platformNodeClass} {
		if find(off, gone) != nil {
			errs = append(errs, fmt.Errorf("llm.enabled false left %s in the stack", gone))
		}
	}
	if err := e.bucketInCloud(); err != nil {
		errs = append(errs, err)
	}

	if err := e.editConfig(st.Name(), setLayer(true)); err != nil {
		return err
	}
	mark = e.cloud.mark()
	if _, _, err := e.up(ctx, st); err != nil {
		return errors.Join(append(errs, fmt.Errorf("llm.enabled true again: %w", err))...)
	}
	attached, poolCreated := false, false
	for _, c := range e.cloud.Calls(mark) {
		switch {
		case c.Op == "Create" && c.Type == platformNodePool.Type && c.Name == platformNodePool.Name && !c.Preview:
			poolCreated = true
		case c.Op == "Create" && c.Type == modelBucket.Type:
			errs = append(errs, fmt.Errorf("llm.enabled true again created the bucket again"))
		case c.Op == "Create" && c.Type == fileSystem.Type && !c.Preview:
			v, _ := lookup(c.Inputs, "bucket")
			want := bucket.Outputs["arn"]
			attached = v.IsString() && v.StringValue() == want
			if !attached {
				errs = append(errs, fmt.Errorf("the new file system is on %v, want the kept bucket %v", v, want))
			}
		}
	}
	if !attached {
		errs = append(errs, fmt.Errorf("llm.enabled true again: no S3 Files file system was created on the kept bucket"))
	}
	if !poolCreated {
		errs = append(errs, fmt.Errorf("llm.enabled true again: the platform NodePool was not created"))
	}
	return errors.Join(errs...)
}

// Scenario 9. A stack whose API server has no public endpoint: preview and
// up succeed (pulumi-eks gets no publicAccessCidrs at all), and the
// cluster EKS creates has none.
func (e *engine) checkPrivateEndpoint(ctx context.Context, st auto.Stack) error {
	planned, err := e.checkFreshPreview(ctx, st)
	if err != nil {
		return err
	}
	if err := e.checkUpConverges(ctx, st, planned); err != nil {
		return err
	}
	obj, ok := e.cloud.get(eksCluster.Type, render.FakeID(eksCluster.Name))
	if !ok {
		return fmt.Errorf("no EKS cluster in the cloud")
	}
	if v, ok := lookup(obj.inputs, "vpcConfig.publicAccessCidrs"); ok {
		return fmt.Errorf("the private cluster has publicAccessCidrs %v", v)
	}
	if v, _ := lookup(obj.inputs, "vpcConfig.endpointPublicAccess"); !v.IsBool() || v.BoolValue() {
		return fmt.Errorf("the cluster's endpointPublicAccess is %v, want false", v)
	}
	return nil
}

// Scenario 10. An adminRoleArns entry that is the deploying principal:
// preview warns, up refuses the config before anything reaches the cloud,
// naming the key (EKS already gave that principal an access entry).
func (e *engine) checkCallerNotAdmin(ctx context.Context, st auto.Stack) error {
	if _, err := e.preview(ctx, st); err != nil {
		return fmt.Errorf("a preview by a principal listed in adminRoleArns must pass (the PR preview role is listed): %w", err)
	}
	mark := e.cloud.mark()
	_, _, err := e.up(ctx, st)
	var errs []error
	for _, c := range e.cloud.Calls(mark) {
		if (c.Op == "Create" || c.Op == "Update") && !c.Preview {
			errs = append(errs, fmt.Errorf("up reached the cloud (%s %s) before refusing the config", c.Op, c.URN))
			break
		}
	}
	want := `config key "llm-platform:cluster.adminRoleArns[0]"`
	if err == nil || !strings.Contains(err.Error(), want) {
		errs = append(errs, fmt.Errorf("up with the deploying principal in adminRoleArns: %s, want an error naming %s", errText(err), want))
	}
	return errors.Join(errs...)
}

// Scenario 11. A key of the project namespace the program does not know
// (a typo in a stack file) stops preview and up before any resource is
// registered.
func (e *engine) checkUnknownKeyRefused(ctx context.Context, st auto.Stack, key string) error {
	mark := e.cloud.mark()
	_, err := e.preview(ctx, st)
	var errs []error
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "unknown config key") {
		errs = append(errs, fmt.Errorf("preview with %s set: %s, want it refused as an unknown config key", key, errText(err)))
	}
	for _, c := range e.cloud.Calls(mark) {
		if c.Op == "Check" || c.Op == "Create" || c.Op == "Construct" {
			errs = append(errs, fmt.Errorf("preview with an unknown key registered %s %s", c.Type, c.Name))
			break
		}
	}
	return errors.Join(errs...)
}

// Scenario 12. gpu.createSpotServiceLinkedRole on an account that never
// used spot: up creates the role before the NodePool, and a teardown keeps
// it (account-wide; the provider never hears a Delete).
func (e *engine) checkSpotRoleCreatedAndKept(ctx context.Context, st auto.Stack) error {
	if _, err := e.upCreatesInOrder(ctx, st, spotRole, nodePool); err != nil {
		return err
	}
	var errs []error
	if err := e.cliRun(ctx, "state", "unprotect", "--all", "--yes", "--stack", st.Name()); err != nil {
		return err
	}
	if err := e.destroy(ctx, st); err != nil {
		return err
	}
	role := resource.PropertyMap{"awsServiceName": resource.NewProperty("spot.amazonaws.com")}
	if _, ok := e.cloud.holder(spotRole.Type, role); !ok {
		errs = append(errs, fmt.Errorf("destroy deleted the account's spot service-linked role"))
	}
	return errors.Join(errs...)
}

// Scenario 13. With control-plane logging on, the program's log group
// (with its retention) exists before EKS writes, and nothing of the
// cluster's logging survives a teardown.
func (e *engine) checkControlPlaneLogs(ctx context.Context, st auto.Stack) error {
	group, err := e.upCreatesInOrder(ctx, st, logGroup, eksCluster)
	if err != nil {
		return err
	}
	var errs []error
	if v, _ := lookup(group.Inputs, "retentionInDays"); !v.IsNumber() || v.NumberValue() != 30 {
		errs = append(errs, fmt.Errorf("log group retention %v, want 30 days", v))
	}
	if err := e.checkFullTeardown(ctx, st); err != nil {
		errs = append(errs, err)
	}
	name := "/aws/eks/llm-platform-dev/cluster"
	if h, ok := e.cloud.holder(logGroup.Type, resource.PropertyMap{"name": resource.NewProperty(name)}); ok {
		errs = append(errs, fmt.Errorf("log group %s outlives the stack (made by %s)", name, h))
	}
	return errors.Join(errs...)
}

// errText is an error's message, or "no error".
func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// upCreatesInOrder runs up and checks that it created first, and finished
// creating it before it started creating then. It returns first's Create.
func (e *engine) upCreatesInOrder(ctx context.Context, st auto.Stack, first, then resourceKey) (*providerCall, error) {
	mark := e.cloud.mark()
	if _, _, err := e.up(ctx, st); err != nil {
		return nil, err
	}
	created := map[resourceKey]*providerCall{}
	calls := e.cloud.Calls(mark)
	for i, c := range calls {
		if c.Op == "Create" && !c.Preview {
			created[keyOf(c.URN)] = &calls[i]
		}
	}
	a, b := created[first], created[then]
	switch {
	case a == nil || b == nil:
		return nil, fmt.Errorf("up created %s: %v, %s: %v; want both", first, a != nil, then, b != nil)
	case a.Done > b.Seq:
		return nil, fmt.Errorf("%s was created before %s existed", then, first)
	}
	return a, nil
}

// humanRole is a person's role, listed in adminRoleArns, who did not create
// the cluster.
const humanRole = "arn:aws:iam::" + render.FakeAccount + ":role/platform-admin"

// Scenario 15. CI's deploy role creates the cluster with a person's role in
// adminRoleArns; that person can then run `up` on it (their entry exists,
// and EKS's creator entry is the deploy role's): nothing is refused and
// nothing changes.
func (e *engine) checkListedPrincipalUpdates(ctx context.Context, st auto.Stack) error {
	if _, _, err := e.up(ctx, st); err != nil {
		return fmt.Errorf("up by the deploy role: %w", err)
	}
	e.cloud.mu.Lock()
	e.cloud.caller = "arn:aws:sts::" + render.FakeAccount + ":assumed-role/platform-admin/alice"
	e.cloud.mu.Unlock()
	summary, _, err := e.up(ctx, st)
	if err != nil {
		return fmt.Errorf("up by a listed admin on the existing cluster: %w", err)
	}
	if summary["create"]+summary["update"]+summary["delete"]+summary["replace"] != 0 {
		return fmt.Errorf("up by a listed admin changed %v, want nothing", summary)
	}
	return nil
}
