# bitqueue: `make help` lists the targets.
GO      ?= go
BIN     ?= bin
GOFLAGS ?=

.DEFAULT_GOAL := help
.PHONY: help build demo test test-short vet fmt-check check clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

build: ## build producer, worker and demo into bin/
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...

demo: build ## run 1,000,000 random integers through two workers on an embedded Redis, checking every result
	$(BIN)/demo

test: ## run every test (against REDIS_URL when set, else an embedded Redis)
	@if [ -n "$$REDIS_URL" ]; then echo "tests use the Redis at REDIS_URL (only their own keys)"; \
	else echo "REDIS_URL is not set: tests use an embedded Redis (miniredis) started for each test"; fi
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 20m ./...

test-short: ## run the tests that take seconds, not minutes
	$(GO) test $(GOFLAGS) -short -count=1 ./...

vet: ## go vet every package
	$(GO) vet ./...

fmt-check: ## fail when a file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

check: fmt-check vet test ## everything CI runs

clean: ## remove built binaries
	rm -rf $(BIN)
