# OpenIEC — the two set-up commands of README.md are `make demo` and `make test`;
# both run the bootstrap first (scripts/bootstrap.sh: Debian packages, Swift
# check, Python venv). Run them as root from the clone.
#
#   make bootstrap   install what the build and the tests need (idempotent)
#   make build       swift build (debug)
#   make test        swift build --build-tests, swift test, then the Python interop suite
#                    (tests/interop); ends with one summary line
#   make demo        release build, then a walkthrough in run/demo/ that leaves iec-am
#                    running on 127.0.0.1:8080 (realm edge) and iecservice on 127.0.0.1:5556,
#                    and ends with the seed's simpleclient output
#   make demo-stop   stop whatever `make demo` left running
#   make sdk         the SDK bundle dist/iec-sdk/ (lib/libiecclient.so, include/, examples/,
#                    iecutil, sdk-config.json) and dist/iec-sdk-linux-ARCH-1.0.0.tgz
#   make bench       the benchmark (bench/README.md): release build, installs wrk, nginx-light,
#                    glewlwyd and matplotlib, runs OpenIEC against Glewlwyd, nginx and openssl;
#                    bench/results/<time>/results.md + chart.png
#   make bench-quick the same with short runs (a smoke run, a few minutes)
#   make release     the Swift 6.0 check, then the release tarballs (service, SDK, iec-am) for
#                    ARCHES (default "x86_64 arm64"; arm64 built under qemu-user) and SHA256SUMS
#                    in dist/release/ (README.md, "Releases"); SKIP_SWIFT60_CHECK=1 skips the check
#   make swift60-check   only the Swift 6.0 check (Debian 13 amd64 tree, swiftlang 6.0.3)
#   make verify-release  the must-show checks of dist/release on clean Debian trees
#   make clean       remove build outputs, run/ and test artifacts (keeps .venv)
#   make distclean   clean, and remove .venv too
#
# SCRATCH=/some/dir passes --scratch-path to every swift command, to build
# outside .build (e.g. next to an IDE that holds the .build lock).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# A swift.org toolchain unpacked into /opt/swift is used when none is on PATH.
export PATH := $(PATH)$(if $(wildcard /opt/swift/usr/bin/swift),:/opt/swift/usr/bin)

SCRATCH ?=
export SWIFT_FLAGS := $(if $(SCRATCH),--scratch-path $(SCRATCH))

.PHONY: help bootstrap build test demo demo-stop sdk bench bench-quick release swift60-check verify-release clean distclean

help:
	@sed -n 's/^#   make /make /p' Makefile

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	swift build $(SWIFT_FLAGS)

test: bootstrap
	@scripts/test.sh

demo: bootstrap
	@echo "== building iecutil, iec-am, iecservice and libiecclient.so (release) =="
	swift build $(SWIFT_FLAGS) -c release --product iecutil
	swift build $(SWIFT_FLAGS) -c release --product iec-am
	swift build $(SWIFT_FLAGS) -c release --product iecservice
	swift build $(SWIFT_FLAGS) -c release --product iecclient
	@scripts/demo.sh "$$(swift build $(SWIFT_FLAGS) -c release --show-bin-path)"

demo-stop:
	@scripts/demo.sh --stop

# iecutil for the bundle links the Swift runtime statically, in a scratch folder of its own
# (--static-swift-stdlib would otherwise rebuild the ordinary release build each time).
SDK_SCRATCH := $(if $(SCRATCH),$(SCRATCH)/sdk-static,.build/sdk-static)
sdk: bootstrap
	@echo "== building libiecclient.so and a self-contained iecutil (release) =="
	swift build $(SWIFT_FLAGS) -c release --product iecclient
	swift build --scratch-path $(SDK_SCRATCH) -c release --static-swift-stdlib --product iecutil
	@lib="$$(swift build $(SWIFT_FLAGS) -c release --show-bin-path)"; \
	 util="$$(swift build --scratch-path $(SDK_SCRATCH) -c release --show-bin-path)"; \
	 rm -rf dist/iec-sdk && mkdir -p dist/iec-sdk/lib dist/iec-sdk/examples && \
	 install -m 0755 "$$lib/libiecclient.so" dist/iec-sdk/lib/ && strip --strip-unneeded dist/iec-sdk/lib/libiecclient.so && \
	 install -m 0755 "$$util/iecutil" dist/iec-sdk/ && strip dist/iec-sdk/iecutil && \
	 cp -r include dist/iec-sdk/ && install -m 0644 examples/sdk-config.json dist/iec-sdk/ && \
	 install -m 0755 examples/build-examples.sh examples/run-examples.sh dist/iec-sdk/examples/ && \
	 install -m 0644 examples/README.md dist/iec-sdk/examples/ && \
	 for d in examples/*/; do n="$$(basename "$$d")"; [ -f "$$d$$n.c" ] || continue; \
	   mkdir -p "dist/iec-sdk/examples/$$n" && install -m 0644 "$$d$$n.c" "dist/iec-sdk/examples/$$n/"; done && \
	 tar -czf "dist/iec-sdk-linux-$$(uname -m)-1.0.0.tgz" -C dist iec-sdk && \
	 echo "== dist/iec-sdk ==" && (cd dist && find iec-sdk -type f | sort) && \
	 ls -l dist/iec-sdk/lib/libiecclient.so "dist/iec-sdk-linux-$$(uname -m)-1.0.0.tgz" | awk '{print $$5, $$NF}'

bench: bootstrap
	@bench/run.sh

bench-quick: bootstrap
	@bench/run.sh --quick

# Release: scripts/release/. Debian trees go to RELEASE_CACHE (default .release-cache/, ignored).
ARCHES ?= x86_64 arm64
export ARCHES SKIP_SWIFT60_CHECK RELEASE_CACHE RELEASE_JOBS
release: bootstrap
	@scripts/release/release.sh

swift60-check:
	@scripts/release/check-swift60.sh

verify-release:
	@for arch in $(ARCHES); do scripts/release/verify-$$arch.sh || exit 1; done

clean: demo-stop
	rm -rf .build run dist tests/artifacts .pytest_cache
	find tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv
