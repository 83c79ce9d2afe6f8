#!/bin/bash
# Builds the release artifacts of the suite in one command: the static uring-conformance
# binary for x86_64 and for every architecture ci/cross-build.sh supports, a kselftest-style
# install directory per architecture packed as a tarball, and SHA256SUMS over all of them.
#
#   ci/release.sh [--out DIR]      (as root when there are cross architectures: the chroot)
#
#   --out DIR   where the artifacts go (default ci/out/release; emptied of earlier artifacts
#               of the same names first)
#
# In DIR, for each ARCH (x86_64, then ci/cross-build.sh's architectures), with VERSION the
# suite's version (`uring-conformance --version`):
#   uring-conformance-VERSION-ARCH                 the static binary
#   uring-conformance-VERSION-ARCH-kselftest.tar.gz
#       uring_conformance/uring-conformance        the same binary
#       uring_conformance/run.sh                   runs it with --ktap: KTAP on stdout; exit
#                                                  77 (io_uring not usable) becomes 4, skip
#       uring_conformance/settings                 timeout=300, as kselftest's runner reads it
#   SHA256SUMS                                     sha256sum -c reads it
# A lab extracts a tarball into its kselftest install directory and adds
# `uring_conformance:run.sh` to kselftest-list.txt (README, "Release artifacts").
# The tarballs are reproducible: names sorted, owner 0, times those of the source commit.
# Exit status: 0 built, 1 a step failed, 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
bad_arg() { echo "release: $* (see --help)" >&2; exit 2; }
log() { echo "release: $*" >&2; }

OUT=ci/out/release
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) [ $# -ge 2 ] || bad_arg "--out needs a directory"; OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    *) bad_arg "unknown argument '$1'" ;;
    esac
done
[ -n "$OUT" ] || bad_arg "--out needs a directory"
mkdir -p "$OUT" || bad_arg "--out $OUT: cannot create it"
OUT=$(cd "$OUT" && pwd)

# The cross architectures are the ones ci/cross-build.sh's arch_table knows: its case labels.
mapfile -t CROSS < <(sed -n '/^arch_table()/,/^}/p' ci/cross-build.sh |
    sed -n 's/^ *\([a-z0-9_]\+\)) .*/\1/p')
[ "${#CROSS[@]}" -gt 0 ] || { log "no architecture found in ci/cross-build.sh's arch_table"; exit 1; }
if [ "$(id -u)" != 0 ]; then
    echo "release: must run as root: ci/cross-build.sh builds ${CROSS[*]} in a chroot" >&2
    exit 2
fi

# The commit every binary names, taken once (cases/build.rs would ask git the same way):
# handed to the builds, so a commit made during a long release cannot split them.
COMMIT=$(git describe --always --dirty --abbrev=40 --exclude='*' 2>/dev/null || echo unknown)
[ "$COMMIT" = unknown ] || export URING_CONFORMANCE_COMMIT=$COMMIT
EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
START=$(date +%s)

# x86_64: the matrix's static build (same target dir and flags, so its cache is shared).
TARGET=x86_64-unknown-linux-gnu
log "building uring-conformance for x86_64 (static, $TARGET)"
RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --locked --release \
    --target "$TARGET" -p uring-conformance --bin uring-conformance
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
declare -A BIN=([x86_64]=$TARGET_DIR/$TARGET/release/uring-conformance)
VERSION=$("${BIN[x86_64]}" --version | sed -n '1s/^uring-conformance //p')
[ -n "$VERSION" ] || { log "the x86_64 binary printed no version"; exit 1; }
log "version $VERSION, commit $COMMIT"

for arch in "${CROSS[@]}"; do
    log "cross-building for $arch (ci/cross-build.sh)"
    BIN[$arch]=$(ci/cross-build.sh "$arch" | grep '/uring-conformance$')
done

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cd "$OUT"
rm -f SHA256SUMS
ARTIFACTS=()
for arch in x86_64 "${CROSS[@]}"; do
    bin=${BIN[$arch]}
    # Every binary must name the commit it was built from.
    if [ "$COMMIT" != unknown ] && ! grep -qaF "$COMMIT" "$bin"; then
        log "$bin does not carry commit $COMMIT"
        exit 1
    fi
    name=uring-conformance-$VERSION-$arch
    install -m 755 "$bin" "$name"
    dir=$STAGE/$arch/uring_conformance
    mkdir -p "$dir"
    install -m 755 "$bin" "$dir/uring-conformance"
    cat >"$dir/run.sh" <<'EOF'
#!/bin/sh
# The io_uring conformance suite as a kselftest test: KTAP v1 on stdout. Exit status as the
# suite's (0 pass, 101 a case failed, 3 a leak or kernel-log problem), except that 77 (io_uring
# is not usable here) is kselftest's skip, 4. Arguments go to the suite
# (uring-conformance --help), as does KSELFTEST_RUN_SH_ARGS from kselftest's runner.
cd "$(dirname "$0")" || exit 1
./uring-conformance --ktap "$@"
rc=$?
[ "$rc" -eq 77 ] && exit 4
exit "$rc"
EOF
    chmod 755 "$dir/run.sh"
    # The suite bounds each case (10 s) and runs them in parallel: a native run takes about
    # a second, two runs in a TCG guest 16-35 s; 300 s leaves room for slow boards.
    printf 'timeout=300\n' >"$dir/settings"
    tarball=$name-kselftest.tar.gz
    tar -C "$STAGE/$arch" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
        -cf - uring_conformance | gzip -n -9 >"$tarball"
    ARTIFACTS+=("$name" "$tarball")
    log "$arch: $name, $tarball"
done
sha256sum "${ARTIFACTS[@]}" >SHA256SUMS
log "done in $(($(date +%s) - START)) s: $OUT"
printf '%s\n' "$OUT/SHA256SUMS" "${ARTIFACTS[@]/#/$OUT/}"
