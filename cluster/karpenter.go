package cluster

import (
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/cloudwatch"
	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/sqs"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/tags"
	"github.com/llm-platform/llm-platform/versions"
)

// Karpenter runs in kube-system as service account "karpenter", the
// identity its Pod Identity association names.
const (
	KarpenterNamespace      = "kube-system"
	KarpenterServiceAccount = "karpenter"
)

type karpenterArgs struct {
	account     Account
	clusterName pulumi.StringInput
	provider    *kubernetes.Provider
	tags        map[string]string
	dependsOn   []pulumi.Resource
}

type karpenter struct {
	nodeRole   *iam.Role
	nodeAccess *awseks.AccessEntry
	queue      *sqs.Queue
	release    *helmv3.Release
}

// KarpenterValues are the controller chart's values: two replicas (the
// chart's PDB allows one down) pinned to the system node group, where no
// Karpenter-managed node can host them, with interruption handling on.
func KarpenterValues(a Account, queueName string) map[string]any {
	return map[string]any{
		"replicas": 2,
		"podDisruptionBudget": map[string]any{
			"name":           "karpenter",
			"maxUnavailable": 1,
		},
		"serviceAccount": map[string]any{"create": true, "name": KarpenterServiceAccount},
		"nodeSelector": map[string]any{
			"kubernetes.io/os": "linux",
			SystemNodeLabelKey: SystemNodeLabelValue,
		},
		"tolerations": []any{
			map[string]any{"key": "CriticalAddonsOnly", "operator": "Exists"},
		},
		// The controller can start before CoreDNS is healthy.
		"dnsPolicy": "Default",
		"settings": map[string]any{
			"clusterName":       a.Cluster,
			"interruptionQueue": queueName,
		},
		"controller": map[string]any{
			// Nodes allow one IMDS hop, so pods cannot ask IMDS for the
			// region: pass it explicitly.
			"env": []any{map[string]any{"name": "AWS_REGION", "value": a.Region}},
			"resources": map[string]any{
				"requests": map[string]any{"cpu": "250m", "memory": "512Mi"},
				"limits":   map[string]any{"memory": "1Gi"},
			},
		},
	}
}

func newKarpenter(ctx *pulumi.Context, name string, args *karpenterArgs, parent pulumi.ResourceOption) (*karpenter, error) {
	a := args.account
	tagged := func(nameTag string) pulumi.StringMap {
		return tags.Map(tags.Merge(args.tags, map[string]string{"Name": nameTag}))
	}
	k := &karpenter{}

	// Node role: what Karpenter's instances run as.
	nodeRoleName := KarpenterNodeRoleName(a.Cluster)
	nodeRole, nodeDeps, err := newNodeRole(ctx, name+"-karpenter-node", nodeRoleName, a.Partition, tagged, parent)
	if err != nil {
		return nil, err
	}
	k.nodeRole = nodeRole
	// EC2_LINUX access entry: Karpenter nodes join the cluster with it.
	// Managed node groups get theirs from EKS; Karpenter's nodes do not.
	k.nodeAccess, err = awseks.NewAccessEntry(ctx, name+"-karpenter-node", &awseks.AccessEntryArgs{
		ClusterName:  args.clusterName,
		PrincipalArn: nodeRole.Arn,
		Type:         pulumi.String("EC2_LINUX"),
		Tags:         tagged(nodeRoleName),
	}, parent, pulumi.DependsOn(nodeDeps))
	if err != nil {
		return nil, err
	}

	// Interruption queue and the EventBridge rules feeding it.
	queueName := interruptionQueueName(a.Cluster)
	queue, err := sqs.NewQueue(ctx, name+"-karpenter-interruption", &sqs.QueueArgs{
		Name: pulumi.String(queueName),
		// Interruption notices are useless after a few minutes.
		MessageRetentionSeconds: pulumi.Int(300),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    tagged(queueName),
	}, parent)
	if err != nil {
		return nil, err
	}
	k.queue = queue
	queuePolicy, err := sqs.NewQueuePolicy(ctx, name+"-karpenter-interruption", &sqs.QueuePolicyArgs{
		QueueUrl: queue.Url,
		Policy:   pulumi.String(InterruptionQueuePolicy(a.QueueARN(queueName)).JSON()),
	}, parent)
	if err != nil {
		return nil, err
	}
	var ruleDeps []pulumi.Resource
	for _, r := range InterruptionRules() {
		ruleName := a.Cluster + "-" + r.Key
		rule, err := cloudwatch.NewEventRule(ctx, name+"-karpenter-"+r.Key, &cloudwatch.EventRuleArgs{
			Name:         pulumi.String(ruleName),
			Description:  pulumi.String("Karpenter interruption handling for " + a.Cluster + ": " + r.DetailType),
			EventPattern: pulumi.String(r.EventPattern()),
			Tags:         tagged(ruleName),
		}, parent)
		if err != nil {
			return nil, err
		}
		target, err := cloudwatch.NewEventTarget(ctx, name+"-karpenter-"+r.Key, &cloudwatch.EventTargetArgs{
			Rule:     rule.Name,
			TargetId: pulumi.String("KarpenterInterruptionQueueTarget"),
			Arn:      queue.Arn,
		}, parent, pulumi.DependsOn([]pulumi.Resource{queuePolicy}))
		if err != nil {
			return nil, err
		}
		ruleDeps = append(ruleDeps, target)
	}

	// Controller role, assumed through EKS Pod Identity.
	controllerRoleName := karpenterControllerRoleName(a.Cluster)
	controllerRole, err := iam.NewRole(ctx, name+"-karpenter-controller", &iam.RoleArgs{
		Name:             pulumi.String(controllerRoleName),
		AssumeRolePolicy: pulumi.String(PodIdentityTrustPolicy().JSON()),
		Tags:             tagged(controllerRoleName),
	}, parent)
	if err != nil {
		return nil, err
	}
	policies := KarpenterPolicies(a)
	keys := make([]string, 0, len(policies))
	for key := range policies {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	controllerDeps := append([]pulumi.Resource{}, ruleDeps...)
	for _, key := range keys {
		rp, err := iam.NewRolePolicy(ctx, name+"-karpenter-"+key, &iam.RolePolicyArgs{
			Name:   pulumi.String("karpenter-" + key),
			Role:   controllerRole.Name,
			Policy: pulumi.String(policies[key].JSON()),
		}, parent)
		if err != nil {
			return nil, err
		}
		controllerDeps = append(controllerDeps, rp)
	}
	association, err := awseks.NewPodIdentityAssociation(ctx, name+"-karpenter", &awseks.PodIdentityAssociationArgs{
		ClusterName:    args.clusterName,
		Namespace:      pulumi.String(KarpenterNamespace),
		ServiceAccount: pulumi.String(KarpenterServiceAccount),
		RoleArn:        controllerRole.Arn,
		Tags:           tagged(controllerRoleName),
	}, parent)
	if err != nil {
		return nil, err
	}
	controllerDeps = append(controllerDeps, association, k.nodeAccess)

	k8s := pulumi.Provider(args.provider)
	crds, err := helmv3.NewRelease(ctx, name+"-karpenter-crd", &helmv3.ReleaseArgs{
		Name:      pulumi.String("karpenter-crd"),
		Chart:     pulumi.String(versions.KarpenterCRDChart),
		Version:   pulumi.String(versions.KarpenterVersion),
		Namespace: pulumi.String(KarpenterNamespace),
	}, parent, k8s, pulumi.DependsOn(args.dependsOn))
	if err != nil {
		return nil, err
	}
	k.release, err = helmv3.NewRelease(ctx, name+"-karpenter", &helmv3.ReleaseArgs{
		// A fixed release name keeps the service account "karpenter", the
		// name the Pod Identity association is bound to.
		Name:      pulumi.String("karpenter"),
		Chart:     pulumi.String(versions.KarpenterChart),
		Version:   pulumi.String(versions.KarpenterVersion),
		Namespace: pulumi.String(KarpenterNamespace),
		// The CRDs come from the karpenter-crd release, which Helm
		// upgrades; the chart's crds/ directory would be installed once
		// and never upgraded.
		SkipCrds: pulumi.Bool(true),
		Values:   pulumi.ToMap(KarpenterValues(a, queueName)),
	}, parent, k8s, pulumi.DependsOn(append(append([]pulumi.Resource{crds}, controllerDeps...), args.dependsOn...)))
	if err != nil {
		return nil, err
	}
	return k, nil
}
