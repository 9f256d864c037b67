# Integration tests need the real services from scripts/dev-services.sh;
# `make test` starts them (idempotently) and runs every test against them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go

.PHONY: all build dist image services services-stop test lint demo bench fuzz

all: lint test

# Every build says which commit it is: `zuulstate --version`, manifests'
# tool_version, the run record and zuulstate_build_info carry VERSION.
# Outside a git checkout give it: make build VERSION=v1.2.3 COMMIT=….
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN ?= bin/zuulstate

# Static: the volumes source's engine-API restore runs this very binary in
# a helper container that has nothing else, and so does the image.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/zuulstate

# Release binaries (static, stripped) and their checksums, for
# `sha256sum -c SHA256SUMS` in DIST.
DIST ?= dist
DIST_PLATFORMS := linux/amd64 linux/arm64
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)
	for p in $(DIST_PLATFORMS); do \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' \
			-o $(DIST)/zuulstate-$(VERSION)-$${p%/*}-$${p#*/} ./cmd/zuulstate; \
	done
	cd $(DIST) && sha256sum zuulstate-* >SHA256SUMS
	cat $(DIST)/SHA256SUMS

# The container image (Dockerfile): IMAGE:VERSION and IMAGE:latest, built
# against $$DOCKER_HOST, else the dev engine when it runs, else the local
# one. Push it to a registry: README, "Container image".
IMAGE ?= zuulstate
image:
	@scripts/image.sh check
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/image/zuulstate ./cmd/zuulstate
	IMAGE='$(IMAGE)' VERSION='$(VERSION)' COMMIT='$(COMMIT)' scripts/image.sh build bin/image/zuulstate

services:
	scripts/dev-services.sh start

services-stop:
	scripts/dev-services.sh stop

# Every test against the real services, the fuzz targets' seed corpora
# included. The fuzzers themselves run in `make fuzz`: a few seconds of
# `go test -fuzz` in CI failed once with the toolchain's own "context
# deadline exceeded" at the end of -fuzztime, no input at fault.
test: services
	eval "$$(scripts/dev-services.sh env)" && $(GO) test -count=1 -timeout 30m ./...

GOLANGCI_LINT ?= $(HOME)/.cache/zuulstate/bin/golangci-lint

lint:
	@out="$$(gofmt -l .)"; if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	[[ -x "$(GOLANGCI_LINT)" ]] || GOBIN="$(dir $(GOLANGCI_LINT))" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	"$(GOLANGCI_LINT)" run ./...

# End-to-end main job on local services: see scripts/demo.sh.
demo: services build
	scripts/demo.sh

# Side-by-side benchmarks against the stock tools; numbers go into
# BENCHMARKS.md. BENCH=mariadb (or any subset) runs only those.
#   pipeline:  write pipeline against `zstd -3 -T0` on 2 GiB of mixed data,
#              local and MinIO (scripts/bench).
#   mariadb:   dump and restore of a generated 1 GiB Zuul database against
#              mariadb-dump | zstd and zstd -dc | mariadb (scripts/benchdb).
#   volumes:   a 2.7 GiB volume against tar | zstd and zstd -dc | tar, direct
#              and engine-API way (scripts/benchvol).
#   zookeeper: a 200 000-node tree against one-request-at-a-time walks and
#              creates (scripts/benchzk).
#   nightly:   seven nights of 1.15 GiB of build logs and a 570 MiB Zuul
#              database, format 3 against restic, plus format 2's night 1
#              and restore (scripts/benchnightly). NIGHTLY_FLAGS="-scale
#              0.25" runs it smaller; not in the default set (20+ minutes).
BENCH ?= pipeline mariadb volumes zookeeper
NIGHTLY_FLAGS ?=
bench: services build
	eval "$$(scripts/dev-services.sh env)"; \
	for b in $(BENCH); do \
		case $$b in \
		pipeline) $(GO) run ./scripts/bench -bin bin/zuulstate ;; \
		mariadb) $(GO) run ./scripts/benchdb -bin bin/zuulstate ;; \
		volumes) $(GO) run ./scripts/benchvol -bin bin/zuulstate ;; \
		zookeeper) $(GO) run ./scripts/benchzk -bin bin/zuulstate ;; \
		nightly) $(GO) run ./scripts/benchnightly -bin bin/zuulstate $(NIGHTLY_FLAGS) ;; \
		*) echo "unknown benchmark $$b (pipeline, mariadb, volumes, zookeeper, nightly)"; exit 2 ;; \
		esac; \
	done

# Fuzz every decoder for FUZZTIME each (`make test` runs the seed corpora
# in testdata/fuzz as ordinary tests). New crashers land in the
# package's testdata/fuzz and then fail `make test` until fixed.
FUZZTIME ?= 20s
FUZZ_TARGETS := ./snapshot:FuzzDecodeManifest ./snapshot:FuzzPartDecoder \
	./source/zookeeper/zktree:FuzzRecordDecoder ./dirtar:FuzzExtract ./config:FuzzParse \
	./chunkstore:FuzzReadChunkList ./chunkstore:FuzzReadIndex ./chunkstore:FuzzReadPackTrailer \
	./chunkstore:FuzzParentCache ./chunkstore:FuzzReadConfig
# FuzzExtract writes a small tree per input: on tmpfs it runs several
# times faster than on a busy disk. The build stays in GOTMPDIR.
FUZZ_TMPDIR ?= $(if $(wildcard /dev/shm),/dev/shm,$(TMPDIR))
fuzz:
	for t in $(FUZZ_TARGETS); do \
		TMPDIR=$(FUZZ_TMPDIR) GOTMPDIR=$${GOTMPDIR:-/tmp} \
			$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}" || exit 1; \
	done

# The long crash and fault runs (docs/RELIABILITY.md): 100 SIGKILLs per
# store on a larger data set instead of `make test`'s 30 on a small one,
# plus every fault test, and a dense file over 8 GiB through dirtar.
# TORTURE_KILLS overrides the number of kills.
TORTURE_KILLS ?= 100
.PHONY: torture
torture: services
	eval "$$(scripts/dev-services.sh env)" && ZUULSTATE_TORTURE=1 ZUULSTATE_TORTURE_KILLS=$(TORTURE_KILLS) \
		$(GO) test -count=1 -v -timeout 3h ./internal/reliability/ ./dirtar/
