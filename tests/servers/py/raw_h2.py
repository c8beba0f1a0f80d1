#!/usr/bin/env python3
"""A gRPC server written at the level of HTTP/2 frames, for the tests that
judge what grpcx puts on the wire and how it reads frames
(tests/cli/stack.rs). Every call on a connection gets an empty message and
status OK; what the client sent is reported on stderr, one line per
finding:

    raw-h2: headers STREAM BYTES   the size of each request's header block
    raw-h2: order FIRST            --ping-after-window: which came first
                                   after the window opened, "data" or "ack"

--ping-after-window: once the client has used up the connection's first
65,535 bytes of window (a request larger than that is waiting), one write
opens 16 KiB more and sends a PING, as grpc-go's BDP estimator does. The
client may answer the PING before or after the data the window lets out.

--trickle: each answer goes out one byte a write, so the client reads its
frames in pieces, headers and payloads cut anywhere.

--oversized: each answer's message comes in a DATA frame of 16,385 bytes,
one more than the client's SETTINGS_MAX_FRAME_SIZE allows.

    tests/servers/py/raw_h2.py [--ping-after-window] [--trickle] [--oversized]
    # prints "LISTENING 127.0.0.1:PORT" once ready
"""
import argparse
import socket
import struct
import sys
import threading
import time

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PROBE = b"grpcx-pi"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """A header as a literal without indexing, new name, no Huffman."""
    name, value = name.encode(), value.encode()
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def say(line):
    print(f"raw-h2: {line}", file=sys.stderr, flush=True)


class Connection:
    def __init__(self, sock, args):
        self.sock = sock
        self.buf = b""
        self.ping_after_window = args.ping_after_window
        self.trickle = args.trickle
        self.oversized = args.oversized
        self.received = 0  # DATA bytes, all streams
        self.probed = False
        self.watching = False  # after the probe: the first of data or ack
        self.ended = set()

    def read_frame(self):
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    head, self.buf = self.buf[:9 + length], self.buf[9 + length:]
                    stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                    return head[3], head[4], stream, head[9:]
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def answer(self, stream):
        headers = b"\x88" + literal("content-type", "application/grpc")
        trailers = literal("grpc-status", "0")
        message = b"\x00\x00\x00\x00\x00"
        if self.oversized:  # a message of 16,377 zero bytes fills it
            message = b"\x00" + struct.pack(">I", 16380) + b"\x0a\xf9\x7f" + bytes(16377)
        answer = (
            frame(HEADERS, END_HEADERS, stream, headers)
            + frame(DATA, 0, stream, message)
            + frame(HEADERS, END_HEADERS | END_STREAM, stream, trailers)
        )
        if not self.trickle:
            self.sock.sendall(answer)
            return
        for byte in answer:
            self.sock.sendall(bytes([byte]))
            time.sleep(0.001)

    def serve(self):
        preface = b""
        while len(preface) < len(PREFACE):
            chunk = self.sock.recv(len(PREFACE) - len(preface))
            if not chunk:
                return
            preface += chunk
        self.sock.sendall(frame(SETTINGS, 0, 0))
        while True:
            got = self.read_frame()
            if got is None:
                return
            kind, flags, stream, payload = got
            if kind == SETTINGS and not flags & ACK:
                self.sock.sendall(frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                self.sock.sendall(frame(PING, ACK, 0, payload))
            elif kind == PING and payload == PROBE and self.watching:
                say("order ack")
                self.watching = False
                self.open_wide()
            elif kind == HEADERS:
                say(f"headers {stream} {len(payload)}")
                if flags & END_STREAM:
                    self.answer(stream)
            elif kind == DATA:
                self.received += len(payload)
                if payload and self.watching:
                    say("order data")
                    self.watching = False
                    self.open_wide()
                if self.ping_after_window and not self.probed and self.received >= 65535:
                    # The client is out of window: open some, and ask.
                    self.probed = True
                    self.watching = True
                    self.sock.sendall(
                        frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 16384))
                        + frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", 16384))
                        + frame(PING, 0, 0, PROBE)
                    )
                if flags & END_STREAM:
                    self.answer(stream)

    def open_wide(self):
        """Lets every request through from here on."""
        self.sock.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 30))
                          + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 1 << 30)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ping-after-window", action="store_true")
    parser.add_argument("--trickle", action="store_true")
    parser.add_argument("--oversized", action="store_true")
    args = parser.parse_args()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(f"LISTENING 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(sock, args)
        threading.Thread(target=lambda: (conn.serve(), sock.close()), daemon=True).start()


if __name__ == "__main__":
    main()
