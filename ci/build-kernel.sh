#!/bin/bash
# Builds a small x86_64 kernel for the QEMU matrix from Debian's linux-source-X.Y package:
# `make tinyconfig` + fixtures/kernel-minimal.config + `make olddefconfig`, checked, then
# `make bzImage`. Then: ci/matrix.sh --kernel <the printed bzImage> --only-path
#
#   ci/build-kernel.sh [--version 7.2] [--suite sid] [--deb PATH] [--jobs N]
#
# Installs the build dependencies with apt-get when missing (as root), downloads
# linux-source-X.Y from the suite through the same private apt configuration the matrix uses
# (`ci/matrix.sh fetch-deb`: mirror from the machine's apt sources, hash checked against the
# signed index), and works under ci/cache/kernel/. Running it again reuses the .deb, the
# extracted tree and the built image when nothing changed. Manual: not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VERSION=7.2
SUITE=sid
DEB=
JOBS=$(nproc)
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --version) VERSION=${2:?--version needs a value}; shift 2 ;;
    --suite) SUITE=${2:?--suite needs a value}; shift 2 ;;
    --deb) DEB=$(realpath "${2:?--deb needs a path}"); shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build-kernel: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $VERSION =~ ^[0-9]+\.[0-9]+$ ]] || { echo "build-kernel: --version wants X.Y, not $VERSION" >&2; exit 2; }

FRAGMENT=$ROOT/fixtures/kernel-minimal.config
WORK=$ROOT/ci/cache/kernel
SRC=$WORK/src-$VERSION       # the extracted tree
CFG=$WORK/config-$VERSION    # where the configuration is generated and checked
OUT=$WORK/build-$VERSION     # the build (make O=)
LOG=$WORK/build-$VERSION.log
MAKE=(make ARCH=x86_64)
START=$(date +%s)
say() { echo "[build-kernel] $*" >&2; }
elapsed() { echo "$(($(date +%s) - START)) s"; }
die() { say "ERROR: $*"; exit 1; }
mkdir -p "$WORK"

# 1. Build dependencies.
PKGS=(gcc make libc6-dev flex bison bc perl libelf-dev libssl-dev cpio xz-utils dpkg)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root to have them installed)"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q -y --no-install-recommends install "${missing[@]}" >/dev/null 2>&1 || {
        apt-get -q update >/dev/null
        apt-get -q -y --no-install-recommends install "${missing[@]}" >/dev/null
    } || die "apt-get install ${missing[*]} failed"
fi

# 2. The source package.
if [ -z "$DEB" ]; then
    command -v cargo >/dev/null || die "cargo is needed to fetch the package (or pass --deb PATH)"
    say "linux-source-$VERSION from $SUITE"
    DEB=$(cargo run --quiet --release -p uring-matrix --bin uring-matrix -- \
        fetch-deb "$SUITE" "linux-source-$VERSION" "$WORK/debs") || die "download failed"
fi
[ -f "$DEB" ] || die "no such .deb: $DEB"
DEB_SHA=$(sha256sum "$DEB" | cut -d' ' -f1)
DEB_VERSION=$(dpkg-deb -f "$DEB" Version)
say "$(basename "$DEB") ($(elapsed))"

# 3. The tree, extracted once per .deb.
if [ "$(cat "$SRC/.deb.sha256" 2>/dev/null)" != "$DEB_SHA" ]; then
    member=$(dpkg-deb -c "$DEB" | awk '{print $6}' | grep -E "^\./usr/src/linux-source-$VERSION\.tar\.xz$") ||
        die "$DEB holds no usr/src/linux-source-$VERSION.tar.xz"
    say "extracting $member"
    rm -rf "$SRC" "$SRC.part" "$OUT" "$CFG"
    mkdir -p "$SRC.part"
    dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - "$member" |
        tar -xJf - -C "$SRC.part" --strip-components=1
    echo "$DEB_SHA" >"$SRC.part/.deb.sha256"
    mv "$SRC.part" "$SRC"
    say "extracted ($(elapsed))"
fi

# 4. The configuration: tinyconfig + fragment + olddefconfig, generated apart from the build
#    so that an unchanged configuration leaves the build untouched.
rm -rf "$CFG"
mkdir -p "$CFG"
{
    "${MAKE[@]}" -C "$SRC" O="$CFG" tinyconfig
    "$SRC/scripts/kconfig/merge_config.sh" -m -O "$CFG" "$CFG/.config" "$FRAGMENT"
    "${MAKE[@]}" -C "$SRC" O="$CFG" olddefconfig
} >"$CFG/config.log" 2>&1 || { tail -20 "$CFG/config.log" >&2; die "configuration failed (log: $CFG/config.log)"; }
bad=0
while IFS= read -r line; do
    if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
        opt=${BASH_REMATCH[1]}
        grep -qxF -- "$line" "$CFG/.config" && continue
    elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        opt=${BASH_REMATCH[1]}
        grep -q "^$opt=" "$CFG/.config" || continue
    else
        continue
    fi
    got=$(grep -E "^$opt=|^# $opt is not set" "$CFG/.config" || echo "absent (unknown to this kernel, or its dependencies are off)")
    say "NOT SET: wanted '$line', .config has: $got"
    bad=1
done <"$FRAGMENT"
[ $bad = 0 ] || die "the configuration lacks options of $(basename "$FRAGMENT") (see above)"
say "configuration checked: every option of $(basename "$FRAGMENT") is set ($(elapsed))"

# 5. The build, skipped when the image was built from this tree, configuration and compiler.
IMAGE=$OUT/arch/x86/boot/bzImage
STAMP="$DEB_SHA $(gcc -dumpfullversion) $(sha256sum <"$CFG/.config" | cut -d' ' -f1)"
if [ -f "$IMAGE" ] && [ "$(cat "$OUT/.uring-built" 2>/dev/null)" = "$STAMP" ]; then
    say "up to date: nothing to build"
else
    mkdir -p "$OUT"
    rm -f "$OUT/.uring-built"
    cmp -s "$CFG/.config" "$OUT/.config" || cp "$CFG/.config" "$OUT/.config"
    say "make -j$JOBS bzImage (linux $DEB_VERSION; log: $LOG)"
    "${MAKE[@]}" -C "$SRC" O="$OUT" olddefconfig >"$LOG" 2>&1 &&
        "${MAKE[@]}" -C "$SRC" O="$OUT" -j"$JOBS" bzImage >>"$LOG" 2>&1 ||
        { tail -30 "$LOG" >&2; die "build failed (log: $LOG)"; }
    echo "$STAMP" >"$OUT/.uring-built"
fi
say "done in $(elapsed)"
echo "$IMAGE"
say "next: ci/matrix.sh --kernel ${IMAGE#"$ROOT"/} --only-path"
