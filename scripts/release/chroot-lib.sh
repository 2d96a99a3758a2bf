# Shared helpers for the release scripts (sourced, not run).

# qemu-user binary name for a Debian architecture.
qemu_for() {
    case "$1" in
        arm64) echo qemu-aarch64-static ;;
        armhf) echo qemu-arm-static ;;
        *) echo "qemu-$1-static" ;;
    esac
}

# Mount proc, sys, dev (+pts) in a chroot, once; umount_chroot undoes it.
mount_chroot() {
    local d="$1"
    mountpoint -q "$d/proc"    || mount -t proc proc "$d/proc"
    # rslave: nothing unmounted in the tree can propagate back to the host
    mountpoint -q "$d/sys"     || { mount --rbind /sys "$d/sys" && mount --make-rslave "$d/sys"; }
    mountpoint -q "$d/dev"     || { mount --rbind /dev "$d/dev" && mount --make-rslave "$d/dev"; }
}
umount_chroot() {
    local d="$1" m
    # everything mounted under the tree, deepest first
    for m in $(awk -v d="$(realpath "$d")/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}

# Where the Debian trees live: RELEASE_CACHE (shareable between clones, e.g.
# /work/release-cache), else .release-cache/ in the clone (git-ignored).
release_cache() {
    local root="$1"
    printf '%s\n' "${RELEASE_CACHE:-$root/.release-cache}"
}

# The Debian packages a build tree needs: Debian's Swift 6.0.3 and the -dev
# packages of Package.swift's system libraries (+ libldap-dev for the
# OpenLDAP store adapter), and what swiftc needs to link.
BUILD_TREE_PACKAGES=(
    swiftlang libc6-dev libstdc++-14-dev pkg-config ca-certificates
    libssl-dev libsodium-dev libcurl4-openssl-dev libmicrohttpd-dev
    libsqlite3-dev libzmq3-dev duktape-dev zlib1g-dev libldap-dev
)

# Copy the clone's sources (tracked and untracked-but-not-ignored files) into
# DEST inside a tree; rsync keeps unchanged files as they are, so SwiftPM's
# incremental build inside the tree keeps working.
sync_sources() {
    local root="$1" dest="$2"
    mkdir -p "$dest"
    (cd "$root" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$root" && rsync -a --delete-missing-args --from0 --files-from=- ./ "$dest/")
    # remove files that are gone from the clone
    (cd "$root" && git ls-files --cached --others --exclude-standard | sort) >"$dest/.openiec-files"
    (cd "$dest" && find . -type f ! -name .openiec-files -printf '%P\n' | sort) |
        comm -13 "$dest/.openiec-files" - | (cd "$dest" && xargs -r -d '\n' rm -f --)
}

# Run a command inside a tree as root, with a clean environment.
in_tree() {
    local tree="$1"; shift
    chroot "$tree" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 "$@"
}
