// bench/fuzz: `npm run fuzz` — a bounded fuzz run of the agent's Redis engine (dist/redis/engine.js)
// in front of a real mutual-TLS redis-server, under a role that allows only `+@read` minus
// `@dangerous` on db 0. It sends generated command names (real names mutated: case, NUL and other
// bytes, truncation, container forms, repeated options; and random bytes) as RESP and inline
// frames over several pipelined sessions, plus malformed RESP frames (each on its own session),
// and reports:
//
//   frames       how many frames went through the engine (default 1,000,000)
//   crashes      uncaught exceptions, engine.handle rejections, `-ERR xport: internal error`
//                replies, and sessions that lost replies (closed or stalled with replies owed)
//   stateChanges differences in Redis's state (every db's keys and DUMPed values, CONFIG GET *,
//                ACL LIST, FUNCTION LIST) between snapshots taken before, during and after —
//                the role allows no write, so any change is a denied command that ran
//
// Usage: node bench/fuzz.js [--frames N] [--seed S] [--connections C] [--json]
// Without --json, a full run (1,000,000 frames) writes its figures into bench/RESULTS.md ("## Fuzz",
// replaced in place; `npm run bench` keeps it). Exit code 1 if crashes or stateChanges are not zero. Must not import from test/ or src/; uses
// only dist/ and node:*. Every process it starts is stopped by PID (ProcessGroup).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessChecker } from '../dist/auth/rbac.js';
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';
import { builtinCommandTable, RedisEngine } from '../dist/redis/engine.js';
import { ReplyScanner } from '../dist/redis/resp/index.js';
import { decodeValue } from '../dist/redis/resp/value.js';
import { nullLogger } from '../dist/util/log.js';
import { freePort, ProcessGroup, waitForPort } from './processes.js';

// ─── Options ────────────────────────────────────────────────────────────────────────────────

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}
const FRAMES = option('frames', 1_000_000);
const SEED = option('seed', 20261206);
const CONNECTIONS = option('connections', 8);
const JSON_OUT = process.argv.includes('--json');
/** One malformed frame per this many frames, each on its own session (a protocol error ends it). */
const MALFORMED_EVERY = 1000;
const BATCH = 500;
const STALL_MS = 30_000;
const PASSWORD = 'fuzz-alice-pw';

const log = (msg) => {
  if (!JSON_OUT) process.stderr.write(`[fuzz] ${msg}\n`);
};

// ─── Deterministic generator ────────────────────────────────────────────────────────────────

let state = SEED >>> 0 || 1;
/** rand returns an integer in [0, n) (xorshift32: reproducible with --seed). */
function rand(n) {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}
const pick = (list) => list[rand(list.length)];

const table = builtinCommandTable();
// QUIT ends a session by design; everything else Redis knows is fair game.
const NAMES = table.names().filter((n) => n !== 'quit');
const CONTAINERS = NAMES.filter((n) => table.get(n).subcommands !== undefined);
const ODD_BYTES = [0x00, 0x20, 0x09, 0x0d, 0x0a, 0x7c, 0xff, 0x80, 0x22, 0x5c, 0x01, 0x7f];
const ARGS = ['k1', 'k2', 'k3', 'list', 'hash', 'zset', 'set', 'stream', '0', '1', '5', '15', '-1', '05', 'DB', 'db\0', 'REPLACE', '*', 'GET', 'SET', 'maxmemory', 'alice', '3', 'COUNT', '10', 'NX'];

const mixedCase = (s) => [...s].map((c) => (rand(2) ? c.toUpperCase() : c)).join('');

/** mutateName returns a name derived from a real one, or random bytes. */
function mutateName(name) {
  const b = Buffer.from(name, 'latin1');
  switch (rand(10)) {
    case 0:
      return Buffer.from(name.toUpperCase(), 'latin1');
    case 1:
      return Buffer.from(mixedCase(name), 'latin1');
    case 2: // NUL and a suffix: Redis's lookup may still find the command
      return Buffer.concat([b, Buffer.from([0]), Buffer.from(String(rand(100_000)))]);
    case 3: {
      const at = rand(b.length + 1);
      return Buffer.concat([b.subarray(0, at), Buffer.from([pick(ODD_BYTES)]), b.subarray(at)]);
    }
    case 4:
      return b.subarray(0, Math.max(1, rand(b.length)));
    case 5: {
      const len = 1 + rand(12);
      const out = Buffer.alloc(len);
      for (let i = 0; i < len; i++) out[i] = rand(4) === 0 ? rand(256) : 0x61 + rand(26);
      return out;
    }
    default:
      return b;
  }
}

/** nextArgs generates one command (argv as Buffers). */
function nextArgs() {
  const argv = [];
  if (rand(5) === 0 && CONTAINERS.length > 0) {
    const c = pick(CONTAINERS);
    const subs = [...table.get(c).subcommands.keys()].map((s) => s.slice(c.length + 1));
    argv.push(rand(3) ? Buffer.from(c) : mutateName(c), mutateName(pick(subs)));
  } else {
    argv.push(mutateName(pick(NAMES)));
  }
  const n = rand(5);
  for (let i = 0; i < n; i++) argv.push(rand(8) === 0 ? mutateName(pick(ARGS)) : Buffer.from(pick(ARGS), 'latin1'));
  // A literal QUIT (in any case) would end the session; make it something Redis does not know.
  if (argv[0].toString('latin1').toLowerCase() === 'quit') argv[0] = Buffer.from('quitx');
  return argv;
}

function encode(argv) {
  const parts = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** nextFrame returns one frame: mostly RESP, some inline (printable words only, as inline allows). */
function nextFrame() {
  const argv = nextArgs();
  if (rand(20) === 0) {
    const words = argv.map((a) => a.toString('latin1').replace(/[^A-Za-z0-9._|-]/g, '')).filter((w) => w !== '');
    if (words.length > 0 && words[0].toLowerCase() !== 'quit') return Buffer.from(words.join(' ') + '\r\n', 'latin1');
  }
  return encode(argv);
}

/** MALFORMED are frames the request parser must reject (each ends its session with a protocol error). */
function malformedFrame() {
  const forms = [
    () => Buffer.from(`*${rand(3) + 1}\r\n$x\r\n`),
    () => Buffer.from('*1\r\n$-7\r\n'),
    // (Not `*1\r\n$3\r\nabcdef\r\n`: Redis reads three bytes and skips the next two unchecked, so
    // that is the command `abc` followed by the inline command `f`, not a protocol error.)
    () => Buffer.from('*3000000000\r\n'),
    () => Buffer.from('*abc\r\n'),
    () => Buffer.from(`*2\r\n:${rand(100)}\r\n`),
    () => Buffer.from('*1\r\n$99999999999999999\r\n'),
    () => Buffer.from('"unbalanced quote\r\n'),
  ];
  return pick(forms)();
}

// ─── Redis fixture (mutual TLS, ACL) ────────────────────────────────────────────────────────

async function startRedis(group, dir) {
  const dbCa = CertificateAuthority.create({ type: 'db', clusterName: 'fuzz' });
  const clientCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'fuzz' });
  const now = Date.now();
  const serverKeys = generateKeyPair();
  const serverCert = dbCa.issue({
    publicKey: serverKeys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  const file = (name, body) => {
    const p = join(dir, name);
    writeFileSync(p, body, { mode: 0o600 });
    return p;
  };
  const plainPort = await freePort();
  const tlsPort = await freePort();
  const conf = [
    'bind 127.0.0.1',
    `port ${plainPort}`,
    `tls-port ${tlsPort}`,
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'loglevel warning',
    `tls-cert-file ${file('server.crt', serverCert.certPem)}`,
    `tls-key-file ${file('server.key', serverKeys.privateKeyPem)}`,
    `tls-ca-cert-file ${file('clients-ca.pem', clientCa.certPem)}`,
    'tls-auth-clients yes',
    `aclfile ${file('users.acl', `user alice on >${PASSWORD} ~* &* +@all\nuser default off\n`)}`,
  ];
  const confPath = file('redis.conf', conf.join('\n') + '\n');
  const proc = group.start('redis-server', 'redis-server', [confPath]);
  await waitForPort(plainPort, 'redis-server', 15_000, proc);
  const keys = generateKeyPair();
  const client = clientCa.issue({
    publicKey: keys.publicKey,
    commonName: 'alice',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['clientAuth'],
  });
  return { plainPort, tlsPort, dbCaPem: dbCa.certPem, client: { certPem: client.certPem, keyPem: keys.privateKeyPem } };
}

/** Plain is a small RESP client over the plain port (the harness's own view of Redis). */
class Plain {
  constructor(port) {
    this.socket = netConnect(port, '127.0.0.1');
    this.scanner = new ReplyScanner();
    this.waiters = [];
    this.socket.on('data', (d) => {
      this.scanner.push(d);
      for (let f = this.scanner.next(); f; f = this.scanner.next()) this.waiters.shift()?.(f.raw);
    });
  }
  ready() {
    return new Promise((r, j) => this.socket.once('connect', r).once('error', j));
  }
  call(...args) {
    return new Promise((resolve) => {
      this.waiters.push((raw) => resolve(decodeValue(Buffer.from(raw))));
      this.socket.write(encode(args.map((a) => Buffer.from(a))));
    });
  }
  close() {
    this.socket.destroy();
  }
}

const text = (v) => (Buffer.isBuffer(v) ? v.toString('latin1') : JSON.stringify(v, (_, x) => (x?.type === 'Buffer' ? Buffer.from(x.data).toString('latin1') : typeof x === 'bigint' ? String(x) : x)));

/** snapshot is Redis's state as the harness sees it: keys and values of every db, config, users, functions. */
async function snapshot(admin) {
  const out = [];
  for (let d = 0; d < 16; d++) {
    await admin.call('SELECT', String(d));
    const keys = (await admin.call('KEYS', '*')).map(text).sort();
    for (const k of keys) out.push(`db${d} ${k} ${text(await admin.call('DUMP', k))}`);
  }
  await admin.call('SELECT', '0');
  out.push(`config ${text(await admin.call('CONFIG', 'GET', '*'))}`);
  out.push(`acl ${text(await admin.call('ACL', 'LIST'))}`);
  out.push(`functions ${text(await admin.call('FUNCTION', 'LIST'))}`);
  return out;
}

function diff(a, b) {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((x) => !sb.has(x)).map((x) => `- ${x.slice(0, 160)}`), ...b.filter((x) => !sa.has(x)).map((x) => `+ ${x.slice(0, 160)}`)];
}

// ─── Engine front ───────────────────────────────────────────────────────────────────────────

async function startFront(redis, counters) {
  const db = {
    name: 'cache',
    protocol: 'redis',
    uri: `rediss://127.0.0.1:${redis.tlsPort}`,
    host: '127.0.0.1',
    port: redis.tlsPort,
    mode: 'standalone',
    labels: { env: 'fuzz' },
    type: 'self-hosted',
    tls: { mode: 'verify-full', caCertPem: redis.dbCaPem },
  };
  const expires = new Date(Date.now() + 3600_000);
  const creds = {
    username: 'alice',
    password: PASSWORD,
    tls: { certPem: redis.client.certPem, keyPem: redis.client.keyPem, caPem: redis.dbCaPem, rejectUnauthorized: true, checkServerName: true },
    expiresAt: expires,
  };
  const engine = new RedisEngine({ credentials: { credentials: async () => creds }, log: nullLogger });
  const roles = [
    {
      kind: 'role',
      version: 'v1',
      metadata: { name: 'fuzz-reader' },
      spec: { allow: { db_labels: { '*': '*' }, db_users: ['alice'], db_names: ['0'], redis_commands: ['+@read'] }, deny: { redis_commands: ['@dangerous'] } },
    },
  ];
  const ref = { name: db.name, labels: db.labels };
  const ac = AccessChecker.fromRoles(roles, {});
  const scoped = ac.scopeTo(ref, 'alice');
  const checker = {
    checkDbUser: (u) => ac.checkDatabaseAccess(ref, u),
    checkDbName: (n) => ac.checkDatabaseAccess(ref, 'alice', n),
    commandAllowed: (c, cats) => scoped.commandAllowed(c, cats),
  };
  let n = 0;
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    const session = {
      id: `f${++n}`,
      user: 'fuzzer',
      roles: ['fuzz-reader'],
      database: db,
      dbUser: 'alice',
      expires,
      checker,
      audit: {
        emit: (e) => {
          if (e.type === 'db.session.query' && e.success === false) counters.auditedDenials++;
        },
      },
    };
    engine.handle(sock, session, new AbortController().signal).catch((err) => {
      counters.crashes++;
      counters.crashNotes.push(`engine.handle rejected: ${err?.message}`);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { engine, server, port: server.address().port };
}

// ─── Drivers ────────────────────────────────────────────────────────────────────────────────

/** Session is one client connection that sends batches and counts one reply per frame. */
class Session {
  constructor(port) {
    this.socket = netConnect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.scanner = new ReplyScanner();
    this.replies = [];
    this.wake = undefined;
    this.closed = false;
    this.socket.on('data', (d) => {
      this.scanner.push(d);
      for (let f = this.scanner.next(); f; f = this.scanner.next()) if (!f.push) this.replies.push(f.raw.subarray(0, 48).toString('latin1'));
      this.wake?.();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }
  ready() {
    return new Promise((r, j) => this.socket.once('connect', r).once('error', j));
  }
  /** exchange sends frames and waits for as many replies; undefined if the session closed or stalled first. */
  async exchange(frames) {
    this.replies = [];
    this.socket.write(Buffer.concat(frames));
    const deadline = Date.now() + STALL_MS;
    while (this.replies.length < frames.length) {
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise((r) => {
        this.wake = r;
        setTimeout(r, 250).unref();
      });
    }
    return this.replies;
  }
  close() {
    this.socket.destroy();
  }
}

async function main() {
  const started = Date.now();
  const group = new ProcessGroup();
  const dir = mkdtempSync(join(tmpdir(), 'xport-fuzz-'));
  const counters = { frames: 0, malformed: 0, allowed: 0, denied: 0, redisErrors: 0, auditedDenials: 0, crashes: 0, crashNotes: [], stateChanges: 0, stateNotes: [], snapshots: 0 };
  process.on('uncaughtException', (err) => {
    counters.crashes++;
    counters.crashNotes.push(`uncaught: ${err?.message}`);
  });
  let front;
  let admin;
  try {
    const redis = await startRedis(group, dir);
    admin = new Plain(redis.plainPort);
    await admin.ready();
    await admin.call('AUTH', 'alice', PASSWORD);
    // Data for the reads to find (no HyperLogLog: PFCOUNT, a read, may rewrite its cache).
    await admin.call('MSET', 'k1', 'v1', 'k2', '2', 'k3', 'x'.repeat(100));
    await admin.call('RPUSH', 'list', 'a', 'b', 'c');
    await admin.call('HSET', 'hash', 'f', 'v', 'g', 'w');
    await admin.call('ZADD', 'zset', '1', 'a', '2', 'b');
    await admin.call('SADD', 'set', 'a', 'b');
    await admin.call('XADD', 'stream', '1-1', 'f', 'v');
    await admin.call('SELECT', '5');
    await admin.call('SET', 'other-db', 'v');
    await admin.call('SELECT', '0');
    const baseline = await snapshot(admin);
    const check = async (when) => {
      const now = await snapshot(admin);
      counters.snapshots++;
      const d = diff(baseline, now);
      if (d.length > 0) {
        counters.stateChanges += d.length;
        counters.stateNotes.push(`${when}: ${d.slice(0, 5).join(' | ')}`);
      }
    };

    front = await startFront(redis, counters);
    log(`redis-server on ${redis.tlsPort} (TLS), engine on ${front.port}; ${FRAMES.toLocaleString('en')} frames over ${CONNECTIONS} sessions, seed ${SEED}`);

    const malformedTotal = Math.floor(FRAMES / MALFORMED_EVERY);
    const validTotal = FRAMES - malformedTotal;
    let issued = 0;
    let nextCheck = 100_000;
    const classify = (r) => {
      if (r.startsWith('-ERR xport: internal error')) {
        counters.crashes++;
        counters.crashNotes.push('internal error reply');
      } else if (r.startsWith('-ERR xport:')) counters.denied++;
      else if (r.startsWith('-') || r.startsWith('!')) counters.redisErrors++;
      else counters.allowed++;
    };
    const driver = async () => {
      let s = new Session(front.port);
      await s.ready();
      while (issued < validTotal) {
        const n = Math.min(BATCH, validTotal - issued);
        issued += n;
        const frames = [];
        for (let i = 0; i < n; i++) frames.push(nextFrame());
        const replies = await s.exchange(frames);
        counters.frames += n;
        if (replies === undefined) {
          counters.crashes++;
          counters.crashNotes.push(`session ${s.closed ? 'closed' : 'stalled'} with replies owed (got ${s.replies.length} of ${n}): ${frames.slice(s.replies.length, s.replies.length + 2).map((f) => JSON.stringify(f.toString('latin1').slice(0, 80))).join(', ')}`);
          s.close();
          s = new Session(front.port);
          await s.ready();
          continue;
        }
        for (const r of replies) classify(r);
        if (counters.frames >= nextCheck) {
          nextCheck += 100_000;
          await check(`after ${counters.frames} frames`);
          log(`${counters.frames.toLocaleString('en')} frames, ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
      }
      s.close();
    };
    const malformedDriver = async () => {
      for (let i = 0; i < malformedTotal; i++) {
        const s = new Session(front.port);
        await s.ready();
        const frame = malformedFrame();
        const replies = await s.exchange([frame]);
        counters.frames++;
        counters.malformed++;
        if (replies === undefined || !/^-ERR (xport: )?Protocol error/i.test(replies[0])) {
          // A protocol error must be answered (in Redis's words or ours) before the close.
          if (replies === undefined || !replies[0].startsWith('-ERR')) {
            counters.crashes++;
            counters.crashNotes.push(`malformed frame ${JSON.stringify(frame.toString('latin1'))} got ${JSON.stringify(replies?.[0])}`);
          }
        }
        s.close();
      }
    };
    await Promise.all([...Array.from({ length: CONNECTIONS }, driver), malformedDriver()]);
    await check('at the end');
    const seconds = (Date.now() - started) / 1000;
    const stats = front.engine.stats();
    const result = {
      frames: counters.frames,
      malformedFrames: counters.malformed,
      allowed: counters.allowed,
      deniedByXport: counters.denied,
      redisErrors: counters.redisErrors,
      auditedDenials: counters.auditedDenials,
      engineDenied: stats.denied,
      crashes: counters.crashes,
      stateChanges: counters.stateChanges,
      snapshots: counters.snapshots,
      seconds: Number(seconds.toFixed(1)),
      framesPerSecond: Math.round(counters.frames / seconds),
      seed: SEED,
      connections: CONNECTIONS,
      notes: [...counters.crashNotes.slice(0, 10), ...counters.stateNotes.slice(0, 10)],
    };
    if (JSON_OUT) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      log(`done in ${result.seconds} s (${result.framesPerSecond.toLocaleString('en')} frames/s)`);
      process.stdout.write(
        [
          `frames:        ${result.frames.toLocaleString('en')} (${result.malformedFrames.toLocaleString('en')} malformed, one session each)`,
          `allowed:       ${result.allowed.toLocaleString('en')} (answered by Redis)`,
          `denied:        ${result.deniedByXport.toLocaleString('en')} by xport (${result.auditedDenials.toLocaleString('en')} audited denials)`,
          `redis errors:  ${result.redisErrors.toLocaleString('en')}`,
          `crashes:       ${result.crashes}`,
          `state changes: ${result.stateChanges} (${result.snapshots} snapshots compared)`,
          ...result.notes.map((n) => `note: ${n}`),
        ].join('\n') + '\n',
      );
    }
    if (!JSON_OUT && FRAMES >= 1_000_000) writeFuzzSection(result, started);
    process.exitCode = result.crashes === 0 && result.stateChanges === 0 ? 0 : 1;
  } finally {
    admin?.close();
    front?.server.close();
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** writeFuzzSection puts this run's figures into bench/RESULTS.md as its "## Fuzz" section. */
function writeFuzzSection(r, started) {
  const path = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
  const n = (x) => x.toLocaleString('en');
  const section = [
    '## Fuzz',
    '',
    `Generated by \`npm run fuzz\` on ${new Date(started).toISOString().replace(/\.\d+Z$/, 'Z')} (seed ${r.seed}, ${r.connections} pipelined sessions, Node ${process.version}).`,
    'Generated command names (real names with case changes, NUL and other bytes, truncations, container forms,',
    'repeated options; random bytes) and malformed RESP frames through the agent\'s Redis engine in front of a real',
    'mutual-TLS redis-server, under a role that allows `+@read` minus `@dangerous` on db 0. Redis\'s state (every',
    "db's keys and DUMPed values, CONFIG GET *, ACL LIST, FUNCTION LIST) is compared with the state before the run",
    'every 100,000 frames and at the end: the role allows no write, so any change would be a denied command that ran.',
    '',
    '| Figure | Value |',
    '|---|---|',
    `| Frames through the engine | ${n(r.frames)} (${n(r.malformedFrames)} malformed RESP, one session each) |`,
    `| Wall time | ${r.seconds} s (${n(r.framesPerSecond)} frames/s; bound: 5 min) |`,
    `| Answered by Redis (allowed) | ${n(r.allowed)} (+ ${n(r.redisErrors)} Redis errors) |`,
    `| Denied by xport | ${n(r.deniedByXport)} (audited denials: ${n(r.auditedDenials)}) |`,
    `| Crashes (uncaught, internal errors, lost or stalled replies) | **${r.crashes}** |`,
    `| State changes by denied commands | **${r.stateChanges}** (${r.snapshots} snapshots compared) |`,
    '',
  ].join('\n');
  let md = existsSync(path) ? readFileSync(path, 'utf8') : '# xport benchmark results\n\n';
  const at = md.indexOf('\n## Fuzz\n');
  if (at >= 0) {
    const next = md.indexOf('\n## ', at + 1);
    md = md.slice(0, at + 1) + section + (next >= 0 ? md.slice(next) : '');
  } else {
    md = md.trimEnd() + '\n\n' + section;
  }
  writeFileSync(path, md);
  log(`wrote the Fuzz section of ${path}`);
}

main().catch((err) => {
  process.stderr.write(`fuzz failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
