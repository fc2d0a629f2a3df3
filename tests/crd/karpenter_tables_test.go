package crd

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/llm-platform/llm-platform/cost"
)

// Package cost prices instances and packs pods on them from two tables it
// copies out of Karpenter: the on-demand prices Karpenter ships for when
// the pricing API is unreachable, and the VPC CNI limits it computes max
// pods from. The files are read as source text from the module go.mod
// pins (github.com/aws/karpenter-provider-aws v1.14.1), not imported: the
// packages drag in the whole AWS SDK and controller-runtime.
const (
	karpenterModule = "github.com/aws/karpenter-provider-aws"
	// karpenterPricingFile is generated from the AWS Price List API
	// (hack/code/prices_gen); InitialOnDemandPricesAWS["us-east-1"].
	karpenterPricingFile = "pkg/providers/pricing/zz_generated.pricing_aws.go"
	// karpenterVPCLimitsFile is Limits, per instance type.
	karpenterVPCLimitsFile = "pkg/providers/instancetype/zz_generated.vpclimits.go"
)

// karpenterVar parses one file of the pinned Karpenter module and returns
// the composite literal a package-level var is initialised with.
func karpenterVar(t *testing.T, file, name string) (string, *ast.CompositeLit) {
	t.Helper()
	m, err := ResolveModule(karpenterModule)
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("%s@%s/%s", m.Path, m.Version, file)
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(m.Dir, filepath.FromSlash(file)), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.CompositeLit)
				if !ok {
					t.Fatalf("%s: %s is not a composite literal", src, name)
				}
				return src, lit
			}
		}
	}
	t.Fatalf("%s: no var %s", src, name)
	return "", nil
}

// stringKey is a map entry's string-literal key.
func stringKey(t *testing.T, src string, e ast.Expr) (string, *ast.KeyValueExpr) {
	t.Helper()
	kv, ok := e.(*ast.KeyValueExpr)
	if !ok {
		t.Fatalf("%s: map element %T is not key: value", src, e)
	}
	k, ok := kv.Key.(*ast.BasicLit)
	if !ok || k.Kind != token.STRING {
		t.Fatalf("%s: map key %T is not a string literal", src, kv.Key)
	}
	s, err := strconv.Unquote(k.Value)
	if err != nil {
		t.Fatalf("%s: key %s: %v", src, k.Value, err)
	}
	return s, kv
}

// karpenterPrices is Karpenter's generated on-demand price table of one
// region.
func karpenterPrices(t *testing.T, region string) (string, map[string]float64) {
	t.Helper()
	src, lit := karpenterVar(t, karpenterPricingFile, "InitialOnDemandPricesAWS")
	for _, e := range lit.Elts {
		r, kv := stringKey(t, src, e)
		if r != region {
			continue
		}
		inner, ok := kv.Value.(*ast.CompositeLit)
		if !ok {
			t.Fatalf("%s: %s is %T, not a map literal", src, region, kv.Value)
		}
		prices := map[string]float64{}
		for _, pe := range inner.Elts {
			typ, pkv := stringKey(t, src, pe)
			v, ok := pkv.Value.(*ast.BasicLit)
			if !ok || (v.Kind != token.FLOAT && v.Kind != token.INT) {
				t.Fatalf("%s: %s %s: price %T is not a number literal", src, region, typ, pkv.Value)
			}
			p, err := strconv.ParseFloat(v.Value, 64)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", src, region, typ, err)
			}
			prices[typ] = p
		}
		if len(prices) == 0 {
			t.Fatalf("%s: no prices for %s", src, region)
		}
		return src, prices
	}
	t.Fatalf("%s: no region %s", src, region)
	return "", nil
}

// vpcLimit is what max pods is computed from.
type vpcLimit struct {
	Interface, IPv4PerInterface int
}

// karpenterVPCLimits is Karpenter's generated VPC limits table.
func karpenterVPCLimits(t *testing.T) (string, map[string]vpcLimit) {
	t.Helper()
	src, lit := karpenterVar(t, karpenterVPCLimitsFile, "Limits")
	limits := map[string]vpcLimit{}
	for _, e := range lit.Elts {
		typ, kv := stringKey(t, src, e)
		if u, ok := kv.Value.(*ast.UnaryExpr); ok && u.Op == token.AND {
			kv.Value = u.X
		}
		fields, ok := kv.Value.(*ast.CompositeLit)
		if !ok {
			t.Fatalf("%s: %s is %T, not a struct literal", src, typ, kv.Value)
		}
		l := vpcLimit{-1, -1}
		for _, fe := range fields.Elts {
			fkv, ok := fe.(*ast.KeyValueExpr)
			if !ok {
				t.Fatalf("%s: %s: unkeyed field", src, typ)
			}
			name, ok := fkv.Key.(*ast.Ident)
			if !ok || (name.Name != "Interface" && name.Name != "IPv4PerInterface") {
				continue
			}
			v, ok := fkv.Value.(*ast.BasicLit)
			if !ok || v.Kind != token.INT {
				t.Fatalf("%s: %s.%s is %T, not an integer literal", src, typ, name.Name, fkv.Value)
			}
			n, err := strconv.Atoi(v.Value)
			if err != nil {
				t.Fatalf("%s: %s.%s: %v", src, typ, name.Name, err)
			}
			if name.Name == "Interface" {
				l.Interface = n
			} else {
				l.IPv4PerInterface = n
			}
		}
		if l.Interface < 0 || l.IPv4PerInterface < 0 {
			t.Fatalf("%s: %s lacks Interface or IPv4PerInterface", src, typ)
		}
		limits[typ] = l
	}
	if len(limits) == 0 {
		t.Fatalf("%s: no limits", src)
	}
	return src, limits
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestInstancePricesMatchKarpenter holds every on-demand price package
// cost knows to Karpenter's generated table for its region.
func TestInstancePricesMatchKarpenter(t *testing.T) {
	t.Parallel()
	src, prices := karpenterPrices(t, cost.PricesRegion)
	for _, typ := range sortedKeys(cost.InstanceHourly) {
		want, ok := prices[typ]
		if !ok {
			t.Errorf("cost.InstanceHourly[%q]: not in %s %s", typ, src, cost.PricesRegion)
			continue
		}
		if got := cost.InstanceHourly[typ]; math.Abs(got-want) > 1e-6 {
			t.Errorf("cost.InstanceHourly[%q] = %g, %s has %g (%s on-demand): update cost/prices.go", typ, got, src, want, cost.PricesRegion)
		}
	}
}

// TestInstanceMaxPodsMatchKarpenter holds every instance's MaxPods to the
// VPC CNI formula without prefix delegation that Karpenter v1.14.1 states
// in pkg/providers/instancetype/types.go ENILimitedPods: interfaces x (IPv4
// addresses per interface - 1) + 2, with the table's Interface and
// IPv4PerInterface.
func TestInstanceMaxPodsMatchKarpenter(t *testing.T) {
	t.Parallel()
	src, limits := karpenterVPCLimits(t)
	for _, typ := range sortedKeys(cost.Instances) {
		l, ok := limits[typ]
		if !ok {
			t.Errorf("cost.Instances[%q]: not in %s", typ, src)
			continue
		}
		want := l.Interface*(l.IPv4PerInterface-1) + 2
		if got := cost.Instances[typ].MaxPods; got != want {
			t.Errorf("cost.Instances[%q].MaxPods = %d, want %d = %d interfaces x (%d IPv4 - 1) + 2 (%s)", typ, got, want, l.Interface, l.IPv4PerInterface, src)
		}
	}
}
