// Command render runs the platform program offline, under Pulumi mocks, with
// a stack's config file, and writes what it declares to rendered/<stack>/:
// resources.json (every resource, sorted by URN, secrets masked) and
// kubernetes/ (one YAML file per Kubernetes object or Helm release), and
// prints the cost estimate and each model's cold-start budget. No AWS
// account, cluster or Pulumi CLI is needed.
//
//	go run ./cmd/render -stack dev
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/cost"
	"github.com/llm-platform/llm-platform/platform"
	"github.com/llm-platform/llm-platform/render"
)

func main() {
	stack := flag.String("stack", "dev", "stack name (reads Pulumi.<stack>.yaml) or path to a stack YAML file")
	dir := flag.String("dir", ".", "project directory (holds Pulumi.yaml)")
	out := flag.String("out", "", "output directory (default rendered/<stack>)")
	flag.Parse()

	sc, err := render.LoadStack(*dir, *stack)
	if err != nil {
		fail(err)
	}
	target := *out
	if target == "" {
		target = filepath.Join(*dir, "rendered", sc.Stack)
	}
	// The config is checked, and the program run, before anything is
	// written: a render that fails leaves no output behind.
	cfg, err := render.ParseConfig(sc)
	if err != nil {
		fail(err)
	}
	res, err := render.Run(platform.Program, sc, sc.Region())
	if err != nil {
		fail(err)
	}
	if err := res.Write(target); err != nil {
		fail(err)
	}
	fmt.Printf("rendered %d resources of stack %s to %s\n", len(res.Resources), sc.Stack, target)
	fmt.Print(cost.Table(cost.Monthly(cfg)))
	for _, m := range cfg.Models {
		fmt.Printf("\nCold start of %s (minReplicas %d), with this stack's levers:\n\n%s", m.Name, m.MinReplicas, coldstart.Table(cfg.ColdStart(m), cfg.Gateway.QueueTimeoutSeconds))
		if m.Fallback != nil {
			fmt.Printf("\n%s has a fallback: its requests are not held while it wakes, %s answers them as %s.\n",
				m.Name, m.Fallback.Provider, m.Fallback.UpstreamModel)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "render:", err)
	os.Exit(1)
}
