#!/bin/sh
# Kernel mutants: applies each mutant of fixtures/mutants/mutants.txt to a private
# copy of the linux-source-7.2 tree (${URING_CACHE:-/var/cache/uring-conformance}/mutants/,
# never the shared kernel/src-* or build dirs), rebuilds the minimal config incrementally,
# boots it with the static suite through the matrix (ci/matrix.sh --kernel IMAGE
# --only-path --modes default) and judges it against two boots of the unmutated kernel.
# Writes fixtures/mutants/results.tsv and fixtures/mutants/unproven-rows.txt.
#   ci/mutants.sh [--only ID,..] [--section S,..] [--check] [--reuse-base] [--batch N] ...
# Needs root (unshare/mount for the private tree), the build deps of ci/build-kernel.sh.
set -eu
cd "$(dirname "$0")/.."
exec python3 ci/mutants/run.py "$@"
