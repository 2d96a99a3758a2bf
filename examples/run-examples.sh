#!/usr/bin/env bash
# Runs one C example from its own folder, with libiecclient.so on the library path.
#
# Usage: examples/run-examples.sh EXAMPLE [ARGS ...]     e.g. run-examples.sh simpleclient
# The example's folder needs an iec-sdk.db (except init_sdk_dynamic):
#     cd examples/simpleclient && ../../iecutil -file ../../sdk-config.json -initialise sdk
# Build the examples first (build-examples.sh). SDK_DIR and IEC_SDK_LIB as there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SDK_DIR="${SDK_DIR:-$(cd "$HERE/.." && pwd)}"
LIB="${IEC_SDK_LIB:-$SDK_DIR/lib}"
example="${1:?usage: run-examples.sh EXAMPLE [ARGS ...]}"
shift
[ -x "$HERE/$example/$example" ] || { echo "run-examples: build it first: $HERE/build-examples.sh $example" >&2; exit 1; }
cd "$HERE/$example"
LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "./$example" "$@"
