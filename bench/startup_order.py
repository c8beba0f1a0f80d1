#!/usr/bin/env python3
"""Writes bench/startup.order: the functions grpcx's short commands run,
command by command (what every command runs first), for the linker to lay
out side by side.

A unary call runs about 1,100 of the binary's functions (1.5 MB of
code), and the linker had scattered them over all 8 MB of it: the kernel
maps at most the 64 KiB around a page fault, and a call took 60 to 83
page faults of code, `--version` 14 to 19. Laid out together
(`--symbol-ordering-file`, passed by build.rs), the same code takes 19 to
25, and `--version` 4 to 6. Unlisted functions keep the linker's own
order, so a stale file only costs that gain back.

The names are v0-mangled (.cargo/config.toml): they carry no hash of the
code, so the file holds across edits; a new toolchain or new versions of
dependencies rename their functions, and the file then wants writing anew.
(RUSTFLAGS set in the environment replaces the config's flags, and so the
v0 names: such a build keeps the linker's own order.)

    bench/startup_order.py          # builds release, runs callgrind
    bench/startup_order.py --check  # how many names the release build has

Needs valgrind (Debian's `valgrind`). The commands run against `grpcx
serve` on a free loopback port; a first call fills a private cache dir.
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "startup.order")


def functions(profile, binary):
    """The binary's functions in a callgrind profile, in the order the
    profile first names them (ids are given a name once, then reused)."""
    objects, names, current, seen, order = {}, {}, None, set(), []
    pattern = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")
    with open(profile) as lines:
        for line in lines:
            m = pattern.match(line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            table = objects if kind.endswith("ob") else names
            if name:
                table[ident] = name
            if kind == "ob":
                current = objects.get(ident)
            elif kind == "fn" and current == binary:
                # `'2`: callgrind's mark of a recursive call; `0x…` and
                # `(below main)`: code with no symbol.
                fn = re.sub(r"'\d+$", "", names[ident])
                if fn.startswith(("0x", "(")):
                    continue
                if fn not in seen:
                    seen.add(fn)
                    order.append(fn)
    return order


def check(grpcx):
    """Says how many of the file's names the release build has; fails
    under nine in ten (the file wants writing anew)."""
    nm = subprocess.run(["nm", "--defined-only", grpcx], check=True, capture_output=True,
                        text=True).stdout
    have = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    with open(OUT) as f:
        names = [line.strip() for line in f if line.strip()]
    found = sum(name in have for name in names)
    print(f"{found} of the {len(names)} functions of {OUT} are in {grpcx}")
    if found < 0.9 * len(names):
        sys.exit("stale: run bench/startup_order.py to write it anew")


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "grpcx"],
                   cwd=ROOT, check=True)
    grpcx = os.path.join(ROOT, "target", "release", "grpcx")
    if sys.argv[1:] == ["--check"]:
        return check(grpcx)
    binary = os.path.realpath(grpcx)
    server = subprocess.Popen([grpcx, "serve", "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline().split()
        if not line or line[0] != "LISTENING":
            sys.exit(f"grpcx serve did not start: {line}")
        addr = line[1]
        hello = ["helloworld.Greeter/SayHello", '{"name":"x"}']
        proto = ["--proto", "helloworld.proto", "-I", os.path.join(ROOT, "proto")]
        # Every command starts as --version does; then the call paths, the
        # common ones first: --proto, reflection with no cache (it fills
        # it), with the cache; then list, describe, and completing a method.
        commands = [
            ["--version"],
            ["call", *proto, addr, *hello],
            ["call", addr, *hello],
            ["call", addr, *hello],
            ["list", addr],
            ["describe", addr, "helloworld.Greeter"],
            # Tab completion starts a process at every press.
            ["__complete", "--line", f"grpcx call {addr} helloworld.Greeter/"],
        ]
        order, seen = [], set()
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
            for i, args in enumerate(commands):
                profile = os.path.join(tmp, f"{i}.out")
                subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no",
                                f"--callgrind-out-file={profile}", grpcx, *args],
                               env=env, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                new = [fn for fn in functions(profile, binary) if fn not in seen]
                seen.update(new)
                order += new
                print(f"{' '.join(args[:1])}: {len(new)} more functions", file=sys.stderr)
    finally:
        server.kill()
        server.wait()
    with open(OUT, "w") as out:
        out.write("\n".join(order) + "\n")
    print(f"{OUT}: {len(order)} functions", file=sys.stderr)


if __name__ == "__main__":
    main()
