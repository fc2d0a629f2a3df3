package render

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestPlainMasksSecretsAndUnknowns(t *testing.T) {
	t.Parallel()
	in := resource.PropertyMap{
		"plain":  resource.NewProperty("visible"),
		"secret": resource.MakeSecret(resource.NewProperty("hunter2")),
		"nested": resource.NewProperty(resource.PropertyMap{
			"list": resource.NewProperty([]resource.PropertyValue{
				resource.NewProperty(1.0),
				resource.MakeSecret(resource.NewProperty(resource.PropertyMap{"key": resource.NewProperty("hunter3")})),
			}),
		}),
		"unknown":      resource.MakeComputed(resource.NewProperty("")),
		"secretOutput": resource.NewProperty(resource.Output{Element: resource.NewProperty("hunter4"), Known: true, Secret: true}),
		"knownOutput":  resource.NewProperty(resource.Output{Element: resource.NewProperty("shown"), Known: true}),
		"ref":          resource.MakeCustomResourceReference("urn:pulumi:s::p::aws:s3/bucket:Bucket::b", "b-id", ""),
	}
	got := Plain(in)
	want := map[string]any{
		"plain":        "visible",
		"secret":       Secret,
		"nested":       map[string]any{"list": []any{1.0, Secret}},
		"unknown":      Unknown,
		"secretOutput": Secret,
		"knownOutput":  "shown",
		"ref":          "urn:pulumi:s::p::aws:s3/bucket:Bucket::b",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plain = %#v\nwant    %#v", got, want)
	}
}

func TestLoadStackOverlaysProjectDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "Pulumi.yaml"), `name: proj
runtime: go
config:
  network:
    type: object
    default: {cidr: 10.0.0.0/16, azCount: 3}
  llm:
    type: object
    default: {enabled: false}
  token:
    type: string
    secret: true
`)
	write(t, filepath.Join(dir, "Pulumi.s1.yaml"), `config:
  aws:region: eu-west-1
  proj:network: {azCount: 2}
  proj:token:
    secure: v1:abcdef
`)
	sc, err := LoadStack(dir, "s1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"aws:region":   "eu-west-1",
		"proj:network": `{"azCount":2}`, // replaces the default object, as the CLI does
		"proj:llm":     `{"enabled":false}`,
		"proj:token":   Secret,
	}
	if !reflect.DeepEqual(sc.Values, want) {
		t.Errorf("values = %v, want %v", sc.Values, want)
	}
	if !reflect.DeepEqual(sc.SecretKeys, []string{"proj:token"}) || sc.Region() != "eu-west-1" || sc.Project != "proj" {
		t.Errorf("stack config = %+v", sc)
	}
}

func TestWriteKubernetesFiles(t *testing.T) {
	t.Parallel()
	res := &Result{Resources: []Resource{
		{URN: "urn:1", Type: "kubernetes:core/v1:Namespace", Name: "models", Inputs: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "models"},
		}},
		{URN: "urn:2", Type: "kubernetes:helm.sh/v3:Release", Name: "karpenter", Inputs: map[string]any{
			"chart": "oci://example/karpenter", "version": "1.2.3", "values": map[string]any{"replicas": 2.0},
			"name": "karpenter", "namespace": "kube-system", "skipAwait": false,
		}},
		{URN: "urn:3", Type: "pulumi:providers:kubernetes", Name: "k8s", Inputs: map[string]any{"kubeconfig": Secret}},
		{URN: "urn:4", Type: "aws:ec2/vpc:Vpc", Name: "vpc", Inputs: map[string]any{}},
	}}
	dir := filepath.Join(t.TempDir(), "out")
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"namespace-models.yaml", "release-karpenter.yaml"}) {
		t.Fatalf("kubernetes files = %v", names)
	}
	rel, _ := os.ReadFile(filepath.Join(dir, "kubernetes", "release-karpenter.yaml"))
	for _, want := range []string{"# urn:2\n", "chart: oci://example/karpenter", "version: 1.2.3", "replicas: 2"} {
		if !strings.Contains(string(rel), want) {
			t.Errorf("release file lacks %q:\n%s", want, rel)
		}
	}
	if strings.Contains(string(rel), "skipAwait") {
		t.Errorf("release file carries non-chart inputs:\n%s", rel)
	}
	if _, err := os.Stat(filepath.Join(dir, "resources.json")); err != nil {
		t.Error(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
