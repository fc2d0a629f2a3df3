// Package awsrole creates the platform's IAM roles the one way they are all
// made: a named role with a trust policy, and AWS managed policies attached
// as resources named <role's logical name>-<policy name>.
package awsrole

import (
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/iampolicy"
)

// Args describes a role.
type Args struct {
	// Name is the role's physical name (deterministic, so policies can
	// refer to its ARN before it exists).
	Name string
	// Trust says who may assume it.
	Trust iampolicy.Document
	// Managed are the ARNs of AWS managed policies to attach.
	Managed []string
	Tags    pulumi.StringMap
}

// New creates the role and its attachments, and returns the attachments
// too: what must exist before the role is usable.
func New(ctx *pulumi.Context, logicalName string, args Args, opts ...pulumi.ResourceOption) (*iam.Role, []pulumi.Resource, error) {
	role, err := iam.NewRole(ctx, logicalName, &iam.RoleArgs{
		Name:             pulumi.String(args.Name),
		AssumeRolePolicy: pulumi.String(args.Trust.JSON()),
		Tags:             args.Tags,
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	var attachments []pulumi.Resource
	for _, arn := range args.Managed {
		att, err := iam.NewRolePolicyAttachment(ctx, logicalName+"-"+iampolicy.Name(arn), &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(arn),
		}, opts...)
		if err != nil {
			return nil, nil, err
		}
		attachments = append(attachments, att)
	}
	return role, attachments, nil
}
