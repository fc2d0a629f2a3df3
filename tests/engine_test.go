package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// The engine tests run the program under the real Pulumi engine (the CLI
// built from tests/engine/cli at the SDK's version) with fake providers
// (fakeprovider_test.go), through the Automation API's inline mode, on a
// file backend in a temp dir. They check what only the engine decides:
// what a preview plans, whether a second run converges, which resources a
// config change touches, what the state file holds, the order of deletes,
// protect, retain-on-delete and import.
//
// Each scenario is a method that returns an error instead of failing the
// test, so the same check can be shown to fail for a deliberately broken
// program (TestEngineScenariosCatchBrokenPrograms).

const (
	// kubeconfigCanary is inside the kubeconfig the fake EKS component
	// returns, and hfTokenCanary is the Hugging Face token set as secret
	// config; neither may appear in the state in clear text.
	kubeconfigCanary = "kubeconfig-canary-5b1f0e7d"
	hfTokenCanary    = "hf_tokenCanary9c4e2a"
	testPassphrase   = "engine-test-passphrase"
	// devStack is the stack file the scenarios start from.
	devStack = "dev"
)

var (
	cliOnce sync.Once
	cliRoot string
	cliErr  error
)

// cliVersionVar is where `pulumi version` reads its version. `go tool` and
// a plain build leave it empty, and the Automation API refuses to run
// inline destroys for a CLI that reports no version (it gates --client on
// 3.181), so the build stamps it.
const cliVersionVar = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

// buildCLI builds the Pulumi CLI into tests/engine/cli/bin/pulumi (the
// layout auto.NewPulumiCommand expects under its Root), at the version
// tests/engine/cli/go.mod pins. `make pulumi-cli` runs the same command
// before the tests; here it is a no-op then (about a second), and makes
// `go test ./tests` work on its own.
func buildCLI() (string, error) {
	dir, err := filepath.Abs(filepath.Join("engine", "cli"))
	if err != nil {
		return "", err
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil {
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
		}
		return strings.TrimSpace(out.String()), nil
	}
	// Read here rather than through `go list`, so that go test's result
	// cache knows the tests depend on the pin.
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	version := ""
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/pulumi/pulumi/pkg/v3" {
			version = f[1]
		}
	}
	if version == "" {
		return "", fmt.Errorf("%s/go.mod does not require github.com/pulumi/pulumi/pkg/v3", dir)
	}
	if _, err := run("build", "-ldflags", "-X "+cliVersionVar+"="+version,
		"-o", filepath.Join("bin", "pulumi"), "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"); err != nil {
		return "", err
	}
	return dir, nil
}

// pulumiCLI returns the CLI, building it once per test binary. A CLI that
// cannot be built skips the engine tests on a developer machine and fails
// them in CI (CI set), where it must always be buildable.
func pulumiCLI(t *testing.T) auto.PulumiCommand {
	t.Helper()
	cliOnce.Do(func() { cliRoot, cliErr = buildCLI() })
	if cliErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("building the Pulumi CLI: %v", cliErr)
		}
		t.Skipf("the Pulumi CLI cannot be built here, skipping the engine tests: %v", cliErr)
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: cliRoot, SkipVersionCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// engine is one program under the real engine: its own fake cloud and
// providers, backend, Pulumi home and work dir.
type engine struct {
	t       *testing.T
	program pulumi.RunFunc
	cloud   *fakeCloud
	cli     auto.PulumiCommand
	project workspace.Project
	workDir string
	backend string
	env     map[string]string
	// noToken leaves the Hugging Face token unset (stack sets it otherwise).
	noToken bool
}

func newEngine(t *testing.T, program pulumi.RunFunc) *engine {
	t.Helper()
	cli := pulumiCLI(t)
	proj, err := workspace.LoadProject(filepath.Join(projectDir, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	e := &engine{
		t: t, program: program, cli: cli, project: *proj,
		cloud:   newFakeCloud("us-east-1", fakeKubeconfig("llm-platform-dev")),
		workDir: filepath.Join(root, "work"),
		backend: filepath.Join(root, "backend"),
	}
	for _, d := range []string{e.workDir, e.backend, filepath.Join(root, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.env = map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + e.backend,
		"PULUMI_CONFIG_PASSPHRASE": testPassphrase,
		// A developer's own passphrase file would conflict with it.
		"PULUMI_CONFIG_PASSPHRASE_FILE": "",
		"PULUMI_HOME":                   filepath.Join(root, "home"),
		"PULUMI_DEBUG_PROVIDERS":        startFakeProviders(t, e.cloud),
		// Every provider is attached above; without this each operation
		// also spends seconds trying to download plugins.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		// The state is written once per operation instead of after every
		// step: the checks read the final state (and the history and
		// backup copies), and an up takes 1.3 s instead of 3.
		"PULUMI_SKIP_CHECKPOINTS": "true",
	}
	return e
}

// fakeKubeconfig is the kubeconfig the fake EKS component hands out.
func fakeKubeconfig(cluster string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":%[1]q,"cluster":{"server":"https://%[1]s.eks.invalid"}}],`+
		`"users":[{"name":"aws","user":{"token":%[2]q}}]}`, cluster, kubeconfigCanary)
}

// stack creates (or selects) a stack whose config is Pulumi.dev.yaml with
// edit applied, plus the Hugging Face token as a secret.
func (e *engine) stack(ctx context.Context, name string, edit func(config map[string]any)) (auto.Stack, error) {
	src, err := os.ReadFile(filepath.Join(projectDir, "Pulumi."+devStack+".yaml"))
	if err != nil {
		return auto.Stack{}, err
	}
	var file map[string]any
	if err := yaml.Unmarshal(src, &file); err != nil {
		return auto.Stack{}, err
	}
	if edit != nil {
		edit(file["config"].(map[string]any))
	}
	if err := writeYAML(e.stackFile(name), file); err != nil {
		return auto.Stack{}, err
	}
	st, err := auto.UpsertStackInlineSource(ctx, name, e.project.Name.String(), e.program,
		auto.Project(e.project),
		auto.WorkDir(e.workDir),
		auto.PulumiHome(e.env["PULUMI_HOME"]),
		auto.SecretsProvider("passphrase"),
		auto.EnvVars(e.env),
		auto.Pulumi(e.cli),
	)
	if err != nil {
		return auto.Stack{}, err
	}
	if e.noToken {
		return st, nil
	}
	err = st.SetConfig(ctx, e.project.Name.String()+":huggingFaceToken", auto.ConfigValue{Value: hfTokenCanary, Secret: true})
	return st, err
}

func (e *engine) stackFile(name string) string {
	return filepath.Join(e.workDir, "Pulumi."+name+".yaml")
}

// editConfig rewrites the stack's config file in place (the workspace reads
// it on every operation).
func (e *engine) editConfig(name string, edit func(config map[string]any)) error {
	src, err := os.ReadFile(e.stackFile(name))
	if err != nil {
		return err
	}
	var file map[string]any
	if err := yaml.Unmarshal(src, &file); err != nil {
		return err
	}
	edit(file["config"].(map[string]any))
	return writeYAML(e.stackFile(name), file)
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// cliRun runs the CLI in the stack's work dir with the engine's environment,
// for what the pinned Automation API has no call for.
func (e *engine) cliRun(ctx context.Context, args ...string) error {
	env := make([]string, 0, len(e.env))
	for k, v := range e.env {
		env = append(env, k+"="+v)
	}
	stdout, stderr, _, err := e.cli.Run(ctx, e.workDir, nil, nil, nil, env, args...)
	if err != nil {
		return fmt.Errorf("pulumi %s: %w\n%s\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return nil
}

// step is one resource step the engine reported.
type step struct {
	Op, URN, Type string
	Diffs         []string
}

// collect gathers the resource steps of one operation from its events.
//
// The Automation API closes the channel when the operation's event stream
// ends; when an operation fails before the engine starts (a program error
// at preview) it may never do so, so the steps seen so far are returned
// after a grace period instead of blocking until the test's deadline.
func collect() (chan events.EngineEvent, func() []step) {
	ch := make(chan events.EngineEvent)
	var mu sync.Mutex
	var steps []step
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			if pre := ev.ResourcePreEvent; pre != nil {
				m := pre.Metadata
				mu.Lock()
				steps = append(steps, step{Op: string(m.Op), URN: m.URN, Type: m.Type, Diffs: m.Diffs})
				mu.Unlock()
			}
		}
	}()
	return ch, func() []step {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]step(nil), steps...)
	}
}

func (e *engine) preview(ctx context.Context, st auto.Stack) ([]step, error) {
	ch, steps := collect()
	start := time.Now()
	res, err := st.Preview(ctx, optpreview.EventStreams(ch))
	e.t.Logf("preview %s: %v %v", st.Name(), time.Since(start).Round(time.Millisecond), res.ChangeSummary)
	if err != nil {
		return steps(), fmt.Errorf("preview: %w", err)
	}
	return steps(), nil
}

func (e *engine) up(ctx context.Context, st auto.Stack) (map[string]int, []step, error) {
	ch, steps := collect()
	start := time.Now()
	res, err := st.Up(ctx, optup.EventStreams(ch))
	var summary map[string]int
	if res.Summary.ResourceChanges != nil {
		summary = *res.Summary.ResourceChanges
	}
	e.t.Logf("up %s: %v %v", st.Name(), time.Since(start).Round(time.Millisecond), summary)
	if err != nil {
		return nil, steps(), fmt.Errorf("up: %w", err)
	}
	return summary, steps(), nil
}

func (e *engine) destroy(ctx context.Context, st auto.Stack) error {
	start := time.Now()
	_, err := st.Destroy(ctx)
	e.t.Logf("destroy %s: %v", st.Name(), time.Since(start).Round(time.Millisecond))
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	return nil
}

// state is the stack's deployment as the backend holds it.
func (e *engine) state(ctx context.Context, st auto.Stack) (*apitype.DeploymentV3, error) {
	raw, err := st.Export(ctx)
	if err != nil {
		return nil, err
	}
	var d apitype.DeploymentV3
	if err := json.Unmarshal(raw.Deployment, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// backendFiles returns every file the file backend wrote (state,
// history, backups), by path relative to the backend dir.
func (e *engine) backendFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(e.backend, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.backend, path)
		files[rel] = b
		return nil
	})
	return files, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lookup walks a dotted path through nested objects.
func lookup(m resource.PropertyMap, path string) (resource.PropertyValue, bool) {
	v := resource.NewProperty(m)
	for _, key := range strings.Split(path, ".") {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			return resource.PropertyValue{}, false
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(key)]
		if !ok {
			return resource.PropertyValue{}, false
		}
		v = next
	}
	return v, true
}

// resourceKey names a resource by type and logical name.
type resourceKey struct{ Type, Name string }

func (k resourceKey) String() string { return k.Type + " " + k.Name }

func keyOf(urn string) resourceKey {
	u := resource.URN(urn)
	return resourceKey{string(u.Type()), u.Name()}
}

// Resources the destroy-order and config-change scenarios name.
var (
	nodePool  = resourceKey{"kubernetes:karpenter.sh/v1:NodePool", "gpu-l4-nodepool"}
	nodeClass = resourceKey{"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "gpu-l4-nodeclass"}
	karpenter = resourceKey{"kubernetes:helm.sh/v3:Release", "llm-platform-dev-karpenter"}
	// The platform services' pool, and a service on it.
	platformNodePool  = resourceKey{"kubernetes:karpenter.sh/v1:NodePool", "platform-nodepool"}
	platformNodeClass = resourceKey{"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "platform-nodeclass"}
	kedaRelease       = resourceKey{"kubernetes:helm.sh/v3:Release", "llm-platform-dev-models-keda"}
	systemNodes       = resourceKey{"aws:eks/nodeGroup:NodeGroup", "llm-platform-dev-system"}
	eksCluster        = resourceKey{"aws:eks/cluster:Cluster", "llm-platform-dev-eksCluster"}
	modelBucket       = resourceKey{"aws:s3/bucket:Bucket", "llm-platform-dev-models-bucket"}
)

// Scenario 1. A preview of a fresh stack plans only creates, changes
// nothing in the cloud, and sees unknown exactly what a real provider
// leaves unknown before anything exists: ids, ARNs, the cluster's endpoint,
// security group and kubeconfig. It returns the planned creates.
func (e *engine) checkFreshPreview(ctx context.Context, st auto.Stack) (map[string]bool, error) {
	mark := e.cloud.mark()
	steps, err := e.preview(ctx, st)
	if err != nil {
		return nil, err
	}
	var errs []error
	planned := map[string]bool{}
	for _, s := range steps {
		if s.Op != string(apitype.OpCreate) {
			errs = append(errs, fmt.Errorf("fresh preview: %s %s, want only creates", s.Op, s.URN))
			continue
		}
		planned[s.URN] = true
	}
	calls := e.cloud.Calls(mark)
	inputs := func(op string, k resourceKey) resource.PropertyMap {
		for _, c := range calls {
			if c.Op == op && c.Type == k.Type && c.Name == k.Name {
				return c.Inputs
			}
		}
		return nil
	}
	for _, c := range calls {
		if (c.Op == "Create" || c.Op == "Update" || c.Op == "Delete") && !c.Preview {
			errs = append(errs, fmt.Errorf("fresh preview: %s %s %s reached the cloud", c.Op, c.Type, c.Name))
		}
	}
	// What the program must cope with being unknown (and does, or the
	// preview above fails or plans less than up creates: scenario 2), and
	// what must stay known because it comes from config.
	expect := []struct {
		op      string
		res     resourceKey
		path    string
		unknown bool
	}{
		{"Create", resourceKey{"aws:ec2/subnet:Subnet", "llm-platform-dev-private-us-east-1a"}, "vpcId", true},
		{"Create", systemNodes, "launchTemplate.version", true},
		{"Create", systemNodes, "nodeRoleArn", true},
		{"Create", resourceKey{"aws:s3/filesFileSystem:FilesFileSystem", "llm-platform-dev-models"}, "bucket", true},
		{"Create", resourceKey{"aws:ec2/securityGroupRule:SecurityGroupRule", "llm-platform-dev-models-nfs-from-nodes"}, "sourceSecurityGroupId", true},
		{"CheckConfig", resourceKey{"pulumi:providers:kubernetes", "llm-platform-dev-k8s"}, "kubeconfig", true},
		{"Create", resourceKey{"aws:ec2/vpc:Vpc", "llm-platform-dev-vpc"}, "cidrBlock", false},
		{"Create", modelBucket, "bucket", false},
	}
	for _, x := range expect {
		in := inputs(x.op, x.res)
		if in == nil {
			errs = append(errs, fmt.Errorf("fresh preview: no %s of %s", x.op, x.res))
			continue
		}
		v, ok := lookup(in, x.path)
		if !ok {
			errs = append(errs, fmt.Errorf("fresh preview: %s of %s has no %s", x.op, x.res, x.path))
			continue
		}
		if unknown := v.ContainsUnknowns(); unknown != x.unknown {
			errs = append(errs, fmt.Errorf("fresh preview: %s.%s unknown = %v, want %v", x.res, x.path, unknown, x.unknown))
		}
	}
	return planned, errors.Join(errs...)
}

// Scenario 2. `up` creates exactly what the preview planned (a resource
// declared only once an output is known would be missing from the plan),
// every custom resource ends up in the cloud, and a second preview reports
// no change (no perpetual diff).
func (e *engine) checkUpConverges(ctx context.Context, st auto.Stack, planned map[string]bool) error {
	mark := e.cloud.mark()
	_, steps, err := e.up(ctx, st)
	if err != nil {
		return err
	}
	var errs []error
	created := map[string]bool{}
	for _, s := range steps {
		if s.Op == string(apitype.OpCreate) {
			created[s.URN] = true
		}
	}
	for urn := range created {
		if !planned[urn] {
			errs = append(errs, fmt.Errorf("up created %s, which the preview did not plan", urn))
		}
	}
	for urn := range planned {
		if !created[urn] {
			errs = append(errs, fmt.Errorf("the preview planned %s, which up did not create", urn))
		}
	}
	d, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	for _, r := range d.Resources {
		if !r.Custom || strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			continue
		}
		if _, ok := e.cloud.get(string(r.Type), string(r.ID)); !ok {
			errs = append(errs, fmt.Errorf("%s (id %q) is in the state but not in the cloud", r.URN, r.ID))
		}
	}
	for _, c := range e.cloud.Calls(mark) {
		if c.Op == "Create" && c.Preview {
			errs = append(errs, fmt.Errorf("up made a preview Create for %s", c.URN))
		}
	}

	steps, err = e.preview(ctx, st)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if s.Op != string(apitype.OpSame) {
			errs = append(errs, fmt.Errorf("second preview: %s %s (diffs %v), want no changes", s.Op, s.URN, s.Diffs))
		}
	}
	return errors.Join(errs...)
}

// Scenario 3. A config edit updates exactly the resources in want, in
// place: the preview plans those updates and nothing else, and `up` sends
// the providers those Updates and nothing else (scenarios 3 and 3b).
func (e *engine) checkConfigChangeTouchesOnly(ctx context.Context, st auto.Stack, edit func(config map[string]any), want []resourceKey) error {
	if err := e.editConfig(st.Name(), edit); err != nil {
		return err
	}
	wanted := map[resourceKey]bool{}
	for _, k := range want {
		wanted[k] = true
	}
	var errs []error
	steps, err := e.preview(ctx, st)
	if err != nil {
		return err
	}
	previewed := map[resourceKey]bool{}
	for _, s := range steps {
		switch {
		case s.Op == string(apitype.OpSame):
		case s.Op == string(apitype.OpUpdate) && wanted[keyOf(s.URN)]:
			previewed[keyOf(s.URN)] = true
		default:
			errs = append(errs, fmt.Errorf("preview: %s %s (diffs %v), want only updates of %v", s.Op, s.URN, s.Diffs, want))
		}
	}
	for _, k := range want {
		if !previewed[k] {
			errs = append(errs, fmt.Errorf("preview: no update of %s", k))
		}
	}
	mark := e.cloud.mark()
	if _, _, err := e.up(ctx, st); err != nil {
		return errors.Join(append(errs, err)...)
	}
	updated := map[resourceKey]bool{}
	for _, c := range e.cloud.Calls(mark) {
		k := resourceKey{c.Type, c.Name}
		switch {
		case c.Op == "Update" && wanted[k] && !c.Preview:
			updated[k] = true
		case c.Op == "Create" || c.Op == "Update" || c.Op == "Delete":
			errs = append(errs, fmt.Errorf("up: %s %s, want only updates of %v", c.Op, k, want))
		}
	}
	for _, k := range want {
		if !updated[k] {
			errs = append(errs, fmt.Errorf("up: no Update of %s", k))
		}
	}
	return errors.Join(errs...)
}

// setGPULimit is the scenario 3 edit: the stack's gpu object keeps its
// other fields.
func setGPULimit(n int) func(map[string]any) {
	return func(config map[string]any) {
		config["llm-platform:gpu"].(map[string]any)["gpuLimit"] = n
	}
}

// setModelField changes one field of the i-th model in the stack config.
func setModelField(i int, field string, v any) func(map[string]any) {
	return func(config map[string]any) {
		config["llm-platform:models"].([]any)[i].(map[string]any)[field] = v
	}
}

// Scenario 4. No file the backend wrote (state, history, backups) holds
// the kubeconfig or the Hugging Face token in clear text, and neither does
// the stack's config file. Not vacuously: the kubeconfig is in the state,
// encrypted, and decrypts to the canary.
func (e *engine) checkNoPlaintextSecrets(ctx context.Context, st auto.Stack) error {
	var errs []error
	files, err := e.backendFiles()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("the backend %s holds no files", e.backend)
	}
	cfgFile, err := os.ReadFile(e.stackFile(st.Name()))
	if err != nil {
		return err
	}
	files["work/"+filepath.Base(e.stackFile(st.Name()))] = cfgFile
	for _, name := range sortedKeys(files) {
		// "fake-password-" starts every generated password (API keys, the
		// Grafana admin password, the MCP session seed).
		for _, secret := range []string{kubeconfigCanary, hfTokenCanary, "fake-password-"} {
			if bytes.Contains(files[name], []byte(secret)) {
				errs = append(errs, fmt.Errorf("%s holds the secret %q in clear text", name, secret))
			}
		}
	}
	// Export shows secrets decrypted, so the kubeconfig output is there
	// (the canary above was looked for in the right place) ...
	outs, err := st.Outputs(ctx)
	if err != nil {
		return err
	}
	for _, name := range []string{"apiKeys", "grafanaAdminPassword"} {
		if o, ok := outs[name]; !ok || !o.Secret || !strings.Contains(fmt.Sprint(o.Value), "fake-password-") {
			errs = append(errs, fmt.Errorf("output %s = %+v, want the generated value as a secret", name, o))
		}
	}
	kc := outs["kubeconfig"]
	if s, _ := kc.Value.(string); !kc.Secret || !strings.Contains(s, kubeconfigCanary) {
		errs = append(errs, fmt.Errorf("output kubeconfig = %+v, want the fake kubeconfig as a secret", kc))
	}
	// ... and the backend's own copy is ciphertext.
	d, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	for _, r := range d.Resources {
		if r.Type == resource.RootStackType {
			if _, ok := r.Outputs["kubeconfig"].(map[string]any)[resource.SigKey]; !ok {
				errs = append(errs, fmt.Errorf("the stack's kubeconfig output is not stored as a secret: %v", r.Outputs["kubeconfig"]))
			}
		}
	}
	v, err := st.GetConfig(ctx, "llm-platform:huggingFaceToken")
	if err != nil || !v.Secret || v.Value != hfTokenCanary {
		errs = append(errs, fmt.Errorf("huggingFaceToken config = %+v (%w), want the canary as a secret", v, err))
	}
	return errors.Join(errs...)
}

// deleteOrder are the pairs a teardown must delete in order (the first
// finished before the second starts): what owns Karpenter nodes, then the
// Karpenter controller that terminates them, then the nodes and the
// cluster, then the network.
var deleteOrder = [][2]resourceKey{
	// The namespace of the Service that owns the gateway's NLB is gone
	// (and so is the NLB) before the cluster that could delete it.
	{egNamespace, eksCluster},
	{nodePool, karpenter},
	{nodeClass, karpenter},
	// The platform pool goes while Karpenter runs (it drains and
	// terminates the pool's nodes), after the services that run on it.
	{platformNodePool, karpenter},
	{platformNodeClass, karpenter},
	{kedaRelease, platformNodePool},
	{karpenter, systemNodes},
	{karpenter, eksCluster},
	{systemNodes, eksCluster},
	{eksCluster, {"aws:ec2/subnet:Subnet", "llm-platform-dev-private-us-east-1a"}},
	{eksCluster, {"aws:ec2/subnet:Subnet", "llm-platform-dev-private-us-east-1b"}},
}

func checkDeleteOrder(calls []providerCall) error {
	deletes := map[resourceKey]providerCall{}
	for _, c := range calls {
		if c.Op == "Delete" {
			deletes[resourceKey{c.Type, c.Name}] = c
		}
	}
	var errs []error
	for _, pair := range deleteOrder {
		first, ok1 := deletes[pair[0]]
		then, ok2 := deletes[pair[1]]
		switch {
		case !ok1 || !ok2:
			errs = append(errs, fmt.Errorf("teardown: no Delete of %s or of %s", pair[0], pair[1]))
		case first.Done > then.Seq:
			errs = append(errs, fmt.Errorf("teardown: %s was deleted before (or while) %s, want after", pair[1], pair[0]))
		}
	}
	return errors.Join(errs...)
}

// custom splits the state's custom, non-provider resources into those
// retained on delete and the rest, by URN.
func custom(d *apitype.DeploymentV3) (retained, deletable map[string]resourceKey) {
	retained, deletable = map[string]resourceKey{}, map[string]resourceKey{}
	for _, r := range d.Resources {
		if !r.Custom || strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			continue
		}
		if r.RetainOnDelete {
			retained[string(r.URN)] = keyOf(string(r.URN))
		} else {
			deletable[string(r.URN)] = keyOf(string(r.URN))
		}
	}
	return retained, deletable
}

// checkDeletes compares the Deletes the providers got with what the state
// held before a teardown: each deletable resource exactly once, no
// retained one (the engine drops those from the state, "deleted [retain]",
// without asking the provider).
func checkDeletes(calls []providerCall, retained, deletable map[string]resourceKey) error {
	var errs []error
	seen := map[string]int{}
	for _, c := range calls {
		if c.Op != "Delete" {
			continue
		}
		seen[c.URN]++
		if _, ok := retained[c.URN]; ok {
			errs = append(errs, fmt.Errorf("the provider got a Delete for %s, which is retained on delete", c.URN))
		}
	}
	for urn := range deletable {
		if seen[urn] != 1 {
			errs = append(errs, fmt.Errorf("%s got %d Deletes, want 1", urn, seen[urn]))
		}
	}
	return errors.Join(errs...)
}

// Scenario 5. `destroy --exclude-protected` (make destroy) deletes
// everything but the protected bucket and what it needs, in order; the
// bucket stays in the stack and in the cloud.
func (e *engine) checkDestroyKeepsProtected(ctx context.Context, st auto.Stack) error {
	before, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	protected := map[string]bool{}
	for _, r := range before.Resources {
		if r.Protect {
			protected[string(r.URN)] = true
		}
	}
	mark := e.cloud.mark()
	start := time.Now()
	if err := e.cliRun(ctx, "destroy", "--exclude-protected", "--yes", "--skip-preview", "--stack", st.Name()); err != nil {
		return err
	}
	e.t.Logf("destroy --exclude-protected %s: %v", st.Name(), time.Since(start).Round(time.Millisecond))
	after, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	// What a protected resource needs stays with it: its ancestors, its
	// provider and its dependencies, transitively.
	byURN := map[string]apitype.ResourceV3{}
	for _, r := range before.Resources {
		byURN[string(r.URN)] = r
	}
	keep := map[string]bool{}
	var need func(urn string)
	need = func(urn string) {
		if urn == "" || keep[urn] {
			return
		}
		keep[urn] = true
		r := byURN[urn]
		need(string(r.Parent))
		if i := strings.LastIndex(r.Provider, "::"); i >= 0 {
			need(r.Provider[:i])
		}
		for _, d := range r.Dependencies {
			need(string(d))
		}
	}
	for urn := range protected {
		need(urn)
	}
	var errs []error
	remaining := map[string]bool{}
	for _, r := range after.Resources {
		remaining[string(r.URN)] = true
		if !keep[string(r.URN)] {
			errs = append(errs, fmt.Errorf("destroy --exclude-protected left %s, which no protected resource needs", r.URN))
		}
	}
	bucket := find(after, modelBucket)
	switch {
	case bucket == nil:
		errs = append(errs, fmt.Errorf("destroy --exclude-protected removed the model bucket from the stack"))
	case !bucket.Protect:
		errs = append(errs, fmt.Errorf("the model bucket is no longer protected"))
	}
	for urn := range protected {
		if !remaining[urn] {
			errs = append(errs, fmt.Errorf("destroy --exclude-protected removed protected %s", urn))
		}
	}
	calls := e.cloud.Calls(mark)
	retained, deletable := custom(before)
	for urn := range deletable {
		if keep[urn] {
			delete(deletable, urn)
		}
	}
	for urn := range retained {
		if keep[urn] {
			delete(retained, urn)
		}
	}
	errs = append(errs, checkDeletes(calls, retained, deletable), checkDeleteOrder(calls), e.bucketInCloud())
	return errors.Join(errs...)
}

// bucketInCloud is the retained bucket's fate: still in the fake cloud.
func (e *engine) bucketInCloud() error {
	if _, ok := e.cloud.get(modelBucket.Type, devBucketName); !ok {
		return fmt.Errorf("the model bucket %s is gone from the cloud", devBucketName)
	}
	return nil
}

// devBucketName is the dev stack's bucket: <prefix>-<stack>-<region>-<account>.
const devBucketName = "llm-models-dev-us-east-1-123456789012"

func find(d *apitype.DeploymentV3, k resourceKey) *apitype.ResourceV3 {
	for i, r := range d.Resources {
		if keyOf(string(r.URN)) == k {
			return &d.Resources[i]
		}
	}
	return nil
}

// Scenario 5b. The next `up` after `make destroy` recreates everything
// around the kept bucket, which it does not create again.
func (e *engine) checkUpAroundKeptBucket(ctx context.Context, st auto.Stack, want int) error {
	mark := e.cloud.mark()
	summary, _, err := e.up(ctx, st)
	if err != nil {
		return err
	}
	var errs []error
	if summary["delete"] != 0 || summary["replace"] != 0 {
		errs = append(errs, fmt.Errorf("up after destroy --exclude-protected: %v, want no deletes or replacements", summary))
	}
	for _, c := range e.cloud.Calls(mark) {
		if c.Op == "Create" && c.Type == modelBucket.Type {
			errs = append(errs, fmt.Errorf("up after destroy --exclude-protected created the bucket again"))
		}
	}
	d, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	if len(d.Resources) != want {
		errs = append(errs, fmt.Errorf("the stack has %d resources after up, want %d as before the destroy", len(d.Resources), want))
	}
	return errors.Join(errs...)
}

// Scenario 6. After `state unprotect --all`, `destroy` empties the stack:
// every resource is deleted, in order, except the retained ones, which the
// provider never hears of and which stay in the cloud.
func (e *engine) checkFullTeardown(ctx context.Context, st auto.Stack) error {
	before, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	if err := e.cliRun(ctx, "state", "unprotect", "--all", "--yes", "--stack", st.Name()); err != nil {
		return err
	}
	mark := e.cloud.mark()
	if err := e.destroy(ctx, st); err != nil {
		return err
	}
	var errs []error
	after, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	for _, r := range after.Resources {
		errs = append(errs, fmt.Errorf("destroy left %s in the stack", r.URN))
	}
	calls := e.cloud.Calls(mark)
	retained, deletable := custom(before)
	if b := find(before, modelBucket); b == nil || !b.RetainOnDelete {
		errs = append(errs, fmt.Errorf("the model bucket is not in the stack, retained on delete"))
	}
	errs = append(errs, checkDeletes(calls, retained, deletable), checkDeleteOrder(calls), e.bucketInCloud())
	return errors.Join(errs...)
}

// Scenario 7. A new stack of the same name with storage.importExisting
// adopts the retained bucket: the engine reads it (import), never creates
// it, and the adopted bucket is protected and retained again.
func (e *engine) checkAdoptRetainedBucket(ctx context.Context, name string) error {
	if err := e.bucketInCloud(); err != nil {
		return err
	}
	st, err := e.stack(ctx, name, func(config map[string]any) {
		config["llm-platform:storage"] = map[string]any{"importExisting": true}
	})
	if err != nil {
		return err
	}
	var errs []error
	steps, err := e.preview(ctx, st)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if keyOf(s.URN) == modelBucket && s.Op != string(apitype.OpImport) {
			errs = append(errs, fmt.Errorf("preview: %s the bucket, want import", s.Op))
		}
	}
	mark := e.cloud.mark()
	if _, _, err := e.up(ctx, st); err != nil {
		return errors.Join(append(errs, err)...)
	}
	read := false
	for _, c := range e.cloud.Calls(mark) {
		if c.Type != modelBucket.Type {
			continue
		}
		switch c.Op {
		case "Read":
			read = read || c.ID == devBucketName
		case "Create", "Update", "Delete":
			errs = append(errs, fmt.Errorf("adopting the bucket: the provider got %s, want only a Read", c.Op))
		}
	}
	if !read {
		errs = append(errs, fmt.Errorf("adopting the bucket: no Read of %s", devBucketName))
	}
	d, err := e.state(ctx, st)
	if err != nil {
		return err
	}
	b := find(d, modelBucket)
	if b == nil || string(b.ID) != devBucketName || !b.Protect || !b.RetainOnDelete {
		errs = append(errs, fmt.Errorf("adopted bucket = %+v, want id %s, protected, retained", b, devBucketName))
	}
	return errors.Join(errs...)
}
