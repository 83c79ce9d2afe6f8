#!/bin/bash
# Runs the suite's LAVA job (lab/lava/qemu-x86_64.yaml, test lab/lava/uring-conformance.yaml)
# with a real LAVA dispatcher on this machine, and checks that the results LAVA recorded equal
# the suite's JSON report of the same run, case by case (ci/lava-check.py).
#
#   ci/lava.sh [--kernel VMLINUZ] [--binary PATH] [--suite-args ARGS] [--kvm] [--keep DIR]
#
#   --kernel VMLINUZ  the kernel to boot (default: the matrix's Debian 7.2 cloud kernel from
#                     the cache, downloaded as the matrix does when missing)
#   --binary PATH     the static uring-conformance to put in the ramdisk (default: built with
#                     cargo as the matrix builds it, x86_64 with crt-static)
#   --suite-args ARGS more suite options for the definition's SUITE_ARGS (e.g. --strict)
#   --kvm             run the guests under KVM (default TCG: nested KVM hangs guests here)
#   --keep DIR        keep the job, the device and LAVA's log in DIR
#
# Steps: installs Debian's lava-dispatcher (and qemu-system-x86) with apt when missing; renders
# the device dictionary lab/lava/qemu-device.jinja2 with the device-type templates of
# Debian's lava-server package (downloaded, only its templates unpacked); gives libguestfs
# (which LAVA builds the QEMU test overlay disk with) a kernel when the host has none in
# /boot (Debian's cloud kernel package, unpacked, via SUPERMIN_KERNEL); builds the ramdisk
# (busybox-static from Debian, lab/lava/init, the suite) cached by content; fills the job's
# placeholders (the test definition comes from this repository's HEAD: commit lab/lava/ before
# running); runs `lava-run`; compares. Cache: ${URING_CACHE:-/var/cache/uring-conformance}/lava.
# Exit status: 0 LAVA's results equal the report, 1 they differ or the job failed, 2 bad
# arguments or a setup step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${URING_CACHE:-/var/cache/uring-conformance}
LAVA=$CACHE/lava
PY=/usr/bin/python3 # Debian's, which has lava-dispatcher's modules
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in ci/ (lab_report.py is imported)
START=$(date +%s)
say() { echo "lava: $* ($(($(date +%s) - START)) s)" >&2; }
die() { echo "lava: $*" >&2; exit 2; }

KERNEL=
BIN=
KEEP=
KVM=false
SUITE_ARGS=
while [ $# -gt 0 ]; do
    case "$1" in
    --kvm) KVM=true; shift ;;
    --suite-args) [ $# -ge 2 ] || die "--suite-args needs a value"; SUITE_ARGS=$2; shift 2 ;;
    --kernel) [ $# -ge 2 ] || die "--kernel needs a path"; KERNEL=$(realpath -- "$2"); shift 2 ;;
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; BIN=$(realpath -- "$2"); shift 2 ;;
    --keep) [ $# -ge 2 ] || die "--keep needs a directory"; KEEP=$2; shift 2 ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[ -z "$KERNEL" ] || [ -f "$KERNEL" ] || die "--kernel $KERNEL: no such file"
[ -z "$BIN" ] || [ -x "$BIN" ] || die "--binary $BIN: not an executable"
if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP" || die "--keep $KEEP: cannot create it"
    work=$(realpath "$KEEP")
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$LAVA/debs"

# 1. The dispatcher and QEMU.
missing=()
command -v lava-run >/dev/null || missing+=(lava-dispatcher)
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
fi
say "$(dpkg-query -W -f '${Package} ${Version}' lava-dispatcher), $(qemu-system-x86_64 --version | head -n1)"

# A Debian package's .deb in the cache (apt-get download, as the machine's apt knows it).
deb() {
    local f
    f=$(find "$LAVA/debs" -maxdepth 1 -name "$1_*.deb" | sort -V | tail -n1)
    if [ -z "$f" ]; then
        say "downloading $1"
        (cd "$LAVA/debs" && apt-get download -q "$1" >/dev/null 2>&1) || die "apt-get download $1 failed"
        f=$(find "$LAVA/debs" -maxdepth 1 -name "$1_*.deb" | sort -V | tail -n1)
    fi
    echo "$f"
}

# 2. The device-type templates of lava-server (of the dispatcher's version).
server_deb=$(deb lava-server)
types=$LAVA/lava-server-$(dpkg-deb -f "$server_deb" Version)
if [ ! -f "$types/qemu.jinja2" ]; then
    rm -rf "$types.part" && mkdir -p "$types.part"
    dpkg-deb --fsys-tarfile "$server_deb" | tar -xf - -C "$types.part" --strip-components=5 \
        --wildcards './usr/share/lava-server/device-types/*.jinja2'
    mv "$types.part" "$types"
fi

# libguestfs boots an appliance on the host's kernel; a host without one in /boot (a VM
# booted from outside) gets Debian's cloud kernel package, unpacked, with its modules.dep.
if ! compgen -G '/boot/vmlinuz-*' >/dev/null; then
    kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$kpkg" ] || die "apt knows no linux-image-cloud-amd64 (for libguestfs's appliance)"
    kver=${kpkg#linux-image-}
    appliance=$LAVA/appliance-$kver
    if [ ! -f "$appliance/lib/modules/$kver/modules.dep" ]; then
        adeb=$(deb "$kpkg")
        say "unpacking $(basename "$adeb") for libguestfs's appliance"
        rm -rf "$appliance" && dpkg-deb -x "$adeb" "$appliance"
        /sbin/depmod -b "$appliance" "$kver" || die "depmod for $appliance failed"
    fi
    export SUPERMIN_KERNEL=$appliance/boot/vmlinuz-$kver SUPERMIN_KERNEL_VERSION=$kver \
        SUPERMIN_MODULES=$appliance/lib/modules/$kver
fi
[ "$KVM" = true ] || export LIBGUESTFS_BACKEND_SETTINGS=force_tcg

# 3. The kernel.
if [ -z "$KERNEL" ]; then
    KERNEL=$(find "$CACHE/kernels" -maxdepth 2 -path '*7.2*-cloud-amd64_*/vmlinuz' 2>/dev/null | sort -V | tail -n1)
    if [ -z "$KERNEL" ]; then
        pkg=$(awk '$1 == "7.2" {print $2}' fixtures/kernels.lock)
        say "downloading $pkg (the matrix's 7.2 kernel)"
        kdeb=$(cargo run --quiet --release -p uring-matrix --bin uring-matrix -- fetch-deb sid "$pkg" "$LAVA/debs") ||
            die "the kernel package $pkg could not be downloaded"
        mkdir -p "$LAVA/kernel"
        dpkg-deb --fsys-tarfile "$kdeb" | tar -xOf - --wildcards './usr/lib/modules/*/vmlinuz*' './boot/vmlinuz-*' \
            >"$LAVA/kernel/vmlinuz" 2>/dev/null || true
        [ -s "$LAVA/kernel/vmlinuz" ] || die "no vmlinuz in $kdeb"
        KERNEL=$LAVA/kernel/vmlinuz
    fi
fi
say "kernel $KERNEL"

# 4. The static suite and the ramdisk (busybox-static, lab/lava/init, the suite).
if [ -z "$BIN" ]; then
    say "building the static uring-conformance (x86_64, crt-static)"
    RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --target x86_64-unknown-linux-gnu \
        -p uring-conformance --bin uring-conformance || die "cargo build failed"
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/x86_64-unknown-linux-gnu/release/uring-conformance
fi
file -L "$BIN" | grep -q 'statically linked\|static-pie' || die "$BIN is not statically linked"
busybox_deb=$(deb busybox-static)
key=$(cat "$busybox_deb" lab/lava/init "$BIN" | sha256sum | cut -c1-16)
RAMDISK=$LAVA/ramdisk-$key.cpio.gz
if [ ! -f "$RAMDISK" ]; then
    say "building the ramdisk ($(basename "$busybox_deb"), the suite)"
    r=$work/ramdisk
    rm -rf "$r" && mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc}
    dpkg-deb --fsys-tarfile "$busybox_deb" | tar -xOf - ./bin/busybox >"$r/bin/busybox"
    chmod 755 "$r/bin/busybox"
    for applet in $("$r/bin/busybox" --list-full); do
        [ -e "$r/$applet" ] || ln -s /bin/busybox "$r/$applet"
    done
    install -m 755 lab/lava/init "$r/init"
    install -m 755 "$BIN" "$r/usr/bin/uring-conformance"
    echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
    echo "root:x:0:" >"$r/etc/group"
    (cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$RAMDISK.part"
    mv "$RAMDISK.part" "$RAMDISK"
    rm -rf "$r"
    find "$LAVA" -maxdepth 1 -name 'ramdisk-*.cpio.gz' ! -newer "$RAMDISK" ! -name "$(basename "$RAMDISK")" -delete
fi
say "ramdisk $RAMDISK ($(du -h "$RAMDISK" | cut -f1))"

# 5. The job: the template with its placeholders filled. The definition comes from HEAD.
revision=$(git rev-parse HEAD)
if ! git diff --quiet HEAD -- lab/lava; then
    say "note: lab/lava/ has uncommitted changes; the job tests the definition at HEAD ($revision)"
fi
sed -e "s|@KERNEL_NAME@|$(basename "$(dirname "$KERNEL")")|" -e "s|@KERNEL_URL@|file://$KERNEL|" \
    -e "s|@RAMDISK_URL@|file://$RAMDISK|" -e "s|@REPOSITORY@|$ROOT|" -e "s|@REVISION@|$revision|" \
    -e "s|@PRINT_JSON@|true|" -e "s|@SUITE_ARGS@|$SUITE_ARGS|" lab/lava/qemu-x86_64.yaml >"$work/job.yaml"
# The device: lab/lava/qemu-device.jinja2 rendered with lava-server's device-type templates
# and the job's context (arch, memory, ...), as a LAVA server renders it for a job.
"$PY" - "$types" "$ROOT/lab/lava" "$work/job.yaml" "$KVM" >"$work/device.yaml" <<'PY'
import sys, jinja2, yaml
types, lab, job, kvm = sys.argv[1:]
env = jinja2.Environment(loader=jinja2.FileSystemLoader([types, lab]), autoescape=False,
                         trim_blocks=True)
with open(job) as f:
    context = yaml.safe_load(f).get("context", {})
text = env.get_template("qemu-device.jinja2").render(kvm=kvm == "true", **context)
yaml.safe_load(text)  # a device the dispatcher can read
print(text)
PY

# 6. lava-run, then the comparison.
say "lava-run: deploy, boot, test (LAVA's log: $work/lava.log)"
rm -rf "$work/out"
status=0
lava-run --job-id 1 --output-dir "$work/out" --device "$work/device.yaml" "$work/job.yaml" \
    >"$work/lava-run.out" 2>"$work/lava.log" || status=$?
say "lava-run exited $status"
status=0
"$PY" ci/lava-check.py "$work/lava.log" || status=$?
say "done"
exit "$status"
