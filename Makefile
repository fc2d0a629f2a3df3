# llm-platform: the two commands are `make up STACK=dev` and `make test`.
# `make render STACK=dev` shows what a stack declares with no AWS account.

STACK ?= dev
GO    ?= go

# Without PULUMI_BACKEND_URL, state lives in a file backend inside the repo
# (git-ignored) and secrets use the passphrase provider: set
# PULUMI_CONFIG_PASSPHRASE (or type it when asked). With PULUMI_BACKEND_URL
# set (Pulumi Cloud, s3://...), that backend and its secrets provider are used.
ifeq ($(strip $(PULUMI_BACKEND_URL)),)
export PULUMI_BACKEND_URL := file://$(CURDIR)/.pulumi-state
SECRETS_PROVIDER := --secrets-provider passphrase
endif

.PHONY: help test vet lint fmt fmt-check render stack up preview destroy refresh pulumi-cli kube-apiserver gateway-translators

help:
	@echo "make test                 unit, whole-program, golden and engine tests (no AWS needed)"
	@echo "make render STACK=dev     offline render of a stack to rendered/<stack>/"
	@echo "make preview STACK=dev    pulumi preview (needs AWS credentials)"
	@echo "make up STACK=dev         pulumi up (needs AWS credentials)"
	@echo "make destroy STACK=dev    pulumi destroy, keeping protected resources (the model bucket)"
	@echo "make lint                 golangci-lint (pinned, built from its Go module)"

# Two modules: the program, and tests/crd (the CRD + CEL validation
# harness, whose Kubernetes server libraries stay out of the program's
# dependency graph). The harness validates the golden renders, which the
# first run has just proven equal to the program's output; its kubeapi
# package applies them to a real kube-apiserver (make kube-apiserver).
# tests/epp loads the endpoint picker configuration (inference/eppconfig)
# with the EPP's own loader at the version it pins. Cold: about 5 minutes
# on 2 cores (empty build cache), and up to 10 more for tests/crd, which
# compiles package inference (the Pulumi SDK) against its own dependency
# versions; then about 5 seconds.
test: pulumi-cli kube-apiserver gateway-translators
	$(GO) test ./...
	cd tests/crd && $(GO) test -count=1 ./...
	cd $(XLATE_DIR) && $(GO) test -count=1 ./...
	cd $(EPP_DIR) && $(GO) test -count=1 ./...

EPP_DIR := tests/epp

# The Pulumi CLI the engine tests (tests/engine_test.go) drive, built from
# its Go module at the version tests/engine/cli/go.mod pins; nothing is
# downloaded but Go modules. The version is stamped in because a plain build
# reports none, and the Automation API refuses inline destroys from such a
# CLI. Cold: 5-6 minutes on 2 cores (1.6 GB of build cache); then a second.
PULUMI_CLI_DIR := tests/engine/cli
pulumi-cli:
	cd $(PULUMI_CLI_DIR) && $(GO) build \
		-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$$($(GO) list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)" \
		-o bin/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

# The real API server check (tests/crd/kubeapi) runs kube-apiserver and
# etcd, built from their Go modules at the versions tests/kubeapi/server
# pins (Kubernetes' own release flags: static, notest tags, version stamped,
# or the server reports v0.0.0 and version-gated behaviour misfires), and
# helm from tests/kubeapi/helm for the charts that ship in Go modules.
# Nothing is downloaded but Go modules. Cold: about 10 minutes on 2 cores;
# then seconds.
KUBEAPI_DIR := tests/kubeapi
kube-apiserver:
	cd $(KUBEAPI_DIR)/server && v="$$($(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)" && \
	major="$${v#v}" && major="$${major%%.*}" && minor="$${v#v*.}" && minor="$${minor%%.*}" && \
	CGO_ENABLED=0 $(GO) build -trimpath -tags selinux,notest,grpcnotrace \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$$v -X k8s.io/component-base/version.gitMajor=$$major -X k8s.io/component-base/version.gitMinor=$$minor -X k8s.io/component-base/version.gitTreeState=clean" \
		-o ../bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver && \
	CGO_ENABLED=0 $(GO) build -trimpath -o ../bin/etcd ./etcd
	cd $(KUBEAPI_DIR)/helm && v="$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v3)" && \
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$$v" \
		-o ../bin/helm helm.sh/helm/v3/cmd/helm

# The gateway translation check (tests/xlate) runs the AI Gateway's
# translation and Envoy Gateway's egctl, built from their Go modules at the
# versions tests/xlate/aigw and tests/xlate/egctl pin. aigw v1.0.0 compiles
# translate() but has no command for it: the build lays one file
# (tests/xlate/aigw/translate_entry.go.in) over its main package with
# -overlay, which Go refuses inside the module cache, so the build uses a
# workspace (tests/xlate/bin/aigw-work) with a copy of the ai-gateway module
# kept outside the repository, in XLATE_BUILD (gofmt and the linters would
# walk it otherwise; the copy is per version and read-only in use). Nothing is downloaded but
# Go modules. Cold: a few minutes on 2 cores; then seconds.
XLATE_DIR   := tests/xlate
XLATE_BUILD ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/llm-platform/xlate
gateway-translators:
	mkdir -p $(XLATE_DIR)/bin
	cd $(XLATE_DIR)/egctl && $(GO) build -trimpath -ldflags "-s -w" -o ../bin/egctl github.com/envoyproxy/gateway/cmd/egctl
	cd $(XLATE_DIR)/aigw && $(GO) mod download github.com/envoyproxy/ai-gateway && \
	src="$$($(GO) list -m -f '{{.Dir}}' github.com/envoyproxy/ai-gateway)" && \
	copy="$(XLATE_BUILD)/ai-gateway@$$($(GO) list -m -f '{{.Version}}' github.com/envoyproxy/ai-gateway)" && \
	if [ ! -f "$$copy/go.mod" ]; then mkdir -p "$(XLATE_BUILD)" && tmp="$$(mktemp -d "$(XLATE_BUILD)/tmp.XXXXXX")" && \
		cp -R "$$src/." "$$tmp" && chmod -R u+w "$$tmp" && { mv -T "$$tmp" "$$copy" 2>/dev/null || rm -rf "$$tmp"; }; fi && \
	work="$$PWD/../bin/aigw-work" && rm -rf "$$work" && mkdir -p "$$work" && \
	tool="$$PWD" && (cd "$$work" && GOWORK= $(GO) work init "$$tool" "$$copy") && \
	printf '{"Replace":{"%s/cmd/aigw/zz_llm_platform_translate.go":"%s/translate_entry.go.in"}}\n' "$$copy" "$$PWD" > "$$work/overlay.json" && \
	GOWORK="$$work/go.work" $(GO) build -trimpath -ldflags "-s -w" -overlay "$$work/overlay.json" -o ../bin/aigw github.com/envoyproxy/ai-gateway/cmd/aigw

vet:
	$(GO) vet ./...
	cd tests/crd && $(GO) vet ./...
	cd $(XLATE_DIR) && $(GO) vet ./...
	cd $(EPP_DIR) && $(GO) vet ./...
	cd $(KUBEAPI_DIR)/server && $(GO) vet ./...

# golangci-lint is built from its Go module (tools/lint) and cached by go tool.
lint:
	@lint="$$(cd tools/lint && $(GO) tool -n golangci-lint)" && \
	"$$lint" run ./... && \
	(cd tests/crd && "$$lint" run --config ../../.golangci.yml ./...) && \
	(cd $(KUBEAPI_DIR)/server && "$$lint" run --config ../../../.golangci.yml ./...) && \
	(cd $(XLATE_DIR) && "$$lint" run --config ../../.golangci.yml ./...) && \
	(cd $(EPP_DIR) && "$$lint" run --config ../../.golangci.yml ./...)

fmt:
	gofmt -w .

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

render:
	$(GO) run ./cmd/render -stack $(STACK)


stack:
	@mkdir -p .pulumi-state
	pulumi stack select $(STACK) --create $(SECRETS_PROVIDER)

preview: stack
	pulumi preview --stack $(STACK) --diff

up: stack
	pulumi up --stack $(STACK)

refresh: stack
	pulumi refresh --stack $(STACK)

# --exclude-protected: the model bucket is protected, so a teardown keeps the
# weights (see README, Teardown).
destroy: stack
	pulumi destroy --stack $(STACK) --exclude-protected
