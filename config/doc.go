// Package config is the stack configuration: one typed struct for the whole
// stack, loaded once from the Pulumi config (Load) or from raw values
// (Parse), filled with the defaults Pulumi.yaml also declares, and
// validated before any resource is registered. Every error names its key
// (llm-platform:<key>) and the bad value, and all errors are reported at
// once.
package config
