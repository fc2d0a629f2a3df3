// Package render runs the Pulumi program offline, under Pulumi mocks that
// record every registration and answer with deterministic outputs, and
// writes what it declares: resources.json (every resource, sorted by URN,
// secrets masked) and one YAML file per Kubernetes object or Helm chart.
// `make render`, the golden tests and the component tests all use it.
package render
