#!/usr/bin/env python3
"""The Protobuf Editions schema of the grpcio test server, and protobuf's
own JSON mapping of it, for the integration tests to compare grpcx with.

- `register(server, unary, streaming)` (called by server.py) serves
  grpcx.editions.v1.Things and .Laters from tests/protos/editions/, each
  with four methods: Echo (unary: the request back), Repeat (server
  streaming: the request twice), Gather (client streaming: the requests
  merged in order) and Chat (bidi: each request back); Laters also has
  Flatten (unary: a Flat back). A request whose
  `label` (Thing) or `text` (Later) is "unknown-size" comes back with the
  number 9 in its closed `size` field, on the wire only (protobuf keeps it
  among the unknown fields).
- `python3 editions.py json TYPE JSON` prints JSON as protobuf's
  json_format writes it after parsing JSON into TYPE and through the wire
  and back, or exits 1 with json_format's error.

The _pb2 modules are generated at start-up with grpc_tools.protoc (which
compiles editions; Debian's protoc 3.21 does not).
"""

import importlib
import os
import sys
import tempfile

import grpc_tools
from grpc_tools import protoc

PROTO_DIR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "protos", "editions"))
FILES = ["grpcx/editions/v1/things.proto", "grpcx/editions/v1/later.proto"]
SERVICES = ["grpcx.editions.v1.Things", "grpcx.editions.v1.Laters"]

pb = {}


def load():
    """Compiles the editions schema into a temporary directory and imports it."""
    if pb:
        return pb
    wkt_dir = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory(prefix="grpcx-py-editions-") as out:
        rc = protoc.main(["grpc_tools.protoc", "-I", PROTO_DIR, "-I", wkt_dir,
                          "--python_out", out, "--grpc_python_out", out, *FILES])
        if rc != 0:
            sys.exit(f"editions.py: protoc failed on {PROTO_DIR} (exit {rc})")
        sys.path.insert(0, out)
        try:
            for path in FILES:
                base = path[:-len(".proto")].replace("/", ".")
                for suffix in ("_pb2", "_pb2_grpc"):
                    pb[base.rsplit(".", 1)[-1] + suffix] = importlib.import_module(base + suffix)
        finally:
            sys.path.remove(out)
    return pb


def with_unknown_size(message, marker):
    """The message with size = 9 on the wire, when `marker` asks for it."""
    if marker == "unknown-size":
        number = message.DESCRIPTOR.fields_by_name["size"].number
        message.MergeFromString(bytes([number << 3, 9]))  # unknown to a closed enum
    return message


def servicer(name, marker_field, unary, streaming):
    """A servicer class for one of the two services."""
    def marker(request):
        return getattr(request, marker_field)

    class Servicer:
        SERVICE = name

        @unary
        def Echo(self, request, context):
            return with_unknown_size(request, marker(request))

        @streaming
        def Repeat(self, request, context):
            for _ in range(2):
                yield with_unknown_size(request, marker(request))

        @unary
        def Gather(self, request_iterator, context):
            merged = None
            for request in request_iterator:
                if merged is None:
                    merged = type(request)()
                merged.MergeFrom(request)
            return merged

        @streaming
        def Chat(self, request_iterator, context):
            for request in request_iterator:
                yield with_unknown_size(request, marker(request))

        @unary
        def Flatten(self, request, context):
            return request

    return Servicer


def register(server, unary, streaming):
    """Adds both services to `server`; returns their names for reflection."""
    load()
    things = pb["things_pb2_grpc"]
    laters = pb["later_pb2_grpc"]
    things.add_ThingsServicer_to_server(servicer(SERVICES[0], "label", unary, streaming)(), server)
    laters.add_LatersServicer_to_server(servicer(SERVICES[1], "text", unary, streaming)(), server)
    return list(SERVICES)


def main():
    from google.protobuf import json_format, symbol_database
    if len(sys.argv) != 4 or sys.argv[1] != "json":
        sys.exit("usage: editions.py json TYPE JSON")
    load()
    cls = symbol_database.Default().GetSymbol(sys.argv[2])
    try:
        message = json_format.Parse(sys.argv[3], cls())
    except json_format.ParseError as err:
        print(f"json_format: {err}", file=sys.stderr)
        sys.exit(1)
    back = cls.FromString(message.SerializeToString())
    print(json_format.MessageToJson(back, indent=None))


if __name__ == "__main__":
    main()
