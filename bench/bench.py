#!/usr/bin/env python3
"""grpcx benchmark: runs each scenario N times against grpcx, its peers and
the ceiling client, in one run, and prints medians, peak RSS and ratios.

Absolute times on a shared machine are noise; ratios within one run are the
figures that mean something. Run it through bench/run.sh, which builds and
installs everything first. Usage:

    bench.py --grpcx BIN --ceiling BIN --go-server BIN [--buf BIN]
             [--grpcurl-rs BIN] [--runs N] [--quick] [--long-link-only]

The long-link rows put bench/delay_proxy.py (10 ms each way, a 20 ms round
trip) between the client and the server.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    """A server child that prints `LISTENING addr` once it is ready."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            raise SystemExit(f"server {argv[0]} did not start: {line!r}")
        self.addr = line.split(" ", 1)[1]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def measure(argv, stdin_path=None):
    """Runs argv once with stdout to /dev/null: its wall time in seconds."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    with open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=stdin, stdout=devnull, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
    if stdin_path:
        stdin.close()
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[:300]
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {err}")
    return elapsed


def peak_rss(argv, stdin_path=None):
    """Peak RSS in KiB, from /usr/bin/time. (wait4's ru_maxrss is no good
    here: a child keeps the high-water mark of the Python process it was
    forked from, across exec.)"""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "RSS %M"] + argv, stdin=stdin, stdout=devnull, stderr=subprocess.PIPE
        )
    if stdin_path:
        stdin.close()
    lines = [l for l in proc.stderr.decode(errors="replace").splitlines() if l.startswith("RSS ")]
    return int(lines[-1].split()[1]) if lines else 0


def run_case(argv, runs, stdin_path=None):
    """Median seconds over `runs` runs (after one warm-up), and the peak RSS
    of one more run."""
    try:
        measure(argv, stdin_path)
        times = [measure(argv, stdin_path) for _ in range(runs)]
    except (RuntimeError, OSError) as err:
        return {"error": str(err)}
    return {"median": statistics.median(times), "rss": peak_rss(argv, stdin_path)}


def fmt_time(result):
    if "error" in result:
        return "failed"
    return f"{result['median'] * 1000:9.1f} ms"


def fmt_rss(result):
    if "error" in result:
        return ""
    return f"{result['rss'] / 1024:7.1f} MB"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpcx", required=True)
    parser.add_argument("--ceiling", required=True)
    parser.add_argument("--go-server")
    parser.add_argument("--buf")
    parser.add_argument("--grpcurl-rs", dest="grpcurl_rs")
    parser.add_argument("--long-link-only", action="store_true", help="only the 20 ms RTT rows")
    parser.add_argument("--protoc", default=shutil.which("protoc"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 run: a smoke test")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    small, tiny, upload = (3000, 10000, 3000) if args.quick else (300_000, 1_000_000, 300_000)
    files = 20 if args.quick else 400

    missing = [name for name, path in [("buf", args.buf), ("protoc", args.protoc), ("grpc-go server", args.go_server),
                                       ("grpcurl-rs", args.grpcurl_rs)] if not path]
    for name in missing:
        print(f"MISSING PEER: {name} could not be installed; its rows are left out", file=sys.stderr)

    tmp = tempfile.mkdtemp(prefix="grpcx-bench-")
    servers = {"bundled": Server([args.grpcx, "serve", "--addr", "127.0.0.1:0"])}
    if args.go_server:
        servers["grpc-go"] = Server([args.go_server])
    rows = []  # (scenario, tool, result)

    def buf_curl(addr, path, data, schema=None):
        argv = [args.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", data]
        if schema:
            argv += ["--schema", schema]
        return argv + [f"http://{addr}/{path}"]

    try:
        addr = servers["bundled"].addr
        hello = '{"name":"bench"}'
        proto = os.path.join(ROOT, "proto", "helloworld.proto")
        cases = [
            ("cold unary, reflection", "grpcx",
             [args.grpcx, "call", addr, "helloworld.Greeter/SayHello", hello], None),
            ("cold unary, reflection", "buf curl",
             args.buf and buf_curl(addr, "helloworld.Greeter/SayHello", hello), None),
            ("cold unary, --proto", "grpcx",
             [args.grpcx, "call", "--proto", proto, addr, "helloworld.Greeter/SayHello", hello], None),
            ("cold unary, --proto", "buf curl",
             args.buf and buf_curl(addr, "helloworld.Greeter/SayHello", hello, proto), None),
        ]
        for server_name, server in servers.items():
            for label, count, size in [(f"{small // 1000}k small", small, 32), (f"{tiny // 1000}k tiny", tiny, 0)]:
                scenario = f"server stream {label} ({server_name})"
                request = f'{{"count":{count},"payloadSize":{size}}}'
                path = "grpcx.test.v1.Echo/Stream"
                cases += [
                    (scenario, "grpcx", [args.grpcx, "call", server.addr, path, request], None),
                    (scenario, "buf curl", args.buf and buf_curl(server.addr, path, request), None),
                    (scenario, "ceiling", [args.ceiling, "stream", server.addr, str(count), str(size)], None),
                ]
        lines = os.path.join(tmp, "upload.ndjson")
        with open(lines, "w") as fh:
            for i in range(upload):
                fh.write(f'{{"seq":{i},"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}\n')
        scenario = f"client stream {upload // 1000}k from stdin"
        cases += [
            (scenario, "grpcx", [args.grpcx, "call", addr, "grpcx.test.v1.Echo/Collect", "-d", "@-"], lines),
            (scenario, "buf curl", args.buf and buf_curl(addr, "grpcx.test.v1.Echo/Collect", "@-"), lines),
            (scenario, "ceiling", [args.ceiling, "collect", addr], lines),
        ]
        subprocess.run(
            [sys.executable, os.path.join(ROOT, "bench", "gen_schema.py"), tmp, str(files), "40"],
            check=True, stdout=subprocess.DEVNULL,
        )
        top = f"big/f{files - 1}.proto"
        scenario = f"large schema, {files} files"
        cases += [
            (scenario, "grpcx", [args.grpcx, "list", "--proto", os.path.join(tmp, top), "-I", tmp], None),
            (scenario, "protoc", args.protoc and [args.protoc, f"--descriptor_set_out={os.devnull}",
                                                  "--include_imports", "-I", tmp, top], None),
        ]
        if args.long_link_only:
            cases = []
        # The long link: 20 ms round trips to grpc-go (else the bundled server).
        far = servers.get("grpc-go", servers["bundled"])
        delay = Server([sys.executable, os.path.join(ROOT, "bench", "delay_proxy.py"),
                        "--delay-ms", "10", "--upstream", far.addr])
        servers["delay proxy"] = delay
        large = 100 if args.quick else 1000
        long_tiny = 3000 if args.quick else 300_000
        for label, count, size in [(f"{large} × 32 KiB", large, 32768), (f"{long_tiny // 1000}k tiny", long_tiny, 0)]:
            scenario = f"20 ms RTT: server stream {label}"
            request = f'{{"count":{count},"payloadSize":{size}}}'
            path = "grpcx.test.v1.Echo/Stream"
            cases += [
                (scenario, "grpcx", [args.grpcx, "call", delay.addr, path, request], None),
                (scenario, "grpcurl-rs", args.grpcurl_rs and [args.grpcurl_rs, "-plaintext", "-d", request,
                                                             delay.addr, path], None),
                (scenario, "buf curl", args.buf and buf_curl(delay.addr, path, request), None),
                (scenario, "ceiling", [args.ceiling, "stream", delay.addr, str(count), str(size)], None),
            ]
        for scenario, tool, argv, stdin_path in cases:
            if not argv:
                continue
            cwd = os.getcwd()
            if tool == "protoc":
                os.chdir(tmp)
            result = run_case(argv, runs, stdin_path)
            os.chdir(cwd)
            rows.append((scenario, tool, result))
            print(f"  {scenario:<40} {tool:<9} {fmt_time(result)} {fmt_rss(result)}", file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    report(rows, runs)


# (scenario prefix, peer, greatest allowed grpcx/peer time ratio)
TARGETS = [
    ("20 ms RTT", "grpcurl-rs", 0.8),
    ("cold unary", "buf curl", 0.05),
    ("server stream", "buf curl", 0.15),
    ("server stream", "ceiling", 1.5),
    ("client stream", "ceiling", 1.5),
    ("large schema", "protoc", 0.7),
]
RSS_LIMIT_MB = 25


def report(rows, runs):
    by_scenario = {}
    for scenario, tool, result in rows:
        by_scenario.setdefault(scenario, {})[tool] = result
    print("\n| scenario | grpcx (time, peak RSS) | peers | ratio vs target |")
    print("|---|---|---|---|")
    failures = 0
    for scenario, tools in by_scenario.items():
        ours = tools.get("grpcx", {"error": "not run"})
        if "error" in ours:
            failures += 1
        peers = ", ".join(
            f"{tool} {fmt_time(r).strip()} {fmt_rss(r).strip()}" for tool, r in tools.items() if tool != "grpcx"
        )
        checks = []
        for prefix, peer, limit in TARGETS:
            if scenario.startswith(prefix) and peer in tools and "error" not in tools[peer] and "error" not in ours:
                ratio = ours["median"] / tools[peer]["median"]
                ok = ratio <= limit
                failures += not ok
                checks.append(f"{ratio:.3f}× {peer} ≤ {limit} {'✓' if ok else '✗'}")
        if scenario.startswith(("server stream", "20 ms RTT: server stream 300k")) and "error" not in ours:
            ok = ours["rss"] / 1024 < RSS_LIMIT_MB
            failures += not ok
            checks.append(f"RSS < {RSS_LIMIT_MB} MB {'✓' if ok else '✗'}")
        if scenario.startswith("large schema") and "protoc" in tools and "error" not in tools["protoc"] and "error" not in ours:
            ok = ours["rss"] <= tools["protoc"]["rss"]
            failures += not ok
            checks.append(f"RSS ≤ protoc's {'✓' if ok else '✗'}")
        print(f"| {scenario} | {fmt_time(ours).strip()} {fmt_rss(ours).strip()} | {peers} | {'; '.join(checks)} |")
    print(f"\nmedians of {runs} runs after one warm-up; {failures} target(s) missed")


if __name__ == "__main__":
    main()
