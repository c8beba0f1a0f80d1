#!/usr/bin/env python3
"""A grpcio client for grpcx's tests: calls one method of proto/ the way any
Python program would (generated message classes, grpcio's channel), and
prints what it saw as JSON lines, so that a test can check a server that
grpcx itself serves (`grpcx serve --stubs`) with a client grpcx did not write.

    client.py ADDR SERVICE/METHOD [-H NAME=VALUE]... [REQUEST_JSON...]

Each REQUEST_JSON is one request message (a unary or server-streaming method
takes the first). Printed, one JSON object per line:

    {"headers": {...}}                       the response headers
    {"message": {...}, "ms": N}              each response, N ms after the start
    {"code": "OK", "message": "...", "trailers": {...}, "details": [...]}

Details are the google.rpc.Status details, each as {"@type": ..., fields}.
Exit 0 whatever the status; 2 on a usage error.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import grpc  # noqa: E402
from google.protobuf import json_format, message_factory  # noqa: E402
from google.rpc import error_details_pb2  # noqa: E402,F401  (registers the detail types)
from grpc_status import rpc_status  # noqa: E402

import server  # noqa: E402  (tests/servers/py/server.py: compiles proto/)


def find_method(full):
    service_name, _, method_name = full.partition("/")
    for module in server.pb.values():
        descriptor = getattr(module, "DESCRIPTOR", None)
        if descriptor is None or not hasattr(descriptor, "services_by_name"):
            continue
        for service in descriptor.services_by_name.values():
            if service.full_name == service_name and method_name in service.methods_by_name:
                return service.methods_by_name[method_name]
    sys.exit(f"client.py: no method {full} in proto/")


def metadata_dict(pairs):
    return {key: value if isinstance(value, str) else value.hex()
            for key, value in (pairs or ()) if key != "date"}


def details_of(call):
    status = rpc_status.from_call(call)
    if status is None:
        return []
    out = []
    for detail in status.details:
        name = detail.type_url.rsplit("/", 1)[-1]
        try:
            cls = message_factory.GetMessageClass(
                json_format.descriptor_pool.Default().FindMessageTypeByName(name))
            message = cls()
            detail.Unpack(message)
            fields = json_format.MessageToDict(message)
        except (KeyError, TypeError):
            fields = {}
        out.append({"@type": detail.type_url, **fields})
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("addr")
    parser.add_argument("method")
    parser.add_argument("requests", nargs="*")
    parser.add_argument("-H", dest="headers", action="append", default=[])
    args = parser.parse_intermixed_args()
    server.load_protos()

    method = find_method(args.method)
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    requests = [json_format.Parse(text, request_class()) for text in args.requests]
    metadata = [tuple(h.split("=", 1)) for h in args.headers]
    path = "/" + args.method
    started = time.monotonic()

    def emit(obj):
        print(json.dumps(obj, sort_keys=True), flush=True)

    def show(message):
        emit({"message": json_format.MessageToDict(message),
              "ms": round((time.monotonic() - started) * 1000)})

    channel = grpc.insecure_channel(args.addr)
    serialize = lambda m: m.SerializeToString()  # noqa: E731
    deserialize = response_class.FromString
    kinds = (method.client_streaming, method.server_streaming)
    if kinds == (False, False):
        stub = channel.unary_unary(path, request_serializer=serialize, response_deserializer=deserialize)
        try:
            response, call = stub.with_call(requests[0], metadata=metadata)
            emit({"headers": metadata_dict(call.initial_metadata())})
            show(response)
        except grpc.RpcError as err:
            call = err
            emit({"headers": metadata_dict(call.initial_metadata())})
    elif kinds == (True, False):
        stub = channel.stream_unary(path, request_serializer=serialize, response_deserializer=deserialize)
        try:
            response, call = stub.with_call(iter(requests), metadata=metadata)
            emit({"headers": metadata_dict(call.initial_metadata())})
            show(response)
        except grpc.RpcError as err:
            call = err
            emit({"headers": metadata_dict(call.initial_metadata())})
    else:
        if kinds == (False, True):
            stub = channel.unary_stream(path, request_serializer=serialize, response_deserializer=deserialize)
            call = stub(requests[0], metadata=metadata)
        else:
            stub = channel.stream_stream(path, request_serializer=serialize, response_deserializer=deserialize)
            call = stub(iter(requests), metadata=metadata)
        emit({"headers": metadata_dict(call.initial_metadata())})
        try:
            for response in call:
                show(response)
        except grpc.RpcError:
            pass
    emit({"code": call.code().name, "message": call.details() or "",
          "trailers": {k: v for k, v in metadata_dict(call.trailing_metadata()).items()
                       if k != "grpc-status-details-bin"},
          "details": details_of(call)})
    channel.close()


if __name__ == "__main__":
    main()
