package gateway

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/render"
)

func TestLoadBalancerAnnotations(t *testing.T) {
	t.Parallel()
	internal := LoadBalancerAnnotations(Listener{Internal: true})
	if internal["service.beta.kubernetes.io/aws-load-balancer-type"] != "nlb" || internal["service.beta.kubernetes.io/aws-load-balancer-internal"] != "true" {
		t.Errorf("internal %v", internal)
	}
	public := LoadBalancerAnnotations(Listener{CertificateARN: "arn:aws:acm:us-east-1:1:certificate/x"})
	if _, ok := public["service.beta.kubernetes.io/aws-load-balancer-internal"]; ok {
		t.Error("internet-facing load balancer marked internal")
	}
	if public["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == "" || public["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] != "443" {
		t.Errorf("TLS annotations missing: %v", public)
	}
	for _, tt := range []struct {
		l    Listener
		addr string
		want string
	}{
		{Listener{}, "lb.example", "http://lb.example/v1"},
		{Listener{CertificateARN: "arn"}, "lb.example", "https://lb.example/v1"},
		{Listener{}, "", ""},
	} {
		if got := EndpointURL(tt.l.Scheme(), tt.l.Port(), tt.addr); got != tt.want {
			t.Errorf("EndpointURL(%+v, %q) = %q, want %q", tt.l, tt.addr, got, tt.want)
		}
	}
}

// budgetPolicy stands for package budgets' policy (which imports this
// package): the gateway applies whatever it is given.
var budgetPolicy = map[string]any{
	"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "BackendTrafficPolicy",
	"metadata": map[string]any{"name": "llm-token-limits", "namespace": Namespace},
	"spec":     map[string]any{"targetRefs": []any{gatewayRef()}},
}

func renderGateway(t *testing.T, clients []Client, budgets map[string]any, store CounterStore) *render.Result {
	t.Helper()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		gw, err := NewGateway(ctx, "gw", &Args{
			Listener:     Listener{Internal: true, NodeSelector: map[string]string{"role": "system"}, RouteNamespace: "models"},
			Clients:      clients,
			Budgets:      budgets,
			CounterStore: store,
			ServedNames:  []string{"qwen-7b", "qwen-sql"},
			Provider:     provider,
		})
		if err != nil {
			return err
		}
		if !pulumi.IsSecret(gw.APIKeys) {
			return fmt.Errorf("API keys output is not a secret")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGatewayComponent(t *testing.T) {
	t.Parallel()
	res := renderGateway(t, []Client{{Name: "team-a"}, {Name: "team-b"}}, budgetPolicy, CounterStore{})
	keys := res.OfType("random:index/randomPassword:RandomPassword")
	var keyNames []string
	for _, k := range keys {
		if strings.Contains(k.Name, "-key-") {
			keyNames = append(keyNames, k.Name)
			if k.Inputs["special"] != false || k.Inputs["length"].(float64) < 32 {
				t.Errorf("key %s: %v", k.Name, k.Inputs)
			}
		}
	}
	if !slices.Equal(keyNames, []string{"gw-key-team-a", "gw-key-team-b"}) {
		t.Errorf("keys %v", keyNames)
	}
	secret := res.Named("kubernetes:core/v1:Secret", "gw-api-keys")
	if secret == nil || secret.Inputs["stringData"] != render.Secret {
		t.Fatalf("API key secret = %+v, want its data masked as a secret", secret)
	}
	sp := res.Named("kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy", "gw-api-keys")
	if sp == nil || sp.String("spec.apiKeyAuth.credentialRefs.0.name") != secret.String("metadata.name") {
		t.Errorf("security policy does not read the key secret: %+v", sp)
	}
	if res.Named("kubernetes:apps/v1:Deployment", "gw-redis") == nil || res.Named("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "gw-token-limits") == nil {
		t.Error("a limited client needs Redis and the token policy")
	}
	eg := res.Named("kubernetes:helm.sh/v3:Release", "gw-envoy-gateway")
	if eg.Inputs["skipCrds"] != true || eg.String("values.config.envoyGateway.rateLimit.backend.redis.url") == "" {
		t.Errorf("envoy gateway release %v", eg.Inputs)
	}
	ai := res.Named("kubernetes:helm.sh/v3:Release", "gw-ai-gateway")
	if ai.String("values.controller.mcp.sessionEncryption.seed") != render.Secret {
		t.Error("the MCP session seed is not a generated secret")
	}
	// The AI Gateway controller starts after the Inference Extension
	// CRDs, or it never watches InferencePools.
	crds := res.Named("kubernetes:yaml/v2:ConfigFile", "gw-inference-extension-crds")
	if crds == nil || !slices.Contains(ai.DependsOn, crds.URN) {
		t.Errorf("the AI Gateway release does not wait for the Inference Extension CRDs (%v)", crds)
	}
	if eg.String("values.config.envoyGateway.extensionManager.backendResources.0.kind") != "InferencePool" {
		t.Error("Envoy Gateway does not hand InferencePool backends to the AI Gateway's extension server")
	}
	// Routes are admitted from the models' namespace only.
	gwObj := res.Named("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gw-gateway")
	labels, _ := gwObj.Input("spec.listeners.0.allowedRoutes.namespaces.selector.matchLabels")
	if gwObj.String("spec.listeners.0.allowedRoutes.namespaces.from") != "Selector" ||
		labels.(map[string]any)["kubernetes.io/metadata.name"] != "models" {
		t.Errorf("listener admits %v", gwObj.Inputs["spec"])
	}
}

func TestGatewayWithoutLimitsHasNoRedis(t *testing.T) {
	t.Parallel()
	res := renderGateway(t, []Client{{Name: "team-a"}}, nil, CounterStore{})
	if len(res.OfType("kubernetes:apps/v1:Deployment")) != 0 || len(res.OfType("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy")) != 0 {
		t.Error("Redis or a token policy without any limited client")
	}
	eg := res.Named("kubernetes:helm.sh/v3:Release", "gw-envoy-gateway")
	if eg.String("values.config.envoyGateway.rateLimit.backend.type") != "" {
		t.Error("rate-limit backend configured without limits")
	}
}

// Envoy ends idle requests and connections before the NLB drops them
// silently, and a streamed completion may run longer than an idle one.
func TestTimeoutsUnderTheLoadBalancer(t *testing.T) {
	t.Parallel()
	seconds := func(d string) int {
		v, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		return int(v.Seconds())
	}
	spec := ClientTrafficPolicyObject()["spec"].(map[string]any)
	http := spec["timeout"].(map[string]any)["http"].(map[string]any)
	for _, k := range []string{"streamIdleTimeout", "idleTimeout"} {
		if s := seconds(http[k].(string)); s >= NLBIdleTimeoutSeconds {
			t.Errorf("%s %ds is not under the NLB's %ds idle timeout", k, s, NLBIdleTimeoutSeconds)
		}
	}
	if seconds(RequestTimeout) < seconds(http["streamIdleTimeout"].(string)) {
		t.Errorf("request timeout %s is shorter than the stream idle timeout", RequestTimeout)
	}
	// The hold chain package coldstart validates wake-ups against states
	// these same timeouts (the gateway keeps literals: tests/xlate reads
	// them from this package's source).
	if seconds(StreamIdleTimeout) != coldstart.StreamIdleTimeoutSeconds || NLBIdleTimeoutSeconds != coldstart.NLBIdleTimeoutSeconds {
		t.Errorf("gateway timeouts (stream idle %s, NLB %ds) differ from the hold chain in package coldstart (%ds, %ds)",
			StreamIdleTimeout, NLBIdleTimeoutSeconds, coldstart.StreamIdleTimeoutSeconds, coldstart.NLBIdleTimeoutSeconds)
	}
	if seconds(RequestTimeout) <= coldstart.MaxQueueTimeoutSeconds {
		t.Errorf("request timeout %s does not outlast the longest queue hold, %ds", RequestTimeout, coldstart.MaxQueueTimeoutSeconds)
	}
}

// The counter store requires a password (a generated secret), hands it to
// the rate limit service through a Secret in Envoy Gateway's namespace, and
// admits only the rate limit service.
func TestCounterStoreLockedDown(t *testing.T) {
	t.Parallel()
	res := renderGateway(t, []Client{{Name: "team-a"}}, budgetPolicy, CounterStore{})
	pw := res.Named("random:index/randomPassword:RandomPassword", "gw-redis-password")
	if pw == nil || pw.Inputs["special"] != false || pw.Inputs["length"].(float64) < 32 {
		t.Fatalf("redis password = %+v", pw)
	}
	for _, name := range []string{"gw-redis-config", "gw-redis-auth"} {
		if s := res.Named("kubernetes:core/v1:Secret", name); s == nil || s.Inputs["stringData"] != render.Secret {
			t.Errorf("secret %s = %+v, want its data a Pulumi secret", name, s)
		}
	}
	if ns := res.Named("kubernetes:core/v1:Secret", "gw-redis-auth").String("metadata.namespace"); ns != envoyGatewayNamespace {
		t.Errorf("the rate limit service's password is in %q, want %q", ns, envoyGatewayNamespace)
	}
	for _, persistent := range []bool{false, true} {
		if conf := RedisConfig("p4ss", persistent); !strings.Contains(conf, "requirepass p4ss\n") {
			t.Errorf("redis.conf %q requires no password", conf)
		}
	}
	deploy := res.Named("kubernetes:apps/v1:Deployment", "gw-redis")
	if args, _ := deploy.Input("spec.template.spec.containers.0.args"); !slices.Equal(args.([]any), []any{"/etc/redis/redis.conf"}) {
		t.Errorf("redis runs with %v, want its config file", args)
	}
	// A new password rolls the pod (Redis reads its config at start); the
	// checksum is derived from the password, so it is a secret too.
	if sum, _ := deploy.Input("spec.template.metadata.annotations"); sum == nil || sum.(map[string]any)["llm-platform/config-sha256"] != render.Secret {
		t.Errorf("redis pod annotations = %v, want the config's checksum, as a secret", sum)
	}
	// Secret volume files are owned by root, and by the pod's fsGroup when
	// it has one (which the process also gets as a supplementary group):
	// redis, a non-root user, reads its config through "other" or that
	// group, never through the owner bits.
	mode, _ := deploy.Input("spec.template.spec.volumes.1.secret.defaultMode")
	fsGroup, hasFSGroup := deploy.Input("spec.template.spec.securityContext.fsGroup")
	m, _ := mode.(float64)
	readable := int(m)&0o004 != 0 || (hasFSGroup && fsGroup != nil && int(m)&0o040 != 0)
	if !readable || int(m)&0o004 != 0 {
		t.Errorf("redis config mode %o, fsGroup %v: want it readable by redis through fsGroup and by no other user", int(m), fsGroup)
	}
	eg := res.Named("kubernetes:helm.sh/v3:Release", "gw-envoy-gateway")
	env, _ := eg.Input("values.config.envoyGateway.provider.kubernetes.rateLimitDeployment.container.env")
	auth, _ := env.([]any)
	if len(auth) != 1 || auth[0].(map[string]any)["name"] != "REDIS_AUTH" {
		t.Errorf("rate limit service env = %v, want REDIS_AUTH from the secret", env)
	}
	np := res.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "gw-redis")
	if np == nil {
		t.Fatal("no NetworkPolicy for Redis")
	}
	from, _ := np.Input("spec.ingress.0.from")
	if peers := from.([]any); len(peers) != 1 ||
		peers[0].(map[string]any)["podSelector"].(map[string]any)["matchLabels"].(map[string]any)["app.kubernetes.io/name"] != RateLimitServiceName {
		t.Errorf("Redis admits %v, want only the rate limit service", from)
	}
}

// Budgets over a day or a month keep their counters: Redis appends every
// write to its volume (a StatefulSet's claim of the store's class), and
// consolidation leaves it where its volume is. In memory otherwise.
func TestCounterStorePersistence(t *testing.T) {
	t.Parallel()
	if conf := RedisConfig("p", true); !strings.Contains(conf, "appendonly yes\n") || !strings.Contains(conf, "dir /data\n") {
		t.Errorf("persistent redis.conf %q", conf)
	}
	if conf := RedisConfig("p", false); !strings.Contains(conf, "appendonly no\n") {
		t.Errorf("in-memory redis.conf %q", conf)
	}
	res := renderGateway(t, []Client{{Name: "team-a"}}, budgetPolicy, CounterStore{StorageClass: "gp3", VolumeGiB: 1, FailClosed: true})
	if res.Named("kubernetes:apps/v1:Deployment", "gw-redis") != nil {
		t.Error("a persistent store runs as a Deployment")
	}
	sts := res.Named("kubernetes:apps/v1:StatefulSet", "gw-redis")
	if sts == nil {
		t.Fatal("no Redis StatefulSet")
	}
	if sc := sts.String("spec.volumeClaimTemplates.0.spec.storageClassName"); sc != "gp3" {
		t.Errorf("claim class %q", sc)
	}
	if name := sts.String("spec.volumeClaimTemplates.0.metadata.name"); name != "data" {
		t.Errorf("claim %q is not the data volume redis writes to", name)
	}
	if vols, _ := sts.Input("spec.template.spec.volumes"); len(vols.([]any)) != 1 {
		t.Errorf("volumes %v: the claim, not an emptyDir, must be data", vols)
	}
	if a, _ := sts.Input("spec.template.metadata.annotations"); a.(map[string]any)["karpenter.sh/do-not-disrupt"] != "true" {
		t.Errorf("annotations %v", a)
	}
	eg := res.Named("kubernetes:helm.sh/v3:Release", "gw-envoy-gateway")
	if fc, _ := eg.Input("values.config.envoyGateway.rateLimit.failClosed"); fc != true {
		t.Errorf("failClosed %v, want true (gateway.budgetStoreDown closed)", fc)
	}
}
