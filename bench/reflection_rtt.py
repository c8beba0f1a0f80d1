#!/usr/bin/env python3
"""Round trips of a first call on a long link: a unary call by reflection
(cold cache), with a warm descriptor cache, and with --proto, through
bench/delay_proxy.py (DELAY_MS each way, so RTT = 2 x DELAY_MS; the TCP
handshake costs one RTT), against the grpcio server (v1alpha reflection
only) and grpc-go; grpcx beside buf curl and grpcurl-rs when they are here.

    reflection_rtt.py --grpcx BIN [--buf BIN] [--grpcurl BIN] [--go-server BIN]
                      [--delay-ms 10] [--runs N]

Prints a table of medians, in ms and in RTT, and checks grpcx's goals:
cold by reflection <= 3 RTT + 15 ms, warm cache <= 2 RTT + 15 ms.
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
HELLO = '{"name":"bench"}'
METHOD = "helloworld.Greeter/SayHello"
PROTO = os.path.join(ROOT, "proto", "helloworld.proto")


class Child:
    """A child process that prints `LISTENING addr` once it is ready."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            raise SystemExit(f"{argv[:2]} did not start: {line!r}")
        self.addr = line.split(" ", 1)[1]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def once(argv, env):
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[:300]}")
    return elapsed


def median(argv, runs, cache=None, warm=False):
    """Median wall time; `cache` is grpcx's XDG_CACHE_HOME, emptied before
    each run unless `warm`."""
    env = dict(os.environ)
    if cache:
        env["XDG_CACHE_HOME"] = cache
    times = []
    try:
        once(argv, env)  # warm-up (and, for `warm`, fills the cache)
        for _ in range(runs):
            if cache and not warm:
                shutil.rmtree(cache, ignore_errors=True)
            times.append(once(argv, env))
    except (RuntimeError, OSError) as err:
        print(f"  failed: {err}", file=sys.stderr)
        return None
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpcx", required=True)
    parser.add_argument("--buf")
    parser.add_argument("--grpcurl", help="grpcurl-rs (grpcurl's flags)")
    parser.add_argument("--go-server")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--delay-ms", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1 run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1
    rtt = 2 * args.delay_ms / 1000

    servers = {"grpcio": [args.python, os.path.join(ROOT, "tests/servers/py/server.py")]}
    if args.go_server:
        servers["grpc-go"] = [args.go_server]
    tmp = tempfile.mkdtemp(prefix="grpcx-rtt-")
    rows = []
    children = []
    try:
        for name, argv in servers.items():
            server = Child(argv)
            children.append(server)
            link = Child([sys.executable, os.path.join(ROOT, "bench/delay_proxy.py"),
                          "--delay-ms", str(args.delay_ms), "--upstream", server.addr])
            children.append(link)
            addr = link.addr
            cache = os.path.join(tmp, f"cache-{name}")
            cases = [
                ("first call by reflection", "grpcx",
                 [args.grpcx, "call", addr, METHOD, HELLO], dict(cache=cache)),
                ("call by reflection, warm cache", "grpcx",
                 [args.grpcx, "call", addr, METHOD, HELLO], dict(cache=cache, warm=True)),
                ("call with --proto", "grpcx",
                 [args.grpcx, "call", "--proto", PROTO, addr, METHOD, HELLO], {}),
            ]
            if args.buf:
                curl = [args.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", HELLO]
                cases += [
                    ("first call by reflection", "buf curl", curl + [f"http://{addr}/{METHOD}"], {}),
                    ("call with --proto", "buf curl",
                     curl + ["--schema", PROTO, f"http://{addr}/{METHOD}"], {}),
                ]
            if args.grpcurl:
                cases += [
                    ("first call by reflection", "grpcurl-rs",
                     [args.grpcurl, "-plaintext", "-d", HELLO, addr, METHOD], {}),
                    ("call with --proto", "grpcurl-rs",
                     [args.grpcurl, "-plaintext", "-import-path", os.path.dirname(PROTO),
                      "-proto", os.path.basename(PROTO), "-d", HELLO, addr, METHOD], {}),
                ]
            for scenario, tool, argv, opts in cases:
                result = median(argv, args.runs, **opts)
                rows.append((f"{scenario} ({name})", tool, result))
                shown = f"{result * 1000:7.1f} ms" if result else "failed"
                print(f"  {scenario + ' (' + name + ')':<48} {tool:<10} {shown}", file=sys.stderr)
    finally:
        for child in children:
            child.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    goals = {"first call by reflection": 3, "call by reflection, warm cache": 2, "call with --proto": 2}
    print(f"\n| work over a {rtt * 1000:.0f} ms RTT link | grpcx | buf curl | grpcurl-rs | grpcx goal |")
    print("|---|---|---|---|---|")
    missed = 0
    for scenario in dict.fromkeys(s for s, _, _ in rows):
        tools = {tool: r for s, tool, r in rows if s == scenario}

        def cell(tool):
            r = tools.get(tool)
            return f"{r * 1000:.0f} ms ({r / rtt:.1f} RTT)" if r else "—"
        goal = next(v for k, v in goals.items() if scenario.startswith(k))
        limit = goal * rtt + 0.015
        ours = tools.get("grpcx")
        ok = ours is not None and ours <= limit
        missed += not ok
        print(f"| {scenario} | {cell('grpcx')} | {cell('buf curl')} | {cell('grpcurl-rs')} "
              f"| ≤ {goal} RTT + 15 ms = {limit * 1000:.0f} ms {'✓' if ok else '✗'} |")
    print(f"\nmedians of {args.runs} runs after one warm-up; {missed} goal(s) missed")


if __name__ == "__main__":
    main()
