/**
 * e2e: two real `xctl start` replicas, each with its own data dir, sharing one real PostgreSQL 15.
 * They create one set of CAs between them, so a certificate either issues verifies on the other;
 * users, invites, login lockouts and audit events written through one are there on the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startXport, tmpDir, inviteToken, type RunOptions, type XportService } from '../helpers/cli.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

const replicaConfig = (dataDir: string, connString: string) =>
  [
    'version: v1',
    'cluster_name: ha-test',
    `data_dir: ${dataDir}`,
    'auth_service:',
    '  storage:',
    '    type: postgres',
    `    conn_string: ${connString}`,
    'proxy_service:',
    '  listen_addr: 127.0.0.1:0',
    'db_service:',
    '  enabled: false',
  ].join('\n') + '\n';

describe('two xctl start replicas on one PostgreSQL', () => {
  let pg: PostgresServer;
  let url: string;
  let a: XportService;
  let b: XportService;
  let home: string;
  const xsh = (args: string[], o: RunOptions = {}) => runCli('xsh', args, { ...o, env: { XSH_HOME: home, ...o.env } });

  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('xport_ha');
    home = join(await tmpDir(), 'xsh');
    // Started together: the schema migration and the CA creation race on purpose.
    [a, b] = await Promise.all([
      startXport({ config: replicaConfig(join(await tmpDir(), 'a'), url) }),
      startXport({ config: replicaConfig(join(await tmpDir(), 'b'), url) }),
    ]);
  }, 180_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.stop();
  });

  it('runs both, each holding its own data dir, with one set of CAs', async () => {
    expect(a.dataDir).not.toBe(b.dataDir);
    expect(a.pin).toBe(b.pin);
    const cas = await pg.query(`SELECT key FROM xport_kv WHERE key LIKE 'cas/%' ORDER BY key`, 'xport_ha');
    expect(cas.rows.map((r) => r.key)).toEqual(['cas/db', 'cas/db_client', 'cas/host', 'cas/user']);
    const sa = JSON.parse((await a.xctl(['status', '--format=json'])).stdout);
    const sb = JSON.parse((await b.xctl(['status', '--format=json'])).stdout);
    expect(sa.cas).toEqual(sb.cas);
  });

  it('exits with a clear error, no password, when PostgreSQL cannot be reached', async () => {
    const dir = await tmpDir();
    const cfg = join(dir, 'xport.yaml');
    await writeFile(cfg, replicaConfig(join(dir, 'data'), 'postgres://xport:hunter2@127.0.0.1:1/xport'));
    const r = await runCli('xctl', ['start', '-c', cfg], { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot reach PostgreSQL at 127.0.0.1:1/xport');
    expect(r.stderr + r.stdout).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it('refuses a second service on a replica\'s data dir while the replica runs', async () => {
    const r = await runCli('xctl', ['start', '--data-dir', a.dataDir, '--listen-addr', '127.0.0.1:0'], { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(String(a.pid));
  });

  it('redeems on B an invite created on A, logs in through A and uses that certificate through B', async () => {
    const add = await a.xctl(['users', 'add', 'alice', '--roles=access']);
    expect(add.code).toBe(0);
    const invite = await xsh(['login', `--proxy=${b.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${b.pin}`, '--password-stdin'], {
      input: 'alice-long-password\n',
    });
    expect(invite.stderr).not.toMatch(/error/i);
    expect(invite.code).toBe(0);
    const login = await xsh(['login', `--proxy=${a.addr}`, '--user=alice', '--password-stdin'], { input: 'alice-long-password\n' });
    expect(login.code).toBe(0);
    // The saved login points at A; an identity file made of the same key and certificate lets
    // xsh dial B with them.
    const keys = join(home, 'keys', (await readdir(join(home, 'keys')))[0]!);
    const idFile = join(await tmpDir(), 'alice.pem');
    const pem = (n: string) => readFile(join(keys, n), 'utf8');
    await writeFile(idFile, (await pem('alice.key')) + (await pem('alice.crt')) + (await pem('certs.pem')), { mode: 0o600 });
    const throughB = await xsh(['-i', idFile, `--proxy=${b.addr}`, 'db', 'ls', '--format=json']);
    expect(throughB.stderr).toBe('');
    expect(throughB.code).toBe(0);
    expect(JSON.parse(throughB.stdout)).toEqual([]);
    // Control: B refuses the same request without a certificate from the shared user CA.
    const other = await startXport();
    try {
      const foreign = join(await tmpDir(), 'foreign.pem');
      expect((await other.xctl(['users', 'add', 'alice', '--roles=access'])).code).toBe(0);
      const signed = await other.xctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${foreign}`]);
      expect(signed.code).toBe(0);
      const refused = await xsh(['-i', foreign, `--proxy=${b.addr}`, 'db', 'ls']);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toBe('');
    } finally {
      await other.stop();
    }
    // The login went through A; B's audit log has it.
    const audit = JSON.parse((await b.xctl(['audit', 'ls', '--type=user.login', '--user=alice', '--format=json'])).stdout) as { success: boolean }[];
    expect(audit.some((e) => e.success)).toBe(true);
  });

  it('shows on B a user created on A at B\'s next read', async () => {
    const add = await a.xctl(['users', 'add', 'bob', '--roles=access']);
    expect(add.code).toBe(0);
    // No cache to wait for: B reads the shared backend.
    const ls = JSON.parse((await b.xctl(['users', 'ls', '--format=json'])).stdout) as { name: string }[];
    expect(ls.map((u) => u.name)).toContain('bob');
  });

  it('locks a user out on both replicas after failures spread across them', async () => {
    const add = await a.xctl(['users', 'add', 'carol', '--roles=access']);
    const carolHome = join(await tmpDir(), 'xsh');
    const asCarol = (args: string[], o: RunOptions = {}) => runCli('xsh', args, { ...o, env: { XSH_HOME: carolHome, ...o.env } });
    const done = await asCarol(['login', `--proxy=${a.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${a.pin}`, '--password-stdin'], {
      input: 'carol-long-password\n',
    });
    expect(done.code).toBe(0);
    const attempt = (svc: XportService, pw: string) => asCarol(['login', `--proxy=${svc.addr}`, `--ca-pin=${svc.pin}`, '--user=carol', '--password-stdin'], { input: `${pw}\n` });
    // Five failures, alternating replicas: neither replica alone saw enough to lock.
    for (let i = 0; i < 5; i++) {
      const r = await attempt(i % 2 ? b : a, `wrong-password-${i}`);
      expect(r.code).toBe(1);
    }
    for (const svc of [a, b]) {
      const locked = await attempt(svc, 'carol-long-password');
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(/too many failed login attempts/);
    }
  });
});
