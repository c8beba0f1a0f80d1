#!/usr/bin/env bash
# Builds the grpc-go test server offline, from Debian's packages, in GOPATH mode.
#
#   tests/servers/go/build.sh        # prints the binary's path on stdout
#
# 1. apt-get installs the toolchain and Go libraries, only if some are missing;
# 2. generates Go code for proto/ with protoc, protoc-gen-go, protoc-gen-go-grpc
#    into $OUT_DIR/gopath/src/grpcx.test/... (never into the source tree);
# 3. builds $OUT_DIR/grpcx-test-go-server, unless it is newer than every source.
#
# OUT_DIR defaults to tests/servers/go/bin (git-ignored). Progress goes to
# stderr; stdout is only the binary's path. Safe to run concurrently.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
proto_dir="$repo/proto"
out_dir="${OUT_DIR:-$here/bin}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
bin="$out_dir/grpcx-test-go-server"

say() { echo "build.sh: $*" >&2; }

# Debian packages: the toolchain and the Go libraries (GOPATH /usr/share/gocode).
commands=(go protoc protoc-gen-go protoc-gen-go-grpc)
packages=(
    golang-go
    protobuf-compiler
    libprotobuf-dev # google/protobuf/*.proto
    protoc-gen-go
    protoc-gen-go-grpc
    golang-google-grpc-dev
    golang-google-genproto-dev
    golang-google-protobuf-dev
    golang-github-golang-protobuf-1-5-dev
)

# Sources: the hand-written Go files, the schema, this script, and the
# packages' dpkg file lists (touched when a package is installed or upgraded).
sources() {
    find "$here" -maxdepth 1 -name '*.go' -print
    find "$proto_dir" -name '*.proto' -print
    echo "$here/build.sh"
    local p
    for p in "${packages[@]}"; do
        compgen -G "/var/lib/dpkg/info/$p.list" || compgen -G "/var/lib/dpkg/info/$p:*.list" || true
    done
}

up_to_date() {
    [[ -x "$bin" ]] || return 1
    local f
    while IFS= read -r f; do
        [[ "$f" -nt "$bin" ]] && return 1
    done < <(sources)
    return 0
}

# Fast path, without the lock or any tool check.
if up_to_date; then
    echo "$bin"
    exit 0
fi

# Serialise concurrent builds into the same OUT_DIR.
exec 9>"$out_dir/.build.lock"
flock 9
if up_to_date; then # another build finished while we waited
    echo "$bin"
    exit 0
fi

# 1. Debian packages, installed only when missing.
missing=()
for c in "${commands[@]}"; do
    command -v "$c" >/dev/null 2>&1 || { missing=("${packages[@]}"); break; }
done
if [[ ${#missing[@]} -eq 0 ]]; then
    for p in "${packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { say "need root to install: ${missing[*]}"; exit 1; }
        sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

# Go in GOPATH mode, offline: our generated packages first, then Debian's.
export GO111MODULE=off
export GOPROXY=off
export GOFLAGS=
export CGO_ENABLED=0
export GOPATH="$out_dir/gopath:/usr/share/gocode"
if ! go env GOCACHE >/dev/null 2>&1 || [[ -z "$(go env GOCACHE 2>/dev/null)" ]]; then
    export GOCACHE="$out_dir/go-cache" # no HOME or XDG_CACHE_HOME
fi

# 2. Generated code, from scratch each time so no stale file survives.
gen="$out_dir/gopath/src"
rm -rf "$gen.tmp"
mkdir -p "$gen.tmp"
mapfile -t protos < <(cd "$proto_dir" && find . -name '*.proto' -printf '%P\n' | sort)
say "generating Go code for ${protos[*]}"
(cd "$proto_dir" && protoc -I . -I /usr/include \
    --go_out="$gen.tmp" --go-grpc_out="$gen.tmp" "${protos[@]}")
rm -rf "$gen"
mv "$gen.tmp" "$gen"

# 3. The binary, built to a temporary name and renamed, so a running test
# never sees half a file.
say "building $bin ($(go version | cut -d' ' -f3))"
(cd "$here" && go build -trimpath -o "$bin.tmp" .)
mv -f "$bin.tmp" "$bin"
echo "$bin"
