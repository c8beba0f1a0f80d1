#!/usr/bin/env python3
"""A reflection server that answers with broken descriptors, one kind of
breakage per run (--case), so the tests can check that no reflection answer
makes grpcx panic. It serves no other service: the schema it describes is
tests/protos/proto2/ (grpcx.proto2.v1.Kitchen), broken as asked:

  truncated        the service's file cut in half
  bit-flipped      a length in the service's file made to run past the end
  unknown-syntax   syntax = "proto4"
  dangling-type    a field whose type nothing defines
  self-import      the file imports itself
  cyclic-import    kitchen.proto and extras.proto import each other
  missing-import   an import the server cannot give
  duplicate-files  two different files of one name in one answer
  no-extension-numbers  nothing broken, but all_extension_numbers_of_type
                   fails, as on servers that do not implement it: an
                   extension can only be found by its name

Follows the start-up contract of tests/servers/README.md (LISTENING line,
port 0, exits on SIGTERM). Reflection v1alpha only, like server.py.
"""

import argparse
import os
import signal
import sys
import tempfile
import threading
from concurrent import futures

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import grpc  # noqa: E402
import grpc_tools  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from grpc_tools import protoc  # noqa: E402

PROTO_DIR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "protos", "proto2"))
KITCHEN = "grpcx/proto2/v1/kitchen.proto"
EXTRAS = "grpcx/proto2/v1/extras.proto"
SERVICE = "grpcx.proto2.v1.Kitchen"
CASES = ["truncated", "bit-flipped", "unknown-syntax", "dangling-type", "self-import",
         "cyclic-import", "missing-import", "duplicate-files", "no-extension-numbers"]


def compiled():
    """The schema's files by name, as protoc writes them."""
    wkt_dir = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory(prefix="grpcx-bad-reflection-") as out:
        path = os.path.join(out, "set.pb")
        rc = protoc.main(["grpc_tools.protoc", "-I", PROTO_DIR, "-I", wkt_dir,
                          f"--descriptor_set_out={path}", "--include_imports", KITCHEN, EXTRAS])
        if rc != 0:
            sys.exit(f"bad_reflection.py: protoc failed (exit {rc})")
        with open(path, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
    return {f.name: f for f in files}


def broken(case):
    """What the server answers: the bytes of each file it knows, by name, and
    the list of encoded files it answers a symbol request with."""
    files = compiled()
    kitchen, extras = files[KITCHEN], files[EXTRAS]
    if case == "unknown-syntax":
        kitchen.syntax = "proto4"
    elif case == "dangling-type":
        kitchen.message_type[1].field[0].type_name = ".grpcx.proto2.v1.Nope"
    elif case == "self-import":
        kitchen.dependency.append(KITCHEN)
    elif case == "cyclic-import":
        kitchen.dependency.append(EXTRAS)
    elif case == "missing-import":
        kitchen.dependency.append("grpcx/proto2/v1/gone.proto")
    encoded = {name: f.SerializeToString() for name, f in files.items()}
    answer = [encoded[KITCHEN]]
    if case == "truncated":
        answer = [encoded[KITCHEN][: len(encoded[KITCHEN]) // 2]]
    elif case == "bit-flipped":
        data = bytearray(encoded[KITCHEN])
        data[1] |= 0x7f  # the file name's length, now past the end
        answer = [bytes(data)]
    elif case == "duplicate-files":
        other = descriptor_pb2.FileDescriptorProto()
        other.CopyFrom(kitchen)
        other.package = "elsewhere"
        answer = [encoded[KITCHEN], other.SerializeToString()]
    elif case == "cyclic-import":
        answer = [encoded[KITCHEN], encoded[EXTRAS]]
    return encoded, answer


class Reflection(reflection_pb2_grpc.ServerReflectionServicer):
    def __init__(self, case):
        self.files, self.answer = broken(case)

    def ServerReflectionInfo(self, request_iterator, context):
        for request in request_iterator:
            response = reflection_pb2.ServerReflectionResponse(original_request=request)
            kind = request.WhichOneof("message_request")
            if kind == "list_services":
                response.list_services_response.service.add(name=SERVICE)
            elif kind == "file_containing_symbol" and \
                    request.file_containing_symbol.startswith(SERVICE):
                response.file_descriptor_response.file_descriptor_proto.extend(self.answer)
            elif kind == "file_containing_symbol" and \
                    request.file_containing_symbol.startswith("grpcx.proto2.v1."):
                response.file_descriptor_response.file_descriptor_proto.extend(
                    [self.files[EXTRAS], self.files[KITCHEN]])
            elif kind == "file_by_filename" and request.file_by_filename in self.files:
                response.file_descriptor_response.file_descriptor_proto.append(
                    self.files[request.file_by_filename])
            else:
                response.error_response.error_code = grpc.StatusCode.NOT_FOUND.value[0]
                response.error_response.error_message = "not found"
            print(f"bad-reflection: {kind}", file=sys.stderr, flush=True)
            yield response


def main():
    parser = argparse.ArgumentParser(description="a reflection server with broken answers")
    parser.add_argument("--case", required=True, choices=CASES)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.so_reuseport", 0)])
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(Reflection(args.case), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    print(f"LISTENING 127.0.0.1:{port}", flush=True)
    stop.wait()
    server.stop(grace=0.2).wait()


if __name__ == "__main__":
    main()
