/**
 * e2e: agents are trusted no further than the sessions they serve (issue 8 §5), join tokens are
 * single-use unless `--uses N`, and a remote agent takes the cluster name from the join
 * (issue 11 item 1) — against the real `xctl start`, a real TLS redis-server and real binaries.
 *
 * The attacker here holds what a leaked join token gives: a host certificate of the cluster and
 * a live reverse tunnel to the proxy (a real TunnelAgent over TLS), and calls the agent API
 * directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiClient } from '../../src/client/api.js';
import { CertificateAuthority, certificateInfo, generateKeyPair } from '../../src/pki/index.js';
import { TunnelAgent } from '../../src/proxy/tunnel-agent.js';
import type { DatabaseAdvert } from '../../src/proxy/tunnel-protocol.js';
import { nullLogger } from '../../src/util/log.js';
import { ROOT, runCli, tmpDir, type XshUser } from '../helpers/cli.js';
import { hasRedis } from '../helpers/redis-server.js';
import { startDbCluster, waitFor, type DbCluster } from '../helpers/db-cluster.js';

const CLUSTER = 'example';

type AuditRow = { type: string; user?: string; sid?: string; success?: boolean; [k: string]: unknown };

async function audit(c: DbCluster, type: string): Promise<AuditRow[]> {
  const r = await c.svc.xctl(['audit', 'ls', `--type=${type}`, '--limit=10000', '--format=json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as AuditRow[];
}

/** apiError runs a request that must fail and returns the error. */
async function apiError(p: Promise<unknown>): Promise<{ kind?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { kind?: string; message: string };
  }
  throw new Error('expected the request to be refused');
}

/** routedCertBase64 logs the user in to a database and returns the routed certificate (base64 DER), as the proxy passes it. */
async function routedCertBase64(u: XshUser, db: string, dbUser: string): Promise<{ b64: string; expires: Date }> {
  const r = await u.xsh(['db', 'login', db, `--db-user=${dbUser}`]);
  if (r.code !== 0) throw new Error(r.stderr);
  const files: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.crt')) files.push(p);
    }
  };
  await walk(u.home);
  for (const f of files) {
    const pem = await readFile(f, 'utf8');
    const info = certificateInfo(pem);
    if (info.identity?.route?.database === db && info.identity.route.dbUser === dbUser) {
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      return { b64: der.toString('base64'), expires: info.notAfter };
    }
  }
  throw new Error(`no certificate routed to ${db} as ${dbUser} under ${u.home}`);
}

/** Rogue is an agent joined with a (leaked) token, driven by the test instead of `xctl start`. */
interface Rogue {
  hostId: string;
  api: ApiClient;
  advertise(dbs: DatabaseAdvert[]): void;
  stop(): Promise<void>;
}

async function joinRogue(c: DbCluster, token: string): Promise<Rogue> {
  const kp = generateKeyPair('ecdsa-p256');
  const anon = new ApiClient({ addr: c.svc.addr, caPin: c.svc.pin });
  const j = await anon.request<{ host_id: string; cert: string; host_ca: string }>('POST', '/v1/webapi/join', { token, public_key: kp.publicKeyPem });
  const api = new ApiClient({ addr: c.svc.addr, caPem: j.host_ca, credentials: { certPem: j.cert, keyPem: kp.privateKeyPem } });
  let adverts: DatabaseAdvert[] = [];
  const tunnel = new TunnelAgent({
    proxyAddr: c.svc.addr,
    tls: { certPem: j.cert, keyPem: kp.privateKeyPem, caPem: j.host_ca },
    hostId: j.host_id,
    version: '0.1.0',
    databases: () => adverts,
    // Never serve a real user: refusing with a non-access error sends the proxy to the next agent.
    onStream: async () => {
      throw new Error('rogue agent does not serve sessions');
    },
    log: nullLogger,
    heartbeatMs: 200,
  });
  tunnel.start();
  return {
    hostId: j.host_id,
    api,
    advertise: (dbs) => (adverts = dbs),
    stop: () => tunnel.stop(),
  };
}

async function waitServes(c: DbCluster, hostId: string, db: string, serves: boolean): Promise<void> {
  await waitFor(`${hostId} ${serves ? 'serving' : 'not serving'} ${db}`, async () => {
    const r = await c.svc.xctl(['db', 'ls', '--format=json']);
    const row = (JSON.parse(r.stdout) as { name: string; agents: string[] }[]).find((d) => d.name === db);
    return (row?.agents.includes(hostId) ?? false) === serves;
  });
}

describe.runIf(hasRedis())('an agent is trusted no further than the sessions it serves', () => {
  let c: DbCluster;
  let rogue: Rogue;
  let cacheAdvert: DatabaseAdvert;
  let alice: { b64: string; expires: Date };
  beforeAll(async () => {
    c = await startDbCluster({ xportArgs: ['--cluster-name', CLUSTER] });
    const token = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    rogue = await joinRogue(c, token);
    const ls = JSON.parse((await c.svc.xctl(['db', 'ls', '--format=json'])).stdout) as (DatabaseAdvert & { agents: string[] })[];
    const cache = ls.find((d) => d.name === 'cache')!;
    cacheAdvert = { name: 'cache', protocol: 'redis', uri: cache.uri, labels: cache.labels, type: cache.type, mode: cache.mode };
    alice = await routedCertBase64(c.alice, 'cache', 'alice');
  }, 120_000);
  afterAll(async () => {
    await rogue?.stop();
    await c?.stop();
  });

  const certRequest = (body: Record<string, unknown>) =>
    rogue.api.request<{ cert: string; expires: string }>('POST', '/v1/agent/db-client-cert', {
      public_key: generateKeyPair('ecdsa-p256').publicKeyPem,
      not_after: new Date(Date.now() + 3_600_000).toISOString(),
      ...body,
    });

  it('refuses a db_client certificate for a db user no live session authorised, and audits the refusal', async () => {
    rogue.advertise([cacheAdvert]);
    await waitServes(c, rogue.hostId, 'cache', true);
    const err = await apiError(certRequest({ db_user: 'alice', database: 'cache' }));
    expect(err.kind).toBe('access-denied');
    expect(err.message).toContain('only for a session the agent serves');
    const made = await apiError(certRequest({ db_user: 'alice', sid: 'made-up-session', proof: Buffer.from('not a certificate').toString('base64') }));
    expect(made.kind).toBe('access-denied');
    await waitFor('refusals audited', async () => {
      const rows = (await audit(c, 'cert.create')).filter((e) => e.cert_type === 'db_client' && e.host_id === rogue.hostId && e.success === false);
      return rows.length >= 2;
    });
  });

  it('refuses a forged proof: a certificate routed to the database but signed by another CA', async () => {
    const fake = CertificateAuthority.create({ type: 'user', clusterName: CLUSTER, algorithm: 'ecdsa-p256', now: new Date() });
    const forged = fake.issue({
      publicKey: generateKeyPair('ecdsa-p256').publicKeyPem,
      commonName: 'alice',
      organization: ['dev-all'],
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      extKeyUsage: ['clientAuth'],
      identity: { user: 'alice', roles: ['dev-all'], traits: { db_users: ['alice'], db_names: [] }, usage: 'user', cluster: CLUSTER, route: { database: 'cache', dbUser: 'alice' } },
    });
    const b64 = Buffer.from(forged.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    const err = await apiError(certRequest({ db_user: 'alice', database: 'cache', sid: 'forged-1', proof: b64 }));
    expect(err.kind).toBe('access-denied');
    expect(err.message).toMatch(/not issued by/);
  });

  it('refuses a real proof for another db user, or a database the agent does not serve', async () => {
    const otherUser = await apiError(certRequest({ db_user: 'bob', database: 'cache', sid: 'other-user-1', proof: alice.b64 }));
    expect(otherUser.kind).toBe('access-denied');
    expect(otherUser.message).toContain('is routed to db user "alice", not "bob"');

    rogue.advertise([{ ...cacheAdvert, name: 'elsewhere' }]);
    await waitServes(c, rogue.hostId, 'cache', false);
    const notServed = await apiError(certRequest({ db_user: 'alice', database: 'cache', sid: 'other-db-1', proof: alice.b64 }));
    expect(notServed.kind).toBe('access-denied');
    expect(notServed.message).toContain('does not serve database "cache"');
  });

  it('signs for the routed db user of a session the agent serves, never beyond the proof', async () => {
    rogue.advertise([cacheAdvert]);
    await waitServes(c, rogue.hostId, 'cache', true);
    const r = await certRequest({
      db_user: 'alice',
      database: 'cache',
      sid: 'served-1',
      proof: alice.b64,
      not_after: new Date(alice.expires.getTime() + 24 * 3_600_000).toISOString(),
    });
    const info = certificateInfo(r.cert);
    expect(info.commonName).toBe('alice');
    expect(info.notAfter.getTime()).toBeLessThanOrEqual(alice.expires.getTime());
    await waitFor('issue audited under the proof user', async () =>
      (await audit(c, 'cert.create')).some((e) => e.cert_type === 'db_client' && e.success === true && e.user === 'alice' && e.sid === 'served-1'),
    );
  });

  it('refuses audit events for a session the agent does not serve, and records its own under the user of the proof', async () => {
    rogue.advertise([cacheAdvert]);
    await waitServes(c, rogue.hostId, 'cache', true);
    // A real session through the real agent: its sid belongs to that agent.
    const real = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'PING']);
    expect(real.stdout.trim()).toBe('PONG');
    let realSid = '';
    await waitFor('the real session audited', async () => {
      const s = (await audit(c, 'db.session.start')).find((e) => e.user === 'alice' && e.success !== false && e.agent !== rogue.hostId);
      realSid = s?.sid ?? '';
      return realSid !== '';
    });

    const unknown = await rogue.api.request<{ accepted: number; rejected: number }>('POST', '/v1/agent/events', {
      events: [{ type: 'db.session.query', sid: 'never-opened', user: 'bob', db_service: 'cache', command: 'flushall', query: 'FLUSHALL' }],
    });
    expect(unknown).toEqual({ accepted: 0, rejected: 1 });

    const hijack = await rogue.api.request<{ accepted: number; rejected: number }>('POST', '/v1/agent/events', {
      sessions: { [realSid]: alice.b64 },
      events: [{ type: 'db.session.query', sid: realSid, user: 'alice', db_service: 'cache', command: 'flushall', query: 'FLUSHALL' }],
    });
    expect(hijack).toEqual({ accepted: 0, rejected: 1 });

    const notDb = await rogue.api.request<{ accepted: number; rejected: number }>('POST', '/v1/agent/events', {
      sessions: { 'rogue-own-1': alice.b64 },
      events: [{ type: 'user.login', sid: 'rogue-own-1', user: 'admin', success: true }],
    });
    expect(notDb).toEqual({ accepted: 0, rejected: 1 });

    const own = await rogue.api.request<{ accepted: number; rejected: number }>('POST', '/v1/agent/events', {
      sessions: { 'rogue-own-1': alice.b64 },
      events: [{ type: 'db.session.query', sid: 'rogue-own-1', user: 'bob', db_user: 'root', db_service: 'payroll', command: 'get', query: 'GET x' }],
    });
    expect(own).toEqual({ accepted: 1, rejected: 0 });

    await waitFor('events judged in the audit log', async () => {
      const queries = await audit(c, 'db.session.query');
      const rejected = await audit(c, 'agent.events.rejected');
      const mine = queries.filter((e) => e.agent === rogue.hostId);
      return mine.length === 1 && rejected.filter((e) => e.host_id === rogue.hostId).length >= 3;
    });
    const queries = await audit(c, 'db.session.query');
    const mine = queries.filter((e) => e.agent === rogue.hostId);
    // The user, db user and database come from the proof, not from what the agent wrote.
    expect(mine[0]).toMatchObject({ sid: 'rogue-own-1', user: 'alice', db_user: 'alice', db_service: 'cache' });
    expect(queries.some((e) => e.sid === 'never-opened' || e.command === 'flushall')).toBe(false);
    expect(queries.some((e) => e.user === 'bob')).toBe(false);
  });
});

describe.runIf(hasRedis())('join tokens and the cluster name a remote agent joins', () => {
  let c: DbCluster;
  const agents: ChildProcess[] = [];
  beforeAll(async () => {
    c = await startDbCluster({ xportArgs: ['--cluster-name', CLUSTER] });
  }, 90_000);
  afterAll(async () => {
    for (const a of agents) {
      if (a.exitCode === null && a.signalCode === null) {
        process.kill(a.pid!, 'SIGTERM');
        await new Promise((r) => a.once('exit', r));
      }
    }
    await c?.stop();
  });

  const join1 = (token: string) =>
    new ApiClient({ addr: c.svc.addr, caPin: c.svc.pin }).request('POST', '/v1/webapi/join', { token, public_key: generateKeyPair('ecdsa-p256').publicKeyPem });

  it('admits one agent per token unless the token was created with --uses', async () => {
    const once = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    await join1(once);
    const again = await apiError(join1(once));
    expect(again.kind).toBe('access-denied');
    expect(again.message).toContain('join token is invalid, used up or has expired');

    const twice = (await c.svc.xctl(['tokens', 'add', '--type=db', '--uses=2', '--format=text'])).stdout.trim();
    const ls = await c.svc.xctl(['tokens', 'ls', '--format=json']);
    expect((JSON.parse(ls.stdout) as { hint: string; uses: number }[]).find((t) => t.hint === `${twice.slice(0, 4)}…${twice.slice(-4)}`)?.uses).toBe(2);
    await join1(twice);
    await join1(twice);
    expect((await apiError(join1(twice))).kind).toBe('access-denied');
    const bad = await c.svc.xctl(['tokens', 'add', '--type=db', '--uses=0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--uses must be a whole number from 1 to 10000');
    await waitFor('failed joins audited', async () => (await audit(c, 'agent.join')).filter((e) => e.success === false).length >= 2);
  });

  /** startAgent runs the newcomer's steps: tokens add → db configure create → xctl start -c. */
  async function newcomerAgent(name: string, edit?: (cfgPath: string) => Promise<void>, token?: string) {
    const t = token ?? (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const dir = await tmpDir('xport-newcomer-');
    const cfgPath = join(dir, 'agent.yaml');
    const gen = await runCli('xctl', [
      'db', 'configure', 'create', `--token=${t}`, `--proxy=${c.svc.addr}`, `--ca-pin=${c.svc.pin}`,
      `--name=${name}`, '--protocol=redis', `--uri=rediss://127.0.0.1:${c.redis.port}`, '--labels=env=dev',
      `--data-dir=${join(dir, 'data')}`, `--output=file://${cfgPath}`,
    ]);
    expect(gen.code).toBe(0);
    expect(await readFile(cfgPath, 'utf8')).not.toContain('cluster_name');
    if (edit) await edit(cfgPath);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    agents.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { child, token: t, cfgPath, output: () => out };
  }

  it(`serves sessions on a cluster named "${CLUSTER}" from an agent config without cluster_name`, async () => {
    const a = await newcomerAgent('cache2');
    await waitFor('cache2 online', async () => {
      if (a.child.exitCode !== null) throw new Error(`the agent exited:\n${a.output()}`);
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache2' && d.status === 'online');
    });
    const set = await c.alice.xsh(['db', 'connect', 'cache2', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', 'newcomer', 'works']);
    expect(`${set.stdout}${set.stderr}`).not.toContain('belongs to cluster');
    expect(set.stdout.trim()).toBe('OK');
    expect(a.output()).toContain(`cluster "${CLUSTER}"`);
    await waitFor('the remote session audited under alice', async () =>
      (await audit(c, 'db.session.query')).some((e) => e.db_service === 'cache2' && e.user === 'alice'),
    );
    const starts = (await audit(c, 'db.session.start')).filter((e) => e.db_service === 'cache2');
    expect(starts.at(-1)).toMatchObject({ user: 'alice', cluster_name: CLUSTER, success: true });
  });

  it('fails the join of an agent whose config names another cluster, naming the right one, and keeps the token', async () => {
    const a = await newcomerAgent('cache3', (p) => appendFile(p, 'cluster_name: xport\n'));
    const code = await new Promise<number | null>((r) => (a.child.exitCode !== null ? r(a.child.exitCode) : a.child.once('exit', (c2) => r(c2))));
    expect(code).not.toBe(0);
    expect(a.output()).toContain(`names cluster "xport", but the proxy serves cluster "${CLUSTER}"`);
    expect(a.output()).toContain(`cluster_name: ${CLUSTER}`);
    // The refused join did not use the token up: with the name fixed, the same token joins.
    const fixed = await newcomerAgent('cache3', (p) => appendFile(p, `cluster_name: ${CLUSTER}\n`), a.token);
    await waitFor('cache3 online', async () => {
      if (fixed.child.exitCode !== null) throw new Error(`the agent exited:\n${fixed.output()}`);
      const r = await c.svc.xctl(['db', 'ls', '--format=json']);
      return (JSON.parse(r.stdout) as { name: string; status: string }[]).some((d) => d.name === 'cache3' && d.status === 'online');
    });
  });
});
