# avatarproxy: `make run` serves the sample avatars on :8080; `make test`
# runs the whole suite. Both install missing system packages first.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
# bimg is cgo: demand a C compiler rather than let Go quietly build without
# cgo, which only fails later with bimg's "undefined: ..." errors.
export CGO_ENABLED := 1
GO ?= go
STATICCHECK_VERSION := v0.6.1

.PHONY: run test deps test-deps bench-deps build lint fuzz bench soak

# The binary replaces the recipe's shell, so that Ctrl-C reaches the proxy
# itself, which shuts down gracefully and exits 0 (make then stops without
# an error of its own).
run: build
	exec bin/avatarproxy $(ARGS)

build: deps
	$(GO) build -o bin/avatarproxy ./cmd/avatarproxy

deps:
	@scripts/install-deps.sh run

test-deps:
	@scripts/install-deps.sh test

# The whole suite: static checks, then every test over real libvips and
# loopback HTTP.
test: test-deps lint
	$(GO) test -race -count=1 -timeout 15m ./...
	@# The race detector changes what allocates: allocation counts are held
	@# in a run without it.
	$(GO) test -count=1 -run 'Allocations' ./proxy ./resize
	$(MAKE) --no-print-directory fuzz FUZZTIME=5s

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# A short run of each fuzz target over its committed seed corpus and
# beyond (FUZZTIME=5m make fuzz for a longer hunt).
FUZZTIME ?= 30s
FUZZ_TARGETS := ./resize:FuzzInspect ./proxy:FuzzParseAvatar ./proxy:FuzzParseAvatarUnsigned ./proxy:FuzzParseQuery ./upstream:FuzzProviderWireFormats ./rediscache:FuzzEntry
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

# Benchmarks: Go benchmarks of the hit path and the resizes (allocations
# included), then avatarproxy side by side with nginx (static files and
# proxy_cache in front of imgproxy, when IMGPROXY_BIN names a binary) and
# vipsthumbnail, servers and load pinned to different cores.
BENCHARGS ?=
# The bench set includes everything the run set installs, so the proxy is
# built here rather than through build, which would check deps again.
bench: bench-deps
	$(GO) build -o bin/avatarproxy ./cmd/avatarproxy
	$(GO) test ./resize ./proxy -run '^$$' -bench . -benchmem
	$(GO) build -o bin/avatarproxy-bench ./cmd/avatarproxy-bench
	bin/avatarproxy-bench -proxy bin/avatarproxy $(BENCHARGS)

bench-deps:
	@scripts/install-deps.sh bench

# The fault and soak run: mixed load against fault-injecting upstreams,
# printing requests, errors, RSS and goroutines over time.
SOAK ?= 10m
soak: deps
	$(GO) run ./cmd/avatarproxy-soak -duration $(SOAK)
