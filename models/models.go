package models

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/sizing"
	"github.com/llm-platform/llm-platform/versions"
)

// KEDANamespace runs KEDA.
const KEDANamespace = "keda"

// hfSecretName holds the Hugging Face token, when one is configured.
const hfSecretName = "hf-token"

// Args configures the model workloads.
type Args struct {
	Models []Spec
	// Namespace and ClaimName locate the model volume claim; Claim is the
	// claim resource (workloads wait for it, and its mount targets).
	Namespace string
	ClaimName string
	Claim     pulumi.Resource
	// UID and GID are what the volume's access point maps every client to.
	UID, GID int
	// PrometheusURL is where KEDA reads vLLM's metrics; empty without the
	// metrics stack (then replicas are fixed at minReplicas, which config
	// validation requires to equal maxReplicas).
	PrometheusURL string
	// HFToken is the Hugging Face token secret, if HasHFToken.
	HFToken    pulumi.StringOutput
	HasHFToken bool
	// Placement: vLLM on the GPU pool, everything else on the platform pool.
	GPUNodeSelector      map[string]string
	GPUTolerationKey     string
	PlatformNodeSelector map[string]string
	// EnvoyNamespace and MonitoringNamespace may reach vLLM's port, and
	// so may the endpoint pickers, the pods with PickerPodLabels in the
	// model namespace (they read vLLM's /metrics to pick replicas).
	EnvoyNamespace      string
	MonitoringNamespace string
	PickerPodLabels     map[string]string
	Provider            *kubernetes.Provider
	// DependsOn holds what vLLM pods need (the GPU NodePool).
	DependsOn []pulumi.Resource
	// PlatformNodes is what KEDA and the preload jobs need to run on.
	PlatformNodes []pulumi.Resource
	// NamespaceResource is the model namespace: everything declared in it
	// waits for it.
	NamespaceResource pulumi.Resource
}

// Models is KEDA and one InferenceService per model.
type Models struct {
	pulumi.ResourceState

	// Deployments maps each model to its Deployment name.
	Deployments pulumi.StringMapOutput `pulumi:"deployments"`
	// Services are the InferenceServices, in config order.
	Services []*InferenceService
}

// InferenceService is one model's preload job, deployment, service,
// disruption budget, autoscaler and network policy.
type InferenceService struct {
	pulumi.ResourceState

	// ServedNames are the OpenAI model names it answers to.
	ServedNames pulumi.StringArrayOutput `pulumi:"servedNames"`
	// Namespace and Deployment locate the vLLM Deployment.
	Namespace  pulumi.StringOutput `pulumi:"namespace"`
	Deployment pulumi.StringOutput `pulumi:"deployment"`
	// MinReplicas and MaxReplicas bound the autoscaler.
	MinReplicas pulumi.IntOutput `pulumi:"minReplicas"`
	MaxReplicas pulumi.IntOutput `pulumi:"maxReplicas"`
}

func (a *Args) validate() error {
	if a.Provider == nil || a.Claim == nil || a.NamespaceResource == nil || a.Namespace == "" || a.ClaimName == "" || len(a.PickerPodLabels) == 0 {
		return fmt.Errorf("models: Provider, Claim, NamespaceResource, Namespace, ClaimName and PickerPodLabels are required")
	}
	for _, s := range a.Models {
		if a.PrometheusURL == "" && s.MinReplicas != s.MaxReplicas {
			return fmt.Errorf("models: config key models[%s]: autoscaling between minReplicas %d and maxReplicas %d needs observability.enabled (KEDA reads vLLM metrics from Prometheus)",
				s.Name, s.MinReplicas, s.MaxReplicas)
		}
		if s.GPUsPerReplica < 1 || s.MaxNumSeqs < 1 || s.Image == "" || s.HFRepo == "" || len(s.Revision) < 8 ||
			s.StartupFailureThreshold < 1 || s.LoadFormat == "" || s.ScaleToZeroAfterSeconds < 60 {
			return fmt.Errorf("models: model %q is incomplete", s.Name)
		}
	}
	return nil
}

// NewModels installs KEDA and declares every model.
func NewModels(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Models, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	m := &Models{}
	if err := ctx.RegisterComponentResource("llm-platform:models:Models", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	k8s := pulumi.Provider(args.Provider)

	// KEDA's chart is not a Go module, so its pods are not dry-run in
	// make test: the namespace enforces baseline (nothing KEDA runs needs
	// host access) and warns and audits against restricted.
	kedaNamespace, err := manifest.NewNamespace(ctx, name+"-keda-namespace", KEDANamespace,
		manifest.PodSecurityLabels(manifest.PodSecurityBaseline), parent, k8s, pulumi.DependsOn(args.PlatformNodes))
	if err != nil {
		return nil, err
	}
	keda, err := helmv3.NewRelease(ctx, name+"-keda", &helmv3.ReleaseArgs{
		Name:            pulumi.String("keda"),
		Chart:           pulumi.String("keda"),
		RepositoryOpts:  &helmv3.RepositoryOptsArgs{Repo: pulumi.String(versions.KEDARepo)},
		Version:         pulumi.String(versions.KEDAVersion),
		Namespace:       kedaNamespace.Metadata.Name().Elem(),
		CreateNamespace: pulumi.Bool(false),
		Values:          pulumi.ToMap(KEDAValues(args.PlatformNodeSelector)),
	}, parent, k8s, pulumi.DependsOn(append([]pulumi.Resource{kedaNamespace}, args.PlatformNodes...)))
	if err != nil {
		return nil, err
	}

	var hfSecret pulumi.Resource
	if args.HasHFToken {
		hfSecret, err = corev1.NewSecret(ctx, name+"-hf-token", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(hfSecretName), Namespace: pulumi.String(args.Namespace)},
			StringData: pulumi.StringMap{"token": args.HFToken},
		}, parent, k8s, pulumi.DependsOn([]pulumi.Resource{args.Claim}))
		if err != nil {
			return nil, err
		}
	}

	deployments := pulumi.StringMap{}
	for _, s := range args.Models {
		svc, err := newInferenceService(ctx, s, args, keda, hfSecret, parent)
		if err != nil {
			return nil, err
		}
		m.Services = append(m.Services, svc)
		deployments[s.Name] = svc.Deployment
	}
	m.Deployments = deployments.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{"deployments": m.Deployments}); err != nil {
		return nil, err
	}
	return m, nil
}

// KEDAValues run KEDA on the platform pool with its operator metrics on.
// The chart's three Deployments (operator, metrics API server, admission
// webhooks) take the global nodeSelector when their own is empty, and
// resources.<component> (kedacore/charts keda/templates/{manager,
// metrics-server,webhooks}/deployment.yaml, tag v2.20.2). Helm merges
// these resources into the chart's defaults key by key, so each keeps the
// chart's 1-CPU limit (values.yaml, resources): only an explicit null
// would drop it, and nothing here shows a null survives Pulumi and Helm's
// coalescing. A CPU limit of a whole core is harmless at these requests.
func KEDAValues(platformNodeSelector map[string]string) map[string]any {
	return map[string]any{
		"nodeSelector": manifest.Map(platformNodeSelector),
		"resources": map[string]any{
			"operator":     sizing.KEDAOperator.Values(),
			"metricServer": sizing.KEDAMetricsServer.Values(),
			"webhooks":     sizing.KEDAWebhooks.Values(),
		},
		"prometheus": map[string]any{
			"operator":     map[string]any{"enabled": true},
			"metricServer": map[string]any{"enabled": true},
		},
	}
}

func newInferenceService(ctx *pulumi.Context, s Spec, args *Args, keda, hfSecret pulumi.Resource, parentOpt pulumi.ResourceOption) (*InferenceService, error) {
	svc := &InferenceService{}
	if err := ctx.RegisterComponentResource("llm-platform:models:InferenceService", s.Name, svc, parentOpt); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(svc)
	k8s := pulumi.Provider(args.Provider)
	ns := pulumi.String(args.Namespace)
	labels := pulumi.ToStringMap(Labels(s.Name))
	inNamespace := pulumi.DependsOn([]pulumi.Resource{args.NamespaceResource})

	// Preload: on the platform pool (no GPU needed), in the small pinned
	// Python image (PreloadScript needs only the standard library), not the
	// ~30 GiB vLLM image that would fill the platform nodes' disks.
	jobDeps := append([]pulumi.Resource{args.Claim}, args.PlatformNodes...)
	env := corev1.EnvVarArray{
		// Python's own caches (none expected) stay off the volume.
		&corev1.EnvVarArgs{Name: pulumi.String("HOME"), Value: pulumi.String("/tmp")},
	}
	if hfSecret != nil {
		jobDeps = append(jobDeps, hfSecret)
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String("HF_TOKEN"), ValueFrom: &corev1.EnvVarSourceArgs{
			SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: pulumi.String(hfSecretName), Key: pulumi.String("token")},
		}})
	}
	volume := corev1.VolumeArgs{Name: pulumi.String("models"), PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: pulumi.String(args.ClaimName)}}
	tmp := corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}
	if _, err := batchv1.NewJob(ctx, s.Name+"-preload", &batchv1.JobArgs{
		Metadata: &metav1.ObjectMetaArgs{
			// The revision is in the name: a new revision is a new Job.
			Name:      pulumi.String(PreloadJobName(s)),
			Namespace: ns,
			// `pulumi up` does not wait for the download (tens of minutes
			// for large models): vLLM's init container does, and the
			// LLMPreloadFailed alert reports a failure.
			Annotations: pulumi.StringMap{"pulumi.com/skipAwait": pulumi.String("true")},
		},
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(4),
			ActiveDeadlineSeconds: pulumi.Int(6 * 3600),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String("preload"), "app.kubernetes.io/instance": pulumi.String(s.Name)}},
				Spec: &corev1.PodSpecArgs{
					// Never: each failed attempt is a failed pod (logs kept,
					// counted by kube_job_status_failed), up to the backoff limit.
					RestartPolicy:   pulumi.String("Never"),
					NodeSelector:    pulumi.ToStringMap(args.PlatformNodeSelector),
					SecurityContext: podSecurity(args.UID, args.GID),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String("preload"),
						Image:           pulumi.String(versions.PreloadImage),
						Command:         pulumi.ToStringArray([]string{"python3", "-c", PreloadScript(Downloads(s))}),
						Env:             env,
						SecurityContext: containerSecurity(),
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.ToStringMap(sizing.Preload.Requests()),
							Limits:   pulumi.ToStringMap(sizing.Preload.Limits()),
						},
						VolumeMounts: corev1.VolumeMountArray{
							&corev1.VolumeMountArgs{Name: pulumi.String("models"), MountPath: pulumi.String(MountPath)},
							&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
						},
					}},
					Volumes: corev1.VolumeArray{&volume, &tmp},
				},
			},
		},
	}, parent, k8s, pulumi.DependsOn(jobDeps)); err != nil {
		return nil, err
	}

	gpus := pulumi.String(fmt.Sprint(s.GPUsPerReplica))
	deploy, err := appsv1.NewDeployment(ctx, s.Name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(s.Name), Namespace: ns, Labels: labels},
		Spec: &appsv1.DeploymentSpecArgs{
			// KEDA owns the replica count after creation (ignoreChanges).
			Replicas: pulumi.Int(max(s.MinReplicas, 1)),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			// Bring a new replica up before taking an old one down: a
			// rollout never drops capacity (it needs one spare GPU).
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type:          pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{MaxSurge: pulumi.Int(1), MaxUnavailable: pulumi.Int(0)},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels: labels,
					// Karpenter never consolidates a node away from under a
					// serving replica; scale-down empties nodes instead.
					Annotations: pulumi.StringMap{"karpenter.sh/do-not-disrupt": pulumi.String("true")},
				},
				Spec: &corev1.PodSpecArgs{
					NodeSelector: pulumi.ToStringMap(args.GPUNodeSelector),
					Tolerations: corev1.TolerationArray{&corev1.TolerationArgs{
						Key: pulumi.String(args.GPUTolerationKey), Operator: pulumi.String("Exists"), Effect: pulumi.String("NoSchedule"),
					}},
					SecurityContext:               podSecurity(args.UID, args.GID),
					TerminationGracePeriodSeconds: pulumi.Int(120),
					InitContainers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String("wait-for-weights"),
						Image:           pulumi.String(s.Image),
						Command:         pulumi.ToStringArray([]string{"sh", "-c", WaitScript(s)}),
						SecurityContext: containerSecurity(),
						// A shell loop testing for a file every 15 s.
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
							Limits:   pulumi.StringMap{"memory": pulumi.String("64Mi")},
						},
						VolumeMounts: corev1.VolumeMountArray{
							&corev1.VolumeMountArgs{Name: pulumi.String("models"), MountPath: pulumi.String(MountPath), ReadOnly: pulumi.Bool(true)},
						},
					}},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String("vllm"),
						Image: pulumi.String(s.Image),
						// Stated, not inherited: VLLMArgs are `vllm serve`'s
						// (the model is its positional argument). The
						// vllm/vllm-openai image's entrypoint is `vllm serve`
						// today (docker/Dockerfile, target vllm-openai) but was
						// `python3 -m vllm.entrypoints.openai.api_server`, which
						// takes no positional model, and models[].image may be
						// any image.
						Command: pulumi.ToStringArray(VLLMCommand),
						Args:    pulumi.ToStringArray(VLLMArgs(s)),
						Env:     vllmEnv(s),
						Ports:   corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(Port)}},
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{
								"nvidia.com/gpu": gpus,
								"cpu":            pulumi.String(fmt.Sprint(3 * s.GPUsPerReplica)),
								"memory":         pulumi.String(fmt.Sprintf("%dGi", 12*s.GPUsPerReplica)),
							},
							Limits: pulumi.StringMap{"nvidia.com/gpu": gpus, "memory": pulumi.String(fmt.Sprintf("%dGi", 14*s.GPUsPerReplica))},
						},
						// Until /health answers, only the startup probe runs:
						// every coldstart.StartupProbePeriodSeconds (each
						// period is time a woken model's held requests wait),
						// for coldstart.StartupProbeFactor times the model's
						// estimated load and engine start with a cold compile
						// cache, before the container is restarted as hung.
						StartupProbe: &corev1.ProbeArgs{
							HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String("/health"), Port: pulumi.String("http")},
							PeriodSeconds:    pulumi.Int(coldstart.StartupProbePeriodSeconds),
							TimeoutSeconds:   pulumi.Int(Readiness.TimeoutSeconds),
							FailureThreshold: pulumi.Int(s.StartupFailureThreshold),
						},
						ReadinessProbe:  probe(Readiness),
						LivenessProbe:   probe(Liveness),
						SecurityContext: containerSecurity(),
						VolumeMounts:    vllmMounts(s),
					}},
					Volumes: vllmVolumes(s, args.ClaimName, &tmp),
				},
			},
		},
	}, parent, k8s, pulumi.DependsOn(append([]pulumi.Resource{args.Claim}, args.DependsOn...)),
		pulumi.IgnoreChanges([]string{"spec.replicas"}),
		// A first rollout waits for a GPU node, a ~10 GB image and the
		// weights; the 10-minute default would fail it.
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "120m", Update: "120m"}))
	if err != nil {
		return nil, err
	}

	if _, err := corev1.NewService(ctx, s.Name, &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(s.Name), Namespace: ns, Labels: labels},
		Spec: &corev1.ServiceSpecArgs{
			Selector: labels,
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(Port), TargetPort: pulumi.String("http"),
			}},
		},
	}, parent, k8s, inNamespace); err != nil {
		return nil, err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, s.Name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(s.Name), Namespace: ns},
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: labels},
		},
	}, parent, k8s, inNamespace); err != nil {
		return nil, err
	}
	if err := newNetworkPolicies(ctx, s.Name, args, labels, parent, k8s, inNamespace); err != nil {
		return nil, err
	}
	if args.PrometheusURL != "" {
		if _, err := manifest.Apply(ctx, s.Name+"-autoscaler", ScaledObjectObject(s, args.Namespace, args.PrometheusURL),
			parent, k8s, pulumi.DependsOn([]pulumi.Resource{keda, deploy})); err != nil {
			return nil, err
		}
	}

	svc.ServedNames = pulumi.ToStringArray(s.ServedNames()).ToStringArrayOutput()
	svc.Namespace = deploy.Metadata.Namespace().Elem()
	svc.Deployment = deploy.Metadata.Name().Elem()
	svc.MinReplicas = pulumi.Int(s.MinReplicas).ToIntOutput()
	svc.MaxReplicas = pulumi.Int(s.MaxReplicas).ToIntOutput()
	if err := ctx.RegisterResourceOutputs(svc, pulumi.Map{
		"servedNames": svc.ServedNames, "namespace": svc.Namespace, "deployment": svc.Deployment,
		"minReplicas": svc.MinReplicas, "maxReplicas": svc.MaxReplicas,
	}); err != nil {
		return nil, err
	}
	return svc, nil
}

// PreloadJobName is the preload Job of a model revision.
func PreloadJobName(s Spec) string { return fmt.Sprintf("%s-preload-%s", s.Name, s.Revision[:8]) }

// podSecurity: vLLM's image runs as root by default, but needs none of it:
// the weights are read through the access point (which maps every client to
// UID/GID), caches go to an emptyDir, and the GPU comes from the device
// plugin, not privileges. So pods run as that non-root user, meeting the
// restricted Pod Security profile.
func podSecurity(uid, gid int) *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		RunAsNonRoot:   pulumi.Bool(true),
		RunAsUser:      pulumi.Int(uid),
		RunAsGroup:     pulumi.Int(gid),
		FsGroup:        pulumi.Int(gid),
		SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// containerSecurity drops every capability and privilege escalation. The
// root filesystem stays writable: Triton and torch.compile write caches
// in places not all configurable.
func containerSecurity() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
}

// newNetworkPolicies: vLLM pods accept only the Envoy data plane, the
// endpoint pickers and the metrics scraper on their port and may only resolve DNS (the NFS mount is
// the node's, not the pod's). The preload job may additionally reach HTTPS
// (the Hugging Face Hub). Enforced by the VPC CNI's network policy agent.
func newNetworkPolicies(ctx *pulumi.Context, model string, args *Args, labels pulumi.StringMap, opts ...pulumi.ResourceOption) error {
	fromNamespace := func(ns string) *networkingv1.NetworkPolicyPeerArgs {
		return &networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
			MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(ns)},
		}}
	}
	dns := &networkingv1.NetworkPolicyEgressRuleArgs{
		To: networkingv1.NetworkPolicyPeerArray{fromNamespace("kube-system")},
		Ports: networkingv1.NetworkPolicyPortArray{
			&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)},
			&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(53)},
		},
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, model+"-vllm", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(model + "-vllm"), Namespace: pulumi.String(args.Namespace)},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
				From: networkingv1.NetworkPolicyPeerArray{
					fromNamespace(args.EnvoyNamespace), fromNamespace(args.MonitoringNamespace),
					&networkingv1.NetworkPolicyPeerArgs{PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(args.PickerPodLabels)}},
				},
				Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(Port)}},
			}},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{dns},
		},
	}, opts...); err != nil {
		return err
	}
	_, err := networkingv1.NewNetworkPolicy(ctx, model+"-preload", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(model + "-preload"), Namespace: pulumi.String(args.Namespace)},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
				"app.kubernetes.io/name": pulumi.String("preload"), "app.kubernetes.io/instance": pulumi.String(model),
			}},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Egress: networkingv1.NetworkPolicyEgressRuleArray{
				dns,
				&networkingv1.NetworkPolicyEgressRuleArgs{Ports: networkingv1.NetworkPolicyPortArray{
					&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(443)},
				}},
			},
		},
	}, opts...)
	return err
}

// ProbeTiming is how a probe of vLLM's /health is run.
type ProbeTiming struct {
	PeriodSeconds, TimeoutSeconds, FailureThreshold int
}

// Tolerance is how long /health may fail (or hang) before the probe acts.
func (p ProbeTiming) Tolerance() int { return p.PeriodSeconds * p.FailureThreshold }

// Readiness takes a replica out of the Service within seconds of /health
// failing or answering slowly: the gateway stops sending it work.
// Liveness restarts the container only when /health has failed for two
// minutes, with a generous timeout: an overloaded engine answers slowly but
// is alive, and a restart costs minutes of weight loading and compilation
// (vLLM answers 503 on /health once its engine is dead, which liveness
// catches).
var (
	Readiness = ProbeTiming{PeriodSeconds: coldstart.ReadinessPeriodSeconds, TimeoutSeconds: 2, FailureThreshold: 3}
	Liveness  = ProbeTiming{PeriodSeconds: 15, TimeoutSeconds: 10, FailureThreshold: 8}
)

func probe(p ProbeTiming) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{
		HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String("/health"), Port: pulumi.String("http")},
		PeriodSeconds:    pulumi.Int(p.PeriodSeconds),
		TimeoutSeconds:   pulumi.Int(p.TimeoutSeconds),
		FailureThreshold: pulumi.Int(p.FailureThreshold),
	}
}
