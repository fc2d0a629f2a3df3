package gpu

import (
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SpotServiceName is the service whose service-linked role
// (AWSServiceRoleForEC2Spot) EC2 needs before it launches a spot instance
// for someone else's request. On an account that never used Spot, the first
// spot launch creates it, which Karpenter's controller role is not allowed
// to do: launches fail with AuthFailure.ServiceLinkedRoleCreationNotPermitted
// (Karpenter v1.14 troubleshooting).
const SpotServiceName = "spot.amazonaws.com"

// newSpotServiceLinkedRole creates the account's spot service-linked role.
// A service-linked role is one per account and service: creating it where
// it exists fails ("Service role name AWSServiceRoleForEC2Spot has been
// taken in this account"), so it is opt-in (gpu.createSpotServiceLinkedRole).
// It is retained on delete: other workloads of the account may launch spot
// instances through it after this stack is gone.
func newSpotServiceLinkedRole(ctx *pulumi.Context, name string, parent pulumi.ResourceOption) (*iam.ServiceLinkedRole, error) {
	return iam.NewServiceLinkedRole(ctx, name+"-spot", &iam.ServiceLinkedRoleArgs{
		AwsServiceName: pulumi.String(SpotServiceName),
		Description:    pulumi.String("EC2 Spot, for Karpenter's spot GPU nodes (created by llm-platform)"),
	}, parent, pulumi.RetainOnDelete(true))
}
