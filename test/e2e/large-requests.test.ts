/**
 * Issue 8 §2 and §6: what a client sends can never grow the agent's memory without bound, and
 * malformed requests get Redis's own answer. The Redis engine runs in-process against a real
 * TLS-only redis-server (mutual TLS, ACL users); a plain-TCP front on 127.0.0.1 hands each
 * connection to engine.handle() with a session built from real roles, and the test compares
 * with the same redis-server spoken to directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/types.js';
import type { CredentialProvider, UpstreamCredentials } from '../../src/db/credentials.js';
import type { DatabaseSpec } from '../../src/db/database.js';
import type { Session, SessionAuditEvent } from '../../src/db/session.js';
import { RedisEngine, type RedisEngineLimits } from '../../src/redis/engine.js';
import { ReplyScanner } from '../../src/redis/resp/index.js';
import { nullLogger } from '../../src/util/log.js';
import { ANY_DB, enc, role, sessionChecker } from '../helpers/engine-front.js';
import { hasRedis } from '../helpers/redis-server.js';
import { startTlsRedis, type TlsRedis } from '../helpers/redis-tls.js';

const ACL = ['user alice on >alice-pw ~* &* +@all', 'user default off'];
const MiB = 1024 * 1024;

const ANY = ANY_DB;
const FULL = role('full', { db_labels: ANY, db_users: ['alice'], db_names: ['0'] });
const READER = role('reader', { db_labels: ANY, db_users: ['alice'], db_names: ['0'], redis_commands: ['+@read'] });

/** Credentials: a db_client certificate (CN alice) and alice's password, as the agent would get them. */
class Credentials implements CredentialProvider {
  #cached: UpstreamCredentials | undefined;
  constructor(private readonly fx: () => TlsRedis) {}
  async credentials(db: DatabaseSpec, dbUser: string, opts: { notAfter: Date }): Promise<UpstreamCredentials> {
    if (this.#cached) return this.#cached;
    const c = this.fx().issueClient(dbUser, opts.notAfter);
    this.#cached = {
      username: dbUser,
      password: 'alice-pw',
      tls: { certPem: c.certPem, keyPem: c.keyPem, caPem: db.tls.caCertPem, rejectUnauthorized: true, checkServerName: true },
      expiresAt: opts.notAfter,
    };
    return this.#cached;
  }
}

/** Conn is a client socket that keeps every byte received and parses reply frames. */
class Conn {
  readonly frames: Buffer[] = [];
  bytes: Buffer[] = [];
  /** Keep every byte received (for comparisons); off when reading large values back. */
  keepBytes = true;
  readonly #scanner = new ReplyScanner({ maxBufferedBytes: 64 * MiB });
  readonly closed: Promise<void>;
  #isClosed = false;
  constructor(readonly socket: Socket | TLSSocket) {
    socket.on('data', (d: Buffer) => {
      if (this.keepBytes) this.bytes.push(d);
      this.#scanner.push(d);
      for (let f = this.#scanner.next(); f; f = this.#scanner.next()) this.frames.push(Buffer.from(f.raw));
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) =>
      socket.once('close', () => {
        this.#isClosed = true;
        r();
      }),
    );
  }
  get isClosed(): boolean {
    return this.#isClosed;
  }
  /** write sends bytes and waits until the socket takes more (backpressure, as a real client). */
  async write(buf: Buffer): Promise<void> {
    if (this.#isClosed) throw new Error('write on a closed connection');
    // A peer that closes (as after a protocol error) never drains: stop waiting then too.
    if (!this.socket.write(buf)) await Promise.race([new Promise<void>((r) => this.socket.once('drain', () => r())), this.closed]);
  }
  async take(n: number, timeoutMs = 120_000): Promise<string[]> {
    await waitFor(() => this.frames.length >= n, timeoutMs, `${n} reply frames (got ${this.frames.length})`);
    return this.frames.splice(0, n).map((f) => f.toString('latin1'));
  }
  /** allUntilClose waits for the peer to close and returns every byte it sent. */
  async allUntilClose(timeoutMs = 30_000): Promise<string> {
    await waitFor(() => this.#isClosed, timeoutMs, 'the server to close the connection');
    return Buffer.concat(this.bytes).toString('latin1');
  }
  close(): void {
    this.socket.destroy();
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** PATTERNS are the 1 MiB blocks large values are made of: seven, so a lost or repeated block changes the digest. */
const PATTERNS = Array.from({ length: 7 }, () => randomBytes(MiB));

/**
 * sendLarge writes a multibulk request whose last argument is `size` bytes, made of reused 1 MiB
 * blocks written as the socket takes them (so the sender holds nothing), and returns the value's SHA-256.
 */
async function sendLarge(conn: Conn, head: string[], size: number): Promise<string> {
  const hash = createHash('sha256');
  const prefix = Buffer.concat([Buffer.from(`*${head.length + 1}\r\n`), ...head.map((h) => Buffer.from(`$${Buffer.byteLength(h)}\r\n${h}\r\n`)), Buffer.from(`$${size}\r\n`)]);
  await conn.write(prefix);
  for (let sent = 0, k = 0; sent < size; k++) {
    const n = Math.min(MiB, size - sent);
    const chunk = PATTERNS[k % PATTERNS.length]!.subarray(0, n);
    hash.update(chunk);
    await conn.write(chunk);
    sent += n;
  }
  await conn.write(Buffer.from('\r\n'));
  return hash.digest('hex');
}

describe('large and malformed requests through the redis engine', () => {
  let fx: TlsRedis;
  let db: DatabaseSpec;
  const servers: Server[] = [];
  const controllers: AbortController[] = [];
  const opened: Conn[] = [];

  interface Front {
    port: number;
    engine: RedisEngine;
    events: SessionAuditEvent[];
    /** Sessions the front has started. */
    sessions(): number;
  }

  /** startFront serves engine sessions; roles may be chosen per session (1, 2, …). */
  async function startFront(rolesFor: Role[] | ((n: number) => Role[]), limits: RedisEngineLimits = {}): Promise<Front> {
    const engine = new RedisEngine({ credentials: new Credentials(() => fx), log: nullLogger, limits });
    const events: SessionAuditEvent[] = [];
    let n = 0;
    const server = createServer({ allowHalfOpen: true }, (sock) => {
      sock.setNoDelay(true);
      const roles = typeof rolesFor === 'function' ? rolesFor(n + 1) : rolesFor;
      const session: Session = {
        id: `s${++n}`,
        user: 'tester',
        roles: roles.map((r) => r.metadata.name),
        database: db,
        dbUser: 'alice',
        dbName: undefined,
        expires: new Date(Date.now() + 3600_000),
        checker: sessionChecker(roles, db, 'alice'),
        audit: { emit: (e) => events.push(e) },
      };
      const ctl = new AbortController();
      controllers.push(ctl);
      void engine.handle(sock, session, ctl.signal);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    return { port: (server.address() as { port: number }).port, engine, events, sessions: () => n };
  }

  async function via(front: Front): Promise<Conn> {
    const s = netConnect(front.port, '127.0.0.1');
    await new Promise((r, j) => s.once('connect', r).once('error', j));
    s.setNoDelay(true);
    const c = new Conn(s);
    opened.push(c);
    return c;
  }

  /** direct opens an authenticated TLS connection straight to the same redis-server. */
  async function direct(): Promise<Conn> {
    const cert = fx.issueClient('alice');
    const s = tlsConnect({ host: '127.0.0.1', port: fx.port, ca: fx.dbCa.certPem, cert: cert.certPem, key: cert.keyPem, servername: 'localhost' });
    await new Promise((r, j) => s.once('secureConnect', r).once('error', j));
    const c = new Conn(s);
    opened.push(c);
    await c.write(enc('AUTH', 'alice', 'alice-pw'));
    expect(await c.take(1)).toEqual(['+OK\r\n']);
    c.bytes = [];
    return c;
  }

  /** digestOf reads a value back from Redis in 8 MiB ranges and hashes it. */
  async function digestOf(key: string, size: number): Promise<string> {
    const d = await direct();
    d.keepBytes = false;
    const hash = createHash('sha256');
    const step = 8 * MiB;
    for (let at = 0; at < size; at += step) {
      await d.write(enc('GETRANGE', key, String(at), String(Math.min(at + step, size) - 1)));
      await waitFor(() => d.frames.length >= 1, 60_000, 'a GETRANGE reply');
      const f = d.frames.shift()!;
      const body = f.subarray(f.indexOf(0x0a) + 1, f.length - 2);
      hash.update(body);
    }
    d.close();
    return hash.digest('hex');
  }

  async function command(...args: string[]): Promise<string> {
    const d = await direct();
    await d.write(enc(...args));
    const [r] = await d.take(1);
    d.close();
    return r!;
  }

  beforeAll(async () => {
    // Fail loudly, never skip, when the server under test is missing.
    expect(hasRedis(), 'redis-server and redis-cli must be installed').toBe(true);
    fx = await startTlsRedis({ acl: ACL });
    db = {
      name: 'cache',
      protocol: 'redis',
      uri: `rediss://127.0.0.1:${fx.port}`,
      host: '127.0.0.1',
      port: fx.port,
      mode: 'standalone',
      labels: { env: 'dev' },
      type: 'self-hosted',
      tls: { mode: 'verify-full', caCertPem: fx.dbCa.certPem },
    };
  });

  afterAll(async () => {
    for (const c of opened) c.close();
    for (const c of controllers) c.abort();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    await fx?.stop();
  });

  describe('protocol errors', () => {
    const fill = (n: number) => 'A'.repeat(n);
    // Redis refuses a header line without its end once more than 64 KiB (65,536 bytes) are
    // buffered; these send exactly one byte more, so each side has read everything when it answers.
    const cases: [string, string][] = [
      ['a non-numeric multibulk count', '*abc\r\n'],
      ['a count with a leading zero', '*01\r\n'],
      ['a count with a plus sign', '*+1\r\n'],
      ['an argument that does not start with $', '*1\r\nX4\r\n'],
      ['an argument line that is empty', '*1\r\n\r4\r\n'],
      ['an argument starting with LF', '*1\r\n\n4\r\n'],
      ['an argument starting with a high byte', '*1\r\n\xff4\r\n'],
      ['a null bulk in a request', '*1\r\n$-1\r\n'],
      ['a bulk length with a leading zero', '*1\r\n$04\r\nPING\r\n'],
      ['a bulk length with junk', '*1\r\n$1x\r\n'],
      ['unbalanced double quotes', 'PING "a\r\n'],
      ['unbalanced single quotes', "SET 'a b\r\n"],
      ['a closing quote glued to a word', 'GET "a"b\r\n'],
      ['a good request, then a bad one', '*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n'],
      ['a count line with no CR past 64 KiB', `*1${fill(65535)}`],
      ['a count line hidden by a NUL past 64 KiB', `*1\x00\r\n${fill(65533)}`],
      ['a length line with no CR past 64 KiB', `*1\r\n${fill(65537)}`],
      ['an inline line with no LF past 64 KiB', fill(65537)],
      ['an inline line hidden by a NUL past 64 KiB', `PI\x00NG\r\n${fill(65530)}`],
      // Framings Redis accepts: the agent must split them exactly where Redis does.
      ['bytes after a body that Redis skips unread', '*1\r\n$4\r\nPINGxx*1\r\n$4\r\nQUIT\r\n'],
      ['a count line CR followed by anything', '*1\rX$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n'],
      ['a negative count, skipped', '*-5\r\nPING\r\nQUIT\r\n'],
      ['a body shorter than its line', '*1\r\n$3\r\nPING\r\nQUIT\r\n'],
    ];
    for (const [what, wire] of cases) {
      it(`answers ${what} exactly as redis-server does, then closes`, async () => {
        const front = await startFront([FULL]);
        const bytes = Buffer.from(wire, 'latin1');
        const d = await direct();
        const x = await via(front);
        await Promise.all([d.write(bytes), x.write(bytes)]);
        const expected = await d.allUntilClose();
        const got = await x.allUntilClose();
        expect(got).toBe(expected);
        expect(expected.length).toBeGreaterThan(0);
      }, 60_000);
    }
  });

  describe('protocol errors inside a streamed request', () => {
    const body = 'A'.repeat(100_000);
    const cases: [string, Role, string][] = [
      ['an allowed one, at a later argument line', FULL, `*4\r\n$3\r\nSET\r\n$6\r\nsk:bad\r\n$100000\r\n${body}\r\nX5\r\n`],
      ['an allowed one, at a later bulk length', FULL, `*4\r\n$3\r\nSET\r\n$6\r\nsk:bad\r\n$100000\r\n${body}\r\n$abc\r\n`],
      ['a denied one, at a later argument line', READER, `*4\r\n$3\r\nSET\r\n$6\r\nsk:bad\r\n$100000\r\n${body}\r\nX5\r\n`],
    ];
    for (const [what, r, wire] of cases) {
      it(`answers ${what} exactly as redis-server does, then closes`, async () => {
        const front = await startFront([r], { sessionBufferBytes: 64 * 1024 });
        const bytes = Buffer.concat([enc('PING'), Buffer.from(wire, 'latin1')]);
        const d = await direct();
        const x = await via(front);
        await Promise.all([d.write(bytes), x.write(bytes)]);
        const expected = await d.allUntilClose();
        expect(await x.allUntilClose()).toBe(expected);
        expect(expected).toMatch(/^\+PONG\r\n-ERR Protocol error: /);
        expect(await command('EXISTS', 'sk:bad')).toBe(':0\r\n');
      }, 60_000);
    }
  });

  describe('large values', () => {
    it('streams an allowed 200 MB value to Redis intact, in order with the requests around it', async () => {
      const front = await startFront([FULL]);
      const c = await via(front);
      const size = 200 * MiB;
      await c.write(enc('DEL', 'big:200'));
      const sum = await sendLarge(c, ['SET', 'big:200'], size);
      await c.write(enc('STRLEN', 'big:200'));
      expect(await c.take(3)).toEqual([':0\r\n', '+OK\r\n', `:${size}\r\n`]);
      expect(await command('STRLEN', 'big:200')).toBe(`:${size}\r\n`);
      expect(await digestOf('big:200', size)).toBe(sum);
      // The session held at most its buffer of the request, never the value.
      expect(front.engine.stats().inputBytesPeak).toBeLessThanOrEqual(8 * MiB + MiB);
      const set = front.events.find((e) => e.command === 'set')!;
      expect(set).toMatchObject({ success: true, keys: ['big:200'] });
      // The audit shows what was judged; the streamed value is masked like any value.
      expect(set.query).toBe('SET big:200 ******');
      await command('DEL', 'big:200');
    }, 300_000);

    it('discards a denied large value as it streams, answers the denial in order, and the session goes on', async () => {
      const front = await startFront([READER], { sessionBufferBytes: 64 * 1024 });
      const c = await via(front);
      await c.write(enc('PING'));
      await sendLarge(c, ['SET', 'big:denied'], 64 * MiB);
      await c.write(Buffer.concat([enc('GET', 'big:denied'), enc('ECHO', 'after')]));
      expect(await c.take(4)).toEqual(['+PONG\r\n', '-ERR xport: access denied to set\r\n', '$-1\r\n', '$5\r\nafter\r\n']);
      expect(await command('EXISTS', 'big:denied')).toBe(':0\r\n');
      expect(front.engine.stats().inputBytesPeak).toBeLessThanOrEqual(64 * 1024 + MiB);
      const denied = front.events.find((e) => e.command === 'set')!;
      expect(denied).toMatchObject({ success: false, keys: ['big:denied'], error: 'access denied to set' });
      expect(front.engine.stats().denied).toBe(1);
    }, 300_000);

    it('refuses a streamed request whose checks need arguments that have not arrived, and keeps the session', async () => {
      const front = await startFront([FULL], { sessionBufferBytes: 64 * 1024 });
      const c = await via(front);
      const bigKey = 'k'.repeat(200 * 1024);
      // COPY's DB option comes after the large key: it cannot be checked before the key is streamed.
      await c.write(enc('COPY', bigKey, 'dst', 'DB', '0'));
      // A command name or a container's subcommand longer than the buffer is no real command.
      await c.write(enc('X'.repeat(100 * 1024)));
      await c.write(enc('CONFIG', 'G'.repeat(100 * 1024)));
      // A large argument after the name and key is streamed and runs.
      await c.write(enc('SET', 'streamed:k', 'v'.repeat(300 * 1024)));
      await c.write(enc('STRLEN', 'streamed:k'));
      const replies = await c.take(5);
      expect(replies[0]).toBe('-ERR xport: copy requests of more than 65536 bytes are not supported; send smaller arguments\r\n');
      expect(replies[1]).toBe('-ERR xport: a command name of more than 65536 bytes is refused\r\n');
      expect(replies[2]).toBe('-ERR xport: a config subcommand of more than 65536 bytes is refused\r\n');
      expect(replies.slice(3)).toEqual(['+OK\r\n', `:${300 * 1024}\r\n`]);
      await command('DEL', 'streamed:k');
    }, 120_000);

    it('streams a request of more arguments than it holds (each held argument costs memory), and it runs', async () => {
      const front = await startFront([FULL]);
      const c = await via(front);
      const values = Array.from({ length: 40_000 }, (_, k) => `v${k}`);
      await c.write(Buffer.concat([enc('DEL', 'many:list'), enc('RPUSH', 'many:list', ...values), enc('LINDEX', 'many:list', '-1')]));
      expect(await c.take(3)).toEqual([':0\r\n', ':40000\r\n', '$6\r\nv39999\r\n']);
      const push = front.events.find((e) => e.command === 'rpush')!;
      expect(push).toMatchObject({ success: true, keys: ['many:list'] });
      await command('DEL', 'many:list');
    }, 120_000);

    it('judges and streams partial requests at once when the process budget is spent, instead of holding them', async () => {
      const budget = 16 * MiB;
      const front = await startFront([FULL], { processBufferBytes: budget, sessionBufferBytes: 8 * MiB });
      const value = 7 * MiB;
      const conns: Conn[] = [];
      // Six sessions each send most of a 7 MiB SET (under their own 8 MiB buffer) and wait:
      // 36 MiB held together unless the process budget makes them stream.
      for (let i = 0; i < 6; i++) {
        const c = await via(front);
        conns.push(c);
        await c.write(Buffer.from(`*3\r\n$3\r\nSET\r\n$8\r\nbudget:${i}\r\n$${value}\r\n`));
        await c.write(PATTERNS[i]!);
        for (let k = 1; k < 6; k++) await c.write(PATTERNS[(i + k) % 7]!);
      }
      // Held whole, they would pass the budget; it must be reached (and then enforced).
      await waitFor(() => front.engine.stats().inputBytesPeak > budget, 120_000, 'the partial requests to reach the budget');
      for (const c of conns) await c.write(Buffer.concat([PATTERNS[0]!, Buffer.from('\r\n')]));
      for (const c of conns) expect(await c.take(1)).toEqual(['+OK\r\n']);
      for (let i = 0; i < 6; i++) expect(await command('STRLEN', `budget:${i}`)).toBe(`:${value}\r\n`);
      // At worst the budget plus what one read of each session brought in.
      expect(front.engine.stats().inputBytesPeak).toBeLessThanOrEqual(budget + 6 * MiB);
      await command('DEL', 'budget:0', 'budget:1', 'budget:2', 'budget:3', 'budget:4', 'budget:5');
    }, 300_000);

    it('keeps several 500 MB requests at once (allowed and denied) within the process budget', async () => {
      const budget = 32 * MiB;
      // One engine, as in the agent: one budget for every session of the process.
      const front = await startFront((n) => (n <= 2 ? [FULL] : [READER]), { processBufferBytes: budget });
      const size = 500 * MiB;
      // Live memory, not garbage waiting for a collection: collect before every sample.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      gc();
      const before = process.memoryUsage();
      let peakArrayBuffers = before.arrayBuffers;
      let peakRss = before.rss;
      const sampler = setInterval(() => {
        gc();
        const m = process.memoryUsage();
        peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
        peakRss = Math.max(peakRss, m.rss);
      }, 250);
      try {
        // Sessions 1 and 2 may SET, 3 and 4 may not.
        const conns: Conn[] = [];
        for (let i = 1; i <= 4; i++) {
          conns.push(await via(front));
          await waitFor(() => front.sessions() === i, 30_000, `session ${i}`);
        }
        const run = async (c: Conn, key: string) => {
          const sum = await sendLarge(c, ['SET', key], size);
          await c.write(enc('ECHO', key));
          const replies = await c.take(2, 600_000);
          c.close();
          return { replies, sum };
        };
        const results = await Promise.all([
          run(conns[0]!, 'big:a'),
          run(conns[1]!, 'big:b'),
          run(conns[2]!, 'big:c'),
          run(conns[3]!, 'big:d'),
        ]);
        expect(results.map((r) => r.replies)).toEqual([
          ['+OK\r\n', '$5\r\nbig:a\r\n'],
          ['+OK\r\n', '$5\r\nbig:b\r\n'],
          ['-ERR xport: access denied to set\r\n', '$5\r\nbig:c\r\n'],
          ['-ERR xport: access denied to set\r\n', '$5\r\nbig:d\r\n'],
        ]);
        clearInterval(sampler);
        expect(await command('STRLEN', 'big:a')).toBe(`:${size}\r\n`);
        expect(await digestOf('big:b', size)).toBe(results[1]!.sum);
        expect(await command('EXISTS', 'big:c', 'big:d')).toBe(':0\r\n');
      } finally {
        clearInterval(sampler);
      }
      // Exact accounting: what the engine held of client input at its worst (a read chunk per session of slack).
      const peak = front.engine.stats().inputBytesPeak;
      expect(peak).toBeLessThanOrEqual(budget + 4 * 256 * 1024);
      // And the process as a whole (engine, TLS to Redis, and the test's own clients): 2 GB passed
      // through, and the live buffers never grew by more than the budget and the sockets' own buffers.
      const grewBy = peakArrayBuffers - before.arrayBuffers;
      console.log(
        `4 x 500 MiB: engine input peak ${(peak / MiB).toFixed(1)} MiB, ` +
          `arrayBuffers +${(grewBy / MiB).toFixed(0)} MiB, rss peak ${(peakRss / MiB).toFixed(0)} MiB (from ${(before.rss / MiB).toFixed(0)})`,
      );
      expect(grewBy).toBeLessThan(budget + 64 * MiB);
      await command('DEL', 'big:a', 'big:b');
    }, 900_000);
  });
});
