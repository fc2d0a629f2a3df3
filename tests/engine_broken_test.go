package tests

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/llm-platform/llm-platform/platform"
)

// Each scenario check fails for a program with the bug it exists to catch.
// The broken programs wrap platform.Program: an extra resource, or a stack
// transform that changes what the program declares.
func TestEngineScenariosCatchBrokenPrograms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		program pulumi.RunFunc
		// scenario brings a fresh dev stack to the scenario (failing the
		// test if that setup fails) and returns the scenario's verdict.
		scenario func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error
		// want is part of the verdict: the check failed for this bug, not
		// for something else.
		want string
	}{{
		name: "resource declared inside an apply",
		program: withExtra(func(ctx *pulumi.Context) error {
			probe, err := random.NewRandomPet(ctx, "probe", nil)
			if err != nil {
				return err
			}
			// Runs only once the id is known: never at preview.
			probe.ID().ApplyT(func(pulumi.ID) error {
				_, err := random.NewRandomPet(ctx, "declared-in-apply", nil)
				return err
			})
			return nil
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			planned, err := e.checkFreshPreview(ctx, st)
			setup(t, err)
			return e.checkUpConverges(ctx, st, planned)
		},
		want: "declared-in-apply, which the preview did not plan",
	}, {
		name: "input from time.Now",
		program: withExtra(func(ctx *pulumi.Context) error {
			_, err := random.NewRandomPet(ctx, "deployed-at", &random.RandomPetArgs{
				Keepers: pulumi.StringMap{"at": pulumi.String(time.Now().Format(time.RFC3339Nano))},
			})
			return err
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			planned, err := e.checkFreshPreview(ctx, st)
			setup(t, err)
			return e.checkUpConverges(ctx, st, planned)
		},
		want: "second preview: update urn:pulumi:dev::llm-platform::random:index/randomPet:RandomPet::deployed-at (diffs [keepers])",
	}, {
		name: "gpu limit stamped on the VPC",
		program: func(ctx *pulumi.Context) error {
			var gpu struct {
				GPULimit int `json:"gpuLimit"`
			}
			if err := pconfig.New(ctx, "").TryObject("gpu", &gpu); err != nil {
				return err
			}
			err := ctx.RegisterResourceTransform(func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
				if args.Type != "aws:ec2/vpc:Vpc" {
					return nil
				}
				tags := pulumi.Map{}
				if old, ok := args.Props["tags"].(pulumi.Map); ok {
					maps.Copy(tags, old)
				}
				tags["gpu-limit"] = pulumi.String(strconv.Itoa(gpu.GPULimit))
				args.Props["tags"] = tags
				return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
			})
			if err != nil {
				return err
			}
			return platform.Program(ctx)
		},
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkConfigChangeTouchesOnly(ctx, st, setGPULimit(3), []resourceKey{nodePool})
		},
		want: "preview: update urn:pulumi:dev::llm-platform::llm-platform:network:Network$aws:ec2/vpc:Vpc::llm-platform-dev-vpc (diffs [tags])",
	}, {
		name: "secret config exported in clear text",
		program: withExtra(func(ctx *pulumi.Context) error {
			// config.Get hands out a secret's plaintext; the export is not
			// marked secret.
			ctx.Export("huggingFaceTokenForDebugging", pulumi.String(pconfig.Get(ctx, "llm-platform:huggingFaceToken")))
			return nil
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkNoPlaintextSecrets(ctx, st)
		},
		want: `holds the secret "` + hfTokenCanary + `" in clear text`,
	}, {
		name: "bucket not protected",
		program: withOptions(map[string]func(*pulumi.ResourceOptions){
			modelBucket.Type: func(opts *pulumi.ResourceOptions) { opts.Protect = false },
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkDestroyKeepsProtected(ctx, st)
		},
		want: "destroy --exclude-protected removed the model bucket from the stack",
	}, {
		name: "GPU pool without its dependency on Karpenter",
		// The engine ignores dependsOn edits from stack transforms (it keeps
		// the dependencies the SDK sent), so the edge is dropped in the SDK,
		// before it computes them: the options are rebuilt from the parent
		// and provider alone.
		program: func(ctx *pulumi.Context) error {
			err := ctx.RegisterStackTransformation(func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
				if args.Type != nodePool.Type && args.Type != nodeClass.Type {
					return nil
				}
				o, err := pulumi.NewResourceOptions(args.Opts...)
				if err != nil {
					return nil
				}
				return &pulumi.ResourceTransformationResult{
					Props: args.Props,
					Opts:  []pulumi.ResourceOption{pulumi.Parent(o.Parent), pulumi.Provider(o.Provider)},
				}
			})
			if err != nil {
				return err
			}
			return platform.Program(ctx)
		},
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkFullTeardown(ctx, st)
		},
		want: "teardown: " + karpenter.String() + " was deleted before (or while) " + nodePool.String(),
	}, {
		name: "storage.importExisting ignored",
		program: withOptions(map[string]func(*pulumi.ResourceOptions){
			modelBucket.Type: func(opts *pulumi.ResourceOptions) { opts.Import = nil },
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			// The bucket an earlier stack left behind (the lifecycle test
			// shows how one comes to be); the cloud needs nothing else.
			name := resource.NewProperty(devBucketName)
			e.cloud.put(modelBucket.Type, devBucketName, fakeObject{
				inputs:  resource.PropertyMap{"bucket": name},
				outputs: resource.PropertyMap{"bucket": name, "arn": resource.NewProperty("arn:aws:s3:::" + devBucketName)},
			})
			err := e.checkAdoptRetainedBucket(ctx, devStack)
			return err
		},
		want: "preview: create the bucket, want import",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, c.program)
			ctx := engineContext(t)
			st, err := e.stack(ctx, devStack, nil)
			setup(t, err)
			err = c.scenario(t, ctx, e, st)
			if err == nil {
				t.Fatal("the scenario passed for a broken program")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the scenario failed, but not with %q:\n%v", c.want, err)
			}
			t.Logf("caught:\n%v", err)
		})
	}
}

// setup fails the test when a step before the scenario under test fails:
// the broken program must get as far as the scenario.
func setup(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
}

func setupUp(t *testing.T, ctx context.Context, e *engine, st auto.Stack) {
	t.Helper()
	_, _, err := e.up(ctx, st)
	setup(t, err)
}

// withExtra runs the program, then extra.
func withExtra(extra pulumi.RunFunc) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if err := platform.Program(ctx); err != nil {
			return err
		}
		return extra(ctx)
	}
}

// withOptions runs the program with the options of every resource of the
// given types changed by that type's edit (through a stack transform).
func withOptions(edits map[string]func(*pulumi.ResourceOptions)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		err := ctx.RegisterResourceTransform(func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			edit, ok := edits[args.Type]
			if !ok {
				return nil
			}
			edit(&args.Opts)
			return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
		})
		if err != nil {
			return err
		}
		return platform.Program(ctx)
	}
}
