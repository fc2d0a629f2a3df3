// Package manifest declares Kubernetes objects that have no typed Pulumi SDK
// (Karpenter, KEDA, Envoy Gateway, Envoy AI Gateway, Prometheus operator
// kinds). Each object is built as a plain map by a pure function in its own
// package, so tests can render it and validate it against the upstream CRD;
// this package only turns such a map into a Pulumi custom resource.
package manifest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Apply declares obj (apiVersion, kind, metadata with name and optionally
// namespace, labels and annotations; any other top-level fields) as a
// custom resource.
func Apply(ctx *pulumi.Context, name string, obj map[string]any, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
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
	other := kubernetes.UntypedArgs{}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			other[k] = obj[k]
		}
	}
	return apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(apiVersion),
		Kind:        pulumi.String(kind),
		Metadata:    md,
		OtherFields: other,
	}, opts...)
}

func toStringMap(m map[string]any) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range m {
		out[k] = pulumi.String(fmt.Sprint(v))
	}
	return out
}
