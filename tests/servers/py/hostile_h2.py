#!/usr/bin/env python3
"""An HTTP/2 server that answers every stream with something a broken or
hostile gRPC server might send, chosen at random from a seed, for the test
that no answer makes grpcx panic, hang or print more than a one-line error
(tests/cli/hostile.rs).

Each stream gets one of: a reset with any error code; a trailers-only
answer with any grpc-status text; a GOAWAY with any code and last stream id
(the connection is then closed, as RFC 9113 says it must be); or headers
(any :status and content-type, sometimes a grpc-encoding) followed by gRPC
frames that may have unknown flags, impossible lengths, a cut-off end or
random bytes, split anywhere, then trailers, a bare end of stream, a reset
or a closed socket. Reflection requests get reflection answers that are
random bytes, the wrong kind of answer, or helloworld.proto's descriptor
mutated byte by byte.

Connection N takes its choices from random.Random(SEED * 100000 + N), and
its number is logged on stderr, so a failure can be followed.

    tests/servers/py/hostile_h2.py SEED PROTOSET
    # PROTOSET: a FileDescriptorSet whose first file is helloworld.proto
    # prints "LISTENING 127.0.0.1:PORT" once ready
"""
import base64
import random
import socket
import struct
import sys
import threading

import h2.config
import h2.connection
import h2.events

STATUSES = [b"0", b"1", b"2", b"4", b"13", b"14", b"16", b"17", b"99", b"-1", b"", b"abc", b"0 ",
            b"18446744073709551616"]
MESSAGES = [b"", b"hi", b"%ZZ%", b"%e2%98%83", b"%FF%FE", b"%", b"%0", b"a" * 5000]


def varint(n):
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([low])
        out += bytes([low | 0x80])


def field(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def grpc_frame(payload, flags=0):
    return bytes([flags]) + struct.pack(">I", len(payload)) + payload


def noise(rng, most):
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, most)))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randint(0, 3)
        if op == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1 and data:
            del data[rng.randrange(len(data))]
        elif op == 2:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif len(data) > 2:
            at, start = rng.randrange(len(data)), rng.randrange(len(data))
            data[at:at] = data[start:start + rng.randint(1, 20)]
    return bytes(data)


def reflection_answer(rng, descriptor):
    """A ServerReflectionResponse, or something that is not quite one."""
    kind = rng.randint(0, 5)
    if kind == 0:  # a list of services, whatever was asked
        name = rng.choice([b"helloworld.Greeter", b"", b"\xff\xfe", b"a" * 300])
        return field(6, field(1, field(1, name)) + field(1, field(1, b"x.Y")))
    if kind == 1:  # the descriptor, mutated
        return field(4, field(1, mutate(rng, descriptor)))
    if kind == 2:  # the descriptor, then a mutated copy of it
        return field(4, field(1, descriptor) + field(1, mutate(rng, descriptor)))
    if kind == 3:  # an error answer with any code
        return field(7, varint(1 << 3) + varint(rng.randint(0, 20)) + field(2, b"nope"))
    if kind == 4:  # the whole answer mutated
        return mutate(rng, field(4, field(1, descriptor)))
    return noise(rng, 40)


def trailers(rng):
    block = []
    if rng.random() < 0.9:
        block.append((b"grpc-status", rng.choice(STATUSES)))
    if rng.random() < 0.5:
        block.append((b"grpc-message", rng.choice(MESSAGES)))
    if rng.random() < 0.2:
        block.append((b"grpc-status-details-bin", rng.choice([b"!!!", b"AAAA", base64.b64encode(noise(rng, 30))])))
    return block or [(b"x-other", b"1")]


class Closed(Exception):
    pass


def answer(rng, conn, sock, stream, path, descriptor):
    choice = rng.randint(0, 11)
    headers = [(b":status", rng.choice([b"200", b"200", b"200", b"404", b"500", b"503", b"429", b"301"]))]
    content_type = rng.choice([b"application/grpc", b"application/grpc+proto", b"text/html",
                               b"application/json", None])
    if content_type:
        headers.append((b"content-type", content_type))
    if rng.random() < 0.2:
        headers.append((b"grpc-encoding", rng.choice([b"gzip", b"zstd", b"br", b"identity", b"deflate"])))
    if choice == 0:
        conn.reset_stream(stream, error_code=rng.randint(0, 15))
        return
    if choice == 1:
        conn.send_headers(stream, headers + trailers(rng), end_stream=True)
        return
    if choice == 2:
        last = rng.choice([0, stream, max(stream - 2, 0)])
        conn.close_connection(error_code=rng.randint(0, 15), last_stream_id=last)
        raise Closed
    conn.send_headers(stream, headers)
    if "ServerReflection" in path:
        payloads = [reflection_answer(rng, descriptor) for _ in range(rng.randint(1, 3))]
    else:
        payloads = [rng.choice([b"\x0a\x05Hello", b"\x0a\xff\xff", b"\x0a\x02\xc3\x28", noise(rng, 30)])
                    for _ in range(rng.randint(0, 4))]
    data = b""
    for payload in payloads:
        shape = rng.randint(0, 9)
        if shape == 0:  # any flags
            data += bytes([rng.randrange(256)]) + struct.pack(">I", len(payload)) + payload
        elif shape == 1:  # cut short
            data += grpc_frame(payload)[:rng.randint(0, 5 + len(payload))]
        elif shape == 2:  # a length far past what follows
            data += b"\x00" + struct.pack(">I", rng.choice([0xFFFFFFFF, 1 << 30, 5_000_000])) + payload
        elif shape == 3:  # marked compressed
            data += grpc_frame(payload, 1)
        else:
            data += grpc_frame(payload)
    sent = 0
    while sent < len(data):
        size = min(rng.randint(1, len(data) - sent), conn.local_flow_control_window(stream),
                   conn.max_outbound_frame_size)
        if size <= 0:
            break
        conn.send_data(stream, data[sent:sent + size])
        sent += size
    if choice == 3:
        raise Closed
    if choice == 4:
        conn.end_stream(stream)
    elif choice == 5:
        conn.reset_stream(stream, error_code=rng.randint(0, 15))
    else:
        conn.send_headers(stream, trailers(rng), end_stream=True)


def serve(sock, number, seed, descriptor):
    rng = random.Random(seed * 100000 + number)
    print(f"hostile-h2: connection {number}", file=sys.stderr, flush=True)
    config = h2.config.H2Configuration(client_side=False, header_encoding=None,
                                       validate_inbound_headers=False, validate_outbound_headers=False,
                                       normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    paths = {}
    try:
        sock.sendall(conn.data_to_send())
        while True:
            received = sock.recv(65536)
            if not received:
                return
            for event in conn.receive_data(received):
                if isinstance(event, h2.events.RequestReceived):
                    paths[event.stream_id] = dict(event.headers).get(b":path", b"").decode("latin1")
                    continue
                if isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                # Reflection is answered at its first request, other calls
                # once the client half-closes.
                ended = isinstance(event, h2.events.StreamEnded)
                reflection = isinstance(event, h2.events.DataReceived) and "Reflection" in paths.get(event.stream_id, "")
                if (ended or reflection) and event.stream_id in paths:
                    try:
                        answer(rng, conn, sock, event.stream_id, paths.pop(event.stream_id), descriptor)
                    except Closed:
                        sock.sendall(conn.data_to_send())
                        return
            sock.sendall(conn.data_to_send())
    except Exception as err:  # the h2 library refusing what was drawn ends the connection
        print(f"hostile-h2: connection {number}: {type(err).__name__}", file=sys.stderr, flush=True)
    finally:
        sock.close()


def first_file(descriptor_set):
    """The first FileDescriptorProto of a FileDescriptorSet (field 1)."""
    if descriptor_set[:1] != b"\x0a":
        sys.exit("hostile-h2: the protoset does not start with a file")
    length, at, shift = 0, 1, 0
    while True:
        byte = descriptor_set[at]
        at += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return descriptor_set[at:at + length]


def main():
    seed = int(sys.argv[1])
    with open(sys.argv[2], "rb") as protoset:
        descriptor = first_file(protoset.read())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(f"LISTENING 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    number = 0
    while True:
        sock, _ = listener.accept()
        number += 1
        threading.Thread(target=serve, args=(sock, number, seed, descriptor), daemon=True).start()


if __name__ == "__main__":
    main()
