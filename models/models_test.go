package models

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/llm-platform/llm-platform/coldstart"
	"github.com/llm-platform/llm-platform/render"
	"github.com/llm-platform/llm-platform/versions"
)

func spec() Spec {
	return Spec{
		Name: "qwen", HFRepo: "Qwen/Qwen2.5-7B-Instruct-AWQ", Revision: "b25037543e9394b818fdfca67ab2a00ecc7dd641",
		ServedName: "qwen2.5-7b", MaxModelLen: 16384, MaxNumSeqs: 32, GPUMemoryUtilization: 0.9,
		GPUsPerReplica: 1, MinReplicas: 1, MaxReplicas: 3, Image: "vllm/vllm-openai:v0.31.0", MaxLoRARank: 16,
		LoadFormat: LoadFormatRunAIStreamer, StreamerConcurrency: 16, CompileCache: true, StartupFailureThreshold: 90,
		ScaleToZeroAfterSeconds: 600,
	}
}

func TestVLLMArgs(t *testing.T) {
	t.Parallel()
	withAll := spec()
	withAll.Quantization, withAll.ToolCallParser = "awq_marlin", "hermes"
	withAll.GPUsPerReplica = 4
	withAll.Adapters = []Adapter{{Name: "sql", HFRepo: "o/sql", Revision: strings.Repeat("a", 40)}, {Name: "chat", HFRepo: "o/chat", Revision: strings.Repeat("b", 40)}}
	for _, tt := range []struct {
		name string
		s    Spec
		want []string
		not  []string
	}{
		{"minimal", spec(),
			[]string{"--served-model-name qwen2.5-7b", "--max-model-len 16384", "--max-num-seqs 32",
				"--gpu-memory-utilization 0.9", "--tensor-parallel-size 1", "--port 8000"},
			[]string{"--quantization", "--enable-lora", "--tool-call-parser", "--enable-auto-tool-choice", "--model "}},
		{"streamer", spec(),
			[]string{"--load-format runai_streamer", `--model-loader-extra-config {"concurrency":16,"memory_limit":4294967296}`}, nil},
		{"plain loader", func() Spec { s := spec(); s.LoadFormat = LoadFormatSafetensors; return s }(),
			[]string{"--load-format safetensors"}, []string{"--model-loader-extra-config"}},
		{"everything", withAll,
			[]string{"--quantization awq_marlin", "--enable-auto-tool-choice --tool-call-parser hermes", "--tensor-parallel-size 4",
				"--max-loras 2 --max-lora-rank 16"},
			nil},
	} {
		got := " " + strings.Join(VLLMArgs(tt.s), " ") + " "
		for _, w := range tt.want {
			if !strings.Contains(got, " "+w+" ") {
				t.Errorf("%s: args %q lack %q", tt.name, got, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: args %q contain %q", tt.name, got, n)
			}
		}
	}
}

// vllmServe reads an argument list the way `vllm serve` does for what the
// platform relies on: the first token is the positional model_tag, and
// --lora-modules (nargs='+') collects the tokens up to the next flag, its
// LoRAParserAction replacing the list each time the flag appears
// (vllm/entrypoints/openai/cli_args.py).
func vllmServe(args []string) (model string, loras []string, usedModelFlag bool) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		model = args[0]
	}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--model":
			usedModelFlag = true
		case "--lora-modules":
			loras = nil // the action replaces, it does not append
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				loras = append(loras, args[i])
			}
		}
	}
	return model, loras, usedModelFlag
}

// Every adapter reaches vLLM, and the weights are the positional model.
func TestVLLMServesEveryAdapter(t *testing.T) {
	t.Parallel()
	s := spec()
	s.Adapters = []Adapter{
		{Name: "sql", HFRepo: "o/sql", Revision: strings.Repeat("a", 40)},
		{Name: "chat", HFRepo: "o/chat", Revision: strings.Repeat("b", 40)},
		{Name: "code", HFRepo: "o/code", Revision: strings.Repeat("c", 40)},
	}
	model, loras, modelFlag := vllmServe(VLLMArgs(s))
	if model != s.WeightsDir() || modelFlag {
		t.Errorf("vllm serve sees model %q (--model used: %v), want the positional %s", model, modelFlag, s.WeightsDir())
	}
	var want []string
	for _, a := range s.Adapters {
		want = append(want, a.Name+"="+AdapterDir(a))
	}
	if !slices.Equal(loras, want) {
		t.Errorf("vllm serve loads adapters %v, want every one: %v", loras, want)
	}
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	s := spec()
	tr := Triggers(s)
	names := []string{}
	for _, x := range tr {
		names = append(names, x.Name)
		if strings.Contains(x.Query, "gpu_cache_usage_perc") {
			t.Errorf("%s uses the removed vllm:gpu_cache_usage_perc", x.Name)
		}
		if x.Name != "picker-queue" && !strings.Contains(x.Query, `model_name="qwen2.5-7b"`) {
			t.Errorf("%s query %q not filtered by model_name", x.Name, x.Query)
		}
	}
	if !slices.Equal(names, []string{"running-ratio", "kv-cache", "waiting", "picker-queue"}) {
		t.Errorf("triggers %v", names)
	}
	if tr[0].Query != `sum(vllm:num_requests_running{model_name="qwen2.5-7b"}) / 32` || tr[0].Threshold != "0.7" || tr[0].MetricType != "AverageValue" {
		t.Errorf("running ratio trigger %+v", tr[0])
	}
	// The wake-up: any request held in the model's picker (its pool is
	// named after the model, whatever names it serves), at zero replicas
	// as at one.
	s.MinReplicas = 0
	s.Adapters = []Adapter{{Name: "sql.v2"}}
	for _, tr := range [][]Trigger{tr, Triggers(s)} {
		last := tr[len(tr)-1]
		if last.Query != `sum(inference_extension_flow_control_queue_size{inference_pool="qwen"})` || last.Activation != "0" || last.MetricType != "AverageValue" {
			t.Errorf("picker queue trigger %+v", last)
		}
	}
}

func TestPreloadAndWaitScripts(t *testing.T) {
	t.Parallel()
	s := spec()
	s.Adapters = []Adapter{{Name: "sql", HFRepo: "o/sql", Revision: strings.Repeat("a", 40)}}
	script := PreloadScript(Downloads(s))
	for _, want := range []string{
		`fetch("Qwen/Qwen2.5-7B-Instruct-AWQ", "b25037543e9394b818fdfca67ab2a00ecc7dd641", "/models/qwen/b25037543e9394b818fdfca67ab2a00ecc7dd641")`,
		`fetch("o/sql", "` + strings.Repeat("a", 40) + `", "/models/loras/sql/` + strings.Repeat("a", 40) + `")`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("preload script lacks %q", want)
		}
	}
	// What the script does is checked by running it (preload_test.go).
	wait := WaitScript(s)
	for _, m := range []string{
		"/models/qwen/b25037543e9394b818fdfca67ab2a00ecc7dd641/.complete-b25037543e9394b818fdfca67ab2a00ecc7dd641",
		"/models/loras/sql/" + strings.Repeat("a", 40) + "/.complete-" + strings.Repeat("a", 40),
	} {
		if !strings.Contains(wait, m) {
			t.Errorf("wait script lacks %s", m)
		}
	}
}

func renderModels(t *testing.T, prometheus string, specs ...Spec) *render.Result {
	t.Helper()
	res, err := render.RunComponent("us-east-1", render.WithKubernetes(func(ctx *pulumi.Context, provider *kubernetes.Provider) error {
		var claim, ns pulumi.CustomResourceState
		if err := ctx.RegisterResource("kubernetes:core/v1:PersistentVolumeClaim", "claim", pulumi.Map{}, &claim); err != nil {
			return err
		}
		if err := ctx.RegisterResource("kubernetes:core/v1:Namespace", "ns", pulumi.Map{}, &ns); err != nil {
			return err
		}
		_, err := NewModels(ctx, "models", &Args{
			Models: specs, Namespace: "models", ClaimName: "model-weights", Claim: &claim, UID: 1000, GID: 1000,
			PrometheusURL: prometheus, GPUNodeSelector: map[string]string{"llm-platform/pool": "gpu-l4"}, GPUTolerationKey: "nvidia.com/gpu",
			PlatformNodeSelector: map[string]string{"role": "system"}, EnvoyNamespace: "envoy-gateway-system", MonitoringNamespace: "monitoring",
			Provider: provider, NamespaceResource: &ns, PickerPodLabels: map[string]string{"llm-platform/component": "endpoint-picker"},
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestInferenceService(t *testing.T) {
	t.Parallel()
	res := renderModels(t, "http://prom:9090", spec())
	d := res.Named("kubernetes:apps/v1:Deployment", "qwen")
	if d == nil {
		t.Fatal("no deployment")
	}
	checks := map[string]any{
		"spec.template.spec.containers.0.resources.limits.nvidia.com/gpu":          nil, // checked below (dotted key)
		"spec.template.spec.tolerations.0.key":                                     "nvidia.com/gpu",
		"spec.template.spec.containers.0.startupProbe.httpGet.path":                "/health",
		"spec.template.spec.containers.0.readinessProbe.httpGet.path":              "/health",
		"spec.template.spec.containers.0.livenessProbe.httpGet.path":               "/health",
		"spec.template.spec.containers.0.ports.0.name":                             "http",
		"spec.template.spec.securityContext.runAsNonRoot":                          true,
		"spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation": false,
		"spec.template.spec.volumes.0.persistentVolumeClaim.readOnly":              true,
		"spec.template.spec.volumes.1.emptyDir.medium":                             "Memory",
		"spec.template.spec.initContainers.0.name":                                 "wait-for-weights",
	}
	for path, want := range checks {
		if want == nil {
			continue
		}
		if got, _ := d.Input(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	limits, _ := d.Input("spec.template.spec.containers.0.resources.limits")
	if limits.(map[string]any)["nvidia.com/gpu"] != "1" {
		t.Errorf("GPU limit %v", limits)
	}
	ann, _ := d.Input("spec.template.metadata.annotations")
	if ann.(map[string]any)["karpenter.sh/do-not-disrupt"] != "true" {
		t.Error("replicas must carry karpenter.sh/do-not-disrupt")
	}
	if s := res.Named("kubernetes:core/v1:Service", "qwen"); s == nil || s.String("spec.ports.0.name") != "http" || s.Inputs["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"] != 8000.0 {
		t.Errorf("service %+v", s)
	}
	job := res.Named("kubernetes:batch/v1:Job", "qwen-preload")
	if job == nil || job.String("metadata.name") != "qwen-preload-b2503754" || job.String("spec.template.spec.nodeSelector.role") != "system" ||
		job.String("spec.template.spec.restartPolicy") != "Never" {
		t.Errorf("preload job %+v", job)
	}
	nsURN := res.Named("kubernetes:core/v1:Namespace", "ns").URN
	for _, r := range []*render.Resource{res.Named("kubernetes:core/v1:Service", "qwen"), res.Named("kubernetes:policy/v1:PodDisruptionBudget", "qwen"),
		res.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "qwen-vllm"), res.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "qwen-preload")} {
		if r == nil || !slices.Contains(r.DependsOn, nsURN) {
			t.Errorf("%+v does not wait for the model namespace", r)
		}
	}
	so := res.Named("kubernetes:keda.sh/v1alpha1:ScaledObject", "qwen-autoscaler")
	if so == nil || so.String("spec.triggers.0.metadata.serverAddress") != "http://prom:9090" ||
		so.Inputs["spec"].(map[string]any)["advanced"].(map[string]any)["horizontalPodAutoscalerConfig"].(map[string]any)["behavior"].(map[string]any)["scaleDown"].(map[string]any)["stabilizationWindowSeconds"] != 300.0 {
		t.Errorf("scaled object %+v", so)
	}
	if !slices.Contains(so.DependsOn, res.Named("kubernetes:helm.sh/v3:Release", "models-keda").URN) {
		t.Error("the ScaledObject must wait for KEDA")
	}
	np := res.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "qwen-vllm")
	if np == nil || np.String("spec.ingress.0.ports.0.protocol") != "TCP" || len(np.Inputs["spec"].(map[string]any)["egress"].([]any)) != 1 {
		t.Errorf("vLLM network policy %+v", np)
	}
	if res.Named("kubernetes:policy/v1:PodDisruptionBudget", "qwen") == nil {
		t.Error("no disruption budget")
	}
}

func TestNoPrometheusMeansNoAutoscaler(t *testing.T) {
	t.Parallel()
	fixed := spec()
	fixed.MaxReplicas = fixed.MinReplicas
	res := renderModels(t, "", fixed)
	if len(res.OfType("kubernetes:keda.sh/v1alpha1:ScaledObject")) != 0 {
		t.Error("a ScaledObject without Prometheus")
	}
}

// Liveness is more lenient than readiness (a slow /health takes a replica
// out of rotation long before it is restarted), and every container of
// every model pod, init containers included, requests CPU and memory.
func TestProbesAndRequests(t *testing.T) {
	t.Parallel()
	res := renderModels(t, "http://prom:9090", spec())
	d := res.Named("kubernetes:apps/v1:Deployment", "qwen")
	timing := func(probe string) ProbeTiming {
		get := func(k string) int {
			v, _ := d.Input("spec.template.spec.containers.0." + probe + "." + k)
			f, _ := v.(float64)
			return int(f)
		}
		return ProbeTiming{PeriodSeconds: get("periodSeconds"), TimeoutSeconds: get("timeoutSeconds"), FailureThreshold: get("failureThreshold")}
	}
	// The preload runs in the small Python image, not the ~30 GiB vLLM one
	// (which would fill the system nodes' disks).
	job := res.OfType("kubernetes:batch/v1:Job")[0]
	if img := job.String("spec.template.spec.containers.0.image"); img != versions.PreloadImage {
		t.Errorf("preload image %s, want %s", img, versions.PreloadImage)
	}
	// The arguments are `vllm serve`'s: the command says so rather than
	// relying on the image's entrypoint.
	if cmd, _ := d.Input("spec.template.spec.containers.0.command"); !slices.Equal(cmd.([]any), []any{"vllm", "serve"}) {
		t.Errorf("vLLM container command %v, want vllm serve", cmd)
	}
	ready, live := timing("readinessProbe"), timing("livenessProbe")
	if live.Tolerance() <= 2*ready.Tolerance() || live.TimeoutSeconds <= ready.TimeoutSeconds {
		t.Errorf("liveness %+v is not clearly more lenient than readiness %+v", live, ready)
	}
	for _, r := range append(res.OfType("kubernetes:apps/v1:Deployment"), res.OfType("kubernetes:batch/v1:Job")...) {
		for _, kind := range []string{"initContainers", "containers"} {
			list, _ := r.Input("spec.template.spec." + kind)
			items, _ := list.([]any)
			for _, c := range items {
				c := c.(map[string]any)
				resources, _ := c["resources"].(map[string]any)
				req, _ := resources["requests"].(map[string]any)
				if req["cpu"] == nil || req["memory"] == nil {
					t.Errorf("%s %s container %s has requests %v, want cpu and memory", r.Type, r.Name, c["name"], req)
				}
			}
		}
	}
}

// The streamer's extra config is the JSON object vLLM parses, with integer
// values (the loader copies only integers into the streamer's environment).
func TestStreamerConfigIsJSONIntegers(t *testing.T) {
	t.Parallel()
	args := VLLMArgs(spec())
	i := slices.Index(args, "--model-loader-extra-config")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("no --model-loader-extra-config in %v", args)
	}
	var cfg map[string]any
	dec := json.NewDecoder(strings.NewReader(args[i+1]))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("extra config %q is not JSON: %v", args[i+1], err)
	}
	for _, k := range []string{"concurrency", "memory_limit"} {
		n, ok := cfg[k].(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			t.Errorf("%s = %v, want an integer", k, cfg[k])
		}
	}
}

// The compile cache is the one writable path on the model volume: its own
// directory per model, revision and image, where VLLM_CACHE_ROOT points;
// the weights stay read-only. Without the lever neither exists.
func TestCompileCacheMount(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		s := spec()
		s.CompileCache = on
		d := renderModels(t, "http://prom:9090", s).Named("kubernetes:apps/v1:Deployment", "qwen")
		c, _ := d.Input("spec.template.spec.containers.0")
		container := c.(map[string]any)
		env := map[string]string{}
		for _, e := range container["env"].([]any) {
			e := e.(map[string]any)
			v, _ := e["value"].(string)
			env[e["name"].(string)] = v
		}
		mounts := map[string]map[string]any{}
		for _, m := range container["volumeMounts"].([]any) {
			m := m.(map[string]any)
			mounts[m["mountPath"].(string)] = m
		}
		if w := mounts[MountPath]; w == nil || w["readOnly"] != true {
			t.Errorf("compileCache %v: weights mount %v, want read-only", on, w)
		}
		cache := mounts[CompileCacheMountPath]
		if !on {
			if cache != nil || env["VLLM_CACHE_ROOT"] != "" {
				t.Errorf("compile cache without the lever: mount %v, VLLM_CACHE_ROOT %q", cache, env["VLLM_CACHE_ROOT"])
			}
			continue
		}
		want := ".compile-cache/qwen/b25037543e9394b818fdfca67ab2a00ecc7dd641/vllm_vllm-openai_v0.31.0"
		if cache == nil || cache["subPath"] != want || cache["readOnly"] == true {
			t.Errorf("compile cache mount %v, want writable subPath %s", cache, want)
		}
		if env["VLLM_CACHE_ROOT"] != CompileCacheMountPath {
			t.Errorf("VLLM_CACHE_ROOT = %q, want %s", env["VLLM_CACHE_ROOT"], CompileCacheMountPath)
		}
		vols, _ := d.Input("spec.template.spec.volumes")
		for _, v := range vols.([]any) {
			v := v.(map[string]any)
			if v["name"] == cache["name"] {
				if pvc, _ := v["persistentVolumeClaim"].(map[string]any); pvc == nil || pvc["readOnly"] == true {
					t.Errorf("compile cache volume %v, want the model claim, writable", v)
				}
			}
		}
	}
}

// The startup probe is the model's, from its cold-start estimate.
func TestStartupProbeFromBudget(t *testing.T) {
	t.Parallel()
	s := spec()
	s.StartupFailureThreshold = 37
	d := renderModels(t, "http://prom:9090", s).Named("kubernetes:apps/v1:Deployment", "qwen")
	period, _ := d.Input("spec.template.spec.containers.0.startupProbe.periodSeconds")
	threshold, _ := d.Input("spec.template.spec.containers.0.startupProbe.failureThreshold")
	if period != float64(coldstart.StartupProbePeriodSeconds) || threshold != float64(37) {
		t.Errorf("startup probe every %v s, %v failures; want every %d s, 37", period, threshold, coldstart.StartupProbePeriodSeconds)
	}
}

// A model with a hosted fallback is reached around its picker: the
// gateway's requests for its served name wake it, and never ask for more
// than one replica.
func TestFallbackModelWakesOnGatewayRequests(t *testing.T) {
	t.Parallel()
	s := spec()
	s.MinReplicas = 0
	for _, tr := range Triggers(s) {
		if tr.Name == "gateway-requests" {
			t.Fatalf("gateway-requests trigger without a fallback: %+v", tr)
		}
	}
	s.WakeOnGatewayRequests = true
	tr := Triggers(s)
	last := tr[len(tr)-1]
	want := Trigger{
		Name:       "gateway-requests",
		Query:      `sum(rate(gen_ai_server_request_duration_seconds_count{gen_ai_original_model="qwen2.5-7b"}[1m]))`,
		MetricType: "AverageValue", Threshold: WakeOnlyThreshold, Activation: "0",
	}
	if last != want {
		t.Errorf("last trigger %+v, want %+v", last, want)
	}
}
