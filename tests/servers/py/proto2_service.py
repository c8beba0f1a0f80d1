"""The proto2 schema of tests/protos/proto2/ served by the grpcio test server.

grpcx.proto2.v1.Kitchen/Place answers a Receipt holding the order as the
server read it and, in `order_json`, the same order in protobuf's own JSON
mapping (python json_format), so a test can compare grpcx's JSON with the
reference in one call. When the order carries the `spice` extension, the
receipt carries the `Chef.chef` extension. The _pb2 modules are generated
at start-up with grpc_tools.protoc; importing them registers both files
(extras.proto too, which kitchen.proto does not import) in the default
descriptor pool that reflection reads.
"""

import importlib
import os
import sys
import tempfile

import grpc_tools
from google.protobuf import json_format
from grpc_tools import protoc

PROTO_DIR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "protos", "proto2"))
FILES = ["grpcx/proto2/v1/kitchen.proto", "grpcx/proto2/v1/extras.proto"]
SERVICE = "grpcx.proto2.v1.Kitchen"


def _compile():
    """Generates and imports the modules; returns (kitchen_pb2, kitchen_pb2_grpc, extras_pb2)."""
    wkt_dir = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory(prefix="grpcx-py-proto2-") as out:
        rc = protoc.main(["grpc_tools.protoc", "-I", PROTO_DIR, "-I", wkt_dir,
                          "--python_out", out, "--grpc_python_out", out, *FILES])
        if rc != 0:
            sys.exit(f"proto2_service.py: protoc failed on {PROTO_DIR} (exit {rc})")
        sys.path.insert(0, out)
        try:
            names = ["kitchen_pb2", "kitchen_pb2_grpc", "extras_pb2"]
            return [importlib.import_module("grpcx.proto2.v1." + n) for n in names]
        finally:
            sys.path.remove(out)


def add(server, unary):
    """Adds the Kitchen service (its handlers wrapped by `unary`); returns its name."""
    kitchen_pb2, kitchen_pb2_grpc, extras_pb2 = _compile()

    class Kitchen:
        SERVICE = SERVICE

        @unary
        def Place(self, request, context):
            receipt = kitchen_pb2.Receipt()
            receipt.order.CopyFrom(request)
            receipt.order_json = json_format.MessageToJson(request, indent=None)
            if request.HasExtension(extras_pb2.spice):
                receipt.Extensions[extras_pb2.Chef.chef].name = "chef of " + \
                    request.Extensions[extras_pb2.spice]
            return receipt

    kitchen_pb2_grpc.add_KitchenServicer_to_server(Kitchen(), server)
    return [SERVICE]
