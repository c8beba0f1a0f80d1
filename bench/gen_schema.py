#!/usr/bin/env python3
"""Writes the "large schema" of the benchmark: FILES .proto files, each with
MESSAGES messages and one service, each file importing its predecessor and
using its types. Usage: gen_schema.py OUT_DIR [FILES] [MESSAGES]"""

import os
import sys


def main():
    out = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    messages = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    os.makedirs(os.path.join(out, "big"), exist_ok=True)
    for f in range(files):
        lines = ['syntax = "proto3";', "", f"package big.f{f};", ""]
        if f > 0:
            lines += [f'import "big/f{f - 1}.proto";', ""]
        lines += [
            "// A comment that a parser must skip, as real schemas have many.",
            f"enum Kind{f} {{",
            f"  KIND{f}_UNSPECIFIED = 0;",
            f"  KIND{f}_A = 1;",
            f"  KIND{f}_B = 2;",
            "}",
            "",
        ]
        for m in range(messages):
            prev = f"big.f{f - 1}.M{m}" if f > 0 else "google_free_placeholder"
            lines += [
                f"// Message {m} of file {f}.",
                f"message M{m} {{",
                "  string name = 1;",
                "  int64 id = 2;",
                "  repeated double values = 3;",
                f"  Kind{f} kind = 4;",
                "  map<string, int32> tags = 5;",
                "  oneof choice {",
                "    string text = 6;",
                "    bytes data = 7;",
                "  }",
                f"  M{(m + 1) % messages} next = 8;",
            ]
            if f > 0:
                lines.append(f"  {prev} previous = 9;")
            lines += ["}", ""]
        lines += [
            f"service Service{f} {{",
            f"  rpc Get(M0) returns (M1);",
            f"  rpc Watch(M2) returns (stream M3);",
            "}",
            "",
        ]
        with open(os.path.join(out, "big", f"f{f}.proto"), "w") as fh:
            fh.write("\n".join(lines))
    print(os.path.join(out, "big", f"f{files - 1}.proto"))


if __name__ == "__main__":
    main()
