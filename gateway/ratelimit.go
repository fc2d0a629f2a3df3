package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/sizing"
	"github.com/llm-platform/llm-platform/versions"
)

// The per-client token budgets are counted by Envoy Gateway's rate limit
// service (envoyproxy/ratelimit, the "envoy-ratelimit" Deployment Envoy
// Gateway runs in its own namespace) in a Redis this package runs.
//
// What happens to budgets when Redis is not there:
//   - With a StorageClass (the observability layer's encrypted gp3),
//     Redis is a StatefulSet that appends every write to a file on its
//     volume (appendonly, fsync every second): a restart reloads the
//     counters, losing at most the last second. envoyproxy/ratelimit
//     keys a counter by its window's start (src/limiter/cache_key.go) and
//     expires it after the window, so reloaded counters resume where they
//     were and a month's live for a month.
//   - Without one, the counters live in memory only: a restart resets
//     every budget's current window. Config allows that only for hourly
//     budgets.
//   - While Redis is down, the rate limit service cannot answer: Envoy
//     lets requests through unmetered (failClosed false, the default) or
//     answers 500 (gateway.budgetStoreDown closed). The README says so.

const (
	// RedisAuthSecret holds the Redis password, under RedisAuthKey: in the
	// gateway namespace for Redis, and in Envoy Gateway's namespace for the
	// rate limit service (a Secret is read from its own namespace only).
	RedisAuthSecret = "redis-auth"
	// RedisAuthKey is the Secret's key holding the password.
	RedisAuthKey = "password"
	// RateLimitServiceName is what Envoy Gateway v1.8.3 names and labels
	// the rate limit service (internal/infrastructure/kubernetes/ratelimit/
	// resource.go: InfraName, rateLimitLabels).
	RateLimitServiceName = "envoy-ratelimit"
	redisPort            = 6379
)

// CounterStore is how the budgets' counters are kept.
type CounterStore struct {
	// StorageClass, when set, keeps them on a volume of that class
	// (persisted); empty keeps them in memory.
	StorageClass string
	// VolumeGiB sizes the volume.
	VolumeGiB int
	// DependsOn is what the volume needs first (the class, its driver).
	DependsOn []pulumi.Resource
	// FailClosed refuses requests while the store is down, instead of
	// letting them through unmetered.
	FailClosed bool
}

// Persistent says whether the counters survive a restart of Redis.
func (c CounterStore) Persistent() bool { return c.StorageClass != "" }

type counterStore struct {
	url string
	// ready is what the Envoy Gateway release waits for: Redis and the
	// rate limit service's copy of the password.
	ready []pulumi.Resource
}

// newCounterStore runs Redis for the token budgets: one replica on the
// platform pool, persisted when the store has a StorageClass, a generated
// password (a Pulumi secret) required of every client, and a
// NetworkPolicy that admits only the rate limit service. Anything else in
// the cluster could otherwise reset or inflate every client's counters.
func newCounterStore(ctx *pulumi.Context, name string, nodeSelector map[string]string, store CounterStore, ns, egNamespace pulumi.Resource,
	parent pulumi.ResourceOption, k8s pulumi.ResourceOption,
) (*counterStore, error) {
	pw, err := random.NewRandomPassword(ctx, name+"-redis-password", &random.RandomPasswordArgs{
		Length: pulumi.Int(40), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	inGateway := pulumi.DependsOn([]pulumi.Resource{ns})
	// The whole configuration is in a Secret file, so the password is in
	// neither the pod spec nor redis-server's command line.
	persistent := store.Persistent()
	config := pw.Result.ApplyT(func(p string) string { return RedisConfig(p, persistent) }).(pulumi.StringOutput)
	conf, err := corev1.NewSecret(ctx, name+"-redis-config", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String("redis-config"), Namespace: pulumi.String(Namespace)},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"redis.conf": config},
	}, parent, k8s, inGateway)
	if err != nil {
		return nil, err
	}
	limiterAuth, err := corev1.NewSecret(ctx, name+"-redis-auth", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(RedisAuthSecret), Namespace: pulumi.String(envoyGatewayNamespace)},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{RedisAuthKey: pw.Result},
	}, parent, k8s, pulumi.DependsOn([]pulumi.Resource{egNamespace}))
	if err != nil {
		return nil, err
	}

	labels := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String("redis")}
	annotations := pulumi.StringMap{"llm-platform/config-sha256": config.ApplyT(func(c string) string {
		sum := sha256.Sum256([]byte(c))
		return hex.EncodeToString(sum[:])
	}).(pulumi.StringOutput)}
	data := &corev1.VolumeArgs{Name: pulumi.String("data"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}
	volumes := corev1.VolumeArray{
		&corev1.VolumeArgs{Name: pulumi.String("config"), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: pulumi.String("redis-config"), DefaultMode: pulumi.Int(0o440),
		}},
	}
	if persistent {
		// Its volume is in one zone: moving it means detaching and
		// attaching the volume, a minute with no budget store, so
		// consolidation leaves it where it is.
		annotations["karpenter.sh/do-not-disrupt"] = pulumi.String("true")
	} else {
		volumes = append(corev1.VolumeArray{data}, volumes...)
	}
	template := &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Labels: labels,
			// Redis reads its config at start: a new password (a
			// replaced redis-password) rolls the pod.
			Annotations: annotations,
		},
		Spec: &corev1.PodSpecArgs{
			NodeSelector: pulumi.ToStringMap(nodeSelector),
			SecurityContext: &corev1.PodSecurityContextArgs{
				RunAsNonRoot: pulumi.Bool(true),
				// The image's redis user (uid 999; its group in the alpine
				// image is 1000, which nothing here needs).
				RunAsUser:  pulumi.Int(999),
				RunAsGroup: pulumi.Int(999),
				// The config Secret's files are root-owned, mode 0440:
				// fsGroup makes them the redis group's, so redis can
				// read its password and no other user can.
				FsGroup:        pulumi.Int(999),
				SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
			},
			Containers: corev1.ContainerArray{&corev1.ContainerArgs{
				Name:  pulumi.String("redis"),
				Image: pulumi.String(versions.RedisImage),
				Args:  pulumi.ToStringArray([]string{"/etc/redis/redis.conf"}),
				Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("redis"), ContainerPort: pulumi.Int(redisPort)}},
				Resources: &corev1.ResourceRequirementsArgs{
					Requests: pulumi.ToStringMap(sizing.Redis.Requests()),
					Limits:   pulumi.ToStringMap(sizing.Redis.Limits()),
				},
				ReadinessProbe: &corev1.ProbeArgs{TcpSocket: &corev1.TCPSocketActionArgs{Port: pulumi.Int(redisPort)}},
				SecurityContext: &corev1.SecurityContextArgs{
					AllowPrivilegeEscalation: pulumi.Bool(false),
					ReadOnlyRootFilesystem:   pulumi.Bool(true),
					Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
				},
				VolumeMounts: corev1.VolumeMountArray{
					&corev1.VolumeMountArgs{Name: pulumi.String("data"), MountPath: pulumi.String("/data")},
					&corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String("/etc/redis"), ReadOnly: pulumi.Bool(true)},
				},
			}},
			Volumes: volumes,
		},
	}
	deploy, err := redisWorkload(ctx, name, labels, template, store, parent, k8s, pulumi.DependsOn(append([]pulumi.Resource{ns, conf}, store.DependsOn...)))
	if err != nil {
		return nil, err
	}
	if _, err := corev1.NewService(ctx, name+"-redis", &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("redis"), Namespace: pulumi.String(Namespace)},
		Spec: &corev1.ServiceSpecArgs{
			Selector: labels,
			Ports:    corev1.ServicePortArray{&corev1.ServicePortArgs{Name: pulumi.String("redis"), Port: pulumi.Int(redisPort), TargetPort: pulumi.String("redis")}},
		},
	}, parent, k8s, inGateway); err != nil {
		return nil, err
	}
	if _, err := manifest.Apply(ctx, name+"-redis", RedisNetworkPolicyObject(), parent, k8s, inGateway); err != nil {
		return nil, err
	}
	return &counterStore{
		url:   fmt.Sprintf("redis.%s.svc.cluster.local:%d", Namespace, redisPort),
		ready: []pulumi.Resource{deploy, limiterAuth},
	}, nil
}

// RedisConfig is redis.conf: a required password, and either every write
// appended to /data and synced each second (persistent: a restart loses
// at most a second of charges) or nothing persisted. No snapshots either
// way: the append-only file is the one copy.
func RedisConfig(password string, persistent bool) string {
	persistence := "appendonly no\n"
	if persistent {
		persistence = "appendonly yes\nappendfsync everysec\ndir /data\n"
	}
	return fmt.Sprintf("port %d\nrequirepass %s\nsave \"\"\n%sprotected-mode yes\n", redisPort, password, persistence)
}

// redisWorkload runs the Redis pod: a StatefulSet with a volume of the
// store's class when persistent (the volume outlives the pod, and a
// replacement pod gets the same one), a Deployment otherwise.
func redisWorkload(ctx *pulumi.Context, name string, labels pulumi.StringMap, template *corev1.PodTemplateSpecArgs, store CounterStore,
	opts ...pulumi.ResourceOption,
) (pulumi.Resource, error) {
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String("redis"), Namespace: pulumi.String(Namespace)}
	selector := &metav1.LabelSelectorArgs{MatchLabels: labels}
	if !store.Persistent() {
		return appsv1.NewDeployment(ctx, name+"-redis", &appsv1.DeploymentArgs{
			Metadata: meta,
			Spec:     &appsv1.DeploymentSpecArgs{Replicas: pulumi.Int(1), Selector: selector, Template: template},
		}, opts...)
	}
	return appsv1.NewStatefulSet(ctx, name+"-redis", &appsv1.StatefulSetArgs{
		Metadata: meta,
		Spec: &appsv1.StatefulSetSpecArgs{
			Replicas: pulumi.Int(1), Selector: selector, Template: template,
			ServiceName: pulumi.String("redis"),
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{&corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data")},
				Spec: &corev1.PersistentVolumeClaimSpecArgs{
					AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
					StorageClassName: pulumi.String(store.StorageClass),
					Resources: &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{
						"storage": pulumi.Sprintf("%dGi", store.VolumeGiB),
					}},
				},
			}},
			// The claim outlives the StatefulSet (its default): counters
			// survive a replaced StatefulSet; pulumi destroy deletes the
			// namespace, and the claim with it.
		},
	}, opts...)
}

// RedisNetworkPolicyObject admits only Envoy Gateway's rate limit service
// to Redis (the VPC CNI's network policy agent enforces it).
func RedisNetworkPolicyObject() map[string]any {
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": "redis", "namespace": Namespace},
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "redis"}},
			"policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{
				"from": []any{map[string]any{
					"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": envoyGatewayNamespace}},
					"podSelector": map[string]any{"matchLabels": map[string]any{
						"app.kubernetes.io/name": RateLimitServiceName, "app.kubernetes.io/component": "ratelimit",
					}},
				}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": redisPort}},
			}},
		},
	}
}

// rateLimitDeployment is Envoy Gateway's customization of the rate limit
// service: its Redis password from the Secret in its namespace, read by
// envoyproxy/ratelimit from REDIS_AUTH (Envoy Gateway merges these env vars
// into the ones it sets: internal/infrastructure/kubernetes/resource/
// resource.go, ExpectedContainerEnv), its pods on the platform pool, and
// its resources (Envoy Gateway's default, applied whenever
// container.resources is unset, is 100m / 512Mi with no limit:
// api/v1alpha1/envoygateway_helpers.go, GetEnvoyGatewayKubeProvider, and
// kubernetes_helpers.go, defaultKubernetesDeploymentSpec; v1.8.3).
func rateLimitDeployment(nodeSelector map[string]string) map[string]any {
	return map[string]any{
		"pod": map[string]any{"nodeSelector": manifest.Map(nodeSelector)},
		"container": map[string]any{
			"env": []any{map[string]any{
				"name": "REDIS_AUTH",
				"valueFrom": map[string]any{"secretKeyRef": map[string]any{
					"name": RedisAuthSecret, "key": RedisAuthKey,
				}},
			}},
			"resources": sizing.RateLimit.Values(),
		},
	}
}
