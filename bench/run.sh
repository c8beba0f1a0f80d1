#!/usr/bin/env bash
# Builds grpcx (release) and the ceiling client, installs the peers (buf from
# npm, protoc from Debian, the grpc-go server from Debian's Go packages), then
# runs bench/bench.py. A peer that cannot be installed is reported as missing.
#   bench/run.sh [--runs N] [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
tools="${BENCH_TOOLS:-$PWD/target/bench-tools}"
mkdir -p "$tools"

echo "+ cargo build --release (grpcx and the ceiling client)" >&2
cargo build --release --quiet --bin grpcx --example ceiling || exit 1

buf="$tools/node_modules/.bin/buf"
if [ ! -x "$buf" ]; then
  echo "+ npm install @bufbuild/buf" >&2
  npm install --silent --no-audit --no-fund --prefix "$tools" @bufbuild/buf >&2 || true
fi
[ -x "$buf" ] || buf=""

if ! command -v protoc >/dev/null; then
  echo "+ apt-get install protobuf-compiler" >&2
  (apt-get update -qq && apt-get install -y -qq protobuf-compiler) >/dev/null 2>&1 || true
fi

# grpcurl-rs, the Rust port of grpcurl, from crates.io (the long-link rows).
grpcurl_rs="$tools/bin/grpcurl"
if [ ! -x "$grpcurl_rs" ]; then
  echo "+ cargo install grpcurl-rs" >&2
  cargo install --quiet --locked --root "$tools" grpcurl-rs >&2 || true
fi
[ -x "$grpcurl_rs" ] || grpcurl_rs=""

go_server=$(tests/servers/go/build.sh 2>/dev/null | tail -n 1) || go_server=""
[ -x "$go_server" ] || go_server=""

# The long-link rows: round trips of a first call (reflection, warm cache,
# --proto) through bench/delay_proxy.py, 20 ms RTT.
python3 bench/reflection_rtt.py --grpcx target/release/grpcx ${buf:+--buf "$buf"} \
  ${grpcurl_rs:+--grpcurl "$grpcurl_rs"} ${go_server:+--go-server "$go_server"} "$@"

exec python3 bench/bench.py --grpcx target/release/grpcx --ceiling target/release/examples/ceiling \
  ${buf:+--buf "$buf"} ${grpcurl_rs:+--grpcurl-rs "$grpcurl_rs"} ${go_server:+--go-server "$go_server"} "$@"
