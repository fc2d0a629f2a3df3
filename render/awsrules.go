package render

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Uniqueness rules AWS enforces for what this program creates: a second
// create of the same key fails in AWS, whoever made the first (this
// program, another stack, or AWS itself on the program's behalf). The
// render refuses a program that declares a key twice, and the engine
// tests' fake cloud refuses a create of a key it already holds, with the
// error AWS returns.

// UniqueKey is one AWS uniqueness key and the error AWS gives for a second
// create of it.
type UniqueKey struct {
	Key string
	// Error is AWS's error, formatted as pulumi-aws reports it.
	Error string
}

// UniqueKeys returns the uniqueness keys of an AWS resource of type typ
// with inputs in, in account/region scope. Inputs that are not known
// strings (a preview) produce no key.
func UniqueKeys(typ string, in resource.PropertyMap) []UniqueKey {
	str := func(path string) string {
		v := resource.NewProperty(in)
		for _, k := range strings.Split(path, ".") {
			for v.IsSecret() {
				v = v.SecretValue().Element
			}
			if !v.IsObject() {
				return ""
			}
			v = v.ObjectValue()[resource.PropertyKey(k)]
		}
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	var keys []UniqueKey
	add := func(parts []string, format string, args ...any) {
		for _, p := range parts {
			if p == "" {
				return
			}
		}
		keys = append(keys, UniqueKey{Key: typ + " " + strings.Join(parts, "/"), Error: fmt.Sprintf(format, args...)})
	}
	switch typ {
	case "aws:eks/cluster:Cluster":
		n := str("name")
		add([]string{n}, "creating EKS Cluster (%s): operation error EKS: CreateCluster, ResourceInUseException: Cluster already exists with name: %s", n, n)
	case "aws:eks/addon:Addon":
		// One addon of a name per cluster (EKS CreateAddon).
		c, a := str("clusterName"), str("addonName")
		add([]string{c, a}, "creating EKS Add-On (%s:%s): operation error EKS: CreateAddon, ResourceInUseException: Addon already exists.", c, a)
		// An addon's Pod Identity associations are associations like any
		// other: one per cluster, namespace and service account. EKS
		// addons with Pod Identity run in kube-system.
		if v, ok := in["podIdentityAssociations"]; ok && v.IsArray() {
			for _, pia := range v.ArrayValue() {
				if !pia.IsObject() || !pia.ObjectValue()["serviceAccount"].IsString() {
					continue
				}
				sa := pia.ObjectValue()["serviceAccount"].StringValue()
				keys = append(keys, podIdentityKey(c, "kube-system", sa))
			}
		}
	case "aws:eks/accessEntry:AccessEntry":
		c, p := str("clusterName"), str("principalArn")
		add([]string{c, NormalizePrincipal(p)}, "creating EKS Access Entry (%s:%s): operation error EKS: CreateAccessEntry, ResourceInUseException: The specified access entry resource is already in use on this cluster.", c, p)
	case "aws:eks/podIdentityAssociation:PodIdentityAssociation":
		c, ns, sa := str("clusterName"), str("namespace"), str("serviceAccount")
		if c != "" && ns != "" && sa != "" {
			keys = append(keys, podIdentityKey(c, ns, sa))
		}
	case "aws:iam/role:Role":
		// A role without a name gets a generated, unique one.
		n := str("name")
		add([]string{n}, "creating IAM Role (%s): operation error IAM: CreateRole, EntityAlreadyExists: Role with name %s already exists.", n, n)
	case "aws:iam/serviceLinkedRole:ServiceLinkedRole":
		s := str("awsServiceName")
		role := ServiceLinkedRoleName(s)
		add([]string{s}, "creating IAM Service Linked Role (%s): operation error IAM: CreateServiceLinkedRole, InvalidInput: Service role name %s has been taken in this account, please try a different suffix.", s, role)
	case "aws:s3/bucket:Bucket":
		b := str("bucket")
		add([]string{b}, "creating S3 Bucket (%s): operation error S3: CreateBucket, BucketAlreadyOwnedByYou: Your previous request to create the named bucket succeeded and you already own it.", b)
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		// With private DNS, AWS associates a private hosted zone for the
		// service's regional name (bedrock-runtime.us-east-1.amazonaws.com)
		// with the VPC, and refuses a second endpoint that would do the same:
		// "InvalidParameter: private-dns-enabled cannot be set because there
		// is already a conflicting DNS domain for
		// elasticloadbalancing.us-east-1.amazonaws.com in the VPC vpc-XXXXX"
		// (hashicorp/terraform-provider-aws#17535; the same with
		// execute-api in fortinet/fortigate-autoscale-aws#43). Endpoints
		// without private DNS, and Gateway endpoints (the provider's default
		// type, which have no private DNS), may repeat.
		if b := in["privateDnsEnabled"]; b.IsBool() && b.BoolValue() && str("vpcEndpointType") == "Interface" {
			v, s := str("vpcId"), str("serviceName")
			add([]string{v, s}, "creating EC2 VPC Endpoint (%s): operation error EC2: CreateVpcEndpoint, InvalidParameter: "+
				"private-dns-enabled cannot be set because there is already a conflicting DNS domain for %s in the VPC %s", s, PrivateDNSName(s), v)
		}
	case "aws:cloudwatch/logGroup:LogGroup":
		n := str("name")
		add([]string{n}, "creating CloudWatch Logs Log Group (%s): operation error CloudWatch Logs: CreateLogGroup, ResourceAlreadyExistsException: The specified log group already exists", n)
	}
	return keys
}

func podIdentityKey(cluster, namespace, sa string) UniqueKey {
	return UniqueKey{
		Key: fmt.Sprintf("aws:eks/podIdentityAssociation:PodIdentityAssociation %s/%s/%s", cluster, namespace, sa),
		Error: fmt.Sprintf("creating EKS Pod Identity Association (%s): operation error EKS: CreatePodIdentityAssociation, "+
			"ResourceInUseException: Association already exists for service account %s in namespace %s", cluster, sa, namespace),
	}
}

// PrivateDNSName is the regional DNS name an AWS service's interface
// endpoint answers for with private DNS: com.amazonaws.<region>.<service>
// is <service>.<region>.amazonaws.com. Other service names (endpoint
// services, com.amazonaws.vpce.*, whose owner chooses the name) are
// returned as they are.
func PrivateDNSName(serviceName string) string {
	rest, ok := strings.CutPrefix(serviceName, "com.amazonaws.")
	if !ok || strings.HasPrefix(rest, "vpce.") {
		return serviceName
	}
	region, service, ok := strings.Cut(rest, ".")
	if !ok {
		return serviceName
	}
	return service + "." + region + ".amazonaws.com"
}

// ServiceLinkedRoleName is the role IAM creates for a service.
func ServiceLinkedRoleName(service string) string {
	if service == "spot.amazonaws.com" {
		return "AWSServiceRoleForEC2Spot"
	}
	return "AWSServiceRoleFor" + strings.TrimSuffix(service, ".amazonaws.com")
}

// NormalizePrincipal is the IAM ARN EKS keys an access entry by: an STS
// assumed-role session is its role (EKS gives the cluster creator's entry
// to the role, not the session). Role paths are kept.
func NormalizePrincipal(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) == 6 && f[2] == "sts" {
		if parts := strings.Split(f[5], "/"); len(parts) == 3 && parts[0] == "assumed-role" {
			return fmt.Sprintf("arn:%s:iam::%s:role/%s", f[1], f[4], parts[1])
		}
	}
	return arn
}

// ImplicitKeys are the keys AWS itself takes when it creates a resource of
// type typ for the principal caller: an EKS cluster's creator access entry
// (pulumi-eks always sets bootstrapClusterCreatorAdminPermissions) and,
// with control-plane logging on, its log group unless one exists.
func ImplicitKeys(typ string, in resource.PropertyMap, caller string) (kept, logs []UniqueKey) {
	if typ != "aws:eks/cluster:Cluster" {
		return nil, nil
	}
	name := ""
	if v := in["name"]; v.IsString() {
		name = v.StringValue()
	}
	if ac := in["accessConfig"]; ac.IsObject() {
		if b := ac.ObjectValue()["bootstrapClusterCreatorAdminPermissions"]; b.IsBool() && b.BoolValue() {
			kept = append(kept, UniqueKeys("aws:eks/accessEntry:AccessEntry", resource.PropertyMap{
				"clusterName": resource.NewProperty(name), "principalArn": resource.NewProperty(caller),
			})...)
		}
	}
	if lt := in["enabledClusterLogTypes"]; lt.IsArray() && len(lt.ArrayValue()) > 0 {
		logs = UniqueKeys("aws:cloudwatch/logGroup:LogGroup", resource.PropertyMap{
			"name": resource.NewProperty("/aws/eks/" + name + "/cluster"),
		})
	}
	return kept, logs
}
