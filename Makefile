# OpenIEC — the two set-up commands of README.md are `make demo` and `make test`;
# both run the bootstrap first (scripts/bootstrap.sh: Debian packages, Swift
# check, Python venv). Run them as root from the clone.
#
#   make bootstrap   install what the build and the tests need (idempotent)
#   make build       swift build (debug)
#   make test        swift build --build-tests, swift test, then the Python interop suite
#                    (tests/interop); ends with one summary line
#   make demo        release build, then a walkthrough in run/demo/ that leaves iec-am
#                    running on 127.0.0.1:8080 (realm edge)
#   make demo-stop   stop whatever `make demo` left running
#   make bench       release build of iec-am, then wrk on the token endpoint (bench/README.md)
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

.PHONY: help bootstrap build test demo demo-stop bench clean distclean

help:
	@sed -n 's/^#   make /make /p' Makefile

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	swift build $(SWIFT_FLAGS)

test: bootstrap
	@scripts/test.sh

demo: bootstrap
	@echo "== building iecutil and iec-am (release) =="
	swift build $(SWIFT_FLAGS) -c release --product iecutil
	swift build $(SWIFT_FLAGS) -c release --product iec-am
	@scripts/demo.sh "$$(swift build $(SWIFT_FLAGS) -c release --show-bin-path)"

demo-stop:
	@scripts/demo.sh --stop

bench: bootstrap
	@bench/run.sh

clean: demo-stop
	rm -rf .build run tests/artifacts .pytest_cache
	find tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv
