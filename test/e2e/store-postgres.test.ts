/**
 * The PostgreSQL backend against a real PostgreSQL 15: the same contract suite SQLite passes, plus
 * what only a shared backend has: watches across processes' connections, migrations racing at
 * start, conditional writes racing across backends, and TLS (verify-full, client certificates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Socket } from 'node:net';
import { isXError } from '../../src/errors.js';
import { openPostgresBackend, type PostgresBackend } from '../../src/store/postgres.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import type { WatchEvent } from '../../src/store/backend.js';
import { describeBackendContract, describeWatchContract } from '../unit/store/backend-contract.js';
import { LoginLimiter } from '../../src/auth/lockout.js';
import { startPostgres, CERT_ROLE, type PostgresServer } from '../helpers/postgres.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

const opened: PostgresBackend[] = [];
afterAll(async () => {
  for (const b of opened) await b.close();
});

describeBackendContract('postgres', async (clock) => openPostgresBackend({ connString: await server.createDatabase(), clock }));
describeWatchContract('postgres', async (clock) => openPostgresBackend({ connString: await server.createDatabase(), clock }));

/** waitFor polls cond until it holds (generous deadline; the machine is shared). */
async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('postgres backend shared by replicas', () => {
  let url: string;
  let a: PostgresBackend;
  let b: PostgresBackend;
  beforeAll(async () => {
    url = await server.createDatabase();
    a = await openPostgresBackend({ connString: url });
    b = await openPostgresBackend({ connString: url });
    opened.push(a, b);
  }, 60_000);

  it('tells a watcher on another backend about a new key under its prefix, and nothing else', async () => {
    const seen: WatchEvent[] = [];
    const w = await b.watch('users/', (e) => seen.push(e));
    const put = await a.put('users/alice', { name: 'alice' });
    await a.put('roles/dev', { name: 'dev' });
    await a.delete('users/alice');
    await waitFor(() => seen.length >= 2, 'two user events');
    expect(seen[0]).toEqual({ type: 'put', key: 'users/alice', revision: put.revision });
    expect(seen[1]).toEqual({ type: 'delete', key: 'users/alice', revision: put.revision + 2 });
    // The role write fell between the two and was not delivered to a users/ watcher.
    expect(seen.every((e) => e.type !== 'resync' && e.key.startsWith('users/'))).toBe(true);
    w.close();
    await a.put('users/bob', 1);
    const probe: WatchEvent[] = [];
    const w2 = await b.watch('users/', (e) => probe.push(e));
    await a.put('users/carol', 1);
    await waitFor(() => probe.length >= 1, 'the second watcher');
    expect(seen).toHaveLength(2);
    w2.close();
  });

  it('does not announce a refused conditional write', async () => {
    const seen: WatchEvent[] = [];
    const w = await b.watch('tokens/', (e) => seen.push(e));
    await a.put('tokens/t', 1, { expectRevision: 0 });
    await expect(a.put('tokens/t', 2, { expectRevision: 0 })).rejects.toMatchObject({ kind: 'conflict' });
    await a.put('tokens/marker', 1);
    await waitFor(() => seen.some((e) => e.type === 'put' && e.key === 'tokens/marker'), 'the marker');
    expect(seen.filter((e) => e.type === 'put' && e.key === 'tokens/t')).toHaveLength(1);
    w.close();
  });

  it('lets exactly one of many racing create-only puts on two backends win', async () => {
    const attempts = Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).put('cas/host', { by: i }, { expectRevision: 0 }));
    const results = await Promise.allSettled(attempts);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isXError(r.reason) && r.reason.kind).toBe('conflict');
    const winner = (won[0] as PromiseFulfilledResult<{ value: { by: number } }>).value.value.by;
    expect((await b.get<{ by: number }>('cas/host'))?.value.by).toBe(winner);
  });

  it('counts every racing read-modify-write increment from two backends', async () => {
    await a.put('counter', 0);
    const bump = async (be: PostgresBackend) => {
      for (;;) {
        const cur = (await be.get<number>('counter'))!;
        try {
          await be.put('counter', cur.value + 1, { expectRevision: cur.revision });
          return;
        } catch (err) {
          if (!(isXError(err) && err.kind === 'conflict')) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: 30 }, (_, i) => bump(i % 2 ? a : b)));
    expect((await a.get<number>('counter'))?.value).toBe(30);
  });

  it('keeps event ids in append order when two backends append at once', async () => {
    const time = new Date().toISOString();
    const batch = (who: string) => Array.from({ length: 50 }, (_, i) => ({ type: 'race.event', time, who, seq: i }));
    await Promise.all([a.appendEvents(batch('a')), b.appendEvents(batch('b')), a.appendEvents(batch('c'))]);
    const got = await b.searchEvents({ type: 'race.event', limit: 1000 });
    expect(got).toHaveLength(150);
    expect(new Set(got.map((e) => e.id)).size).toBe(150);
    for (const who of ['a', 'b', 'c']) expect(got.filter((e) => e.who === who).map((e) => e.seq)).toEqual([...Array(50).keys()]);
  });

  it('locks a name after failures recorded at once through two backends, and both see the lock', async () => {
    const limitA = new LoginLimiter(a, { now: () => new Date() });
    const limitB = new LoginLimiter(b, { now: () => new Date() });
    // Four racing failures, split across the replicas: every one is counted, none locks yet.
    const first = await Promise.all([limitA.recordFailure('mallory'), limitB.recordFailure('mallory'), limitA.recordFailure('mallory'), limitB.recordFailure('mallory')]);
    expect(first.map((r) => r.locked)).toEqual([false, false, false, false]);
    expect(await limitA.lockedUntil('mallory')).toBeUndefined();
    expect((await limitB.recordFailure('mallory')).locked).toBe(true);
    await expect(limitA.check('mallory')).rejects.toMatchObject({ kind: 'limit-exceeded' });
    await expect(limitB.check('mallory')).rejects.toMatchObject({ kind: 'limit-exceeded' });
  });

  it('treats LIKE wildcards in a prefix literally', async () => {
    await a.put('w/a_b', 1);
    await a.put('w/axb', 2);
    await a.put('w/a%', 3);
    expect((await a.list('w/a_')).map((i) => i.key)).toEqual(['w/a_b']);
    expect((await a.list('w/a%')).map((i) => i.key)).toEqual(['w/a%']);
  });

  it('announces a write whose key is too long for a NOTIFY payload as a resync instead of failing it', async () => {
    const seen: WatchEvent[] = [];
    const w = await b.watch('long/', (e) => seen.push(e));
    // 4000 quotes: within the key limit, but over 8000 bytes once JSON-escaped.
    const key = 'long/' + '"'.repeat(4000);
    await a.put(key, 1);
    await waitFor(() => seen.length > 0, 'the announcement');
    expect(seen[0]).toEqual({ type: 'resync' });
    expect((await b.get(key))?.value).toBe(1);
    expect(await a.delete(key)).toBe(true);
    // Wait for the delete's announcement too, so it cannot reach the next test's watcher.
    await waitFor(() => seen.length > 1, 'the delete announcement');
    expect(seen[1]).toEqual({ type: 'resync' });
    w.close();
  });

  it('refuses a key with a NUL character with a clear error', async () => {
    await expect(a.put('bad\0key', 1)).rejects.toMatchObject({ kind: 'bad-parameter' });
  });

  it('keeps a watch through a lost notification connection and says to resync', async () => {
    const seen: WatchEvent[] = [];
    const w = await b.watch('roles/', (e) => seen.push(e));
    // Kill every LISTEN session from the server side, as a PostgreSQL restart would.
    await server.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`);
    await waitFor(() => seen.some((e) => e.type === 'resync'), 'resync');
    await a.put('roles/after', 1);
    await waitFor(() => seen.some((e) => e.type === 'put' && e.key === 'roles/after'), 'the write after the reconnect');
    w.close();
  });
});

describe('postgres backend across a PostgreSQL restart', () => {
  let own: PostgresServer;
  beforeAll(async () => {
    own = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('fails requests clearly while PostgreSQL is down and serves again, watches included, once it is back', async () => {
    const url = await own.createDatabase();
    const writer = await openPostgresBackend({ connString: url });
    const watcher = await openPostgresBackend({ connString: url });
    opened.push(writer, watcher);
    await writer.put('k', 'before');
    const seen: WatchEvent[] = [];
    const w = await watcher.watch('k', (e) => seen.push(e));
    await own.restart();
    // The pooled connections died with the server: a request fails as a connection problem or
    // succeeds on a fresh connection, never hangs or crashes the process.
    let served = false;
    for (let i = 0; i < 200 && !served; i++) {
      try {
        await writer.put('k', 'after');
        served = true;
      } catch (err) {
        expect(isXError(err) && err.kind).toBe('connection-problem');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(served).toBe(true);
    expect((await watcher.get('k'))?.value).toBe('after');
    await waitFor(() => seen.some((e) => e.type === 'resync'), 'resync after the restart');
    await writer.put('k', 'later');
    await waitFor(() => seen.some((e) => e.type === 'put' && e.key === 'k'), 'a write after the restart');
    w.close();
  });

  it('reports SQLSTATE 55000 from PostgreSQL as a temporary problem to retry, not as a bug in xport', async () => {
    const url = await own.createDatabase();
    const b = await openPostgresBackend({ connString: url });
    opened.push(b);
    // PostgreSQL's own 55000 (object not in prerequisite state), raised by a trigger on the table.
    const db = new URL(url).pathname.slice(1);
    await own.query(
      `CREATE FUNCTION not_ready() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'not ready for writes' USING ERRCODE = '55000'; END $$`,
      db,
    );
    await own.query('CREATE TRIGGER not_ready BEFORE INSERT ON xport_kv FOR EACH ROW EXECUTE FUNCTION not_ready()', db);
    const err = await b.put('k', 1).then(
      () => undefined,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(isXError(err) && err.kind).toBe('connection-problem');
    expect(err!.message).toContain('cannot serve this request now (SQLSTATE 55000): not ready for writes');
    expect(err!.hint).toMatch(/^Retry in a moment/);
    await own.query('DROP TRIGGER not_ready ON xport_kv', db);
    expect((await b.put('k', 2)).revision).toBeGreaterThan(0);
  });

  it('refuses to open against a server that is not there, naming it without the password', async () => {
    const err = await openPostgresBackend({ connString: `postgres://xport:hunter2@127.0.0.1:1/x` }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(isXError(err) && err.kind).toBe('connection-problem');
    expect(err!.message).toContain('cannot reach PostgreSQL at 127.0.0.1:1/x');
    expect(err!.message).not.toContain('hunter2');
  });
});

/**
 * startFreezableProxy forwards loopback TCP to target. freeze() stops forwarding without closing
 * anything, like a host that died or a partition: connections stay open, nothing answers. thaw()
 * drops the frozen connections (the host is back and has forgotten them) and forwards again.
 * forget() is a balancer or NAT that lost its state: it closes the server side of every open
 * connection but leaves the client side open and silent, and resets a client that sends on one —
 * so a pooled client learns that its connection is dead only from its next query.
 */
async function startFreezableProxy(target: number) {
  const live = new Set<Socket>();
  const forgotten = new WeakSet<Socket>();
  const pairs = new Map<Socket, Socket>();
  let frozen = false;
  const server = createServer((client) => {
    live.add(client);
    client.on('close', () => live.delete(client));
    client.on('error', () => undefined);
    if (frozen) return; // accepted, never answered
    const upstream = connect(target, '127.0.0.1');
    live.add(upstream);
    pairs.set(client, upstream);
    upstream.on('close', () => live.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('data', (d) => {
      if (forgotten.has(client)) client.resetAndDestroy();
      else if (!frozen) upstream.write(d);
    });
    upstream.on('data', (d) => !frozen && !forgotten.has(client) && client.write(d));
    client.on('close', () => (upstream.destroy(), pairs.delete(client)));
    upstream.on('close', () => !forgotten.has(client) && client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => (frozen = true),
    thaw: () => {
      for (const s of live) s.destroy();
      frozen = false;
    },
    forget: () => {
      for (const [client, upstream] of pairs) {
        forgotten.add(client);
        upstream.destroy();
      }
      pairs.clear();
    },
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('postgres backend behind a balancer that forgot its connections, across a PostgreSQL restart', () => {
  let own: PostgresServer;
  beforeAll(async () => {
    own = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
  });

  it('serves the next read and conditional write on a new connection, and reports an unconditional write it cannot know landed', async () => {
    const url = new URL(await own.createDatabase());
    const proxy = await startFreezableProxy(own.port);
    try {
      url.port = String(proxy.port);
      const warnings: string[] = [];
      // Idle connections are kept however long the restart takes on a busy machine.
      const b = await openPostgresBackend({ connString: url.toString(), onWarning: (m) => warnings.push(m), timeouts: { idleMs: 300_000 } });
      opened.push(b);
      const first = await b.put('k', 'before');
      // Three requests at once leave three connections idle in the pool.
      await Promise.all([b.get('k'), b.list(''), b.get('k')]);
      proxy.forget();
      await own.restart();
      // Every pooled connection is now dead, and nothing told the pool.
      expect((await b.get('k'))?.value).toBe('before');
      const second = await b.put('k', 'after', { expectRevision: first.revision });
      expect(second.revision).toBeGreaterThan(first.revision);
      expect(warnings.filter((m) => m.includes('retrying it on a new connection'))).toHaveLength(2);
      // Nothing checks an unconditional write: a retry could land over a newer one, so it fails instead.
      const err = await b.put('k', 'blind').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(isXError(err) && err.kind).toBe('connection-problem');
      expect(err!.message).toContain(`PostgreSQL at ${url.hostname}:${proxy.port}/`);
      expect((await b.get('k'))?.value).toBe('after');
    } finally {
      await proxy.close();
    }
  }, 90_000);
});

describe('postgres backend when the server stops answering without closing connections', () => {
  it('times requests out as connection problems, and replaces the LISTEN connection once the server answers again', async () => {
    const url = new URL(await server.createDatabase());
    const proxy = await startFreezableProxy(server.port);
    try {
      url.port = String(proxy.port);
      const timeouts = { queryMs: 1500, listenProbeMs: 300 };
      const writer = await openPostgresBackend({ connString: url.toString(), timeouts });
      const warnings: string[] = [];
      const watcher = await openPostgresBackend({ connString: url.toString(), timeouts, onWarning: (m) => warnings.push(m) });
      opened.push(writer, watcher);
      const seen: WatchEvent[] = [];
      const w = await watcher.watch('', (e) => seen.push(e));
      await writer.put('k', 1);
      await waitFor(() => seen.length === 1, 'the first write');
      proxy.freeze();
      const err = await writer.put('k', 2).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(isXError(err) && err.kind).toBe('connection-problem');
      // Still frozen: the probe of the idle LISTEN connection is what notices.
      await waitFor(() => warnings.some((m) => m.includes('lost the PostgreSQL notification connection')), 'the probe to notice', 40_000);
      proxy.thaw();
      await waitFor(() => seen.some((e) => e.type === 'resync'), 'resync after the silent failure', 40_000);
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await writer.put('k', 3).then(
          () => true,
          () => false,
        );
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      await waitFor(() => seen.some((e) => e.type === 'put' && e.revision > 1 && e.key === 'k'), 'a write after the thaw');
      w.close();
    } finally {
      await proxy.close();
    }
  }, 90_000);
});

describe('postgres schema migration', () => {
  it('migrates once when several replicas open a fresh database at the same time', async () => {
    const url = await server.createDatabase();
    const backends = await Promise.all(Array.from({ length: 5 }, () => openPostgresBackend({ connString: url })));
    opened.push(...backends);
    const versions = await Promise.all(backends.map((be) => be.schemaVersion()));
    expect(versions).toEqual(Array(5).fill(SCHEMA_VERSION));
    const rows = await server.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = '${new URL(url).pathname.slice(1)}'`);
    expect(rows.rows[0].n).toBe(1);
    const [first] = backends;
    await first!.put('k', 1);
    expect((await backends[4]!.get('k'))?.value).toBe(1);
  });

  it('refuses a database written by a newer xport, naming both versions', async () => {
    const url = await server.createDatabase();
    const be = await openPostgresBackend({ connString: url });
    await be.put('k', 1);
    await be.close();
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('INSERT INTO xport_schema (version) VALUES ($1)', [SCHEMA_VERSION + 1]);
    await c.end();
    const err = await openPostgresBackend({ connString: url }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isXError(err) && err.kind).toBe('bad-parameter');
    expect(String((err as Error).message)).toContain(`schema ${SCHEMA_VERSION + 1}; this one reads up to ${SCHEMA_VERSION}`);
  });

  it('tells a role that may not create tables to own the database', async () => {
    const url = new URL(await server.createDatabase());
    await server.query('CREATE ROLE xport_plain LOGIN');
    url.username = 'xport_plain';
    const err = await openPostgresBackend({ connString: url.toString() }).then(
      () => undefined,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(isXError(err) && err.kind).toBe('bad-parameter');
    expect(err!.message).toContain('permission denied for schema public');
    expect(isXError(err) && err.hint).toMatch(/createdb -O ROLE DB/);
  });

  it('names a missing database and says to create it, without the password', async () => {
    const err = await openPostgresBackend({ connString: `postgres://xport:s3cret@127.0.0.1:${server.port}/nosuchdb` }).then(
      () => undefined,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(isXError(err) && err.kind).toBe('bad-parameter');
    expect(err!.message).toContain('nosuchdb');
    expect(err!.message).not.toContain('s3cret');
  });
});

describe('postgres backend over TLS', () => {
  let tlsServer: PostgresServer;
  beforeAll(async () => {
    tlsServer = await startPostgres({ tls: true });
  }, 120_000);
  afterAll(async () => {
    await tlsServer?.stop();
  });

  it('connects with verify-full against the CA in ca_file and works', async () => {
    const be = await openPostgresBackend({ connString: tlsServer.url(), caFile: tlsServer.tls!.caFile });
    opened.push(be);
    await be.put('k', 'over tls');
    expect((await be.get('k'))?.value).toBe('over tls');
    const ssl = await tlsServer.query(`SELECT count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.application_name = 'xport'`);
    expect(ssl.rows[0].n).toBeGreaterThan(0);
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const err = await openPostgresBackend({ connString: tlsServer.url(), caFile: tlsServer.tls!.otherCaFile }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isXError(err) && err.kind).toBe('connection-problem');
  });

  it('refuses a server whose certificate does not name the host dialled', async () => {
    // The certificate names 127.0.0.1 and localhost; the server also listens on 127.0.0.2.
    const err = await openPostgresBackend({ connString: `postgres://xport@127.0.0.2:${tlsServer.port}/postgres`, caFile: tlsServer.tls!.caFile }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isXError(err) && err.kind).toBe('connection-problem');
    expect(String((err as Error).message)).toMatch(/127\.0\.0\.2 is not in the cert's list/);
  });

  it('is refused without TLS by a server that requires it', async () => {
    const err = await openPostgresBackend({ connString: tlsServer.url() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isXError(err)).toBe(true);
  });

  it('logs in with a client certificate, and is refused without one', async () => {
    const url = `postgres://${CERT_ROLE}@127.0.0.1:${tlsServer.port}/postgres`;
    const t = tlsServer.tls!;
    const be = await openPostgresBackend({ connString: url, caFile: t.caFile, certFile: t.clientCertFile, keyFile: t.clientKeyFile });
    opened.push(be);
    await be.put('cert/k', 1);
    expect((await be.get('cert/k'))?.value).toBe(1);
    const err = await openPostgresBackend({ connString: url, caFile: t.caFile }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isXError(err)).toBe(true);
  });
});
