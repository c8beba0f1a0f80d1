#!/usr/bin/env python3
"""A loopback TCP proxy that models a long link: every byte is delivered
DELAY_MS after it was read, in each direction, so the round trip grows by
2 x DELAY_MS. Bytes keep their order and are never held back by a window of
the proxy's own (each direction is an unbounded queue), so the link has the
bandwidth of loopback and the latency of the delay, as a long fat pipe does.

    bench/delay_proxy.py --delay-ms 10 --upstream 127.0.0.1:50051
    # prints "LISTENING 127.0.0.1:PORT" once ready; Ctrl-C or SIGTERM stops it

The TCP handshake of a real link costs one round trip before the client can
send: the proxy accepts at once on loopback, so it holds the client's bytes
until 1.5 round trips after the accept (what a real client's first byte
would take to reach the server). A call that connects and makes one request
therefore costs 2 RTT, as it would across the link.

--count-connections prints "CONNECTION n" on stderr as each client connects.

--trace FILE appends a line per HTTP/2 frame (h2c only) to FILE, each side
as the proxy reads it, in ms since the connection was accepted: DATA as the
bytes so far in that direction, the others by name with what they carry
(a WINDOW_UPDATE's increment, SETTINGS' values, a PING or its ACK). It is
how a window's growth round trip by round trip can be read:

    bench/delay_proxy.py --delay-ms 10 --upstream ADDR --trace /tmp/frames
    grep -v DATA /tmp/frames
"""
import argparse
import asyncio
import signal
import sys
import time


NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
         5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}


class Trace:
    """--trace: the frames of one direction of one connection, as read."""

    def __init__(self, out, side, since, preface):
        self.out, self.side, self.since = out, side, since
        self.skip = 24 if preface else 0  # the client's connection preface
        self.buf = b""
        self.data = 0

    def feed(self, chunk):
        self.buf += chunk
        if self.skip:
            taken = min(self.skip, len(self.buf))
            self.buf, self.skip = self.buf[taken:], self.skip - taken
        at = (time.monotonic() - self.since) * 1000
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            kind, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload, self.buf = self.buf[9:9 + length], self.buf[9 + length:]
            name = NAMES.get(kind, f"type {kind}")
            if kind == 0:
                self.data += length
                what = f"{length} bytes, {self.data} so far"
            elif kind == 8:
                what = f"+{int.from_bytes(payload, 'big')}"
            elif kind == 4:
                what = "ACK" if flags & 1 else " ".join(
                    f"{int.from_bytes(payload[i:i + 2], 'big')}={int.from_bytes(payload[i + 2:i + 6], 'big')}"
                    for i in range(0, len(payload) - 5, 6))
            elif kind == 6:
                what = ("ACK " if flags & 1 else "") + payload.hex()
            else:
                what = f"flags {flags:#x}"
            self.out.write(f"{at:9.1f} {self.side} stream {stream} {name} {what}\n")
        self.out.flush()


async def pump(reader, writer, delay, not_before=0.0, trace=None):
    """Copies reader to writer, each chunk released `delay` seconds after it
    arrived. A second task drains the queue so reading never waits on it."""
    queue = asyncio.Queue()

    async def release():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()

    releaser = asyncio.create_task(release())
    try:
        while True:
            data = await reader.read(1 << 16)
            if trace is not None and data:
                trace.feed(data)
            queue.put_nowait((max(time.monotonic() + delay, not_before), data or None))
            if not data:
                break
        await releaser
    except (ConnectionError, OSError):
        releaser.cancel()
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay")
    parser.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count-connections", action="store_true")
    parser.add_argument("--trace", metavar="FILE", help="log HTTP/2 frames to FILE")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    delay = args.delay_ms / 1000.0
    connections = 0
    trace_file = open(args.trace, "a") if args.trace else None

    async def handle(client_reader, client_writer):
        nonlocal connections
        connections += 1
        accepted = time.monotonic()
        if args.count_connections:
            print(f"CONNECTION {connections}", file=sys.stderr, flush=True)
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        for w in (client_writer, server_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                import socket
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up = down = None
        if trace_file is not None:
            up = Trace(trace_file, f"c{connections} C>S", accepted, preface=True)
            down = Trace(trace_file, f"c{connections} S>C", accepted, preface=False)
        try:
            await asyncio.gather(
                pump(client_reader, server_writer, delay, accepted + 3 * delay, up),
                pump(server_reader, client_writer, delay, trace=down),
            )
        except asyncio.CancelledError:
            pass

    server = await asyncio.start_server(handle, "127.0.0.1", args.port)
    print(f"LISTENING 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
