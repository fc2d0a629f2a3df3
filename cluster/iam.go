package cluster

import (
	"encoding/json"
	"fmt"

	"github.com/llm-platform/llm-platform/iampolicy"
)

// Account locates the cluster for IAM documents: every ARN below is built
// from these plain values, so the policies are known at preview time and
// are pure functions of the config.
type Account struct {
	Partition string // aws, aws-cn, aws-us-gov
	Region    string
	ID        string // 12-digit account id
	// Cluster is the EKS cluster name.
	Cluster string
}

func (a Account) arn(service, region, account, resource string) string {
	return iampolicy.ARN(a.Partition, service, region, account, resource)
}

// ClusterARN is the ARN of the EKS cluster.
func (a Account) ClusterARN() string {
	return a.arn("eks", a.Region, a.ID, "cluster/"+a.Cluster)
}

// RoleARN is the ARN of a role of this account.
func (a Account) RoleARN(name string) string {
	return a.arn("iam", "", a.ID, "role/"+name)
}

// QueueARN is the ARN of an SQS queue of this account and region.
func (a Account) QueueARN(name string) string {
	return a.arn("sqs", a.Region, a.ID, name)
}

// Names of the IAM roles and the queue, deterministic so that the policies
// that reference them can be written before they exist.
func systemNodeRoleName(cluster string) string { return cluster + "-system-node" }

// KarpenterNodeRoleName is the IAM role of Karpenter's nodes; the
// EC2NodeClass names it.
func KarpenterNodeRoleName(cluster string) string { return cluster + "-karpenter-node" }
func karpenterControllerRoleName(cluster string) string {
	return cluster + "-karpenter-controller"
}

// interruptionQueueName is the cluster name, as in Karpenter's own
// getting-started template.
func interruptionQueueName(cluster string) string { return cluster }

// NodeTrustPolicy lets EC2 instances assume a node role.
func NodeTrustPolicy() iampolicy.Document {
	return iampolicy.Trust([]string{"ec2.amazonaws.com"}, []string{"sts:AssumeRole"}, nil)
}

// PodIdentityTrustPolicy lets EKS Pod Identity assume a role on behalf of a
// service account (the Karpenter controller's).
func PodIdentityTrustPolicy() iampolicy.Document { return iampolicy.PodIdentityTrust() }

// NodeManagedPolicies are the AWS managed policies every node role gets:
// join the cluster, run the VPC CNI, pull images, and be reachable through
// SSM Session Manager instead of SSH.
func NodeManagedPolicies(partition string) []string {
	names := []string{
		"AmazonEKSWorkerNodePolicy",
		"AmazonEKS_CNI_Policy",
		"AmazonEC2ContainerRegistryPullOnly",
		"AmazonSSMManagedInstanceCore",
	}
	arns := make([]string, len(names))
	for i, n := range names {
		arns[i] = iampolicy.ManagedPolicy(partition, n)
	}
	return arns
}

// KarpenterPolicies are the Karpenter controller's permissions, one
// document per concern, statement for statement as Karpenter v1.14's
// getting-started CloudFormation template scopes them: instance and launch
// template actions only on resources tagged for this cluster and a
// NodePool, PassRole only for the Karpenter node role and only to EC2,
// instance profiles only with this cluster's and region's tags, the
// interruption queue only, and read-only discovery limited to the region.
func KarpenterPolicies(a Account) map[string]iampolicy.Document {
	r := a.Region
	ec2 := func(resource string) string { return a.arn("ec2", r, "*", resource) }
	ec2NoAccount := func(resource string) string { return a.arn("ec2", r, "", resource) }
	clusterTag := fmt.Sprintf("kubernetes.io/cluster/%s", a.Cluster)
	taggedInstanceResources := []string{
		ec2("fleet/*"), ec2("instance/*"), ec2("volume/*"),
		ec2("network-interface/*"), ec2("launch-template/*"), ec2("spot-instances-request/*"),
	}
	ownedByNodePool := map[string]map[string]any{
		"StringEquals": {"aws:ResourceTag/" + clusterTag: "owned"},
		"StringLike":   {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
	}
	instanceProfiles := a.arn("iam", "", a.ID, "instance-profile/*")

	return map[string]iampolicy.Document{
		"node-lifecycle": iampolicy.New(
			iampolicy.Statement{
				Sid:    "AllowScopedEC2InstanceAccessActions",
				Effect: iampolicy.Allow,
				Resource: []string{
					ec2NoAccount("image/*"), ec2NoAccount("snapshot/*"),
					ec2("security-group/*"), ec2("subnet/*"),
					ec2("capacity-reservation/*"), ec2("placement-group/*"),
				},
				Action: []string{"ec2:RunInstances", "ec2:CreateFleet"},
			},
			iampolicy.Statement{
				Sid:       "AllowScopedEC2LaunchTemplateAccessActions",
				Effect:    iampolicy.Allow,
				Resource:  []string{ec2("launch-template/*")},
				Action:    []string{"ec2:RunInstances", "ec2:CreateFleet"},
				Condition: ownedByNodePool,
			},
			iampolicy.Statement{
				Sid:      "AllowScopedEC2InstanceActionsWithTags",
				Effect:   iampolicy.Allow,
				Resource: taggedInstanceResources,
				Action:   []string{"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"},
				Condition: map[string]map[string]any{
					"StringEquals": {
						"aws:RequestTag/" + clusterTag:        "owned",
						"aws:RequestTag/eks:eks-cluster-name": a.Cluster,
					},
					"StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
				},
			},
			iampolicy.Statement{
				Sid:      "AllowScopedResourceCreationTagging",
				Effect:   iampolicy.Allow,
				Resource: taggedInstanceResources,
				Action:   []string{"ec2:CreateTags"},
				Condition: map[string]map[string]any{
					"StringEquals": {
						"aws:RequestTag/" + clusterTag:        "owned",
						"aws:RequestTag/eks:eks-cluster-name": a.Cluster,
						"ec2:CreateAction":                    []string{"RunInstances", "CreateFleet", "CreateLaunchTemplate"},
					},
					"StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
				},
			},
			iampolicy.Statement{
				Sid:      "AllowScopedResourceTagging",
				Effect:   iampolicy.Allow,
				Resource: []string{ec2("instance/*")},
				Action:   []string{"ec2:CreateTags"},
				Condition: map[string]map[string]any{
					"StringEquals":              {"aws:ResourceTag/" + clusterTag: "owned"},
					"StringLike":                {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
					"StringEqualsIfExists":      {"aws:RequestTag/eks:eks-cluster-name": a.Cluster},
					"ForAllValues:StringEquals": {"aws:TagKeys": []string{"eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"}},
				},
			},
			iampolicy.Statement{
				Sid:       "AllowScopedDeletion",
				Effect:    iampolicy.Allow,
				Resource:  []string{ec2("instance/*"), ec2("launch-template/*")},
				Action:    []string{"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"},
				Condition: ownedByNodePool,
			},
		),
		"iam-integration": iampolicy.New(
			iampolicy.Statement{
				Sid:      "AllowPassingInstanceRole",
				Effect:   iampolicy.Allow,
				Resource: []string{a.RoleARN(KarpenterNodeRoleName(a.Cluster))},
				Action:   []string{"iam:PassRole"},
				Condition: map[string]map[string]any{
					"StringEquals": {"iam:PassedToService": []string{"ec2.amazonaws.com", "ec2.amazonaws.com.cn"}},
				},
			},
			iampolicy.Statement{
				Sid:      "AllowScopedInstanceProfileCreationActions",
				Effect:   iampolicy.Allow,
				Resource: []string{instanceProfiles},
				Action:   []string{"iam:CreateInstanceProfile"},
				Condition: map[string]map[string]any{
					"StringEquals": {
						"aws:RequestTag/" + clusterTag:                 "owned",
						"aws:RequestTag/eks:eks-cluster-name":          a.Cluster,
						"aws:RequestTag/topology.kubernetes.io/region": r,
					},
					"StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
				},
			},
			iampolicy.Statement{
				Sid:      "AllowScopedInstanceProfileTagActions",
				Effect:   iampolicy.Allow,
				Resource: []string{instanceProfiles},
				Action:   []string{"iam:TagInstanceProfile"},
				Condition: map[string]map[string]any{
					"StringEquals": {
						"aws:ResourceTag/" + clusterTag:                 "owned",
						"aws:ResourceTag/topology.kubernetes.io/region": r,
						"aws:RequestTag/" + clusterTag:                  "owned",
						"aws:RequestTag/eks:eks-cluster-name":           a.Cluster,
						"aws:RequestTag/topology.kubernetes.io/region":  r,
					},
					"StringLike": {
						"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
						"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass":  "*",
					},
				},
			},
			iampolicy.Statement{
				Sid:      "AllowScopedInstanceProfileActions",
				Effect:   iampolicy.Allow,
				Resource: []string{instanceProfiles},
				Action:   []string{"iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"},
				Condition: map[string]map[string]any{
					"StringEquals": {
						"aws:ResourceTag/" + clusterTag:                 "owned",
						"aws:ResourceTag/topology.kubernetes.io/region": r,
					},
					"StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
				},
			},
		),
		"eks-integration": iampolicy.New(iampolicy.Statement{
			Sid:      "AllowAPIServerEndpointDiscovery",
			Effect:   iampolicy.Allow,
			Resource: []string{a.ClusterARN()},
			Action:   []string{"eks:DescribeCluster"},
		}),
		"interruption": iampolicy.New(iampolicy.Statement{
			Sid:      "AllowInterruptionQueueActions",
			Effect:   iampolicy.Allow,
			Resource: []string{a.QueueARN(interruptionQueueName(a.Cluster))},
			Action:   []string{"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
		}),
		"zonal-shift": iampolicy.New(iampolicy.Statement{
			Sid:       "AllowZonalShiftStatusReadOnly",
			Effect:    iampolicy.Allow,
			Resource:  []string{"*"},
			Action:    []string{"arc-zonal-shift:GetManagedResource"},
			Condition: map[string]map[string]any{"StringEquals": {"arc-zonal-shift:ResourceIdentifier": a.ClusterARN()}},
		}),
		"resource-discovery": iampolicy.New(
			iampolicy.Statement{
				Sid:      "AllowRegionalReadActions",
				Effect:   iampolicy.Allow,
				Resource: []string{"*"},
				Action: []string{
					"ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
					"ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
					"ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
					"ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
				},
				Condition: map[string]map[string]any{"StringEquals": {"aws:RequestedRegion": r}},
			},
			iampolicy.Statement{
				Sid:      "AllowSSMReadActions",
				Effect:   iampolicy.Allow,
				Resource: []string{a.arn("ssm", r, "", "parameter/aws/service/*")},
				Action:   []string{"ssm:GetParameter"},
			},
			iampolicy.Statement{
				Sid:      "AllowPricingReadActions",
				Effect:   iampolicy.Allow,
				Resource: []string{"*"},
				Action:   []string{"pricing:GetProducts"},
			},
			iampolicy.Statement{
				Sid:      "AllowUnscopedInstanceProfileListAction",
				Effect:   iampolicy.Allow,
				Resource: []string{"*"},
				Action:   []string{"iam:ListInstanceProfiles"},
			},
			iampolicy.Statement{
				Sid:      "AllowInstanceProfileReadActions",
				Effect:   iampolicy.Allow,
				Resource: []string{instanceProfiles},
				Action:   []string{"iam:GetInstanceProfile"},
			},
		),
	}
}

// InterruptionQueuePolicy lets EventBridge (and SQS itself) deliver to the
// interruption queue and refuses any request not made over TLS.
func InterruptionQueuePolicy(queueARN string) iampolicy.Document {
	return iampolicy.New(
		iampolicy.Statement{
			Sid:       "AllowEventBridge",
			Effect:    iampolicy.Allow,
			Principal: &iampolicy.Principal{Service: []string{"events.amazonaws.com", "sqs.amazonaws.com"}},
			Action:    []string{"sqs:SendMessage"},
			Resource:  []string{queueARN},
		},
		iampolicy.Statement{
			Sid:       "DenyHTTP",
			Effect:    iampolicy.Deny,
			Principal: iampolicy.AnyPrincipal,
			Action:    []string{"sqs:*"},
			Resource:  []string{queueARN},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
		},
	)
}

// InterruptionRule is one EventBridge rule feeding the interruption queue.
type InterruptionRule struct {
	// Key names the rule (<cluster>-<key>).
	Key        string
	Source     string
	DetailType string
}

// InterruptionRules are the five event kinds Karpenter reacts to: scheduled
// maintenance, spot interruption (two minutes' notice), rebalance
// recommendations, instance state changes, and capacity reservation
// interruptions. With them Karpenter drains a node before AWS takes it,
// instead of losing the vLLM replica mid-request.
func InterruptionRules() []InterruptionRule {
	return []InterruptionRule{
		{Key: "health", Source: "aws.health", DetailType: "AWS Health Event"},
		{Key: "spot", Source: "aws.ec2", DetailType: "EC2 Spot Instance Interruption Warning"},
		{Key: "rebalance", Source: "aws.ec2", DetailType: "EC2 Instance Rebalance Recommendation"},
		{Key: "state-change", Source: "aws.ec2", DetailType: "EC2 Instance State-change Notification"},
		{Key: "capacity", Source: "aws.ec2", DetailType: "EC2 Capacity Reservation Instance Interruption Warning"},
	}
}

// EventPattern is the rule's EventBridge pattern as JSON.
func (r InterruptionRule) EventPattern() string {
	b, err := json.Marshal(map[string][]string{"source": {r.Source}, "detail-type": {r.DetailType}})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}
