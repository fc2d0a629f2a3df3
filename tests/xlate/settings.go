package xlate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"time"
)

// GatewaySource is the file that declares the gateway's settings. The check
// reads the constants from the source rather than importing the package:
// importing it links the Pulumi SDK into the test binary, half a minute of
// every run.
var GatewaySource = filepath.Join("..", "..", "gateway", "objects.go")

// Settings are the gateway package's constants the assertions compare with.
type Settings struct {
	ModelHeader string
	// IdentityHeaders are the headers only authentication may set (the
	// client's name and JWT group): a client's own must be gone first.
	IdentityHeaders       []string
	RequestTimeout        time.Duration
	StreamIdleTimeout     time.Duration
	ConnectionIdleTimeout time.Duration
	NLBIdleTimeout        time.Duration
}

// LoadSettings reads Settings from GatewaySource.
func LoadSettings() (Settings, error) {
	consts, err := constants(GatewaySource)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	get := func(name string) (string, error) {
		v, ok := consts[name]
		if !ok {
			return "", fmt.Errorf("%s: no constant %s with a literal value", GatewaySource, name)
		}
		return v, nil
	}
	dur := func(name string, d *time.Duration) error {
		v, err := get(name)
		if err != nil {
			return err
		}
		*d, err = time.ParseDuration(v)
		return err
	}
	if s.ModelHeader, err = get("ModelHeader"); err != nil {
		return s, err
	}
	for _, name := range []string{"ClientIDHeader", "GroupHeader"} {
		h, err := get(name)
		if err != nil {
			return s, err
		}
		s.IdentityHeaders = append(s.IdentityHeaders, h)
	}
	for name, d := range map[string]*time.Duration{
		"RequestTimeout": &s.RequestTimeout, "StreamIdleTimeout": &s.StreamIdleTimeout,
		"ConnectionIdleTimeout": &s.ConnectionIdleTimeout,
	} {
		if err := dur(name, d); err != nil {
			return s, err
		}
	}
	v, err := get("NLBIdleTimeoutSeconds")
	if err != nil {
		return s, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return s, fmt.Errorf("NLBIdleTimeoutSeconds: %w", err)
	}
	s.NLBIdleTimeout = time.Duration(n) * time.Second
	return s, nil
}

// constants returns the string and integer literal constants of a file.
func constants(file string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				switch lit.Kind {
				case token.STRING:
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out[name.Name] = s
					}
				case token.INT:
					out[name.Name] = lit.Value
				}
			}
		}
	}
	return out, nil
}
