#!/bin/bash
# Builds a small kernel for the QEMU matrix from Debian's linux-source-X.Y package:
# `make tinyconfig` + a named fragment fixtures/kernel-configs/NAME.config + `make
# olddefconfig`, checked (every option of the fragment must be in .config as written), then
# `make bzImage` (x86_64) or `make Image` (arm64). Prints the image's path on stdout
# (progress goes to stderr). A fragment line `# uring-arch: arm64` makes it a cross build
# (ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-, Debian's gcc-aarch64-linux-gnu); without
# one the kernel is x86_64.
#
#   ci/build-kernel.sh [--config NAME] [--version 7.2] [--suite sid] [--deb PATH]
#                      [--fetch] [--jobs N] [--arch ARCH] [--list]
#
#   --config NAME  fixtures/kernel-configs/NAME.config (default minimal): tiny, minimal,
#                  faultinject, ... (--list shows them). A fragment line `# uring-base: OTHER`
#                  applies OTHER.config first (faultinject is minimal + fault injection);
#                  arm64-64k is an arm64 kernel with 64 KiB pages.
#   --version X.Y  the linux-source-X.Y package (default 7.2).
#   --arch ARCH    the Debian architecture (amd64, arm64) the fragment must be for: the
#                  matrix passes its manifest line's arch= (exit 2 when they differ).
#   --deb PATH     use this linux-source .deb; otherwise the newest one in the cache's debs/,
#                  else (or with --fetch) the suite's candidate (default sid), downloaded
#                  through the matrix's private apt configuration (`ci/matrix.sh fetch-deb`:
#                  mirror from the machine's apt sources, hash checked against the signed
#                  index).
#
# Cache: ${URING_CACHE:-/var/cache/uring-conformance} (outside the checkout, so a fresh clone
# is warm; falls back to ci/cache/ when that is not writable): debs/ (the .deb), kernel/src-V/
# (one extracted tree per package version, shared by the configs), kernel/build-V-NAME/ (one
# `make O=` dir per config, so a changed fragment rebuilds incrementally) and
# kernel/images/NAME-V-KEY/{bzImage or Image,config,origin} where KEY hashes the resolved fragment,
# the package's version and sha256 and the gcc version: a rerun with the same key prints the
# cached image at once. Installs the build dependencies with apt-get when missing (as root).
# Exit status: 0 built or cached, 1 a step failed, 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CONFIG=minimal
VERSION=7.2
SUITE=sid
DEB=
WANT_ARCH=
FETCH=0
LIST=0
JOBS=$(nproc)
RECIPE=2 # bump when the steps below change what a given key builds
usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; }
bad_arg() { echo "build-kernel: $* (see --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --config) [ $# -ge 2 ] || bad_arg "--config needs a name"; CONFIG=$2; shift 2 ;;
    --config=*) CONFIG=${1#*=}; shift ;;
    --version) [ $# -ge 2 ] || bad_arg "--version needs a value"; VERSION=$2; shift 2 ;;
    --suite) [ $# -ge 2 ] || bad_arg "--suite needs a value"; SUITE=$2; shift 2 ;;
    --deb) [ $# -ge 2 ] || bad_arg "--deb needs a path"; DEB=$(realpath -- "$2"); shift 2 ;;
    --arch) [ $# -ge 2 ] || bad_arg "--arch needs a value"; WANT_ARCH=$2; shift 2 ;;
    --arch=*) WANT_ARCH=${1#*=}; shift ;;
    --jobs) [ $# -ge 2 ] || bad_arg "--jobs needs a value"; JOBS=$2; shift 2 ;;
    --fetch) FETCH=1; shift ;;
    --list) LIST=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) bad_arg "unknown argument $1" ;;
    esac
done
CONFIGS=$ROOT/fixtures/kernel-configs
if [ $LIST = 1 ]; then
    for f in "$CONFIGS"/*.config; do basename "$f" .config; done
    exit 0
fi
[[ $VERSION =~ ^[0-9]+\.[0-9]+$ ]] || bad_arg "--version wants X.Y, not '$VERSION'"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || bad_arg "--jobs wants a positive number, not '$JOBS'"
[[ $CONFIG =~ ^[a-z0-9][a-z0-9_-]*$ ]] || bad_arg "--config wants a name like tiny (lower case, digits, - and _), not '$CONFIG'"
[ -f "$CONFIGS/$CONFIG.config" ] ||
    bad_arg "no fragment fixtures/kernel-configs/$CONFIG.config (have: $(cd "$CONFIGS" && ls -- *.config | sed 's/\.config$//' | tr '\n' ' '))"
[ -z "$DEB" ] || [ -f "$DEB" ] || bad_arg "--deb: no such file"

START=$(date +%s)
say() { echo "[build-kernel] $CONFIG: $*" >&2; }
elapsed() { echo "$(($(date +%s) - START)) s"; }
die() { say "ERROR: $*"; exit 1; }

# Runs "$@" in the background and prints a progress line every 30 s until it ends; LOG, when
# set, is a make log whose compile lines are counted (out of TOTAL, when known).
with_progress() {
    local what=$1 t0 pid n
    shift
    t0=$(date +%s)
    "$@" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null && sleep 1; done
        kill -0 "$pid" 2>/dev/null || break
        n=
        [ -z "${LOG:-}" ] || n=", $(grep -c '^  CC ' "$LOG" 2>/dev/null || true)${TOTAL:+ of about $TOTAL} files compiled"
        say "$what: $(($(date +%s) - t0)) s so far$n"
    done
    wait "$pid"
}

# The fragment chain: each `# uring-base: NAME` first, then the fragment itself.
FRAGMENTS=()
resolve() {
    local name=$1 depth=$2 base
    [ "$depth" -lt 8 ] || die "fragment bases nest too deep (a cycle?) at $name"
    [ -f "$CONFIGS/$name.config" ] || die "$name.config names a missing base"
    for base in $(sed -n 's/^# uring-base: *\([a-z0-9_-]*\) *$/\1/p' "$CONFIGS/$name.config"); do
        resolve "$base" $((depth + 1))
    done
    FRAGMENTS+=("$CONFIGS/$name.config")
}
resolve "$CONFIG" 0

# The architecture: the last `# uring-arch:` line of the chain (x86_64 when none).
KARCH=$(sed -n 's/^# uring-arch: *\([a-z0-9_]*\) *$/\1/p' "${FRAGMENTS[@]}" | tail -1)
case ${KARCH:-x86_64} in
x86_64) KARCH=x86_64 CROSS='' TARGET=bzImage BUILT=arch/x86/boot/bzImage CROSS_PKGS=() ;;
arm64) CROSS=aarch64-linux-gnu- TARGET=Image BUILT=arch/arm64/boot/Image CROSS_PKGS=(gcc-aarch64-linux-gnu) ;;
*) die "$CONFIG.config: '# uring-arch: $KARCH' is not one this script builds (x86_64, arm64)" ;;
esac
DEB_ARCH=$([ "$KARCH" = x86_64 ] && echo amd64 || echo "$KARCH")
[ -z "$WANT_ARCH" ] || [ "$WANT_ARCH" = "$DEB_ARCH" ] ||
    bad_arg "--arch $WANT_ARCH, but $CONFIG.config builds an $DEB_ARCH kernel (its '# uring-arch:' line)"

# The cache root, outside the checkout.
CACHE=${URING_CACHE:-/var/cache/uring-conformance}
if ! mkdir -p "$CACHE/kernel" 2>/dev/null || [ ! -w "$CACHE/kernel" ]; then
    [ -z "${URING_CACHE:-}" ] || die "URING_CACHE=$URING_CACHE is not writable"
    say "$CACHE is not writable: using ci/cache/ (set URING_CACHE to choose)"
    CACHE=$ROOT/ci/cache
    mkdir -p "$CACHE/kernel"
fi
export URING_CACHE=$CACHE
KDIR=$CACHE/kernel
# 1. Build dependencies.
PKGS=(gcc make libc6-dev flex bison bc perl libelf-dev libssl-dev cpio xz-utils dpkg "${CROSS_PKGS[@]}")
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root to have them installed)"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The matrix may be installing QEMU at the same time: wait for dpkg's lock.
    apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install "${missing[@]}" >/dev/null 2>&1 || {
        apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null
        apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install "${missing[@]}" >/dev/null
    } || die "apt-get install ${missing[*]} failed"
fi

# 2. The source package: --deb, else the newest cached one, else (or --fetch) download.
if [ -z "$DEB" ] && [ $FETCH = 0 ]; then
    # (No debs/ yet in an empty cache: find fails, and pipefail must not end the script.)
    DEB=$(find "$CACHE/debs" -maxdepth 1 -name "linux-source-${VERSION}_*_all.deb" 2>/dev/null | sort -V | tail -1 || true)
    [ -z "$DEB" ] || say "using the cached $(basename "$DEB") (--fetch asks $SUITE for a newer one)"
fi
if [ -z "$DEB" ]; then
    command -v cargo >/dev/null || die "cargo is needed to fetch the package (or pass --deb PATH)"
    say "downloading linux-source-$VERSION from $SUITE"
    DEB=$(cargo run --quiet --release -p uring-matrix --bin uring-matrix -- \
        fetch-deb "$SUITE" "linux-source-$VERSION" "$CACHE/debs") || die "download failed"
fi
DEB_VERSION=$(dpkg-deb -f "$DEB" Version)
DEB_SHA=$(sha256sum "$DEB" | cut -d' ' -f1)
V=${DEB_VERSION//[:\/]/_}
GCC=$("${CROSS}gcc" -dumpfullversion)
KEY=$(
    {
        echo "recipe $RECIPE"
        # (Only for cross builds, so that the x86_64 images keep their keys.)
        [ "$KARCH" = x86_64 ] || echo "arch $KARCH ${CROSS}gcc"
        echo "source linux-source-$VERSION $DEB_VERSION $DEB_SHA"
        echo "gcc $GCC"
        for f in "${FRAGMENTS[@]}"; do echo "fragment $(basename "$f")"; cat "$f"; done
    } | sha256sum | cut -c1-16
)
IMGDIR=$KDIR/images/$CONFIG-$V-$KEY
cached() {
    [ -f "$IMGDIR/$TARGET" ] && [ -f "$IMGDIR/config" ] || return 1
    say "cached: $CONFIG for linux $DEB_VERSION, ${CROSS}gcc $GCC (key $KEY)"
    echo "$IMGDIR/$TARGET"
}
cached && exit 0
# One build at a time per cache (they share the tree and 2 cores); a cached image, above,
# needs no lock, so it never waits behind another configuration's build.
exec 9>"$KDIR/.lock"
flock -n 9 || { say "waiting for another build-kernel.sh on $KDIR"; flock 9; }
cached && exit 0 # (built by the one we waited for)
say "building $CONFIG ($(for f in "${FRAGMENTS[@]}"; do basename "$f"; done | paste -sd+)) for linux $DEB_VERSION, ${CROSS}gcc $GCC (key $KEY)"

# 3. The tree, extracted once per package version.
SRC=$KDIR/src-$V
if [ "$(cat "$SRC/.deb.sha256" 2>/dev/null)" != "$DEB_SHA" ]; then
    member=$(dpkg-deb -c "$DEB" | awk '{print $6}' | grep -E "^\./usr/src/linux-source-$VERSION\.tar\.xz$") ||
        die "$DEB holds no usr/src/linux-source-$VERSION.tar.xz"
    say "extracting $member into $SRC"
    rm -rf "$SRC" "$SRC.part" "$KDIR/build-$V-"*
    mkdir -p "$SRC.part"
    extract() { dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - "$member" | tar -xJf - -C "$SRC.part" --strip-components=1; }
    LOG= with_progress "extracting" extract || die "extraction failed"
    echo "$DEB_SHA" >"$SRC.part/.deb.sha256"
    mv "$SRC.part" "$SRC"
    say "extracted ($(elapsed))"
fi

# 4. The configuration: tinyconfig + fragments + olddefconfig, generated apart from the
#    build dir so that an unchanged configuration leaves the build untouched.
MAKE=(make "ARCH=$KARCH")
[ -z "$CROSS" ] || MAKE+=("CROSS_COMPILE=$CROSS")
CFG=$KDIR/cfg-$CONFIG.tmp
rm -rf "$CFG"
mkdir -p "$CFG"
{
    "${MAKE[@]}" -C "$SRC" O="$CFG" tinyconfig
    "$SRC/scripts/kconfig/merge_config.sh" -m -O "$CFG" "$CFG/.config" "${FRAGMENTS[@]}"
    "${MAKE[@]}" -C "$SRC" O="$CFG" olddefconfig
} >"$CFG/config.log" 2>&1 || { tail -20 "$CFG/config.log" >&2; die "configuration failed (log: $CFG/config.log)"; }
# The last line naming an option wins (a fragment may override its base).
declare -A want=()
order=()
for f in "${FRAGMENTS[@]}"; do
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] || [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            opt=${BASH_REMATCH[1]}
            [ -n "${want[$opt]+x}" ] || order+=("$opt")
            want[$opt]=$line
        fi
    done <"$f"
done
bad=0
for opt in "${order[@]}"; do
    line=${want[$opt]}
    if [[ $line == "# "* ]]; then
        grep -q "^$opt=" "$CFG/.config" || continue
    else
        grep -qxF -- "$line" "$CFG/.config" && continue
    fi
    got=$(grep -E "^$opt=|^# $opt is not set" "$CFG/.config" || echo "absent (unknown to this kernel, or its dependencies are off)")
    say "NOT SET: wanted '$line', .config has: $got"
    bad=1
done
[ $bad = 0 ] || die "the configuration lacks options of $CONFIG.config or its bases (see above)"
say "configuration checked: all ${#order[@]} options of the fragments are as written ($(elapsed))"

# 5. The build, in this config's own make O= dir (incremental when the config changed).
OUT=$KDIR/build-$V-$CONFIG
LOG=$OUT.log
mkdir -p "$OUT"
cmp -s "$CFG/.config" "$OUT/.config" || cp "$CFG/.config" "$OUT/.config"
# The previous full build of this config tells how many files there are (a rough guide).
TOTAL=$(grep -c '^  CC ' "$OUT/.uring-last-total" 2>/dev/null || true)
[ "${TOTAL:-0}" -gt 0 ] || TOTAL=
say "make -j$JOBS $TARGET (log: $LOG)"
build() {
    "${MAKE[@]}" -C "$SRC" O="$OUT" olddefconfig >"$LOG" 2>&1 &&
        "${MAKE[@]}" -C "$SRC" O="$OUT" -j"$JOBS" $TARGET >>"$LOG" 2>&1
}
with_progress "make $TARGET" build || { tail -30 "$LOG" >&2; die "build failed (log: $LOG)"; }
# A log with more compile lines than the last is the better guide for the next build.
[ "$(grep -c '^  CC ' "$LOG" || true)" -lt "${TOTAL:-0}" ] || cp "$LOG" "$OUT/.uring-last-total"
cmp -s "$CFG/.config" "$OUT/.config" || die "make changed the checked configuration (see $OUT/.config)"

# 6. Into the content-keyed image directory.
rm -rf "$IMGDIR.part"
mkdir -p "$IMGDIR.part"
cp "$OUT/$BUILT" "$IMGDIR.part/$TARGET"
cp "$OUT/.config" "$IMGDIR.part/config"
cp "$LOG" "$IMGDIR.part/build.log"
printf '%s\n' "build:$CONFIG linux-source-$VERSION $DEB_VERSION ${CROSS}gcc $GCC key $KEY" >"$IMGDIR.part/origin"
rm -rf "$IMGDIR"
mv "$IMGDIR.part" "$IMGDIR"
rm -rf "$CFG"
say "done in $(elapsed): $(du -h "$IMGDIR/$TARGET" | cut -f1) image"
echo "$IMGDIR/$TARGET"
say "next: ci/matrix.sh$([ "$KARCH" = x86_64 ] || echo " --arch aarch64") --kernel $IMGDIR/$TARGET --only-path"
