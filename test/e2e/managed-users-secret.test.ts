/**
 * Managed users, the rest of issue 13: the admin password kept as a secret in the backend
 * (`admin.password_secret`, encrypted with a key only the auth service holds, given only to an
 * agent serving the database), a missing `+acl` found when the agent starts serving rather than
 * at the first session, and managed mode refused on Redis < 6 by xport's own version check.
 *
 * Real xctl start, real xsh tunnel, real TLS redis-server requiring client certificates. Redis 5
 * is not installed, so `old` points at test/helpers/fake-redis5.ts, which answers as 5.0.14. The
 * attacker in the last test holds what a leaked join token gives: a host certificate and a live
 * tunnel advertising a database of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ApiClient } from '../../src/client/api.js';
import { generateKeyPair } from '../../src/pki/index.js';
import { TunnelAgent } from '../../src/agent/tunnel.js';
import type { DatabaseAdvert } from '../../src/proxy/tunnel-protocol.js';
import { nullLogger } from '../../src/util/log.js';
import { addUser, ROOT, startTunnel, startXport, tmpDir, type XportService, type XshUser } from '../helpers/cli.js';
import { freePort, requireRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startSignedRedis, waitFor } from '../helpers/db-cluster.js';
import { startFakeRedis5, type FakeRedis5 } from '../helpers/fake-redis5.js';

const ADMIN_PW = 'vault-admin-pw-9f1c2e-only-in-the-backend-encrypted';
const WEAK_PW = 'weak-admin-pw-77aa01';
const HALF_PW = 'half-admin-pw-5e5e02';

type DbRow = { name: string; status: string; agents: string[]; health?: { ok: boolean; error?: string } };
type AuditRow = { type: string; user?: string; success?: boolean; error?: string; [k: string]: unknown };

/** firstReply sends PING over a raw connection and returns everything until the agent closes it. */
function firstReply(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
  });
}

async function apiError(p: Promise<unknown>): Promise<{ kind?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { kind?: string; message: string };
  }
  throw new Error('expected the request to be refused');
}

/** filesUnder lists every file below dir. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

requireRedis();

describe('managed users with the admin password as a backend secret, checks at start, Redis < 6', () => {
  let svc: XportService;
  let redis: RedisServer;
  let fake: FakeRedis5;
  let alice: XshUser;
  let dir: string;
  let redisPort: number;
  const clients: Redis[] = [];
  const stops: Array<() => Promise<void>> = [];

  const dbs = async (): Promise<DbRow[]> => {
    const r = await svc.xctl(['db', 'ls', '--format=json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as DbRow[]) : [];
  };
  const healthOf = async (name: string) => (await dbs()).find((d) => d.name === name);
  const audit = async (type: string): Promise<AuditRow[]> => {
    const r = await svc.xctl(['audit', 'ls', `--type=${type}`, '--limit=10000', '--format=json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as AuditRow[];
  };

  beforeAll(async () => {
    dir = await tmpDir('xport-managed-secret-');
    fake = await startFakeRedis5();
    redisPort = await freePort();
    const pwFile = join(dir, 'old-admin.pw');
    await writeFile(pwFile, 'old-admin-pw\n', { mode: 0o600 });
    const config = [
      'version: v1',
      'cluster_name: managed-secret',
      `data_dir: ${join(dir, 'data')}`,
      'proxy_service: { listen_addr: 127.0.0.1:0 }',
      'db_service:',
      '  enabled: true',
      // Health checks every 2 s (default 15 s): what is asserted is the verdict, not the interval.
      '  health_check_interval: 2s',
      '  resources: []',
      '  databases:',
      '    - name: vault',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${redisPort}`,
      '      static_labels: { env: dev }',
      '      users: managed',
      '      admin: { user: xport-admin, password_secret: vault-admin }',
      // The same Redis, an admin without +acl (its secret is set later in the test).
      '    - name: weak',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${redisPort}`,
      '      static_labels: { env: dev }',
      '      users: managed',
      '      admin: { user: weak-admin, password_secret: weak-admin }',
      // An admin that may read ACLs but not write them: only ACL DRYRUN tells.
      '    - name: half',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${redisPort}`,
      '      static_labels: { env: dev }',
      '      users: managed',
      '      admin: { user: half-admin, password_secret: half-admin }',
      // A Redis 5 (no ACL users).
      '    - name: old',
      '      protocol: redis',
      `      uri: redis://127.0.0.1:${fake.port}`,
      '      tls: { mode: disabled }',
      '      static_labels: { env: dev }',
      '      users: managed',
      `      admin: { user: xport-admin, password_file: ${pwFile} }`,
      '',
    ].join('\n');
    svc = await startXport({ config });
    redis = await startSignedRedis(svc, dir, [`user xport-admin on >${ADMIN_PW} ~* &* +@all`, `user weak-admin on >${WEAK_PW} ~* &* +@all -@admin`, `user half-admin on >${HALF_PW} ~* &* +@all -acl|setuser`, 'user default off'], { port: redisPort });
    const rolesFile = join(dir, 'role.yaml');
    await writeFile(
      rolesFile,
      [
        'kind: role',
        'version: v1',
        'metadata: { name: app }',
        'spec:',
        '  allow:',
        '    db_labels: { env: dev }',
        "    db_users: ['{{internal.db_users}}']",
        "    db_names: ['0']",
        "    redis_commands: ['+@all', '-flushall']",
        "    redis_keys: ['app:*']",
        '',
      ].join('\n'),
    );
    expect((await svc.xctl(['create', '-f', rolesFile])).stderr).toBe('');
    alice = await addUser(svc, 'alice', ['--roles=app', '--db-users=alice'], 'alice-long-password');
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of stops) await s();
    await svc?.stop();
    await redis?.stop();
    await fake?.stop();
  });

  it('reports a managed database whose password_secret was never set as unhealthy, naming the secret and how to set it', async () => {
    await waitFor('vault unhealthy for want of its secret', async () => /database secret "vault-admin" does not exist/.test((await healthOf('vault'))?.health?.error ?? ''), 60_000);
    const row = (await healthOf('vault'))!;
    expect(row.status).toBe('unhealthy');
    expect(row.health!.error).toContain('cannot get admin.password_secret "vault-admin" from the auth service');
  });

  it('takes the value only from standard input, and refuses an empty one', async () => {
    const noFlag = await svc.xctl(['db', 'secret', 'set', 'vault-admin', '--db', 'vault']);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain('add --password-stdin');
    const empty = await svc.xctl(['db', 'secret', 'set', 'vault-admin', '--db', 'vault', '--password-stdin'], { input: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('standard input was empty');
    expect((await svc.xctl(['db', 'secret', 'ls', '--format=json'])).stdout.trim()).toBe('[]');
  });

  it('serves a managed session with the admin password from the secret, and audits setting it without the value', async () => {
    const set = await svc.xctl(['db', 'secret', 'set', 'vault-admin', '--db', 'vault', '--password-stdin'], { input: `${ADMIN_PW}\n` });
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain('Secret "vault-admin" set; agents serving vault may read it.');
    await waitFor('vault online', async () => (await healthOf('vault'))?.status === 'online', 60_000);
    const tunnel = await startTunnel(alice, ['vault', '--db-user=alice']);
    stops.push(() => tunnel.stop());
    const c = new Redis({ host: '127.0.0.1', port: tunnel.port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    clients.push(c);
    await c.connect();
    expect(await c.set('app:1', 'v1')).toBe('OK');
    expect(await c.get('app:1')).toBe('v1');
    expect(await c.call('ACL', 'WHOAMI')).toBe('alice');
    const set1 = (await audit('db.secret.set')).filter((e) => e.name === 'vault-admin');
    expect(set1).toHaveLength(1);
    expect(set1[0]).toMatchObject({ success: true, user: 'xctl-admin', databases: ['vault'] });
    const reads = (await audit('db.secret.read')).filter((e) => e.name === 'vault-admin' && e.success === true);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads[0]!.db_service).toBe('vault');
    const everything = await svc.xctl(['audit', 'ls', '--limit=10000', '--format=json']);
    expect(everything.stdout).not.toContain(ADMIN_PW);
    const ls = await svc.xctl(['db', 'secret', 'ls', '--format=json']);
    expect(ls.stdout).not.toContain(ADMIN_PW);
    expect(JSON.parse(ls.stdout)).toMatchObject([{ name: 'vault-admin', databases: ['vault'], updated_by: 'xctl-admin' }]);
  });

  it('keeps only ciphertext in the backend: no file of the data dir and no log line holds the password', async () => {
    const data = join(dir, 'data');
    const files = await filesUnder(data);
    let sawRow = false;
    for (const f of files) {
      const bytes = await readFile(f);
      expect(bytes.includes(ADMIN_PW), f).toBe(false);
      if (bytes.includes('db_secrets/vault-admin') && bytes.includes('"ciphertext"')) sawRow = true;
    }
    // The SQLite file (or its WAL) holds the row, so the grep above read the right bytes.
    expect(sawRow).toBe(true);
    const keyFile = join(data, 'db-secrets.key');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(svc.output()).not.toContain(ADMIN_PW);
  });

  it('finds a missing +acl when the agent starts serving the database, before any session, and names the permission', async () => {
    const set = await svc.xctl(['db', 'secret', 'set', 'weak-admin', '--db', 'weak', '--password-stdin'], { input: `${WEAK_PW}\n` });
    expect(set.code).toBe(0);
    await waitFor('weak unhealthy for want of +acl', async () => /admin user "weak-admin" lacks the \+acl permission/.test((await healthOf('weak'))?.health?.error ?? ''), 60_000);
    expect((await healthOf('weak'))!.status).toBe('unhealthy');
    // The agent's log says it too, and no session to weak was ever opened.
    expect(svc.output()).toMatch(/database health check failed.*weak.*lacks the \+acl permission|lacks the \+acl permission.*weak/);
    expect((await audit('db.session.start')).some((e) => e.db_service === 'weak')).toBe(false);
    expect(svc.output()).not.toContain(WEAK_PW);
  });

  it('finds an admin that may read ACLs but not run ACL SETUSER, with ACL DRYRUN, before any session', async () => {
    expect((await svc.xctl(['db', 'secret', 'set', 'half-admin', '--db', 'half', '--password-stdin'], { input: `${HALF_PW}\n` })).code).toBe(0);
    await waitFor('half unhealthy', async () => /admin user "half-admin" lacks the \+acl permission/.test((await healthOf('half'))?.health?.error ?? ''), 60_000);
    expect((await healthOf('half'))!.health!.error).toContain("no permissions to run the 'acl|setuser' command");
  });

  it('refuses managed mode on Redis 5 with its own version check, saying Redis 6 is needed and passthrough works', async () => {
    await waitFor('old unhealthy', async () => /Redis 5\.0\.14 has no ACL users/.test((await healthOf('old'))?.health?.error ?? ''), 60_000);
    const err = (await healthOf('old'))!.health!.error!;
    expect(err).toContain('users: managed needs Redis 6 or later');
    expect(err).toContain('users: passthrough');
    // The version came from INFO server; nothing was ever written to the Redis 5.
    expect(fake.commands.some((c) => c[0] === 'INFO')).toBe(true);
    const t = await startTunnel(alice, ['old', '--db-user=alice']);
    try {
      expect(await firstReply(t.port)).toMatch(/^-ERR xport: database "old": Redis 5\.0\.14 has no ACL users: users: managed needs Redis 6 or later/);
    } finally {
      await t.stop();
    }
    expect(fake.commands.some((c) => c[0] === 'ACL' && c[1]?.toUpperCase() === 'SETUSER')).toBe(false);
  });

  it('serves a remote agent (joined with a token, on its own data dir) the secret over the web API, and nothing lands on its disk', async () => {
    const token = (await svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const agentDir = join(dir, 'agent-data');
    const cfg = join(dir, 'agent.yaml');
    await writeFile(
      cfg,
      [
        'version: v1',
        `data_dir: ${agentDir}`,
        'auth_service: { enabled: false }',
        'proxy_service: { enabled: false }',
        'db_service:',
        '  enabled: true',
        '  health_check_interval: 2s',
        `  auth_token: ${token}`,
        `  proxy_server: ${svc.addr}`,
        `  ca_pin: ${svc.pin}`,
        '  databases:',
        '    - name: remote',
        '      protocol: redis',
        `      uri: rediss://127.0.0.1:${redisPort}`,
        '      static_labels: { env: dev }',
        '      users: managed',
        '      admin: { user: xport-admin, password_secret: remote-admin }',
        '',
      ].join('\n'),
    );
    expect((await svc.xctl(['db', 'secret', 'set', 'remote-admin', '--db', 'remote', '--password-stdin'], { input: `${ADMIN_PW}\n` })).code).toBe(0);
    const agent = spawn(process.execPath, [join(ROOT, 'bin', 'xctl.js'), 'start', '-c', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    agent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    agent.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => agent.once('exit', r));
    stops.push(async () => {
      if (agent.exitCode === null) {
        process.kill(agent.pid!, 'SIGTERM');
        await exited;
      }
    });
    await waitFor('remote online', async () => (await healthOf('remote'))?.status === 'online', 90_000);
    const remoteHost = (await healthOf('remote'))!.agents[0]!;
    // Another db user than alice: the in-process agent created alice in this Redis, and an agent
    // never takes over a Redis user it did not create.
    const carol = await addUser(svc, 'carol', ['--roles=app', '--db-users=carol'], 'carol-long-password');
    const t2 = await startTunnel(carol, ['remote', '--db-user=carol']);
    stops.push(() => t2.stop());
    const c = new Redis({ host: '127.0.0.1', port: t2.port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    clients.push(c);
    await c.connect();
    expect(await c.set('app:remote', 'r')).toBe('OK');
    expect(await c.call('ACL', 'WHOAMI')).toBe('carol');
    const reads = (await audit('db.secret.read')).filter((e) => e.name === 'remote-admin' && e.success === true);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((e) => e.host_id === remoteHost)).toBe(true);
    for (const f of await filesUnder(agentDir)) expect((await readFile(f)).includes(ADMIN_PW), f).toBe(false);
    expect(out).not.toContain(ADMIN_PW);
  });

  it('gives the secret to no agent that does not serve its database, and audits each refusal', async () => {
    const token = (await svc.xctl(['tokens', 'add', '--type=db', '--format=text'])).stdout.trim();
    const kp = generateKeyPair('ecdsa-p256');
    const anon = new ApiClient({ addr: svc.addr, caPin: svc.pin });
    const j = await anon.request<{ host_id: string; cert: string; host_ca: string }>('POST', '/v1/webapi/join', { token, public_key: kp.publicKeyPem });
    const api = new ApiClient({ addr: svc.addr, caPem: j.host_ca, credentials: { certPem: j.cert, keyPem: kp.privateKeyPem } });
    const ask = (database: string) => api.request('POST', '/v1/agent/db-admin', { secret: 'vault-admin', database, public_key: generateKeyPair('ecdsa-p256').publicKeyPem });
    // Joined but not connected: nothing.
    const offline = await apiError(ask('vault'));
    expect(offline.kind).toBe('access-denied');
    expect(offline.message).toContain('is not connected to the proxy');
    const rogueDb: DatabaseAdvert = { name: 'rogue-db', protocol: 'redis', uri: 'rediss://127.0.0.1:1', labels: { env: 'dev' }, type: 'self-hosted', mode: 'standalone' };
    const tunnel = new TunnelAgent({
      proxyAddr: svc.addr,
      tls: { certPem: j.cert, keyPem: kp.privateKeyPem, caPem: j.host_ca },
      hostId: j.host_id,
      version: '0.1.0',
      databases: () => [rogueDb],
      onStream: async () => {},
      log: nullLogger,
    });
    tunnel.start();
    stops.push(() => tunnel.stop());
    await waitFor('the rogue agent online', async () => (await dbs()).some((d) => d.name === 'rogue-db' && d.agents.includes(j.host_id)));
    const notServed = await apiError(ask('vault'));
    expect(notServed.kind).toBe('access-denied');
    expect(notServed.message).toContain('does not serve database "vault"');
    // Its own database is served, but the secret is not for it.
    const notFor = await apiError(ask('rogue-db'));
    expect(notFor.kind).toBe('access-denied');
    expect(notFor.message).toContain('database secret "vault-admin" is not for database "rogue-db"');
    for (const e of [offline, notServed, notFor]) expect(JSON.stringify(e)).not.toContain(ADMIN_PW);
    const refused = (await audit('db.secret.read')).filter((e) => e.host_id === j.host_id);
    expect(refused).toHaveLength(3);
    expect(refused.every((e) => e.success === false && e.code === 'TDB23W')).toBe(true);
  });
});
