package platform

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v7/go/aws"
	awseks "github.com/pulumi/pulumi-aws/sdk/v7/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/budgets"
	"github.com/llm-platform/llm-platform/chat"
	"github.com/llm-platform/llm-platform/cluster"
	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/config"
	"github.com/llm-platform/llm-platform/cost"
	"github.com/llm-platform/llm-platform/gateway"
	"github.com/llm-platform/llm-platform/gpu"
	"github.com/llm-platform/llm-platform/inference"
	"github.com/llm-platform/llm-platform/inference/eppconfig"
	"github.com/llm-platform/llm-platform/models"
	"github.com/llm-platform/llm-platform/network"
	"github.com/llm-platform/llm-platform/observability"
	"github.com/llm-platform/llm-platform/platformpool"
	"github.com/llm-platform/llm-platform/providers"
	"github.com/llm-platform/llm-platform/storage"
	"github.com/llm-platform/llm-platform/tags"
	"github.com/llm-platform/llm-platform/usage"
	"github.com/llm-platform/llm-platform/versions"
)

// Program is the Pulumi program: it loads and validates the stack config,
// then declares every component. A config error returns before any
// resource is registered.
func Program(ctx *pulumi.Context) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	acct, caller, err := lookupAccount(ctx, cfg)
	if err != nil {
		return err
	}
	// The config checks that need AWS: who is creating the cluster, if
	// it does not exist yet.
	clusters, err := awseks.GetClusters(ctx, nil)
	if err != nil {
		return fmt.Errorf("listing the account's EKS clusters: %w", err)
	}
	warning, err := config.CheckDeployer(cfg, caller, ctx.DryRun(), slices.Contains(clusters.Names, cfg.Cluster.Name))
	if err != nil {
		return err
	}
	if warning != "" {
		if err := ctx.Log.Warn(warning, nil); err != nil {
			return err
		}
	}
	return deploy(ctx, cfg, acct)
}

// Deploy declares the components for a config Load accepted, without the
// checks Program makes against the deploying principal (the engine tests
// use it to show those checks are what stops a broken config).
func Deploy(ctx *pulumi.Context, cfg *config.Config) error {
	acct, _, err := lookupAccount(ctx, cfg)
	if err != nil {
		return err
	}
	return deploy(ctx, cfg, acct)
}

// deploy declares the components and exports the stack outputs.
func deploy(ctx *pulumi.Context, cfg *config.Config, acct cluster.Account) error {
	region := acct.Region
	baseTags := tags.Merge(tags.Platform(cfg.Project, cfg.Stack), cfg.Tags)

	net, err := network.NewNetwork(ctx, cfg.Cluster.Name, &network.Args{
		ClusterName:       cfg.Cluster.Name,
		Region:            region,
		CIDR:              cfg.Network.CIDR,
		AZCount:           cfg.Network.AZCount,
		AvailabilityZones: cfg.Network.AvailabilityZones,
		NAT:               cfg.Network.NAT,
		Tags:              baseTags,
	})
	if err != nil {
		return err
	}

	k8s, err := cluster.NewCluster(ctx, cfg.Cluster.Name, &cluster.Args{
		Account:              acct,
		KubernetesVersion:    cfg.Cluster.KubernetesVersion,
		VpcID:                net.VpcID,
		PrivateSubnetIDs:     net.PrivateSubnetIDs,
		EndpointPublicAccess: cfg.Cluster.EndpointPublicAccess,
		PublicAccessCIDRs:    cfg.Cluster.PublicAccessCIDRs,
		AdminRoleARNs:        cfg.Cluster.AdminRoleARNs,
		LogTypes:             cfg.Cluster.LogTypes,
		LogRetentionDays:     cfg.Cluster.LogRetentionDays,
		SystemNodes:          cluster.SystemNodes(cfg.Cluster.SystemNodes),
		Tags:                 baseTags,
	})
	if err != nil {
		return err
	}

	switch {
	case cfg.LLMLayer():
		if err := deployLLMLayer(ctx, cfg, acct, net, k8s, baseTags); err != nil {
			return err
		}
	case cfg.Storage.KeepBucket:
		// The layer is off: compute, gateway and models go, the protected
		// bucket stays declared (same component, same URNs) with its
		// weights, ready for S3 Files when the layer comes back.
		bucket, err := storage.NewStorage(ctx, k8s.Name+"-models", storageArgs(cfg, acct, net, k8s, baseTags, true, k8s.SystemNodes))
		if err != nil {
			return err
		}
		ctx.Export("modelBucketName", bucket.BucketName)
		ctx.Export("modelBucketArn", bucket.BucketARN)
	}

	ctx.Export("region", pulumi.String(region))
	ctx.Export("vpcId", net.VpcID)
	ctx.Export("publicSubnetIds", net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("availabilityZones", net.AvailabilityZones)
	ctx.Export("clusterName", k8s.ClusterName)
	ctx.Export("clusterEndpoint", k8s.Endpoint)
	ctx.Export("kubeconfig", k8s.KubeconfigJSON)
	ctx.Export("clusterSecurityGroupId", k8s.ClusterSecurityGroupID)
	ctx.Export("karpenterNodeRoleName", k8s.KarpenterNodeRoleName)
	ctx.Export("karpenterNodeRoleArn", k8s.KarpenterNodeRoleARN)
	ctx.Export("interruptionQueueName", k8s.InterruptionQueueName)
	ctx.Export("llmEnabled", pulumi.Bool(cfg.LLMLayer()))
	estimate := cost.Monthly(cfg)
	ctx.Export("estimatedMonthlyCostIdleUsd", pulumi.Float64(estimate.IdleUSD))
	ctx.Export("estimatedMonthlyCostMaxUsd", pulumi.Float64(estimate.MaxUSD))
	return nil
}

// deployLLMLayer declares the opt-in layer: the GPU pool (and, as they
// land, storage, gateway, models and observability).
func deployLLMLayer(ctx *pulumi.Context, cfg *config.Config, acct cluster.Account, net *network.Network,
	k8s *cluster.Cluster, baseTags map[string]string,
) error {
	specs := modelSpecs(cfg)
	// Platform services run on Karpenter's platform pool, not on the
	// system nodes (tainted for Karpenter, CoreDNS and node agents only).
	// Each depends on the NodePool: created once Karpenter can place it,
	// deleted before the pool's nodes go.
	platformNodes, err := platformpool.NewPool(ctx, "platform", &platformpool.Args{
		Spec: platformpool.Spec{
			ClusterName:         k8s.Name,
			NodeRoleName:        cluster.KarpenterNodeRoleName(k8s.Name),
			BottlerocketVersion: cfg.GPU.BottlerocketVersion,
			Nodes:               cfg.PlatformNodes,
			Tags:                baseTags,
		},
		Provider:            k8s.Provider,
		Karpenter:           k8s.Karpenter,
		KarpenterNodeAccess: k8s.KarpenterNodeAccess,
	})
	if err != nil {
		return err
	}
	onPlatform := platformNodes.NodeSelector
	modelStore, err := storage.NewStorage(ctx, k8s.Name+"-models", storageArgs(cfg, acct, net, k8s, baseTags, false, platformNodes.NodePool))
	if err != nil {
		return err
	}
	ctx.Export("modelBucketName", modelStore.BucketName)
	ctx.Export("modelBucketArn", modelStore.BucketARN)
	ctx.Export("fileSystemId", modelStore.FileSystemID)
	ctx.Export("accessPointId", modelStore.AccessPointID)
	ctx.Export("modelClaim", pulumi.Sprintf("%s/%s", modelStore.ClaimNamespace, modelStore.ClaimName))

	pool, err := gpu.NewPool(ctx, "gpu-l4", &gpu.Args{
		NodeClass: gpu.NodeClassSpec{
			ClusterName:          k8s.Name,
			NodeRoleName:         cluster.KarpenterNodeRoleName(k8s.Name),
			BottlerocketVersion:  cfg.GPU.BottlerocketVersion,
			DataVolumeGiB:        cfg.GPU.DataVolumeGiB,
			InstanceStoreRAID0:   cfg.GPU.InstanceStoreRAID0,
			SOCIParallelPull:     cfg.GPU.SOCIParallelPull,
			DataVolumeSnapshotID: cfg.GPU.DataVolumeSnapshotID,
			Tags:                 baseTags,
		},
		NodePool: gpu.NodePoolSpec{
			InstanceFamilies: cfg.GPU.InstanceFamilies,
			InstanceSizes:    cfg.GPU.InstanceSizes,
			CapacityTypes:    cfg.GPU.CapacityTypes,
			GPULimit:         cfg.GPU.GPULimit,
			ConsolidateAfter: cfg.GPU.ConsolidateAfter,
			ExpireAfter:      cfg.GPU.ExpireAfter,
		},
		Provider:                    k8s.Provider,
		Karpenter:                   k8s.Karpenter,
		KarpenterNodeAccess:         k8s.KarpenterNodeAccess,
		CreateSpotServiceLinkedRole: cfg.GPU.CreateSpotServiceLinkedRole,
	})
	if err != nil {
		return err
	}

	prometheusURL := ""
	// Before the gateway: the budgets' counter store keeps its volume in
	// the observability layer's StorageClass.
	var counterStore gateway.CounterStore
	var storageClass []pulumi.Resource
	if cfg.ObservabilityLayer() {
		var alertWebhookURL pulumi.StringInput
		if cfg.HasAlertWebhookURL {
			alertWebhookURL = cfg.AlertWebhookURL
		}
		obs, err := observability.NewStack(ctx, k8s.Name+"-observability", &observability.Args{
			Partition:            acct.Partition,
			ClusterName:          k8s.ClusterName,
			EBSCSIVersion:        versions.Addons[cfg.Cluster.KubernetesVersion].EBSCSI,
			RoleNamePrefix:       k8s.Name,
			Tags:                 baseTags,
			Retention:            cfg.Observability.Retention,
			StorageGiB:           cfg.Observability.StorageGiB,
			ErrorRatioTarget:     cfg.Observability.ErrorRatioTarget,
			Models:               modelSLOs(cfg, specs),
			ModelNamespace:       storage.Namespace,
			GPUPool:              gpu.PoolName,
			GPUNodeSelector:      pool.NodeSelector,
			GPUTaintKey:          pool.Toleration,
			PlatformNodeSelector: onPlatform,
			EnvoyNamespace:       gateway.EnvoyNamespace,
			KarpenterNamespace:   cluster.KarpenterNamespace,
			KEDANamespace:        models.KEDANamespace,
			AlertReceiver:        cfg.Observability.Alerts.Receiver,
			AlertWebhookURL:      alertWebhookURL,
			Chat:                 cfg.ChatLayer(),
			Provider:             k8s.Provider,
			DependsOn:            []pulumi.Resource{platformNodes.NodePool},
		})
		if err != nil {
			return err
		}
		// Tokens, GPU hours and an estimated cost per client; tokens
		// beyond each budget.
		if _, err := usage.NewUsage(ctx, k8s.Name+"-usage", &usage.Args{
			Spec:      usage.SpecFromConfig(cfg),
			Provider:  k8s.Provider,
			DependsOn: []pulumi.Resource{obs.Release},
		}); err != nil {
			return err
		}
		ctx.Export("prometheusUrl", obs.PrometheusURL)
		ctx.Export("grafanaAdminPassword", obs.GrafanaAdminPassword)
		prometheusURL = observability.PrometheusURL
		storageClass = []pulumi.Resource{obs.StorageClass}
		counterStore = gateway.CounterStore{
			StorageClass: observability.StorageClassName, VolumeGiB: config.CounterStoreGiB,
			DependsOn: []pulumi.Resource{obs.StorageClass},
		}
	}
	counterStore.FailClosed = cfg.Gateway.BudgetStoreDown == config.StoreDownClosed

	// Bedrock's access before the gateway: the Envoy pods get Pod
	// Identity credentials only if the association exists when they start.
	var envoyAnnotations map[string]string
	var envoyDeps []pulumi.Resource
	if bedrock := providers.BedrockModels(cfg); len(bedrock) > 0 {
		access, err := providers.NewBedrockAccess(ctx, k8s.Name+"-bedrock", &providers.AWSArgs{
			Partition: acct.Partition, Region: acct.Region, AccountID: acct.ID,
			ClusterName:    k8s.ClusterName,
			RoleNamePrefix: k8s.Name,
			Namespace:      gateway.EnvoyNamespace, ServiceAccount: gateway.EnvoyServiceAccount,
			VpcID: net.VpcID, PrivateSubnetIDs: net.PrivateSubnetIDs, NodeSecurityGroupID: k8s.ClusterSecurityGroupID,
			Tags: baseTags,
		}, bedrock, providers.BedrockEndpoint(cfg))
		if err != nil {
			return err
		}
		envoyAnnotations, envoyDeps = access.PodAnnotations, access.Ready
		ctx.Export("bedrockRoleArn", access.RoleARN)
	}
	listener := gateway.Listener{
		Internal:       cfg.Gateway.LoadBalancer == config.LoadBalancerInternal,
		SourceCIDRs:    cfg.Gateway.SourceCIDRs,
		CertificateARN: cfg.Gateway.CertificateARN,
		NodeSelector:   onPlatform,
		PodAnnotations: envoyAnnotations,
		OIDC:           cfg.Gateway.OIDC != nil,
		RouteNamespace: storage.Namespace,
	}
	if cfg.ChatLayer() {
		listener.ChatHostname, listener.ChatNamespace = cfg.Chat.Hostname, chat.Namespace
	}
	gw, err := gateway.NewGateway(ctx, k8s.Name+"-gateway", &gateway.Args{
		Listener:       listener,
		EnvoyDependsOn: envoyDeps,
		Clients:        gatewayClients(cfg),
		Budgets:        budgets.PolicyObject(budgets.FromConfig(cfg)),
		JWTPolicy:      jwtPolicy(cfg),
		CounterStore:   counterStore,
		ServedNames:    servedNames(cfg, specs),
		Provider:       k8s.Provider,
		DependsOn:      []pulumi.Resource{platformNodes.NodePool},
	})
	if err != nil {
		return err
	}
	// Each model behind its InferencePool and endpoint picker, which holds
	// its requests while it wakes; the served names routed to the pools.
	pools, err := inference.NewPools(ctx, k8s.Name+"-inference", &inference.Args{
		// The picker image is amd64 only: NodeSelectorFor pins it there.
		Pools:               modelPools(cfg, specs, platformpool.NodeSelectorFor(versions.EndpointPickerImage)),
		Routes:              poolRoutes(cfg, specs),
		Listeners:           gateway.ModelListeners(cfg.Gateway.OIDC != nil),
		Provider:            k8s.Provider,
		DependsOn:           []pulumi.Resource{gw.InferenceCRDs, modelStore.NamespaceResource, platformNodes.NodePool},
		EnvoyNamespace:      gateway.EnvoyNamespace,
		MonitoringNamespace: observability.Namespace,
		GatewayReady:        gw.Ready,
	})
	if err != nil {
		return err
	}
	// Hosted providers and fallbacks, next to the pools' routes.
	var hostedRoutes []pulumi.Resource
	if fallbacks := fallbackModels(cfg); len(cfg.Providers) > 0 || len(fallbacks) > 0 {
		hosted, err := providers.NewProviders(ctx, k8s.Name+"-providers", &providers.Args{
			Providers: cfg.Providers,
			Fallbacks: fallbacks,
			APIKeys:   cfg.ProviderAPIKeys,
			Namespace: storage.Namespace,
			Listeners: gateway.ModelListeners(cfg.Gateway.OIDC != nil),
			ModelPort: models.Port,
			Provider:  k8s.Provider,
			DependsOn: append(append([]pulumi.Resource{modelStore.NamespaceResource}, gw.Ready...), envoyDeps...),
		})
		if err != nil {
			return err
		}
		hostedRoutes = hosted.Routes
	}
	ctx.Export("endpoint", gw.Endpoint)
	if cfg.Gateway.OIDC != nil {
		ctx.Export("oidcEndpoint", gw.OIDCEndpoint)
	}
	ctx.Export("servedModels", gw.ServedModels)
	ctx.Export("apiKeys", gw.APIKeys)
	if cfg.ChatLayer() {
		front, err := newChat(ctx, cfg, k8s, gw, listener, append(append([]pulumi.Resource{platformNodes.NodePool}, storageClass...), gw.Ready...))
		if err != nil {
			return err
		}
		ctx.Export("chatUrl", front.URL)
		ctx.Export("chatAdminEmail", front.AdminEmail)
		ctx.Export("chatAdminPassword", front.AdminPassword)
	}

	workloads, err := models.NewModels(ctx, k8s.Name+"-models", &models.Args{
		Models:               specs,
		Namespace:            storage.Namespace,
		ClaimName:            storage.ClaimName,
		Claim:                modelStore.Claim,
		UID:                  storage.UID,
		GID:                  storage.GID,
		PrometheusURL:        prometheusURL,
		HFToken:              cfg.HuggingFaceToken,
		HasHFToken:           cfg.HasHuggingFaceToken,
		GPUNodeSelector:      pool.NodeSelector,
		GPUTolerationKey:     pool.Toleration,
		PlatformNodeSelector: onPlatform,
		EnvoyNamespace:       gateway.EnvoyNamespace,
		MonitoringNamespace:  observability.Namespace,
		PickerPodLabels:      inference.PickerPodLabels(),
		Provider:             k8s.Provider,
		DependsOn:            append(append([]pulumi.Resource{pool.NodePool}, pools.Routes...), hostedRoutes...),
		PlatformNodes:        []pulumi.Resource{platformNodes.NodePool},
		NamespaceResource:    modelStore.NamespaceResource,
	})
	if err != nil {
		return err
	}
	exported := pulumi.Map{}
	for i, svc := range workloads.Services {
		exported[specs[i].Name] = pulumi.Map{
			"servedNames": svc.ServedNames, "namespace": svc.Namespace, "deployment": svc.Deployment,
			"minReplicas": svc.MinReplicas, "maxReplicas": svc.MaxReplicas,
		}
	}
	ctx.Export("models", exported)
	return nil
}

// storageArgs configures the model storage; bucketOnly declares just the
// bucket (the LLM layer is off). The CSI driver's controller needs nodes:
// after is the pool it runs on.
func storageArgs(cfg *config.Config, acct cluster.Account, net *network.Network, k8s *cluster.Cluster,
	baseTags map[string]string, bucketOnly bool, after pulumi.Resource,
) *storage.Args {
	// Only the LLM layer has a platform pool; bucket-only storage has no
	// CSI driver.
	controllers := platformpool.NodeSelector()
	args := &storage.Args{
		Location: storage.Location{
			Partition: acct.Partition,
			Region:    acct.Region,
			AccountID: acct.ID,
			Bucket:    config.BucketName(cfg.Storage.BucketPrefix, cfg.Stack, acct.Region, acct.ID),
			KMSKeyARN: cfg.Storage.KMSKeyARN,
		},
		ClusterName:                     k8s.ClusterName,
		EFSCSIVersion:                   versions.Addons[cfg.Cluster.KubernetesVersion].EFSCSI,
		Protect:                         cfg.Storage.Protect,
		ImportExisting:                  cfg.Storage.ImportExisting,
		NoncurrentVersionExpirationDays: cfg.Storage.NoncurrentVersionExpirationDays,
		VpcID:                           net.VpcID,
		Zones:                           net.Zones,
		PrivateSubnetIDs:                net.PrivateSubnetIDs,
		NodeSecurityGroupID:             k8s.ClusterSecurityGroupID,
		Provider:                        k8s.Provider,
		DependsOn:                       []pulumi.Resource{after},
		ControllerNodeSelector:          controllers,
		Tags:                            baseTags,
		RoleNamePrefix:                  k8s.Name,
	}
	args.BucketOnly = bucketOnly
	return args
}

// modelSpecs converts the models' config into workload specs.
func modelSpecs(cfg *config.Config) []models.Spec {
	out := make([]models.Spec, len(cfg.Models))
	for i, m := range cfg.Models {
		var adapters []models.Adapter
		for _, a := range m.LoRAAdapters {
			adapters = append(adapters, models.Adapter{Name: a.Name, HFRepo: a.HFRepo, Revision: a.Revision})
		}
		out[i] = models.Spec{
			Name: m.Name, HFRepo: m.HFRepo, Revision: m.Revision, ServedName: m.ServedName,
			Quantization: m.Quantization, MaxModelLen: m.MaxModelLen, MaxNumSeqs: m.MaxNumSeqs,
			GPUMemoryUtilization: m.GPUMemoryUtilization, GPUsPerReplica: m.GPUsPerReplica,
			MinReplicas: m.MinReplicas, MaxReplicas: m.MaxReplicas, ToolCallParser: m.ToolCallParser,
			Image: m.Image, Adapters: adapters, MaxLoRARank: m.MaxLoRARank,
			LoadFormat: m.LoadFormat, StreamerConcurrency: m.StreamerConcurrency, CompileCache: m.CompileCache,
			StartupFailureThreshold: coldstart.StartupProbeFailureThreshold(cfg.ColdStartModel(m)),
			ScaleToZeroAfterSeconds: int(m.ScaleToZeroAfterDuration().Seconds()),
			WakeOnGatewayRequests:   m.Fallback != nil,
		}
	}
	return out
}

// modelSLOs are the models' objectives for the alerts; specs are
// modelSpecs(cfg), in the same order.
func modelSLOs(cfg *config.Config, specs []models.Spec) []observability.ModelSLO {
	out := make([]observability.ModelSLO, len(cfg.Models))
	for i, m := range cfg.Models {
		budget := cfg.ColdStart(m)
		out[i] = observability.ModelSLO{
			Name: m.Name, ServedName: m.ServedName, Namespace: storage.Namespace,
			TTFTTargetSeconds: m.TTFTTargetSeconds, MinReplicas: m.MinReplicas,
			ColdStartBudgetSeconds: budget.FromPodCreated(),
			PreloadJob:             models.PreloadJobName(specs[i]),
			HoldSeconds:            float64(cfg.Gateway.QueueTimeoutSeconds),
			FallbackModel:          fallbackModel(m),
			WakeBudgetSeconds:      budget.Total(),
		}
	}
	return out
}

// newChat declares the chat front end: Open WebUI on the platform pool,
// calling the gateway in the cluster with the chat client's key.
func newChat(ctx *pulumi.Context, cfg *config.Config, k8s *cluster.Cluster, gw *gateway.Gateway,
	listener gateway.Listener, deps []pulumi.Resource,
) (*chat.Chat, error) {
	ch := cfg.Chat
	args := &chat.Args{
		Spec: chat.Spec{
			URL:              listener.Scheme() + "://" + ch.Hostname,
			AdminEmail:       chat.AdminEmail(ch.Hostname),
			OIDC:             ch.OIDC,
			ExternalDatabase: cfg.HasChatDatabaseURL,
			GatewayURL:       gateway.InClusterURL(),
			StorageClass:     observability.StorageClassName,
			StorageGiB:       ch.StorageGiB,
			NodeSelector:     platformpool.NodeSelectorFor(versions.OpenWebUIImage),
		},
		Hostname: ch.Hostname,
		Route: chat.Route{
			Hostname: ch.Hostname, GatewayName: gateway.GatewayName, GatewayNamespace: gateway.Namespace,
			Section: gateway.ChatListener, Timeout: gateway.RequestTimeout,
		},
		Policy: chat.Policy{
			EnvoyNamespace: gateway.EnvoyNamespace, EnvoyPodLabels: gateway.EnvoyPodLabels(),
			EnvoyPort: gateway.ContainerPort(listener.Port()),
			OIDC:      ch.OIDC != nil, VPCCIDR: cfg.Network.CIDR,
			ExternalDatabase: cfg.HasChatDatabaseURL,
		},
		APIKey:    gw.APIKeys.MapIndex(pulumi.String(config.ChatClientName)),
		Provider:  k8s.Provider,
		DependsOn: deps,
	}
	if ch.OIDC != nil {
		args.OIDCClientSecret = cfg.ChatOIDCClientSecret
	}
	if cfg.HasChatDatabaseURL {
		args.DatabaseURL = cfg.ChatDatabaseURL
	}
	return chat.NewChat(ctx, k8s.Name+"-chat", args)
}

func gatewayClients(cfg *config.Config) []gateway.Client {
	clients := cfg.Clients()
	out := make([]gateway.Client, len(clients))
	for i, c := range clients {
		out[i] = gateway.Client{Name: c.Name}
	}
	return out
}

// jwtPolicy is the OIDC listener's SecurityPolicy, nil without OIDC.
func jwtPolicy(cfg *config.Config) map[string]any {
	if cfg.Gateway.OIDC == nil {
		return nil
	}
	return budgets.JWTPolicyObject(*cfg.Gateway.OIDC)
}

// poolRoutes routes each model's served names to its pool, but for the
// base served name of a model with a fallback, which its fallback route
// serves (package providers); a model left with no name gets no route.
func poolRoutes(cfg *config.Config, specs []models.Spec) []inference.Route {
	var out []inference.Route
	for i, s := range specs {
		names := s.ServedNames()
		if cfg.Models[i].Fallback != nil {
			names = names[1:]
		}
		if len(names) > 0 {
			out = append(out, inference.Route{Model: s.Name, ServedNames: names})
		}
	}
	return out
}

// servedNames are every name the endpoint answers to: the self-hosted
// models' and their adapters', and the hosted ones.
func servedNames(cfg *config.Config, specs []models.Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.ServedNames()...)
	}
	for _, p := range cfg.Providers {
		for _, m := range p.Models {
			out = append(out, m.ServedName)
		}
	}
	slices.Sort(out)
	return out
}

// fallbackModels are the models with a hosted fallback.
func fallbackModels(cfg *config.Config) []providers.FallbackModel {
	var out []providers.FallbackModel
	for _, m := range cfg.Models {
		if m.Fallback != nil {
			out = append(out, providers.FallbackModel{Model: m.Name, ServedName: m.ServedName, Fallback: *m.Fallback})
		}
	}
	return out
}

func fallbackModel(m config.Model) string {
	if m.Fallback == nil {
		return ""
	}
	return m.Fallback.UpstreamModel
}

// Bounds of each model's picker queue: a burst of 256 requests waiting for
// a wake-up, their bodies (at most the gateway's 16 MiB buffer each)
// within 256 MiB of the picker's 2 GiB memory limit. One more is refused
// at once (429) rather than held.
const (
	pickerMaxQueuedRequests = 256
	pickerMaxQueuedBytes    = 256 << 20
)

// modelPools puts each model's vLLM pods in an InferencePool whose picker
// holds requests up to gateway.queueTimeoutSeconds and treats a replica as
// full at the model's maxNumSeqs.
func modelPools(cfg *config.Config, specs []models.Spec, nodeSelector map[string]string) []inference.Pool {
	out := make([]inference.Pool, len(specs))
	for i, s := range specs {
		out[i] = inference.Pool{
			Model: s.Name, Namespace: storage.Namespace, PodLabels: models.Labels(s.Name), Port: models.Port,
			NodeSelector: nodeSelector,
			Config: eppconfig.Config(eppconfig.Spec{
				MaxNumSeqs: s.MaxNumSeqs, RequestTTLSeconds: cfg.Gateway.QueueTimeoutSeconds,
				MaxQueuedRequests: pickerMaxQueuedRequests, MaxQueuedBytes: pickerMaxQueuedBytes,
			}),
		}
	}
	return out
}

// lookupAccount resolves the partition, region and account id the IAM
// documents are written for. These are data-source reads, answered at
// preview too, so the documents are known before anything exists.
// It also returns the ARN of the principal running Pulumi.
func lookupAccount(ctx *pulumi.Context, cfg *config.Config) (cluster.Account, string, error) {
	acct := cluster.Account{Region: cfg.Region, Cluster: cfg.Cluster.Name}
	if acct.Region == "" {
		r, err := aws.GetRegion(ctx, nil)
		if err != nil {
			return acct, "", fmt.Errorf("looking up the AWS region (set aws:region to skip): %w", err)
		}
		acct.Region = r.Region
	}
	id, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return acct, "", fmt.Errorf("looking up the AWS account: %w", err)
	}
	acct.ID = id.AccountId
	part, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return acct, "", fmt.Errorf("looking up the AWS partition: %w", err)
	}
	acct.Partition = part.Partition
	return acct, id.Arn, nil
}
