/**
 * The Redis engine in-process against a real TLS-only redis-server (mutual TLS, ACL users):
 * a plain-TCP front on 127.0.0.1 hands each connection to engine.handle() with a session built
 * from real roles, and real clients (ioredis, redis-cli, raw sockets) talk through it.
 */
import { createServer, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/types.js';
import type { CredentialProvider, UpstreamCredentials } from '../../src/db/credentials.js';
import type { DatabaseSpec } from '../../src/db/database.js';
import type { Session, SessionAuditEvent } from '../../src/db/session.js';
import { RedisEngine, type RedisEngineConfig } from '../../src/redis/engine.js';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';
import { nullLogger } from '../../src/util/log.js';
import { runProcess } from '../helpers/cli.js';
import { ANY_DB, enc, Raw, rawConnect, role, sessionChecker } from '../helpers/engine-front.js';
import { freePort, requireRedis } from '../helpers/redis-server.js';
import { startTlsRedis, type TlsRedis } from '../helpers/redis-tls.js';

const ACL = [
  'user alice on >alice-pw ~* &* +@all',
  'user bob on >bob-pw ~* &* +@read',
  'user default off',
];
const PASSWORDS: Record<string, string> = { alice: 'alice-pw', bob: 'bob-pw' };

// ─── Roles and sessions ─────────────────────────────────────────────────────────────────────

const ANY = ANY_DB;
const FULL = role('full', { db_labels: ANY, db_users: ['alice', 'bob', 'default'], db_names: ['0', '1'] });
const READER = role('reader', { db_labels: ANY, db_users: ['alice'], db_names: ['0'], redis_commands: ['+@read'] });
const GUARDED = role('guarded', { db_labels: ANY, db_users: ['alice'], db_names: ['0'] }, { redis_commands: ['flushall', 'config|set', 'publish'] });

interface SessionPlan {
  roles?: Role[];
  dbUser?: string;
  dbName?: string;
  db?: DatabaseSpec;
  /** The audit sink's flush (the write-ahead log's commit); absent: a sink without one. */
  auditFlush?: () => void;
}

/**
 * TestCredentials issues a db_client certificate with CN = db user that expires with the session
 * (what the agent gets from the auth service), plus the user's password when told to inject it.
 * Credentials are reused per (db user, expiry), as a production provider would cache them.
 */
class TestCredentials implements CredentialProvider {
  readonly issued: string[] = [];
  readonly #cache = new Map<string, UpstreamCredentials>();
  constructor(
    private readonly fx: () => TlsRedis,
    private readonly inject: boolean,
    private readonly ca?: CertificateAuthority,
  ) {}
  async credentials(db: DatabaseSpec, dbUser: string, opts: { notAfter: Date }): Promise<UpstreamCredentials> {
    const key = `${dbUser}@${opts.notAfter.getTime()}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    this.issued.push(dbUser);
    const c = this.ca ? issueFrom(this.ca, dbUser, opts.notAfter) : this.fx().issueClient(dbUser, opts.notAfter);
    const pw = this.inject ? PASSWORDS[dbUser] : undefined;
    const creds: UpstreamCredentials = {
      username: pw === undefined ? undefined : dbUser,
      password: pw,
      tls: { certPem: c.certPem, keyPem: c.keyPem, caPem: db.tls.caCertPem, rejectUnauthorized: true, checkServerName: true },
      expiresAt: opts.notAfter,
    };
    this.#cache.set(key, creds);
    return creds;
  }
}

/** issueFrom signs a client certificate from a CA of the test's choosing (one Redis does not trust). */
function issueFrom(ca: CertificateAuthority, cn: string, notAfter: Date): { certPem: string; keyPem: string } {
  const k = generateKeyPair();
  const cert = ca.issue({ publicKey: k.publicKey, commonName: cn, notBefore: new Date(Date.now() - 60_000), notAfter, extKeyUsage: ['clientAuth'] });
  return { certPem: cert.certPem, keyPem: k.privateKeyPem };
}

/** Front is a plain-TCP listener that hands each connection to the engine. */
interface Front {
  port: number;
  engine: RedisEngine;
  events: SessionAuditEvent[];
  close(): Promise<void>;
}

const rawFront = rawConnect;

// ─── Suite ──────────────────────────────────────────────────────────────────────────────────

requireRedis();

describe('redis engine, standalone, TLS upstream', () => {
  let fx: TlsRedis;
  let db: DatabaseSpec;
  const fronts: Front[] = [];

  /** startFront serves engine sessions made from plan(). */
  async function startFront(plan: SessionPlan = {}, cfg: Partial<RedisEngineConfig> & { inject?: boolean } = {}): Promise<Front> {
    const { inject, ...engineCfg } = cfg;
    const engine = new RedisEngine({ credentials: new TestCredentials(() => fx, inject ?? true), log: nullLogger, ...engineCfg });
    const events: SessionAuditEvent[] = [];
    const controllers: AbortController[] = [];
    let n = 0;
    const expires = new Date(Date.now() + 3600_000);
    const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
      sock.setNoDelay(true);
      const database = plan.db ?? db;
      const dbUser = plan.dbUser ?? 'alice';
      const session: Session = {
        id: `s${++n}`,
        user: 'tester',
        roles: (plan.roles ?? [FULL]).map((r) => r.metadata.name),
        database,
        dbUser,
        dbName: plan.dbName,
        expires,
        checker: sessionChecker(plan.roles ?? [FULL], database, dbUser),
        audit: { emit: (e) => events.push({ ...e, session: `s${n}` }), ...(plan.auditFlush ? { flush: plan.auditFlush } : {}) },
      };
      const ctl = new AbortController();
      controllers.push(ctl);
      void engine.handle(sock, session, ctl.signal);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const front: Front = {
      port: (server.address() as { port: number }).port,
      engine,
      events,
      close: async () => {
        for (const c of controllers) c.abort();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
    fronts.push(front);
    return front;
  }

  /** direct opens an authenticated TLS connection straight to Redis (for comparisons). */
  async function direct(user = 'alice'): Promise<Raw> {
    const c = fx.issueClient(user);
    const s = tlsConnect({ host: '127.0.0.1', port: fx.port, ca: fx.dbCa.certPem, cert: c.certPem, key: c.keyPem, servername: 'localhost' });
    await new Promise((r, j) => s.once('secureConnect', r).once('error', j));
    const raw = new Raw(s);
    raw.send(enc('AUTH', user, PASSWORDS[user]!));
    expect(await raw.take(1)).toEqual(['+OK\r\n']);
    return raw;
  }

  const ioredis = (port: number, opts: Record<string, unknown> = {}) =>
    new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null, ...opts });

  beforeAll(async () => {
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
    for (const f of fronts) await f.close();
    await fx?.stop();
  });

  it('serves SET and GET from ioredis and audits the session', async () => {
    const front = await startFront();
    const r = ioredis(front.port);
    await r.connect();
    expect(await r.set('user:1', 'secret')).toBe('OK');
    expect(await r.get('user:1')).toBe('secret');
    await r.quit();
    await waitFor(() => front.events.some((e) => e.type === 'db.session.end'));
    const types = front.events.map((e) => e.type);
    expect(types[0]).toBe('db.session.start');
    expect(front.events[0]!.success).toBe(true);
    const set = front.events.find((e) => e.command === 'set')!;
    expect(set).toMatchObject({ type: 'db.session.query', success: true, keys: ['user:1'], query: 'set user:1 ******' });
    expect(front.events.find((e) => e.command === 'get')).toMatchObject({ success: true, keys: ['user:1'], query: 'get user:1' });
    expect(front.engine.commandTable('cache')!.get('get')!.categories).toContain('@read');
  });

  it('returns reply bytes exactly as Redis sends them (simple vs bulk, nulls, integers, errors)', async () => {
    const script = (p: string) => [
      enc('DEL', `${p}s`, `${p}n`, `${p}l`),
      enc('SET', `${p}s`, 'OK'),
      enc('GET', `${p}s`),
      enc('GET', `${p}missing`),
      enc('INCR', `${p}n`),
      enc('LPUSH', `${p}s`, 'x'),
      enc('NOSUCHCMD', 'arg'),
      enc('HSET', `${p}h`, 'f', 'v'),
      enc('HGETALL', `${p}h`),
      enc('LRANGE', `${p}l`, '0', '-1'),
      enc('OBJECT', 'ENCODING', `${p}n`),
      enc('DEL', `${p}h`),
    ];
    const front = await startFront();
    const via = await rawFront(front.port);
    via.send(...script('a:'));
    const viaReplies = await via.take(12);
    const d = await direct();
    d.send(...script('b:'));
    const directReplies = await d.take(12);
    expect(viaReplies).toEqual(directReplies);
    expect(viaReplies.slice(1, 6)).toEqual(['+OK\r\n', '$2\r\nOK\r\n', '$-1\r\n', ':1\r\n', '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n']);
    via.close();
    d.close();
  });

  it('speaks RESP3 after HELLO 3: maps, nulls and CONFIG GET as a map', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    via.send(enc('HELLO', '3'), enc('CONFIG', 'GET', 'maxmemory-policy'), enc('GET', 'resp3:missing'), enc('HELLO', '2'), enc('GET', 'resp3:missing'));
    const [hello, config, nil, hello2, nil2] = await via.take(5);
    expect(hello).toMatch(/^%7\r\n/);
    expect(hello).toContain('$5\r\nproto\r\n:3\r\n');
    expect(config).toBe('%1\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n');
    expect(nil).toBe('_\r\n');
    expect(hello2).toMatch(/^\*14\r\n/);
    expect(nil2).toBe('$-1\r\n');
    via.close();
    const cli = await runProcess('redis-cli', ['-3', '--no-raw', '-h', '127.0.0.1', '-p', String(front.port), 'CONFIG', 'GET', 'maxmemory-policy']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toBe('1# "maxmemory-policy" => "noeviction"\n');
  });

  it('works with redis-cli in RESP2 and keeps status replies simple strings', async () => {
    const front = await startFront();
    const set = await runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(front.port), 'SET', 'cli:k', 'v']);
    expect(set.stdout).toBe('OK\n');
    const get = await runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(front.port), '--no-raw', 'GET', 'cli:k']);
    expect(get.stdout).toBe('"v"\n');
  });

  it('keeps the order of pipelined replies when some commands are denied', async () => {
    const front = await startFront({ roles: [GUARDED] });
    const via = await rawFront(front.port);
    const cmds: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      if (i % 5 === 2) {
        cmds.push(enc('FLUSHALL'));
        expected.push('-ERR xport: access denied to flushall\r\n');
      } else if (i % 5 === 4) {
        cmds.push(enc('CONFIG', 'SET', 'maxmemory', '0'));
        expected.push('-ERR xport: access denied to config|set\r\n');
      } else if (i % 2 === 0) {
        cmds.push(enc('SET', `pipe:${i}`, `v${i}`));
        expected.push('+OK\r\n');
      } else {
        cmds.push(enc('ECHO', `e${i}`));
        expected.push(`$${`e${i}`.length}\r\ne${i}\r\n`);
      }
    }
    via.send(...cmds); // one write
    expect(await via.take(20)).toEqual(expected);
    // The session goes on after denials.
    via.send(enc('GET', 'pipe:0'));
    expect(await via.take(1)).toEqual(['$2\r\nv0\r\n']);
    via.close();
    const denied = front.events.filter((e) => e.type === 'db.session.query' && e.success === false);
    expect(denied.map((e) => e.command)).toEqual(['flushall', 'config|set', 'flushall', 'config|set', 'flushall', 'config|set', 'flushall', 'config|set']);
    expect(denied[0]!.error).toBe('access denied to flushall');
  });

  it('lets a client AUTH only as the routed db user, passes Redis auth errors through, and masks passwords', async () => {
    const front = await startFront({ roles: [FULL], dbUser: 'alice' }, { inject: false });
    const via = await rawFront(front.port);
    via.send(
      enc('GET', 'auth:k'),
      enc('AUTH', 'bob', 'bob-pw'),
      enc('AUTH', 'alice', 'wrong'),
      enc('AUTH', 'alice-pw'),
      enc('AUTH'),
      enc('AUTH', 'a', 'b', 'c'),
      enc('HELLO', '3', 'AUTH', 'bob', 'bob-pw'),
      enc('HELLO', '2', 'AUTH', 'alice'),
      enc('AUTH', 'alice', 'alice-pw'),
      enc('GET', 'auth:k'),
    );
    expect(await via.take(10)).toEqual([
      '-NOAUTH Authentication required.\r\n',
      '-ERR xport: failed to authenticate as bob user. Please provide a correct db username when connecting to Redis: this session is routed to db user "alice"; reconnect with xsh db connect cache --db-user=bob\r\n',
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
      '-ERR xport: failed to authenticate as the default user. Please provide the db username when connecting to Redis: this session is routed to db user "alice"; send AUTH alice <password>\r\n',
      "-ERR xport: wrong number of arguments for 'auth' command\r\n",
      '-ERR xport: syntax error\r\n',
      '-ERR xport: failed to authenticate as bob user. Please provide a correct db username when connecting to Redis: this session is routed to db user "alice"; reconnect with xsh db connect cache --db-user=bob\r\n',
      '-ERR xport: syntax error\r\n',
      '+OK\r\n',
      '$-1\r\n',
    ]);
    via.close();
    const auths = front.events.filter((e) => e.command === 'auth' || e.command === 'hello').map((e) => e.query);
    expect(auths).toEqual(['AUTH bob ******', 'AUTH alice ******', 'AUTH ******', 'AUTH', 'AUTH ****** ****** ******', 'HELLO 3 AUTH bob ******', 'HELLO 2 AUTH ******', 'AUTH alice ******']);
    expect(JSON.stringify(front.events)).not.toContain('alice-pw');
    expect(JSON.stringify(front.events)).not.toContain('bob-pw');
  });

  it('checks SELECT, MOVE and the routed db name against db_names', async () => {
    const front = await startFront({ roles: [FULL] });
    const via = await rawFront(front.port);
    via.send(enc('SELECT', '1'), enc('SET', 'sel:k', 'in-db-1'), enc('SELECT', '2'), enc('MOVE', 'sel:k', '5'), enc('SWAPDB', '0', '9'), enc('SELECT', '0'), enc('GET', 'sel:k'));
    expect(await via.take(7)).toEqual([
      '+OK\r\n',
      '+OK\r\n',
      '-ERR xport: access denied to db 2\r\n',
      '-ERR xport: access denied to db 5\r\n',
      '-ERR xport: access denied to db 9\r\n',
      '+OK\r\n',
      '$-1\r\n',
    ]);
    via.close();

    // A route to db 1 selects it before the first command; a route to db 3 is refused at the start.
    const in1 = await startFront({ roles: [FULL], dbName: '1' });
    const r1 = await rawFront(in1.port);
    r1.send(enc('GET', 'sel:k'));
    expect(await r1.take(1)).toEqual(['$7\r\nin-db-1\r\n']);
    r1.close();
    const in3 = await startFront({ roles: [FULL], dbName: '3' });
    const r3 = await rawFront(in3.port);
    expect(await r3.take(1)).toEqual(['-ERR xport: access denied to db 3\r\n']);
    await r3.closed;
    expect(in3.events[0]).toMatchObject({ type: 'db.session.start', success: false, error: 'access denied to db 3' });
  });

  it('restores the routed user and db after RESET', async () => {
    const front = await startFront({ roles: [FULL], dbName: '1' });
    const via = await rawFront(front.port);
    via.send(enc('HELLO', '3'), enc('RESET'), enc('CLIENT', 'INFO'));
    const [, reset, info] = await via.take(3);
    expect(reset).toBe('+RESET\r\n');
    expect(info).toMatch(/ db=1 /);
    expect(info).toMatch(/ user=alice /);
    expect(info).toMatch(/ resp=2/);
    via.close();
  });

  it('relays RESP2 pub/sub with ioredis: confirmations per channel, messages, and back to commands', async () => {
    const front = await startFront();
    const sub = ioredis(front.port);
    const pub = ioredis(front.port);
    await Promise.all([sub.connect(), pub.connect()]);
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    expect(await sub.subscribe('ch1', 'ch2')).toBe(2);
    expect(await pub.publish('ch1', 'hello')).toBe(1);
    expect(await pub.publish('ch2', 'world')).toBe(1);
    await waitFor(() => got.length === 2);
    expect(got).toEqual(['ch1:hello', 'ch2:world']);
    expect(await sub.ping()).toEqual(['pong', '']); // PING in RESP2 pub/sub mode, as Redis answers it
    await sub.unsubscribe();
    expect(await sub.set('after:sub', '1')).toBe('OK');
    await Promise.all([sub.quit(), pub.quit()]);
  });

  it('orders a denial among pub/sub frames on a subscribed RESP2 connection', async () => {
    const front = await startFront({ roles: [GUARDED] });
    const s = await rawFront(front.port);
    s.send(enc('SUBSCRIBE', 'a', 'b'));
    expect(await s.take(2)).toEqual(['*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n', '*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n']);
    const pub = await direct();
    pub.send(enc('PUBLISH', 'a', 'm1'));
    await pub.take(1);
    s.send(enc('PING', 'x'), enc('PUBLISH', 'a', 'denied'), enc('UNSUBSCRIBE'), enc('GET', 'ps:none'));
    const frames = await s.take(6);
    expect(frames.slice(0, 3)).toEqual([
      '*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nm1\r\n',
      '*2\r\n$4\r\npong\r\n$1\r\nx\r\n',
      '-ERR xport: access denied to publish\r\n',
    ]);
    // Redis drops the channels in hash order; the counts still go down in order.
    expect(frames[3]).toMatch(/^\*3\r\n\$11\r\nunsubscribe\r\n\$1\r\n[ab]\r\n:1\r\n$/);
    expect(frames[4]).toMatch(/^\*3\r\n\$11\r\nunsubscribe\r\n\$1\r\n[ab]\r\n:0\r\n$/);
    expect(frames[5]).toBe('$-1\r\n');
    s.close();
    pub.close();
  });

  it('relays RESP3 pub/sub as push frames while other commands keep working', async () => {
    const front = await startFront();
    const s = await rawFront(front.port);
    s.send(enc('HELLO', '3'), enc('SUBSCRIBE', 'r3'));
    const [, confirm] = await s.take(2);
    expect(confirm).toBe('>3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n');
    const pub = await direct();
    pub.send(enc('PUBLISH', 'r3', 'hi'));
    expect(await s.take(1)).toEqual(['>3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$2\r\nhi\r\n']);
    s.send(enc('GET', 'r3:none'), enc('SSUBSCRIBE', 'sh'), enc('ECHO', 'z'));
    expect(await s.take(3)).toEqual(['_\r\n', '>3\r\n$10\r\nssubscribe\r\n$2\r\nsh\r\n:1\r\n', '$1\r\nz\r\n']);
    s.close();
    pub.close();
  });

  it('runs MULTI/EXEC, and aborts EXEC when a queued command was denied', async () => {
    const front = await startFront({ roles: [GUARDED] });
    const via = await rawFront(front.port);
    via.send(enc('DEL', 'tx:a'), enc('MULTI'), enc('SET', 'tx:a', '1'), enc('INCR', 'tx:a'), enc('EXEC'));
    expect(await via.take(5)).toEqual([':0\r\n', '+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n+OK\r\n:2\r\n']);
    via.send(enc('MULTI'), enc('SET', 'tx:a', '100'), enc('FLUSHALL'), enc('EXEC'), enc('GET', 'tx:a'));
    expect(await via.take(5)).toEqual([
      '+OK\r\n',
      '+QUEUED\r\n',
      '-ERR xport: access denied to flushall\r\n',
      '-EXECABORT Transaction discarded because of previous errors.\r\n',
      '$1\r\n2\r\n',
    ]);
    via.close();
    const r = ioredis(front.port);
    await r.connect();
    expect(await r.multi().set('tx:b', 'x').get('tx:b').exec()).toEqual([[null, 'OK'], [null, 'x']]);
    await r.quit();
  });

  it('delivers BLPOP when another session pushes', async () => {
    const front = await startFront();
    const a = ioredis(front.port);
    const b = ioredis(front.port);
    await Promise.all([a.connect(), b.connect()]);
    await a.del('blq');
    const popped = a.blpop('blq', 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(await b.lpush('blq', 'x')).toBe(1);
    expect(await popped).toEqual(['blq', 'x']);
    await Promise.all([a.quit(), b.quit()]);
  });

  it('flushes the audit events of a read before forwarding it, and forwards nothing when the audit log cannot be written', async () => {
    let failing = false;
    /** How many events had been emitted at each flush: the events the flush made durable. */
    const flushes: number[] = [];
    const front = await startFront({
      auditFlush: () => {
        if (failing) throw new Error('no space left on the device of /var/lib/xport/audit');
        flushes.push(front.events.length);
      },
    });
    const c = await rawFront(front.port);
    c.send(enc('SET', 'wal:1', 'a'), enc('SET', 'wal:2', 'b'));
    expect(await c.take(2)).toEqual(['+OK\r\n', '+OK\r\n']);
    // Both SETs of the one read were covered by a flush made before they were forwarded.
    const lastSet = front.events.map((e) => e.command).lastIndexOf('set');
    expect(flushes.some((n) => n > lastSet)).toBe(true);
    failing = true;
    c.send(enc('SET', 'wal:3', 'c'), enc('SET', 'wal:4', 'd'));
    expect(await c.take(1)).toEqual(['-ERR xport: audit log unavailable: no space left on the device of /var/lib/xport/audit\r\n']);
    await c.closed;
    const d = await direct();
    d.send(enc('EXISTS', 'wal:1', 'wal:2', 'wal:3', 'wal:4'));
    expect(await d.take(1)).toEqual([':2\r\n']);
    d.close();
  });

  it('answers malformed RESP with a protocol error and closes only that session', async () => {
    const front = await startFront();
    const other = ioredis(front.port);
    await other.connect();
    const bad = await rawFront(front.port);
    bad.send(enc('PING'), Buffer.from('*1\r\n$x\r\n'));
    expect(await bad.take(2)).toEqual(['+PONG\r\n', '-ERR Protocol error: invalid bulk length\r\n']);
    await bad.closed;
    expect(await other.set('still', 'fine')).toBe('OK');
    await other.quit();
  });

  it('denies writes for a +@read role and audits both outcomes', async () => {
    const front = await startFront({ roles: [READER] });
    const via = await rawFront(front.port);
    via.send(enc('SET', 'ro:k', 'v'), enc('GET', 'ro:k'), enc('MGET', 'ro:k', 'ro:j'));
    expect(await via.take(3)).toEqual(['-ERR xport: access denied to set\r\n', '$-1\r\n', '*2\r\n$-1\r\n$-1\r\n']);
    via.close();
    const q = front.events.filter((e) => e.type === 'db.session.query');
    expect(q).toEqual([
      { type: 'db.session.query', success: false, error: 'access denied to set', command: 'set', keys: ['ro:k'], query: 'SET ro:k ******', session: 's1' },
      { type: 'db.session.query', success: true, command: 'get', keys: ['ro:k'], query: 'GET ro:k', session: 's1' },
      { type: 'db.session.query', success: true, command: 'mget', keys: ['ro:k', 'ro:j'], query: 'MGET ro:k ro:j', session: 's1' },
    ]);
  });

  it('redacts values by default and records them in full mode, passwords masked either way', async () => {
    const redacted = await startFront();
    const full = await startFront({}, { redactValues: false });
    for (const f of [redacted, full]) {
      const via = await rawFront(f.port);
      via.send(enc('SET', 'k', 'secret'), enc('AUTH', 'alice', 'alice-pw'));
      await via.take(2);
      via.close();
    }
    expect(redacted.events.filter((e) => e.query).map((e) => e.query)).toEqual(['SET k ******', 'AUTH alice ******']);
    expect(full.events.filter((e) => e.query).map((e) => e.query)).toEqual(['SET k secret', 'AUTH alice ******']);
  });

  it('follows CLIENT REPLY OFF until ON, as Redis does, without losing reply order', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    via.send(enc('CLIENT', 'REPLY', 'OFF'), enc('PING'), enc('CLIENT', 'REPLY', 'ON'), enc('PING'));
    expect(await via.take(2)).toEqual(['+OK\r\n', '+PONG\r\n']);
    via.close();
  });

  it('passes the MONITOR feed through', async () => {
    const front = await startFront();
    const mon = await rawFront(front.port);
    mon.send(enc('MONITOR'));
    expect(await mon.take(1)).toEqual(['+OK\r\n']);
    const other = await direct();
    other.send(enc('GET', 'monitored:key'));
    await other.take(1);
    const [auth, line] = await mon.take(2);
    expect(auth).toContain('"AUTH" "(redacted)" "(redacted)"');
    expect(line).toMatch(/^\+\d+\.\d+ \[0 .*\] "GET" "monitored:key"\r\n$/);
    mon.close();
    other.close();
  });

  it('reports connection failures clearly: refused, untrusted server certificate, rejected client certificate', async () => {
    const closed = await freePort();
    const refused = await startFront({ db: { ...db, name: 'gone', port: closed } });
    const r1 = await rawFront(refused.port);
    const [e1] = await r1.take(1);
    expect(e1).toMatch(/^-ERR xport: failed to connect to the target database: connect ECONNREFUSED 127\.0\.0\.1:\d+\r\n$/);
    await r1.closed;
    expect(refused.events).toEqual([expect.objectContaining({ type: 'db.session.start', success: false })]);

    const otherCa = CertificateAuthority.create({ type: 'db', clusterName: 'other' });
    const untrusted = await startFront({ db: { ...db, name: 'untrusted', tls: { mode: 'verify-full', caCertPem: otherCa.certPem } } });
    const r2 = await rawFront(untrusted.port);
    expect((await r2.take(1))[0]).toMatch(/^-ERR xport: failed to connect to the target database: .*certificate/);

    const strangerCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'stranger' });
    const engine = new RedisEngine({ credentials: new TestCredentials(() => fx, true, strangerCa), log: nullLogger });
    const server = createServer((sock) => {
      void engine.handle(sock, { ...baseSession(db), checker: sessionChecker([FULL], db, 'alice') }, new AbortController().signal);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const r3 = await rawFront((server.address() as { port: number }).port);
    expect((await r3.take(1))[0]).toMatch(/^-ERR xport: failed to connect to the target database: /);
    server.close();
  });

  it('pauses the upstream for a client that does not read, so memory stays bounded', async () => {
    const front = await startFront();
    const setup = ioredis(front.port);
    await setup.connect();
    await setup.set('big', Buffer.alloc(1024 * 1024, 0x61));
    await setup.quit();
    const slow = await rawFront(front.port);
    slow.socket.pause(); // never reads
    global.gc?.();
    const before = process.memoryUsage();
    const gets = Array.from({ length: 100 }, () => enc('GET', 'big'));
    slow.socket.write(Buffer.concat(gets)); // 100 MiB of replies on their way
    await waitFor(() => front.engine.stats().upstreamPauses > 0, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const after = process.memoryUsage();
    const grown = after.arrayBuffers + after.heapUsed - (before.arrayBuffers + before.heapUsed);
    expect(grown).toBeLessThan(40 * 1024 * 1024);
    slow.close();
    await waitFor(() => front.engine.stats().activeSessions === 0, 10_000);
  });

  it('streams a large value through intact', async () => {
    const front = await startFront();
    const r = ioredis(front.port);
    await r.connect();
    const value = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31) & 0xff;
    await r.set('large', value);
    expect((await r.getBuffer('large'))!.equals(value)).toBe(true);
    await r.quit();
  });

  it('reuses TLS contexts for repeated credentials', async () => {
    const front = await startFront();
    for (let i = 0; i < 3; i++) {
      const r = ioredis(front.port);
      await r.connect();
      await r.ping();
      await r.quit();
    }
    expect(front.engine.secureContextsBuilt).toBe(1);
  });

  it('resumes the TLS session to Redis when the same credential connects again', async () => {
    const front = await startFront();
    for (let i = 0; i < 4; i++) {
      const r = ioredis(front.port);
      await r.connect();
      expect(await r.ping()).toBe('PONG');
      await r.quit();
    }
    // The first handshake is full; Redis (tls-session-caching, on by default) resumes the later ones.
    expect(front.engine.tlsSessionsResumed).toBeGreaterThanOrEqual(2);
  });

  it('slows a deep pipeline down to maxPendingReplies without losing or reordering replies', async () => {
    const front = await startFront({}, { limits: { maxPendingReplies: 16 } });
    const via = await rawFront(front.port);
    const n = 2000;
    via.send(...Array.from({ length: n }, (_, i) => enc('ECHO', String(i))));
    const replies = await via.take(n, 20_000);
    expect(replies).toEqual(Array.from({ length: n }, (_, i) => `$${String(i).length}\r\n${i}\r\n`));
    expect(front.engine.stats().clientPauses).toBeGreaterThan(0);
    via.close();
  });

  it('accepts inline commands and checks them like the others', async () => {
    const front = await startFront({ roles: [READER] });
    const via = await rawFront(front.port);
    via.socket.write('PING\r\nSET inline:k v\r\nEXISTS inline:k\r\n');
    expect(await via.take(3)).toEqual(['+PONG\r\n', '-ERR xport: access denied to set\r\n', ':0\r\n']);
    via.close();
  });

  it('ends the session when its signal aborts, and audits the end', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    via.send(enc('PING'));
    await via.take(1);
    await front.close();
    await via.closed;
    await waitFor(() => front.events.some((e) => e.type === 'db.session.end'));
    expect(front.engine.stats().activeSessions).toBe(0);
  });

  it('fails the start with a clear error when the injected password is wrong', async () => {
    const wrong: CredentialProvider = {
      async credentials(d, user, opts) {
        const c = fx.issueClient(user, opts.notAfter);
        return { username: user, password: 'not-the-password', tls: { certPem: c.certPem, keyPem: c.keyPem, caPem: d.tls.caCertPem, rejectUnauthorized: true, checkServerName: true } };
      },
    };
    const front = await startFront({}, { credentials: wrong });
    const via = await rawFront(front.port);
    expect(await via.take(1)).toEqual([
      '-ERR xport: failed to authenticate to the target database as "alice": WRONGPASS invalid username-password pair or user is disabled.\r\n',
    ]);
    await via.closed;
    expect(front.events).toEqual([expect.objectContaining({ type: 'db.session.start', success: false })]);
    expect(JSON.stringify(front.events)).not.toContain('not-the-password');
  });
});

function baseSession(db: DatabaseSpec): Omit<Session, 'checker'> {
  return {
    id: 'x',
    user: 'tester',
    roles: ['full'],
    database: db,
    dbUser: 'alice',
    expires: new Date(Date.now() + 3600_000),
    audit: { emit: () => {} },
  };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
