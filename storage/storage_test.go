package storage

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/iampolicy"
	"github.com/llm-platform/llm-platform/render"
)

var testLocation = Location{Partition: "aws", Region: "us-east-1", AccountID: "111122223333", Bucket: "llm-models-test-us-east-1-111122223333"}

func renderStorage(t *testing.T, mutate func(*Args)) *render.Result {
	t.Helper()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		args := &Args{
			Location:                        testLocation,
			ClusterName:                     pulumi.String("llm-test"),
			EFSCSIVersion:                   "v3.4.2-eksbuild.1",
			Protect:                         true,
			NoncurrentVersionExpirationDays: 30,
			VpcID:                           pulumi.String("vpc-1"),
			Zones:                           []string{"us-east-1a", "us-east-1b", "us-east-1c"},
			PrivateSubnetIDs:                pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}).ToStringArrayOutput(),
			NodeSecurityGroupID:             pulumi.String("sg-nodes"),
			Provider:                        provider,
			Tags:                            map[string]string{"team": "ml"},
			RoleNamePrefix:                  "llm-test",
		}
		if mutate != nil {
			mutate(args)
		}
		_, err := NewStorage(ctx, "models", args)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func named(t *testing.T, res *render.Result, typ, name string) render.Resource {
	t.Helper()
	r := res.Named(typ, name)
	if r == nil {
		t.Fatalf("no %s %s", typ, name)
	}
	return *r
}

func TestBucketProtectedRetainedHardened(t *testing.T) {
	t.Parallel()
	res := renderStorage(t, nil)
	bucket := named(t, res, "aws:s3/bucket:Bucket", "models-bucket")
	if !bucket.Protect || !bucket.RetainOnDelete || bucket.ImportID != "" || bucket.Inputs["forceDestroy"] != false {
		t.Errorf("bucket protect=%v retain=%v import=%q forceDestroy=%v", bucket.Protect, bucket.RetainOnDelete, bucket.ImportID, bucket.Inputs["forceDestroy"])
	}
	if bucket.String("bucket") != testLocation.Bucket {
		t.Errorf("bucket name %q", bucket.String("bucket"))
	}
	settings := map[string]string{
		"aws:s3/bucketVersioning:BucketVersioning":                                               "models-versioning",
		"aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "models-encryption",
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                 "models-public-access",
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                 "models-ownership",
		"aws:s3/bucketPolicy:BucketPolicy":                                                       "models-tls-only",
		"aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":                       "models-lifecycle",
	}
	for typ, name := range settings {
		r := named(t, res, typ, name)
		if !r.RetainOnDelete || r.String("bucket") != render.FakeID(testLocation.Bucket) && r.String("bucket") != render.FakeID("models-bucket") {
			t.Errorf("%s: retain=%v bucket=%q", name, r.RetainOnDelete, r.String("bucket"))
		}
	}
	if v := named(t, res, "aws:s3/bucketVersioning:BucketVersioning", "models-versioning").String("versioningConfiguration.status"); v != "Enabled" {
		t.Errorf("versioning %q", v)
	}
	pab := named(t, res, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models-public-access")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab.Inputs[k] != true {
			t.Errorf("public access block %s = %v", k, pab.Inputs[k])
		}
	}
	if o := named(t, res, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "models-ownership").String("rule.objectOwnership"); o != "BucketOwnerEnforced" {
		t.Errorf("ownership %q", o)
	}
	if a := named(t, res, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "models-encryption").String("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm"); a != "AES256" {
		t.Errorf("default SSE %q, want SSE-S3", a)
	}
	lc := named(t, res, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "models-lifecycle")
	if v, _ := lc.Input("rules.0.noncurrentVersionExpiration.noncurrentDays"); v != 30.0 {
		t.Errorf("noncurrent days = %v", v)
	}
	if p := named(t, res, "aws:s3/bucketPolicy:BucketPolicy", "models-tls-only").String("policy"); p != BucketPolicy(testLocation).JSON() {
		t.Errorf("bucket policy = %s", p)
	}
}

func TestBucketUnprotectedStillRetainedAndImport(t *testing.T) {
	t.Parallel()
	res := renderStorage(t, func(a *Args) { a.Protect, a.ImportExisting = false, true })
	bucket := named(t, res, "aws:s3/bucket:Bucket", "models-bucket")
	if bucket.Protect || !bucket.RetainOnDelete {
		t.Errorf("protect=%v retain=%v: want unprotected but retained", bucket.Protect, bucket.RetainOnDelete)
	}
	if bucket.ImportID != testLocation.Bucket {
		t.Errorf("import id %q, want the bucket name", bucket.ImportID)
	}
}

func TestKMSBucket(t *testing.T) {
	t.Parallel()
	key := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	res := renderStorage(t, func(a *Args) { a.Location.KMSKeyARN = key })
	sse := named(t, res, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "models-encryption")
	if sse.String("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" ||
		sse.String("rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId") != key || sse.Inputs["rules"].([]any)[0].(map[string]any)["bucketKeyEnabled"] != true {
		t.Errorf("SSE-KMS = %v", sse.Inputs)
	}
	if named(t, res, "aws:s3/filesFileSystem:FilesFileSystem", "models").String("kmsKeyId") != key {
		t.Error("file system does not use the KMS key")
	}
	loc := testLocation
	loc.KMSKeyARN = key
	if !strings.Contains(FileSystemPolicy(loc).JSON(), key) || strings.Contains(FileSystemPolicy(testLocation).JSON(), "kms:") {
		t.Error("the KMS statement must exist exactly when a key is configured")
	}
}

func TestIAMDocuments(t *testing.T) {
	t.Parallel()
	trust := FileSystemTrustPolicy(testLocation).Statement[0]
	if !slices.Equal(trust.Principal.Service, []string{"elasticfilesystem.amazonaws.com"}) ||
		trust.Condition["StringEquals"]["aws:SourceAccount"] != "111122223333" {
		t.Errorf("file system trust = %+v", trust)
	}
	loc := testLocation
	loc.KMSKeyARN = "arn:aws:kms:us-east-1:111122223333:key/k"
	for name, doc := range map[string]iampolicy.Document{
		"file system": FileSystemPolicy(loc), "csi node read": CSINodeS3ReadPolicy(loc), "client mount": ClientMountPolicy(loc, "arn:aws:s3files:us-east-1:111122223333:file-system/fs-1"),
	} {
		for _, s := range doc.Statement {
			for _, a := range s.Action {
				if strings.Contains(a, "*") {
					t.Errorf("%s/%s: wildcard action %s", name, s.Sid, a)
				}
			}
			for _, r := range s.Resource {
				if r == "*" {
					t.Errorf("%s/%s: every resource", name, s.Sid)
				}
				if strings.HasPrefix(r, "arn:aws:s3:::") && !strings.HasPrefix(r, "arn:aws:s3:::"+loc.Bucket) {
					t.Errorf("%s/%s: resource %s outside the model bucket", name, s.Sid, r)
				}
			}
		}
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(ClientMountPolicy(testLocation, "fs-arn").JSON()), &got); err != nil {
		t.Fatal(err)
	}
	allow := got["Statement"].([]any)[0].(map[string]any)
	if allow["Principal"].(map[string]any)["AWS"].([]any)[0] != "arn:aws:iam::111122223333:root" ||
		allow["Condition"].(map[string]any)["Bool"].(map[string]any)["aws:SecureTransport"] != "true" {
		t.Errorf("client mount allow = %v", allow)
	}
	deny := got["Statement"].([]any)[1].(map[string]any)
	if deny["Effect"] != "Deny" || deny["Principal"] != "*" {
		t.Errorf("client mount deny = %v", deny)
	}
}

func TestMountTargetsAndSecurityGroup(t *testing.T) {
	t.Parallel()
	res := renderStorage(t, nil)
	mts := res.OfType("aws:s3/filesMountTarget:FilesMountTarget")
	if len(mts) != 3 {
		t.Fatalf("%d mount targets, want one per zone", len(mts))
	}
	sgID := render.FakeID("models-mount-targets")
	for i, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		mt := named(t, res, "aws:s3/filesMountTarget:FilesMountTarget", "models-"+zone)
		if mt.String("subnetId") != []string{"subnet-a", "subnet-b", "subnet-c"}[i] || mt.String("fileSystemId") != render.FakeID("models") {
			t.Errorf("mount target %s = %v", zone, mt.Inputs)
		}
		if sgs, _ := mt.Input("securityGroups"); !slices.Equal(sgs.([]any), []any{sgID}) {
			t.Errorf("mount target %s security groups %v", zone, sgs)
		}
	}
	rules := res.OfType("aws:ec2/securityGroupRule:SecurityGroupRule")
	if len(rules) != 1 {
		t.Fatalf("%d security group rules, want only NFS from the nodes", len(rules))
	}
	r := rules[0]
	if r.String("type") != "ingress" || r.Inputs["fromPort"] != 2049.0 || r.Inputs["toPort"] != 2049.0 || r.String("protocol") != "tcp" ||
		r.String("sourceSecurityGroupId") != "sg-nodes" || r.String("securityGroupId") != sgID {
		t.Errorf("rule = %v", r.Inputs)
	}
	if _, open := r.Inputs["cidrBlocks"]; open {
		t.Error("NFS open to CIDR blocks")
	}
	sg := named(t, res, "aws:ec2/securityGroup:SecurityGroup", "models-mount-targets")
	if _, inline := sg.Inputs["ingress"]; inline {
		t.Error("inline ingress rules on the mount target security group")
	}
}

func TestAccessPointVolumeAndClaim(t *testing.T) {
	t.Parallel()
	res := renderStorage(t, nil)
	ap := named(t, res, "aws:s3/filesAccessPoint:FilesAccessPoint", "models-models")
	if ap.String("rootDirectories.0.path") != "/models" {
		t.Errorf("access point root %q", ap.String("rootDirectories.0.path"))
	}
	if u, _ := ap.Input("posixUsers.0.uid"); u != float64(UID) {
		t.Errorf("posix user %v", u)
	}
	pv := named(t, res, "kubernetes:core/v1:PersistentVolume", "models-pv")
	want := FormatVolumeHandle(render.FakeID("models"), render.FakeID("models-models"))
	if pv.String("spec.csi.volumeHandle") != want || !strings.HasPrefix(want, "s3files:") || !strings.Contains(want, "::") {
		t.Errorf("volumeHandle %q, want %q", pv.String("spec.csi.volumeHandle"), want)
	}
	if pv.String("spec.csi.driver") != CSIDriver || pv.String("spec.persistentVolumeReclaimPolicy") != "Retain" || pv.String("spec.accessModes.0") != "ReadWriteMany" {
		t.Errorf("pv = %v", pv.Inputs["spec"])
	}
	for _, mt := range res.OfType("aws:s3/filesMountTarget:FilesMountTarget") {
		if !slices.Contains(pv.DependsOn, mt.URN) {
			t.Errorf("the volume does not wait for mount target %s", mt.Name)
		}
	}
	if !slices.Contains(pv.DependsOn, named(t, res, "aws:eks/addon:Addon", "models-efs-csi-driver").URN) {
		t.Error("the volume does not wait for the CSI driver")
	}
	pvc := named(t, res, "kubernetes:core/v1:PersistentVolumeClaim", "models-pvc")
	if pvc.String("metadata.namespace") != Namespace || pvc.String("spec.volumeName") != pv.String("metadata.name") || pvc.String("spec.storageClassName") != "" {
		t.Errorf("pvc = %v", pvc.Inputs)
	}
}

func TestCSIDriverPodIdentity(t *testing.T) {
	t.Parallel()
	res := renderStorage(t, nil)
	addon := named(t, res, "aws:eks/addon:Addon", "models-efs-csi-driver")
	if addon.String("addonName") != "aws-efs-csi-driver" || !strings.HasPrefix(addon.String("addonVersion"), "v3.") {
		t.Errorf("addon = %v", addon.Inputs)
	}
	assoc, _ := addon.Input("podIdentityAssociations")
	want := map[string]string{
		CSIControllerServiceAccount: "arn:aws:iam::123456789012:role/llm-test-efs-csi-controller",
		CSINodeServiceAccount:       "arn:aws:iam::123456789012:role/llm-test-efs-csi-node",
	}
	if len(assoc.([]any)) != 2 {
		t.Fatalf("associations = %v", assoc)
	}
	for _, a := range assoc.([]any) {
		m := a.(map[string]any)
		if want[m["serviceAccount"].(string)] != m["roleArn"] {
			t.Errorf("association %v", m)
		}
	}
	attached := map[string][]string{}
	for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		attached[a.String("role")] = append(attached[a.String("role")], iampolicy.Name(a.String("policyArn")))
	}
	for _, got := range attached {
		slices.Sort(got)
	}
	if got := attached["llm-test-efs-csi-controller"]; !slices.Equal(got, []string{"AmazonEFSCSIDriverPolicy", "AmazonS3FilesCSIDriverPolicy", "AmazonS3FilesClientFullAccess"}) {
		t.Errorf("controller policies %v", got)
	}
	if got := attached["llm-test-efs-csi-node"]; !slices.Equal(got, []string{"AmazonElasticFileSystemsUtils", "AmazonS3FilesClientFullAccess"}) {
		t.Errorf("node policies %v", got)
	}
	read := named(t, res, "aws:iam/rolePolicy:RolePolicy", "models-efs-csi-node-s3-read")
	if read.String("role") != "llm-test-efs-csi-node" || read.String("policy") != CSINodeS3ReadPolicy(testLocation).JSON() {
		t.Errorf("node S3 read = %v", read.Inputs)
	}
}

func TestStorageRejectsBadArgs(t *testing.T) {
	t.Parallel()
	for want, mutate := range map[string]func(*Args){
		"storage.bucketPrefix":            func(a *Args) { a.Location.Bucket = "Bad_Bucket" },
		"mount targets":                   func(a *Args) { a.Zones = nil },
		"noncurrentVersionExpirationDays": func(a *Args) { a.NoncurrentVersionExpirationDays = 0 },
		"aws-efs-csi-driver":              func(a *Args) { a.EFSCSIVersion = "" },
	} {
		res, err := render.RunComponent("us-east-1", func(ctx *pulumi.Context) error {
			args := &Args{Location: testLocation, Zones: []string{"a"}, NoncurrentVersionExpirationDays: 1, EFSCSIVersion: "v3"}
			mutate(args)
			_, err := NewStorage(ctx, "models", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), want) || len(res.Resources) != 0 {
			t.Errorf("err = %v (want one about %s), %d resources", err, want, len(res.Resources))
		}
	}
}

// The file-system role grants what AWS's S3 Files prerequisites grant, with
// the same conditions: EventBridge rule changes only for rules S3 Files
// manages, rule reads without that condition (S3 Files reads rules it does
// not manage yet), and KMS through S3 with a string match on the bucket.
func TestFileSystemPolicyMatchesS3FilesPrerequisites(t *testing.T) {
	t.Parallel()
	loc := testLocation
	loc.KMSKeyARN = "arn:aws:kms:us-east-1:111122223333:key/k"
	doc := FileSystemPolicy(loc)
	grant := func(action string) (iampolicy.Statement, bool) {
		for _, s := range doc.Statement {
			if s.Effect == iampolicy.Allow && slices.Contains(s.Action, action) {
				return s, true
			}
		}
		return iampolicy.Statement{}, false
	}
	for _, tc := range []struct {
		actions   []string
		condition string // the condition operator the grant must carry ("" for none)
		key       string
	}{
		{[]string{"events:DeleteRule", "events:DisableRule", "events:EnableRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets"}, "StringEquals", "events:ManagedBy"},
		{[]string{"events:DescribeRule", "events:ListRuleNamesByTarget", "events:ListRules", "events:ListTargetsByRule"}, "", ""},
		{[]string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", "s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"}, "StringEquals", "aws:ResourceAccount"},
		{[]string{"kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"}, "StringLike", "kms:EncryptionContext:aws:s3:arn"},
	} {
		for _, a := range tc.actions {
			s, ok := grant(a)
			switch {
			case !ok:
				t.Errorf("%s is not granted", a)
			case tc.condition == "" && len(s.Condition) > 0:
				t.Errorf("%s is granted only under %v (statement %s); S3 Files needs it unconditioned", a, s.Condition, s.Sid)
			case tc.condition != "" && s.Condition[tc.condition][tc.key] == nil:
				t.Errorf("%s: statement %s has conditions %v, want %s on %s", a, s.Sid, s.Condition, tc.condition, tc.key)
			}
		}
	}
	trust := FileSystemTrustPolicy(loc).Statement[0]
	if trust.Condition["ArnLike"]["aws:SourceArn"] != "arn:aws:s3files:us-east-1:111122223333:file-system/*" {
		t.Errorf("file system trust conditions = %v, want aws:SourceArn limited to this account's S3 Files file systems", trust.Condition)
	}
}
