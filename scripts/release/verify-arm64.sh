#!/usr/bin/env bash
# Must-show check of the arm64 tarballs on a clean Debian 13 arm64 tree, under qemu-user
# (see verify.sh); iec-am is the x86_64 one, on the host.
exec "$(dirname "${BASH_SOURCE[0]}")/verify.sh" arm64
