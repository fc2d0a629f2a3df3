package platform

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/network"
	"github.com/llm-platform/llm-platform/tags"
)

// Program is the Pulumi program: it loads and validates the stack config,
// then declares every component. A config error returns before any
// resource is registered.
func Program(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	return Deploy(ctx, cfg)
}

// Deploy declares the components for a validated config and exports the
// stack outputs.
func Deploy(ctx *pulumi.Context, cfg *config.Config) error {
	region := cfg.Region
	if region == "" {
		r, err := aws.GetRegion(ctx, nil)
		if err != nil {
			return fmt.Errorf("looking up the AWS region (set aws:region to skip): %w", err)
		}
		region = r.Region
	}
	baseTags := tags.Merge(tags.Platform(cfg.Project, cfg.Stack), cfg.Tags)

	net, err := network.NewNetwork(ctx, cfg.Cluster.Name, &network.Args{
		ClusterName:       cfg.Cluster.Name,
		Region:            region,
		CIDR:              cfg.Network.CIDR,
		AZCount:           cfg.Network.AZCount,
		AvailabilityZones: cfg.Network.AvailabilityZones,
		NAT:               cfg.Network.NAT,
		Tags:              baseTags,
	})
	if err != nil {
		return err
	}

	ctx.Export("region", pulumi.String(region))
	ctx.Export("vpcId", net.VpcID)
	ctx.Export("publicSubnetIds", net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("availabilityZones", net.AvailabilityZones)
	ctx.Export("llmEnabled", pulumi.Bool(cfg.LLMLayer()))
	return nil
}
