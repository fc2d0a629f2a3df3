package observability

import (
	"fmt"

	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws/iam"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/iampolicy"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/sizing"
	"github.com/llm-platform/llm-platform/tags"
	"github.com/llm-platform/llm-platform/versions"
)

// StorageClassName is the gp3 class Prometheus' volume uses.
const StorageClassName = "gp3"

// Args configures the metrics stack.
type Args struct {
	// Partition, ClusterName, EBSCSIVersion and RoleNamePrefix set up the
	// EBS CSI driver, which Prometheus' volume needs.
	Partition      string
	ClusterName    pulumi.StringInput
	EBSCSIVersion  string
	RoleNamePrefix string
	Tags           map[string]string

	Retention        string
	StorageGiB       int
	ErrorRatioTarget float64
	Models           []ModelSLO
	ModelNamespace   string
	// GPUPool, GPUNodeSelector and GPUTaintKey place the DCGM exporter.
	GPUPool         string
	GPUNodeSelector map[string]string
	GPUTaintKey     string
	// PlatformNodeSelector places Prometheus, Alertmanager, Grafana and
	// the EBS CSI controller.
	PlatformNodeSelector map[string]string
	// EnvoyNamespace is where Envoy (with the AI Gateway sidecar) runs.
	EnvoyNamespace string
	// KarpenterNamespace and KEDANamespace hold the controllers to scrape.
	KarpenterNamespace string
	KEDANamespace      string
	// AlertReceiver is observability.alerts.receiver: "none" (or empty),
	// "webhook" or "slack". AlertWebhookURL, a secret, is where webhook
	// and slack post; required by them.
	AlertReceiver   string
	AlertWebhookURL pulumi.StringInput
	// Chat adds the chat front end's per-user panel to the dashboard.
	Chat bool

	Provider  *kubernetes.Provider
	DependsOn []pulumi.Resource
}

// Stack is the metrics stack.
type Stack struct {
	pulumi.ResourceState

	// PrometheusURL is the in-cluster Prometheus address (KEDA reads it).
	PrometheusURL pulumi.StringOutput `pulumi:"prometheusUrl"`
	// GrafanaAdminPassword is Grafana's admin password (a secret).
	GrafanaAdminPassword pulumi.StringOutput `pulumi:"grafanaAdminPassword"`

	// Release is the kube-prometheus-stack release: anything using the
	// Prometheus operator's kinds depends on it.
	Release pulumi.Resource
	// StorageClass is the encrypted gp3 class (StorageClassName) and its
	// driver: what another volume of that class needs first.
	StorageClass pulumi.Resource
}

func (a *Args) validate() error {
	switch {
	case a.Provider == nil || a.ClusterName == nil:
		return fmt.Errorf("observability: Provider and ClusterName are required")
	case a.EBSCSIVersion == "":
		return fmt.Errorf("observability: no pinned aws-ebs-csi-driver version")
	case a.StorageGiB < 10:
		return fmt.Errorf("observability: config key observability.storageGiB = %d: at least 10", a.StorageGiB)
	case a.Retention == "":
		return fmt.Errorf("observability: config key observability.retention is empty")
	case a.AlertReceiver != "" && a.AlertReceiver != ReceiverNone && a.AlertReceiver != ReceiverWebhook && a.AlertReceiver != ReceiverSlack:
		return fmt.Errorf("observability: config key observability.alerts.receiver = %q: must be %s, %s or %s", a.AlertReceiver, ReceiverNone, ReceiverWebhook, ReceiverSlack)
	case a.sendsAlerts() && a.AlertWebhookURL == nil:
		return fmt.Errorf("observability: config key observability.alerts.receiver = %q needs the secret alertWebhookUrl", a.AlertReceiver)
	}
	for _, m := range a.Models {
		// The cold-start rules cannot tell a cold start without them.
		if m.ColdStartBudgetSeconds <= 0 || m.PreloadJob == "" {
			return fmt.Errorf("observability: model %s: ColdStartBudgetSeconds (%v) and PreloadJob (%q) are required for its cold-start rules", m.Name, m.ColdStartBudgetSeconds, m.PreloadJob)
		}
		if m.HoldSeconds <= 0 {
			return fmt.Errorf("observability: model %s: HoldSeconds (%v), its endpoint picker's request TTL (gateway.queueTimeoutSeconds), is required for LLMRequestsExpiredInQueue", m.Name, m.HoldSeconds)
		}
		// LLMStuckAtZero is the warning before the held requests expire:
		// after them it would say nothing new.
		if m.MinReplicas == 0 && (m.WakeBudgetSeconds <= 0 || m.WakeBudgetSeconds >= m.HoldSeconds) {
			return fmt.Errorf("observability: model %s scales to zero: WakeBudgetSeconds (%v) must be above 0 and below HoldSeconds (%v) for LLMStuckAtZero", m.Name, m.WakeBudgetSeconds, m.HoldSeconds)
		}
	}
	return nil
}

func (a *Args) sendsAlerts() bool {
	return a.AlertReceiver == ReceiverWebhook || a.AlertReceiver == ReceiverSlack
}

// NewStack installs the EBS CSI driver and gp3 class, kube-prometheus-stack,
// the DCGM exporter, the monitors, the SLO alerts and the dashboard.
func NewStack(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Stack, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	st := &Stack{}
	if err := ctx.RegisterComponentResource("llm-platform:observability:Stack", name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)
	k8s := pulumi.Provider(args.Provider)

	storageClass, err := newBlockStorage(ctx, name, args, parent, k8s)
	if err != nil {
		return nil, err
	}
	ns, err := manifest.NewNamespace(ctx, name+"-namespace", Namespace, namespaceLabels[Namespace], parent, k8s)
	if err != nil {
		return nil, err
	}
	hostNS, err := manifest.NewNamespace(ctx, name+"-host-namespace", HostNamespace, namespaceLabels[HostNamespace], parent, k8s)
	if err != nil {
		return nil, err
	}
	password, err := random.NewRandomPassword(ctx, name+"-grafana-admin", &random.RandomPasswordArgs{
		Length: pulumi.Int(32), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	adminSecret, err := corev1.NewSecret(ctx, name+"-grafana-admin", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String("grafana-admin"), Namespace: ns.Metadata.Name()},
		StringData: pulumi.StringMap{"admin-user": pulumi.String("admin"), "admin-password": password.Result},
	}, parent, k8s)
	if err != nil {
		return nil, err
	}
	// node-exporter goes to HostNamespace (namespaceOverride below).
	kpsDeps := []pulumi.Resource{ns, hostNS, storageClass, adminSecret}
	if args.sendsAlerts() {
		// The URL carries its credential (a Slack webhook URL is one): it
		// lives in this Secret only, which Alertmanager mounts and reads
		// through url_file / api_url_file. The Helm release's values, its
		// stored release record and the generated Alertmanager config
		// hold the file path, never the URL.
		receiverSecret, err := corev1.NewSecret(ctx, name+"-alert-receiver", &corev1.SecretArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ReceiverSecretName), Namespace: ns.Metadata.Name()},
			StringData: pulumi.StringMap{
				receiverSecretKey: pulumi.ToSecret(args.AlertWebhookURL.ToStringOutput()).(pulumi.StringOutput),
			},
		}, parent, k8s)
		if err != nil {
			return nil, err
		}
		kpsDeps = append(kpsDeps, receiverSecret)
	}
	kps, err := helmv3.NewRelease(ctx, name+"-kube-prometheus-stack", &helmv3.ReleaseArgs{
		Name:      pulumi.String("kube-prometheus-stack"),
		Chart:     pulumi.String(versions.KubePrometheusStackChart),
		Version:   pulumi.String(versions.KubePrometheusStackVersion),
		Namespace: pulumi.String(Namespace),
		Values:    pulumi.ToMap(KubePrometheusStackValues(args)),
	}, parent, k8s, pulumi.DependsOn(append(kpsDeps, args.DependsOn...)))
	if err != nil {
		return nil, err
	}
	st.Release = kps
	st.StorageClass = storageClass
	if _, err := helmv3.NewRelease(ctx, name+"-dcgm-exporter", &helmv3.ReleaseArgs{
		Name:           pulumi.String("dcgm-exporter"),
		Chart:          pulumi.String("dcgm-exporter"),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{Repo: pulumi.String(versions.DCGMExporterRepo)},
		Version:        pulumi.String(versions.DCGMExporterVersion),
		// Privileged: its own namespace, not the restricted one. Its
		// ServiceMonitor goes along and selects its Service there (the
		// chart's templates/service-monitor.yaml), and Prometheus selects
		// ServiceMonitors in every namespace (serviceMonitorNamespaceSelector
		// {}, the chart default).
		Namespace: pulumi.String(HostNamespace),
		Values:    pulumi.ToMap(DCGMExporterValues(args.GPUNodeSelector, args.GPUTaintKey)),
	}, parent, k8s, pulumi.DependsOn([]pulumi.Resource{kps, hostNS})); err != nil {
		return nil, err
	}

	afterOperator := pulumi.DependsOn([]pulumi.Resource{kps})
	objects := map[string]map[string]any{
		"vllm-pods":    VLLMPodMonitor(args.ModelNamespace),
		"epp-pods":     EPPPodMonitor(args.ModelNamespace),
		"gateway-pods": GatewayPodMonitor(args.EnvoyNamespace),
		"karpenter": ServiceMonitorObject("karpenter", args.KarpenterNamespace,
			map[string]string{"app.kubernetes.io/name": "karpenter"}, "http-metrics"),
		"keda": ServiceMonitorObject("keda-operator", args.KEDANamespace,
			map[string]string{"app.kubernetes.io/name": "keda-operator"}, "metrics"),
		"rules": PrometheusRuleObject(Namespace, RuleGroups(args.Models, args.ErrorRatioTarget, args.GPUPool)),
	}
	for _, key := range []string{"vllm-pods", "epp-pods", "gateway-pods", "karpenter", "keda", "rules"} {
		if _, err := manifest.Apply(ctx, name+"-"+key, objects[key], parent, k8s, afterOperator); err != nil {
			return nil, err
		}
	}
	if _, err := corev1.NewConfigMap(ctx, name+"-dashboard", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String("llm-platform-dashboard"),
			Namespace: ns.Metadata.Name(),
			// The Grafana sidecar loads every ConfigMap with this label.
			Labels: pulumi.StringMap{"grafana_dashboard": pulumi.String("1")},
		},
		Data: pulumi.StringMap{"llm-platform.json": pulumi.String(dashboardJSON(args))},
	}, parent, k8s); err != nil {
		return nil, err
	}

	st.PrometheusURL = pulumi.String(PrometheusURL).ToStringOutput()
	st.GrafanaAdminPassword = password.Result
	if err := ctx.RegisterResourceOutputs(st, pulumi.Map{
		"prometheusUrl":        st.PrometheusURL,
		"grafanaAdminPassword": st.GrafanaAdminPassword,
	}); err != nil {
		return nil, err
	}
	return st, nil
}

// KubePrometheusStackValues place the stack on the platform pool and make
// Prometheus select every ServiceMonitor, PodMonitor and PrometheusRule,
// not only the chart's own.
func KubePrometheusStackValues(a *Args) map[string]any {
	sel := manifest.Map(a.PlatformNodeSelector)
	return map[string]any{
		"fullnameOverride": "kps",
		"prometheus": map[string]any{"prometheusSpec": map[string]any{
			"retention": a.Retention,
			"serviceMonitorSelectorNilUsesHelmValues": false,
			"podMonitorSelectorNilUsesHelmValues":     false,
			"ruleSelectorNilUsesHelmValues":           false,
			"nodeSelector":                            sel,
			"resources":                               sizing.Prometheus.Values(),
			"storageSpec": map[string]any{"volumeClaimTemplate": map[string]any{"spec": map[string]any{
				"storageClassName": StorageClassName,
				"accessModes":      []any{"ReadWriteOnce"},
				"resources":        map[string]any{"requests": map[string]any{"storage": fmt.Sprintf("%dGi", a.StorageGiB)}},
			}}},
		}},
		"alertmanager": alertmanagerValues(a, sel),
		"grafana": map[string]any{
			"fullnameOverride": "kps-grafana",
			"nodeSelector":     sel,
			// The chart also turns the memory limit into GOMEMLIMIT
			// (grafana 12.11.1 templates/_pod.tpl).
			"resources": sizing.Grafana.Values(),
			"admin":     map[string]any{"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
			// resources: both sidecars' (dashboards and datasources).
			"sidecar": map[string]any{
				"resources": sizing.GrafanaSidecar.Values(),
				"dashboards": map[string]any{
					"enabled": true, "label": "grafana_dashboard", "labelValue": "1", "searchNamespace": "ALL",
				},
			},
			// The chart's `helm test` Pod (templates/tests/test.yaml) is
			// rendered into the release though nothing runs it, unsized.
			"testFramework": map[string]any{"enabled": false},
		},
		"prometheusOperator": map[string]any{
			"nodeSelector": sel,
			"resources":    sizing.PrometheusOperator.Values(),
			// The operator passes these to every config-reloader and
			// init-config-reloader it adds to the Prometheus and
			// Alertmanager pods; the chart passes 0, none, for an unset
			// key (templates/prometheus-operator/deployment.yaml).
			"prometheusConfigReloader": map[string]any{"resources": sizing.ConfigReloader.Values()},
			// The admission webhook certificate's two hook Jobs (create,
			// patch: templates/prometheus-operator/admission-webhooks/
			// job-patch/) have their own placement.
			"admissionWebhooks": map[string]any{"patch": map[string]any{
				"nodeSelector": sel,
				"resources":    sizing.AdmissionJob.Values(),
			}},
		},
		// What EKS hides. kube-controller-manager, kube-scheduler and etcd
		// run in the AWS-managed control plane: no pod or endpoint of
		// theirs is in the cluster, so absent(up{job=...}) alerts such as
		// KubeControllerManagerDown and KubeSchedulerDown fire forever.
		// The kube-proxy addon serves its metrics on 127.0.0.1:10249 only
		// and EKS reverts edits to its config (aws/containers-roadmap#657,
		// prometheus-community/helm-charts#977), so its targets stay down
		// and KubeProxyDown fires. In kube-prometheus-stack 88.x each
		// <component>.enabled: false drops the component's Service,
		// ServiceMonitor and default rules alike (the rule files under
		// templates/prometheus/rules-1.14/ for the controller manager,
		// scheduler, etcd and kube-proxy are all gated on it; values.yaml
		// and templates read at tag kube-prometheus-stack-88.5.3).
		"kubeControllerManager": map[string]any{"enabled": false},
		"kubeScheduler":         map[string]any{"enabled": false},
		"kubeEtcd":              map[string]any{"enabled": false},
		"kubeProxy":             map[string]any{"enabled": false},
		"kube-state-metrics":    map[string]any{"nodeSelector": sel, "resources": sizing.KubeStateMetrics.Values()},
		// Node metrics from every node, GPU nodes included. hostNetwork,
		// hostPID and hostPath volumes need the privileged Pod Security
		// level: the subchart's namespaceOverride (prometheus-node-exporter
		// 4.56.1, templates/_helpers.tpl, used by every object it renders,
		// ServiceMonitor included) puts it in HostNamespace, out of the
		// restricted one. Its rules and dashboards select it by job label,
		// not by namespace. No platform nodeSelector: a DaemonSet on
		// every node is the point (the chart's own kubernetes.io/os: linux
		// stays).
		"prometheus-node-exporter": map[string]any{
			"namespaceOverride": HostNamespace,
			"tolerations":       []any{map[string]any{"operator": "Exists"}},
			"resources":         sizing.NodeExporter.Values(),
		},
	}
}

// DCGMExporterValues run the exporter on GPU nodes only, with its
// ServiceMonitor.
func DCGMExporterValues(gpuNodeSelector map[string]string, taintKey string) map[string]any {
	return map[string]any{
		"nodeSelector":   manifest.Map(gpuNodeSelector),
		"tolerations":    []any{map[string]any{"key": taintKey, "operator": "Exists", "effect": "NoSchedule"}},
		"serviceMonitor": map[string]any{"enabled": true, "interval": "15s"},
		// Bottlerocket exposes all GPUs (NVIDIA_VISIBLE_DEVICES=all) to
		// privileged containers only; without it NVML fails to initialize.
		// The exporter requests no GPU, so it never takes one from a model.
		//
		// Helm merges this map into the chart's default securityContext
		// (chartdefaults.DCGMExporter: since chart 4.7.0 it carries
		// allowPrivilegeEscalation: false and capabilities add SYS_ADMIN,
		// drop ALL), and kube-apiserver refuses privileged: true with
		// allowPrivilegeEscalation: false (ValidateSecurityContext,
		// k8s.io/kubernetes v1.35.4 pkg/apis/core/validation). A
		// privileged container escalates anyway, so it is set true, not
		// nulled: explicit, and independent of how a null survives Pulumi
		// and Helm. The chart's capabilities are left alone: containerd
		// (1.7 and 2.x, internal/cri/server/container_create.go) applies
		// them and then, for a privileged container, oci.WithPrivileged,
		// which grants every capability; the drop has no effect.
		"securityContext": map[string]any{"privileged": true, "allowPrivilegeEscalation": true},
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
			"limits":   map[string]any{"memory": "512Mi"},
		},
	}
}

// newBlockStorage installs the EBS CSI driver addon (Pod Identity for its
// controller) and the encrypted gp3 StorageClass.
func newBlockStorage(ctx *pulumi.Context, name string, args *Args, parent, k8s pulumi.ResourceOption) (pulumi.Resource, error) {
	roleName := args.RoleNamePrefix + "-ebs-csi"
	role, err := iam.NewRole(ctx, name+"-ebs-csi", &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		AssumeRolePolicy: pulumi.String(iampolicy.PodIdentityTrust().JSON()),
		Tags:             tags.Map(tags.Merge(args.Tags, map[string]string{"Name": roleName})),
	}, parent)
	if err != nil {
		return nil, err
	}
	// V2 (April 2026) only touches volumes and snapshots the driver tagged
	// ebs.csi.aws.com/cluster=true, unlike the original policy.
	policy := iampolicy.ManagedPolicy(args.Partition, "AmazonEBSCSIDriverPolicyV2")
	att, err := iam.NewRolePolicyAttachment(ctx, name+"-ebs-csi", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: pulumi.String(policy),
	}, parent)
	if err != nil {
		return nil, err
	}
	addon, err := awseks.NewAddon(ctx, name+"-ebs-csi-driver", &awseks.AddonArgs{
		ClusterName:  args.ClusterName,
		AddonName:    pulumi.String("aws-ebs-csi-driver"),
		AddonVersion: pulumi.String(args.EBSCSIVersion),
		// The controller on the platform pool, next to Prometheus.
		ConfigurationValues: pulumi.String(manifest.ControllerPlacement(args.PlatformNodeSelector)),
		PodIdentityAssociations: awseks.AddonPodIdentityAssociationArray{&awseks.AddonPodIdentityAssociationArgs{
			RoleArn: role.Arn, ServiceAccount: pulumi.String("ebs-csi-controller-sa"),
		}},
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
		Tags:                     tags.Map(tags.Merge(args.Tags, map[string]string{"Name": name + "-ebs-csi-driver"})),
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{att}, args.DependsOn...)))
	if err != nil {
		return nil, err
	}
	return storagev1.NewStorageClass(ctx, name+"-gp3", &storagev1.StorageClassArgs{
		Metadata:             &metav1.ObjectMetaArgs{Name: pulumi.String(StorageClassName)},
		Provisioner:          pulumi.String("ebs.csi.aws.com"),
		Parameters:           pulumi.StringMap{"type": pulumi.String("gp3"), "encrypted": pulumi.String("true")},
		VolumeBindingMode:    pulumi.String("WaitForFirstConsumer"),
		ReclaimPolicy:        pulumi.String("Delete"),
		AllowVolumeExpansion: pulumi.Bool(true),
	}, parent, k8s, pulumi.DependsOn([]pulumi.Resource{addon}))
}

// dashboardJSON is the stack's dashboard: the chat panel only with chat.
func dashboardJSON(args *Args) string {
	if args.Chat {
		return DashboardJSON(args.ModelNamespace, args.Models, ChatUserPanel())
	}
	return DashboardJSON(args.ModelNamespace, args.Models)
}
