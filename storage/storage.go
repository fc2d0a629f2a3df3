package storage

import (
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/s3"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/awsrole"
	"github.com/llm-platform/llm-platform/iampolicy"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/tags"
)

// Kubernetes names of the model storage.
const (
	// Namespace holds the model workloads and their volume claim.
	Namespace = "models"
	// ClaimName is the ReadWriteMany claim every model pod mounts.
	ClaimName = "model-weights"
	// AccessPointRoot is the directory of the bucket the access point
	// exposes; models live under /models/<name>/<revision> inside it.
	AccessPointRoot = "/models"
	// UID and GID every client acts as through the access point (vLLM and
	// the preload job alike).
	UID = 1000
	GID = 1000
	// CSIDriver is the EFS CSI driver, which mounts S3 Files volumes.
	CSIDriver = "efs.csi.aws.com"
)

// Args configures Storage.
type Args struct {
	Location Location
	// ClusterName is the EKS cluster name output (carries the dependency
	// on the cluster) for the CSI addon.
	ClusterName pulumi.StringInput
	// EFSCSIVersion is the pinned aws-efs-csi-driver addon version.
	EFSCSIVersion string
	// Protect marks the bucket protected; it is retained on delete always.
	Protect bool
	// ImportExisting adopts an existing bucket of the same name.
	ImportExisting bool
	// NoncurrentVersionExpirationDays expires replaced object versions.
	NoncurrentVersionExpirationDays int
	// VpcID, Zones and PrivateSubnetIDs place one mount target per zone.
	VpcID            pulumi.StringInput
	Zones            []string
	PrivateSubnetIDs pulumi.StringArrayOutput
	// NodeSecurityGroupID is the security group of every node (the EKS
	// cluster security group); only it may reach NFS on the mount targets.
	NodeSecurityGroupID pulumi.StringInput
	// Provider is the cluster's Kubernetes provider.
	Provider *kubernetes.Provider
	// ControllerNodeSelector places the CSI driver's controller.
	ControllerNodeSelector map[string]string
	// DependsOn holds what the CSI addon needs first (the nodes its
	// controller runs on: the platform pool).
	DependsOn []pulumi.Resource
	Tags      map[string]string
	// RoleNamePrefix starts the IAM role names (the cluster name).
	RoleNamePrefix string
	// BucketOnly declares the bucket and its settings and nothing else: the
	// LLM layer is off, but the protected bucket (and the weights in it)
	// stays part of the stack, under the same URNs, so the layer can be
	// switched off and on again. Only Location, Protect, ImportExisting,
	// NoncurrentVersionExpirationDays and Tags are used.
	BucketOnly bool
}

// Storage is the model bucket, its S3 Files file system and the claim
// model pods mount.
type Storage struct {
	pulumi.ResourceState

	// BucketName and BucketARN identify the model bucket.
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	BucketARN  pulumi.StringOutput `pulumi:"bucketArn"`
	// FileSystemID is the S3 Files file system.
	FileSystemID pulumi.StringOutput `pulumi:"fileSystemId"`
	// AccessPointID is the access point rooted at /models.
	AccessPointID pulumi.StringOutput `pulumi:"accessPointId"`
	// ClaimName and ClaimNamespace locate the PersistentVolumeClaim.
	ClaimName      pulumi.StringOutput `pulumi:"claimName"`
	ClaimNamespace pulumi.StringOutput `pulumi:"claimNamespace"`

	// Claim is the PersistentVolumeClaim resource: model workloads depend
	// on it (and through it on the mount targets being available).
	Claim pulumi.Resource
	// NamespaceResource is the model namespace.
	NamespaceResource *corev1.Namespace
}

var bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

func (a *Args) validate() error {
	switch {
	case !bucketNameRe.MatchString(a.Location.Bucket):
		return fmt.Errorf("storage: bucket name %q (from config key storage.bucketPrefix) is not a valid S3 bucket name", a.Location.Bucket)
	case a.Location.Partition == "" || a.Location.Region == "" || a.Location.AccountID == "":
		return fmt.Errorf("storage: partition, region and account id are required")
	case a.NoncurrentVersionExpirationDays < 1:
		return fmt.Errorf("storage: config key storage.noncurrentVersionExpirationDays = %d: must be at least 1", a.NoncurrentVersionExpirationDays)
	case a.BucketOnly:
		return nil
	case len(a.Zones) == 0:
		return fmt.Errorf("storage: at least one zone is required for the mount targets")
	case a.EFSCSIVersion == "":
		return fmt.Errorf("storage: no pinned aws-efs-csi-driver version")
	case a.Provider == nil || a.ClusterName == nil || a.NodeSecurityGroupID == nil || a.VpcID == nil:
		return fmt.Errorf("storage: Provider, ClusterName, NodeSecurityGroupID and VpcID are required")
	}
	return nil
}

// NewStorage creates the bucket, S3 Files, the CSI driver and the claim.
func NewStorage(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Storage, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	st := &Storage{}
	if err := ctx.RegisterComponentResource("llm-platform:storage:Storage", name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)
	loc := args.Location
	tagged := func(nameTag string) pulumi.StringMap {
		return tags.Map(tags.Merge(args.Tags, map[string]string{"Name": nameTag}))
	}

	bucket, err := newBucket(ctx, name, args, tagged, parent)
	if err != nil {
		return nil, err
	}
	st.BucketName = bucket.bucket.Bucket
	st.BucketARN = bucket.bucket.Arn
	if args.BucketOnly {
		if err := ctx.RegisterResourceOutputs(st, pulumi.Map{"bucketName": st.BucketName, "bucketArn": st.BucketARN}); err != nil {
			return nil, err
		}
		return st, nil
	}

	// The S3 Files service role.
	fsRoleName := args.RoleNamePrefix + "-s3files"
	fsRole, err := iam.NewRole(ctx, name+"-s3files", &iam.RoleArgs{
		Name:             pulumi.String(fsRoleName),
		AssumeRolePolicy: pulumi.String(FileSystemTrustPolicy(loc).JSON()),
		Tags:             tagged(fsRoleName),
	}, parent)
	if err != nil {
		return nil, err
	}
	fsRolePolicy, err := iam.NewRolePolicy(ctx, name+"-s3files", &iam.RolePolicyArgs{
		Name:   pulumi.String("s3files-sync"),
		Role:   fsRole.Name,
		Policy: pulumi.String(FileSystemPolicy(loc).JSON()),
	}, parent)
	if err != nil {
		return nil, err
	}

	fsArgs := &s3.FilesFileSystemArgs{
		Bucket:  bucket.bucket.Arn,
		RoleArn: fsRole.Arn,
		Tags:    tagged(name),
	}
	if loc.KMSKeyARN != "" {
		fsArgs.KmsKeyId = pulumi.String(loc.KMSKeyARN)
	}
	// S3 Files needs versioning and encryption in place before it starts.
	fs, err := s3.NewFilesFileSystem(ctx, name, fsArgs, parent,
		pulumi.DependsOn([]pulumi.Resource{fsRolePolicy, bucket.versioning, bucket.encryption}))
	if err != nil {
		return nil, err
	}
	st.FileSystemID = fs.ID().ToStringOutput()

	// Weights are large and read sequentially at startup: they stream from
	// S3 (high throughput, no copy to pay for). Only small files (configs,
	// tokenizers, marker files: under 1 MiB) are imported to the
	// low-latency tier on first access, and expire from it after 30 days
	// without access; S3 keeps the data regardless.
	if _, err := s3.NewFilesSynchronizationConfiguration(ctx, name, &s3.FilesSynchronizationConfigurationArgs{
		FileSystemId: fs.ID(),
		ImportDataRules: s3.FilesSynchronizationConfigurationImportDataRuleArray{
			&s3.FilesSynchronizationConfigurationImportDataRuleArgs{
				Prefix: pulumi.String(""), SizeLessThan: pulumi.Int(SmallFileBytes), Trigger: pulumi.String("ON_FILE_ACCESS"),
			},
		},
		ExpirationDataRules: s3.FilesSynchronizationConfigurationExpirationDataRuleArray{
			&s3.FilesSynchronizationConfigurationExpirationDataRuleArgs{DaysAfterLastAccess: pulumi.Int(30)},
		},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewFilesFileSystemPolicy(ctx, name, &s3.FilesFileSystemPolicyArgs{
		FileSystemId: fs.ID(),
		Policy: fs.Arn.ApplyT(func(arn string) string {
			return ClientMountPolicy(loc, arn).JSON()
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, err
	}

	// NFS from the nodes only.
	sg, err := ec2.NewSecurityGroup(ctx, name+"-mount-targets", &ec2.SecurityGroupArgs{
		VpcId:       args.VpcID,
		Description: pulumi.String("S3 Files mount targets: NFS from cluster nodes only"),
		Tags:        tagged(name + "-mount-targets"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewSecurityGroupRule(ctx, name+"-nfs-from-nodes", &ec2.SecurityGroupRuleArgs{
		Type:                  pulumi.String("ingress"),
		SecurityGroupId:       sg.ID(),
		Protocol:              pulumi.String("tcp"),
		FromPort:              pulumi.Int(2049),
		ToPort:                pulumi.Int(2049),
		SourceSecurityGroupId: args.NodeSecurityGroupID,
		Description:           pulumi.String("NFS from EKS nodes (system and Karpenter)"),
	}, parent); err != nil {
		return nil, err
	}
	var mountTargets []pulumi.Resource
	for i, zone := range args.Zones {
		mt, err := s3.NewFilesMountTarget(ctx, fmt.Sprintf("%s-%s", name, zone), &s3.FilesMountTargetArgs{
			FileSystemId:   fs.ID(),
			SubnetId:       args.PrivateSubnetIDs.Index(pulumi.Int(i)),
			SecurityGroups: pulumi.StringArray{sg.ID()},
		}, parent)
		if err != nil {
			return nil, err
		}
		mountTargets = append(mountTargets, mt)
	}

	ap, err := s3.NewFilesAccessPoint(ctx, name+"-models", &s3.FilesAccessPointArgs{
		FileSystemId: fs.ID(),
		PosixUsers:   s3.FilesAccessPointPosixUserArray{&s3.FilesAccessPointPosixUserArgs{Uid: pulumi.Int(UID), Gid: pulumi.Int(GID)}},
		// Rooted at /models, not /: subPath mounts below the root of the
		// file system fail with EACCES.
		RootDirectories: s3.FilesAccessPointRootDirectoryArray{&s3.FilesAccessPointRootDirectoryArgs{
			Path: pulumi.String(AccessPointRoot),
			CreationPermissions: s3.FilesAccessPointRootDirectoryCreationPermissionArray{
				&s3.FilesAccessPointRootDirectoryCreationPermissionArgs{OwnerUid: pulumi.Int(UID), OwnerGid: pulumi.Int(GID), Permissions: pulumi.String("0755")},
			},
		}},
		Tags: tagged(name + "-models"),
	}, parent)
	if err != nil {
		return nil, err
	}
	st.AccessPointID = ap.ID().ToStringOutput()

	addon, err := newCSIDriver(ctx, name, args, tagged, parent)
	if err != nil {
		return nil, err
	}

	k8s := pulumi.Provider(args.Provider)
	// Model pods run as uid 1000 with no privilege, every capability
	// dropped and the runtime's seccomp profile: they pass restricted,
	// which the namespace enforces (the real API server check in make test
	// dry-runs every one of them).
	ns, err := manifest.NewNamespace(ctx, name+"-namespace", Namespace,
		manifest.PodSecurityLabels(manifest.PodSecurityRestricted), parent, k8s)
	if err != nil {
		return nil, err
	}
	st.NamespaceResource = ns

	pvName := fmt.Sprintf("%s-%s", Namespace, ClaimName)
	pv, err := corev1.NewPersistentVolume(ctx, name+"-pv", &corev1.PersistentVolumeArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(pvName)},
		Spec: &corev1.PersistentVolumeSpecArgs{
			// Required by the API, ignored by the driver: S3 Files grows
			// with the bucket.
			Capacity:                      pulumi.StringMap{"storage": pulumi.String("1Ti")},
			AccessModes:                   pulumi.StringArray{pulumi.String("ReadWriteMany")},
			PersistentVolumeReclaimPolicy: pulumi.String("Retain"),
			StorageClassName:              pulumi.String(""),
			Csi: &corev1.CSIPersistentVolumeSourceArgs{
				Driver:       pulumi.String(CSIDriver),
				VolumeHandle: VolumeHandle(fs.ID().ToStringOutput(), ap.ID().ToStringOutput()),
			},
			ClaimRef: &corev1.ObjectReferenceArgs{Namespace: pulumi.String(Namespace), Name: pulumi.String(ClaimName)},
		},
	}, parent, k8s, pulumi.DependsOn(append([]pulumi.Resource{addon}, mountTargets...)))
	if err != nil {
		return nil, err
	}
	claim, err := corev1.NewPersistentVolumeClaim(ctx, name+"-pvc", &corev1.PersistentVolumeClaimArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ClaimName), Namespace: ns.Metadata.Name()},
		Spec: &corev1.PersistentVolumeClaimSpecArgs{
			AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteMany")},
			StorageClassName: pulumi.String(""),
			VolumeName:       pv.Metadata.Name(),
			Resources: &corev1.VolumeResourceRequirementsArgs{
				Requests: pulumi.StringMap{"storage": pulumi.String("1Ti")},
			},
		},
	}, parent, k8s)
	if err != nil {
		return nil, err
	}
	st.Claim = claim
	st.ClaimName = claim.Metadata.Name().Elem()
	st.ClaimNamespace = claim.Metadata.Namespace().Elem()

	if err := ctx.RegisterResourceOutputs(st, pulumi.Map{
		"bucketName":     st.BucketName,
		"bucketArn":      st.BucketARN,
		"fileSystemId":   st.FileSystemID,
		"accessPointId":  st.AccessPointID,
		"claimName":      st.ClaimName,
		"claimNamespace": st.ClaimNamespace,
	}); err != nil {
		return nil, err
	}
	return st, nil
}

// SmallFileBytes is the size under which S3 Files imports a file to its
// low-latency tier on access (1 MiB).
const SmallFileBytes = 1 << 20

// VolumeHandle is the CSI volume handle of an S3 Files access point: the
// s3files: prefix tells the EFS CSI driver the volume is S3 Files, not EFS.
func VolumeHandle(fileSystemID, accessPointID pulumi.StringOutput) pulumi.StringOutput {
	return pulumi.All(fileSystemID, accessPointID).ApplyT(func(v []any) string {
		return FormatVolumeHandle(v[0].(string), v[1].(string))
	}).(pulumi.StringOutput)
}

// FormatVolumeHandle is VolumeHandle for plain values.
func FormatVolumeHandle(fileSystemID, accessPointID string) string {
	return fmt.Sprintf("s3files:%s::%s", fileSystemID, accessPointID)
}

type bucketResources struct {
	bucket     *s3.Bucket
	versioning *s3.BucketVersioning
	encryption *s3.BucketServerSideEncryptionConfiguration
}

// newBucket creates (or adopts) the model bucket and its settings. The
// bucket is retained on delete, always, and protected unless storage.protect
// is false: a destroy never deletes model weights. Its settings are retained
// too, so a bucket left behind keeps versioning (S3 Files needs it),
// encryption, the public access block and the TLS-only policy.
func newBucket(ctx *pulumi.Context, name string, args *Args, tagged func(string) pulumi.StringMap, parent pulumi.ResourceOption) (*bucketResources, error) {
	loc := args.Location
	keep := pulumi.RetainOnDelete(true)
	bucketOpts := []pulumi.ResourceOption{parent, keep, pulumi.Protect(args.Protect)}
	if args.ImportExisting {
		// Adopt the bucket kept by an earlier stack instead of creating it.
		bucketOpts = append(bucketOpts, pulumi.Import(pulumi.ID(loc.Bucket)))
	}
	bucket, err := s3.NewBucket(ctx, name+"-bucket", &s3.BucketArgs{
		Bucket: pulumi.String(loc.Bucket),
		// Never empty the bucket to delete it.
		ForceDestroy: pulumi.Bool(false),
		Tags:         tagged(loc.Bucket),
	}, bucketOpts...)
	if err != nil {
		return nil, err
	}
	b := &bucketResources{bucket: bucket}
	settings := []pulumi.ResourceOption{parent, keep}

	if b.versioning, err = s3.NewBucketVersioning(ctx, name+"-versioning", &s3.BucketVersioningArgs{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningVersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, settings...); err != nil {
		return nil, err
	}
	sse := &s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")}
	if loc.KMSKeyARN != "" {
		sse = &s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: pulumi.String(loc.KMSKeyARN),
		}
	}
	if b.encryption, err = s3.NewBucketServerSideEncryptionConfiguration(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationArgs{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationRuleArray{&s3.BucketServerSideEncryptionConfigurationRuleArgs{
			ApplyServerSideEncryptionByDefault: sse,
			// With SSE-KMS, a bucket key cuts KMS requests (and their cost)
			// by orders of magnitude when S3 Files reads weights.
			BucketKeyEnabled: pulumi.Bool(loc.KMSKeyARN != ""),
		}},
	}, settings...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, settings...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, settings...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPolicy(ctx, name+"-tls-only", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: pulumi.String(BucketPolicy(loc).JSON()),
	}, settings...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfiguration(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationArgs{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationRuleArray{&s3.BucketLifecycleConfigurationRuleArgs{
			Id:     pulumi.String("expire-replaced-versions"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationRuleFilterArgs{Prefix: pulumi.String("")},
			// Re-downloaded or deleted weights stay recoverable for a
			// while, then stop costing storage.
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(args.NoncurrentVersionExpirationDays),
			},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(7),
			},
		}},
	}, settings...); err != nil {
		return nil, err
	}
	return b, nil
}

// newCSIDriver installs the EFS CSI driver addon with a Pod Identity role
// for each of its service accounts.
func newCSIDriver(ctx *pulumi.Context, name string, args *Args, tagged func(string) pulumi.StringMap, parent pulumi.ResourceOption) (*awseks.Addon, error) {
	loc := args.Location
	role := func(suffix string, managed []string, inline *iampolicy.Document) (*iam.Role, []pulumi.Resource, error) {
		roleName := args.RoleNamePrefix + "-" + suffix
		r, deps, err := awsrole.New(ctx, name+"-"+suffix, awsrole.Args{
			Name: roleName, Trust: iampolicy.PodIdentityTrust(), Managed: managed, Tags: tagged(roleName),
		}, parent)
		if err != nil || inline == nil {
			return r, deps, err
		}
		p, err := iam.NewRolePolicy(ctx, name+"-"+suffix+"-s3-read", &iam.RolePolicyArgs{
			Name: pulumi.String("s3-read"), Role: r.Name, Policy: pulumi.String(inline.JSON()),
		}, parent)
		if err != nil {
			return nil, nil, err
		}
		return r, append(deps, p), nil
	}
	controller, controllerDeps, err := role("efs-csi-controller", csiControllerPolicies(loc.Partition), nil)
	if err != nil {
		return nil, err
	}
	nodeRead := CSINodeS3ReadPolicy(loc)
	node, nodeDeps, err := role("efs-csi-node", csiNodePolicies(loc.Partition), &nodeRead)
	if err != nil {
		return nil, err
	}
	deps := append(append(append([]pulumi.Resource{}, args.DependsOn...), controllerDeps...), nodeDeps...)
	return awseks.NewAddon(ctx, name+"-efs-csi-driver", &awseks.AddonArgs{
		ClusterName:  args.ClusterName,
		AddonName:    pulumi.String("aws-efs-csi-driver"),
		AddonVersion: pulumi.String(args.EFSCSIVersion),
		// The controller on the platform pool; the node DaemonSet
		// tolerates every taint and runs everywhere.
		ConfigurationValues: pulumi.String(manifest.ControllerPlacement(args.ControllerNodeSelector)),
		PodIdentityAssociations: awseks.AddonPodIdentityAssociationArray{
			&awseks.AddonPodIdentityAssociationArgs{RoleArn: controller.Arn, ServiceAccount: pulumi.String(CSIControllerServiceAccount)},
			&awseks.AddonPodIdentityAssociationArgs{RoleArn: node.Arn, ServiceAccount: pulumi.String(CSINodeServiceAccount)},
		},
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
		Tags:                     tagged(name + "-efs-csi-driver"),
	}, parent, pulumi.DependsOn(deps))
}

// Service accounts of the EFS CSI driver addon.
const (
	CSIControllerServiceAccount = "efs-csi-controller-sa"
	CSINodeServiceAccount       = "efs-csi-node-sa"
)
