# bitqueue: `make help` lists the targets.
#
# Two Go modules: the product (bitqueue, at the root) and the end-to-end
# benchmark (bitqueue/bench, in bench/, which requires the product through
# a replace directive). The benchmark's plotting modules stay out of the
# product's go.mod; the targets below cover both modules.
GO      ?= go
BIN     ?= bin
GOFLAGS ?=
SHELL   := /bin/bash

.DEFAULT_GOAL := help
.PHONY: help build demo test test-short test-faults fuzz vet lint fmt-check mod-check check clean bench bench-e2e bench-quick compose-check alerts-check docs ui-screenshot

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

build: ## build producer, worker, exporter, demo and the benchmark (bench/cmd/bench, its own module) into bin/
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...
	cd bench && $(GO) build $(GOFLAGS) -o $(abspath $(BIN))/ ./cmd/bench

demo: build ## run 1,000,000 random integers through two workers on an embedded Redis, checking every result
	$(BIN)/demo

test: ## run every test of both modules (against REDIS_URL when set, else an embedded Redis)
	@if [ -n "$$REDIS_URL" ]; then echo "tests use the Redis at REDIS_URL (only their own keys)"; \
	else echo "REDIS_URL is not set: tests use an embedded Redis (miniredis) started for each test"; fi
	@command -v redis-server >/dev/null || echo "redis-server is not installed: the fault and deployment tests, which start their own servers, are skipped, saying so (apt-get install redis-server)"
	@/usr/bin/python3 -c 'import celery, redis, numpy' 2>/dev/null || echo "python3-celery, python3-redis or python3-numpy is not installed: the peers' tests (bench/peers) are skipped, saying so (apt-get install python3-celery python3-redis python3-numpy)"
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 20m ./...
	cd bench && $(GO) test $(GOFLAGS) -race -count=1 -timeout 20m ./...

test-short: ## run the tests of both modules that take seconds, not minutes
	$(GO) test $(GOFLAGS) -short -count=1 ./...
	cd bench && $(GO) test $(GOFLAGS) -short -count=1 ./...

test-faults: ## only the fault tests (part of test): killed workers and Redis, restarts, a full Redis (~3 min)
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 15m -parallel 8 -run '^TestFault' -v ./e2e

FUZZTIME ?= 15s

# A package under bench/ belongs to the benchmark's module: go test runs
# there (go -C bench), on the package's path from bench/.
fuzz: ## run every fuzz target of both modules for FUZZTIME (15s) each, one after another, from its testdata/fuzz seeds
	@set -e; for dir in $$(grep -rlE '^func Fuzz' --include='*_test.go' ./internal ./cmd ./bench | xargs -n1 dirname | sort -u); do \
	  case $$dir in ./bench/*) mod=bench; pkg=./$${dir#./bench/};; *) mod=.; pkg=$$dir;; esac; \
	  for f in $$(grep -hoE '^func Fuzz[A-Za-z0-9_]+' $$dir/*_test.go | cut -d' ' -f2); do \
	    echo "fuzz $$f in $$dir for $(FUZZTIME)"; \
	    $(GO) -C $$mod test $(GOFLAGS) -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x $$pkg 2>&1 | tee .fuzz.log; rc=$${PIPESTATUS[0]}; \
	    if [ $$rc -ne 0 ] && grep -q 'context deadline exceeded' .fuzz.log && ! grep -q 'Failing input written' .fuzz.log; then \
	      echo "fuzz $$f: the fuzzing engine missed its own deadline (no failing input); running it once more"; \
	      $(GO) -C $$mod test $(GOFLAGS) -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x $$pkg; rc=$$?; \
	    fi; rm -f .fuzz.log; [ $$rc -eq 0 ]; \
	  done; \
	done

vet: ## go vet every package of both modules (and the fault tests' slow worker, under testdata)
	$(GO) vet ./... ./e2e/testdata/slowworker
	cd bench && $(GO) vet ./...

STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## staticcheck every package of both modules (the pinned version, fetched by the module proxy)
	$(STATICCHECK) ./... ./e2e/testdata/slowworker
	cd bench && $(STATICCHECK) ./...

fmt-check: ## fail when a Go file of either module is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

mod-check: ## fail when go.mod or go.sum of either module is not tidy (the product's lists only what its commands and tests use)
	$(GO) mod tidy -diff
	cd bench && $(GO) mod tidy -diff

check: fmt-check mod-check vet lint test ## everything CI runs

# docker-compose (Debian's package) or the compose plugin of docker.
COMPOSE ?= $(shell command -v docker-compose >/dev/null 2>&1 && echo docker-compose || echo docker compose)

compose-check: ## validate docker-compose.yml with `docker-compose config` (no Docker engine needed)
	$(COMPOSE) -f docker-compose.yml config -q

alerts-check: ## validate deploy/alerts.yml and run its unit tests (deploy/alerts_test.yml) with promtool (Debian's prometheus package)
	promtool check rules deploy/alerts.yml
	promtool test rules deploy/alerts_test.yml

docs: ## regenerate docs/flags.md from the commands' own -h (a test fails when it is stale)
	$(GO) test $(GOFLAGS) -count=1 -run '^TestFlagsPage$$' ./e2e -update-flags-page

ui-screenshot: ## take docs/img/asynqmon-pending.png anew: a redis-server, a run with no worker, the exporter's web UI, headless chromium (apt-get install -y chromium)
	$(GO) test $(GOFLAGS) -count=1 -run '^TestUIScreenshot$$' ./e2e -ui-screenshot -v

BENCH_FLAGS ?=

bench: ## Go micro-benchmarks of the product packages (cache, payload, result, handler, input) in integers/s, with -benchmem
	$(GO) test $(GOFLAGS) -run '^$$' -bench . -benchmem ./internal/...

bench-e2e: build ## end-to-end benchmark on a real redis-server it starts, peers (Celery, a process pool), the idle fleet, the latency scenario, sweep and the three-master cluster check included (~10–15 min): rewrites BENCHMARKS.md's figures and docs/bench-sweep.svg
	$(BIN)/bench --sweep --profile --cluster --markdown BENCHMARKS.md --readme README.md --chart docs/bench-sweep.svg $(BENCH_FLAGS)

bench-quick: build ## the end-to-end benchmark's main figures and the peers at B=1,000 and 10,000, printed, nothing rewritten (~1 min; BENCH_FLAGS=--peers=false leaves the peers out)
	$(BIN)/bench --repeat 1 --latency none $(BENCH_FLAGS)

clean: ## remove built binaries
	rm -rf $(BIN)
