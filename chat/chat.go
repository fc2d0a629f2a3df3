package chat

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/manifest"
	"github.com/llm-platform/llm-platform/versions"
)

// Args configures the chat front end.
type Args struct {
	// Spec is the chart's plain values (URL, OIDC, gateway URL, volume,
	// placement).
	Spec Spec
	// Hostname is chat.hostname (the route's).
	Hostname string
	// Route attaches Open WebUI to the Gateway's chat listener.
	Route Route
	// Policy is what the pod may reach.
	Policy Policy
	// APIKey is the chat client's gateway API key (a secret).
	APIKey pulumi.StringInput
	// OIDCClientSecret is chatOidcClientSecret; required with Spec.OIDC.
	OIDCClientSecret pulumi.StringInput
	// DatabaseURL is chatDatabaseUrl; required with Spec.ExternalDatabase.
	DatabaseURL pulumi.StringInput
	Provider    *kubernetes.Provider
	// DependsOn: the platform pool, the StorageClass, and the Gateway with
	// its API-key policy (the route attaches to it, the key must work).
	DependsOn []pulumi.Resource
}

// Chat is the chat front end.
type Chat struct {
	pulumi.ResourceState

	// URL is where users open it.
	URL pulumi.StringOutput `pulumi:"url"`
	// AdminEmail is the generated local admin's sign-in.
	AdminEmail pulumi.StringOutput `pulumi:"adminEmail"`
	// AdminPassword is its password (a secret). With OIDC the password
	// form is off: the account exists so that no OIDC user becomes admin
	// by signing in first.
	AdminPassword pulumi.StringOutput `pulumi:"adminPassword"`
}

func (a *Args) validate() error {
	switch {
	case a.Provider == nil:
		return fmt.Errorf("chat: Provider is required")
	case a.APIKey == nil:
		return fmt.Errorf("chat: the chat client's API key is required")
	case a.Spec.OIDC != nil && a.OIDCClientSecret == nil:
		return fmt.Errorf("chat: config key chat.oidc needs the secret %s", "chatOidcClientSecret")
	case a.Spec.ExternalDatabase && a.DatabaseURL == nil:
		return fmt.Errorf("chat: an external database needs the secret chatDatabaseUrl")
	case a.Spec.StorageClass == "" || a.Spec.StorageGiB < 1:
		return fmt.Errorf("chat: config key chat.storageGiB: a volume is required")
	case a.Hostname == "" || a.Route.Hostname != a.Hostname:
		return fmt.Errorf("chat: config key chat.hostname is required")
	}
	return nil
}

// NewChat installs Open WebUI and attaches it to the Gateway.
func NewChat(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Chat, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, err
	}
	c := &Chat{}
	if err := ctx.RegisterComponentResource("llm-platform:chat:Chat", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	k8s := pulumi.Provider(args.Provider)

	// Baseline, not restricted: the image runs as root (its Dockerfile's
	// UID 0, "non-root configurations are untested"), and running it as
	// another user breaks on 0.11.0 (open-webui#27651, runAsNonRoot).
	// The pod passes every other restricted rule (values.go).
	ns, err := manifest.NewNamespace(ctx, name+"-namespace", Namespace,
		manifest.PodSecurityLabels(manifest.PodSecurityBaseline), parent, k8s, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, err
	}
	inNamespace := pulumi.DependsOn([]pulumi.Resource{ns})

	// The session signing key: stable across restarts, so sessions and
	// the stored OAuth tokens survive them.
	session, err := random.NewRandomPassword(ctx, name+"-session-key", &random.RandomPasswordArgs{
		Length: pulumi.Int(64), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	admin, err := random.NewRandomPassword(ctx, name+"-admin-password", &random.RandomPasswordArgs{
		Length: pulumi.Int(32), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	data := pulumi.StringMap{
		KeyAPIKey:        args.APIKey,
		KeySessionSecret: session.Result,
		KeyAdminPassword: admin.Result,
	}
	if args.Spec.OIDC != nil {
		data[KeyOIDCSecret] = args.OIDCClientSecret
	}
	if args.Spec.ExternalDatabase {
		data[KeyDatabaseURL] = args.DatabaseURL
	}
	secret, err := corev1.NewSecret(ctx, name+"-secret", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(SecretName), Namespace: pulumi.String(Namespace)},
		Type:       pulumi.String("Opaque"),
		StringData: data,
	}, parent, k8s, inNamespace)
	if err != nil {
		return nil, err
	}

	// Policies before the pod: it never runs unconfined.
	var policies []pulumi.Resource
	for _, pol := range []struct {
		suffix string
		obj    map[string]any
	}{{"default-deny", DefaultDenyObject()}, {"network-policy", NetworkPolicyObject(args.Policy)}} {
		p, err := manifest.Apply(ctx, name+"-"+pol.suffix, pol.obj, parent, k8s, inNamespace)
		if err != nil {
			return nil, err
		}
		policies = append(policies, p)
	}
	release, err := helmv3.NewRelease(ctx, name+"-open-webui", &helmv3.ReleaseArgs{
		Name:            pulumi.String(ReleaseName),
		Chart:           pulumi.String(versions.OpenWebUIChart),
		RepositoryOpts:  &helmv3.RepositoryOptsArgs{Repo: pulumi.String(versions.OpenWebUIRepo)},
		Version:         pulumi.String(versions.OpenWebUIVersion),
		Namespace:       ns.Metadata.Name().Elem(),
		CreateNamespace: pulumi.Bool(false),
		Values:          pulumi.ToMap(Values(args.Spec)),
	}, parent, k8s, pulumi.DependsOn(append([]pulumi.Resource{ns, secret}, policies...)))
	if err != nil {
		return nil, err
	}
	if _, err := manifest.Apply(ctx, name+"-route", HTTPRouteObject(args.Route), parent, k8s,
		pulumi.DependsOn([]pulumi.Resource{ns, release})); err != nil {
		return nil, err
	}

	c.URL = pulumi.String(args.Spec.URL).ToStringOutput()
	c.AdminEmail = pulumi.String(args.Spec.AdminEmail).ToStringOutput()
	c.AdminPassword = pulumi.ToSecret(admin.Result).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"url": c.URL, "adminEmail": c.AdminEmail, "adminPassword": c.AdminPassword,
	}); err != nil {
		return nil, err
	}
	return c, nil
}
