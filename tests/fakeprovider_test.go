package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llm-platform/llm-platform/render"
)

// The fake providers stand in for pulumi-aws, pulumi-eks, pulumi-kubernetes
// and pulumi-random under the real engine. A resource's outputs are its
// inputs plus the deterministic computed values render.ComputedOutputs
// gives its type (the same ones the unit-test mocks use), a diff is "some
// input changed", and the "cloud" is a map from id to state. Where AWS or
// a component refuses what a program asks, the fakes refuse it the same
// way (fakecloud_test.go): pulumi-eks' Construct builds the children and
// makes the input checks of pulumi-eks v4.0.1 (render.EKSCluster), a create
// of a key AWS keeps unique fails with AWS's error (render.UniqueKeys), EKS
// gives the cluster's creator an access entry, and a load balancer a
// Service owns blocks its subnets' deletion until its namespace is gone.

// providerCall is one gRPC call the engine made to a fake provider.
type providerCall struct {
	// Seq is the call's place in the order calls started, and Done its
	// place when it returned, on one counter shared by every provider:
	// "A finished before B started" is A.Done < B.Seq.
	Seq, Done int
	Pkg       string // aws, eks, kubernetes, random
	Op        string // Check, Diff, Create, Read, Update, Delete, Invoke, Construct, Configure, ...
	Type      string // resource type, or the function token for Invoke
	Name      string
	URN       string
	ID        string
	Preview   bool
	// Inputs are the new inputs (Check, Diff, Create, Update, Construct,
	// Configure, Invoke) or the old state (Delete), as the engine sent them:
	// unknowns and secrets kept.
	Inputs resource.PropertyMap
	// Changed are the top-level keys a Diff reported as changed.
	Changed []string
	// Err is the error a Create or Delete returned (what AWS refused).
	Err string
}

// fakeObject is what the fake cloud holds for one resource.
type fakeObject struct {
	inputs, outputs resource.PropertyMap
}

// fakeCloud is the state shared by the four fake providers of one test:
// the call log and the objects that exist.
type fakeCloud struct {
	region string
	// caller is the principal running Pulumi (getCallerIdentity's ARN).
	caller string
	// aws holds the AWS-side rules' state (fakecloud_test.go).
	aws awsState
	// kubeconfig is what Construct returns for an EKS cluster: a
	// distinctive string the secret checks look for in the state.
	kubeconfig string
	// deleteDelay keeps each Delete in flight a little, so that two
	// deletes the engine runs concurrently (no dependency between them)
	// overlap in the log instead of finishing in a lucky order.
	deleteDelay time.Duration

	mu      sync.Mutex
	seq     int
	calls   []*providerCall
	objects map[string]fakeObject // key: type + " " + id
}

func newFakeCloud(region, kubeconfig string) *fakeCloud {
	return &fakeCloud{
		region: region, caller: render.FakeCallerARN, kubeconfig: kubeconfig, deleteDelay: 20 * time.Millisecond,
		objects: map[string]fakeObject{}, aws: newAWSState(),
	}
}

func (c *fakeCloud) begin(call *providerCall) *providerCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	call.Seq = c.seq
	if call.URN != "" {
		u := resource.URN(call.URN)
		if call.Type == "" {
			call.Type = string(u.Type())
		}
		if call.Name == "" {
			call.Name = u.Name()
		}
	}
	c.calls = append(c.calls, call)
	return call
}

func (c *fakeCloud) end(call *providerCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	call.Done = c.seq
}

// mark is the current position in the log: Calls(mark) returns what
// started after it.
func (c *fakeCloud) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// Calls returns the calls that started after mark, in start order.
func (c *fakeCloud) Calls(mark int) []providerCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []providerCall
	for _, call := range c.calls {
		if call.Seq > mark {
			out = append(out, *call)
		}
	}
	return out
}

func (c *fakeCloud) put(typ, id string, obj fakeObject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objects[typ+" "+id] = obj
}

// get returns what the fake cloud holds for a resource of that type and id.
func (c *fakeCloud) get(typ, id string) (fakeObject, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj, ok := c.objects[typ+" "+id]
	return obj, ok
}

func (c *fakeCloud) remove(typ, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.objects, typ+" "+id)
}

// fakeProvider serves one package. Several provider instances the engine
// creates (default and explicit providers, and every configuration of
// them) share its port, so it keeps no per-instance state.
type fakeProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	pkg, version string
	cloud        *fakeCloud
}

// startFakeProviders serves a fake provider per package on loopback and
// returns the PULUMI_DEBUG_PROVIDERS value that points the engine at them.
func startFakeProviders(t *testing.T, cloud *fakeCloud) string {
	t.Helper()
	var attach []string
	for _, pkg := range []string{"aws", "eks", "kubernetes", "random"} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		version := sdkVersion(pkg)
		if version == "" {
			t.Fatalf("no pulumi-%s SDK in go.mod", pkg)
		}
		srv := grpc.NewServer()
		pulumirpc.RegisterResourceProviderServer(srv, &fakeProvider{pkg: pkg, version: version, cloud: cloud})
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		attach = append(attach, fmt.Sprintf("%s:%d", pkg, lis.Addr().(*net.TCPAddr).Port))
	}
	return strings.Join(attach, ",")
}

// sdkVersion is the version of the package's Go SDK the program links
// (what it registers its resources with, and what resource references
// must carry to be resolved to typed resources), from go.mod, so a version
// bump needs no edit here.
func sdkVersion(pkg string) string {
	sdkVersionsOnce.Do(func() {
		sdkVersions = map[string]string{}
		b, err := os.ReadFile(filepath.Join(projectDir, "go.mod"))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && strings.HasPrefix(f[0], "github.com/pulumi/pulumi-") && strings.HasPrefix(f[1], "v") {
				// github.com/pulumi/pulumi-aws/sdk/v7 -> aws
				name := strings.TrimPrefix(strings.SplitN(f[0], "/", 4)[2], "pulumi-")
				sdkVersions[name] = strings.TrimPrefix(f[1], "v")
			}
		}
	})
	return sdkVersions[pkg]
}

var (
	sdkVersionsOnce sync.Once
	sdkVersions     map[string]string
)

var rpcOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, rpcOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, rpcOpts)
}

// physicalID is the id a created resource gets: the render's fake id, except
// for an S3 bucket, whose id is its name in AWS too. That is what lets a new
// stack adopt a retained bucket with pulumi.Import(ID(bucketName)).
func physicalID(typ, name string, in resource.PropertyMap) string {
	if typ == "aws:s3/bucket:Bucket" {
		if v, ok := in["bucket"]; ok && v.IsString() {
			return v.StringValue()
		}
	}
	return render.FakeID(name)
}

// outputs are the inputs plus the type's computed values; at preview the
// computed values are unknown, as a real provider reports them.
func (p *fakeProvider) outputs(typ, name string, in resource.PropertyMap, preview bool) resource.PropertyMap {
	computed := render.ComputedOutputs(typ, name, p.cloud.region, in)
	if preview {
		// An input object that gets computed fields (an EKS cluster's
		// vpcConfig) is unknown as a whole at preview: reading one of its
		// computed fields through a resource reference must give unknown.
		out := in.Copy()
		for k := range computed {
			out[resource.PropertyKey(k)] = resource.MakeComputed(resource.NewProperty(""))
		}
		return out
	}
	return render.MergeComputed(in, computed, resource.NewPropertyValue)
}

// changedKeys are the top-level keys whose values differ; an unknown new
// value counts as a change (it may turn out different).
func changedKeys(olds, news resource.PropertyMap) []string {
	keys := map[string]bool{}
	for k, nv := range news {
		ov, ok := olds[k]
		if !ok || nv.ContainsUnknowns() || !ov.DeepEquals(nv) {
			keys[string(k)] = true
		}
	}
	for k := range olds {
		if _, ok := news[k]; !ok {
			keys[string(k)] = true
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func diffResponse(changed []string) *pulumirpc.DiffResponse {
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range changed {
		detailed[k] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE, InputDiff: true}
	}
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed,
		DetailedDiff: detailed, HasDetailedDiff: true,
	}
}

func (p *fakeProvider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *fakeProvider) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *fakeProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *fakeProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *fakeProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	defer p.cloud.end(p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "CheckConfig", URN: req.Urn, Inputs: news}))
	return &pulumirpc.CheckResponse{Inputs: req.News}, nil
}

func (p *fakeProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return p.diff("DiffConfig", req)
}

func (p *fakeProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := unmarshal(req.Args)
	if err != nil {
		return nil, err
	}
	defer p.cloud.end(p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Configure", URN: req.GetUrn(), Inputs: args}))
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true, SupportsPreview: true}, nil
}

func (p *fakeProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	defer p.cloud.end(p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Check", URN: req.Urn, Inputs: news}))
	return &pulumirpc.CheckResponse{Inputs: req.News}, nil
}

func (p *fakeProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return p.diff("Diff", req)
}

func (p *fakeProvider) diff(op string, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.OldInputs
	if olds == nil {
		olds = req.Olds
	}
	o, err := unmarshal(olds)
	if err != nil {
		return nil, err
	}
	n, err := unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	changed := changedKeys(o, n)
	defer p.cloud.end(p.cloud.begin(&providerCall{Pkg: p.pkg, Op: op, URN: req.Urn, ID: req.Id, Inputs: n, Changed: changed}))
	return diffResponse(changed), nil
}

func (p *fakeProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	news, err := unmarshal(req.Properties)
	if err != nil {
		return nil, err
	}
	call := p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Create", URN: req.Urn, Preview: req.Preview, Inputs: news})
	defer p.cloud.end(call)
	outs := p.outputs(call.Type, call.Name, news, req.Preview)
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	if req.Preview {
		return &pulumirpc.CreateResponse{Properties: props}, nil
	}
	id := physicalID(call.Type, call.Name, news)
	call.ID = id
	if err := p.cloud.created(p.pkg, call.Type, id, news); err != nil {
		call.Err = err.Error()
		return nil, err
	}
	p.cloud.put(call.Type, id, fakeObject{inputs: news, outputs: outs})
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read answers from the fake cloud (refresh, import, get); an id it does
// not hold is "not found", an empty response.
func (p *fakeProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	call := p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Read", URN: req.Urn, ID: req.Id})
	defer p.cloud.end(call)
	obj, ok := p.cloud.get(call.Type, req.Id)
	if !ok {
		return &pulumirpc.ReadResponse{}, nil
	}
	props, err := marshal(obj.outputs)
	if err != nil {
		return nil, err
	}
	inputs, err := marshal(obj.inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.Id, Properties: props, Inputs: inputs}, nil
}

func (p *fakeProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	news, err := unmarshal(req.News)
	if err != nil {
		return nil, err
	}
	call := p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Update", URN: req.Urn, ID: req.Id, Preview: req.Preview, Inputs: news})
	defer p.cloud.end(call)
	// Computed values derive from the type and name only, so an update
	// keeps them known even at preview, as a real provider does for
	// attributes an update cannot change (ids, ARNs).
	outs := p.outputs(call.Type, call.Name, news, false)
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	if !req.Preview {
		p.cloud.put(call.Type, req.Id, fakeObject{inputs: news, outputs: outs})
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *fakeProvider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	olds, err := unmarshal(req.Properties)
	if err != nil {
		return nil, err
	}
	call := p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Delete", URN: req.Urn, ID: req.Id, Inputs: olds})
	defer p.cloud.end(call)
	time.Sleep(p.cloud.deleteDelay)
	if err := p.cloud.deleted(p.pkg, call.Type, req.Id, olds); err != nil {
		call.Err = err.Error()
		return nil, err
	}
	p.cloud.remove(call.Type, req.Id)
	return &emptypb.Empty{}, nil
}

func (p *fakeProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args, err := unmarshal(req.Args)
	if err != nil {
		return nil, err
	}
	defer p.cloud.end(p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Invoke", Type: req.Tok, Preview: req.Preview, Inputs: args}))
	ret, err := p.cloud.invokeAnswer(req.Tok)
	if err != nil {
		return nil, err
	}
	s, err := marshal(ret)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: s}, nil
}

// Construct builds the remote eks:index:Cluster component the way a
// component provider does: it registers the component and its
// aws:eks/cluster:Cluster child with the engine's resource monitor, then
// returns the outputs the program reads.
func (p *fakeProvider) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	inputs, err := unmarshal(req.Inputs)
	if err != nil {
		return nil, err
	}
	call := p.cloud.begin(&providerCall{Pkg: p.pkg, Op: "Construct", Type: req.Type, Name: req.Name, Preview: req.DryRun, Inputs: inputs})
	defer p.cloud.end(call)
	conn, err := grpc.NewClient(req.MonitorEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	monitor := pulumirpc.NewResourceMonitorClient(conn)
	if req.Type != "eks:index:Cluster" {
		// Any other component (a Helm v4 Chart) is registered with no
		// children and no outputs: the program reads none of them.
		comp, err := monitor.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{
			Type: req.Type, Name: req.Name, Parent: req.Parent, Object: req.Inputs,
			Dependencies: req.Dependencies, AcceptSecrets: true, AcceptResources: true,
		})
		if err != nil {
			return nil, fmt.Errorf("registering %s: %w", req.Type, err)
		}
		call.URN = comp.Urn
		if _, err := monitor.RegisterResourceOutputs(ctx, &pulumirpc.RegisterResourceOutputsRequest{Urn: comp.Urn}); err != nil {
			return nil, err
		}
		return &pulumirpc.ConstructResponse{Urn: comp.Urn}, nil
	}

	return p.constructEKSCluster(ctx, req, call, inputs, monitor)
}
