package tests

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-eks/sdk/v4/go/eks"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/platform"
	"github.com/llm-platform/llm-platform/render"
)

// Each scenario check fails for a program with the bug it exists to catch.
// The broken programs wrap platform.Program: an extra resource, or a stack
// transform that changes what the program declares.
func TestEngineScenariosCatchBrokenPrograms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		program pulumi.RunFunc
		// edit is the stack's config change from the dev stack, if any.
		edit func(map[string]any)
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
		program: withVPCTag("gpu-limit", func(ctx *pulumi.Context) (string, error) {
			var gpu struct {
				GPULimit int `json:"gpuLimit"`
			}
			err := pconfig.New(ctx, "").TryObject("gpu", &gpu)
			return strconv.Itoa(gpu.GPULimit), err
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkConfigChangeTouchesOnly(ctx, st, setGPULimit(3), []resourceKey{nodePool})
		},
		want: "preview: update urn:pulumi:dev::llm-platform::llm-platform:network:Network$aws:ec2/vpc:Vpc::llm-platform-dev-vpc (diffs [tags])",
	}, {
		// Issue 17: adding a provider must not reach past the gateway.
		name: "hosted providers counted on the VPC",
		program: withVPCTag("hosted-providers", func(ctx *pulumi.Context) (string, error) {
			var providers []any
			if err := pconfig.New(ctx, "").TryObject("providers", &providers); err != nil && !strings.Contains(err.Error(), "missing") {
				return "", err
			}
			return strconv.Itoa(len(providers)), nil
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkAddingProviders(ctx, st)
		},
		want: "preview: update urn:pulumi:dev::llm-platform::llm-platform:network:Network$aws:ec2/vpc:Vpc::llm-platform-dev-vpc (diffs [tags]) outside the gateway",
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
		name:    "GPU pool without its dependency on Karpenter",
		program: withoutDependencies(nodePool, nodeClass),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkFullTeardown(ctx, st)
		},
		want: "teardown: " + karpenter.String() + " was deleted before (or while) " + nodePool.String(),
	}, {
		// Issue 20: the platform pool, like the GPU pool, must go while
		// Karpenter can still terminate its nodes.
		name:    "platform pool without its dependency on Karpenter",
		program: withoutDependencies(platformNodePool, platformNodeClass),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkFullTeardown(ctx, st)
		},
		want: "teardown: " + karpenter.String() + " was deleted before (or while) " + platformNodePool.String(),
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
	}, {
		// Issue 13, defect 1.
		name:    "pulumi-eks creates its own vpc-cni addon too",
		program: withClusterArgs(func(a *eks.ClusterArgs) { a.UseDefaultVpcCni = nil }),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			_, _, err := e.up(ctx, st)
			return err
		},
		want: "ResourceInUseException: Addon already exists",
	}, {
		// Issue 13, defect 2.
		name:    "publicAccessCidrs [] on a private endpoint",
		program: withClusterArgs(func(a *eks.ClusterArgs) { a.PublicAccessCidrs = pulumi.StringArray{} }),
		edit:    setCluster(map[string]any{"endpointPublicAccess": false, "publicAccessCidrs": []any{}}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkPrivateEndpoint(ctx, st)
		},
		want: "`publicAccessCidrs` can only be set when `endpointPublicAccess` is true",
	}, {
		// Issue 20: Graviton system nodes with the x86 AMI type the node
		// group had before, which EKS refuses.
		name: "system nodes on Graviton with the x86 AMI type",
		program: withProps(map[string]func(pulumi.Map){
			"aws:eks/nodeGroup:NodeGroup": func(p pulumi.Map) { p["amiType"] = pulumi.String("BOTTLEROCKET_x86_64") },
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			planned, err := e.checkFreshPreview(ctx, st)
			if err != nil {
				return err
			}
			return e.checkUpConverges(ctx, st, planned)
		},
		want: "[t4g.medium] is not a valid instance type for requested amiType BOTTLEROCKET_x86_64",
	}, {
		// Issue 13, defect 3.
		name:    "access entry for the deploying principal",
		program: withoutDeployerCheck,
		edit:    setCluster(map[string]any{"adminRoleArns": []any{render.FakeCallerRoleARN}}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkCallerNotAdmin(ctx, st)
		},
		want: "ResourceInUseException: The specified access entry resource is already in use on this cluster",
	}, {
		// Issue 13, defect 5.
		name: "bucket declared only with the LLM layer",
		program: func(ctx *pulumi.Context) error {
			cfg, err := config.Load(ctx)
			if err != nil {
				return err
			}
			cfg.Storage.KeepBucket = false
			return platform.Deploy(ctx, cfg)
		},
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkLayerOffOn(ctx, st)
		},
		want: "because it is protected",
	}, {
		// Issue 13, defect 7: the namespace of the NLB's Service left to
		// Helm's createNamespace, as before the fix.
		name: "gateway load balancer's namespace not deleted",
		program: withProps(map[string]func(pulumi.Map){
			"kubernetes:core/v1:Namespace": func(p pulumi.Map) {
				if md, ok := p["metadata"].(pulumi.Map); ok && md["name"] == pulumi.String("envoy-gateway-system") {
					md["name"] = pulumi.String("envoy-gateway-unused")
				}
			},
			"kubernetes:helm.sh/v3:Release": func(p pulumi.Map) {
				if p["name"] == pulumi.String("eg") {
					p["namespace"] = pulumi.String("envoy-gateway-system")
					p["createNamespace"] = pulumi.Bool(true)
				}
			},
		}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			setupUp(t, ctx, e, st)
			return e.checkFullTeardown(ctx, st)
		},
		want: "DependencyViolation",
	}, {
		// Issue 13, defect 8.
		name: "log group not the one EKS writes to",
		program: withProps(map[string]func(pulumi.Map){
			"aws:cloudwatch/logGroup:LogGroup": func(p pulumi.Map) { p["name"] = pulumi.String("/aws/eks/llm-platform-dev/logs") },
		}),
		edit: setCluster(map[string]any{"logTypes": []any{"api"}}),
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkControlPlaneLogs(ctx, st)
		},
		want: "log group /aws/eks/llm-platform-dev/cluster outlives the stack",
	}, {
		// Issue 13, defect 10: the loader before the fix read only the keys
		// it knew.
		name:    "unknown config keys ignored",
		program: knownKeysOnly,
		edit:    func(config map[string]any) { config["llm-platform:modles"] = []any{} },
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkUnknownKeyRefused(ctx, st, "llm-platform:modles")
		},
		want: "want it refused as an unknown config key",
	}, {
		// Issue 13, defect 4: the account-wide role must outlive the stack.
		name: "spot service-linked role deleted with the stack",
		program: withOptions(map[string]func(*pulumi.ResourceOptions){
			spotRole.Type: func(opts *pulumi.ResourceOptions) { opts.RetainOnDelete = false },
		}),
		edit: func(config map[string]any) {
			config["llm-platform:gpu"].(map[string]any)["createSpotServiceLinkedRole"] = true
		},
		scenario: func(t *testing.T, ctx context.Context, e *engine, st auto.Stack) error {
			return e.checkSpotRoleCreatedAndKept(ctx, st)
		},
		want: "destroy deleted the account's spot service-linked role",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, c.program)
			ctx := engineContext(t)
			st, err := e.stack(ctx, devStack, c.edit)
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

// withVPCTag runs the program with a tag on the VPC whose value the
// function reads from the stack's config: a resource far from the gateway
// that a config change must leave alone.
func withVPCTag(key string, value func(ctx *pulumi.Context) (string, error)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		v, err := value(ctx)
		if err != nil {
			return err
		}
		err = ctx.RegisterResourceTransform(func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			if args.Type != "aws:ec2/vpc:Vpc" {
				return nil
			}
			tags := pulumi.Map{}
			if old, ok := args.Props["tags"].(pulumi.Map); ok {
				maps.Copy(tags, old)
			}
			tags[key] = pulumi.String(v)
			args.Props["tags"] = tags
			return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
		})
		if err != nil {
			return err
		}
		return platform.Program(ctx)
	}
}

// withoutDependencies runs the program with the given resources declared
// without their dependencies. The engine ignores dependsOn edits from
// stack transforms (it keeps the dependencies the SDK sent), so the edge
// is dropped in the SDK, before it computes them: the options are rebuilt
// from the parent and provider alone.
func withoutDependencies(keys ...resourceKey) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		err := ctx.RegisterStackTransformation(func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
			if !slices.Contains(keys, resourceKey{args.Type, args.Name}) {
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

// withProps runs the program with the inputs of every resource of the
// given types changed by that type's edit (through a stack transform).
func withProps(edits map[string]func(pulumi.Map)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		err := ctx.RegisterResourceTransform(func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			edit, ok := edits[args.Type]
			if !ok {
				return nil
			}
			edit(args.Props)
			return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
		})
		if err != nil {
			return err
		}
		return platform.Program(ctx)
	}
}

// withoutDeployerCheck is the program without the check of the deploying
// principal against adminRoleArns.
func withoutDeployerCheck(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	return platform.Deploy(ctx, cfg)
}

// knownKeysOnly is the config loader before unknown keys were refused: it
// read each key it knew and nothing else.
func knownKeysOnly(ctx *pulumi.Context) error {
	project := pconfig.New(ctx, "")
	in := config.Input{Project: ctx.Project(), Stack: ctx.Stack(), Region: pconfig.New(ctx, "aws").Get("region"), Values: map[string]string{}}
	for _, k := range config.Keys {
		if v, err := project.Try(k); err == nil {
			in.Values[k] = v
		}
	}
	cfg, err := config.Parse(in)
	if err != nil {
		return err
	}
	return platform.Deploy(ctx, cfg)
}
