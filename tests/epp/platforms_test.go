package epp

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llm-platform/llm-platform/versions"
)

// DockerfileGOARCH is the GOARCH values the picker's Dockerfile sets with
// ENV (both the KEY=value and the legacy "KEY value" forms), in order.
func DockerfileGOARCH(dockerfile []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.EqualFold(fields[0], "ENV") {
			continue
		}
		args := fields[1:]
		if !strings.Contains(args[0], "=") {
			if args[0] == "GOARCH" && len(args) > 1 {
				out = append(out, strings.Join(args[1:], " "))
			}
			continue
		}
		for _, a := range args {
			if k, v, ok := strings.Cut(a, "="); ok && k == "GOARCH" {
				out = append(out, strings.Trim(v, `"'`))
			}
		}
	}
	return out
}

// TestEndpointPickerPlatforms holds versions.PlatformImages' word on the
// endpoint picker image to the Dockerfile it is built from, in the module
// go.mod pins (gateway-api-inference-extension v1.5.0, /Dockerfile): the
// builder stage hard-codes ENV GOARCH=amd64, so the published image is
// amd64 only and the picker is pinned to amd64 nodes of the Graviton
// platform pool (platformpool.NodeSelectorFor). If the line goes, the
// release may publish arm64: re-check it and update the entry.
func TestEndpointPickerPlatforms(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", Module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", Module, err)
	}
	if got := strings.TrimSpace(string(out)); got != versions.InferenceExtensionVersion {
		t.Fatalf("go.mod requires %s %s, the platform deploys versions.InferenceExtensionVersion %s: pin the same version", Module, got, versions.InferenceExtensionVersion)
	}
	dir, err := ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("%s@%s/Dockerfile", Module, versions.InferenceExtensionVersion)
	arm64 := versions.PublishesARM64(versions.EndpointPickerImage)
	goarch := DockerfileGOARCH(dockerfile)
	if len(goarch) != 1 || goarch[0] != "amd64" {
		t.Fatalf("%s sets GOARCH %q, no longer ENV GOARCH=amd64 alone: the %s release may publish other platforms than amd64. Re-check the release's platforms (Dockerfile, Makefile PLATFORMS, cloudbuild.yaml, the image's manifest list) and update the %s entry of versions.PlatformImages (ARM64 %t now) and its Source",
			src, goarch, versions.InferenceExtensionVersion, versions.EndpointPickerImage, arm64)
	}
	if arm64 {
		t.Errorf("versions.PublishesARM64(%q) = true, but %s builds with ENV GOARCH=amd64 (amd64 only): set ARM64 false in versions.PlatformImages", versions.EndpointPickerImage, src)
	}
}

// TestDockerfileGOARCH proves the parser sees the line the check above
// depends on, in each form, and reports its absence.
func TestDockerfileGOARCH(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile string
		want             []string
	}{
		{"v1.5.0", "FROM golang AS builder\nENV CGO_ENABLED=0\nENV GOOS=linux\nENV GOARCH=amd64\n", []string{"amd64"}},
		{"several on a line", "ENV GOOS=linux GOARCH=amd64\n", []string{"amd64"}},
		{"legacy form", "ENV GOARCH amd64\n", []string{"amd64"}},
		{"build arg", "ARG TARGETARCH\nENV GOARCH=${TARGETARCH}\n", []string{"${TARGETARCH}"}},
		{"absent", "FROM golang AS builder\nENV CGO_ENABLED=0\nRUN GOARCH=amd64 go build\n", nil},
	} {
		got := DockerfileGOARCH([]byte(tc.dockerfile))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
