// Package manifest declares Kubernetes objects that have no typed Pulumi SDK
// (Karpenter, KEDA, Envoy Gateway, Envoy AI Gateway, Prometheus operator
// kinds). Each object is built as a plain map by a pure function in its own
// package, so tests can render it and validate it against the upstream CRD;
// this package only turns such a map into a Pulumi custom resource.
package manifest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Object is a declared custom resource. Unlike the SDK's CustomResource it
// exposes status, for objects whose status carries a result (a Gateway's
// load balancer address).
type Object struct {
	pulumi.CustomResourceState

	// Metadata is the object's metadata as the cluster returned it.
	Metadata metav1.ObjectMetaPtrOutput `pulumi:"metadata"`
	// Status is the object's status (unknown during preview).
	Status pulumi.AnyOutput `pulumi:"status"`
}

// Apply declares obj (apiVersion, kind, metadata with name and optionally
// namespace, labels and annotations; any other top-level fields) as a
// custom resource, under the same type token the SDK's CustomResource uses
// (kubernetes:<apiVersion>:<kind>).
func Apply(ctx *pulumi.Context, name string, obj map[string]any, opts ...pulumi.ResourceOption) (*Object, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	objName, _ := meta["name"].(string)
	if apiVersion == "" || kind == "" || objName == "" {
		return nil, fmt.Errorf("manifest %s: apiVersion, kind and metadata.name are required", name)
	}
	md := &metav1.ObjectMetaArgs{Name: pulumi.String(objName)}
	if ns, ok := meta["namespace"].(string); ok && ns != "" {
		md.Namespace = pulumi.String(ns)
	}
	if l, ok := meta["labels"].(map[string]any); ok {
		md.Labels = toStringMap(l)
	}
	if a, ok := meta["annotations"].(map[string]any); ok {
		md.Annotations = toStringMap(a)
	}
	args := kubernetes.UntypedArgs{"apiVersion": pulumi.String(apiVersion), "kind": pulumi.String(kind), "metadata": md}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			args[k] = obj[k]
		}
	}
	var res Object
	if err := ctx.RegisterResource(fmt.Sprintf("kubernetes:%s:%s", apiVersion, kind), name, args, &res, opts...); err != nil {
		return nil, err
	}
	return &res, nil
}

func toStringMap(m map[string]any) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range m {
		out[k] = pulumi.String(fmt.Sprint(v))
	}
	return out
}

// Map converts a string map (labels, selectors, tags, annotations) into the
// map[string]any form the object builders nest in their manifests and Helm
// values.
func Map(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// List converts a string slice into the []any form of a manifest list.
func List(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Pod Security Standards levels (pod-security.kubernetes.io labels).
const (
	PodSecurityRestricted = "restricted"
	PodSecurityBaseline   = "baseline"
	PodSecurityPrivileged = "privileged"
)

// PodSecurityLabels are the labels of a namespace that enforces level and
// warns and audits against restricted, so anything short of restricted is
// visible in kubectl's output and the audit log even where it is allowed.
func PodSecurityLabels(level string) map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce": level,
		"pod-security.kubernetes.io/warn":    PodSecurityRestricted,
		"pod-security.kubernetes.io/audit":   PodSecurityRestricted,
	}
}

// ControllerPlacement is an EKS addon's configurationValues that put its
// controller Deployment on the nodes with the given labels. The CSI driver
// addons render their Helm charts' values, and both accept
// controller.nodeSelector (the aws-ebs-csi-driver chart's
// values.schema.json; published describe-addon-configuration output for
// both drivers). Their controllers tolerate CriticalAddonsOnly by default
// and select no nodes, so without this they could take the system nodes'
// room.
func ControllerPlacement(nodeSelector map[string]string) string {
	return AddonConfiguration(map[string]any{"controller": map[string]any{"nodeSelector": nodeSelector}})
}

// AddonConfiguration renders an EKS addon's configurationValues (JSON) from
// maps of strings, which always marshal.
func AddonConfiguration(values map[string]any) string {
	b, err := json.Marshal(values)
	if err != nil {
		panic(err)
	}
	return string(b)
}
