package scripts

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The fake `aws`: the test binary itself, run through a two-line wrapper
// on PATH with FAKE_AWS_DIR set (TestMain hands it here before any test
// runs). It appends every call to FAKE_AWS_DIR/calls.jsonl, with the
// contents of its file:// arguments and, for ssm send-command, the script
// the command carries decoded, and answers with the JSON the real API
// returns, narrowed by --query (the JMESPath subset the script uses) and
// printed as --output text or json, like the CLI.
//
// Failure injection, by environment:
//   - FAKE_AWS_FAIL_PULL=<image>: the Run Command that pulls <image> fails.
//   - FAKE_AWS_SNAPSHOT_STATE=<state>: describe-snapshots ends in <state>
//     instead of "completed".

const (
	fakeAccount     = "123456789012"
	fakeAMI         = "ami-0f00dfeed0000b0a7"
	fakeInstanceID  = "i-0123456789abcdef0"
	fakeRootVolume  = "vol-0aaaaaaaaaaaaaaa1"
	fakeDataVolume  = "vol-0bbbbbbbbbbbbbbb2"
	fakeSnapshotID  = "snap-0ccccccccccccccc3"
	fakePullFailure = "fake: pull failed: failed to resolve reference: 429 Too Many Requests"
)

// fakeCall is one recorded invocation.
type fakeCall struct {
	Args []string `json:"args"`
	// Files holds the contents of file:// arguments, by flag.
	Files map[string]string `json:"files,omitempty"`
	// Where and Script are, for ssm send-command, the container the
	// command runs the script in (control or admin) and the script.
	Where  string `json:"where,omitempty"`
	Script string `json:"script,omitempty"`
}

// op is "service operation" ("ec2 run-instances", "ec2 wait instance-running").
func (c fakeCall) op() string {
	n := min(len(c.Args), 2)
	if n == 2 && c.Args[1] == "wait" && len(c.Args) > 2 {
		return c.Args[0] + " wait " + c.Args[2]
	}
	return strings.Join(c.Args[:n], " ")
}

// flag returns the values after --name, up to the next flag.
func (c fakeCall) flag(name string) []string {
	for i, a := range c.Args {
		if a != "--"+name {
			continue
		}
		var vals []string
		for _, v := range c.Args[i+1:] {
			if strings.HasPrefix(v, "--") {
				break
			}
			vals = append(vals, v)
		}
		return vals
	}
	return nil
}

// flag1 is the first value of --name, or "".
func (c fakeCall) flag1(name string) string {
	if v := c.flag(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

var remoteScript = regexp.MustCompile(`^(sh -c|apiclient exec admin bash -c) "\$\(printf %s '([A-Za-z0-9+/=]+)' \| base64 -d\)"$`)

func fakeAWS(dir string, args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		_, _ = fmt.Fprintf(stderr, format+"\n", a...)
		return code
	}
	call := fakeCall{Args: args, Files: map[string]string{}}
	for i, a := range args {
		if path, ok := strings.CutPrefix(a, "file://"); ok && i > 0 {
			b, err := os.ReadFile(path)
			if err != nil {
				return fail(255, "fake aws: %v", err)
			}
			call.Files[strings.TrimPrefix(args[i-1], "--")] = string(b)
		}
	}
	if call.op() == "ssm send-command" {
		var params struct {
			Commands []string `json:"commands"`
		}
		if err := json.Unmarshal([]byte(call.Files["parameters"]), &params); err != nil || len(params.Commands) != 1 {
			return fail(255, "fake aws: send-command parameters %q: %v", call.Files["parameters"], err)
		}
		m := remoteScript.FindStringSubmatch(params.Commands[0])
		if m == nil {
			return fail(255, "fake aws: send-command runs an unexpected command %q", params.Commands[0])
		}
		script, err := base64.StdEncoding.DecodeString(m[2])
		if err != nil {
			return fail(255, "fake aws: %v", err)
		}
		call.Where, call.Script = "control", string(script)
		if strings.HasPrefix(m[1], "apiclient") {
			call.Where = "admin"
		}
	}
	if err := appendCall(dir, call); err != nil {
		return fail(255, "fake aws: %v", err)
	}

	resp, code, msg := respond(dir, call)
	if code != 0 {
		return fail(code, "%s", msg)
	}
	if resp == nil {
		return 0
	}
	var out any = resp
	if q := call.flag1("query"); q != "" {
		out = jmespath(resp, q)
	}
	text := textOutput(out)
	if call.flag1("output") != "text" {
		b, err := json.MarshalIndent(out, "", "    ")
		if err != nil {
			return fail(255, "fake aws: %v", err)
		}
		text = string(b)
	}
	if _, err := fmt.Fprintln(stdout, text); err != nil {
		return fail(255, "fake aws: %v", err)
	}
	return 0
}

func appendCall(dir string, c fakeCall) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "calls.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

// counter increments and returns a named counter kept in dir.
func counter(dir, name string) int {
	path := filepath.Join(dir, "count-"+name)
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(string(b))
	n++
	_ = os.WriteFile(path, []byte(strconv.Itoa(n)), 0o600)
	return n
}

type obj = map[string]any

// respond answers one call: the response document, or an exit code and
// error message as the CLI prints them.
func respond(dir string, c fakeCall) (obj, int, string) {
	now := "2026-12-01T10:00:00.000Z"
	switch c.op() {
	case "ssm get-parameter":
		return obj{"Parameter": obj{
			"Name": c.flag1("name"), "Type": "String", "Value": fakeAMI, "Version": 42,
			"LastModifiedDate": now, "ARN": "arn:aws:ssm:us-east-1::parameter" + c.flag1("name"), "DataType": "aws:ec2:image",
		}}, 0, ""
	case "iam create-role":
		return obj{"Role": obj{
			"Path": "/", "RoleName": c.flag1("role-name"), "RoleId": "AROAFAKEFAKEFAKEFAKE",
			"Arn": "arn:aws:iam::" + fakeAccount + ":role/" + c.flag1("role-name"), "CreateDate": now,
		}}, 0, ""
	case "iam create-instance-profile":
		return obj{"InstanceProfile": obj{
			"Path": "/", "InstanceProfileName": c.flag1("instance-profile-name"), "InstanceProfileId": "AIPAFAKEFAKEFAKEFAKE",
			"Arn": "arn:aws:iam::" + fakeAccount + ":instance-profile/" + c.flag1("instance-profile-name"), "CreateDate": now, "Roles": []any{},
		}}, 0, ""
	case "iam attach-role-policy", "iam add-role-to-instance-profile", "iam wait instance-profile-exists",
		"iam remove-role-from-instance-profile", "iam delete-instance-profile", "iam detach-role-policy", "iam delete-role",
		"ec2 wait instance-running", "ec2 wait instance-stopped", "ec2 wait instance-terminated", "ec2 delete-snapshot":
		return nil, 0, ""
	case "ec2 run-instances":
		return obj{
			"Groups": []any{}, "OwnerId": fakeAccount, "ReservationId": "r-0123456789abcdef0",
			"Instances": []any{obj{
				"AmiLaunchIndex": 0, "ImageId": c.flag1("image-id"), "InstanceId": fakeInstanceID,
				"InstanceType": c.flag1("instance-type"), "LaunchTime": now, "SubnetId": c.flag1("subnet-id"),
				"PrivateIpAddress": "10.0.1.17", "State": obj{"Code": 0, "Name": "pending"},
				"BlockDeviceMappings": []any{}, "SecurityGroups": []any{obj{"GroupId": c.flag1("security-group-ids")}},
			}},
		}, 0, ""
	case "ssm describe-instance-information":
		// Not registered on the first call, online from the second.
		if counter(dir, "ssm-online") == 1 {
			return obj{"InstanceInformationList": []any{}}, 0, ""
		}
		return obj{"InstanceInformationList": []any{obj{
			"InstanceId": fakeInstanceID, "PingStatus": "Online", "LastPingDateTime": now,
			"AgentVersion": "3.3.1802.0", "PlatformType": "Linux", "PlatformName": "Bottlerocket", "ResourceType": "EC2Instance",
		}}}, 0, ""
	case "ssm send-command":
		id := fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", counter(dir, "command-ids"))
		if err := os.WriteFile(filepath.Join(dir, "command-"+id), []byte(c.Script), 0o600); err != nil {
			return nil, 255, err.Error()
		}
		return obj{"Command": obj{
			"CommandId": id, "DocumentName": c.flag1("document-name"), "DocumentVersion": "$DEFAULT",
			"Comment": c.flag1("comment"), "InstanceIds": c.flag("instance-ids"), "Status": "Pending",
			"RequestedDateTime": now, "TargetCount": 1, "CompletedCount": 0, "ErrorCount": 0,
		}}, 0, ""
	case "ssm get-command-invocation":
		id := c.flag1("command-id")
		script, err := os.ReadFile(filepath.Join(dir, "command-"+id))
		if err != nil {
			return nil, 254, "An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation: "
		}
		inv := obj{
			"CommandId": id, "InstanceId": c.flag1("instance-id"), "DocumentName": "AWS-RunShellScript",
			"PluginName": "aws:runShellScript", "ResponseCode": -1, "Status": "InProgress", "StatusDetails": "InProgress",
			"StandardOutputContent": "", "StandardErrorContent": "", "ExecutionStartDateTime": now,
		}
		// In progress on the first poll, done from the second.
		if counter(dir, "polls-"+id) == 1 {
			return inv, 0, ""
		}
		inv["ResponseCode"], inv["Status"], inv["StatusDetails"] = 0, "Success", "Success"
		if img := os.Getenv("FAKE_AWS_FAIL_PULL"); img != "" &&
			strings.Contains(string(script), "crictl") && strings.Contains(string(script), "pull") &&
			strings.Contains(string(script), "'"+img+"'") {
			inv["ResponseCode"], inv["Status"], inv["StatusDetails"] = 1, "Failed", "Failed"
			inv["StandardErrorContent"] = fakePullFailure
		}
		return inv, 0, ""
	case "ec2 stop-instances", "ec2 terminate-instances":
		key, state := "StoppingInstances", obj{"Code": 64, "Name": "stopping"}
		if c.op() == "ec2 terminate-instances" {
			key, state = "TerminatingInstances", obj{"Code": 32, "Name": "shutting-down"}
		}
		return obj{key: []any{obj{
			"InstanceId": c.flag1("instance-ids"), "CurrentState": state, "PreviousState": obj{"Code": 16, "Name": "running"},
		}}}, 0, ""
	case "ec2 describe-instances":
		ebs := func(vol string) obj {
			return obj{"AttachTime": now, "DeleteOnTermination": true, "Status": "attached", "VolumeId": vol}
		}
		return obj{"Reservations": []any{obj{
			"OwnerId": fakeAccount, "ReservationId": "r-0123456789abcdef0", "Groups": []any{},
			"Instances": []any{obj{
				"InstanceId": fakeInstanceID, "ImageId": fakeAMI, "State": obj{"Code": 80, "Name": "stopped"},
				"RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs",
				"BlockDeviceMappings": []any{
					obj{"DeviceName": "/dev/xvda", "Ebs": ebs(fakeRootVolume)},
					obj{"DeviceName": "/dev/xvdb", "Ebs": ebs(fakeDataVolume)},
				},
			}},
		}}}, 0, ""
	case "ec2 create-snapshot":
		return obj{
			"Description": c.flag1("description"), "Encrypted": true, "OwnerId": fakeAccount, "Progress": "",
			"SnapshotId": fakeSnapshotID, "StartTime": now, "State": "pending", "VolumeId": c.flag1("volume-id"),
			"VolumeSize": 100, "Tags": []any{},
		}, 0, ""
	case "ec2 describe-snapshots":
		state, progress := "pending", "37%"
		if counter(dir, "snapshot-polls") > 1 {
			state, progress = "completed", "100%"
			if s := os.Getenv("FAKE_AWS_SNAPSHOT_STATE"); s != "" {
				state = s
			}
		}
		return obj{"Snapshots": []any{obj{
			"SnapshotId": c.flag1("snapshot-ids"), "State": state, "Progress": progress, "VolumeId": fakeDataVolume,
			"VolumeSize": 100, "Encrypted": true, "OwnerId": fakeAccount, "StartTime": now,
		}}}, 0, ""
	}
	return nil, 255, fmt.Sprintf("fake aws: unsupported command: %s", strings.Join(c.Args, " "))
}

// jmespath evaluates the JMESPath subset the script's --query flags use:
// field.field, [n], [?Key=='value'] (a projection), and "| [n]".
func jmespath(v any, expr string) any {
	for _, seg := range strings.Split(expr, "|") {
		v = walk(v, tokens(strings.TrimSpace(seg)))
	}
	return v
}

type token struct {
	field      string
	index      int
	isIndex    bool
	key, value string
	isFilter   bool
}

var (
	indexToken  = regexp.MustCompile(`^\[(\d+)\]`)
	filterToken = regexp.MustCompile(`^\[\?(\w+)=='([^']*)'\]`)
	fieldToken  = regexp.MustCompile(`^\.?(\w+)`)
)

func tokens(s string) []token {
	var out []token
	for s != "" {
		if m := indexToken.FindStringSubmatch(s); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, token{index: n, isIndex: true})
			s = s[len(m[0]):]
		} else if m := filterToken.FindStringSubmatch(s); m != nil {
			out = append(out, token{key: m[1], value: m[2], isFilter: true})
			s = s[len(m[0]):]
		} else if m := fieldToken.FindStringSubmatch(s); m != nil {
			out = append(out, token{field: m[1]})
			s = s[len(m[0]):]
		} else {
			panic("fake aws: query syntax not supported: " + s)
		}
	}
	return out
}

func walk(v any, toks []token) any {
	if len(toks) == 0 || v == nil {
		return v
	}
	t := toks[0]
	switch {
	case t.isIndex:
		l, ok := v.([]any)
		if !ok || t.index >= len(l) {
			return nil
		}
		return walk(l[t.index], toks[1:])
	case t.isFilter:
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		out := []any{}
		for _, e := range l {
			if m, ok := e.(obj); ok && fmt.Sprint(m[t.key]) == t.value {
				if r := walk(e, toks[1:]); r != nil {
					out = append(out, r)
				}
			}
		}
		return out
	default:
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		return walk(m[t.field], toks[1:])
	}
}

// textOutput prints a query result the way `--output text` does: scalars
// as they are, null as None, lists tab-separated.
func textOutput(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = textOutput(e)
		}
		return strings.Join(parts, "\t")
	case []string:
		return strings.Join(x, "\t")
	default:
		return fmt.Sprint(x)
	}
}
