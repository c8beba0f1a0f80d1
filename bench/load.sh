#!/usr/bin/env bash
# Load figures for `grpcx bench` and `grpcx call --each`, against the grpc-go
# test server (tests/servers/go). Prints one line per figure.
#
#   bench/load.sh [--runs N] [--requests N]
#
# 1. Throughput: `grpcx bench -c 64 --connections 4` against h2load with the
#    same 64 streams in flight over 4 connections (`h2load -c 4 -m 16 -t 1`)
#    sending a canned gRPC frame of helloworld.HelloRequest{name:"x"}. h2load
#    neither encodes nor decodes, so it is the ceiling. Medians of N runs.
#    Beside them, h2 alone (`ceiling unary`: grpcx's h2 copy, no call path
#    above it), which parts what h2 costs from what grpcx's call path does,
#    and h2load sending the two headers grpcx adds to every call
#    (`user-agent`, `grpc-accept-encoding`), which the server reads too.
# 2. `call --each --concurrency 8` with 5000 unary calls, against 5000
#    `grpcx call` processes (one shell loop).
# 3. Honest latency: `bench -c 1 --rate 200 -z 5s` with the server frozen
#    (SIGSTOP) for 1 s mid-run.
# 4. Memory: peak RSS of a 10 s and a 60 s closed-model run (/usr/bin/time).
# 5. A server that rotates its connections every 50 ms (GOAWAY, grpc-go's
#    MaxConnectionAge): calls failed in a 5 s closed-model bench and in
#    20000 `call --each` calls (target: none).
# h2load comes from Debian's nghttp2-client, installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
requests=200000
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    *) echo "usage: bench/load.sh [--runs N] [--requests N]" >&2; exit 2 ;;
  esac
done

if ! command -v h2load >/dev/null; then
  echo "+ apt-get install nghttp2-client" >&2
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends nghttp2-client) >/dev/null
fi
echo "+ cargo build --release" >&2
cargo build --release --quiet --bin grpcx --example ceiling
grpcx="$PWD/target/release/grpcx"
ceiling="$PWD/target/release/examples/ceiling"
go_server=$(tests/servers/go/build.sh 2>/dev/null | tail -n 1)

tmp=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# Starts the grpc-go server (its per-call log discarded), with any flags
# given; sets $addr.
start_server() {
  "$go_server" "$@" >"$tmp/listening" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q LISTENING "$tmp/listening" 2>/dev/null && break
    sleep 0.05
  done
  addr=$(awk '/LISTENING/ {print $2}' "$tmp/listening")
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_server
method=helloworld.Greeter/SayHello
# The gRPC frame: uncompressed, 3 bytes long, field 1 = "x".
printf '\x00\x00\x00\x00\x03\x0a\x01\x78' >"$tmp/frame"
# What grpcx sends as its user-agent: grpcx/VERSION.
agent="grpcx/$("$grpcx" --version | awk '{print $2}')"
# A warm-up for both, then alternate runs.
h2load -c 4 -m 16 -t 1 -n 20000 -d "$tmp/frame" -H 'content-type: application/grpc' \
  -H 'te: trailers' "http://$addr/$method" >/dev/null
"$grpcx" bench "$addr" $method '{"name":"x"}' -c 64 --connections 4 -n 20000 --format json >/dev/null
for _ in $(seq "$runs"); do
  h2load -c 4 -m 16 -t 1 -n "$requests" -d "$tmp/frame" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://$addr/$method" |
    sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' >>"$tmp/h2load"
  "$grpcx" bench "$addr" $method '{"name":"x"}' -c 64 --connections 4 -n "$requests" --format json |
    python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["ok"]==r["requests"], r; print(r["rps"])' >>"$tmp/grpcx"
  "$ceiling" unary "$addr" 4 16 "$requests" >>"$tmp/bare"
  h2load -c 4 -m 16 -t 1 -n "$requests" -d "$tmp/frame" -H 'content-type: application/grpc' \
    -H 'te: trailers' -H 'grpc-accept-encoding: gzip,zstd' -H "user-agent: $agent" \
    "http://$addr/$method" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' >>"$tmp/h2load_headers"
done
h2=$(median <"$tmp/h2load")
gx=$(median <"$tmp/grpcx")
# Each grpcx run follows its h2load run: the median of those pairs' ratios
# is the steadier figure on a shared machine, the ratio of medians beside it.
paired=$(paste "$tmp/grpcx" "$tmp/h2load" | awk '{print $1 / $2}' | median)
echo "throughput, 64 in flight over 4 connections, $requests unary calls: grpcx bench $gx calls/s, h2load $h2 req/s: $(python3 -c "print(f'{$gx/$h2:.2f}')")x h2load, pairs' median $(python3 -c "print(f'{$paired:.2f}')")x (target >= 0.9)"
echo "  grpcx runs: $(tr '\n' ' ' <"$tmp/grpcx")  h2load runs: $(tr '\n' ' ' <"$tmp/h2load")"
bare=$(paste "$tmp/bare" "$tmp/h2load" | awk '{print $1 / $2}' | median)
echo "  h2 alone (ceiling unary, the same 64 over 4): $(median <"$tmp/bare") calls/s, pairs' median $(python3 -c "print(f'{$bare:.2f}')")x h2load; runs: $(tr '\n' ' ' <"$tmp/bare")"
same=$(paste "$tmp/grpcx" "$tmp/h2load_headers" | awk '{print $1 / $2}' | median)
echo "  h2load with grpcx's headers ($agent, grpc-accept-encoding): $(median <"$tmp/h2load_headers") req/s; grpcx bench against it, pairs' median $(python3 -c "print(f'{$same:.2f}')")x; runs: $(tr '\n' ' ' <"$tmp/h2load_headers")"

seq 0 4999 | sed 's/.*/{"name":"&"}/' >"$tmp/names"
start=$(date +%s.%N)
"$grpcx" call --each --concurrency 8 "$addr" $method @"$tmp/names" | wc -l >"$tmp/each_lines"
each=$(python3 -c "print(f'{$(date +%s.%N)-$start:.2f}')")
start=$(date +%s.%N)
while read -r line; do "$grpcx" call "$addr" $method "$line"; done <"$tmp/names" | wc -l >"$tmp/loop_lines"
loop=$(python3 -c "print(f'{$(date +%s.%N)-$start:.2f}')")
echo "5000 unary calls: call --each --concurrency 8 ${each} s ($(cat "$tmp/each_lines") lines), 5000 processes ${loop} s ($(cat "$tmp/loop_lines") lines) (target well under 2.5 s)"

"$grpcx" bench "$addr" $method -c 1 --rate 200 -z 5s --format json >"$tmp/frozen" &
bench_pid=$!
sleep 2
kill -STOP "$server_pid"; sleep 1; kill -CONT "$server_pid"
wait "$bench_pid"
python3 - "$tmp/frozen" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
print(f"server frozen 1 s, -c 1 --rate 200 -z 5s: {r['requests']} calls, p50 {l['p50']} ms, p90 {l['p90']} ms, p99 {l['p99']} ms, max {l['max']} ms (target ~1000 calls, p50 in ms, p99 near 1 s)")
PY

for secs in 10 60; do
  /usr/bin/time -f %M -o "$tmp/rss" "$grpcx" bench "$addr" $method -c 64 --connections 4 -z ${secs}s --format json >/dev/null
  echo "peak RSS, ${secs} s closed-model run: $(($(cat "$tmp/rss") / 1024)) MB"
done
stop_server

start_server --max-connection-age 50ms
"$grpcx" bench "$addr" $method '{"name":"x"}' -c 64 --connections 4 -z 5s --format json |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print("server rotating its connections every 50 ms, bench -c 64 --connections 4 -z 5s: %d calls, %d failed, %.0f calls/s (target: none failed)" % (r["requests"], r["errors"], r["rps"]))'
seq 0 19999 | sed 's/.*/{"name":"&"}/' >"$tmp/names"
"$grpcx" call --each --concurrency 8 "$addr" $method @"$tmp/names" >"$tmp/each_out" 2>"$tmp/each_err" || true
echo "server rotating its connections every 50 ms, 20000 calls of call --each --concurrency 8: $(wc -l <"$tmp/each_out") answered, $(grep -c '^ERROR' "$tmp/each_err") failed (target: none failed)"
stop_server
