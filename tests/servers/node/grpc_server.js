#!/usr/bin/env node
// grpcx test server implemented with grpc-js (@grpc/grpc-js), the schema
// loaded at start-up by @grpc/proto-loader and reflection served by
// @grpc/reflection.
//
// One of the "other implementation" servers the integration tests run grpcx
// against; it follows the contract in tests/servers/README.md:
//
// - serves every method of proto/ (helloworld.Greeter, grpcx.test.v1.Echo and
//   the package-less Hello and greet services) on 127.0.0.1, port 0 by default;
// - prints `LISTENING 127.0.0.1:PORT` on stdout once listening;
// - honours the x-grpcx-* request metadata (delay, failure, rich status
//   details) and copies echo-* metadata to the response headers and trailers;
// - serves reflection v1 and v1alpha as @grpc/reflection does: one file per
//   package (everything.proto and note.proto become one file), the
//   well-known types merged into one file, and every dependency list empty;
// - logs one line per call on stderr and exits on SIGTERM / SIGINT;
// - `--dangling-type` breaks helloworld.Greeter's reflected schema (see
//   danglingType), for clients that must show the services that do resolve;
// - `--lone-files` sends each reflected file without the files its types
//   come from, so that clients must fetch those by symbol.
//
// What grpc-js does differently from the other servers, on purpose kept:
// an error before any message is answered "trailers-only" (grpc-status in the
// single header block), and a success carries `grpc-message: OK`.
//
// Install with `npm ci` in this directory (.ci/run does).

'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { ReflectionService } = require('@grpc/reflection');
const protobuf = require('protobufjs');

const PROTO_DIR = path.resolve(__dirname, '..', '..', '..', 'proto');
const DEFAULT_FAIL_MESSAGE = 'failed on request';

// google.rpc.Status and ErrorInfo, for x-grpcx-fail-details; only the fields used.
const RPC = protobuf.parse(`
  syntax = "proto3";
  package google.rpc;
  message Any { string type_url = 1; bytes value = 2; }
  message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`, { keepCase: true }).root;

function protoFiles(dir, base = '') {
  return fs.readdirSync(path.join(dir, base), { withFileTypes: true })
    .flatMap((entry) => {
      const rel = base ? `${base}/${entry.name}` : entry.name;
      if (entry.isDirectory()) return protoFiles(dir, rel);
      return entry.name.endsWith('.proto') ? [rel] : [];
    })
    .sort();
}

function parseArgs(argv) {
  const args = { port: 0, reflection: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fatal(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--port': args.port = Number(value()); break;
      case '--no-reflection': args.reflection = false; break;
      case '--dangling-type': args.dangling = true; break;
      case '--lone-files': args.loneFiles = true; break;
      case '--tls-cert': args.tlsCert = value(); break;
      case '--tls-key': args.tlsKey = value(); break;
      case '--client-ca': args.clientCa = value(); break;
      default: fatal(`unknown argument ${flag}`);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) fatal('bad --port');
  if (Boolean(args.tlsCert) !== Boolean(args.tlsKey) || (args.clientCa && !args.tlsCert)) {
    fatal('--tls-cert and --tls-key go together; --client-ca needs both');
  }
  return args;
}

function fatal(message) {
  process.stderr.write(`grpc_server.js: ${message}\n`);
  process.exit(2);
}

// --- behaviour driven by request metadata -----------------------------------

const CODE_NAMES = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number')
    .map(([name, v]) => [name.replace(/_/g, '').toLowerCase(), v]),
);
CODE_NAMES.canceled = grpc.status.CANCELLED;
const NAME_OF = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]),
);

/** A status code from a number ("5"; out of range is UNKNOWN) or a name ("NOT_FOUND"). */
function parseCode(text) {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return n < 0 || n > 16 ? grpc.status.UNKNOWN : n;
  }
  return CODE_NAMES[text.replace(/_/g, '').toLowerCase()];
}

function first(md, key) {
  const values = md.get(key);
  return values.length ? String(values[0]) : undefined;
}

/** The google.rpc.Status that x-grpcx-fail-details asks for, encoded. */
function richStatus(code, message, noteType) {
  const pack = (type, fullName, value) => ({
    type_url: `type.googleapis.com/${fullName}`,
    value: type.encode(type.fromObject(value)).finish(),
  });
  const Status = RPC.lookupType('google.rpc.Status');
  return Buffer.from(Status.encode(Status.fromObject({
    code,
    message,
    details: [
      pack(RPC.lookupType('google.rpc.ErrorInfo'), 'google.rpc.ErrorInfo',
        { reason: 'GRPCX_TEST', domain: 'grpcx.test', metadata: { key: 'value' } }),
      pack(noteType, 'grpcx.test.v1.Note', { text: 'detail', stars: 5 }),
      { type_url: 'type.googleapis.com/example.Unknown', value: Buffer.from([1, 2]) },
    ],
  })).finish());
}

/** One call: what its request metadata asks for, and its log line. */
class Call {
  constructor(method, call, ctx) {
    this.method = method;
    this.call = call;
    this.started = process.hrtime.bigint();
    this.sent = 0;
    this.logged = false;
    const md = call.metadata;
    this.echo = new grpc.Metadata();
    for (const key of Object.keys(md.getMap())) {
      if (!key.startsWith('echo-')) continue;
      for (const value of md.get(key)) this.echo.add(key, value);
    }
    this.hasEcho = Object.keys(this.echo.getMap()).length > 0;
    const delay = Number.parseInt(first(md, 'x-grpcx-delay-ms') ?? '', 10);
    this.delayMs = Number.isFinite(delay) && delay > 0 ? delay : 0;
    this.delayed = false;
    this.fail = null;
    const fail = first(md, 'x-grpcx-fail');
    if (fail !== undefined) {
      const code = parseCode(fail.trim());
      if (code === undefined) {
        this.fail = { code: grpc.status.INVALID_ARGUMENT, details: `bad x-grpcx-fail: ${fail}` };
      } else if (code !== grpc.status.OK) {
        const message = first(md, 'x-grpcx-fail-message') ?? DEFAULT_FAIL_MESSAGE;
        this.fail = { code, details: message };
        const details = (first(md, 'x-grpcx-fail-details') ?? '').trim();
        if (details === '1' || details.toLowerCase() === 'true') {
          this.fail.statusDetails = richStatus(code, message, ctx.noteType);
        }
      }
    }
    const after = Number.parseInt(first(md, 'x-grpcx-fail-after') ?? '', 10);
    this.failAfter = Number.isFinite(after) && after > 0 ? after : 0;
    call.on('cancelled', () => this.log('CANCELLED'));
  }

  /** Sends the echo-* metadata as the response headers now. */
  start() {
    if (this.hasEcho) this.call.sendMetadata(this.echo.clone());
  }

  /** The trailers: the echo-* metadata. */
  trailers() {
    return this.echo.clone();
  }

  /** The failure as grpc-js takes it: code, details and trailers. */
  error() {
    const metadata = this.trailers();
    if (this.fail.statusDetails) metadata.set('grpc-status-details-bin', this.fail.statusDetails);
    this.log(NAME_OF[this.fail.code], this.fail.details);
    return { code: this.fail.code, details: this.fail.details, metadata };
  }

  /** Resolves after x-grpcx-delay-ms, the first time only. */
  async beforeMessage() {
    if (this.delayed) return;
    this.delayed = true;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }

  log(status, message) {
    if (this.logged) return;
    this.logged = true;
    const ms = Number(process.hrtime.bigint() - this.started) / 1e6;
    let line = `node-server: ${this.method} ${status} ${ms.toFixed(1)}ms peer=${this.call.getPeer()}`;
    if (this.sent > 0) line += ` sent=${this.sent}`;
    if (message !== undefined) line += ` message=${JSON.stringify(message)}`;
    process.stderr.write(`${line}\n`);
  }
}

/** A handler with one response (unary or client streaming): `body(call)` returns the reply. */
function single(method, ctx, body) {
  return (call, callback) => {
    const c = new Call(method, call, ctx);
    c.start();
    (async () => {
      const reply = c.fail ? null : await body(call);
      await c.beforeMessage();
      if (c.fail) {
        callback(c.error());
        return;
      }
      c.sent = 1;
      c.log('OK');
      callback(null, reply, c.trailers());
    })().catch((e) => {
      c.log('UNKNOWN', String(e));
      callback({ code: grpc.status.UNKNOWN, details: String(e) });
    });
  };
}

/**
 * A handler with a stream of responses (server or bidi streaming):
 * `body(call, send)` calls `await send(reply)` for each reply; send returns
 * false once the call should stop (a failure after N messages, a cancel).
 */
function streaming(method, ctx, body) {
  return (call) => {
    const c = new Call(method, call, ctx);
    c.start();
    let stopped = false;
    call.on('cancelled', () => { stopped = true; });
    const send = async (reply) => {
      if (stopped) return false;
      if (c.fail && c.sent >= c.failAfter) {
        stopped = true;
        return false;
      }
      await c.beforeMessage();
      if (stopped) return false;
      c.sent++;
      if (!call.write(reply)) await new Promise((resolve) => call.once('drain', resolve));
      return true;
    };
    (async () => {
      if (!c.fail || c.failAfter > 0) await body(call, send);
      if (call.cancelled) return;
      if (c.fail) {
        await c.beforeMessage();
        call.emit('error', c.error());
        return;
      }
      c.log('OK');
      call.end(c.trailers());
    })().catch((e) => {
      c.log('UNKNOWN', String(e));
      call.emit('error', { code: grpc.status.UNKNOWN, details: String(e) });
    });
  };
}

/** Every request of a client stream, as an array, once the client half-closes. */
function collect(call) {
  return new Promise((resolve, reject) => {
    const all = [];
    call.on('data', (m) => all.push(m));
    call.on('end', () => resolve(all));
    call.on('error', reject);
  });
}

/**
 * The requests of a client stream, for `for await`. Node's default iterator
 * destroys the whole duplex when the requests end, losing the replies still
 * to be written.
 */
function requests(call) {
  return call.iterator({ destroyOnReturn: false });
}

/** Calls `each(request)` for every request of a client stream, in order, one at a time. */
async function forEachRequest(call, each) {
  for await (const request of requests(call)) {
    if (!(await each(request))) {
      return;
    }
  }
}

// --- services -----------------------------------------------------------------

function services(ctx) {
  const greeter = {
    SayHello: single('/helloworld.Greeter/SayHello', ctx,
      (call) => ({ message: `Hello, ${call.request.name}!` })),
    SayHelloStreamReply: streaming('/helloworld.Greeter/SayHelloStreamReply', ctx,
      async (call, send) => {
        for (let i = 1; i <= 3; i++) {
          if (!(await send({ message: `Hello, ${call.request.name}! (${i} of 3)` }))) return;
        }
      }),
    SayHelloClientStream: single('/helloworld.Greeter/SayHelloClientStream', ctx,
      async (call) => {
        const names = (await collect(call)).map((r) => r.name).join(', ');
        return { message: `Hello, ${names || 'nobody'}!` };
      }),
    SayHelloBidiStream: streaming('/helloworld.Greeter/SayHelloBidiStream', ctx,
      (call, send) => forEachRequest(call, (r) => send({ message: `Hello, ${r.name}!` }))),
  };
  const echo = {
    // Echo and Chat carry raw bytes (see rawEcho): the request goes back unchanged.
    Echo: single('/grpcx.test.v1.Echo/Echo', ctx, (call) => call.request),
    Stream: streaming('/grpcx.test.v1.Echo/Stream', ctx, async (call, send) => {
      const { count, payload_size: size, interval_ms: interval } = call.request;
      const pad = 'x'.repeat(size);
      for (let seq = 0; seq < count; seq++) {
        if (seq && interval) await new Promise((resolve) => setTimeout(resolve, interval));
        if (!(await send({ seq, pad }))) return;
      }
    }),
    Collect: single('/grpcx.test.v1.Echo/Collect', ctx, async (call) => {
      let count = 0;
      let bytes = 0;
      for await (const chunk of requests(call)) {
        count++;
        bytes += Buffer.byteLength(chunk.pad || '', 'utf8');
      }
      return { count, bytes };
    }),
    Chat: streaming('/grpcx.test.v1.Echo/Chat', ctx,
      (call, send) => forEachRequest(call, (m) => send(m))),
  };
  const ping = (method) => single(method, ctx, (call) => ({ text: `pong: ${call.request.text}` }));
  return {
    'helloworld.Greeter': greeter,
    'grpcx.test.v1.Echo': echo,
    Hello: { Hello: ping('/Hello/Hello') },
    greet: { hello: ping('/greet/hello') },
  };
}

/** Echo/Echo and Echo/Chat pass the message bytes through, unknown fields and all. */
function rawEcho(definition) {
  const raw = {};
  for (const [name, method] of Object.entries(definition)) {
    raw[name] = name === 'Echo' || name === 'Chat'
      ? {
        ...method,
        requestDeserialize: (bytes) => bytes,
        responseSerialize: (bytes) => bytes,
      }
      : method;
  }
  return raw;
}

/**
 * --dangling-type: reflection describes helloworld.Greeter/SayHello as taking
 * `helloworld.Missing`, which no file defines, so that one service's schema
 * cannot be built (the calls themselves still work).
 */
function danglingType(packageDefinition) {
  const { FileDescriptorProto } = require('protobufjs/ext/descriptor');
  for (const entry of Object.values(packageDefinition)) {
    if (!Array.isArray(entry.fileDescriptorProtos)) continue;
    entry.fileDescriptorProtos = entry.fileDescriptorProtos.map((bytes) => {
      const file = FileDescriptorProto.decode(bytes);
      if (file.package !== 'helloworld') return bytes;
      file.service[0].method[0].inputType = '.helloworld.Missing';
      return FileDescriptorProto.encode(file).finish();
    });
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const packageDefinition = protoLoader.loadSync(protoFiles(PROTO_DIR), {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const noteType = protobuf.loadSync(path.join(PROTO_DIR, 'grpcx/test/v1/note.proto'))
    .lookupType('grpcx.test.v1.Note');
  const ctx = { noteType };

  const server = new grpc.Server();
  const impls = services(ctx);
  for (const [name, impl] of Object.entries(impls)) {
    const definition = packageDefinition[name];
    if (!definition) fatal(`proto/ has no service ${name}`);
    server.addService(name === 'grpcx.test.v1.Echo' ? rawEcho(definition) : definition, impl);
  }
  if (args.dangling) danglingType(packageDefinition);
  if (args.reflection) {
    const reflection = new ReflectionService(packageDefinition);
    if (args.loneFiles) {
      // Each answer holds the one file asked for, not the files its types
      // come from: a client must ask for those by symbol.
      reflection.v1.getFileDependencies = () => [];
      reflection.v1Alpha.getFileDependencies = () => [];
    }
    reflection.addToServer(server);
  }
  // Calls to methods the server lacks are answered by grpc-js (UNIMPLEMENTED), unlogged.

  let credentials = grpc.ServerCredentials.createInsecure();
  if (args.tlsCert) {
    const read = (p) => fs.readFileSync(p);
    credentials = grpc.ServerCredentials.createSsl(
      args.clientCa ? read(args.clientCa) : null,
      [{ private_key: read(args.tlsKey), cert_chain: read(args.tlsCert) }],
      Boolean(args.clientCa),
    );
  }
  server.bindAsync(`127.0.0.1:${args.port}`, credentials, (err, port) => {
    if (err) {
      process.stderr.write(`grpc_server.js: cannot listen on 127.0.0.1:${args.port}: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`LISTENING 127.0.0.1:${port}\n`);
  });
  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
