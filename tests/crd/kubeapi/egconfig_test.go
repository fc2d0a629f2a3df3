package kubeapi

import (
	"slices"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/llm-platform/versions"
)

// Envoy Gateway reads its configuration (config.envoyGateway in the chart's
// values, rendered into the envoy-gateway-config ConfigMap) with a decoder
// that ignores unknown fields (v1.8.3 internal/envoygateway/config/
// decoder.go), and the API server never sees inside a ConfigMap: a
// misspelt key in our values would be dropped in silence. So the rendered
// configuration is decoded strictly into Envoy Gateway's own type, and what
// the budgets depend on is read back from it: the Redis backend, fail-open,
// and the rate limit service's Redis password from its Secret.
func TestEnvoyGatewayConfigDecodesStrictly(t *testing.T) {
	c := getCluster(t)
	checked := 0
	for _, stack := range stacks(t) {
		s := loadStack(t, stack)
		for file, spec := range s.releases {
			if spec.key() != versions.EnvoyGatewayChart {
				continue
			}
			docs, err := c.render(spec)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, d := range docs {
				if d.obj["kind"] != "ConfigMap" || d.obj["metadata"].(map[string]any)["name"] != "envoy-gateway-config" {
					continue
				}
				raw, _ := d.obj["data"].(map[string]any)["envoy-gateway.yaml"].(string)
				var eg egv1a1.EnvoyGateway
				if err := yaml.UnmarshalStrict([]byte(raw), &eg); err != nil {
					t.Errorf("%s: Envoy Gateway's configuration does not decode strictly (a key Envoy Gateway would ignore): %v\n%s", file, err, raw)
					continue
				}
				checked++
				rl := eg.RateLimit
				if rl == nil {
					continue // no client has a budget in this stack
				}
				// Fail closed exactly where the stack asks for it
				// (gateway.budgetStoreDown: closed in tests/testdata/
				// stacks/two-models.yaml, the default open elsewhere).
				wantClosed := stack == "two-models"
				if rl.Backend.Redis == nil || rl.Backend.Redis.URL == "" || rl.FailClosed != wantClosed {
					t.Errorf("%s: rate limit config %+v, want the Redis backend, failClosed %v (gateway.budgetStoreDown)", file, rl, wantClosed)
				}
				var k8s *egv1a1.EnvoyGatewayKubernetesProvider
				if eg.Provider != nil {
					k8s = eg.Provider.Kubernetes
				}
				// REDIS_AUTH (what envoyproxy/ratelimit reads) from a Secret
				// the program declares in the rate limit service's namespace.
				var env []corev1.EnvVar
				if k8s != nil && k8s.RateLimitDeployment != nil && k8s.RateLimitDeployment.Container != nil {
					env = k8s.RateLimitDeployment.Container.Env
				}
				if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool {
					if e.Name != "REDIS_AUTH" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Key == "" {
						return false
					}
					return slices.ContainsFunc(s.objects, func(tg target) bool {
						u := unstructured.Unstructured{Object: tg.obj}
						return u.GetKind() == "Secret" && u.GetName() == e.ValueFrom.SecretKeyRef.Name && u.GetNamespace() == spec.Namespace
					})
				}) {
					t.Errorf("%s: the rate limit service gets no REDIS_AUTH from a Secret declared in %s: env %+v", file, spec.Namespace, env)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Envoy Gateway configuration was rendered")
	}
}
