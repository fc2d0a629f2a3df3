package cluster

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v4/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/awsrole"
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/tags"
	"github.com/llm-platform/llm-platform/versions"
)

// SystemNodes sizes the system managed node group.
type SystemNodes struct {
	InstanceTypes []string
	MinSize       int
	DesiredSize   int
	MaxSize       int
	DiskSizeGiB   int
}

// Args configures a Cluster.
type Args struct {
	// Account locates the cluster (partition, region, account id, name).
	Account Account
	// KubernetesVersion is the EKS minor version ("1.35").
	KubernetesVersion string
	// VpcID and PrivateSubnetIDs come from the network component. The
	// control plane's network interfaces and every node live in the
	// private subnets.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	// EndpointPublicAccess keeps the public API endpoint, restricted to
	// PublicAccessCIDRs. The private endpoint is always on.
	EndpointPublicAccess bool
	PublicAccessCIDRs    []string
	// AdminRoleARNs get cluster-admin access entries.
	AdminRoleARNs []string
	// LogTypes are the control-plane logs sent to CloudWatch, kept
	// LogRetentionDays in the log group the component creates for them.
	LogTypes         []string
	LogRetentionDays int
	SystemNodes      SystemNodes
	// Tags go on every taggable AWS resource.
	Tags map[string]string
}

// SystemNodeLabel is the label of the system node group; Karpenter selects
// it. SystemTaintKey is its taint (NoSchedule): only pods that tolerate it
// land there, which are Karpenter (its values), CoreDNS (the EKS addon's
// Deployment tolerates CriticalAddonsOnly) and the node agents, whose
// DaemonSets tolerate every taint. Everything else waits for a Karpenter
// node, so a platform service can never crowd out the controller that
// launches nodes.
const (
	SystemNodeLabelKey   = "llm-platform/node-role"
	SystemNodeLabelValue = "system"
	SystemTaintKey       = "CriticalAddonsOnly"
)

// SystemAMIType is the managed node group's Bottlerocket AMI type for the
// instance types' architecture.
func SystemAMIType(instanceTypes []string) string {
	if config.Architecture(instanceTypes[0]) == config.ArchARM64 {
		return "BOTTLEROCKET_ARM_64"
	}
	return "BOTTLEROCKET_x86_64"
}

// Cluster is EKS with its system node group, addons and Karpenter.
type Cluster struct {
	pulumi.ResourceState

	// ClusterName is the EKS cluster name (known at preview: it is config).
	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	// Endpoint is the Kubernetes API server URL.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// KubeconfigJSON is a kubeconfig for the cluster (a secret).
	KubeconfigJSON pulumi.StringOutput `pulumi:"kubeconfigJson"`
	// ClusterSecurityGroupID is the security group EKS creates for the
	// cluster; every node (system and Karpenter) is in it.
	ClusterSecurityGroupID pulumi.StringOutput `pulumi:"clusterSecurityGroupId"`
	// KarpenterNodeRoleName and KarpenterNodeRoleARN are the role of the
	// nodes Karpenter launches (the EC2NodeClass refers to it by name).
	KarpenterNodeRoleName pulumi.StringOutput `pulumi:"karpenterNodeRoleName"`
	KarpenterNodeRoleARN  pulumi.StringOutput `pulumi:"karpenterNodeRoleArn"`
	// InterruptionQueueName is Karpenter's interruption queue.
	InterruptionQueueName pulumi.StringOutput `pulumi:"interruptionQueueName"`

	// Name is the plain cluster name, for discovery tags and selectors.
	Name string
	// Provider is the Kubernetes provider for this cluster; every
	// Kubernetes resource of the platform uses it.
	Provider *kubernetes.Provider
	// Karpenter is the Karpenter controller release. Anything that owns
	// Karpenter nodes (NodePools, EC2NodeClasses) must depend on it, so
	// that a destroy deletes those first, while the controller still runs
	// and can terminate its instances.
	Karpenter pulumi.Resource
	// KarpenterNodeAccess is the access entry that lets Karpenter nodes
	// join; NodePools depend on it too.
	KarpenterNodeAccess pulumi.Resource
	// SystemNodes is the system node group: addons with controllers
	// (Deployments) wait for it.
	SystemNodes pulumi.Resource
}

var clusterNameRe = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,39}$`)

func (a *Args) validate() error {
	if !clusterNameRe.MatchString(a.Account.Cluster) {
		return fmt.Errorf("cluster: config key cluster.name = %q: not a valid cluster name", a.Account.Cluster)
	}
	if a.Account.Partition == "" || a.Account.Region == "" || a.Account.ID == "" {
		return fmt.Errorf("cluster: partition, region and account id are required (got %+v)", a.Account)
	}
	if _, ok := versions.Addons[a.KubernetesVersion]; !ok {
		return fmt.Errorf("cluster: config key cluster.kubernetesVersion = %q: no pinned addon versions (supported: %v)",
			a.KubernetesVersion, versions.SupportedKubernetesVersions)
	}
	if a.VpcID == nil || a.PrivateSubnetIDs == nil {
		return fmt.Errorf("cluster: VpcID and PrivateSubnetIDs are required")
	}
	n := a.SystemNodes
	if len(n.InstanceTypes) == 0 || n.MinSize < 2 || n.MaxSize < n.MinSize || n.DesiredSize < n.MinSize || n.DesiredSize > n.MaxSize {
		return fmt.Errorf("cluster: config key cluster.systemNodes = %+v: need instance types and 2 <= minSize <= desiredSize <= maxSize", n)
	}
	if a.EndpointPublicAccess && len(a.PublicAccessCIDRs) == 0 {
		return fmt.Errorf("cluster: config key cluster.publicAccessCidrs is empty while endpointPublicAccess is true")
	}
	if len(a.LogTypes) > 0 && a.LogRetentionDays <= 0 {
		return fmt.Errorf("cluster: config key cluster.logRetentionDays = %d: must be positive when logTypes are set", a.LogRetentionDays)
	}
	return nil
}

// NewCluster creates the EKS cluster, its system node group and addons, the
// Kubernetes provider, and Karpenter with its IAM, interruption queue and
// Pod Identity association.
func NewCluster(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{Name: args.Account.Cluster}
	if err := ctx.RegisterComponentResource("llm-platform:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	tagged := func(nameTag string) pulumi.StringMap {
		return tags.Map(tags.Merge(args.Tags, map[string]string{"Name": nameTag}))
	}
	addons := versions.Addons[args.KubernetesVersion]
	acct := args.Account

	// pulumi-eks v4.0.1 throws when publicAccessCidrs is set at all, even
	// to [], while endpointPublicAccess is false (nodejs/eks/cluster/
	// cluster.ts, createCore): the input stays unset then.
	var publicCIDRs pulumi.StringArrayInput
	if args.EndpointPublicAccess {
		publicCIDRs = pulumi.ToStringArray(args.PublicAccessCIDRs)
	}
	logGroup, err := newControlPlaneLogGroup(ctx, name, args, tagged, parent)
	if err != nil {
		return nil, err
	}
	var clusterDeps []pulumi.Resource
	if logGroup != nil {
		clusterDeps = append(clusterDeps, logGroup)
	}
	authMode := eks.AuthenticationModeApi
	cluster, err := eks.NewCluster(ctx, name, &eks.ClusterArgs{
		Name:    pulumi.String(acct.Cluster),
		Version: pulumi.String(args.KubernetesVersion),
		VpcId:   args.VpcID,
		// Control-plane interfaces in the private subnets only; public
		// load balancers find the public subnets by their role tag.
		PrivateSubnetIds:      args.PrivateSubnetIDs,
		EndpointPrivateAccess: pulumi.Bool(true),
		EndpointPublicAccess:  pulumi.Bool(args.EndpointPublicAccess),
		PublicAccessCidrs:     publicCIDRs,
		// Access entries only: no aws-auth ConfigMap to drift or lock
		// everyone out.
		AuthenticationMode: &authMode,
		// Pod Identity for every workload role; no OIDC provider or IRSA.
		CreateOidcProvider: pulumi.Bool(false),
		// The system node group and Karpenter are declared below.
		SkipDefaultNodeGroup: pulumi.BoolRef(true),
		// Nodes use the security group EKS creates for the cluster (all
		// traffic between nodes and the control plane), so pulumi-eks'
		// extra groups are not needed.
		SkipDefaultSecurityGroups: pulumi.BoolRef(true),
		// vpc-cni, coredns and kube-proxy are managed addons pinned in
		// package versions, not the unmanaged copies EKS would bootstrap.
		BootstrapSelfManagedAddons: pulumi.Bool(false),
		// pulumi-eks creates its own vpc-cni addon unless useDefaultVpcCni
		// is true (v4.0.1 nodejs/eks/cluster/cluster.ts, createCore, and
		// addons/cni-addon.ts); the one declared below is the only one:
		// EKS allows one addon of a name per cluster (a second create
		// fails with ResourceInUseException).
		UseDefaultVpcCni:      pulumi.BoolRef(true),
		CorednsAddonOptions:   &eks.CoreDnsAddonOptionsArgs{Enabled: pulumi.BoolRef(false)},
		KubeProxyAddonOptions: &eks.KubeProxyAddonOptionsArgs{Enabled: pulumi.BoolRef(false)},
		// STANDARD: when a version leaves standard support EKS upgrades
		// the control plane instead of billing extended support at six
		// times the hourly price (pulumi-eks defaults to EXTENDED).
		UpgradePolicy:          &awseks.ClusterUpgradePolicyArgs{SupportType: pulumi.String("STANDARD")},
		EnabledClusterLogTypes: pulumi.ToStringArray(args.LogTypes),
		Tags:                   tags.Map(args.Tags),
	}, parent, pulumi.DependsOn(clusterDeps))
	if err != nil {
		return nil, err
	}
	// Read the name from the created cluster, not the config, so that
	// everything that uses it waits for the cluster to exist.
	clusterName := cluster.EksCluster.Name()
	clusterSG := cluster.EksCluster.VpcConfig().ClusterSecurityGroupId().Elem()

	// Karpenter finds the security group of its nodes by this tag. EKS
	// creates the group, so the tag is added separately.
	if _, err := ec2.NewTag(ctx, name+"-cluster-sg-discovery", &ec2.TagArgs{
		ResourceId: clusterSG,
		Key:        pulumi.String("karpenter.sh/discovery"),
		Value:      pulumi.String(acct.Cluster),
	}, parent); err != nil {
		return nil, err
	}

	for i, arn := range args.AdminRoleARNs {
		entryName := fmt.Sprintf("%s-admin-%d", name, i)
		entry, err := awseks.NewAccessEntry(ctx, entryName, &awseks.AccessEntryArgs{
			ClusterName:  clusterName,
			PrincipalArn: pulumi.String(arn),
			Type:         pulumi.String("STANDARD"),
			Tags:         tagged(entryName),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := awseks.NewAccessPolicyAssociation(ctx, entryName, &awseks.AccessPolicyAssociationArgs{
			ClusterName:  clusterName,
			PrincipalArn: entry.PrincipalArn,
			PolicyArn:    pulumi.String(fmt.Sprintf("arn:%s:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", acct.Partition)),
			AccessScope:  &awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
		}, parent); err != nil {
			return nil, err
		}
	}

	addon := func(addonName, version, configuration string, deps ...pulumi.Resource) (*awseks.Addon, error) {
		var cv pulumi.StringPtrInput
		if configuration != "" {
			cv = pulumi.String(configuration)
		}
		return awseks.NewAddon(ctx, name+"-"+addonName, &awseks.AddonArgs{
			ClusterName:         clusterName,
			AddonName:           pulumi.String(addonName),
			AddonVersion:        pulumi.String(version),
			ConfigurationValues: cv,
			// The platform owns these addons' configuration.
			ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
			ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
			Tags:                     tagged(name + "-" + addonName),
		}, parent, pulumi.DependsOn(deps))
	}
	// Networking addons go first: nodes only become Ready with a CNI.
	// The VPC CNI's network policy agent enforces the model namespace's
	// NetworkPolicies; without it they would be accepted and ignored.
	vpcCNI, err := addon("vpc-cni", addons.VPCCNI, `{"enableNetworkPolicy":"true"}`)
	if err != nil {
		return nil, err
	}
	kubeProxy, err := addon("kube-proxy", addons.KubeProxy, "")
	if err != nil {
		return nil, err
	}
	podIdentity, err := addon("eks-pod-identity-agent", addons.PodIdentityAgent, "")
	if err != nil {
		return nil, err
	}

	nodeGroup, err := newSystemNodeGroup(ctx, name, args, clusterName, tagged, parent,
		pulumi.DependsOn([]pulumi.Resource{vpcCNI, kubeProxy, podIdentity}))
	if err != nil {
		return nil, err
	}
	// CoreDNS is a Deployment: created before any node exists it would sit
	// degraded and fail the addon's wait.
	coreDNS, err := addon("coredns", addons.CoreDNS, CoreDNSConfiguration(), nodeGroup)
	if err != nil {
		return nil, err
	}

	provider, err := kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{
		Kubeconfig: cluster.KubeconfigJson,
		// A stable identity: a refreshed token or endpoint in the
		// kubeconfig must not look like a new cluster and replace every
		// Kubernetes object.
		ClusterIdentifier: pulumi.String(acct.Cluster),
		// Fail instead of silently skipping deletes when the cluster is
		// gone; the engine orders Kubernetes deletes before the cluster's.
		DeleteUnreachable: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Provider = provider

	k, err := newKarpenter(ctx, name, &karpenterArgs{
		account:     acct,
		clusterName: clusterName,
		provider:    provider,
		tags:        args.Tags,
		// The controller needs its nodes, DNS and Pod Identity in place.
		dependsOn: []pulumi.Resource{nodeGroup, coreDNS, podIdentity},
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Karpenter = k.release
	c.SystemNodes = nodeGroup
	c.KarpenterNodeAccess = k.nodeAccess

	c.ClusterName = clusterName
	c.Endpoint = cluster.EksCluster.Endpoint()
	c.KubeconfigJSON = pulumi.ToSecret(cluster.KubeconfigJson).(pulumi.StringOutput)
	c.ClusterSecurityGroupID = clusterSG
	c.KarpenterNodeRoleName = k.nodeRole.Name
	c.KarpenterNodeRoleARN = k.nodeRole.Arn
	c.InterruptionQueueName = k.queue.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName":            c.ClusterName,
		"endpoint":               c.Endpoint,
		"kubeconfigJson":         c.KubeconfigJSON,
		"clusterSecurityGroupId": c.ClusterSecurityGroupID,
		"karpenterNodeRoleName":  c.KarpenterNodeRoleName,
		"karpenterNodeRoleArn":   c.KarpenterNodeRoleARN,
		"interruptionQueueName":  c.InterruptionQueueName,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// CoreDNSConfiguration keeps CoreDNS on the system nodes. The addon's
// Deployment tolerates CriticalAddonsOnly but selects no nodes, so it could
// land on a Karpenter node, and a consolidation that moved both replicas
// would take the cluster's DNS with it; the coredns addon schema accepts
// nodeSelector (published describe-addon-configuration output).
func CoreDNSConfiguration() string {
	return manifest.AddonConfiguration(map[string]any{"nodeSelector": map[string]string{SystemNodeLabelKey: SystemNodeLabelValue}})
}

// ControlPlaneLogGroup is the CloudWatch log group EKS writes control-plane
// logs to (fixed by EKS: /aws/eks/<cluster>/cluster).
func ControlPlaneLogGroup(cluster string) string { return "/aws/eks/" + cluster + "/cluster" }

// newControlPlaneLogGroup declares the control-plane log group before the
// cluster when any log type is on. Left to EKS, the group is created on
// first write with no retention (billed forever) and outlives a destroy;
// declared first, it has a retention and goes with the stack. Log groups
// are unique per account and region: it must exist before EKS writes, or
// EKS creates it and this create fails with ResourceAlreadyExistsException.
func newControlPlaneLogGroup(ctx *pulumi.Context, name string, args *Args, tagged func(string) pulumi.StringMap,
	parent pulumi.ResourceOption,
) (*cloudwatch.LogGroup, error) {
	if len(args.LogTypes) == 0 {
		return nil, nil
	}
	group := ControlPlaneLogGroup(args.Account.Cluster)
	return cloudwatch.NewLogGroup(ctx, name+"-control-plane-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(group),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            tagged(group),
	}, parent)
}

// newSystemNodeGroup creates the on-demand Bottlerocket managed node group
// for Karpenter, CoreDNS and the node agents (tainted SystemTaintKey), with
// its role and launch template. EKS creates its access entry itself.
func newSystemNodeGroup(ctx *pulumi.Context, name string, args *Args, clusterName pulumi.StringInput,
	tagged func(string) pulumi.StringMap, parent pulumi.ResourceOption, deps pulumi.ResourceOption,
) (*awseks.NodeGroup, error) {
	role, attachments, err := newNodeRole(ctx, name+"-system-node", systemNodeRoleName(args.Account.Cluster), args.Account.Partition, tagged, parent)
	if err != nil {
		return nil, err
	}

	sn := args.SystemNodes
	lt, err := ec2.NewLaunchTemplate(ctx, name+"-system", &ec2.LaunchTemplateArgs{
		Description: pulumi.String("System nodes of " + args.Account.Cluster),
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{
			bottlerocketVolume("/dev/xvda", 4),
			bottlerocketVolume("/dev/xvdb", sn.DiskSizeGiB),
		},
		// IMDSv2 only, and a hop limit of 1 so pods cannot reach the node
		// role's credentials; workloads get their own roles through Pod
		// Identity.
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: tagged(args.Account.Cluster + "-system")},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: tagged(args.Account.Cluster + "-system")},
		},
		Tags: tagged(name + "-system"),
	}, parent)
	if err != nil {
		return nil, err
	}

	return awseks.NewNodeGroup(ctx, name+"-system", &awseks.NodeGroupArgs{
		ClusterName: clusterName,
		// A prefix, not a fixed name: a change that replaces the group
		// (instance types) creates the new one before deleting the old,
		// so the controllers always have somewhere to run.
		NodeGroupNamePrefix: pulumi.String("system-"),
		// Follows the control plane: an upgrade of cluster.kubernetesVersion
		// rolls the cluster first (this depends on it), then these nodes.
		Version:     pulumi.String(args.KubernetesVersion),
		NodeRoleArn: role.Arn,
		SubnetIds:   args.PrivateSubnetIDs,
		// On-demand: Karpenter's controller and the gateway must not be
		// reclaimed by a spot interruption.
		CapacityType:  pulumi.String("ON_DEMAND"),
		AmiType:       pulumi.String(SystemAMIType(sn.InstanceTypes)),
		InstanceTypes: pulumi.ToStringArray(slices.Clone(sn.InstanceTypes)),
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(sn.MinSize),
			DesiredSize: pulumi.Int(sn.DesiredSize),
			MaxSize:     pulumi.Int(sn.MaxSize),
		},
		// One node at a time during AMI or config rollouts, so the two
		// Karpenter replicas (PDB maxUnavailable 1) never go down together.
		UpdateConfig:   &awseks.NodeGroupUpdateConfigArgs{MaxUnavailable: pulumi.Int(1)},
		LaunchTemplate: &awseks.NodeGroupLaunchTemplateArgs{Id: lt.ID(), Version: lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput)},
		// Replace nodes that fail health checks (kubelet, GPU-less here).
		NodeRepairConfig: &awseks.NodeGroupNodeRepairConfigArgs{Enabled: pulumi.Bool(true)},
		Labels:           pulumi.StringMap{SystemNodeLabelKey: pulumi.String(SystemNodeLabelValue)},
		Taints: awseks.NodeGroupTaintArray{&awseks.NodeGroupTaintArgs{
			Key: pulumi.String(SystemTaintKey), Value: pulumi.String("true"), Effect: pulumi.String("NO_SCHEDULE"),
		}},
		Tags: tagged(args.Account.Cluster + "-system"),
	}, parent, deps, pulumi.DependsOn(attachments))
}

// newNodeRole creates an EC2 node role with the managed node policies and
// returns it with the attachments (what must exist before a node joins).
func newNodeRole(ctx *pulumi.Context, logicalName, roleName, partition string,
	tagged func(string) pulumi.StringMap, parent pulumi.ResourceOption,
) (*iam.Role, []pulumi.Resource, error) {
	return awsrole.New(ctx, logicalName, awsrole.Args{
		Name:    roleName,
		Trust:   NodeTrustPolicy(),
		Managed: NodeManagedPolicies(partition),
		Tags:    tagged(roleName),
	}, parent)
}

// bottlerocketVolume is an encrypted gp3 volume. Bottlerocket has two: the
// OS volume (/dev/xvda) and the data volume (/dev/xvdb, images and pods).
func bottlerocketVolume(device string, sizeGiB int) ec2.LaunchTemplateBlockDeviceMappingInput {
	return &ec2.LaunchTemplateBlockDeviceMappingArgs{
		DeviceName: pulumi.String(device),
		Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
			VolumeSize:          pulumi.Int(sizeGiB),
			VolumeType:          pulumi.String("gp3"),
			Encrypted:           pulumi.String("true"),
			DeleteOnTermination: pulumi.String("true"),
		},
	}
}
