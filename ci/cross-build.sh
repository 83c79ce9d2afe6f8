#!/bin/bash
# Cross-builds the static suite (uring-conformance) and guest-init for another architecture
# with Debian's own toolchain: sid's rustc/cargo with libstd-rust-dev:DEBARCH and
# gcc-TRIPLE, in a debootstrap'd sid chroot (the host's Debian 12 has neither). Prints the
# two binaries' paths on stdout (progress goes to stderr).
#
#   ci/cross-build.sh ARCH        (as root: it makes and enters the chroot)
#
#   ARCH   aarch64, powerpc64le or s390x (a new one is a line in arch_table).
#
# Cache: ${URING_CACHE:-/var/cache/uring-conformance}/cross/ (outside the checkout, like the
# kernels): sid/ is the chroot (made once: debootstrap --variant=minbase sid, then the
# architecture's packages; a stamp per architecture marks a finished install, so an
# interrupted one is redone), sid/build/ holds cargo's home and one target dir per
# architecture and checkout, so a second run only rebuilds what changed. The checkout is bind-mounted
# read-only at /src inside a private mount namespace, so nothing is written into it and no
# mount outlives the script.
# Exit status: 0 built, 1 a step failed, 2 bad arguments or not root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
bad_arg() { echo "cross-build: $* (see --help)" >&2; exit 2; }

# arch_table ARCH: prints "RUST_TARGET DEBIAN_ARCH GNU_TRIPLE" for a supported ARCH.
arch_table() {
    case "$1" in
    aarch64) echo "aarch64-unknown-linux-gnu arm64 aarch64-linux-gnu" ;;
    powerpc64le) echo "powerpc64le-unknown-linux-gnu ppc64el powerpc64le-linux-gnu" ;;
    s390x) echo "s390x-unknown-linux-gnu s390x s390x-linux-gnu" ;;
    *) return 1 ;;
    esac
}

KNOWN="aarch64, powerpc64le, s390x"
[ $# -ge 1 ] || bad_arg "needs an architecture ($KNOWN)"
case "$1" in -h | --help) usage; exit 0 ;; esac
[ $# -eq 1 ] || bad_arg "one architecture only, got: $*"
ARCH=$1
read -r TARGET DEBARCH TRIPLE < <(arch_table "$ARCH") ||
    bad_arg "unknown architecture '$ARCH' (known: $KNOWN)"
[ "$(id -u)" = 0 ] || { echo "cross-build: must run as root (debootstrap, chroot)" >&2; exit 2; }

CACHE=${URING_CACHE:-/var/cache/uring-conformance}
CHROOT=$CACHE/cross/sid
mkdir -p "$CACHE/cross"
log() { echo "cross-build: $*" >&2; }

# One cross-build at a time per cache: the chroot and its target dirs are shared.
exec 9>"$CACHE/cross/lock"
flock 9

APT_OPTS=(-o Acquire::Check-Valid-Until=false -o DPkg::Lock::Timeout=600 -q -y)

if [ ! -e "$CHROOT/.uring-base-done" ]; then
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        apt-get "${APT_OPTS[@]}" install --no-install-recommends debootstrap >&2
    fi
    log "debootstrap --variant=minbase sid (once)"
    rm -rf "$CHROOT"
    debootstrap --variant=minbase sid "$CHROOT" http://deb.debian.org/debian >&2
    touch "$CHROOT/.uring-base-done"
fi

# The host's CA certificates (including local ones) and resolver, so apt and cargo inside
# reach the same hosts as the host does (cargo failed with SSL error 60 without them).
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
mkdir -p "$CHROOT/usr/local/share/ca-certificates"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
    cp -r /usr/local/share/ca-certificates/. "$CHROOT/usr/local/share/ca-certificates/"
fi

if [ ! -e "$CHROOT/.uring-$DEBARCH-done" ]; then
    log "installing rustc, cargo, libstd-rust-dev:$DEBARCH, gcc-$TRIPLE (once per arch)"
    chroot "$CHROOT" dpkg --add-architecture "$DEBARCH"
    chroot "$CHROOT" apt-get "${APT_OPTS[@]}" update >&2
    chroot "$CHROOT" apt-get "${APT_OPTS[@]}" install --no-install-recommends \
        rustc cargo "libstd-rust-dev:$DEBARCH" "gcc-$TRIPLE" "libc6-dev-$DEBARCH-cross" \
        ca-certificates >&2
    touch "$CHROOT/.uring-$DEBARCH-done"
fi
chroot "$CHROOT" update-ca-certificates >/dev/null 2>&1

# One target dir per architecture and checkout: every checkout is /src inside, and cargo
# judges a path crate fresh by mtimes, so a second checkout sharing the dir got the first
# one's objects for its older files (a release build failed on a struct field its own
# checkout has).
TARGET_DIR=target-$ARCH-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
mkdir -p "$CHROOT/src" "$CHROOT/build/cargo-home" "$CHROOT/build/$TARGET_DIR"
LINKER_VAR=CARGO_TARGET_$(echo "$TARGET" | tr 'a-z-' 'A-Z_')_LINKER
# The chroot has no git (and the checkout's .git may be outside it): the suite's build script
# takes the commit that --version and the reports name from here (empty: it says unknown).
COMMIT=${URING_CONFORMANCE_COMMIT:-$(git -C "$ROOT" describe --always --dirty --abbrev=40 \
    --exclude='*' 2>/dev/null || true)}
START=$(date +%s)
log "building uring-conformance and guest-init for $TARGET"
# A private mount namespace: the bind mounts vanish with it, on every exit path.
# shellcheck disable=SC2016 # the inner script expands its own arguments
unshare --mount --propagation private /bin/bash -euo pipefail -c '
    chroot_dir=$1 root=$2; shift 2
    mount --bind "$root" "$chroot_dir/src"
    mount -o remount,bind,ro "$chroot_dir/src"
    mount -t proc proc "$chroot_dir/proc"
    mount --bind /dev "$chroot_dir/dev"
    exec chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root "$@"
' _ "$CHROOT" "$ROOT" \
    CARGO_HOME=/build/cargo-home CARGO_TARGET_DIR="/build/$TARGET_DIR" \
    "$LINKER_VAR=$TRIPLE-gcc" RUSTFLAGS='-C target-feature=+crt-static' \
    URING_CONFORMANCE_COMMIT="$COMMIT" \
    /bin/sh -c 'cd /src && cargo build --locked --release --target '"$TARGET"' \
        -p uring-conformance --bin uring-conformance -p uring-guest-init --bin guest-init' >&2
log "built in $(($(date +%s) - START)) s"

OUT=$CHROOT/build/$TARGET_DIR/$TARGET/release
for bin in uring-conformance guest-init; do
    [ -x "$OUT/$bin" ] || { log "no $bin in $OUT"; exit 1; }
    printf '%s\n' "$OUT/$bin"
done
