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
# With --anchor it then measures liburing's tests for the same interfaces on the same
# kernel: Debian's liburing source package (pinned below; `ci/matrix.sh fetch-source`,
# the matrix's private apt configuration) unpacked and built under URING_CACHE/anchor/,
# the tests ci/coverage/anchor-tests.txt names linked static, booted in guest-init's
# `uring.exec` mode instead of the suite (`ci/matrix.sh --exec`), and writes
# ci/out/coverage/anchor/ (their report.txt, uncovered.txt, tests.txt: each test's exit),
# side-by-side.txt (lines per file: ours, liburing's, union) and beside-only.txt (the lines
# liburing's tests reach and ours do not).
#
#   ci/coverage.sh [--anchor] [--timeout S] [--help]
#
#   --anchor     also measure liburing's tests and print both side by side.
#   --timeout S  time limit of each boot in seconds (default 900; the matrix's option).
# Needs root (the kernel's build dependencies and QEMU are installed when missing).
# Exit status: 0 report written, 1 a step failed, 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIMEOUT=900
ANCHOR=
# liburing's version for --anchor: Debian's source package, from this suite.
LIBURING_SUITE=sid
LIBURING_VERSION=2.15-1
usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
bad_arg() { echo "coverage: $* (see --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --timeout) [ $# -ge 2 ] || bad_arg "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --anchor) ANCHOR=1; shift ;;
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
[ -n "$ANCHOR" ] || exit 0

# 4. liburing's tests: source, static build, one boot running them, their counters.
CACHE=${URING_CACHE:-/var/cache/uring-conformance}
say "liburing $LIBURING_VERSION's tests (Debian $LIBURING_SUITE source package)"
SRC=$(ci/matrix.sh fetch-source "$LIBURING_SUITE" liburing "$LIBURING_VERSION" \
    "$CACHE/anchor/liburing-$LIBURING_VERSION") || die "could not fetch liburing's source"
read -ra TESTS <<<"$(sed 's/#.*//' ci/coverage/anchor-tests.txt | xargs)"
for t in "${TESTS[@]}"; do [ -f "$SRC/test/$t.c" ] || die "liburing $LIBURING_VERSION has no test/$t.c"; done
command -v make >/dev/null && command -v gcc >/dev/null ||
    apt-get install -y -q -o DPkg::Lock::Timeout=600 make gcc >&2 || die "installing make and gcc failed"
[ -f "$SRC/config-host.mak" ] || (cd "$SRC" && ./configure >"$OUT/anchor-configure.log" 2>&1) ||
    die "liburing's configure failed (ci/out/coverage/anchor-configure.log)"
say "building ${#TESTS[@]} tests static (log: ci/out/coverage/anchor-build.log)"
{ nice -n 10 make -C "$SRC/src" -j2 liburing.a &&
    nice -n 10 make -C "$SRC/test" -j2 LDFLAGS=-static "${TESTS[@]/%/.t}"; } \
    >"$OUT/anchor-build.log" 2>&1 || die "the build of liburing's tests failed (ci/out/coverage/anchor-build.log)"
EXEC=$OUT/anchor-exec
mkdir -p "$EXEC"
for t in "${TESTS[@]}"; do cp "$SRC/test/$t.t" "$EXEC/$t"; done
printf '%s\n' "${TESTS[@]}" >"$EXEC/list"
cp "$IMG" "$OUT/kernel/anchor.bzImage"
say "booting it with liburing's tests (log: ci/out/coverage/anchor-matrix.log)"
ci/matrix.sh --only-path --kernel "$OUT/kernel/anchor.bzImage" --exec "$EXEC" --gcov \
    --retries 0 --timeout "$TIMEOUT" >"$OUT/anchor-matrix.log" 2>&1 || true
RUN=$ROOT/ci/out/dev-anchor.bzImage
grep -q '^files=[1-9]' "$RUN/gcov.txt" 2>/dev/null ||
    die "the anchor boot saved no gcov data (ci/out/dev-anchor.bzImage/: console.log, channel.log)"
mkdir -p "$OUT/anchor"
grep -ao '@@URING-EXEC name=[^@]*@@' "$RUN/channel.log" | sed 's/@@URING-EXEC //; s/@@$//' \
    >"$OUT/anchor/tests.txt" || true
say "liburing's tests: $(wc -l <"$OUT/anchor/tests.txt") ran ($(grep -c ' exit=0 ' "$OUT/anchor/tests.txt") exit 0, $(grep -c ' exit=77 ' "$OUT/anchor/tests.txt") skip 77)"
ADATA=$OUT/anchor/data
mkdir -p "$ADATA/io_uring"
cp "$BUILD"/io_uring/*.gcno "$ADATA/io_uring/"
cp "$RUN/gcov$BUILD"/io_uring/*.gcda "$ADATA/io_uring/" || die "no io_uring .gcda files came back"
python3 ci/coverage/report.py "$ADATA" --out "$OUT/anchor" --gcov "gcov-$(gcc -dumpversion)" >/dev/null ||
    die "the report of liburing's run failed"
python3 ci/coverage/report.py "$DATA" --beside "$ADATA" --out "$OUT" --gcov "gcov-$(gcc -dumpversion)" ||
    die "the side-by-side report failed"
say "done: ci/out/coverage/side-by-side.txt, beside-only.txt, anchor/{report,uncovered,tests}.txt"
