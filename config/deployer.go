package config

import (
	"fmt"
	"strings"
)

// CheckDeployer refuses an adminRoleArns entry that is the principal
// running `pulumi up` (callerARN, from sts:GetCallerIdentity). pulumi-eks
// v4.0.1 creates the cluster with bootstrapClusterCreatorAdminPermissions
// true (nodejs/eks/cluster/cluster.ts), so EKS already gave that principal
// an access entry with cluster-admin; declaring a second one fails with
// ResourceInUseException (pulumi/pulumi-eks#2373).
//
// EKS gives that entry to the principal that creates the cluster, so the
// check applies only while the cluster does not exist yet (clusterExists
// false): once it does, a listed principal running `up` (a person updating
// a cluster CI created) already has its entry from an earlier run. And it
// refuses only on `up`: a preview may be run by a principal that never
// deploys and does need its entry (the PR workflow's preview role), so
// there a match is only a warning.
func CheckDeployer(c *Config, callerARN string, dryRun, clusterExists bool) (warning string, err error) {
	caller, ok := principalOf(callerARN)
	if !ok || clusterExists {
		return "", nil
	}
	for i, arn := range c.Cluster.AdminRoleARNs {
		p, ok := principalOf(arn)
		if !ok || p != caller {
			continue
		}
		key := fmt.Sprintf("%s:cluster.adminRoleArns[%d]", c.Project, i)
		msg := fmt.Sprintf("config key %q (value %q) is the principal creating the cluster (%s). EKS gives the principal that "+
			"creates the cluster cluster-admin access itself (pulumi-eks sets bootstrapClusterCreatorAdminPermissions), so a "+
			"second access entry for it fails with ResourceInUseException. List only the other principals (people, the PR "+
			"preview role), or create the cluster as a principal that is not listed", key, arn, callerARN)
		if dryRun {
			return msg + " (a warning at preview: if this principal runs `pulumi up`, that up will refuse the config)", nil
		}
		return "", fmt.Errorf("invalid stack configuration:\n  %s", msg)
	}
	return "", nil
}

// principal identifies an IAM principal by account, kind and name, which is
// how an sts assumed-role ARN and the role's IAM ARN (with or without a
// path) compare: arn:aws:sts::111:assumed-role/Deploy/session and
// arn:aws:iam::111:role/ci/Deploy are the same role.
type principal struct{ partition, account, kind, name string }

func principalOf(arn string) (principal, bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return principal{}, false
	}
	partition, service, account, res := f[1], f[2], f[4], f[5]
	parts := strings.Split(res, "/")
	switch {
	case service == "sts" && len(parts) == 3 && parts[0] == "assumed-role":
		return principal{partition, account, "role", parts[1]}, true
	case service == "iam" && len(parts) >= 2 && (parts[0] == "role" || parts[0] == "user"):
		return principal{partition, account, parts[0], parts[len(parts)-1]}, true
	}
	return principal{}, false
}
