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
"""
import argparse
import asyncio
import signal
import sys
import time


async def pump(reader, writer, delay, not_before=0.0):
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
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    delay = args.delay_ms / 1000.0
    connections = 0

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
        try:
            await asyncio.gather(
                pump(client_reader, server_writer, delay, accepted + 3 * delay),
                pump(server_reader, client_writer, delay),
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
