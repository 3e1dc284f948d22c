# Parapet's build and test entry points. `make test` is what CI runs.
GO ?= go

BIN ?= bin/parapet

.PHONY: all build dist dist-check test lint fmt-check vet staticcheck test-race test-volume test-coraza coraza-verify demo bench fuzz docs

all: build

# Version stamps, from git: the tag (or commit) describing HEAD, its full
# commit id and the commit's time (not the time of the build, so that two
# builds of one commit are byte for byte identical).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
DATE ?= $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
# -buildid= leaves the linker's build id out of the binary; -trimpath drops
# local paths; CGO_ENABLED=0 makes it static.
LDFLAGS = -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
GOBUILD = CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)"
DIST ?= dist
PLATFORMS ?= linux/amd64 linux/arm64

build:
	$(GOBUILD) -o $(BIN) ./cmd/parapet

## dist: static, reproducible release binaries for every platform in
## PLATFORMS (dist/parapet-linux-amd64, ...), the buildpack as a tarball
## pinned to them, and SHA256SUMS. Files carry the commit's time as their
## modification time. `make dist-check` builds twice and compares.
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; \
	  echo "dist: $$os/$$arch"; \
	  GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(DIST)/parapet-$$os-$$arch ./cmd/parapet || exit 1; \
	done
	cd $(DIST) && sha256sum parapet-* > SHA256SUMS
	bash buildpack/pack.sh $(DIST) $(VERSION) $(SOURCE_DATE_EPOCH)
	cd $(DIST) && sha256sum parapet-* > SHA256SUMS && touch -d @$(SOURCE_DATE_EPOCH) * && cat SHA256SUMS

## dist-check: build dist twice (in dist and dist.again) and fail unless
## every file is identical.
dist-check:
	$(MAKE) dist DIST=dist
	$(MAKE) dist DIST=dist.again
	cmp dist/SHA256SUMS dist.again/SHA256SUMS && echo "dist-check: the two builds are identical"
	rm -rf dist.again

## test: everything CI checks: formatting, vet, staticcheck, all tests with the race detector,
## and Parapet's copy of Coraza (third_party/coraza): that it is the release plus
## its patch series, and its own tests.
test: lint coraza-verify test-race test-volume test-coraza

## lint: gofmt, vet and staticcheck over Parapet and its copy of Coraza (a
## module of its own, so ./... at the root does not reach it).
lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd third_party/coraza && $(GO) vet ./...

# staticcheck is the root module's tool (go.mod); the copy of Coraza is
# another module, so the same binary runs there.
staticcheck:
	$(GO) tool staticcheck ./...
	$(GO) build -o bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	cd third_party/coraza && ../../bin/staticcheck ./...

## coraza-verify: third_party/coraza must be pristine Coraza (the version in
## go.mod, from the module cache or proxy) plus third_party/coraza/patches, file
## for file and byte for byte; fails with the difference. See its PARAPET.md.
coraza-verify:
	bash third_party/coraza/patches/series.sh verify

test-race:
	$(GO) test -race -count=1 -timeout 20m ./...

## test-volume: the tests that compare two engines' answers (the value filter,
## the phase plan, RE2 against Go's regexp, the base64 checks) at their full
## volume: under -race they run a sample (raceEnabled), several times slower
## and finding no race by volume. About two minutes.
test-volume:
	$(GO) test -count=1 -timeout 10m -run 'ChangesNoAnswer|NeverSkipsAMatch|SameAnswersAsReleasedRx|StageDifferential|CustomChainsDifferential|PlainBase64OfAttacks|ChainsOfSafeTransformations' ./internal/detect

## test-coraza: Coraza's own test suite on Parapet's copy (third_party/coraza,
## see its PARAPET.md): the engine patches must not change what it answers.
## The two audit-log tests skipped expect an unwritable path to fail, which
## it does not as root (CI runs as root).
test-coraza:
	cd third_party/coraza && $(GO) test -count=1 -timeout 10m \
	  -skip 'TestConcurrentWriterFailsOnInit|TestSerialWriterFailsOnInitForUnexistingFile' ./...

## fuzz: run every fuzz target briefly (FUZZTIME each). A failure without a
## failing input written, only "context deadline exceeded", is Go 1.26's
## fuzz coordinator race at the deadline (golang/go#75804) and is reported, not failed.
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; echo "$$out"; \
	    if [ $$rc -ne 0 ]; then \
	      if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	        echo "fuzz: $$f stopped by Go's fuzztime deadline race (golang/go#75804, fixed in Go 1.27); no failing input, not a failure"; \
	      else exit 1; fi; \
	    fi; \
	  done; \
	done

## demo: build once (go run recompiles every time: 160 s on two busy cores),
## then run the binary.
demo: build
	$(BIN) demo

bench:
	bash bench/run.sh

## docs: regenerate docs/CONFIG.md, the configuration reference, from the
## config schema (internal/config); TestConfigReferenceUpToDate fails in
## `make test` when it is stale.
docs:
	$(GO) generate ./internal/config
