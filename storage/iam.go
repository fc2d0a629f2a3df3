package storage

import (
	"fmt"

	"github.com/llm-platform/llm-platform/iampolicy"
)

// Location names the bucket and account the documents below are written
// for; everything is a plain value, so the policies are known at preview.
type Location struct {
	Partition string
	Region    string
	AccountID string
	Bucket    string
	// KMSKeyARN is set when the bucket uses SSE-KMS.
	KMSKeyARN string
}

// BucketARN is the bucket's ARN.
func (l Location) BucketARN() string { return fmt.Sprintf("arn:%s:s3:::%s", l.Partition, l.Bucket) }

// ObjectsARN covers every object of the bucket.
func (l Location) ObjectsARN() string { return l.BucketARN() + "/*" }

// BucketPolicy refuses every request that does not use TLS.
func BucketPolicy(l Location) iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Sid:       "DenyInsecureTransport",
		Effect:    iampolicy.Deny,
		Principal: iampolicy.AnyPrincipal,
		Action:    []string{"s3:*"},
		Resource:  []string{l.BucketARN(), l.ObjectsARN()},
		Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
	})
}

// FileSystemTrustPolicy lets S3 Files assume its role, only on behalf of
// this account. S3 Files runs on EFS infrastructure and assumes the role as
// elasticfilesystem.amazonaws.com (a role trusting s3files.amazonaws.com
// leaves the file system stuck in "creating").
// The source conditions (this account, this region's S3 Files file
// systems) are the ones AWS's S3 Files prerequisites show.
func FileSystemTrustPolicy(l Location) iampolicy.Document {
	return iampolicy.Trust([]string{"elasticfilesystem.amazonaws.com"}, []string{"sts:AssumeRole"},
		map[string]map[string]any{
			"StringEquals": {"aws:SourceAccount": l.AccountID},
			"ArnLike":      {"aws:SourceArn": fmt.Sprintf("arn:%s:s3files:%s:%s:file-system/*", l.Partition, l.Region, l.AccountID)},
		})
}

// The S3 Files prerequisites grant the file-system role s3:ListBucket* on
// the bucket and s3:AbortMultipartUpload, s3:DeleteObject*, s3:GetObject*,
// s3:List* and s3:PutObject* on its objects (AWS S3 user guide, "Prerequisites
// for S3 Files"; the same statements in the terraform-provider-aws S3 Files
// acceptance test and the CDK s3files example). The wildcards are written
// out here as every S3 action they match, so a review sees exactly what the
// role can do and no future action is granted by accident.
var (
	fileSystemBucketActions = []string{"s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"}
	fileSystemObjectActions = []string{
		"s3:AbortMultipartUpload",
		"s3:DeleteObject", "s3:DeleteObjectTagging", "s3:DeleteObjectVersion", "s3:DeleteObjectVersionTagging",
		"s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectAttributes", "s3:GetObjectLegalHold",
		"s3:GetObjectRetention", "s3:GetObjectTagging", "s3:GetObjectTorrent",
		"s3:GetObjectVersion", "s3:GetObjectVersionAcl", "s3:GetObjectVersionAttributes",
		"s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging", "s3:GetObjectVersionTorrent",
		"s3:ListMultipartUploadParts",
		"s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectLegalHold", "s3:PutObjectRetention",
		"s3:PutObjectTagging", "s3:PutObjectVersionAcl", "s3:PutObjectVersionTagging",
	}
	// S3 Files watches the bucket through EventBridge rules it creates and
	// names DO-NOT-DELETE-S3-Files*. It changes only rules it manages
	// (events:ManagedBy), but reads rules without that condition: the
	// prerequisites put the four reads in a separate, unconditioned
	// statement on rule/*, as AWS's own GuardDuty and FIS policies do.
	fileSystemEventManageActions = []string{
		"events:DeleteRule", "events:DisableRule", "events:EnableRule",
		"events:PutRule", "events:PutTargets", "events:RemoveTargets",
	}
	fileSystemEventReadActions = []string{
		"events:DescribeRule", "events:ListRuleNamesByTarget", "events:ListRules", "events:ListTargetsByRule",
	}
)

// FileSystemPolicy is what S3 Files needs to keep the file system and the
// bucket in sync: list the bucket, read and write its objects, manage its
// own EventBridge rules, and use the KMS key when the bucket has one.
func FileSystemPolicy(l Location) iampolicy.Document {
	sameAccount := map[string]map[string]any{"StringEquals": {"aws:ResourceAccount": l.AccountID}}
	doc := iampolicy.New(
		iampolicy.Statement{
			Sid: "ListBucket", Effect: iampolicy.Allow, Action: fileSystemBucketActions,
			Resource: []string{l.BucketARN()}, Condition: sameAccount,
		},
		iampolicy.Statement{
			Sid: "ReadWriteObjects", Effect: iampolicy.Allow, Action: fileSystemObjectActions,
			Resource: []string{l.ObjectsARN()}, Condition: sameAccount,
		},
		iampolicy.Statement{
			Sid: "ManageSyncRules", Effect: iampolicy.Allow, Action: fileSystemEventManageActions,
			Resource:  []string{fmt.Sprintf("arn:%s:events:%s:%s:rule/DO-NOT-DELETE-S3-Files*", l.Partition, l.Region, l.AccountID)},
			Condition: map[string]map[string]any{"StringEquals": {"events:ManagedBy": "elasticfilesystem.amazonaws.com"}},
		},
		iampolicy.Statement{
			Sid: "ReadSyncRules", Effect: iampolicy.Allow, Action: fileSystemEventReadActions,
			Resource: []string{fmt.Sprintf("arn:%s:events:%s:%s:rule/*", l.Partition, l.Region, l.AccountID)},
		},
	)
	if l.KMSKeyARN != "" {
		st := kmsStatement(l, "UseBucketKey")
		// S3 Files re-encrypts when it writes back (the prerequisites'
		// five actions).
		st.Action = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
		doc.Statement = append(doc.Statement, st)
	}
	return doc
}

// kmsStatement allows encrypting and decrypting the bucket's objects with
// its key, only through S3 and only for this bucket.
func kmsStatement(l Location, sid string) iampolicy.Statement {
	return iampolicy.Statement{
		Sid: sid, Effect: iampolicy.Allow,
		Action:   []string{"kms:Decrypt", "kms:GenerateDataKey"},
		Resource: []string{l.KMSKeyARN},
		// kms:EncryptionContext:aws:s3:arn is a string-typed key: IAM
		// documents the ARN operators for ARN-typed keys, and AWS's S3
		// Files and S3 examples match it with StringLike.
		Condition: map[string]map[string]any{
			"StringEquals": {"kms:ViaService": fmt.Sprintf("s3.%s.amazonaws.com", l.Region)},
			"StringLike":   {"kms:EncryptionContext:aws:s3:arn": []string{l.BucketARN(), l.ObjectsARN()}},
		},
	}
}

// ClientMountPolicy is the file system's resource policy: principals of
// this account may mount and write over TLS, and nobody may use the file
// system without TLS. Root access is not granted here (the access point
// maps every client to one POSIX user anyway).
func ClientMountPolicy(l Location, fileSystemARN string) iampolicy.Document {
	return iampolicy.New(
		iampolicy.Statement{
			Sid:       "AllowAccountClientsOverTLS",
			Effect:    iampolicy.Allow,
			Principal: &iampolicy.Principal{AWS: []string{fmt.Sprintf("arn:%s:iam::%s:root", l.Partition, l.AccountID)}},
			Action:    []string{"s3files:ClientMount", "s3files:ClientWrite"},
			Resource:  []string{fileSystemARN},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "true"}},
		},
		iampolicy.Statement{
			Sid:       "DenyInsecureTransport",
			Effect:    iampolicy.Deny,
			Principal: iampolicy.AnyPrincipal,
			Action:    []string{"s3files:ClientMount", "s3files:ClientWrite", "s3files:ClientRootAccess"},
			Resource:  []string{fileSystemARN},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
		},
	)
}

// CSINodeS3ReadPolicy is the scoped S3 read the EFS CSI node plugin needs
// for S3 Files (large reads go straight to S3).
func CSINodeS3ReadPolicy(l Location) iampolicy.Document {
	doc := iampolicy.New(
		iampolicy.Statement{Sid: "ReadObjects", Effect: iampolicy.Allow, Action: []string{"s3:GetObject", "s3:GetObjectVersion"}, Resource: []string{l.ObjectsARN()}},
		iampolicy.Statement{Sid: "ListBucket", Effect: iampolicy.Allow, Action: []string{"s3:ListBucket"}, Resource: []string{l.BucketARN()}},
	)
	if l.KMSKeyARN != "" {
		st := kmsStatement(l, "DecryptObjects")
		st.Action = []string{"kms:Decrypt"}
		doc.Statement = append(doc.Statement, st)
	}
	return doc
}

// Managed policies of the EFS CSI driver's two service accounts, as the
// driver documents them for S3 Files.
func csiControllerPolicies(partition string) []string {
	return []string{
		fmt.Sprintf("arn:%s:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy", partition),
		fmt.Sprintf("arn:%s:iam::aws:policy/service-role/AmazonS3FilesCSIDriverPolicy", partition),
		iampolicy.ManagedPolicy(partition, "AmazonS3FilesClientFullAccess"),
	}
}

func csiNodePolicies(partition string) []string {
	return []string{
		iampolicy.ManagedPolicy(partition, "AmazonS3FilesClientFullAccess"),
		iampolicy.ManagedPolicy(partition, "AmazonElasticFileSystemsUtils"),
	}
}
