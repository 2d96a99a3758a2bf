#!/usr/bin/env bash
# Must-show check of the x86_64 tarballs on a clean Debian 12 tree (see verify.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/verify.sh" x86_64
