// Package tests holds the whole-program tests: the stack configs run through
// the exact program main.go runs (platform.Program) under mocks, the
// bad-config table, the golden renders under testdata/golden, and the
// engine tests: the program under the real Pulumi engine with fake
// providers (engine_*_test.go, fakeprovider_test.go).
// Regenerate the goldens with `go test ./tests -run Golden -update` and
// review the diff like code.
package tests
