package xlate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// BinDir holds aigw and egctl, built by `make gateway-translators`.
var BinDir = "bin"

// ErrNoBinary means a translator has not been built.
var ErrNoBinary = errors.New("translator binary not built (make gateway-translators)")

// Binaries returns the paths of aigw and egctl, or ErrNoBinary.
func Binaries() (aigw, egctl string, err error) {
	aigw, _ = filepath.Abs(filepath.Join(BinDir, "aigw"))
	egctl, _ = filepath.Abs(filepath.Join(BinDir, "egctl"))
	for _, p := range []string{aigw, egctl} {
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("%w: %s", ErrNoBinary, p)
		}
	}
	return aigw, egctl, nil
}

// egctlKinds are the kinds egctl's loader at v1.8.3 accepts
// (internal/gatewayapi/resource/load.go); any other kind it cannot decode
// fails the whole load, and kinds of the core groups it does not list are
// dropped by it silently.
var egctlKinds = []string{
	"Backend", "BackendTLSPolicy", "BackendTrafficPolicy", "ClientTrafficPolicy",
	"ConfigMap", "EnvoyExtensionPolicy", "EnvoyPatchPolicy", "EnvoyProxy",
	"GRPCRoute", "Gateway", "GatewayClass", "HTTPRoute", "HTTPRouteFilter",
	"Namespace", "ReferenceGrant", "Secret", "SecurityPolicy", "Service",
	"TCPRoute", "TLSRoute", "UDPRoute",
}

// Result is one pass of a stack's gateway objects through both translators.
type Result struct {
	// AIGateway is what the AI Gateway translation emitted: the Envoy
	// Gateway objects it generated plus the inputs that are not its own.
	AIGateway []Object
	// Dropped lists the AI Gateway output objects egctl cannot load.
	Dropped []string
	// StandIns lists what was replaced in egctl's input because egctl
	// cannot take it (InferencePools, namespace selectors; pool.go).
	StandIns []string
	// Status is egctl's gateway-api output: the input objects with the
	// status the translator gave them, by JSON field (gateways,
	// httpRoutes, securityPolicies, ...).
	Status map[string]any
	// XDS is egctl's xds output: one Envoy config dump per Gateway
	// ("namespace/name").
	XDS map[string]any
	// Log is the AI Gateway controllers' log (stderr).
	Log string
}

// Translate runs objs through the AI Gateway translation, then Envoy
// Gateway's. An error is a translator refusing its input (its message
// quoted), not a failed assertion.
func Translate(aigw, egctl, dir string, objs []Object) (*Result, error) {
	var gw []Object
	for _, o := range objs {
		if !slices.Contains(contextKinds, o.Kind()) {
			gw = append(gw, o)
		}
	}
	in, err := Marshal(gw)
	if err != nil {
		return nil, err
	}
	inFile := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(inFile, in, 0o600); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(aigw, "translate", inFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the AI Gateway translation (aigw translate) refused the input (%w): %s", err, tail(stderr.String(), 40))
	}
	res := &Result{Log: stderr.String()}
	if res.AIGateway, err = decodeAll(stdout.Bytes()); err != nil {
		return nil, fmt.Errorf("AI Gateway translation output: %w", err)
	}

	var keep []Object
	var egIn []Object
	for _, o := range res.AIGateway {
		egIn = append(egIn, deepCopy(o))
	}
	egIn, res.StandIns = standIns(egIn)
	for _, o := range egIn {
		if slices.Contains(egctlKinds, o.Kind()) {
			keep = append(keep, asStored(o))
		} else {
			res.Dropped = append(res.Dropped, o.ID())
		}
	}
	eg, err := Marshal(keep)
	if err != nil {
		return nil, err
	}
	egFile := filepath.Join(dir, "envoy-gateway.yaml")
	if err := os.WriteFile(egFile, eg, 0o600); err != nil {
		return nil, err
	}
	stdout.Reset()
	stderr.Reset()
	cmd = exec.Command(egctl, "x", "translate", "--from", "gateway-api", "--to", "gateway-api,xds",
		"--type", "all", "--output", "json", "--file", egFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the Envoy Gateway translation (egctl x translate) refused the input (%w): %s", err, tail(stderr.String(), 40))
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("egctl output: %w", err)
	}
	res.XDS, _ = out["xds"].(map[string]any)
	delete(out, "xds")
	res.Status = out
	return res, nil
}

// asStored removes what only the AI Gateway translation's fake client
// leaves on generated objects, and an API server would not store: owner
// references without a uid (the server assigns uids) and a status written
// with the object (the server ignores status on create). egctl's local
// validation rejects both ("metadata.ownerReferences.uid: must not be
// empty", "status.parents: Required value").
func asStored(o Object) Object {
	delete(o, "status")
	if m, ok := o["metadata"].(map[string]any); ok {
		delete(m, "ownerReferences")
	}
	return o
}

func decodeAll(b []byte) ([]Object, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []Object
	for {
		var o Object
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
