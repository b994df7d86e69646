/**
 * The Redis engine in cluster mode, in-process, against a REAL 6-node TLS Redis Cluster (3
 * masters, 3 replicas, mutual TLS, ACL users): a plain-TCP front on 127.0.0.1 hands each
 * connection to engine.handle() with a session for a `?mode=cluster` database, and real clients
 * (raw RESP, ioredis in standalone mode, redis-cli without -c) see ONE Redis. Results are
 * compared with direct access (ioredis Cluster over TLS). Destructive steps (slot migration, a
 * killed master) come last.
 */
import { createServer, type Server } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/types.js';
import type { CredentialProvider, UpstreamCredentials } from '../../src/db/credentials.js';
import type { DatabaseSpec } from '../../src/db/database.js';
import type { Session, SessionAuditEvent } from '../../src/db/session.js';
import { UNSUPPORTED_IN_CLUSTER } from '../../src/redis/cluster/rules.js';
import { keySlot } from '../../src/redis/cluster/slots.js';
import { RedisEngine, type RedisEngineConfig } from '../../src/redis/engine.js';
import { nullLogger } from '../../src/util/log.js';
import { runProcess } from '../helpers/cli.js';
import { ANY_DB, enc, rawConnect, role, sessionChecker } from '../helpers/engine-front.js';
import { CLUSTER_PASSWORDS, startRedisCluster, type RedisClusterFixture } from '../helpers/redis-cluster.js';
import { requireRedis } from '../helpers/redis-server.js';

// ─── Roles and sessions ─────────────────────────────────────────────────────────────────────

const ANY = ANY_DB;
const FULL = role('full', { db_labels: ANY, db_users: ['alice', 'bob', 'default'], db_names: ['0'] });
const READER = role('reader', { db_labels: ANY, db_users: ['alice'], db_names: ['0'], redis_commands: ['+@read', '+@connection'] });

/** ClusterCredentials issues db_client certificates (CN = db user) and, when told, injects the password. */
class ClusterCredentials implements CredentialProvider {
  readonly #cache = new Map<string, UpstreamCredentials>();
  constructor(
    private readonly fx: () => RedisClusterFixture,
    private readonly inject: boolean,
  ) {}
  async credentials(db: DatabaseSpec, dbUser: string, opts: { notAfter: Date }): Promise<UpstreamCredentials> {
    const key = `${dbUser}@${opts.notAfter.getTime()}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const c = this.fx().issueClient(dbUser, opts.notAfter);
    const pw = this.inject ? CLUSTER_PASSWORDS[dbUser] : undefined;
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

interface Front {
  port: number;
  engine: RedisEngine;
  events: SessionAuditEvent[];
  close(): Promise<void>;
}

// ─── Raw RESP helpers ───────────────────────────────────────────────────────────────────────

const bulkText = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

const rawFront = rawConnect;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met in ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** keysPerShard returns `n` key names per master (in shard order), each in a slot that master serves. */
function keysPerShard(ranges: Array<Array<[number, number]>>, prefix: string, n: number): string[][] {
  const out: string[][] = ranges.map(() => []);
  for (let i = 0; out.some((ks) => ks.length < n); i++) {
    const key = `${prefix}:${i}`;
    const slot = keySlot(key);
    const shard = ranges.findIndex((rs) => rs.some(([a, b]) => slot >= a && slot <= b));
    if (shard >= 0 && out[shard]!.length < n) out[shard]!.push(key);
  }
  return out;
}

// ─── Suite ──────────────────────────────────────────────────────────────────────────────────

requireRedis();

describe('redis engine, cluster mode, 6-node TLS Redis Cluster', () => {
  let fx: RedisClusterFixture;
  let db: DatabaseSpec;
  /** Slot ranges per master, in the agent's shard order (the master serving slot 0 first). */
  let shardRanges: Array<Array<[number, number]>>;
  let direct: Cluster;
  const fronts: Front[] = [];

  async function startFront(plan: { roles?: Role[]; dbUser?: string; dbName?: string; auditFlush?: () => void } = {}, cfg: Partial<RedisEngineConfig> & { inject?: boolean } = {}): Promise<Front> {
    const { inject, ...engineCfg } = cfg;
    const engine = new RedisEngine({ credentials: new ClusterCredentials(() => fx, inject ?? true), log: nullLogger, ...engineCfg });
    const events: SessionAuditEvent[] = [];
    const controllers: AbortController[] = [];
    let n = 0;
    const expires = new Date(Date.now() + 3600_000);
    const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
      sock.setNoDelay(true);
      const dbUser = plan.dbUser ?? 'alice';
      const id = `s${++n}`;
      const session: Session = {
        id,
        user: 'tester',
        roles: (plan.roles ?? [FULL]).map((r) => r.metadata.name),
        database: db,
        dbUser,
        dbName: plan.dbName,
        expires,
        checker: sessionChecker(plan.roles ?? [FULL], db, dbUser),
        audit: { emit: (e) => events.push({ ...e, session: id }), ...(plan.auditFlush ? { flush: plan.auditFlush } : {}) },
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

  /** clusterShards reads the real topology straight from the cluster (the test's own view). */
  async function clusterShards(): Promise<Array<{ ranges: Array<[number, number]>; master: { id: string; port: number } }>> {
    const raw = (await direct.call('CLUSTER', 'SHARDS')) as unknown[][];
    const out: Array<{ ranges: Array<[number, number]>; master: { id: string; port: number } }> = [];
    for (const f of raw) {
      const slots = f[f.indexOf('slots') + 1] as number[];
      const nodes = (f[f.indexOf('nodes') + 1] as unknown[][]).map((n) => Object.fromEntries(Array.from({ length: n.length / 2 }, (_, i) => [n[2 * i], n[2 * i + 1]])));
      const m = nodes.find((n) => n.role === 'master' && n.health === 'online');
      if (slots.length === 0 || m === undefined) continue;
      const ranges: Array<[number, number]> = [];
      for (let i = 0; i < slots.length; i += 2) ranges.push([slots[i]!, slots[i + 1]!]);
      out.push({ ranges, master: { id: String(m.id), port: Number(m['tls-port']) } });
    }
    return out;
  }

  const ioredis = (port: number, opts: Record<string, unknown> = {}) =>
    new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...opts });

  beforeAll(async () => {
    fx = await startRedisCluster();
    const seed = fx.nodes[0]!.port;
    db = {
      name: 'cluster-cache',
      protocol: 'redis',
      uri: `rediss://127.0.0.1:${seed}?mode=cluster`,
      host: '127.0.0.1',
      port: seed,
      mode: 'cluster',
      labels: { env: 'dev' },
      type: 'self-hosted',
      tls: { mode: 'verify-full', caCertPem: fx.nodeCa.certPem },
    };
    const c = fx.issueClient('alice');
    direct = new Cluster([{ host: '127.0.0.1', port: seed }], {
      redisOptions: { username: 'alice', password: 'alice-pw', tls: { ca: fx.nodeCa.certPem, cert: c.certPem, key: c.keyPem } },
      enableOfflineQueue: true,
    });
    const shards = (await direct.call('CLUSTER', 'SHARDS')) as unknown[];
    shardRanges = shards
      .map((s) => {
        const f = s as unknown[];
        const slots = f[f.indexOf('slots') + 1] as number[];
        const ranges: Array<[number, number]> = [];
        for (let i = 0; i < slots.length; i += 2) ranges.push([slots[i]!, slots[i + 1]!]);
        return ranges;
      })
      .filter((r) => r.length > 0)
      .sort((a, b) => a[0]![0] - b[0]![0]);
  }, 90_000);

  afterAll(async () => {
    for (const f of fronts) await f.close();
    direct?.disconnect();
    await fx?.stop();
  });

  it('serves keys on all three shards through one address, never showing a redirect', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    const keys = keysPerShard(shardRanges, 'basic', 2).flat();
    via.send(...keys.map((k) => enc('SET', k, `v-${k}`)), ...keys.map((k) => enc('GET', k)), enc('GET', 'basic:missing'));
    const replies = await via.take(keys.length * 2 + 1);
    expect(replies.slice(0, keys.length)).toEqual(keys.map(() => '+OK\r\n'));
    expect(replies.slice(keys.length, keys.length * 2)).toEqual(keys.map((k) => bulkText(`v-${k}`)));
    expect(replies[keys.length * 2]).toBe('$-1\r\n');
    for (const k of keys) expect(await direct.get(k)).toBe(`v-${k}`);
    via.close();
    const q = front.events.filter((e) => e.type === 'db.session.query');
    expect(q).toHaveLength(keys.length * 2 + 1);
    expect(q[0]).toMatchObject({ command: 'set', keys: [keys[0]], query: `SET ${keys[0]} ******`, success: true });
  });

  it('flushes the audit events before forwarding to any shard, and forwards nothing when the audit log cannot be written', async () => {
    let failing = false;
    const flushes: number[] = [];
    const front = await startFront({
      auditFlush: () => {
        if (failing) throw new Error('permission denied writing to /var/lib/xport/audit');
        flushes.push(front.events.length);
      },
    });
    const via = await rawFront(front.port);
    const [ok, refused] = keysPerShard(shardRanges, 'walk', 2);
    via.send(...ok!.map((k) => enc('SET', k, 'v')));
    expect(await via.take(ok!.length)).toEqual(ok!.map(() => '+OK\r\n'));
    const lastSet = front.events.map((e) => e.command).lastIndexOf('set');
    expect(flushes.some((n) => n > lastSet)).toBe(true);
    failing = true;
    via.send(...refused!.map((k) => enc('SET', k, 'v')));
    expect(await via.take(1)).toEqual(['-ERR xport: audit log unavailable: permission denied writing to /var/lib/xport/audit\r\n']);
    await via.closed;
    for (const k of ok!) expect(await direct.exists(k)).toBe(1);
    for (const k of refused!) expect(await direct.exists(k)).toBe(0);
  });

  it('answers DBSIZE, KEYS, INFO, RANDOMKEY and FLUSHALL as the whole cluster', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    const r = ioredis(front.port);
    await r.connect();
    expect(await via.call('FLUSHALL')).toBe('+OK\r\n');
    const masters = direct.nodes('master');
    expect((await Promise.all(masters.map((m) => m.dbsize()))).every((n) => n === 0)).toBe(true);
    const keys = keysPerShard(shardRanges, 'fan', 3).flat();
    for (const k of keys) await direct.set(k, '1');
    await direct.set('fan:ttl', 'x', 'EX', 1000);
    const sizes = await Promise.all(masters.map((m) => m.dbsize()));
    expect(sizes.filter((n) => n > 0)).toHaveLength(3);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBe(keys.length + 1);
    expect(await via.call('DBSIZE')).toBe(`:${total}\r\n`);
    expect((await r.keys('fan:*')).sort()).toEqual([...keys, 'fan:ttl'].sort());
    expect(await r.keys('nothing:*')).toEqual([]);
    const keyspace = await r.info('keyspace');
    expect(keyspace).toMatch(new RegExp(`db0:keys=${total},expires=1,avg_ttl=\\d+`));
    const info = await r.info();
    expect(info).toContain('cluster_enabled:0');
    expect(info).toContain('redis_mode:standalone');
    expect(info).not.toMatch(/^slave\d+:/m);
    const clients = Number(/connected_clients:(\d+)/.exec(info)![1]);
    expect(clients).toBeGreaterThanOrEqual(3); // at least this session's connection to each master
    for (let i = 0; i < 5; i++) expect([...keys, 'fan:ttl']).toContain(await r.randomkey());
    expect(await via.call('FLUSHDB')).toBe('+OK\r\n');
    expect(await via.call('DBSIZE')).toBe(':0\r\n');
    expect(await via.call('RANDOMKEY')).toBe('$-1\r\n');
    expect((await Promise.all(masters.map((m) => m.dbsize()))).every((n) => n === 0)).toBe(true);
    expect(await via.call('PING')).toBe('+PONG\r\n');
    expect(await via.call('ECHO', 'hi')).toBe('$2\r\nhi\r\n');
    via.close();
    await r.quit();
    // One audited event per client command, fan-outs included.
    expect(front.events.filter((e) => e.command === 'dbsize')).toHaveLength(2);
  });

  it('loads, checks and flushes scripts on every master', async () => {
    const front = await startFront();
    const r = ioredis(front.port);
    await r.connect();
    const body = "return redis.call('GET', KEYS[1])";
    const sha = (await r.script('LOAD', body)) as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await r.script('EXISTS', sha, '0'.repeat(40))).toEqual([1, 0]);
    // Loaded everywhere: EVALSHA works for a key on each master.
    for (const [k] of keysPerShard(shardRanges, 'lua', 1)) {
      await r.set(k!, `v-${k}`);
      expect(await r.evalsha(sha, 1, k!)).toBe(`v-${k}`);
    }
    // Missing on one master → 0, as only a script on every master counts.
    const masters = direct.nodes('master');
    await masters[1]!.script('FLUSH');
    expect(await r.script('EXISTS', sha)).toEqual([0]);
    expect(await r.script('FLUSH')).toBe('OK');
    expect(await Promise.all(masters.map((m) => m.script('EXISTS', sha)))).toEqual(masters.map(() => [0]));
    await r.quit();
  });

  it('splits MGET, MSET, DEL, UNLINK, EXISTS and TOUCH by slot and merges in key order', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    const perShard = keysPerShard(shardRanges, 'multi', 3);
    // Interleave shards so that neighbours in the client's order live on different masters.
    const keys = [0, 1, 2].flatMap((i) => perShard.map((ks) => ks[i]!));
    expect(await via.call('MSET', ...keys.flatMap((k) => [k, `v:${k}`]))).toBe('+OK\r\n');
    for (const k of keys) expect(await direct.get(k)).toBe(`v:${k}`);
    const asked = [keys[4]!, 'multi:missing', keys[0]!, keys[8]!, keys[4]!, keys[3]!];
    expect(await via.call('MGET', ...asked)).toBe(
      `*${asked.length}\r\n` + asked.map((k) => (k === 'multi:missing' ? '$-1\r\n' : bulkText(`v:${k}`))).join(''),
    );
    expect(await via.call('EXISTS', keys[0]!, keys[0]!, keys[1]!, 'multi:missing')).toBe(':3\r\n');
    expect(await via.call('TOUCH', ...keys, 'multi:missing')).toBe(`:${keys.length}\r\n`);
    expect(await via.call('DEL', keys[0]!, keys[1]!, 'multi:missing')).toBe(':2\r\n');
    expect(await via.call('UNLINK', keys[2]!, keys[3]!, keys[2]!)).toBe(':2\r\n');
    expect(await via.call('EXISTS', ...keys)).toBe(`:${keys.length - 4}\r\n`);
    // RESP3: nulls inside the merged array stay RESP3 nulls.
    via.send(enc('HELLO', '3'));
    await via.take(1);
    expect(await via.call('MGET', keys[0]!, keys[5]!)).toBe(`*2\r\n_\r\n${bulkText(`v:${keys[5]}`)}`);
    // Malformed calls get Redis's own errors.
    expect(await via.call('MSET', keys[0]!)).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
    expect(await via.call('MGET')).toBe("-ERR wrong number of arguments for 'mget' command\r\n");
    via.close();
    const mget = front.events.filter((e) => e.command === 'mget');
    expect(mget[0]).toMatchObject({ success: true, keys: asked });
  });

  it('SCAN returns every key of every master exactly once behind one cursor', async () => {
    const front = await startFront();
    const r = ioredis(front.port);
    await r.connect();
    const names = Array.from({ length: 600 }, (_, i) => `scan:${i}`);
    for (let i = 0; i < names.length; i += 100) await r.mset(...names.slice(i, i + 100).flatMap((k) => [k, '1']));
    await r.hset('scan:hash', 'f', 'v');
    const seen: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', 'scan:*', 'COUNT', 50);
      seen.push(...batch);
      cursor = next;
      calls++;
    } while (cursor !== '0' && calls < 10_000);
    expect(seen.length).toBe(names.length + 1);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...names, 'scan:hash'].sort());
    const hashes: string[] = [];
    cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', 'scan:*', 'COUNT', 1000, 'TYPE', 'hash');
      hashes.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    expect(hashes).toEqual(['scan:hash']);
    await expect(r.scan('not-a-cursor')).rejects.toThrow('ERR invalid cursor');
    await r.quit();
    const cli = await runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(front.port), '--scan', '--pattern', 'scan:*']);
    expect(cli.stdout.trim().split('\n').sort()).toEqual([...names, 'scan:hash'].sort());
  });

  it('works with redis-cli without -c: keys on every shard, status replies intact', async () => {
    const front = await startFront();
    for (const [k] of keysPerShard(shardRanges, 'cli', 1)) {
      const set = await runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(front.port), 'SET', k!, 'v']);
      expect(set.stdout).toBe('OK\n');
      const get = await runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(front.port), '--no-raw', 'GET', k!]);
      expect(get.stdout).toBe('"v"\n');
    }
  });

  it('presents a single virtual node for the read-only CLUSTER commands and computes KEYSLOT', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    expect(await via.call('CLUSTER', 'KEYSLOT', '{user1000}.following')).toBe(`:${keySlot('user1000')}\r\n`);
    expect(await via.call('CLUSTER', 'KEYSLOT', 'foo')).toBe(':12182\r\n');
    const info = await via.call('CLUSTER', 'INFO');
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_known_nodes:1');
    const id = (await via.call('CLUSTER', 'MYID')).split('\r\n')[1]!;
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(await via.call('CLUSTER', 'SLOTS')).toBe(`*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$1\r\n?\r\n:0\r\n$40\r\n${id}\r\n*0\r\n`);
    expect(await via.call('CLUSTER', 'NODES')).toBe(bulkText(`${id} :0@0 myself,master - 0 0 1 connected 0-16383\n`));
    const shards = await via.call('CLUSTER', 'SHARDS');
    expect(shards).toContain(`$8\r\nendpoint\r\n$1\r\n?\r\n`);
    // No real node address leaks through any of them.
    for (const n of fx.nodes) {
      expect(info + shards).not.toContain(String(n.port));
    }
    via.close();
  });

  it('refuses what cannot work in cluster mode with one exact error', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    const cases: Array<[string[], string]> = [
      [['CLUSTER', 'FAILOVER'], 'cluster|failover'],
      [['CLUSTER', 'SETSLOT', '1', 'STABLE'], 'cluster|setslot'],
      [['CLUSTER', 'MEET', '127.0.0.1', '1'], 'cluster|meet'],
      [['CLUSTER', 'RESET'], 'cluster|reset'],
      [['CLUSTER', 'FORGET', 'x'], 'cluster|forget'],
      [['CLUSTER', 'REPLICATE', 'x'], 'cluster|replicate'],
      [['MIGRATE', '127.0.0.1', '1', 'k', '0', '10'], 'migrate'],
      [['REPLICAOF', 'NO', 'ONE'], 'replicaof'],
      [['SLAVEOF', 'NO', 'ONE'], 'slaveof'],
      [['MONITOR'], 'monitor'],
      [['DEBUG', 'SLEEP', '0'], 'debug'],
      [['SHUTDOWN'], 'shutdown'],
      [['SWAPDB', '0', '1'], 'swapdb'],
      [['MOVE', 'k', '1'], 'move'],
      [['CLIENT', 'KILL', 'ID', '1'], 'client|kill'],
      [['CONFIG', 'SET', 'maxmemory', '0'], 'config|set'],
      [['READONLY'], 'readonly'],
      [['ASKING'], 'asking'],
    ];
    via.send(...cases.map(([c]) => enc(...c)), enc('SELECT', '1'), enc('SELECT', '0'), enc('PING'));
    const replies = await via.take(cases.length + 3);
    expect(replies.slice(0, cases.length)).toEqual(cases.map(([, n]) => `-ERR xport: command not supported in cluster mode: ${n}\r\n`));
    expect(replies.slice(cases.length)).toEqual([
      '-ERR xport: command not supported in cluster mode: select 1 (a cluster has only db 0)\r\n',
      '+OK\r\n',
      '+PONG\r\n',
    ]);
    for (const name of UNSUPPORTED_IN_CLUSTER.filter((n) => !n.includes('|'))) {
      expect(await via.call(name.toUpperCase())).toBe(`-ERR xport: command not supported in cluster mode: ${name}\r\n`);
    }
    via.close();
    expect(front.events.find((e) => e.command === 'monitor')).toMatchObject({ success: false, error: 'command not supported in cluster mode: monitor' });
  });

  it('runs MULTI/EXEC and WATCH on the slot of their keys, and answers CROSSSLOT across slots', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    const [a, b] = keysPerShard(shardRanges, 'tx', 1).map((ks) => ks[0]!);
    via.send(enc('DEL', '{tx}a', '{tx}b'), enc('MULTI'), enc('PING'), enc('SET', '{tx}a', '1'), enc('INCR', '{tx}a'), enc('SET', '{tx}b', 'x'), enc('EXEC'));
    expect(await via.take(7)).toEqual([':0\r\n', '+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*4\r\n+PONG\r\n+OK\r\n:2\r\n+OK\r\n']);
    expect(await direct.get('{tx}b')).toBe('x');
    // Keys in two slots: Redis's own CROSSSLOT, and the transaction is aborted like any queue-time error.
    via.send(enc('MULTI'), enc('SET', a!, '1'), enc('SET', b!, '2'), enc('EXEC'), enc('GET', b!));
    expect(await via.take(5)).toEqual([
      '+OK\r\n',
      '+QUEUED\r\n',
      "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
      '-EXECABORT Transaction discarded because of previous errors.\r\n',
      '$-1\r\n',
    ]);
    expect(await via.call('SUNIONSTORE', a!, a!, b!)).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await via.call('RENAME', a!, b!)).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    // WATCH pins the transaction; a write from another client makes EXEC return nil.
    via.send(enc('WATCH', '{tx}a'), enc('MULTI'), enc('INCR', '{tx}a'));
    expect(await via.take(3)).toEqual(['+OK\r\n', '+OK\r\n', '+QUEUED\r\n']);
    await direct.set('{tx}a', '100');
    expect(await via.call('EXEC')).toBe('*-1\r\n');
    via.send(enc('WATCH', '{tx}a'), enc('MULTI'), enc('INCR', '{tx}a'), enc('EXEC'));
    expect(await via.take(4)).toEqual(['+OK\r\n', '+OK\r\n', '+QUEUED\r\n', '*1\r\n:101\r\n']);
    via.send(enc('MULTI'), enc('DBSIZE'), enc('DISCARD'), enc('EXEC'));
    expect(await via.take(4)).toEqual([
      '+OK\r\n',
      '-ERR xport: dbsize is not supported inside MULTI in cluster mode\r\n',
      '+OK\r\n',
      '-ERR EXEC without MULTI\r\n',
    ]);
    via.close();
    const r = ioredis(front.port);
    await r.connect();
    expect(await r.multi().set('{tx}c', 'y').get('{tx}c').exec()).toEqual([
      [null, 'OK'],
      [null, 'y'],
    ]);
    await r.quit();
  });

  it('delivers PUBLISH from any node to SUBSCRIBE/PSUBSCRIBE, and sharded pub/sub by slot', async () => {
    const front = await startFront();
    const sub = ioredis(front.port);
    const pub = ioredis(front.port);
    await Promise.all([sub.connect(), pub.connect()]);
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    sub.on('pmessage', (_p: string, ch: string, msg: string) => got.push(`p:${ch}:${msg}`));
    expect(await sub.subscribe('news', 'alerts')).toBe(2);
    expect(await sub.psubscribe('ev:*')).toBe(3);
    // Published straight on every master: the cluster bus carries it to the subscriber connection.
    for (const m of direct.nodes('master')) await m.publish('news', `from-${m.options.port}`);
    await pub.publish('ev:1', 'x');
    await waitFor(() => got.length === 4, 10_000, 'four messages');
    expect(got.filter((g) => g.startsWith('news:from-'))).toHaveLength(3);
    expect(got).toContain('p:ev:1:x');
    // (ioredis resolves an argument-less UNSUBSCRIBE only when the count reaches 0: name the channels.)
    expect(await sub.unsubscribe('news', 'alerts')).toBe(1);
    expect(await sub.punsubscribe()).toBe(0);
    expect(await sub.set('after:sub', '1')).toBe('OK');
    await Promise.all([sub.quit(), pub.quit()]);

    // RESP2 subscribed mode: only pub/sub commands; PING answered as Redis does.
    const r2 = await rawFront(front.port);
    r2.send(enc('SUBSCRIBE', 'news'), enc('GET', 'x'), enc('PING'), enc('UNSUBSCRIBE'), enc('GET', 'x'));
    expect(await r2.take(5)).toEqual([
      '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n',
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      '*2\r\n$4\r\npong\r\n$0\r\n\r\n',
      '*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n',
      '$-1\r\n',
    ]);
    r2.close();

    // Sharded pub/sub in RESP3: channels on two shards, counts as one Redis would report them.
    const s = await rawFront(front.port);
    const [c1, c2] = keysPerShard(shardRanges, 'shard-ch', 1).map((ks) => ks[0]!);
    s.send(enc('HELLO', '3'), enc('SSUBSCRIBE', c1!), enc('SSUBSCRIBE', c2!));
    const [, conf1, conf2] = await s.take(3);
    expect(conf1).toBe(`>3\r\n$10\r\nssubscribe\r\n${bulkText(c1!)}:1\r\n`);
    expect(conf2).toBe(`>3\r\n$10\r\nssubscribe\r\n${bulkText(c2!)}:2\r\n`);
    expect(await s.call('SSUBSCRIBE', c1!, c2!)).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    const p = await rawFront(front.port);
    expect(await p.call('SPUBLISH', c2!, 'hello')).toBe(':1\r\n');
    expect(await s.take(1)).toEqual([`>3\r\n$8\r\nsmessage\r\n${bulkText(c2!)}$5\r\nhello\r\n`]);
    expect(await s.call('GET', 'shard-ch:none')).toBe('_\r\n');
    s.send(enc('SUNSUBSCRIBE'));
    const drops = await s.take(2);
    expect(drops.map((d) => d.slice(-4)).sort()).toEqual([':0\r\n', ':1\r\n']);
    s.close();
    p.close();
  });

  it('applies HELLO 3 and the client\'s own AUTH to every node connection', async () => {
    const front = await startFront({}, { inject: false });
    const via = await rawFront(front.port);
    const keys = keysPerShard(shardRanges, 'auth', 1).map((k) => k[0]!);
    expect(await via.call('GET', keys[0]!)).toBe('-NOAUTH Authentication required.\r\n');
    expect(await via.call('AUTH', 'bob', 'bob-pw')).toBe(
      '-ERR xport: failed to authenticate as bob user. Please provide a correct db username when connecting to Redis: this session is routed to db user "alice"; reconnect with xsh db connect cluster-cache --db-user=bob\r\n',
    );
    via.send(enc('AUTH', 'alice', 'alice-pw'), ...keys.map((k) => enc('SET', k, 'v')), enc('HELLO', '3'), ...keys.map((k) => enc('GET', `${k}:none`)));
    const replies = await via.take(2 + keys.length * 2);
    expect(replies[0]).toBe('+OK\r\n');
    expect(replies.slice(1, 1 + keys.length)).toEqual(keys.map(() => '+OK\r\n'));
    expect(replies[1 + keys.length]).toMatch(/^%7\r\n/);
    expect(replies[1 + keys.length]).toContain('$4\r\nmode\r\n$10\r\nstandalone\r\n');
    expect(replies.slice(2 + keys.length)).toEqual(keys.map(() => '_\r\n'));
    expect(await via.call('DBSIZE')).toMatch(/^:\d+\r\n$/);
    expect(await via.call('CLIENT', 'SETNAME', 'app1')).toBe('+OK\r\n');
    expect(await via.call('CLIENT', 'GETNAME')).toBe('$4\r\napp1\r\n');
    // RESET: back to the injected credentials only (none here), RESP2.
    expect(await via.call('RESET')).toBe('+RESET\r\n');
    expect(await via.call('GET', keys[1]!)).toBe('-NOAUTH Authentication required.\r\n');
    via.close();
    expect(JSON.stringify(front.events)).not.toContain('alice-pw');
    // The server's command table was read on the connection the client authenticated (not the built-in one).
    for (let i = 0; i < 200 && front.engine.cluster.commandTable(db.name) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(front.engine.cluster.commandTable(db.name)?.get('config|set')?.categories).toContain('@dangerous');
  });

  it('follows CLIENT REPLY OFF, SKIP and ON across the cluster and keeps every reply in order', async () => {
    const front = await startFront({ roles: [READER] });
    const via = await rawFront(front.port);
    const keys = keysPerShard(shardRanges, 'reply', 1).map((k) => k[0]!);
    via.send(
      enc('CLIENT', 'REPLY', 'OFF'),
      ...keys.map((k) => enc('GET', k)), // silent
      enc('FLUSHALL'), // denied, silent
      enc('CLIENT', 'REPLY', 'ON'), // +OK
      enc('CLIENT', 'REPLY', 'SKIP'),
      enc('DBSIZE'), // skipped (a fan-out)
      enc('MGET', ...keys), // replied
      enc('CLIENT', 'REPLY', Buffer.from('skip\0')),
      enc('SET', keys[0]!, 'x'), // denied and skipped
      enc('PING'),
    );
    const replies = await via.take(3);
    expect(replies).toEqual(['+OK\r\n', `*${keys.length}\r\n${keys.map(() => '$-1\r\n').join('')}`, '+PONG\r\n']);
    expect(await via.call('ECHO', 'in step')).toBe('$7\r\nin step\r\n');
    via.close();
    expect(front.events.filter((e) => e.success === false).map((e) => e.command)).toEqual(['flushall', 'set']);
  });

  it('reads the command table once per database and server version', async () => {
    const front = await startFront();
    for (let i = 0; i < 3; i++) {
      const via = await rawFront(front.port);
      expect(await via.call('PING')).toBe('+PONG\r\n');
      via.close();
    }
    const table = front.engine.cluster.commandTable(db.name);
    expect(table?.get('config|set')?.categories).toContain('@dangerous');
    expect(front.engine.cluster.commandTableVersion(db.name)).toMatch(/^redis \d+\.\d+\.\d+/);
  });

  it('passes a 2,000-deep nested reply from a Lua script through intact, and allows scripts under db_names (a cluster has only db 0)', async () => {
    const front = await startFront();
    const via = await rawFront(front.port);
    const script = "local t = {} local cur = t for i=1,2000 do local n = {} cur[1] = n cur = n end cur[1] = 'x' return t";
    via.send(enc('EVAL', script, '0'), enc('PING'));
    const [deep, pong] = await via.take(2);
    expect(deep).toBe('*1\r\n'.repeat(2001) + '$1\r\nx\r\n');
    expect(pong).toBe('+PONG\r\n');
    via.close();
  });

  it('checks roles once per client command, fan-outs and splits included', async () => {
    const front = await startFront({ roles: [READER] });
    const via = await rawFront(front.port);
    const keys = keysPerShard(shardRanges, 'rbac', 1).map((k) => k[0]!);
    via.send(enc('MSET', ...keys.flatMap((k) => [k, '1'])), enc('MGET', ...keys), enc('FLUSHALL'), enc('DBSIZE'));
    const [mset, mget, flush, dbsize] = await via.take(4);
    expect(mset).toBe('-ERR xport: access denied to mset\r\n');
    expect(mget).toBe(`*3\r\n$-1\r\n$-1\r\n$-1\r\n`);
    expect(flush).toBe('-ERR xport: access denied to flushall\r\n');
    expect(dbsize).toMatch(/^:\d+\r\n$/);
    via.close();
    const q = front.events.filter((e) => e.type === 'db.session.query');
    expect(q.map((e) => [e.command, e.success])).toEqual([
      ['mset', false],
      ['mget', true],
      ['flushall', false],
      ['dbsize', true],
    ]);
    expect(q[0]).toMatchObject({ keys, query: `MSET ${keys.map((k) => `${k} ******`).join(' ')}` });
    expect(q[1]!.keys).toEqual(keys);
  });

  it('pauses the node connections for a client that does not read, so memory stays bounded', async () => {
    const front = await startFront();
    const setup = ioredis(front.port);
    await setup.connect();
    const keys = keysPerShard(shardRanges, 'big', 1).map((k) => k[0]!);
    const value = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31) & 0xff;
    for (const k of keys) await setup.set(k, value);
    for (const k of keys) expect((await setup.getBuffer(k))!.equals(value)).toBe(true);
    await setup.quit();
    const slow = await rawFront(front.port);
    slow.socket.pause(); // never reads
    global.gc?.();
    const before = process.memoryUsage();
    slow.socket.write(Buffer.concat(Array.from({ length: 90 }, (_, i) => enc('GET', keys[i % keys.length]!)))); // 90 MiB of replies from three nodes
    await waitFor(() => front.engine.stats().upstreamPauses > 0, 10_000, 'the node connections to be paused');
    await sleep(500);
    const after = process.memoryUsage();
    expect(after.arrayBuffers + after.heapUsed - (before.arrayBuffers + before.heapUsed)).toBeLessThan(40 * 1024 * 1024);
    slow.close();
    await waitFor(() => front.engine.stats().activeSessions === 0, 10_000, 'the session to end');
  });

  it('holds at most the session buffer of a request (cluster routes requests whole): a larger one ends the session with a clear error', async () => {
    const front = await startFront({}, { limits: { sessionBufferBytes: 64 * 1024 } });
    const ok = await rawFront(front.port);
    expect(await ok.call('SET', 'cluster:fits', 'v'.repeat(60 * 1024))).toBe('+OK\r\n');
    ok.close();
    const big = await rawFront(front.port);
    big.send(enc('PING'));
    // Announce 10 MiB and send only the start: the length alone is refused, nothing more is read.
    big.socket.write(Buffer.from(`*3\r\n$3\r\nSET\r\n$11\r\ncluster:big\r\n$${10 * 1024 * 1024}\r\nabc`));
    expect(await big.take(2)).toEqual([
      '+PONG\r\n',
      '-ERR xport: request larger than 65536 bytes, the most the agent holds of one request; send smaller requests or raise db_service.limits.session_buffer_bytes\r\n',
    ]);
    await big.closed;
    // Each held argument costs memory beyond its bytes: past 65,536 the request is refused. Only the
    // first 65,536 are sent, so the agent has read everything when it answers.
    const many = await rawFront((await startFront()).port);
    many.socket.write(Buffer.concat([Buffer.from('*65538\r\n$3\r\nDEL\r\n'), Buffer.from('$1\r\nk\r\n'.repeat(65535))]));
    expect(await many.take(1)).toEqual(['-ERR xport: request with more than 65536 arguments, the most the agent holds of one request; send fewer arguments per request\r\n']);
    await many.closed;
    const bad = await rawFront(front.port);
    bad.send(Buffer.from('*1\r\n$x\r\n'));
    expect(await bad.take(1)).toEqual(['-ERR Protocol error: invalid bulk length\r\n']);
    await bad.closed;
  });

  it('ends the session that grows a partial request past the process budget, and only that one', async () => {
    const front = await startFront({}, { limits: { processBufferBytes: 1024 * 1024 } });
    const head = (key: string, size: number) => Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${size}\r\n`);
    const size = 800 * 1024;
    const a = await rawFront(front.port);
    const aPart = Buffer.concat([head('budget:a', size), Buffer.alloc(700 * 1024, 0x61)]);
    a.socket.write(aPart);
    await waitFor(() => front.engine.stats().inputBytes === aPart.length, 30_000, 'the first partial request to be held');
    const b = await rawFront(front.port);
    // Exactly one byte past the budget, so the agent has read all of it when it refuses (no reset loses the reply).
    const bHead = head('budget:b', size);
    b.socket.write(Buffer.concat([bHead, Buffer.alloc(1024 * 1024 - aPart.length + 1 - bHead.length, 0x62)]));
    const [refused] = await b.take(1, 30_000);
    expect(refused).toMatch(/^-ERR xport: the agent holds more client input than db_service\.limits\.process_buffer_bytes \(1048576 bytes\); this request of more than \d+ bytes was refused, retry it later or send smaller requests\r\n$/);
    await b.closed;
    a.socket.write(Buffer.concat([Buffer.alloc(100 * 1024, 0x61), Buffer.from('\r\n')]));
    expect(await a.take(1, 30_000)).toEqual(['+OK\r\n']);
    expect(await a.call('STRLEN', 'budget:a')).toBe(`:${size}\r\n`);
    expect(front.engine.stats().inputBytesPeak).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024);
    a.close();
  });

  it('follows ASK while a slot migrates and MOVED once it has moved, with a client writing throughout', async () => {
    const front = await startFront();
    const writer = await rawFront(front.port);
    const reader = await rawFront(front.port);
    const shards = await clusterShards();
    const slot = keySlot('{mig}');
    const src = shards.find((x) => x.ranges.some(([a, b]) => slot >= a && slot <= b))!.master;
    const dst = shards.find((x) => x.master.id !== src.id)!.master;
    const keys = Array.from({ length: 40 }, (_, i) => `{mig}:${i}`);
    writer.send(...keys.map((k) => enc('SET', k, `v:${k}`)));
    expect(await writer.take(keys.length)).toEqual(keys.map(() => '+OK\r\n'));

    expect((await fx.cli(dst.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', src.id])).stdout).toBe('OK\n');
    expect((await fx.cli(src.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dst.id])).stdout).toBe('OK\n');
    let stop = false;
    let incrs = 0;
    const bad: string[] = [];
    const writing = (async () => {
      while (!stop) {
        const r = await writer.call('INCR', '{mig}:counter');
        if (/^:\d+\r\n$/.test(r)) incrs++;
        else bad.push(r);
      }
    })();
    const moved = keys.slice(0, 20);
    const asksBefore = front.engine.cluster.stats().ask;
    const mig = await fx.cli(src.port, ['MIGRATE', '127.0.0.1', String(dst.port), '', '0', '5000', 'AUTH2', 'alice', 'alice-pw', 'KEYS', ...moved]);
    expect(mig.stdout).toBe('OK\n');
    // Half the keys are on the target now: the source answers ASK for them, and for new keys.
    reader.send(...keys.map((k) => enc('GET', k)));
    expect(await reader.take(keys.length)).toEqual(keys.map((k) => bulkText(`v:${k}`)));
    expect(await reader.call('SET', '{mig}:new', 'fresh')).toBe('+OK\r\n');
    expect(await reader.call('GET', '{mig}:new')).toBe(bulkText('fresh'));
    expect(await reader.call('SET', moved[0]!, 'rewritten')).toBe('+OK\r\n');
    expect(await reader.call('GET', moved[0]!)).toBe(bulkText('rewritten'));
    expect(front.engine.cluster.stats().ask).toBeGreaterThanOrEqual(asksBefore + moved.length + 4);

    // Finish: move the rest, then hand the slot over on every master.
    const rest = (await fx.cli(src.port, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'])).stdout.split('\n').filter((k) => k !== '');
    if (rest.length > 0) {
      expect((await fx.cli(src.port, ['MIGRATE', '127.0.0.1', String(dst.port), '', '0', '5000', 'AUTH2', 'alice', 'alice-pw', 'KEYS', ...rest])).stdout).toBe('OK\n');
    }
    for (const m of [dst, src, ...shards.map((x) => x.master).filter((x) => x.id !== src.id && x.id !== dst.id)]) {
      expect((await fx.cli(m.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', dst.id])).stdout).toBe('OK\n');
    }
    await waitFor(() => incrs >= 5, 10_000, 'writes after the hand-over');
    const before = incrs;
    await waitFor(() => incrs >= before + 5, 10_000, 'more writes after the hand-over');
    stop = true;
    await writing;
    expect(bad).toEqual([]);
    expect(await reader.call('GET', '{mig}:counter')).toBe(bulkText(String(incrs)));
    reader.send(...keys.slice(1).map((k) => enc('GET', k)));
    expect(await reader.take(keys.length - 1)).toEqual(keys.slice(1).map((k) => bulkText(`v:${k}`)));
    // The engine learnt the new owner from MOVED (and its refresh).
    expect(front.engine.cluster.stats().moved).toBeGreaterThan(0);
    expect(front.engine.cluster.topology(db).current!.masterForSlot(slot)!.port).toBe(dst.port);
    writer.close();
    reader.close();
  });

  it('survives a killed master: the session errors cleanly or retries, and new sessions work within seconds', async () => {
    const front = await startFront();
    const a = await rawFront(front.port);
    const keys = keysPerShard(shardRanges, 'failover', 1).map((k) => k[0]!);
    a.send(...keys.map((k) => enc('SET', k, `v:${k}`)));
    expect(await a.take(keys.length)).toEqual(keys.map(() => '+OK\r\n'));
    // The victim: the master the database URI names (so new sessions must start elsewhere) and, being the
    // first node, likely the one serving slot 0 (the default node).
    const shards = await clusterShards();
    const victim = shards.find((x) => x.master.port === db.port)?.master ?? shards[0]!.master;
    const victimKey = keys.find((k) => {
      const sl = keySlot(k);
      return shards.find((x) => x.master.id === victim.id)!.ranges.some(([lo, hi]) => sl >= lo && sl <= hi);
    })!;
    await fx.kill(victim.port);
    // In flight: a clean agent error, Redis's CLUSTERDOWN, or (after retries) the value — never a redirect.
    const during = await a.call('GET', victimKey);
    expect(during).toMatch(/^(\$|-ERR xport: |-CLUSTERDOWN )/);
    await fx.waitHealthy(40_000);
    // A new session (the URI's node is dead: the engine starts from another known node).
    const started = Date.now();
    let ok = false;
    while (!ok && Date.now() - started < 20_000) {
      const b = await rawFront(front.port);
      b.send(...keys.map((k) => enc('GET', k)));
      const got = await b.take(keys.length, 20_000).catch(() => []);
      ok = got.length === keys.length && got.every((g, i) => g === bulkText(`v:${keys[i]}`));
      b.close();
      if (!ok) await sleep(200);
    }
    expect(ok).toBe(true);
    // The old session recovers too.
    await waitFor(async () => (await a.call('GET', victimKey)) === bulkText(`v:${victimKey}`), 20_000, 'the old session to read the failed-over shard');
    expect(await a.call('DBSIZE')).toMatch(/^:\d+\r\n$/);
    a.close();
  });
});
