#!/usr/bin/env bash
# Builds the SDK's C examples with plain gcc, the way an app is built:
#
#     gcc simpleclient.c -I include -L lib -liecclient -o simpleclient
#
# Usage: examples/build-examples.sh [EXAMPLE ...]      (default: every example)
#   SDK_DIR      the SDK folder holding include/ and lib/ (default: the folder above this script)
#   IEC_SDK_LIB  the folder holding libiecclient.so      (default: $SDK_DIR/lib)
#   CC, CFLAGS   the compiler (default gcc) and extra flags (default none)
# Each example is built in its own folder: examples/NAME/NAME. Run it from that
# folder (where its iec-sdk.db is) with the library on the path:
#     LD_LIBRARY_PATH=$SDK_DIR/lib ./simpleclient
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SDK_DIR="${SDK_DIR:-$(cd "$HERE/.." && pwd)}"
LIB="${IEC_SDK_LIB:-$SDK_DIR/lib}"
CC="${CC:-gcc}"
read -r -a EXTRA <<<"${CFLAGS:-}"

ALL=(simpleclient init_sdk_static init_sdk_dynamic register_device get_device_configuration
     get_device_tokens get_user_tokens run_device_custom_command introspect_access_token)
if [ "$#" -gt 0 ]; then EXAMPLES=("$@"); else EXAMPLES=("${ALL[@]}"); fi

[ -e "$LIB/libiecclient.so" ] || { echo "build-examples: no libiecclient.so in $LIB (set SDK_DIR or IEC_SDK_LIB)" >&2; exit 1; }
for example in "${EXAMPLES[@]}"; do
    [ -f "$HERE/$example/$example.c" ] || { echo "build-examples: no example $example" >&2; exit 1; }
    (cd "$HERE/$example" && "$CC" "${EXTRA[@]}" "$example.c" -I "$SDK_DIR/include" -L "$LIB" -liecclient -o "$example")
    echo "built examples/$example/$example"
done
