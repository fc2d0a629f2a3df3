// Package tests holds the whole-program tests: the stack configs run through
// the exact program main.go runs (platform.Program) under mocks, the
// bad-config table, and the golden renders under testdata/golden.
// Regenerate the goldens with `go test ./tests -run Golden -update` and
// review the diff like code.
package tests
