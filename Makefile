# Tailor's build. `make demo` runs the walkthrough on the local cluster;
# `make test` runs every test. Both build what they need first.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
# Packages and go test flags; override to narrow a run: make test PKGS=./apis/...
PKGS ?= ./...
TEST_FLAGS ?= -timeout 30m
# The packages with concurrency (the plugin's batcher, ledger and watches,
# the launcher's controllers) run under the race detector; the rest without.
RACE_PATTERN ?= /(plugin|launcher)(/|$$)
export TAILOR_BIN_DIR := $(BIN)
# The release the binary and the image are built as: the chart's appVersion.
VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' manifests/chart/tailor/Chart.yaml)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build
build: ## Build bin/tailor, every Tailor program in one binary
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/tailor ./cmd/tailor
	@# go build leaves an up-to-date binary as it was; the e2e suites compare
	@# its time with the sources', which an editor may touch unchanged.
	@touch $(BIN)/tailor

.PHONY: image
image: ## Build the multi-arch image (amd64, arm64) without Docker into bin/image/: an OCI layout and a docker load tarball
	cd hack/image && $(GO) run . -go $(GO) -root $(CURDIR) -out $(BIN)/image

.PHONY: demo
demo: ## The guide's walkthrough on the local cluster with the EC2 simulator (KEEP=1 leaves it up)
	KEEP=$(KEEP) hack/demo.sh

.PHONY: bench
bench: bins ## Measure the solver, Karpenter's scheduler beside Tailor's solver on the same pods and types, and the whole system (BENCH_FLAGS='-compare-only -sizes=1000,5000' narrows it)
	$(GO) test -C hack/bench/karpenter ./...
	$(GO) run ./hack/bench $(BENCH_FLAGS)

.PHONY: bins
bins: ## Build etcd, kube-apiserver, kube-controller-manager, kwok, controller-gen and helm into bin/ (skips what is current)
	hack/build-bins.sh

.PHONY: generate
generate: ## Regenerate deep-copy functions, CRDs and the compiled-in EC2 facts
	hack/build-bins.sh controller-gen
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./apis/... \
		crd:crdVersions=v1 output:crd:artifacts:config=manifests/crds
	@# The PodGroup CRD of gangs, as scheduler-plugins publishes it at the
	@# version go.mod pins.
	install -m 0644 "$$($(GO) list -m -f '{{.Dir}}' sigs.k8s.io/scheduler-plugins)/manifests/coscheduling/crd.yaml" \
		manifests/crds/scheduling.x-k8s.io_podgroups.yaml
	$(GO) generate ./launcher/...

.PHONY: verify
verify: generate ## Fail when generated files are stale
	@if ! git diff --quiet -- apis manifests/crds launcher || [ -n "$$(git ls-files --others --exclude-standard -- apis manifests/crds launcher)" ]; then \
		git status --short -- apis manifests/crds launcher; \
		echo "generated files are stale: run 'make generate' and commit the result"; exit 1; fi

.PHONY: lint
lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'd:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: test
test: bins build ## Unit and integration tests against a real API server; plugin/ and launcher/ under -race (the e2e suites run bin/tailor)
	@plain=$$($(GO) list $(PKGS) | grep -Ev '$(RACE_PATTERN)' || true); \
	raced=$$($(GO) list $(PKGS) | grep -E '$(RACE_PATTERN)' || true); \
	status=0; \
	if [ -n "$$plain" ]; then $(GO) test $(TEST_FLAGS) $$plain || status=1; fi; \
	if [ -n "$$raced" ]; then $(GO) test -race $(TEST_FLAGS) $$raced || status=1; fi; \
	if [ "$(PKGS)" = "./..." ]; then (cd hack/image && $(GO) test $(TEST_FLAGS) ./...) || status=1; fi; \
	exit $$status

.PHONY: clean
clean: ## Remove built binaries
	rm -rf $(BIN)

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'
