package network

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/tags"
)

// NAT modes, as in the network.nat config key.
const (
	NATSingle = "single"
	NATPerAZ  = "perAz"
)

// Args configures a Network.
type Args struct {
	// ClusterName is the EKS cluster the subnets serve (discovery tags).
	ClusterName string
	// Region is the AWS region, used for the S3 endpoint service name.
	Region string
	// CIDR is the VPC block (/16 to /20).
	CIDR string
	// AZCount is how many zones to span (2 or 3).
	AZCount int
	// AvailabilityZones pins the zone names; empty means the first AZCount
	// available zones of the region (looked up, not created).
	AvailabilityZones []string
	// NAT is NATSingle or NATPerAZ.
	NAT string
	// Tags go on every resource (platform and stack tags, already merged).
	Tags map[string]string
}

// Network is the VPC and everything routed in it.
type Network struct {
	pulumi.ResourceState

	// VpcID is the id of the VPC.
	VpcID pulumi.StringOutput `pulumi:"vpcId"`
	// VpcCIDR is the VPC's IPv4 block.
	VpcCIDR pulumi.StringOutput `pulumi:"vpcCidr"`
	// PublicSubnetIDs are the public subnets, one per zone, in zone order.
	PublicSubnetIDs pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	// PrivateSubnetIDs are the private subnets, one per zone, in zone order.
	PrivateSubnetIDs pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	// PrivateRouteTableIDs are the private route tables, one per zone.
	PrivateRouteTableIDs pulumi.StringArrayOutput `pulumi:"privateRouteTableIds"`
	// AvailabilityZones are the zone names, in the order of the subnets.
	AvailabilityZones pulumi.StringArrayOutput `pulumi:"availabilityZones"`

	// Zones is the plain list of zone names (known at preview), for
	// components that create one resource per zone.
	Zones []string
}

func (a *Args) validate() error {
	if a.ClusterName == "" {
		return fmt.Errorf("network: ClusterName is required (config key cluster.name)")
	}
	if a.Region == "" {
		return fmt.Errorf("network: Region is required (config key aws:region)")
	}
	if a.NAT != NATSingle && a.NAT != NATPerAZ {
		return fmt.Errorf("network: config key network.nat = %q: must be %q or %q", a.NAT, NATSingle, NATPerAZ)
	}
	if len(a.AvailabilityZones) > 0 && len(a.AvailabilityZones) != a.AZCount {
		return fmt.Errorf("network: config key network.availabilityZones = %v: must list exactly azCount (%d) zones", a.AvailabilityZones, a.AZCount)
	}
	if _, err := CarveSubnets(a.CIDR, a.AZCount); err != nil {
		return fmt.Errorf("network: config keys network.cidr/network.azCount: %w", err)
	}
	return nil
}

// NewNetwork creates the VPC, subnets, gateways, routes and S3 endpoint.
func NewNetwork(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	plan, err := CarveSubnets(args.CIDR, args.AZCount)
	if err != nil {
		return nil, err
	}

	n := &Network{}
	if err := ctx.RegisterComponentResource("llm-platform:network:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)
	// The lookup inherits the component's provider through Parent.
	zones, err := resolveZones(ctx, args, parent)
	if err != nil {
		return nil, err
	}
	n.Zones = zones
	tagged := func(nameTag string, extra map[string]string) pulumi.StringMap {
		return tags.Map(tags.Merge(args.Tags, extra, map[string]string{"Name": nameTag}))
	}

	vpc, err := ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock: pulumi.String(args.CIDR),
		// Both are required by EKS private endpoints, the S3 Files mount
		// targets and the S3 gateway endpoint.
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true),
		Tags:               tagged(name, nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  tagged(name+"-igw", nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  tagged(name+"-public", nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRoute(ctx, name+"-public-default", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, parent); err != nil {
		return nil, err
	}

	clusterTag := "kubernetes.io/cluster/" + args.ClusterName
	var publicIDs, privateIDs, privateRTIDs pulumi.StringArray
	var nats []*ec2.NatGateway
	for i, az := range zones {
		pubName := fmt.Sprintf("%s-public-%s", name, az)
		pub, err := ec2.NewSubnet(ctx, pubName, &ec2.SubnetArgs{
			VpcId:            vpc.ID(),
			CidrBlock:        pulumi.String(plan.Public[i]),
			AvailabilityZone: pulumi.String(az),
			// Nothing but NAT gateways and load balancers lives here; no
			// instance should get a public address by accident.
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags: tagged(pubName, map[string]string{
				"kubernetes.io/role/elb": "1",
				clusterTag:               "shared",
			}),
		}, parent)
		if err != nil {
			return nil, err
		}
		publicIDs = append(publicIDs, pub.ID())
		if _, err := ec2.NewRouteTableAssociation(ctx, pubName, &ec2.RouteTableAssociationArgs{
			SubnetId:     pub.ID(),
			RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		// A single NAT gateway saves $0.045/h per extra zone but makes the
		// first zone a single point of egress failure: perAz for production.
		if args.NAT == NATPerAZ || i == 0 {
			natName := fmt.Sprintf("%s-nat-%s", name, az)
			eip, err := ec2.NewEip(ctx, natName, &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   tagged(natName, nil),
			}, parent)
			if err != nil {
				return nil, err
			}
			nat, err := ec2.NewNatGateway(ctx, natName, &ec2.NatGatewayArgs{
				AllocationId: eip.AllocationId,
				SubnetId:     pub.ID(),
				Tags:         tagged(natName, nil),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, err
			}
			nats = append(nats, nat)
		}
	}

	for i, az := range zones {
		privName := fmt.Sprintf("%s-private-%s", name, az)
		priv, err := ec2.NewSubnet(ctx, privName, &ec2.SubnetArgs{
			VpcId:            vpc.ID(),
			CidrBlock:        pulumi.String(plan.Private[i]),
			AvailabilityZone: pulumi.String(az),
			Tags: tagged(privName, map[string]string{
				"kubernetes.io/role/internal-elb": "1",
				clusterTag:                        "shared",
				"karpenter.sh/discovery":          args.ClusterName,
			}),
		}, parent)
		if err != nil {
			return nil, err
		}
		privateIDs = append(privateIDs, priv.ID())
		// One route table per zone even with a single NAT gateway, so that
		// switching network.nat to perAz only changes routes.
		rt, err := ec2.NewRouteTable(ctx, privName, &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  tagged(privName, nil),
		}, parent)
		if err != nil {
			return nil, err
		}
		privateRTIDs = append(privateRTIDs, rt.ID())
		nat := nats[0]
		if args.NAT == NATPerAZ {
			nat = nats[i]
		}
		if _, err := ec2.NewRoute(ctx, privName+"-default", &ec2.RouteArgs{
			RouteTableId:         rt.ID(),
			DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
			NatGatewayId:         nat.ID(),
		}, parent); err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, privName, &ec2.RouteTableAssociationArgs{
			SubnetId:     priv.ID(),
			RouteTableId: rt.ID(),
		}, parent); err != nil {
			return nil, err
		}
	}

	// Gateway endpoints are free; without this every model download from
	// S3 would cross the NAT gateway at $0.045/GB.
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.String(fmt.Sprintf("com.amazonaws.%s.s3", args.Region)),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   privateRTIDs,
		Tags:            tagged(name+"-s3", nil),
	}, parent); err != nil {
		return nil, err
	}

	n.VpcID = vpc.ID().ToStringOutput()
	n.VpcCIDR = vpc.CidrBlock
	n.PublicSubnetIDs = publicIDs.ToStringArrayOutput()
	n.PrivateSubnetIDs = privateIDs.ToStringArrayOutput()
	n.PrivateRouteTableIDs = privateRTIDs.ToStringArrayOutput()
	n.AvailabilityZones = pulumi.ToStringArray(zones).ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":                n.VpcID,
		"vpcCidr":              n.VpcCIDR,
		"publicSubnetIds":      n.PublicSubnetIDs,
		"privateSubnetIds":     n.PrivateSubnetIDs,
		"privateRouteTableIds": n.PrivateRouteTableIDs,
		"availabilityZones":    n.AvailabilityZones,
	}); err != nil {
		return nil, err
	}
	return n, nil
}

// EKSUnsupportedZoneIDs are the zone IDs where EKS cannot place a cluster's
// control-plane network interfaces (Amazon EKS user guide, "Cluster VPC and
// subnet requirements"): CreateCluster fails with
// UnsupportedAvailabilityZoneException on a subnet there. Zone names map to
// different zone IDs in each account, so the check is by ID.
var EKSUnsupportedZoneIDs = []string{"use1-az3", "usw1-az2", "cac1-az3"}

// resolveZones returns the configured zones, or looks up the region's
// available zones (excluding Local Zones and Wavelength, which need opt-in)
// and takes the first AZCount in name order. Either way a zone whose ID EKS
// does not support is refused or skipped: the cluster's control plane and
// the mount targets use every zone's private subnet.
func resolveZones(ctx *pulumi.Context, args *Args, parent pulumi.ResourceOrInvokeOption) ([]string, error) {
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("network: looking up availability zones: %w", err)
	}
	return pickZones(args, res.Names, res.ZoneIds)
}

// pickZones chooses the zones from the region's available zone names and
// their IDs (parallel lists, as DescribeAvailabilityZones returns them).
func pickZones(args *Args, names, ids []string) ([]string, error) {
	if len(ids) != len(names) {
		return nil, fmt.Errorf("network: availability zone lookup returned %d names and %d zone IDs", len(names), len(ids))
	}
	idOf := map[string]string{}
	for i, n := range names {
		idOf[n] = ids[i]
	}
	if len(args.AvailabilityZones) > 0 {
		for i, z := range args.AvailabilityZones {
			id, ok := idOf[z]
			switch {
			case !ok:
				return nil, fmt.Errorf("network: config key network.availabilityZones[%d] = %q: not an available zone of %s (available: %v)",
					i, z, args.Region, names)
			case slices.Contains(EKSUnsupportedZoneIDs, id):
				return nil, fmt.Errorf("network: config key network.availabilityZones[%d] = %q: its zone ID %s cannot host an EKS control plane; pick another zone",
					i, z, id)
			}
		}
		return slices.Clone(args.AvailabilityZones), nil
	}
	var zones []string
	for _, n := range names {
		if !slices.Contains(EKSUnsupportedZoneIDs, idOf[n]) {
			zones = append(zones, n)
		}
	}
	slices.Sort(zones)
	if len(zones) < args.AZCount {
		return nil, fmt.Errorf("network: config key network.azCount = %d: region %s has only %d available zones EKS supports (%v)",
			args.AZCount, args.Region, len(zones), zones)
	}
	return zones[:args.AZCount], nil
}
