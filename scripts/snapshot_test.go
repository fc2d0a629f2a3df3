package scripts

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const script = "build-data-volume-snapshot.sh"

func TestMain(m *testing.M) {
	// Run as the fake `aws` when the wrapper on a test's PATH calls us.
	if dir := os.Getenv("FAKE_AWS_DIR"); dir != "" {
		os.Exit(fakeAWS(dir, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// result is one run of the script.
type result struct {
	code           int
	stdout, stderr string
	calls          []fakeCall
}

// ops lists the calls as "service operation".
func (r result) ops() []string {
	out := make([]string, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.op()
	}
	return out
}

// find returns the index of the first call at or after from for which
// match holds, or -1.
func (r result) find(from int, match func(fakeCall) bool) int {
	for i := max(from, 0); i < len(r.calls); i++ {
		if match(r.calls[i]) {
			return i
		}
	}
	return -1
}

func isOp(op string) func(fakeCall) bool {
	return func(c fakeCall) bool { return c.op() == op }
}

func (r result) count(op string) int {
	n := 0
	for _, c := range r.calls {
		if c.op() == op {
			n++
		}
	}
	return n
}

// runScript runs the script under bash with the fake aws first on PATH.
func runScript(t *testing.T, env []string, args ...string) result {
	t.Helper()
	tmp := t.TempDir()
	bin, state := filepath.Join(tmp, "bin"), filepath.Join(tmp, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nexec \"$FAKE_AWS_BIN\" \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append([]string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + tmp, "TMPDIR=" + tmp, "LC_ALL=C",
		"FAKE_AWS_DIR=" + state, "FAKE_AWS_BIN=" + self,
		"SNAPSHOT_POLL_SECONDS=0",
	}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := result{}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("running %s: %v", script, err)
		}
		r.code = exit.ExitCode()
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	f, err := os.Open(filepath.Join(state, "calls.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return r
	} else if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c fakeCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		r.calls = append(r.calls, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	vllm    = "vllm/vllm-openai:v0.31.0"
	sidecar = "public.ecr.aws/docker/library/busybox:1.37"
)

func requiredArgs() []string {
	return []string{
		"--region", "us-east-1",
		"--subnet-id", "subnet-0123456789abcdef0",
		"--security-group-id", "sg-0123456789abcdef0",
		"--bottlerocket-version", "1.64.0",
		"--kubernetes-version", "1.35",
		"--image", vllm,
	}
}

// The SOCI settings of the GPU nodes' EC2NodeClass user data, which the
// builder must boot with line for line.
var sociUserData = []string{
	"[settings.container-runtime]",
	`snapshotter = "soci"`,
	"[settings.container-runtime-plugins.soci-snapshotter]",
	`pull-mode = "parallel-pull-unpack"`,
	"[settings.container-runtime-plugins.soci-snapshotter.parallel-pull-unpack]",
	"max-concurrent-downloads-per-image = 20",
	`concurrent-download-chunk-size = "16mb"`,
	"max-concurrent-unpacks-per-image = 12",
	"discard-unpacked-layers = true",
}

// isPull matches the Run Command whose script pulls image, by any tool.
func isPull(image string) func(fakeCall) bool {
	return func(c fakeCall) bool {
		return c.op() == "ssm send-command" && slices.ContainsFunc(strings.Split(c.Script, "\n"), func(l string) bool {
			return pullLine.MatchString(l) && strings.Contains(l, "'"+image+"'")
		})
	}
}

var (
	pullLine = regexp.MustCompile(`\bpull\b`)
	// A CRI pull: crictl, at the image service endpoint.
	criPullLine = regexp.MustCompile(`^/usr/local/bin/crictl .*--image-endpoint .* pull `)
	// ctr pulls bypass the CRI and so the labels SOCI's parallel mode needs.
	ctrPullLine = regexp.MustCompile(`(^|\s)ctr\s.*\bpull\b`)
)

func TestBuildsSnapshotFromSOCIBuilder(t *testing.T) {
	t.Parallel()
	args := append(requiredArgs(), "--image", sidecar, "--volume-size", "120",
		"--kms-key-id", "arn:aws:kms:us-east-1:123456789012:key/0f0f0f0f-1111-2222-3333-444444444444")
	r := runScript(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}

	// The AMI is the NVIDIA variant of the pinned release, as Karpenter
	// resolves bottlerocket@v1.64.0 for g6 instances.
	if i := r.find(0, isOp("ssm get-parameter")); i < 0 ||
		r.calls[i].flag1("name") != "/aws/service/bottlerocket/aws-k8s-1.35-nvidia/x86_64/1.64.0/image_id" {
		t.Errorf("AMI parameter: %v", r.ops())
	}

	// Launch: the nodes' SOCI settings, the admin container, an encrypted
	// data volume of the requested size with the key, the temporary
	// instance profile, no cluster settings.
	launch := r.find(0, isOp("ec2 run-instances"))
	if launch < 0 {
		t.Fatalf("no run-instances in %v", r.ops())
	}
	run := r.calls[launch]
	userData := run.Files["user-data"]
	for _, line := range append([]string{"[settings.host-containers.admin]", "enabled = true"}, sociUserData...) {
		if !slices.Contains(strings.Split(userData, "\n"), line) {
			t.Errorf("user data lacks %q:\n%s", line, userData)
		}
	}
	if strings.Contains(userData, "settings.kubernetes") {
		t.Errorf("the builder must not join a cluster:\n%s", userData)
	}
	if run.flag1("image-id") != fakeAMI || run.flag1("instance-type") != "g6.xlarge" ||
		run.flag1("subnet-id") != "subnet-0123456789abcdef0" || run.flag1("security-group-ids") != "sg-0123456789abcdef0" {
		t.Errorf("run-instances args: %v", run.Args)
	}
	var bdm []struct {
		DeviceName string
		Ebs        struct {
			VolumeSize int
			VolumeType string
			Encrypted  bool
			KmsKeyID   string `json:"KmsKeyId"`
		}
	}
	if err := json.Unmarshal([]byte(run.flag1("block-device-mappings")), &bdm); err != nil {
		t.Fatalf("block device mappings: %v", err)
	}
	if len(bdm) != 1 || bdm[0].DeviceName != "/dev/xvdb" || bdm[0].Ebs.VolumeSize != 120 || bdm[0].Ebs.VolumeType != "gp3" ||
		!bdm[0].Ebs.Encrypted || !strings.HasSuffix(bdm[0].Ebs.KmsKeyID, "key/0f0f0f0f-1111-2222-3333-444444444444") {
		t.Errorf("block device mappings: %+v", bdm)
	}
	profile := r.find(0, isOp("iam create-instance-profile"))
	if profile < 0 || profile > launch ||
		run.flag1("iam-instance-profile") != "Name="+r.calls[profile].flag1("instance-profile-name") {
		t.Errorf("instance profile: %v", run.flag("iam-instance-profile"))
	}
	if att := r.find(0, isOp("iam attach-role-policy")); att < 0 ||
		r.calls[att].flag1("policy-arn") != "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" {
		t.Errorf("the builder role needs AmazonSSMManagedInstanceCore: %v", r.ops())
	}

	// Before pulling: the builder really runs SOCI in parallel mode.
	check := r.find(launch, func(c fakeCall) bool {
		return c.op() == "ssm send-command" && strings.Contains(c.Script, `"snapshotter\": *\"soci\"`)
	})
	if check < 0 || r.calls[check].Where != "control" ||
		!strings.Contains(r.calls[check].Script, `"pull-mode\": *\"parallel-pull-unpack\"`) {
		t.Errorf("no check of the snapshotter settings before pulling")
	}

	// Each image is pulled through the CRI image service of the SOCI
	// snapshotter (crictl in the admin container), after the check and in
	// order, and each pull waited for.
	prev := check
	for _, img := range []string{vllm, sidecar} {
		i := r.find(prev+1, isPull(img))
		if i < 0 {
			t.Fatalf("no pull of %s after call %d in %v", img, prev, r.ops())
		}
		pull := r.calls[i]
		var cri, ctr int
		for _, l := range strings.Split(pull.Script, "\n") {
			if criPullLine.MatchString(l) && strings.Contains(l, "'"+img+"'") {
				cri++
			}
			if ctrPullLine.MatchString(l) {
				ctr++
			}
		}
		if pull.Where != "admin" || cri != 1 || ctr != 0 ||
			!strings.Contains(pull.Script, "/run/soci-snapshotter/soci-snapshotter.sock") {
			t.Errorf("pull of %s is not one CRI pull through the SOCI image service:\n%s", img, pull.Script)
		}
		if r.find(i, isOp("ssm get-command-invocation")) < 0 {
			t.Errorf("pull of %s not waited for", img)
		}
		prev = i
	}
	verify := r.find(prev+1, func(c fakeCall) bool {
		return c.op() == "ssm send-command" && strings.Contains(c.Script, "--snapshotter soci")
	})
	if verify < 0 {
		t.Errorf("no check that the layers are SOCI snapshots")
	}

	// Stop, then snapshot the xvdb volume, tagged for traceability, then
	// wait for it, then terminate and delete the temporary IAM objects.
	stop := r.find(prev, isOp("ec2 stop-instances"))
	stopped := r.find(stop, isOp("ec2 wait instance-stopped"))
	snap := r.find(0, isOp("ec2 create-snapshot"))
	if stop < 0 || stopped < 0 || snap < 0 || snap < stopped {
		t.Fatalf("the builder must be stopped before the snapshot: %v", r.ops())
	}
	if v := r.calls[snap].flag1("volume-id"); v != fakeDataVolume {
		t.Errorf("snapshot of %s, want the /dev/xvdb volume %s", v, fakeDataVolume)
	}
	var specs []struct {
		ResourceType string
		Tags         []struct{ Key, Value string }
	}
	if err := json.Unmarshal([]byte(r.calls[snap].flag1("tag-specifications")), &specs); err != nil || len(specs) != 1 {
		t.Fatalf("snapshot tag specifications %q: %v", r.calls[snap].flag1("tag-specifications"), err)
	}
	tags := map[string]string{}
	for _, tg := range specs[0].Tags {
		tags[tg.Key] = tg.Value
	}
	if specs[0].ResourceType != "snapshot" || tags["llm-platform/images"] != vllm+" "+sidecar ||
		tags["llm-platform/bottlerocket"] != "1.64.0" || tags["llm-platform/variant"] != "aws-k8s-1.35-nvidia" {
		t.Errorf("snapshot tags: %v", tags)
	}
	done := r.find(snap, isOp("ec2 describe-snapshots"))
	term := r.find(snap, isOp("ec2 terminate-instances"))
	if done < 0 || term < done || r.count("ec2 describe-snapshots") < 2 {
		t.Errorf("snapshot completion not awaited before cleanup: %v", r.ops())
	}
	if r.find(term, isOp("ec2 wait instance-terminated")) < 0 || r.find(term, isOp("iam delete-role")) < 0 ||
		r.find(term, isOp("iam delete-instance-profile")) < 0 {
		t.Errorf("cleanup incomplete: %v", r.ops())
	}
	if r.count("ec2 delete-snapshot") != 0 {
		t.Errorf("the finished snapshot was deleted")
	}
	if r.count("ec2 terminate-instances") != 1 || r.count("ec2 run-instances") != 1 {
		t.Errorf("want one launch and one termination: %v", r.ops())
	}

	// The remote scripts only run on the builder: at least parse them.
	for _, c := range r.calls {
		if c.op() != "ssm send-command" {
			continue
		}
		shell := map[string]string{"control": "sh", "admin": "bash"}[c.Where]
		cmd := exec.Command(shell, "-n")
		cmd.Stdin = strings.NewReader(c.Script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s\nscript:\n%s", shell, err, out, c.Script)
		}
	}

	want := fakeSnapshotID + "\npulumi config set --path gpu.dataVolumeSnapshotId " + fakeSnapshotID + "\n"
	if r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}

func TestFailingPullStillCleansUp(t *testing.T) {
	t.Parallel()
	r := runScript(t, []string{"FAKE_AWS_FAIL_PULL=" + sidecar}, append(requiredArgs(), "--image", sidecar)...)
	if r.code == 0 {
		t.Fatalf("exit 0 although the pull failed\nstderr:\n%s", r.stderr)
	}
	failed := r.find(0, isPull(sidecar))
	if failed < 0 {
		t.Fatalf("no pull of %s: %v", sidecar, r.ops())
	}
	if !strings.Contains(r.stderr, fakePullFailure) {
		t.Errorf("the pull's error output is not shown:\n%s", r.stderr)
	}
	term := r.find(failed, isOp("ec2 terminate-instances"))
	if term < 0 || r.calls[term].flag1("instance-ids") != fakeInstanceID {
		t.Errorf("builder not terminated after the failed pull: %v", r.ops())
	}
	if r.find(term, isOp("iam delete-instance-profile")) < 0 || r.find(term, isOp("iam delete-role")) < 0 {
		t.Errorf("temporary IAM objects left behind: %v", r.ops())
	}
	for _, op := range []string{"ec2 stop-instances", "ec2 create-snapshot"} {
		if r.count(op) != 0 {
			t.Errorf("%s after a failed pull: %v", op, r.ops())
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout %q after a failure, want nothing", r.stdout)
	}
}

func TestFailedSnapshotIsDeleted(t *testing.T) {
	t.Parallel()
	r := runScript(t, []string{"FAKE_AWS_SNAPSHOT_STATE=error"}, requiredArgs()...)
	if r.code == 0 {
		t.Fatalf("exit 0 although the snapshot failed")
	}
	del := r.find(r.find(0, isOp("ec2 create-snapshot")), isOp("ec2 delete-snapshot"))
	if del < 0 || r.calls[del].flag1("snapshot-id") != fakeSnapshotID {
		t.Errorf("the failed snapshot was not deleted: %v", r.ops())
	}
	if r.count("ec2 terminate-instances") != 1 {
		t.Errorf("builder not terminated: %v", r.ops())
	}
}

func TestExistingInstanceProfile(t *testing.T) {
	t.Parallel()
	r := runScript(t, nil, append(requiredArgs(), "--instance-profile", "ssm-builder", "--variant", "aws-k8s-1.35")...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	for _, c := range r.calls {
		if c.Args[0] == "iam" {
			t.Errorf("IAM call with --instance-profile: %v", c.Args)
		}
	}
	if i := r.find(0, isOp("ec2 run-instances")); i < 0 || r.calls[i].flag1("iam-instance-profile") != "Name=ssm-builder" {
		t.Errorf("run-instances does not use the given profile")
	}
	if i := r.find(0, isOp("ssm get-parameter")); i < 0 ||
		r.calls[i].flag1("name") != "/aws/service/bottlerocket/aws-k8s-1.35/x86_64/1.64.0/image_id" {
		t.Errorf("--variant not used for the AMI")
	}
}

func TestRefusesBadArguments(t *testing.T) {
	t.Parallel()
	without := func(flag string) []string {
		var out []string
		args := requiredArgs()
		for i := 0; i < len(args); i += 2 {
			if args[i] != flag {
				out = append(out, args[i], args[i+1])
			}
		}
		return out
	}
	with := func(flag, value string) []string {
		args := requiredArgs()
		i := slices.Index(args, flag)
		args[i+1] = value
		return args
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no region", without("--region"), "missing required flag --region"},
		{"no subnet", without("--subnet-id"), "missing required flag --subnet-id"},
		{"no security group", without("--security-group-id"), "missing required flag --security-group-id"},
		{"no bottlerocket version", without("--bottlerocket-version"), "missing required flag --bottlerocket-version"},
		{"no kubernetes version", without("--kubernetes-version"), "missing required flag --kubernetes-version"},
		{"no image", without("--image"), "missing required flag --image"},
		{"flag without value", append(requiredArgs(), "--volume-size"), "flag --volume-size needs a value"},
		{"latest", with("--bottlerocket-version", "latest"), "--bottlerocket-version: 'latest' must be x.y.z"},
		{"small volume", append(requiredArgs(), "--volume-size", "10"), "--volume-size: '10'"},
		{"bad image", with("--image", "vllm/vllm-openai:v0.31.0';reboot;'"), "--image:"},
		{"bad subnet", with("--subnet-id", "10.0.1.0/24"), "--subnet-id: '10.0.1.0/24'"},
		{"unknown flag", append(requiredArgs(), "--snapshotter", "overlayfs"), "unknown argument: --snapshotter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runScript(t, nil, tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, r.stderr)
			}
			if len(r.calls) != 0 {
				t.Errorf("AWS called before the arguments were checked: %v", r.ops())
			}
		})
	}
}

func TestShellcheck(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed")
	}
	if out, err := exec.Command(path, script).CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s: %v\n%s", script, err, out)
	}
}
