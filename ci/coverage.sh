#!/bin/bash
# Kernel line and branch coverage of the interfaces' io_uring code by one run of the suite:
# builds (or takes from the cache) the gcov kernel (`ci/build-kernel.sh --config gcov`:
# minimal + GCOV_KERNEL + GCOV_PROFILE_URING, so only io_uring/ is instrumented), boots it
# once through the matrix with the suite in default mode and `--gcov` (guest-init sends
# /sys/kernel/debug/gcov/<build dir>/io_uring/*.gcda over the results channel), puts them
# next to a scratch copy of the build's .gcno files (ci/out/coverage/data/; the shared build
# dir is only read) and runs gcov (the kernel's compiler's) through ci/coverage/report.py.
# Prints per file and per function the lines and branches that ran for io_uring/rsrc.c,
# kbuf.c, msg_ring.c, filetable.c, memmap.c, query.c, register.c, rw.c, net.c and nop.c;
# writes ci/out/coverage/report.txt (the same) and ci/out/coverage/uncovered.txt (every line
# that never ran, with its function and source text) and ci/out/coverage/coverage.json (per
# function the lines that ran and the ones that did not, for ci/mutants/generate.py). The
# counts include the boot's.
#
#   ci/coverage.sh [--timeout S] [--help]
#
#   --timeout S  time limit of the boot in seconds (default 900; the matrix's option).
# Needs root (the kernel's build dependencies and QEMU are installed when missing).
# Exit status: 0 report written, 1 a step failed, 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIMEOUT=900
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
bad_arg() { echo "coverage: $* (see --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --timeout) [ $# -ge 2 ] || bad_arg "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) bad_arg "unknown argument $1" ;;
    esac
done
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || bad_arg "--timeout wants a number of seconds, not '$TIMEOUT'"
START=$(date +%s)
say() { echo "[coverage $(($(date +%s) - START))s] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the kernel build's dependencies and QEMU may need installing)"
command -v python3 >/dev/null || die "python3 is needed for the report"

# 1. The gcov kernel, and the build dir whose .gcno files belong to it.
IMG=$(ci/build-kernel.sh --config gcov) || die "ci/build-kernel.sh --config gcov failed"
IMGDIR=$(dirname "$IMG")
KDIR=$(dirname "$(dirname "$IMGDIR")")
NAME=$(basename "$IMGDIR") # gcov-VERSION-KEY
V=${NAME#gcov-}
V=${V%-*}
BUILD=$KDIR/build-$V-gcov
if ! cmp -s "$BUILD/arch/x86/boot/bzImage" "$IMG"; then
    # The build dir was used for another version of the fragment since this image was
    # cached: its .gcno files would not match the image's counters. Build it again.
    say "$BUILD holds another build than $IMGDIR: rebuilding"
    rm -rf "$IMGDIR"
    IMG=$(ci/build-kernel.sh --config gcov) || die "ci/build-kernel.sh --config gcov failed"
    cmp -s "$BUILD/arch/x86/boot/bzImage" "$IMG" || die "$BUILD/arch/x86/boot/bzImage is not $IMG after a rebuild"
fi
compgen -G "$BUILD/io_uring/*.gcno" >/dev/null || die "no $BUILD/io_uring/*.gcno: io_uring/ was not built with gcov profiling"
say "kernel: $IMG"

# 2. One boot, default mode, the counters sent back. The image goes under a name of its own
#    (the matrix names a --kernel by its file: dev-gcov.bzImage), its config beside it.
OUT=$ROOT/ci/out/coverage
rm -rf "$OUT"
mkdir -p "$OUT/kernel"
cp "$IMG" "$OUT/kernel/gcov.bzImage"
cp "$IMGDIR/config" "$OUT/kernel/config"
say "booting it with the suite (log: ci/out/coverage/matrix.log)"
ci/matrix.sh --only-path --kernel "$OUT/kernel/gcov.bzImage" --modes default --gcov \
    --timeout "$TIMEOUT" >"$OUT/matrix.log" 2>&1 || say "the matrix exits $? (see ci/out/coverage/matrix.log and ci/out/dev-gcov.bzImage/verdict.txt)"
RUN=$ROOT/ci/out/dev-gcov.bzImage
[ -f "$RUN/gcov.txt" ] || die "the boot saved no gcov data (ci/out/dev-gcov.bzImage/: console.log, channel.log)"
grep -q '^files=[1-9]' "$RUN/gcov.txt" || die "gcov data: $(cat "$RUN/gcov.txt")"
sed -n 's/^/  /p' "$RUN/verdict.txt" >&2 || true

# 3. The counters next to a scratch copy of the .gcno files, then gcov.
DATA=$OUT/data
mkdir -p "$DATA/io_uring"
cp "$BUILD"/io_uring/*.gcno "$DATA/io_uring/"
GOT=$RUN/gcov$BUILD/io_uring
compgen -G "$GOT/*.gcda" >/dev/null || die "no io_uring .gcda files came back under $GOT"
cp "$GOT"/*.gcda "$DATA/io_uring/"
say "$(find "$GOT" -maxdepth 1 -name "*.gcda" | wc -l) .gcda files; running gcov"
python3 ci/coverage/report.py "$DATA" --out "$OUT" --gcov "gcov-$(gcc -dumpversion)" ||
    die "the report failed"
say "done: ci/out/coverage/report.txt, ci/out/coverage/uncovered.txt, ci/out/coverage/coverage.json"
