#!/usr/bin/env bash
# Environments: runs the whole conformance suite where users run it (TMPDIR on FUSE, full,
# read-only or missing; rootless user namespaces; small memlock, file, process, file-size and
# address-space limits; a pids cgroup; kernel.io_uring_disabled; a seccomp filter; stdout
# closed early or full; ...) and checks that a correct kernel gets passes and honest skips
# there, nothing else.
#
#   ci/environments.sh [--only NAME,...] [--skips] [--list] [--help] [-- SUITE_ARGS...]
#
# Root only (it mounts, switches users, sets limits, cgroups and sysctls). The release suite
# binary is built once and copied, with ci/environments-helper.py, into a temporary directory
# uid nobody can read. Every environment runs it once with --report-json; it is green when
#   - the exit status is the one the environment expects (0, or 77 where io_uring is denied),
#   - the JSON report is there and whole (a run line, a summary whose counts match its case
#     lines) and counts no fail, broken or timeout,
#   - stdout and stderr show no panic,
#   - nothing was left behind: no new file in TMPDIR or the working directory, no process of
#     the run still alive.
# An environment this machine cannot make (no /dev/fuse, no unprivileged user namespaces, a
# kernel without kernel.io_uring_disabled, no pids cgroup controller) is "n/a" with the reason.
# Prints one line per environment (name, exit status, pass/skip/fail/broken/timeout, seconds,
# verdict) and, for every red one, why; then a summary line. --skips adds, per environment,
# its skipped rows that the plain run ("default") does not skip, counted by reason.
# SUITE_ARGS go to every run. ENVS_RUN_TIMEOUT (seconds, default 300) limits one run.
# Every mount, cgroup, process, sysctl and temporary directory is undone on every exit.
# Exit status: 0 every environment green or n/a; 1 otherwise; 2 bad arguments, not root, or
# the build or a tool install failed.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=ci/lib.sh
. ci/lib.sh

usage() { sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p;}' "$0"; }

# name|what it is, in run order. env_NAME below sets each one up.
ENVIRONMENTS=(
    "default|root, TMPDIR a fresh directory on the work directory's filesystem (the reference)"
    "fuse-tmpdir|TMPDIR on FUSE (bindfs over a directory)"
    "full-tmpdir|TMPDIR on a 64 KiB tmpfs filled to ENOSPC"
    "readonly-tmpdir|TMPDIR on a read-only tmpfs"
    "missing-tmpdir|TMPDIR names a path that does not exist"
    "file-tmpdir|TMPDIR names a regular file"
    "spaces-tmpdir|TMPDIR with spaces in its path"
    "overlay-tmpdir|TMPDIR on overlayfs (upper on tmpfs)"
    "tmpfs-tmpdir|TMPDIR on tmpfs"
    "userns-root|root in a new user namespace (unshare --user --map-root-user)"
    "userns-rootless|an ordinary uid in a user namespace mapping it to root (rootless podman)"
    "memlock-0|root with RLIMIT_MEMLOCK 0"
    "nobody-memlock|uid nobody with RLIMIT_MEMLOCK 64 KiB"
    "nobody-memlock-strict|uid nobody with RLIMIT_MEMLOCK 64 KiB, --strict"
    "nobody-threads-64|uid nobody with RLIMIT_MEMLOCK 1 MiB, --test-threads=64"
    "memlock-held|root while a process of uid nobody holds 1 MiB of registered buffers"
    "nofile-small|RLIMIT_NOFILE 8 (the suite starts with 5 open: spawning a child runs out)"
    "nproc-1|root with RLIMIT_NPROC 1 (its unprivileged children are bound by it)"
    "nproc-nobody|uid nobody with RLIMIT_NPROC 8"
    "nproc-nobody-1|uid nobody with RLIMIT_NPROC 1: not even the test pool's threads start"
    "fsize-small|RLIMIT_FSIZE 8 KiB"
    "pids-cgroup|in a pids cgroup with pids.max 9"
    "disabled-1|kernel.io_uring_disabled 1, no io_uring_group, as root"
    "disabled-1-group|kernel.io_uring_disabled 1, io_uring_group nogroup, as root"
    "disabled-1-nobody|kernel.io_uring_disabled 1, no io_uring_group, as nobody (exit 77)"
    "disabled-1-nobody-group|kernel.io_uring_disabled 1, io_uring_group nogroup, as nobody"
    "disabled-2|kernel.io_uring_disabled 2, as root (exit 77)"
    "disabled-2-group|kernel.io_uring_disabled 2, io_uring_group nogroup, as nobody (exit 77)"
    "seccomp|a seccomp filter answering EPERM to io_uring (Docker's default; exit 77)"
    "stdout-closed|stdout closed after the first line (| head -1)"
    "stdout-full|stdout on /dev/full"
    "vmem-small|RLIMIT_AS 256 MiB"
    "stack-small|RLIMIT_STACK 256 KiB"
    "one-cpu|pinned to one CPU (taskset)"
    "threads-1|--test-threads=1"
    "home-unset|no HOME and only PATH and TMPDIR in the environment"
    "ordinary-user|an ordinary uid (not nobody, not root), default limits"
    "two-at-once|two runs at the same time (two CI jobs on one machine), both checked"
)
env_names() { local e; for e in "${ENVIRONMENTS[@]}"; do echo "${e%%|*}"; done; }
in_list() { # WORD LIST...: whether WORD is one of LIST
    local w=$1 x
    shift
    for x in "$@"; do [ "$x" != "$w" ] || return 0; done
    return 1
}

only=()
suite_args=()
show_skips=0
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --list)
            for e in "${ENVIRONMENTS[@]}"; do printf '%-24s %s\n' "${e%%|*}" "${e#*|}"; done
            exit 0 ;;
        --skips) show_skips=1 ;;
        --only=*) IFS=, read -r -a only <<<"${1#--only=}" ;;
        --only)
            [ $# -ge 2 ] || { echo "environments: --only needs NAME,..." >&2; exit 2; }
            IFS=, read -r -a only <<<"$2"; shift ;;
        --) shift; suite_args=("$@"); break ;;
        *) echo "environments: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ ${#only[@]} -gt 0 ]; then
    for n in "${only[@]}"; do
        # shellcheck disable=SC2046
        if ! in_list "$n" $(env_names); then
            echo "environments: --only: unknown environment '$n' (--list names them)" >&2
            exit 2
        fi
    done
fi
limit=${ENVS_RUN_TIMEOUT:-300}
case $limit in
    '' | *[!0-9]* | 0) echo "environments: ENVS_RUN_TIMEOUT='$limit' is not a number of seconds > 0" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "environments: must run as root (mounts, users, limits, cgroups, sysctls)" >&2
    exit 2
fi

now_us() { echo "${EPOCHREALTIME/./}"; }
start_all=$(now_us)

NOBODY=65534
PY=/usr/bin/python3
# Tools from outside util-linux and coreutils: installed when missing (a fresh Debian 12).
missing_pkgs=()
[ -x "$PY" ] || missing_pkgs+=(python3)
command -v bindfs >/dev/null || missing_pkgs+=(bindfs)
if [ ${#missing_pkgs[@]} -gt 0 ]; then
    echo "environments: installing ${missing_pkgs[*]}" >&2
    if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        "${missing_pkgs[@]}"; } >&2; then
        echo "environments: could not install ${missing_pkgs[*]}" >&2
        exit 2
    fi
fi

# ---------------------------------------------------------------- cleanup on every exit
work=$(mktemp -d "${TMPDIR:-/tmp}/uring-envs.XXXXXX")
chmod 755 "$work"
bin=''         # the suite binary, once copied
mounts=()      # mount points, unmounted in reverse order
cgroups=()     # cgroup directories, removed in reverse order
helpers=()     # pids of processes we started that outlive one command
declare -A sysctl_saved=()

restore_sysctls() {
    local p
    for p in "${!sysctl_saved[@]}"; do
        echo "${sysctl_saved[$p]}" >"$p" || echo "environments: could not restore $p" >&2
    done
    sysctl_saved=()
}
set_sysctl() { # PATH VALUE
    [ -n "${sysctl_saved[$1]+x}" ] || sysctl_saved[$1]=$(<"$1")
    echo "$2" >"$1"
}
stop_pid() { # PID: TERM, then KILL after 2 s
    local i
    kill -TERM "$1" 2>/dev/null || return 0
    for i in $(seq 20); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}
undo_env() { # what one environment set up, newest first
    local i p
    restore_sysctls
    for ((i = ${#helpers[@]} - 1; i >= 0; i--)); do stop_pid "${helpers[i]}"; done
    helpers=()
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" ||
            echo "environments: could not unmount ${mounts[i]}" >&2
    done
    mounts=()
    for ((i = ${#cgroups[@]} - 1; i >= 0; i--)); do
        if [ -d "${cgroups[i]}" ]; then
            while read -r p; do kill -KILL "$p" 2>/dev/null || true; done 2>/dev/null <"${cgroups[i]}/cgroup.procs" || true
            rmdir "${cgroups[i]}" 2>/dev/null || { sleep 0.5; rmdir "${cgroups[i]}"; } ||
                echo "environments: could not remove cgroup ${cgroups[i]}" >&2
        fi
    done
    cgroups=()
}
# Processes still running our binary (a run's children left behind): printed, then killed.
kill_leftovers() {
    local p found=()
    [ -n "$bin" ] || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$bin" ] && found+=("${p#/proc/}")
    done
    [ ${#found[@]} -eq 0 ] && return 0
    echo "${found[*]}"
    for p in "${found[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

cleanup() {
    undo_env
    kill_leftovers >/dev/null
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the binary
echo "environments: building the release suite binary" >&2
built=$(build_executable environments bin uring-conformance "$work" build --release -p uring-conformance)
mkdir -m 755 "$work/bin"
bin=$work/bin/uring-conformance
helper=$work/bin/environments-helper.py
install -m 755 "$built" "$bin"
install -m 755 ci/environments-helper.py "$helper"

# An ordinary uid: no passwd entry and no process, so nothing else shares its limits.
ordinary_uid=
uids_in_use=$(ps -e -o uid=)
for u in $(seq 20000 20999); do
    getent passwd "$u" >/dev/null && continue
    if ! grep -qx " *$u" <<<"$uids_in_use"; then ordinary_uid=$u; break; fi
done

# ---------------------------------------------------------------- the environments
# env_NAME sets, for the run: who (root, nobody, ordinary), limits (prlimit options), tmpdir,
# args (suite arguments), expect (the exit status), wrap (a command prefix run as `who`),
# outer (a prefix run as root), outmode (file, closed, full), home (0: no HOME), companion
# (the pid of a second run started beside it, in $d/second, checked the same way); na (why
# the environment cannot be made here) and setup_error. It may mount, start helpers and set
# sysctls through the functions above; undo_env undoes them after the run.

# A fresh directory like /tmp (sticky, world-writable).
fresh_tmp() { mkdir -p "$1" && chmod 1777 "$1"; }
mount_tmpfs() { # DIR OPTIONS
    mkdir -p "$1"
    mount -t tmpfs -o "$2" uring-envs "$1" && mounts+=("$1")
}

env_default() { :; }
env_fuse-tmpdir() {
    if [ ! -c /dev/fuse ]; then na="no /dev/fuse"; return; fi
    fresh_tmp "$d/fuse-backing"
    mkdir -p "$tmpdir"
    # allow_other: the suite's children as nobody use TMPDIR too.
    if bindfs -o allow_other "$d/fuse-backing" "$tmpdir"; then mounts+=("$tmpdir"); else
        setup_error="bindfs failed"; fi
}
env_full-tmpdir() {
    mount_tmpfs "$tmpdir" size=64k,mode=1777 || { setup_error="mount tmpfs failed"; return; }
    dd if=/dev/zero of="$tmpdir/filler" bs=4096 2>/dev/null || true
}
env_readonly-tmpdir() { mount_tmpfs "$tmpdir" ro,size=64k,mode=1777 || setup_error="mount tmpfs failed"; }
env_missing-tmpdir() { tmpdir=$d/missing; }
env_file-tmpdir() { tmpdir=$d/a-file; echo "not a directory" >"$tmpdir"; }
env_spaces-tmpdir() { tmpdir="$d/a temp dir/with spaces"; fresh_tmp "$tmpdir"; }
env_overlay-tmpdir() {
    mount_tmpfs "$d/ovl" size=64m || { setup_error="mount tmpfs failed"; return; }
    mkdir -p "$d/ovl/lower" "$d/ovl/upper" "$d/ovl/work" "$tmpdir"
    chmod 1777 "$d/ovl/upper"
    if mount -t overlay uring-envs -o "lowerdir=$d/ovl/lower,upperdir=$d/ovl/upper,workdir=$d/ovl/work" \
        "$tmpdir"; then mounts+=("$tmpdir"); else na="no overlayfs mount here"; fi
}
env_tmpfs-tmpdir() { mount_tmpfs "$tmpdir" size=256m,mode=1777 || setup_error="mount tmpfs failed"; }
env_userns-root() {
    if ! unshare --user --map-root-user true 2>/dev/null; then na="no user namespaces"; return; fi
    wrap=(unshare --user --map-root-user --)
}
env_userns-rootless() {
    if [ -z "$ordinary_uid" ]; then na="no free uid in 20000-20999"; return; fi
    if ! setpriv --reuid="$ordinary_uid" --regid="$ordinary_uid" --clear-groups -- \
        unshare --user --map-root-user true 2>/dev/null; then
        na="unprivileged user namespaces are not allowed"; return; fi
    who=ordinary
    wrap=(unshare --user --map-root-user --)
}
env_memlock-0() { limits=(--memlock=0:0); }
env_nobody-memlock() { who=nobody; limits=(--memlock=65536:65536); }
env_nobody-memlock-strict() { env_nobody-memlock; args=(--strict); }
env_nobody-threads-64() { who=nobody; limits=(--memlock=1048576:1048576); args=(--test-threads=64); }
env_memlock-held() {
    local i ready=$d/holder/ready
    mkdir -p "$d/holder" && chown $NOBODY "$d/holder"
    prlimit --memlock=2097152:2097152 -- setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- \
        "$PY" "$helper" hold 1048576 "$ready" 2>"$d/holder.err" &
    helpers+=($!)
    for i in $(seq 100); do [ -s "$ready" ] && return; kill -0 $! 2>/dev/null || break; sleep 0.05; done
    setup_error="the holder did not start: $(cat "$d/holder.err")"
}
env_nofile-small() { limits=(--nofile=8:8); }
env_nproc-1() { limits=(--nproc=1:1); }
env_nproc-nobody() { who=nobody; limits=(--nproc=8:8); }
env_nproc-nobody-1() { who=nobody; limits=(--nproc=1:1); }
# The limit applies to every file the suite writes, its report too: the report goes through
# a FIFO to a reader outside the limit, so the rows' own files meet it.
env_fsize-small() { limits=(--fsize=8192:8192); report_fifo=1; }
env_pids-cgroup() {
    local root='' v2=''
    for v2 in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        if grep -qw pids "$v2/cgroup.controllers" 2>/dev/null; then root=$v2; break; fi
    done
    if [ -n "$root" ]; then
        grep -qw pids "$root/cgroup.subtree_control" || echo +pids >"$root/cgroup.subtree_control" ||
            { na="cannot enable the pids controller in $root"; return; }
    elif [ -f /sys/fs/cgroup/pids/cgroup.procs ]; then
        root=/sys/fs/cgroup/pids
    else
        na="no pids cgroup controller"; return
    fi
    local cg=$root/uring-envs-$$
    mkdir "$cg" || { setup_error="mkdir $cg failed"; return; }
    cgroups+=("$cg")
    echo 9 >"$cg/pids.max"
    # shellcheck disable=SC2016 # expanded by that sh: it joins the cgroup, then execs the run
    outer=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg")
}
io_uring_sysctls() { # DISABLED GROUP
    local p=/proc/sys/kernel
    if [ ! -w $p/io_uring_disabled ] || [ ! -w $p/io_uring_group ]; then
        na="no kernel.io_uring_disabled/io_uring_group (before 6.6)"; return; fi
    set_sysctl $p/io_uring_group "$2"
    set_sysctl $p/io_uring_disabled "$1"
}
env_disabled-1() { io_uring_sysctls 1 -1; }
env_disabled-1-group() { io_uring_sysctls 1 $NOBODY; }
env_disabled-1-nobody() { who=nobody; expect=77; io_uring_sysctls 1 -1; }
env_disabled-1-nobody-group() { who=nobody; io_uring_sysctls 1 $NOBODY; }
env_disabled-2() { expect=77; io_uring_sysctls 2 -1; }
env_disabled-2-group() { who=nobody; expect=77; io_uring_sysctls 2 $NOBODY; }
env_seccomp() { expect=77; wrap=("$PY" "$helper" seccomp --); }
env_stdout-closed() { outmode=closed; }
env_stdout-full() { outmode=full; }
env_vmem-small() { limits=(--as=268435456:268435456); }
env_stack-small() { limits=(--stack=262144:262144); }
env_one-cpu() { wrap=(taskset -c "$(taskset -cp $$ | sed 's/.*: //; s/[,-].*//')"); } # the first allowed CPU
env_threads-1() { args=(--test-threads=1); }
env_home-unset() { home=0; }
env_two-at-once() {
    local s=$d/second
    mkdir -p "$s/cwd"
    fresh_tmp "$s/tmp"
    (cd "$s/cwd" && exec timeout -k 10 "$limit" env -i PATH="$PATH" "TMPDIR=$s/tmp" "HOME=$d/home" \
        "$bin" "--report-json=$s/run.jsonl" "${suite_args[@]}") >"$s/out" 2>"$s/err" &
    companion=$!
}
env_ordinary-user() {
    if [ -z "$ordinary_uid" ]; then na="no free uid in 20000-20999"; return; fi
    who=ordinary
}

# ---------------------------------------------------------------- one run
# Lists what a directory holds (or says it is missing, or a file's checksum).
snapshot() {
    if [ -d "$1" ]; then
        find "$1" -mindepth 1 -printf '%P\n' 2>/dev/null | sort
    elif [ -e "$1" ]; then
        echo "(file) $(sha256sum <"$1")"
    else
        echo "(missing)"
    fi
}

# The lines of snapshot AFTER not in BEFORE (at most 5, on one line).
only_after() { comm -13 <(echo "$1") <(echo "$2") | head -n 5 | tr '\n' ' ' || true; }

# The report's counts "pass skip fail broken timeout", or "bad: why".
read_report() {
    [ -s "$1" ] || { echo "bad: no report"; return; }
    awk '
        function field(k,   m) { return match($0, "\"" k "\":[0-9]+") ? substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0 : -1 }
        NR == 1 && !/^\{"type":"run",/ { bad = "the first line is not the run line" }
        /^\{"type":"case",/ {
            if (match($0, /"outcome":"[a-z]+"/)) n[substr($0, RSTART + 11, RLENGTH - 12)]++
            else bad = "a case line without an outcome"
        }
        /^\{"type":"summary",/ { sums++; for (i = 1; i <= 5; i++) s[k[i]] = field(k[i]) }
        BEGIN { split("pass skip fail broken timeout", k, " ") }
        END {
            if (bad == "" && sums != 1) bad = sums " summary lines"
            for (i = 1; i <= 5 && bad == ""; i++)
                if (s[k[i]] != n[k[i]] + 0) bad = "summary " k[i] " " s[k[i]] " but " n[k[i]] + 0 " case lines"
            if (bad != "") print "bad: " bad
            else print n["pass"] + 0, n["skip"] + 0, n["fail"] + 0, n["broken"] + 0, n["timeout"] + 0
        }' "$1"
}

# The skipped rows of REPORT that REFERENCE does not skip (all of them without a reference),
# counted by the head of their reason, most first.
new_skips() { # REPORT [REFERENCE]
    awk '
        function reason(   r) {
            if (!match($0, /"reason":"([^"\\]|\\.)*"/)) return "?"
            r = substr($0, RSTART + 10, RLENGTH - 11)
            sub(/^case [^\\]*\\n */, "", r); sub(/\\n.*/, "", r); sub(/; here:.*/, "", r)
            return substr(r, 1, 110)
        }
        /^\{"type":"case",/ && /"outcome":"skip"/ {
            match($0, /"name":"[^"]*"/); n = substr($0, RSTART + 8, RLENGTH - 9)
            if (FILENAME == ref) { known[n] = 1; next }
            if (!(n in known)) c[reason()]++
        }
        END { for (r in c) printf "%5d  %s\n", c[r], r }' ref="${2:-}" ${2:+"$2"} "$1" | sort -rn
}

green=0
red=0
na_count=0
details=()
printf '%-24s %4s %5s %5s %5s %6s %7s %6s  %s\n' environment exit pass skip fail broken timeout secs verdict

run_env() { # NAME
    local name=$1
    d=$work/env/$name
    mkdir -p "$d"
    chmod 755 "$d"
    who=root limits=() tmpdir=$d/tmp args=() expect=0 wrap=() outer=() outmode=file home=1
    na='' setup_error='' companion='' report_fifo=0
    local t0 rc=0 verdict problems=() cmd=() envs=() counts left before_tmp before_cwd f b t
    t0=$(now_us)
    "env_$name" || setup_error=${setup_error:-"setting it up failed (status $?)"}
    if [ -n "$na" ]; then
        undo_env
        printf '%-24s %4s %5s %5s %5s %6s %7s %6s  %s\n' "$name" - - - - - - - "n/a: $na"
        na_count=$((na_count + 1))
        return
    fi
    [ "$tmpdir" != "$d/tmp" ] || [ -e "$tmpdir" ] || fresh_tmp "$tmpdir"
    local uid=0
    case $who in nobody) uid=$NOBODY ;; ordinary) uid=$ordinary_uid ;; esac
    mkdir -p "$d/cwd" "$d/home" "$d/report"
    chown "$uid:$uid" "$d/cwd" "$d/home" "$d/report"
    local report=$d/report/run.jsonl report_arg=$d/report/run.jsonl reader=''
    before_tmp=$(snapshot "$tmpdir")
    before_cwd=$(snapshot "$d/cwd")

    envs=(PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "TMPDIR=$tmpdir")
    [ "$home" -eq 0 ] || envs+=("HOME=$d/home")
    [ ${#limits[@]} -eq 0 ] || cmd+=(prlimit "${limits[@]}" --)
    [ "$uid" -eq 0 ] || cmd+=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --)
    if [ "$report_fifo" = 1 ]; then
        report_arg=$d/report/fifo
        mkfifo "$report_arg"
        chown "$uid:$uid" "$report_arg"
        cat "$report_arg" >"$report" &
        reader=$!
    fi
    cmd=(timeout -k 10 "$limit" "${outer[@]}" "${cmd[@]}" "${wrap[@]}" env -i "${envs[@]}"
        "$bin" "--report-json=$report_arg" "${args[@]}" "${suite_args[@]}")
    if [ -z "$setup_error" ]; then
        set +e
        case $outmode in
            file) (cd "$d/cwd" && exec "${cmd[@]}") >"$d/out" 2>"$d/err"; rc=$? ;;
            full) (cd "$d/cwd" && exec "${cmd[@]}") >/dev/full 2>"$d/err"; rc=$?; : >"$d/out" ;;
            closed) (cd "$d/cwd" && exec "${cmd[@]}") 2>"$d/err" | head -n 1 >"$d/out"; rc=${PIPESTATUS[0]} ;;
        esac
        set -e
    fi
    if [ -n "$reader" ]; then
        # A run that never opened the FIFO leaves the reader waiting in open(2): a
        # read-write open (which never blocks on a FIFO) lets it through to end of file.
        : 1<>"$report_arg"
        wait "$reader" || true
        rm -f "$report_arg"
    fi
    local secs
    secs=$(awk -v a="$t0" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
    local second=()
    if [ -n "$companion" ]; then
        local crc=0 ccounts
        wait "$companion" || crc=$?
        ccounts=$(read_report "$d/second/run.jsonl")
        case $ccounts in bad:*) second+=("report: ${ccounts#bad: }") ;; *)
            read -r _ _ f b t <<<"$ccounts"
            [ $((f + b + t)) -eq 0 ] || second+=("$f fail, $b broken, $t timeout") ;;
        esac
        [ "$crc" = 0 ] || second+=("exit status $crc")
        ! grep -qE 'panicked at|stack backtrace:' "$d/second/out" "$d/second/err" || second+=("a panic")
        [ -z "$(snapshot "$d/second/tmp")" ] || second+=("left in its TMPDIR: $(snapshot "$d/second/tmp" | head -n 5 | tr '\n' ' ')")
    fi
    left=$(kill_leftovers)
    local after_tmp after_cwd
    after_tmp=$(snapshot "$tmpdir") # before undo_env unmounts it
    after_cwd=$(snapshot "$d/cwd")
    undo_env

    if [ -n "$setup_error" ]; then
        problems+=("setup failed: $setup_error")
        counts="- - - - -"
        rc=-
    else
        counts=$(read_report "$report")
        case $counts in bad:*) problems+=("report: ${counts#bad: }"); counts="- - - - -" ;; esac
        if [ "$rc" = 124 ]; then
            problems+=("timed out after $limit s")
        elif [ "$rc" != "$expect" ]; then
            local sig=''
            [ "$rc" -le 128 ] || sig=" (SIG$(kill -l $((rc - 128)) 2>/dev/null || echo "$((rc - 128))"))"
            problems+=("exit status $rc$sig, expected $expect")
        fi
        read -r _ _ f b t <<<"$counts"
        [ "$f" = - ] || [ $((f + b + t)) -eq 0 ] || problems+=("$f fail, $b broken, $t timeout")
        if grep -qE 'panicked at|stack backtrace:' "$d/out" "$d/err"; then
            problems+=("a panic: $(grep -hE -m 2 'panicked at' "$d/out" "$d/err" | head -n 2 | tr '\n' ' ' || true)")
        fi
        [ "$after_tmp" = "$before_tmp" ] || problems+=("left in TMPDIR: $(only_after "$before_tmp" "$after_tmp")")
        [ "$after_cwd" = "$before_cwd" ] || problems+=("left in the working directory: $(only_after "$before_cwd" "$after_cwd")")
        [ -z "$left" ] || problems+=("processes of the run still alive (killed): $left")
        [ ${#second[@]} -eq 0 ] || problems+=("the second run: $(printf '%s, ' "${second[@]}")")
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        verdict=green
        green=$((green + 1))
    else
        verdict=RED
        red=$((red + 1))
        local msg
        msg=$(printf '%s; ' "${problems[@]}")
        details+=("== $name: ${msg%; }")
        local r
        for r in "$report" ${companion:+"$d/second/run.jsonl"}; do
            [ -s "$r" ] || continue
            [ "$r" = "$report" ] || details+=("  the second run:")
            # The rows that did not pass or skip, with their reasons (at most 12).
            while IFS= read -r l; do details+=("    $l"); done < <(awk '
                /^\{"type":"case",/ && !/"outcome":"(pass|skip)"/ {
                    match($0, /"name":"[^"]*"/); n = substr($0, RSTART + 8, RLENGTH - 9)
                    match($0, /"outcome":"[a-z]+"/); o = substr($0, RSTART + 11, RLENGTH - 12)
                    r = ""; if (match($0, /"reason":"([^"\\]|\\.)*"/)) r = substr($0, RSTART + 10, RLENGTH - 11)
                    gsub(/\\n */, " | ", r); gsub(/\\"/, "\"", r)
                    if (++c <= 12) print o ": " n ": " substr(r, 1, 300)
                }
                END { if (c > 12) print "... and " c - 12 " more" }' "$r")
        done
        if [ ! -s "$report" ] || { [ "$rc" != "$expect" ] && [ "$rc" != 101 ]; } || grep -qE 'panicked at' "$d/out" "$d/err" 2>/dev/null; then
            details+=("    stderr (tail):")
            while IFS= read -r l; do details+=("      $l"); done < <(tail -n 8 "$d/err" 2>/dev/null | cut -c1-300)
        fi
    fi
    # shellcheck disable=SC2086
    printf '%-24s %4s %5s %5s %5s %6s %7s %6s  %s\n' "$name" "$rc" $counts "$secs" "$verdict"
    if [ "$name" = default ] && [ -s "$report" ]; then
        cp "$report" "$work/reference.jsonl"
    elif [ "$show_skips" -eq 1 ] && [ -s "$report" ]; then
        local ref=''
        [ -s "$work/reference.jsonl" ] && ref=$work/reference.jsonl
        new_skips "$report" "$ref" | sed 's/^/        /'
    fi
}

for name in $(env_names); do
    if [ ${#only[@]} -gt 0 ] && ! in_list "$name" "${only[@]}"; then continue; fi
    echo "environments: $name" >&2
    run_env "$name"
done

[ ${#details[@]} -eq 0 ] || printf '%s\n' "" "${details[@]}"
total=$(awk -v a="$start_all" -v b="$(now_us)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
echo "environments: $green green, $red red, $na_count n/a of $((green + red + na_count)); whole run ${total} s"
[ "$red" -eq 0 ]
