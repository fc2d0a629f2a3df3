// The gateway translation check: runs the AI Gateway's and Envoy Gateway's
// own translators (built by `make gateway-translators` from the modules
// under aigw/ and egctl/) on every golden render's gateway objects. A module
// of its own, like tests/crd, so that nothing here enters the program's
// dependency graph; it reads the gateway package's constants from source
// (settings.go) instead of linking the program.
module github.com/llm-platform/llm-platform/tests/xlate

go 1.26.0

require (
	k8s.io/apimachinery v0.36.2
	sigs.k8s.io/yaml v1.6.0
)

require (
	go.yaml.in/yaml/v2 v2.4.3 // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
)
