#!/usr/bin/env node
// bench/mux-vs-http2: should the tunnel's multiplexer be node:http2 instead of our own (src/mux)?
// (issue 12 §2). Both transports carry S concurrent streams over ONE mutual-TLS connection on
// 127.0.0.1 (ECDSA P-256 certificates from xport's dist/pki), client and server in two separate
// Node processes (so CPU and memory are per process), the server echoing every chunk:
//
//   mux    our Mux (dist/mux) over a TLS socket: the client opens S streams with an OPEN header
//          like xsh's, the server accepts and echoes, exactly as the tunnel uses it.
//   h2     node:http2 (secure, ALPN h2): the client opens S long-lived POST streams with a duplex
//          body (`endStream: false`), the server answers 200 and echoes each DATA chunk on the
//          response. Same per-stream window as the mux (256 KiB, initialWindowSize) and a 16 MiB
//          connection window on both sides (the mux has no connection-wide window on the wire).
//
// Loads, each on S = 1, 50 and 500 streams, every stream in a closed loop: `pingpong` (one 40-byte
// message, the size of a Redis GET and its reply, then wait for its echo), `burst` (16 such
// messages written back to back as 16 writes, then wait for all 640 bytes) and `burst1w` (the same
// 16 messages as one write, as a pipelining client's commands reach the tunnel). Per run: round
// trips/s (bursts: messages/s, 16 per round trip), p50 round-trip latency at S=1, CPU µs per message of each process
// (process.cpuUsage around the timed window), bytes written and read+write syscalls per message
// (/proc/self/io). With S=500 also: stream opens/s (500 opened at once, until every one is accepted)
// and RSS per idle stream after a full GC (--expose-gc) on both sides.
// Every config runs --reps times (default 3), interleaved (rep → S → both transports, alternating
// which goes first); the table gives medians and min–max.
//
// Usage: npm run build && node bench/mux-vs-http2.js [--json] [--reps N] [--seconds S] [--quick] [--root DIR]
// (--root: the Mux comes from DIR/dist/mux, another built checkout; default this one)
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import tls from 'node:tls';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';
import { median, percentile, round } from './stats.js';

const SELF = fileURLToPath(import.meta.url);
// --root DIR takes the Mux from another built checkout (to see what a change to src/mux buys).
const rootAt = process.argv.indexOf('--root');
const ROOT = path.resolve(rootAt >= 0 ? process.argv[rootAt + 1] : path.join(path.dirname(SELF), '..'));
const { Mux } = await import(pathToFileURL(path.join(ROOT, 'dist/mux/index.js')).href);
const STREAM_WINDOW = 256 * 1024; // the mux's DEFAULT_STREAM_WINDOW; h2 gets the same
const H2_CONNECTION_WINDOW = 16 * 1024 * 1024;
const BURST = 16;
// A Redis GET as it travels (40 bytes); the echo stands for a reply of the same size.
const MESSAGE = Buffer.from('*2\r\n$3\r\nGET\r\n$20\r\nkey:0000000000000001\r\n');
// What xsh puts in an OPEN header, and the same facts as h2 request headers.
const MUX_HEADER = { clientAddr: 'local', database: 'cache', dbUser: 'alice' };
const H2_HEADERS = { ':method': 'POST', ':path': '/db/cache', 'x-db-user': 'alice', 'x-client-addr': 'local' };

// The loads: [name, messages per round trip, written as one chunk]. `burst` writes its 16 messages
// one by one (16 writes per stream per turn: what per-write framing costs); `burst1w` writes them
// as one 640-byte chunk, which is what the tunnel sees from a pipelining client (redis-benchmark
// -P 16 sends its 16 commands in one write, xsh reads them in one chunk and writes one).
const LOADS = [
  ['pingpong', 1, false],
  ['burst', BURST, false],
  ['burst1w', BURST, true],
];
const LOAD_LABEL = { pingpong: 'ping-pong (rt/s)', burst: 'burst 16 writes (msg/s)', burst1w: 'burst 1 write (msg/s)' };

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const fullGc = () => {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
};
/** io reads this process's syscall and byte counters (every socket read and write counts). */
function io() {
  const t = readFileSync('/proc/self/io', 'utf8');
  const v = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(t)[1]);
  return { wchar: v('wchar'), rchar: v('rchar'), syscalls: v('syscr') + v('syscw') };
}
/** mark is what a process records at each edge of a timed window. */
const mark = () => {
  const c = process.cpuUsage();
  return { cpuUs: c.user + c.system, io: io(), t: performance.now() };
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ─── Server process: echo every stream ──────────────────────────────────────────────────────────

function serve(cfg) {
  let live = 0;
  const echo = (s) => {
    live++;
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => {});
    s.on('close', () => live--);
  };
  const tlsOpts = { key: cfg.key, cert: cfg.cert, ca: cfg.ca, requestCert: true, rejectUnauthorized: true };
  let server;
  if (cfg.transport === 'mux') {
    server = tls.createServer({ ...tlsOpts, ALPNProtocols: ['xport-bench-mux'] }, (socket) => {
      socket.setNoDelay(true);
      const mux = new Mux(socket, { localIds: 'even', peerName: 'bench client' });
      mux.onStream((stream) => echo(stream));
      mux.on('close', () => {});
    });
  } else {
    server = http2.createSecureServer({
      ...tlsOpts,
      settings: { initialWindowSize: STREAM_WINDOW, maxConcurrentStreams: 10_000 },
      maxSessionMemory: 64,
    });
    server.on('secureConnection', (socket) => socket.setNoDelay(true));
    server.on('session', (session) => {
      session.on('error', () => {});
      const widen = () => session.setLocalWindowSize(H2_CONNECTION_WINDOW);
      if (session.connecting) session.once('connect', widen);
      else widen();
    });
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      echo(stream);
    });
  }
  server.listen(0, '127.0.0.1', () => process.send({ type: 'port', port: server.address().port }));
  process.on('message', (m) => {
    if (m.type === 'mark') process.send({ type: 'mark', mark: mark() });
    else if (m.type === 'rss') {
      fullGc();
      process.send({ type: 'rss', rss: rssKiB(), live });
    }
  });
}

// ─── Client process: open streams, drive the loads, time the window ────────────────────────────

/** connectMux / connectH2 return { open(): Promise<Duplex>, close() } over one TLS connection. */
async function connectMux(cfg) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: cfg.port,
    key: cfg.key,
    cert: cfg.cert,
    ca: cfg.ca,
    ALPNProtocols: ['xport-bench-mux'],
    checkServerIdentity: () => undefined,
  });
  await once(socket, 'secureConnect');
  socket.setNoDelay(true);
  const mux = new Mux(socket, { localIds: 'odd', peerName: 'bench server' });
  mux.on('close', (err) => err && fail(err));
  return { open: () => mux.openStream(MUX_HEADER), close: () => mux.close(), framesOut: () => mux.stats().framesOut };
}

async function connectH2(cfg) {
  let socket;
  const session = http2.connect(`https://127.0.0.1:${cfg.port}`, {
    createConnection: () => {
      socket = tls.connect({
        host: '127.0.0.1',
        port: cfg.port,
        key: cfg.key,
        cert: cfg.cert,
        ca: cfg.ca,
        ALPNProtocols: ['h2'],
        checkServerIdentity: () => undefined,
      });
      return socket;
    },
    settings: { initialWindowSize: STREAM_WINDOW },
    peerMaxConcurrentStreams: 10_000,
    maxSessionMemory: 64,
  });
  session.on('error', fail);
  await once(session, 'connect');
  if (session.alpnProtocol !== 'h2') throw new Error(`h2 not negotiated: ${session.alpnProtocol}`);
  socket.setNoDelay(true);
  session.setLocalWindowSize(H2_CONNECTION_WINDOW);
  const open = () =>
    new Promise((resolve, reject) => {
      const req = session.request(H2_HEADERS, { endStream: false });
      req.once('response', (h) => (h[':status'] === 200 ? resolve(req) : reject(new Error(`status ${h[':status']}`))));
      req.once('error', reject);
    });
  return { open, close: () => session.close() };
}

function fail(err) {
  console.error(`mux-vs-http2 client: ${err.stack || err}`);
  process.exit(1);
}

/** ask sends m to the parent and resolves with its answer (the parent answers in order). */
function ask(m) {
  return new Promise((resolve) => {
    process.once('message', resolve);
    process.send(m);
  });
}

/** roundTrip sends one message on each stream and waits for every echo (establishes them all). */
async function roundTrip(streams) {
  await Promise.all(
    streams.map(
      (s) =>
        new Promise((resolve) => {
          let got = 0;
          const onData = (d) => {
            got += d.length;
            if (got >= MESSAGE.length) {
              s.off('data', onData);
              resolve();
            }
          };
          s.on('data', onData);
          s.write(MESSAGE);
        }),
    ),
  );
}

async function closeAll(streams) {
  await Promise.all(
    streams.map((s) => {
      const closed = once(s, 'close');
      s.resume();
      s.end();
      return closed;
    }),
  );
}

/**
 * load drives every stream in a closed loop (per messages, then wait for all their echoes) for
 * warmupMs + windowMs and reports the window: round trips, client and server marks, latencies.
 */
async function load(conn, streams, per, oneWrite, warmupMs, windowMs) {
  const expect = per * MESSAGE.length;
  const joined = Buffer.concat(Array.from({ length: per }, () => MESSAGE));
  let running = true;
  let count = 0;
  let inflight = 0;
  let drained;
  const latNs = streams.length === 1 ? [] : null;
  const offs = streams.map((s) => {
    let got = 0;
    let t0 = 0n;
    const fire = () => {
      got = 0;
      inflight++;
      if (latNs) t0 = process.hrtime.bigint();
      if (oneWrite) s.write(joined);
      else for (let i = 0; i < per; i++) s.write(MESSAGE);
    };
    const onData = (d) => {
      got += d.length;
      if (got < expect) return;
      if (got > expect) fail(new Error(`stream echoed ${got} bytes for ${expect}`));
      count++;
      inflight--;
      if (latNs) latNs.push(Number(process.hrtime.bigint() - t0));
      if (running) fire();
      else if (inflight === 0) drained();
    };
    s.on('data', onData);
    fire();
    return () => s.off('data', onData);
  });
  await sleep(warmupMs);
  const c0 = mark();
  const f0 = conn.framesOut?.();
  const n0 = count;
  const l0 = latNs?.length ?? 0;
  const s0 = (await ask({ type: 'server-mark' })).mark;
  await sleep(windowMs);
  const c1 = mark();
  const f1 = conn.framesOut?.();
  const n1 = count;
  const l1 = latNs?.length ?? 0;
  const s1 = (await ask({ type: 'server-mark' })).mark;
  await new Promise((resolve) => {
    drained = resolve;
    running = false;
  });
  for (const off of offs) off();
  const rts = n1 - n0;
  const msgs = rts * per;
  const seconds = (c1.t - c0.t) / 1000;
  const out = {
    roundTripsPerSec: rts / seconds,
    messagesPerSec: msgs / seconds,
    clientCpuUsPerMsg: (c1.cpuUs - c0.cpuUs) / msgs,
    serverCpuUsPerMsg: (s1.cpuUs - s0.cpuUs) / msgs,
    clientCpuShare: (c1.cpuUs - c0.cpuUs) / 1000 / (c1.t - c0.t),
    serverCpuShare: (s1.cpuUs - s0.cpuUs) / 1000 / (s1.t - s0.t),
    clientBytesOutPerMsg: (c1.io.wchar - c0.io.wchar) / msgs,
    serverBytesOutPerMsg: (s1.io.wchar - s0.io.wchar) / msgs,
    clientSyscallsPerMsg: (c1.io.syscalls - c0.io.syscalls) / msgs,
    serverSyscallsPerMsg: (s1.io.syscalls - s0.io.syscalls) / msgs,
  };
  // The mux counts its frames: DATA plus what flow control and opens add (h2's are not exposed).
  if (f0 !== undefined) out.clientFramesOutPerMsg = (f1 - f0) / msgs;
  if (latNs) {
    const w = latNs.slice(l0, l1);
    out.p50Ms = percentile(w, 50) / 1e6;
    out.p99Ms = percentile(w, 99) / 1e6;
  }
  return out;
}

async function client(cfg) {
  const conn = cfg.transport === 'mux' ? await connectMux(cfg) : await connectH2(cfg);
  const openMany = (n) => Promise.all(Array.from({ length: n }, () => conn.open()));
  const result = { transport: cfg.transport, streams: cfg.streams };
  let streams;
  if (cfg.extras) {
    // Memory per idle stream, on a fresh process: warm the open/echo/close code up first so the
    // JIT's code is not counted, then open S streams, one round trip each, settle, GC, read RSS.
    const warm = await openMany(20);
    await roundTrip(warm);
    await closeAll(warm);
    await sleep(200);
    fullGc();
    const c0 = rssKiB();
    const s0 = (await ask({ type: 'server-rss' })).rss;
    streams = await openMany(cfg.streams);
    await roundTrip(streams);
    await sleep(300);
    fullGc();
    const c1 = rssKiB();
    const s1 = await ask({ type: 'server-rss' });
    if (s1.live !== cfg.streams) throw new Error(`server holds ${s1.live} streams, expected ${cfg.streams}`);
    result.clientKiBPerIdleStream = (c1 - c0) / cfg.streams;
    result.serverKiBPerIdleStream = (s1.rss - s0) / cfg.streams;
  } else {
    streams = await openMany(cfg.streams);
  }
  for (const [name, per, oneWrite] of LOADS) result[name] = await load(conn, streams, per, oneWrite, cfg.warmupMs, cfg.windowMs);
  if (cfg.extras) {
    // Open rate: batches of S opened at once, timed until the last is accepted; closed untimed.
    await closeAll(streams);
    let opened = 0;
    let ms = 0;
    for (let b = 0; b < cfg.openBatches; b++) {
      const t0 = performance.now();
      const batch = await openMany(cfg.streams);
      ms += performance.now() - t0;
      opened += batch.length;
      await closeAll(batch);
    }
    result.opensPerSec = opened / (ms / 1000);
  } else {
    await closeAll(streams);
  }
  conn.close();
  return result;
}

// ─── Parent: certificates, interleaved runs, table ─────────────────────────────────────────────

function makeCerts() {
  const ca = CertificateAuthority.create({ type: 'db', clusterName: 'bench', algorithm: 'ecdsa-p256' });
  const leaf = (cn, eku) => {
    const k = generateKeyPair('ecdsa-p256');
    const c = ca.issue({
      publicKey: k.publicKey,
      commonName: cn,
      ipAddresses: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      extKeyUsage: [eku],
    });
    return { key: k.privateKeyPem, cert: c.certPem };
  };
  return { server: leaf('localhost', 'serverAuth'), client: leaf('alice', 'clientAuth'), ca: ca.certPem };
}

const children = new Set();
function spawnRole(role) {
  const child = fork(SELF, ['--role', role, '--root', ROOT], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) stop(c);
    process.exit(130);
  });
}

/** next resolves with child's next IPC message, or rejects when it exits first. */
function next(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`bench child exited with ${code} before answering`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m);
    });
  });
}

async function runPair(certs, transport, streams, opts) {
  const server = spawnRole('server');
  const client = spawnRole('client');
  try {
    server.send({ transport, ...certs.server, ca: certs.ca });
    const { port } = await next(server);
    client.send({ transport, port, streams, extras: streams === 500, ...certs.client, ca: certs.ca, ...opts });
    for (;;) {
      const m = await next(client);
      if (m.type === 'result') return m.result;
      if (m.type === 'server-mark') {
        server.send({ type: 'mark' });
        client.send(await next(server));
      } else if (m.type === 'server-rss') {
        server.send({ type: 'rss' });
        client.send(await next(server));
      } else throw new Error(`unexpected message ${JSON.stringify(m)}`);
    }
  } finally {
    stop(client);
    stop(server);
  }
}

const TRANSPORTS = ['mux', 'h2'];
const LABEL = { mux: 'our mux', h2: 'node:http2' };
const COUNTS = [1, 50, 500];

function summarize(runs) {
  const pick = (xs) => {
    const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
    return v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v), runs: v.map((x) => round(x, 4)) } : null;
  };
  const rows = [];
  for (const S of COUNTS) {
    for (const t of TRANSPORTS) {
      const mine = runs.filter((r) => r.transport === t && r.streams === S);
      const row = { transport: t, streams: S };
      for (const [loadName] of LOADS) {
        row[loadName] = {};
        for (const k of Object.keys(mine[0][loadName])) row[loadName][k] = pick(mine.map((r) => r[loadName][k]));
      }
      for (const k of ['opensPerSec', 'clientKiBPerIdleStream', 'serverKiBPerIdleStream']) if (mine[0][k] !== undefined) row[k] = pick(mine.map((r) => r[k]));
      rows.push(row);
    }
  }
  return rows;
}

const fmtN = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const cell = (s, f = fmtN) => (s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : '–');

function table(rows) {
  const out = [];
  out.push('| load | S | transport | rate | p50 ms (S=1) | client CPU µs/msg | server CPU µs/msg | client B out/msg | server syscalls/msg |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const [loadName] of LOADS) {
    for (const r of rows) {
      const l = r[loadName];
      const rate = loadName === 'pingpong' ? l.roundTripsPerSec : l.messagesPerSec;
      out.push(
        `| ${LOAD_LABEL[loadName]} | ${r.streams} | ${LABEL[r.transport]} | ${cell(rate)} | ${l.p50Ms ? cell(l.p50Ms, (x) => x.toFixed(3)) : ''} | ${cell(l.clientCpuUsPerMsg)} | ${cell(l.serverCpuUsPerMsg)} | ${cell(l.clientBytesOutPerMsg)} | ${cell(l.serverSyscallsPerMsg)} |`,
      );
    }
  }
  out.push('');
  out.push('| S=500 | transport | stream opens/s | client KiB per idle stream | server KiB per idle stream |');
  out.push('|---|---|---|---|---|');
  for (const r of rows.filter((x) => x.opensPerSec)) {
    out.push(`| | ${LABEL[r.transport]} | ${cell(r.opensPerSec)} | ${cell(r.clientKiBPerIdleStream)} | ${cell(r.serverKiBPerIdleStream)} |`);
  }
  return out.join('\n');
}

async function main() {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const quick = process.argv.includes('--quick');
  const reps = Number(arg('--reps', quick ? '1' : '3'));
  const seconds = Number(arg('--seconds', quick ? '0.5' : '1.5'));
  const opts = { warmupMs: Math.round(Math.max(200, seconds * 250)), windowMs: Math.round(seconds * 1000), openBatches: 4 };
  const json = process.argv.includes('--json');
  const log = (s) => (json ? process.stderr : process.stdout).write(s + '\n');
  const certs = makeCerts();
  const started = Date.now();
  const runs = [];
  let flip = false;
  for (let rep = 1; rep <= reps; rep++) {
    for (const S of COUNTS) {
      const order = flip ? [...TRANSPORTS].reverse() : TRANSPORTS;
      flip = !flip;
      for (const t of order) {
        const r = await runPair(certs, t, S, opts);
        log(`rep ${rep} S=${S} ${LABEL[t].padEnd(10)} ping-pong ${Math.round(r.pingpong.roundTripsPerSec)} rt/s, burst ${Math.round(r.burst.messagesPerSec)} / ${Math.round(r.burst1w.messagesPerSec)} msg/s${r.opensPerSec ? `, ${Math.round(r.opensPerSec)} opens/s, ${r.clientKiBPerIdleStream.toFixed(1)}/${r.serverKiBPerIdleStream.toFixed(1)} KiB per idle stream` : ''}`);
        runs.push({ rep, ...r });
      }
    }
  }
  const rows = summarize(runs);
  const env = { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => round(x, 2)), seconds: (Date.now() - started) / 1000 };
  const params = { muxRoot: ROOT, reps, windowMs: opts.windowMs, warmupMs: opts.warmupMs, messageBytes: MESSAGE.length, burst: BURST, streamWindow: STREAM_WINDOW, h2ConnectionWindow: H2_CONNECTION_WINDOW };
  // With --json the table goes to stderr, so stdout is the JSON alone.
  log('');
  log(table(rows));
  log(`\n${reps} interleaved runs per config, ${opts.windowMs} ms timed after ${opts.warmupMs} ms warm-up; ${env.seconds.toFixed(0)} s, load average ${env.loadavg.join(' ')}`);
  if (json) process.stdout.write(JSON.stringify({ env, params, rows, runs }, null, 2) + '\n');
}

const roleAt = process.argv.indexOf('--role');
if (roleAt >= 0) {
  const role = process.argv[roleAt + 1];
  // The parent is gone (killed, crashed): do not linger.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.once('message', (cfg) => {
    if (role === 'server') serve(cfg);
    else client(cfg).then((result) => process.send({ type: 'result', result }), fail);
  });
} else {
  main().catch((err) => {
    console.error(`mux-vs-http2: ${err.stack || err}`);
    for (const c of children) stop(c);
    process.exit(1);
  });
}
