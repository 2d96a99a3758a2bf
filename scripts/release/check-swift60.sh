#!/usr/bin/env bash
# The Swift 6.0 compatibility check: builds the package and its tests
# (`swift build --build-tests`) with Debian 13's swiftlang 6.0.3 at native speed,
# in a Debian 13 amd64 tree that it makes itself (scripts/release/mkroot.sh) in
# $RELEASE_CACHE/trixie-amd64 (default .release-cache/ in the clone).
#   scripts/release/check-swift60.sh          build + build the tests
#   SWIFT60_TEST=1 ...check-swift60.sh        and run `swift test` too
# Anything newer than Swift 6.0 in Sources/ or Tests/ fails it. Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/scripts/release/chroot-lib.sh"
CACHE="$(release_cache "$ROOT")"
TREE="$CACHE/trixie-amd64"
say() { printf 'swift6.0-check: %s\n' "$*"; }

packages=("${BUILD_TREE_PACKAGES[@]}")
# what the unit tests run beside the package: a Python test server, curl, openssl
[ "${SWIFT60_TEST:-0}" = 1 ] && packages+=(python3 curl openssl)
"$ROOT/scripts/release/mkroot.sh" trixie amd64 "$TREE" "${packages[@]}"
sync_sources "$ROOT" "$TREE/openiec/src"
mount_chroot "$TREE"
trap 'umount_chroot "$TREE"' EXIT
say "$(in_tree "$TREE" swift --version 2>&1 | head -n 1)"
start=$(date +%s)
in_tree "$TREE" sh -c 'cd /openiec/src && swift build --build-tests --scratch-path /openiec/build-swift60 "$@"' sh ${SWIFT60_JOBS:+-j "$SWIFT60_JOBS"}
say "swift build --build-tests: ok ($(( $(date +%s) - start )) s)"
if [ "${SWIFT60_TEST:-0}" = 1 ]; then
    in_tree "$TREE" sh -c 'cd /openiec/src && swift test --skip-build --scratch-path /openiec/build-swift60'
    say "swift test: ok"
fi
say "passed: the package builds with Swift 6.0"
