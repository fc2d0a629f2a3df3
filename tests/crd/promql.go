package crd

import (
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/promql/parser"
)

// MetricNames parses a PromQL expression with Prometheus' own parser and
// returns the metric names its selectors use.
func MetricNames(expr string) ([]string, error) {
	node, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var inspectErr error
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				inspectErr = fmt.Errorf("selector %s has no metric name", vs)
				return inspectErr
			}
			seen[vs.Name] = true
		}
		return nil
	})
	if inspectErr != nil {
		return nil, inspectErr
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// CheckQuery parses expr and fails on any metric not in known.
func CheckQuery(expr string, known map[string]bool) error {
	names, err := MetricNames(expr)
	if err != nil {
		return fmt.Errorf("%q does not parse: %w", expr, err)
	}
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("%q uses metric %s, which no platform component exposes (observability/metrics)", expr, n)
		}
	}
	return nil
}
