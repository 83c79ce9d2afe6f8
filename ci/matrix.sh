#!/bin/sh
# Boots the io_uring conformance suite under QEMU on the kernels of fixtures/kernels.manifest
# (and/or --kernel PATH). All options are uring-matrix's: ci/matrix.sh --help
set -eu
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p uring-matrix --bin uring-matrix -- "$@"
