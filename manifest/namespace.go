package manifest

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewNamespace declares a namespace the program owns, with its Pod Security
// labels (PodSecurityLabels, or a component's own set). Every namespace is
// declared this way rather than left to a Helm release's createNamespace,
// which labels nothing and deletes nothing.
func NewNamespace(ctx *pulumi.Context, logicalName, name string, labels map[string]string,
	opts ...pulumi.ResourceOption,
) (*corev1.Namespace, error) {
	return corev1.NewNamespace(ctx, logicalName, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: pulumi.ToStringMap(labels)},
	}, opts...)
}
