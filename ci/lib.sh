# shellcheck shell=bash
# Shell functions shared by the scripts in ci/ (sourced, not run).

# build_executable TAG KIND NAME DIR CARGO_ARGS...: runs `cargo CARGO_ARGS
# --message-format=json` (its messages and errors kept in DIR) and prints the path of the
# artifact of KIND ("bin" or "test") named NAME. A failed build, or no such artifact, prints
# why on stderr (prefixed with TAG) and exits 2.
build_executable() {
    local tag=$1 kind=$2 name=$3 dir=$4 path
    shift 4
    if ! cargo "$@" --message-format=json >"$dir/build.json" 2>"$dir/build.err"; then
        echo "$tag: build failed:" >&2
        tail -n 30 "$dir/build.err" >&2
        exit 2
    fi
    path=$(sed -n "/\"kind\":\[\"$kind\"\]/{/\"name\":\"$name\"/s/.*\"executable\":\"\([^\"]*\)\".*/\1/p;}" \
        "$dir/build.json" | tail -n 1)
    if [ -z "$path" ] || [ ! -x "$path" ]; then
        echo "$tag: no $name $kind executable in cargo's output" >&2
        exit 2
    fi
    printf '%s\n' "$path"
}
