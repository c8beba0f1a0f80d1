#!/usr/bin/env python3
"""A conformance testee that records: passes each request of the runner to
the real testee (the rest of the command line) and its answer back, and
appends both, length-prefixed as they went, to the file named first.
tests/cli/conformance.rs replays the recorded inputs through grpcx convert."""
import subprocess
import sys

record = open(sys.argv[1], "ab")
testee = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = stdin.read(4)
    if len(head) < 4:
        break
    request = head + stdin.read(int.from_bytes(head, "little"))
    testee.stdin.write(request)
    testee.stdin.flush()
    head = testee.stdout.read(4)
    response = head + testee.stdout.read(int.from_bytes(head, "little"))
    record.write(request + response)
    stdout.write(response)
    stdout.flush()
testee.stdin.close()
sys.exit(testee.wait())
