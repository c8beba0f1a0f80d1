#!/usr/bin/env python3
"""grpcx test server implemented with Python grpcio.

One of the "other implementation" servers the integration tests run grpcx
against; it follows the contract in tests/servers/README.md:

- serves every method of proto/ (helloworld.Greeter, grpcx.test.v1.Echo and
  the package-less Hello and greet services) on 127.0.0.1, port 0 by default;
- prints `LISTENING 127.0.0.1:PORT` on stdout once listening;
- honours the x-grpcx-* request metadata (delay, failure, rich status
  details) and copies echo-* metadata to the response headers and trailers;
- serves reflection v1alpha only (as grpcio-reflection does), knowing every
  file under proto/, including note.proto, which nothing imports;
- logs one line per call on stderr and exits cleanly on SIGTERM / SIGINT.

The Python code for proto/ is generated at start-up with grpc_tools.protoc
into a temporary directory. Install the dependencies with
`pip install -r tests/servers/py/requirements.txt`.
"""

import argparse
import functools
import importlib
import itertools
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures

# grpc core logs TLS handshake failures and such at INFO level on stderr; keep
# stderr to our one line per call (errors still show). Must precede the import.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import grpc  # noqa: E402
import grpc_tools  # noqa: E402
from google.protobuf import any_pb2  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha.reflection import ReflectionServicer  # noqa: E402
from grpc_status import rpc_status  # noqa: E402
from grpc_tools import protoc  # noqa: E402

import proto2_service  # noqa: E402
import editions  # noqa: E402  (tests/servers/py/editions.py)

PROTO_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "proto"))
REFLECTION_SERVICE = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"].full_name
DEFAULT_FAIL_MESSAGE = "failed on request"

# Generated modules, filled in by load_protos(): "helloworld_pb2" -> module.
pb = {}


def load_protos(proto_dir=PROTO_DIR):
    """Compiles every .proto under proto/ into a temporary directory and imports it.

    All *_pb2 modules are imported so that their files land in the default
    descriptor pool, which the reflection service reads.
    """
    files = sorted(
        os.path.relpath(os.path.join(root, name), proto_dir)
        for root, _, names in os.walk(proto_dir) for name in names if name.endswith(".proto"))
    wkt_dir = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory(prefix="grpcx-py-server-") as out:
        rc = protoc.main(["grpc_tools.protoc", "-I", proto_dir, "-I", wkt_dir,
                          "--python_out", out, "--grpc_python_out", out, *files])
        if rc != 0:
            sys.exit(f"server.py: protoc failed on {proto_dir} (exit {rc})")
        sys.path.insert(0, out)
        try:
            for path in files:
                base = path[:-len(".proto")].replace(os.sep, ".")
                for suffix in ("_pb2", "_pb2_grpc"):
                    name = base.rsplit(".", 1)[-1] + suffix
                    pb[name] = importlib.import_module(base + suffix)
        finally:
            sys.path.remove(out)


def parse_code(text):
    """A grpc.StatusCode from a number ("5") or a canonical name ("NOT_FOUND")."""
    text = text.strip()
    for code in grpc.StatusCode:
        if text == str(code.value[0]) or text.upper() == code.name:
            return code
    return None


def rich_status(code, message):
    """The google.rpc.Status that x-grpcx-fail-details asks for."""
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(error_details_pb2.ErrorInfo(
        reason="GRPCX_TEST", domain="grpcx.test", metadata={"key": "value"}))
    status.details.add().Pack(pb["note_pb2"].Note(text="detail", stars=5))
    # A type the client cannot know, built by hand.
    status.details.append(any_pb2.Any(
        type_url="type.googleapis.com/example.Unknown", value=b"\x01\x02"))
    return status


class Call:
    """One call: the behaviour its request metadata asks for, and its log line."""

    def __init__(self, method, context):
        self.method, self.context, self.peer = method, context, context.peer()
        self.started = time.monotonic()
        self.status = "CANCELLED"  # until the handler returns or aborts
        md = context.invocation_metadata()
        get = lambda key, default=None: next((v for k, v in md if k == key), default)  # noqa: E731
        self.echo = [(k, v) for k, v in md if k.startswith("echo-")]
        self.delay_ms = _int(get("x-grpcx-delay-ms"), 0)
        self.fail = None
        fail = get("x-grpcx-fail")
        if fail is not None:
            self.fail = parse_code(fail)
            self.message = get("x-grpcx-fail-message", DEFAULT_FAIL_MESSAGE)
            if self.fail is None:
                self.fail, self.message = grpc.StatusCode.INVALID_ARGUMENT, f"bad x-grpcx-fail: {fail}"
            elif self.fail == grpc.StatusCode.OK:
                self.fail = None  # "fail with OK" is just success
        self.fail_after = _int(get("x-grpcx-fail-after"), None)
        self.details = get("x-grpcx-fail-details") == "1"
        self.delayed = False
        context.add_callback(self.log)  # runs when the call ends, however it ends

    def start(self):
        """Sends the echo-* metadata as headers now, and sets it as trailers."""
        if self.echo:
            self.context.send_initial_metadata(self.echo)
            self.context.set_trailing_metadata(self.echo)

    def before_message(self):
        """Sleeps x-grpcx-delay-ms, once, before the first response message."""
        if not self.delayed:
            self.delayed = True
            if self.delay_ms > 0:
                time.sleep(self.delay_ms / 1000)

    def abort(self):
        """Ends the call with the x-grpcx-fail status (after the delay)."""
        self.before_message()
        trailers = list(self.echo)
        if self.details:
            trailers += rpc_status.to_status(rich_status(self.fail, self.message)).trailing_metadata
        self.context.set_trailing_metadata(trailers)
        self.status = self.fail.name
        self.context.abort(self.fail, self.message)  # raises

    def log(self):
        ms = (time.monotonic() - self.started) * 1000
        print(f"py-server: {self.method} {self.status} {ms:.1f}ms peer={self.peer}",
              file=sys.stderr, flush=True)


def _int(text, default):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def unary(handler):
    """Wraps a handler with a single response (unary or client streaming)."""
    @functools.wraps(handler)
    def wrapper(self, request, context):
        call = Call(f"/{self.SERVICE}/{handler.__name__}", context)
        try:
            call.start()
            if call.fail:
                call.abort()
            reply = handler(self, request, context)
            call.before_message()
            call.status = "OK"
            return reply
        except Exception:
            if call.status == "CANCELLED" and context.is_active():
                call.status = "UNKNOWN"
            raise
    return wrapper


def streaming(handler):
    """Wraps a generator handler (server or bidi streaming).

    Replies are passed through one at a time, so the handler stays lazy and
    gRPC's flow control reaches it; x-grpcx-fail-after N lets N through first.
    """
    @functools.wraps(handler)
    def wrapper(self, request, context):
        call = Call(f"/{self.SERVICE}/{handler.__name__}", context)
        try:
            call.start()
            replies = handler(self, request, context)
            if call.fail:
                # islice never pulls reply N+1, so a bidi call fails without
                # waiting for another request (and at once when N is 0).
                replies = itertools.islice(replies, max(0, call.fail_after or 0))
            for reply in replies:
                call.before_message()
                yield reply
            if call.fail:
                call.abort()
            call.status = "OK"
        except Exception:
            if call.status == "CANCELLED" and context.is_active():
                call.status = "UNKNOWN"
            raise
    return wrapper


def hello_reply(text):
    """A HelloReply with every string field set to `text`: the proto has only
    `message`, but a test may serve a --proto-dir whose HelloReply has more."""
    reply = pb["helloworld_pb2"].HelloReply()
    for field in reply.DESCRIPTOR.fields:
        if field.type == field.TYPE_STRING:
            try:
                setattr(reply, field.name, text)
            except (AttributeError, TypeError):
                pass  # a repeated field
    return reply


# --log-arrivals: a line per request as it arrives, with a monotonic time in ms.
LOG_ARRIVALS = False


def log_arrival(what):
    if LOG_ARRIVALS:
        print(f"py-server: arrived {what} at {time.monotonic() * 1000:.1f}", file=sys.stderr, flush=True)


class ArrivalLog(grpc.ServerInterceptor):
    """--log-arrivals: logs every call as it arrives, served or not (a v1
    reflection stream, which this server lacks, too)."""

    def intercept_service(self, continuation, handler_call_details):
        log_arrival(handler_call_details.method)
        return continuation(handler_call_details)


class Greeter:
    SERVICE = "helloworld.Greeter"

    @unary
    def SayHello(self, request, context):
        return hello_reply(f"Hello, {request.name}!")

    @streaming
    def SayHelloStreamReply(self, request, context):
        for i in range(1, 4):
            yield hello_reply(f"Hello, {request.name}! ({i} of 3)")

    @unary
    def SayHelloClientStream(self, request_iterator, context):
        names = ", ".join(r.name for r in request_iterator) or "nobody"
        return hello_reply(f"Hello, {names}!")

    @streaming
    def SayHelloBidiStream(self, request_iterator, context):
        for request in request_iterator:
            yield hello_reply(f"Hello, {request.name}!")


class Echo:
    SERVICE = "grpcx.test.v1.Echo"

    @unary
    def Echo(self, request, context):
        return request

    @streaming
    def Stream(self, request, context):
        Chunk = pb["everything_pb2"].Chunk
        pad = "x" * request.payload_size
        for seq in range(request.count):  # lazy: one chunk at a time
            if seq and request.interval_ms:
                time.sleep(request.interval_ms / 1000)
            yield Chunk(seq=seq, pad=pad)

    @unary
    def Collect(self, request_iterator, context):
        count = size = 0
        for chunk in request_iterator:
            count += 1
            size += len(chunk.pad.encode("utf-8"))
        return pb["everything_pb2"].Summary(count=count, bytes=size)

    @streaming
    def Chat(self, request_iterator, context):
        yield from request_iterator


class Hello:
    SERVICE = "Hello"

    @unary
    def Hello(self, request, context):
        return pb["nopkg_pb2"].Ping(text="pong: " + request.text)


class greet:  # noqa: N801 - named as in nopkg.proto
    SERVICE = "greet"

    @unary
    def hello(self, request, context):
        return pb["nopkg_pb2"].Ping(text="pong: " + request.text)


class Reflection(ReflectionServicer):
    """grpcio-reflection's v1alpha servicer as it is, plus a log line per
    call. It cannot find method symbols ("pkg.Service.Method") on its own,
    and that is kept: clients must ask for the service instead. The x-grpcx-*
    metadata is deliberately ignored here: it drives the test services only.
    """

    def ServerReflectionInfo(self, request_iterator, context):
        call = Call(f"/{REFLECTION_SERVICE}/ServerReflectionInfo", context)

        def logged(requests):
            for request in requests:
                log_arrival(f"reflection {request.WhichOneof('message_request')}")
                yield request
        yield from super().ServerReflectionInfo(logged(request_iterator), context)
        call.status = "OK"


def bind(server, address, args):
    """Adds the listening port, with TLS (and client certificates) if asked; returns it."""
    if not args.tls_cert:
        return server.add_insecure_port(address)

    def read(path):
        with open(path, "rb") as f:
            return f.read()
    ca = read(args.client_ca) if args.client_ca else None
    creds = grpc.ssl_server_credentials([(read(args.tls_key), read(args.tls_cert))],
                                        root_certificates=ca, require_client_auth=ca is not None)
    return server.add_secure_port(address, creds)


def main():
    parser = argparse.ArgumentParser(description="grpcx test server (Python grpcio)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument("--no-reflection", action="store_true", help="serve no reflection service")
    parser.add_argument("--proto-dir", default=PROTO_DIR,
                        help="serve the .proto files of this directory instead of proto/ "
                             "(same file and message names; for schema-change tests)")
    parser.add_argument("--log-arrivals", action="store_true",
                        help="log each call and each reflection request as it arrives, with a time")
    parser.add_argument("--tls-cert", help="server certificate (PEM)")
    parser.add_argument("--tls-key", help="server private key (PEM)")
    parser.add_argument("--client-ca", help="CA (PEM) that client certificates must chain to")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key) or (args.client_ca and not args.tls_cert):
        parser.error("--tls-cert and --tls-key go together; --client-ca needs both")

    global LOG_ARRIVALS
    LOG_ARRIVALS = args.log_arrivals
    load_protos(args.proto_dir)
    # SO_REUSEPORT is on by default in grpcio: turn it off so a taken --port fails.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                         interceptors=[ArrivalLog()] if LOG_ARRIVALS else [],
                         options=[("grpc.so_reuseport", 0)])
    pb["helloworld_pb2_grpc"].add_GreeterServicer_to_server(Greeter(), server)
    pb["everything_pb2_grpc"].add_EchoServicer_to_server(Echo(), server)
    pb["nopkg_pb2_grpc"].add_HelloServicer_to_server(Hello(), server)
    pb["nopkg_pb2_grpc"].add_greetServicer_to_server(greet(), server)
    extra = proto2_service.add(server, unary)  # tests/protos/proto2, not proto/
    extra += editions.register(server, unary, streaming)  # tests/protos/editions
    if not args.no_reflection:
        # Registered by hand rather than with enable_server_reflection(), so
        # that only v1alpha is served whatever grpcio-reflection version is used.
        names = [Greeter.SERVICE, Echo.SERVICE, Hello.SERVICE, greet.SERVICE, REFLECTION_SERVICE, *extra]
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(Reflection(names), server)

    address = f"127.0.0.1:{args.port}"
    try:
        port = bind(server, address, args)
    except RuntimeError:  # grpcio raises on a failed bind
        port = 0
    if not port:
        sys.exit(f"server.py: cannot listen on {address}")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    print(f"LISTENING 127.0.0.1:{port}", flush=True)
    stop.wait()
    server.stop(grace=0.5).wait()


if __name__ == "__main__":
    main()
