#!/usr/bin/env node
// grpcx test server implemented with connect-node (@connectrpc/connect-node):
// it answers Connect, gRPC-Web and gRPC on one port, so the tests can call it
// with `--protocol connect` and `--protocol grpcweb`, and compare grpcx with
// buf curl against it.
//
// It follows tests/servers/README.md: Greeter and Echo, the x-grpcx-*
// metadata (delay, fail, fail-after, fail-message, fail-details with the
// grpcx.test.v1.Note detail), echo-* copied to headers and trailers, one log
// line per call on stderr, `LISTENING 127.0.0.1:PORT` on stdout.
//
// No generated code: the schema is built at start-up from a descriptor set
// that protoc writes from proto/ (createFileRegistry). No reflection.
//
// Usage: node connect_server.mjs [--http1] [--port N] [--tls-cert PEM --tls-key PEM]
//   default: plaintext HTTP/2 (h2c); --http1: plaintext HTTP/1.1.
//   With TLS: HTTP/2 or HTTP/1.1 as ALPN picks; with --http1, HTTP/1.1 only.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

const here = dirname(fileURLToPath(import.meta.url));
const protoDir = join(here, "..", "..", "..", "proto");

const args = process.argv.slice(2);
const http1 = args.includes("--http1");
const portAt = args.indexOf("--port");
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
const flag = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : null);
const tls = flag("--tls-cert") && { cert: readFileSync(flag("--tls-cert")), key: readFileSync(flag("--tls-key")) };

function loadRegistry() {
  const dir = mkdtempSync(join(tmpdir(), "grpcx-connect-"));
  const out = join(dir, "all.protoset");
  try {
    execFileSync("protoc", [
      `--descriptor_set_out=${out}`,
      "--include_imports",
      "-I", protoDir,
      "helloworld.proto",
      "grpcx/test/v1/everything.proto",
      "grpcx/test/v1/note.proto",
    ]);
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const registry = loadRegistry();
const noteDesc = registry.getMessage("grpcx.test.v1.Note");

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new ConnectError("cancelled", Code.Canceled));
    });
  });

const codeNames = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12,
  INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** What the request metadata asks of one call. */
class Behaviour {
  constructor(ctx, path) {
    const get = (k) => ctx.requestHeader.get(k);
    this.ctx = ctx;
    this.delayMs = Number(get("x-grpcx-delay-ms") ?? 0);
    const fail = get("x-grpcx-fail");
    this.fail = fail === null ? null : /^\d+$/.test(fail) ? Number(fail) : codeNames[fail.toUpperCase()] ?? 2;
    this.failMessage = get("x-grpcx-fail-message") ?? "failed on request";
    this.failAfter = get("x-grpcx-fail-after") === null ? null : Number(get("x-grpcx-fail-after"));
    this.details = get("x-grpcx-fail-details") === "1";
    this.delayed = false;
    const echoed = [];
    ctx.requestHeader.forEach((value, key) => {
      if (key.startsWith("echo-")) {
        echoed.push(key);
        ctx.responseHeader.append(key, value);
        ctx.responseTrailer.append(key, value);
      }
    });
    // The deadline as the client sent it, so tests can see it arrived.
    const timeout = get("connect-timeout-ms") ?? get("grpc-timeout");
    const deadline = timeout === null ? "" : ` timeout=${timeout}`;
    process.stderr.write(`connect-node: ${path} [${echoed.join(",")}]${deadline}\n`);
  }

  async delay() {
    if (!this.delayed) {
      this.delayed = true;
      if (this.delayMs > 0) await sleep(this.delayMs, this.ctx.signal);
    }
  }

  /** Throws the x-grpcx-fail status (after the delay). */
  async maybeFail() {
    if (this.fail === null || this.fail === 0) return;
    await this.delay();
    const details = this.details ? [{ desc: noteDesc, value: { text: "detail", stars: 5 } }] : [];
    throw new ConnectError(this.failMessage, this.fail, undefined, details);
  }

  /** Server streaming: fail-after N sends N messages, then fails. */
  async *stream(replies) {
    if (this.fail !== null && this.failAfter === null) await this.maybeFail();
    let sent = 0;
    for (const reply of replies) {
      if (this.failAfter !== null && sent >= this.failAfter) break;
      await this.delay();
      yield reply;
      sent += 1;
    }
    await this.maybeFail();
  }
}

function greeter(router) {
  const desc = registry.getService("helloworld.Greeter");
  const path = (m) => `/helloworld.Greeter/${m}`;
  router.service(desc, {
    async sayHello(req, ctx) {
      const b = new Behaviour(ctx, path("SayHello"));
      await b.maybeFail();
      await b.delay();
      return { message: `Hello, ${req.name}!` };
    },
    async *sayHelloStreamReply(req, ctx) {
      const b = new Behaviour(ctx, path("SayHelloStreamReply"));
      const replies = [1, 2, 3].map((i) => ({ message: `Hello, ${req.name}! (${i} of 3)` }));
      yield* b.stream(replies);
    },
    async sayHelloClientStream(reqs, ctx) {
      const b = new Behaviour(ctx, path("SayHelloClientStream"));
      const names = [];
      for await (const req of reqs) names.push(req.name);
      await b.maybeFail();
      await b.delay();
      return { message: `Hello, ${names.length ? names.join(", ") : "nobody"}!` };
    },
    async *sayHelloBidiStream(reqs, ctx) {
      const b = new Behaviour(ctx, path("SayHelloBidiStream"));
      await b.maybeFail();
      for await (const req of reqs) {
        await b.delay();
        yield { message: `Hello, ${req.name}!` };
      }
    },
  });
}

function echo(router) {
  const desc = registry.getService("grpcx.test.v1.Echo");
  const path = (m) => `/grpcx.test.v1.Echo/${m}`;
  router.service(desc, {
    async echo(req, ctx) {
      const b = new Behaviour(ctx, path("Echo"));
      await b.maybeFail();
      await b.delay();
      return req;
    },
    async *stream(req, ctx) {
      const b = new Behaviour(ctx, path("Stream"));
      const count = req.count;
      const pad = "x".repeat(req.payloadSize);
      async function* chunks() {
        for (let seq = 0; seq < count; seq++) {
          if (seq > 0 && req.intervalMs > 0) await sleep(req.intervalMs, ctx.signal);
          yield { seq, pad };
        }
      }
      if (b.fail !== null && b.failAfter === null) await b.maybeFail();
      let sent = 0;
      for await (const chunk of chunks()) {
        if (b.failAfter !== null && sent >= b.failAfter) break;
        await b.delay();
        yield chunk;
        sent += 1;
      }
      await b.maybeFail();
    },
    async collect(reqs, ctx) {
      const b = new Behaviour(ctx, path("Collect"));
      let count = 0n;
      let bytes = 0n;
      for await (const chunk of reqs) {
        count += 1n;
        bytes += BigInt(chunk.pad.length);
      }
      await b.maybeFail();
      await b.delay();
      return { count, bytes };
    },
    async *chat(reqs, ctx) {
      const b = new Behaviour(ctx, path("Chat"));
      await b.maybeFail();
      for await (const req of reqs) {
        await b.delay();
        yield req;
      }
    },
  });
}

const handler = connectNodeAdapter({
  routes: (router) => {
    greeter(router);
    echo(router);
  },
});

let server;
if (tls) {
  server = http1
    ? https.createServer(tls, handler)
    : http2.createSecureServer({ ...tls, allowHTTP1: true }, handler);
} else {
  server = http1 ? http.createServer(handler) : http2.createServer(handler);
}
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING 127.0.0.1:${server.address().port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
