#!/usr/bin/env python3
"""The call path's figures (one HTTP/2 stack), side by side with the peers,
against the grpc-go test server: each pair is run in turn, A B A B ..., and
the ratio taken pair by pair, so that a machine whose speed drifts still
compares like with like. Medians of N pairs after one warm-up pair.

    stack.py --grpcx BIN --go-server BIN [--grpcurl-rs BIN] [--grpcurl BIN]
             [--buf BIN] [--h2load BIN] [--runs N]

Rows (target in brackets, grpcx / peer):
- unary SayHello with --proto (<= 0.8x grpcurl-rs wall), and its fixed cost
  beside `grpcx --version` (within 1 ms: the median of the differences
  of at least 60 pairs, as a few milliseconds are noisy); for scale, the
  same fixed cost of grpcurl-rs (its call beside its --version) and of
  h2load (one request on one connection, `-n 1 -c 1`, beside `h2load
  --version`);
- unary SayHello by reflection, cold (--no-cache) and with the descriptor
  cache (<= 0.7x grpcurl-rs wall);
- 300k tiny messages streamed from grpc-go: client CPU (<= 0.25x
  grpcurl-rs), wall (<= 0.2x buf curl), peak RSS (< 25 MB);
- 32 MB (1000 x 32 KiB) over a 20 ms RTT link (bench/delay_proxy.py), down
  (server stream) and up (client stream): wall <= 0.8x grpcurl-rs.

CPU is user + system time of the process (wait4), wall is from
posix_spawn to wait4, peak RSS from /usr/bin/time. Nothing is printed to a terminal.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = "helloworld.Greeter/SayHello"
STREAM = "grpcx.test.v1.Echo/Stream"
COLLECT = "grpcx.test.v1.Echo/Collect"


class Server:
    """A child that prints `LISTENING addr` once it is ready."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            raise SystemExit(f"{argv[0]} did not start: {line!r}")
        self.addr = line.split(" ", 1)[1]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


FAILED = set()


def timed(argv, stdin_path=None):
    """One run: (wall s, cpu s, page faults). The child is started with posix_spawn
    (vfork: Python's own fork would add a millisecond or more to every
    short run, on both sides of a pair) and reaped with wait4, whose rusage
    is the child's own CPU and page faults. grpcx failing stops the run; a peer failing is
    noted (grpcurl-rs breaks off grpc-go's 300k tiny messages with
    ENHANCE_YOUR_CALM) and its time up to the failure kept."""
    with tempfile.TemporaryFile() as err:
        stdin = os.open(stdin_path or os.devnull, os.O_RDONLY)
        devnull = os.open(os.devnull, os.O_WRONLY)
        actions = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                   (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        start = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        os.close(stdin)
        os.close(devnull)
        err.seek(0)
        stderr = err.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        why = f"{os.path.basename(argv[0])} exited {code}: " \
              f"{' '.join(stderr.decode(errors='replace').split())[:200]}"
        if os.path.basename(argv[0]) == "grpcx":
            raise SystemExit(why)
        if why not in FAILED:
            FAILED.add(why)
            print(f"PEER FAILED: {why}", file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_minflt + usage.ru_majflt


def peak_rss_mb(argv, stdin_path=None):
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.run(["/usr/bin/time", "-f", "RSS %M"] + argv, stdin=stdin,
                              stdout=devnull, stderr=subprocess.PIPE)
    if stdin_path:
        stdin.close()
    rows = [l for l in proc.stderr.decode(errors="replace").splitlines() if l.startswith("RSS ")]
    return int(rows[-1].split()[1]) / 1024 if rows else float("nan")


def pair(a, b, runs, stdin_path=None):
    """A and B in turn, after one warm-up each: medians of wall and CPU, and
    the medians of the pairwise ratios A/B and of the wall differences A-B."""
    timed(a, stdin_path)
    timed(b, stdin_path)
    rows = []
    for _ in range(runs):
        ra = timed(a, stdin_path)
        rb = timed(b, stdin_path)
        rows.append((ra, rb))
    med = statistics.median
    return {
        "a_wall": med(r[0][0] for r in rows), "b_wall": med(r[1][0] for r in rows),
        "a_cpu": med(r[0][1] for r in rows), "b_cpu": med(r[1][1] for r in rows),
        "a_faults": med(r[0][2] for r in rows), "b_faults": med(r[1][2] for r in rows),
        "wall": med(r[0][0] / r[1][0] for r in rows),
        "cpu": med(r[0][1] / max(r[1][1], 1e-6) for r in rows),
        "gap": med(r[0][0] - r[1][0] for r in rows),
    }


def ms(seconds, digits=1):
    return f"{seconds * 1000:.{digits}f} ms"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--grpcx", required=True)
    p.add_argument("--go-server", required=True)
    p.add_argument("--grpcurl-rs", dest="grpcurl_rs")
    p.add_argument("--grpcurl", help="grpcurl (Go)")
    p.add_argument("--buf")
    p.add_argument("--h2load", help="h2load, for its own fixed cost of one request")
    p.add_argument("--runs", type=int, default=11)
    args = p.parse_args()
    gx, runs = args.grpcx, args.runs
    proto_dir = os.path.join(ROOT, "proto")
    rows = []

    def row(name, result, peer, key, target=None):
        ratio = result[key]
        verdict = "" if target is None else (" ✓" if ratio <= target else " ✗")
        bound = "" if target is None else f" (≤ {target})"
        a, b = result[f"a_{key}"], result[f"b_{key}"]
        rows.append(f"| {name} | {ms(a)} | {peer} {ms(b)} | {ratio:.2f}×{bound}{verdict} |")
        print(rows[-1], file=sys.stderr)

    server = Server([args.go_server])
    tmp = tempfile.mkdtemp(prefix="grpcx-stack-")
    env_cache = os.path.join(tmp, "cache")
    os.environ["XDG_CACHE_HOME"] = env_cache
    try:
        addr = server.addr
        hello = '{"name":"bench"}'
        proto = [gx, "call", "--proto", "helloworld.proto", "-I", proto_dir, addr, HELLO, hello]
        if args.grpcurl_rs:
            peer = [args.grpcurl_rs, "-plaintext", "-import-path", proto_dir, "-proto", "helloworld.proto",
                    "-d", hello, addr, HELLO]
            row("unary, --proto", pair(proto, peer, runs), "grpcurl-rs", "wall", 0.8)
        if args.grpcurl:
            peer = [args.grpcurl, "-plaintext", "-import-path", proto_dir, "-proto", "helloworld.proto",
                    "-d", hello, addr, HELLO]
            row("unary, --proto", pair(proto, peer, runs), "grpcurl (Go)", "wall")
        # A few milliseconds each, so many more pairs: the gap is the median
        # of the pairs' differences, steadier than a difference of medians.
        short_runs = max(4 * runs, 60)
        fixed = pair(proto, [gx, "--version"], short_runs)
        gap = fixed["gap"]
        # Page faults beside the times: most of a short run's kernel time
        # (bench/startup_order.py).
        rows.append(f"| fixed cost of a call (connect, schema, call) | {ms(fixed['a_wall'])}, "
                    f"{fixed['a_faults']:.0f} page faults | `grpcx --version` {ms(fixed['b_wall'])}, "
                    f"{fixed['b_faults']:.0f} page faults | +{ms(gap, 2)} (≤ 1 ms) {'✓' if gap <= 0.001 else '✗'} |")
        print(rows[-1], file=sys.stderr)
        # The peers' own fixed cost, for scale: the same difference for them.
        peers = []
        if args.grpcurl_rs:
            peers.append(("grpcurl-rs", [args.grpcurl_rs, "-plaintext", "-import-path", proto_dir,
                                         "-proto", "helloworld.proto", "-d", hello, addr, HELLO],
                          [args.grpcurl_rs, "--version"]))
        if args.h2load:
            frame = os.path.join(tmp, "hello.bin")
            with open(frame, "wb") as f:
                f.write(b"\x00\x00\x00\x00\x07\x0a\x05bench")
            peers.append(("h2load `-n 1 -c 1`", [args.h2load, "-n", "1", "-c", "1", "-d", frame,
                                                "-H", "content-type: application/grpc", "-H", "te: trailers",
                                                f"http://{addr}/{HELLO}"],
                          [args.h2load, "--version"]))
        for name, call, version in peers:
            theirs = pair(call, version, short_runs)
            gap = theirs["gap"]
            rows.append(f"| fixed cost of a call, {name} (for scale) | {ms(theirs['a_wall'])} | "
                        f"its `--version` {ms(theirs['b_wall'])} | +{ms(gap, 2)} |")
            print(rows[-1], file=sys.stderr)
        for label, extra in [("cold, --no-cache", ["--no-cache"]), ("descriptor cache", [])]:
            ours = [gx, "call"] + extra + [addr, HELLO, hello]
            if args.grpcurl_rs:
                peer = [args.grpcurl_rs, "-plaintext", "-d", hello, addr, HELLO]
                row(f"unary by reflection, {label}", pair(ours, peer, runs), "grpcurl-rs", "wall", 0.7)
            if args.grpcurl:
                peer = [args.grpcurl, "-plaintext", "-d", hello, addr, HELLO]
                row(f"unary by reflection, {label}", pair(ours, peer, runs), "grpcurl (Go)", "wall")

        tiny = '{"count":300000,"payloadSize":0}'
        ours = [gx, "call", addr, STREAM, tiny]
        if args.grpcurl_rs:
            peer = [args.grpcurl_rs, "-plaintext", "-d", tiny, addr, STREAM]
            row("300k tiny messages, client CPU", pair(ours, peer, max(3, runs // 3)), "grpcurl-rs", "cpu", 0.25)
        if args.buf:
            peer = [args.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", tiny,
                    f"http://{addr}/{STREAM}"]
            row("300k tiny messages, wall", pair(ours, peer, max(3, runs // 3)), "buf curl", "wall", 0.2)
        rss = peak_rss_mb(ours)
        rows.append(f"| 300k tiny messages, peak RSS | {rss:.1f} MB | | < 25 MB {'✓' if rss < 25 else '✗'} |")
        print(rows[-1], file=sys.stderr)

        delay = Server([sys.executable, os.path.join(ROOT, "bench", "delay_proxy.py"),
                        "--delay-ms", "10", "--upstream", addr])
        try:
            big = '{"count":1000,"payloadSize":32768}'
            upload = os.path.join(tmp, "up.ndjson")
            with open(upload, "w") as fh:
                pad = "x" * 32768
                for i in range(1000):
                    fh.write(f'{{"seq":{i},"pad":"{pad}"}}\n')
            if args.grpcurl_rs:
                ours = [gx, "call", delay.addr, STREAM, big]
                peer = [args.grpcurl_rs, "-plaintext", "-d", big, delay.addr, STREAM]
                row("32 MB down at 20 ms RTT (server stream)", pair(ours, peer, max(3, runs // 2)),
                    "grpcurl-rs", "wall", 0.8)
                ours = [gx, "call", delay.addr, COLLECT, "-d", "@-"]
                peer = [args.grpcurl_rs, "-plaintext", "-d", "@", delay.addr, COLLECT]
                row("32 MB up at 20 ms RTT (client stream)", pair(ours, peer, max(3, runs // 2), upload),
                    "grpcurl-rs", "wall", 0.8)
        finally:
            delay.stop()
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", tmp])
    print(f"\n| figure | grpcx | peer | ratio (target) |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nmedians of {runs} pairs (more for the fixed costs, fewer for the long rows), run in turn")
    for why in sorted(FAILED):
        print(f"peer failed (its figures are up to the failure): {why}")


if __name__ == "__main__":
    main()
