#!/usr/bin/env bash
# The Swift 6.0 compatibility check: builds the package and its tests
# (`swift build --build-tests`) with Debian 13's swiftlang 6.0.3 at native speed,
# in a Debian 13 amd64 tree that it makes itself (scripts/release/mkroot.sh) in
# $RELEASE_CACHE/trixie-amd64 (default .release-cache/ in the clone).
#   scripts/release/check-swift60.sh          build + build the tests
#   SWIFT60_TEST=1 ...check-swift60.sh        and run `swift test` too
#   SWIFT60_REF=main ...check-swift60.sh      check that commit instead of the working tree
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
src=src scratch=build-swift60
if [ -n "${SWIFT60_REF:-}" ]; then
    # a commit instead of the working tree, e.g. SWIFT60_REF=main before a merge
    rev="$(git -C "$ROOT" rev-parse --verify "$SWIFT60_REF^{commit}")"
    src="src-ref" scratch="build-swift60-ref"
    rm -rf "$TREE/openiec/$src" && mkdir -p "$TREE/openiec/$src"
    git -C "$ROOT" archive "$rev" | tar -x -C "$TREE/openiec/$src"
    say "checking $SWIFT60_REF ($rev)"
else
    sync_sources "$ROOT" "$TREE/openiec/$src"
fi
mount_chroot "$TREE"
trap 'umount_chroot "$TREE"' EXIT
say "$(in_tree "$TREE" swift --version 2>&1 | head -n 1)"
start=$(date +%s)
in_tree "$TREE" sh -c 'cd "/openiec/$0" && swift build --build-tests --scratch-path "/openiec/$1" ${2:+-j "$2"}' "$src" "$scratch" "${SWIFT60_JOBS:-}"
say "swift build --build-tests: ok ($(( $(date +%s) - start )) s)"
if [ "${SWIFT60_TEST:-0}" = 1 ]; then
    in_tree "$TREE" sh -c 'cd "/openiec/$0" && swift test --skip-build --scratch-path "/openiec/$1"' "$src" "$scratch"
    say "swift test: ok"
fi
say "passed: the package builds with Swift 6.0"
