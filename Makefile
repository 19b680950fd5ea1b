# tenant-hooks — run `make help` for the list of targets.
SHELL := /bin/bash
GO    ?= go
PKG   := ./...
# staticcheck, pinned; fetched through the Go module proxy on first use.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN   := bin/tenant-hooks
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
IMAGE ?= ghcr.io/tenant-hooks/tenant-hooks:$(VERSION)
FUZZTIME ?= 10s

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/tenant-hooks
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tenant-hooks

.PHONY: run
run: ## Run the service on :8080 (no setup needed; try the curl examples in the README)
	$(GO) run ./cmd/tenant-hooks serve --log-format text

.PHONY: test
test: ## Run vet and every test with the race detector (MySQL tests use MariaDB at 127.0.0.1:3306)
	$(GO) vet $(PKG)
	$(GO) test -race -count=1 $(PKG)

.PHONY: test-alone
test-alone: ## make test in a copy of the committed tree with nothing beside it, as a plain clone sees it
	@set -e; dir="$$(mktemp -d)"; trap 'rm -rf "$$dir"' EXIT; \
	  git archive --format=tar --prefix=tenant-hooks/ HEAD | tar -x -C "$$dir"; \
	  echo "== make test in $$dir/tenant-hooks (HEAD $$(git rev-parse --short HEAD), no sibling folders)"; \
	  $(MAKE) -C "$$dir/tenant-hooks" test

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s; a count such as 3000x works too)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

.PHONY: bench
bench: ## Run the benchmarks (hook vs encoding/json floor ratio, registry sync, template engine)
	$(GO) test -run '^$$' -bench . -benchmem $(PKG)

.PHONY: bench-scale
bench-scale: ## Print the scalability table (100, 1,000, 10,000 tenants)
	$(GO) run ./hack/benchscale

.PHONY: regscale
regscale: ## Registry sync at 1k/10k/100k rows from MariaDB: latency and peak RSS (needs MariaDB)
	$(GO) run ./hack/regscale

.PHONY: load
load: ## Load-test tenant sync over HTTP at 1, 8 and 64 connections, then a small request against an encoding/json floor server
	$(GO) run ./hack/load

.PHONY: lint
lint: ## go vet, gofmt, staticcheck and `tenant-hooks lint` over examples/
	$(GO) vet $(PKG)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) run $(STATICCHECK) $(PKG)
	$(GO) run ./cmd/tenant-hooks lint examples/

.PHONY: golden-update
golden-update: ## Rewrite golden files (examples/*/expected, examples/requests, hooks/testdata) from the current code
	$(GO) test ./cmd/tenant-hooks/ ./hooks/ -run 'Golden' -update

.PHONY: e2e
e2e: ## Check CRDs, deploy/ and rendered examples against a real kube-apiserver (built once, cached)
	bash hack/e2e/run.sh

.PHONY: image
image: ## Build the container image (needs a Docker engine)
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
