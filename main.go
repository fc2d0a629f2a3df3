// Command llm-platform is the Pulumi program for a self-hosted,
// OpenAI-compatible LLM inference platform on AWS. It only hands the
// platform program to the Pulumi runtime: config loading and wiring live in
// package platform so tests and the offline render run the same code.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/platform"
)

func main() {
	pulumi.Run(platform.Program)
}
