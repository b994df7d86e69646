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
import { connect } from 'node:net';
import { readdir, readFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiClient } from '../../src/client/api.js';
import { CertificateAuthority, certificateInfo, generateKeyPair } from '../../src/pki/index.js';
import { TunnelAgent } from '../../src/agent/tunnel.js';
import type { DatabaseAdvert } from '../../src/proxy/tunnel-protocol.js';
import { nullLogger } from '../../src/util/log.js';
import { ROOT, runCli, tmpDir, type XshUser, startTunnel } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';
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
  /** Headers of the streams the proxy routed to it (the user's certificate is in `cert`). */
  headers: { cert: string }[];
  stop(): Promise<void>;
}

/** The database the rogue advertises: env=dev, so alice's role lets her route to it. */
const ROGUE_DB: DatabaseAdvert = { name: 'rogue-db', protocol: 'redis', uri: 'rediss://127.0.0.1:1', labels: { env: 'dev' }, type: 'self-hosted', mode: 'standalone' };

async function joinRogue(c: DbCluster, token: string): Promise<Rogue> {
  const kp = generateKeyPair('ecdsa-p256');
  const anon = new ApiClient({ addr: c.svc.addr, caPin: c.svc.pin });
  const j = await anon.request<{ host_id: string; cert: string; host_ca: string }>('POST', '/v1/webapi/join', { token, public_key: kp.publicKeyPem });
  const api = new ApiClient({ addr: c.svc.addr, caPem: j.host_ca, credentials: { certPem: j.cert, keyPem: kp.privateKeyPem } });
  const headers: { cert: string }[] = [];
  const tunnel = new TunnelAgent({
    proxyAddr: c.svc.addr,
    tls: { certPem: j.cert, keyPem: kp.privateKeyPem, caPem: j.host_ca },
    hostId: j.host_id,
    version: '0.1.0',
    databases: () => [ROGUE_DB],
    // Accept the session and hold it open, keeping what the proxy sent.
    onStream: async (_stream, header) => void headers.push(header as { cert: string }),
    log: nullLogger,
  });
  tunnel.start();
  await waitFor('the rogue agent online', async () => {
    const r = await c.svc.xctl(['db', 'ls', '--format=json']);
    return (JSON.parse(r.stdout) as { name: string; agents: string[] }[]).some((d) => d.name === ROGUE_DB.name && d.agents.includes(j.host_id));
  });
  return { hostId: j.host_id, api, headers, stop: () => tunnel.stop() };
}


requireRedis();

describe('an agent is trusted no further than the sessions it serves', () => {
  let c: DbCluster;
  let rogue: Rogue;
  beforeAll(async () => {
    c = await startDbCluster({ args: ['--cluster-name', CLUSTER] });
    const token = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    rogue = await joinRogue(c, token);
  }, 120_000);
  afterAll(async () => {
    await rogue?.stop();
    await c?.stop();
  });

  const certRequest = (body: Record<string, unknown>) =>
    rogue.api.request<{ cert: string; expires: string }>('POST', '/v1/agent/db-client-cert', {
      public_key: generateKeyPair('ecdsa-p256').publicKeyPem,
      not_after: new Date(Date.now() + 3_600_000).toISOString(),
      database: ROGUE_DB.name,
      ...body,
    });

  it('refuses a db_client certificate for a db user no live session authorised, and audits the refusal', async () => {
    const err = await apiError(certRequest({ db_user: 'alice' }));
    expect(err.kind).toBe('access-denied');
    expect(err.message).toContain('only for a session the agent serves');
    const junk = await apiError(certRequest({ db_user: 'alice', sid: 'made-up-session', proof: Buffer.from('not a certificate').toString('base64') }));
    expect(junk.kind).toBe('access-denied');
    // A real certificate of alice routed to this very database, but no session of hers is open here.
    const kept = await routedCertBase64(c.alice, ROGUE_DB.name, 'alice');
    const idle = await apiError(certRequest({ db_user: 'alice', sid: 'idle-1', proof: kept.b64 }));
    expect(idle.message).toContain(`no session of user "alice" is open on agent ${rogue.hostId}`);
    await waitFor('refusals audited', async () => {
      const rows = (await audit(c, 'cert.create')).filter((e) => e.cert_type === 'db_client' && e.host_id === rogue.hostId && e.success === false);
      return rows.length >= 3;
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
      identity: { user: 'alice', roles: ['dev-all'], traits: { db_users: ['alice'], db_names: [] }, usage: 'user', cluster: CLUSTER, route: { database: ROGUE_DB.name, dbUser: 'alice' } },
    });
    const b64 = Buffer.from(forged.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    const err = await apiError(certRequest({ db_user: 'alice', sid: 'forged-1', proof: b64 }));
    expect(err.kind).toBe('access-denied');
    expect(err.message).toMatch(/not issued by/);
  });

  it('refuses a real proof routed to a database the agent does not serve', async () => {
    const cache = await routedCertBase64(c.alice, 'cache', 'alice');
    const err = await apiError(certRequest({ db_user: 'alice', database: 'cache', sid: 'other-db-1', proof: cache.b64 }));
    expect(err.kind).toBe('access-denied');
    expect(err.message).toContain(`agent ${rogue.hostId} does not serve database "cache"`);
  });

  it('signs for the routed db user only while the session routed to the agent is open, never beyond its certificate', async () => {
    const tunnel = await startTunnel(c.alice, [ROGUE_DB.name, '--db-user=alice']);
    const client = connect(tunnel.port, '127.0.0.1');
    try {
      await waitFor('the session routed to the rogue', async () => rogue.headers.length > 0);
      const proof = rogue.headers.at(-1)!.cert;
      const expires = certificateInfo(Buffer.from(proof, 'base64')).notAfter;
      const r = await certRequest({ db_user: 'alice', sid: 'served-1', proof, not_after: new Date(expires.getTime() + 24 * 3_600_000).toISOString() });
      const info = certificateInfo(r.cert);
      expect(info.commonName).toBe('alice');
      expect(info.notAfter.getTime()).toBeLessThanOrEqual(expires.getTime());
      const other = await apiError(certRequest({ db_user: 'root', sid: 'served-2', proof }));
      expect(other.message).toContain('is routed to db user "alice", not "root"');
      await waitFor('the issue audited under the proof user', async () =>
        (await audit(c, 'cert.create')).some((e) => e.cert_type === 'db_client' && e.success === true && e.user === 'alice' && e.sid === 'served-1'),
      );
      // The session ends (the user's tunnel goes away): the proof the agent kept is worth
      // nothing now, though the agent holds its end of the stream open.
      client.destroy();
      await tunnel.stop();
      await waitFor('refused once the session closed', async () => {
        const err = await certRequest({ db_user: 'alice', sid: `after-${Date.now()}`, proof }).then(() => undefined, (e: Error) => e);
        return err !== undefined && err.message.includes('no session of user "alice" is open');
      });
    } finally {
      client.destroy();
      await tunnel.stop();
    }
  });

  it('refuses audit events for a session the agent does not serve, and records its own under the user of the proof', async () => {
    // A real session through the real agent: its sid belongs to that agent.
    const real = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'PING']);
    expect(real.stdout.trim()).toBe('PONG');
    let realSid = '';
    await waitFor('the real session audited', async () => {
      const s = (await audit(c, 'db.session.start')).find((e) => e.user === 'alice' && e.db_service === 'cache' && e.success !== false);
      realSid = s?.sid ?? '';
      return realSid !== '';
    });
    const cache = await routedCertBase64(c.alice, 'cache', 'alice');
    const own = await routedCertBase64(c.alice, ROGUE_DB.name, 'alice');
    const post = (body: Record<string, unknown>) => rogue.api.request<{ accepted: number; rejected: number }>('POST', '/v1/agent/events', body);

    expect(await post({ events: [{ type: 'db.session.query', sid: 'never-opened', user: 'bob', db_service: 'cache', command: 'flushall', query: 'FLUSHALL' }] })).toEqual({ accepted: 0, rejected: 1 });
    expect(
      await post({ sessions: { [realSid]: cache.b64 }, events: [{ type: 'db.session.query', sid: realSid, user: 'alice', db_service: 'cache', command: 'flushall', query: 'FLUSHALL' }] }),
    ).toEqual({ accepted: 0, rejected: 1 });
    expect(await post({ sessions: { 'rogue-own-1': own.b64 }, events: [{ type: 'user.login', sid: 'rogue-own-1', user: 'admin', success: true }] })).toEqual({ accepted: 0, rejected: 1 });
    expect(
      await post({
        sessions: { 'rogue-own-1': own.b64 },
        events: [{ type: 'db.session.query', sid: 'rogue-own-1', user: 'bob', db_user: 'root', db_service: 'payroll', command: 'get', query: 'GET x' }],
      }),
    ).toEqual({ accepted: 1, rejected: 0 });

    await waitFor('events judged in the audit log', async () => {
      const mine = (await audit(c, 'db.session.query')).filter((e) => e.agent === rogue.hostId);
      const rejected = (await audit(c, 'agent.events.rejected')).filter((e) => e.host_id === rogue.hostId);
      return mine.length === 1 && rejected.length >= 3;
    });
    const queries = await audit(c, 'db.session.query');
    // The user, db user and database come from the proof, not from what the agent wrote.
    expect(queries.filter((e) => e.agent === rogue.hostId)[0]).toMatchObject({ sid: 'rogue-own-1', user: 'alice', db_user: 'alice', db_service: ROGUE_DB.name });
    expect(queries.some((e) => e.sid === 'never-opened' || e.command === 'flushall')).toBe(false);
    expect(queries.some((e) => e.user === 'bob')).toBe(false);
  });
});

describe('join tokens and the cluster name a remote agent joins', () => {
  let c: DbCluster;
  const agents: ChildProcess[] = [];
  beforeAll(async () => {
    c = await startDbCluster({ args: ['--cluster-name', CLUSTER] });
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

  it('admits one agent per token unless the token was created with --uses, and never lets the joiner pick its host id', async () => {
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
    // A joiner cannot pick its host id: naming itself after the in-process agent would take over
    // that agent's tunnel and the sessions bound to it.
    const inProcess = (JSON.parse((await c.svc.xctl(['db', 'ls', '--format=json'])).stdout) as { name: string; agents: string[] }[]).find((d) => d.name === 'cache')!.agents[0]!;
    const named = (await c.svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const joined = await new ApiClient({ addr: c.svc.addr, caPin: c.svc.pin }).request<{ host_id: string }>('POST', '/v1/webapi/join', {
      token: named,
      public_key: generateKeyPair('ecdsa-p256').publicKeyPem,
      host_id: inProcess,
    });
    expect(joined.host_id).not.toBe(inProcess);
    expect(joined.host_id).toMatch(/^[0-9a-f-]{36}$/);

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
