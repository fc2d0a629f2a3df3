package network

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/render"
)

func renderNetwork(t *testing.T, args *Args) *render.Result {
	t.Helper()
	res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
		_, err := NewNetwork(ctx, "net", args)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func baseArgs() *Args {
	return &Args{
		ClusterName: "llm-test",
		Region:      "us-east-1",
		CIDR:        "10.0.0.0/16",
		AZCount:     3,
		NAT:         NATSingle,
		Tags:        map[string]string{"team": "ml", "Name": "overridden"},
	}
}

func TestNetworkNATModes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		nat      string
		azs      int
		wantNATs int
	}{
		{NATSingle, 3, 1},
		{NATPerAZ, 3, 3},
		{NATSingle, 2, 1},
		{NATPerAZ, 2, 2},
	} {
		t.Run(fmt.Sprintf("%s-%d", tt.nat, tt.azs), func(t *testing.T) {
			t.Parallel()
			args := baseArgs()
			args.NAT, args.AZCount = tt.nat, tt.azs
			res := renderNetwork(t, args)
			nats := res.OfType("aws:ec2/natGateway:NatGateway")
			if len(nats) != tt.wantNATs || len(res.OfType("aws:ec2/eip:Eip")) != tt.wantNATs {
				t.Fatalf("got %d NAT gateways, want %d (one EIP each)", len(nats), tt.wantNATs)
			}
			// Every private zone routes 0.0.0.0/0 through its own NAT gateway
			// (perAz) or the single one in the first zone.
			zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}[:tt.azs]
			for i, az := range zones {
				route := res.Named("aws:ec2/route:Route", fmt.Sprintf("net-private-%s-default", az))
				if route == nil {
					t.Fatalf("no default route for private zone %s", az)
				}
				natZone := zones[0]
				if tt.nat == NATPerAZ {
					natZone = zones[i]
				}
				if got, want := route.String("natGatewayId"), render.FakeID("net-nat-"+natZone); got != want {
					t.Errorf("zone %s routes via %q, want %q", az, got, want)
				}
				if route.String("destinationCidrBlock") != "0.0.0.0/0" {
					t.Errorf("zone %s default route destination %q", az, route.String("destinationCidrBlock"))
				}
			}
			// NAT gateways sit in public subnets and wait for the internet gateway.
			for _, nat := range nats {
				if !strings.HasPrefix(nat.String("subnetId"), render.FakeID("net-public-")) {
					t.Errorf("NAT %s in subnet %q, want a public subnet", nat.Name, nat.String("subnetId"))
				}
				igw := res.Named("aws:ec2/internetGateway:InternetGateway", "net-igw")
				if !slices.Contains(nat.DependsOn, igw.URN) {
					t.Errorf("NAT %s does not depend on the internet gateway", nat.Name)
				}
			}
		})
	}
}

func TestNetworkSubnetsAndTags(t *testing.T) {
	t.Parallel()
	res := renderNetwork(t, baseArgs())
	vpc := res.Named("aws:ec2/vpc:Vpc", "net-vpc")
	if vpc == nil {
		t.Fatal("no VPC")
	}
	if vpc.Inputs["enableDnsSupport"] != true || vpc.Inputs["enableDnsHostnames"] != true {
		t.Errorf("VPC DNS support/hostnames must be on: %v", vpc.Inputs)
	}
	subnets := res.OfType("aws:ec2/subnet:Subnet")
	if len(subnets) != 6 {
		t.Fatalf("got %d subnets, want 6", len(subnets))
	}
	plan, _ := CarveSubnets("10.0.0.0/16", 3)
	for _, s := range subnets {
		public := strings.HasPrefix(s.Name, "net-public-")
		az := s.String("availabilityZone")
		i := slices.Index([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, az)
		if i < 0 {
			t.Fatalf("subnet %s in unexpected zone %q", s.Name, az)
		}
		wantCIDR := plan.Private[i]
		if public {
			wantCIDR = plan.Public[i]
		}
		if s.String("cidrBlock") != wantCIDR {
			t.Errorf("subnet %s cidr %q, want %q", s.Name, s.String("cidrBlock"), wantCIDR)
		}
		want := map[string]string{
			"team":                            "ml",
			"Name":                            s.Name,
			"kubernetes.io/cluster/llm-test":  "shared",
			"kubernetes.io/role/internal-elb": "1",
			"karpenter.sh/discovery":          "llm-test",
		}
		if public {
			delete(want, "kubernetes.io/role/internal-elb")
			delete(want, "karpenter.sh/discovery")
			want["kubernetes.io/role/elb"] = "1"
			if s.Inputs["mapPublicIpOnLaunch"] != false {
				t.Errorf("public subnet %s must not map public IPs on launch", s.Name)
			}
		}
		for k, v := range want {
			if got := s.Tag(k); got != v {
				t.Errorf("subnet %s tag %s = %q, want %q", s.Name, k, got, v)
			}
		}
		if public && s.Tag("karpenter.sh/discovery") != "" {
			t.Errorf("public subnet %s must not be discoverable by Karpenter", s.Name)
		}
	}
}

func TestNetworkS3EndpointOnPrivateRouteTables(t *testing.T) {
	t.Parallel()
	res := renderNetwork(t, baseArgs())
	ep := res.Named("aws:ec2/vpcEndpoint:VpcEndpoint", "net-s3")
	if ep == nil {
		t.Fatal("no S3 endpoint")
	}
	if ep.String("serviceName") != "com.amazonaws.us-east-1.s3" || ep.String("vpcEndpointType") != "Gateway" {
		t.Errorf("S3 endpoint = %v", ep.Inputs)
	}
	rts, _ := ep.Input("routeTableIds")
	want := []any{render.FakeID("net-private-us-east-1a"), render.FakeID("net-private-us-east-1b"), render.FakeID("net-private-us-east-1c")}
	if !slices.Equal(rts.([]any), want) {
		t.Errorf("S3 endpoint route tables = %v, want %v", rts, want)
	}
}

func TestNetworkChildrenParentedAndTagged(t *testing.T) {
	t.Parallel()
	res := renderNetwork(t, baseArgs())
	comp := res.OfType("llm-platform:network:Network")
	if len(comp) != 1 {
		t.Fatalf("got %d network components", len(comp))
	}
	untaggable := map[string]bool{
		"aws:ec2/route:Route": true, "aws:ec2/routeTableAssociation:RouteTableAssociation": true,
	}
	for _, r := range res.Resources {
		if r.Type == comp[0].Type {
			continue
		}
		if r.Parent != comp[0].URN {
			t.Errorf("%s %s has parent %q, want the component", r.Type, r.Name, r.Parent)
		}
		if untaggable[r.Type] {
			continue
		}
		if r.Tag("team") != "ml" || r.Tag("Name") == "overridden" {
			t.Errorf("%s %s tags = %v: want stack tags, and a resource Name tag winning over the stack's", r.Type, r.Name, r.Inputs["tags"])
		}
	}
}

func TestNetworkPinnedZones(t *testing.T) {
	t.Parallel()
	args := baseArgs()
	args.AZCount = 2
	args.AvailabilityZones = []string{"us-east-1d", "us-east-1f"}
	res := renderNetwork(t, args)
	if res.Named("aws:ec2/subnet:Subnet", "net-private-us-east-1f") == nil {
		t.Error("no subnet in pinned zone us-east-1f")
	}
}

// Zone names map to zone IDs per account; EKS refuses control-plane subnets
// in some zone IDs (use1-az3 in us-east-1). Those are skipped when zones
// are picked and refused when pinned, whatever their name.
func TestPickZonesByZoneID(t *testing.T) {
	t.Parallel()
	names := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"}
	ids := []string{"use1-az3", "use1-az1", "use1-az2", "use1-az4"}
	tests := []struct {
		name    string
		count   int
		pinned  []string
		want    []string
		wantErr string
	}{
		{"skips the unsupported zone ID", 3, nil, []string{"us-east-1b", "us-east-1c", "us-east-1d"}, ""},
		{"too few once skipped", 4, nil, nil, "only 3 available zones EKS supports"},
		{"pinned unsupported zone ID", 2, []string{"us-east-1a", "us-east-1b"}, nil, `network.availabilityZones[0] = "us-east-1a": its zone ID use1-az3`},
		{"pinned unknown zone", 2, []string{"us-east-1b", "us-east-1z"}, nil, `network.availabilityZones[1] = "us-east-1z": not an available zone`},
		{"pinned", 2, []string{"us-east-1d", "us-east-1b"}, []string{"us-east-1d", "us-east-1b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := baseArgs()
			args.AZCount, args.AvailabilityZones = tt.count, tt.pinned
			got, err := pickZones(args, names, ids)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("pickZones = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestNetworkRejectsBadArgs(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Args){
		"nat":        func(a *Args) { a.NAT = "none" },
		"zone count": func(a *Args) { a.AZCount = 4 },
		"zones":      func(a *Args) { a.AvailabilityZones = []string{"us-east-1a"} },
		"cidr":       func(a *Args) { a.CIDR = "10.0.0.0/24" },
		"cluster":    func(a *Args) { a.ClusterName = "" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := baseArgs()
			mutate(args)
			res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
				_, err := NewNetwork(ctx, "net", args)
				return err
			})
			if err == nil {
				t.Fatal("want an error")
			}
			if len(res.Resources) != 0 {
				t.Errorf("registered %d resources before failing", len(res.Resources))
			}
		})
	}
}

// us-west-1 offers two zones to most accounts: asking for three must fail
// with the config key, before any cloud resource is declared.
func TestNetworkTooFewZonesInRegion(t *testing.T) {
	t.Parallel()
	args := baseArgs()
	args.Region = "us-west-1"
	res, err := render.RunComponent("us-west-1", func(ctx *pulumi.Context) error {
		_, err := NewNetwork(ctx, "net", args)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "network.azCount") || !strings.Contains(err.Error(), "only 2") {
		t.Fatalf("err = %v, want a network.azCount error naming the 2 zones", err)
	}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.Type, "aws:") {
			t.Errorf("declared %s %s before failing", r.Type, r.Name)
		}
	}
}
