package usage

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/observability"
)

// Args configures the usage rules and dashboard.
type Args struct {
	// Spec is what they are built from (SpecFromConfig).
	Spec     Spec
	Provider *kubernetes.Provider
	// DependsOn is what they need first: the kube-prometheus-stack
	// release (the Prometheus operator's kinds, the monitoring namespace,
	// Grafana's dashboard sidecar).
	DependsOn []pulumi.Resource
}

// Usage is the usage recording rules, the rate limit service's
// PodMonitor and the "Usage by client" dashboard.
type Usage struct {
	pulumi.ResourceState

	// RuleName is the usage PrometheusRule's name (in the monitoring
	// namespace).
	RuleName pulumi.StringOutput `pulumi:"ruleName"`
	// DashboardUID is the "Usage by client" dashboard's Grafana uid.
	DashboardUID pulumi.StringOutput `pulumi:"dashboardUid"`
}

// DashboardConfigMap names the dashboard's ConfigMap.
const DashboardConfigMap = "llm-platform-usage-dashboard"

func (a *Args) validate() error {
	if a.Provider == nil {
		return fmt.Errorf("usage: Provider is required")
	}
	return a.Spec.validate()
}

// NewUsage declares the usage PrometheusRule, the dashboard ConfigMap and,
// when there are budgets (Envoy Gateway runs its rate limit service only
// then), the rate limit service's PodMonitor.
func NewUsage(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Usage, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	u := &Usage{}
	if err := ctx.RegisterComponentResource("llm-platform:usage:Usage", name, u, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(u)
	k8s := pulumi.Provider(args.Provider)
	after := pulumi.DependsOn(args.DependsOn)

	if _, err := manifest.Apply(ctx, name+"-rules", PrometheusRuleObject(args.Spec.RuleGroups()), parent, k8s, after); err != nil {
		return nil, err
	}
	if len(args.Spec.Budgets) > 0 {
		if _, err := manifest.Apply(ctx, name+"-ratelimit-pods", RateLimitPodMonitor(args.Spec.RateLimitNamespace), parent, k8s, after); err != nil {
			return nil, err
		}
	}
	if _, err := corev1.NewConfigMap(ctx, name+"-dashboard", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(DashboardConfigMap),
			Namespace: pulumi.String(observability.Namespace),
			// The Grafana sidecar loads every ConfigMap with this label
			// (observability.KubePrometheusStackValues).
			Labels: pulumi.StringMap{"grafana_dashboard": pulumi.String("1")},
		},
		Data: pulumi.StringMap{DashboardUID + ".json": pulumi.String(args.Spec.DashboardJSON())},
	}, parent, k8s, after); err != nil {
		return nil, err
	}

	u.RuleName = pulumi.String(RuleName).ToStringOutput()
	u.DashboardUID = pulumi.String(DashboardUID).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(u, pulumi.Map{"ruleName": u.RuleName, "dashboardUid": u.DashboardUID}); err != nil {
		return nil, err
	}
	return u, nil
}
