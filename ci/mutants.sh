#!/bin/sh
# Kernel mutants: runs the mutants of fixtures/mutants/mutants.txt (or --mutants T,..) against a
# private copy of the linux-source-7.2 tree (${URING_CACHE:-/var/cache/uring-conformance}/mutants/,
# never the shared kernel/src-* or build dirs) and judges each by the suite's rows against two
# runs of the unmutated kernel. By default as schemata (ci/mutants/schema.py): one build holds
# every mutant as a copy of its function, chosen at run time by a knob, and two VMs run the
# suite once per mutant (guest-init's mutant loop); --no-schemata builds and boots each mutant
# on its own (ci/matrix.sh --kernel IMAGE --only-path --modes default).
# Writes fixtures/mutants/results.tsv, then ci/mutants/proof.py regenerates the rows' proof
# (fixtures/mutants/unproven-rows.txt, docs/row-proof.md).
#   ci/mutants.sh [--only ID,..] [--section S,..] [--check] [--no-schemata] [--budget S] ...
# Needs root (unshare/mount for the private tree), the build deps of ci/build-kernel.sh.
set -eu
cd "$(dirname "$0")/.."
exec python3 ci/mutants/run.py "$@"
