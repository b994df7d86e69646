/**
 * e2e: `xctl backend migrate` copies a real SQLite cluster into a real PostgreSQL 15 (re-runnable,
 * verified, refused while the service runs), a replica started on the copy is the same cluster,
 * and `xctl backend check` finds corruption put there behind its back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, startXport, tmpDir, type XportService } from '../helpers/cli.js';
import { startPostgres, CERT_ROLE, type PostgresServer } from '../helpers/postgres.js';

describe('xctl backend migrate and check', () => {
  let pg: PostgresServer;
  let sqliteSvc: XportService;
  let dataDir: string;
  let url: string;
  let pin: string;

  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('xport_copy');
    sqliteSvc = await startXport();
    dataDir = sqliteSvc.dataDir;
    pin = sqliteSvc.pin;
    expect((await sqliteSvc.xctl(['users', 'add', 'alice', '--roles=access'])).code).toBe(0);
    expect((await sqliteSvc.xctl(['users', 'add', 'bob', '--roles=access,editor'])).code).toBe(0);
    // The audit log is written in batches; wait until the user events are stored.
    for (let i = 0; ; i++) {
      const ev = JSON.parse((await sqliteSvc.xctl(['audit', 'ls', '--type=user.create', '--format=json'])).stdout) as unknown[];
      if (ev.length >= 2) break;
      if (i > 100) throw new Error('user.create events never appeared');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 180_000);
  afterAll(async () => {
    await sqliteSvc?.stop();
    await pg?.stop();
  });

  it('refuses to copy while a service holds the data dir, naming its pid', async () => {
    const r = await runCli('xctl', ['backend', 'migrate', `--from=sqlite:${dataDir}`, `--to=${url}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(String(sqliteSvc.pid));
    const copied = await pg.query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'xport_kv'`, 'xport_copy');
    expect(copied.rows[0].n).toBe(0);
  });

  it('copies every key and event once the service is stopped, and verifies the counts', async () => {
    await sqliteSvc.stop();
    const r = await runCli('xctl', ['backend', 'migrate', `--from=sqlite:${dataDir}`, `--to=${url}`, '--format=json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.keys.source).toBeGreaterThanOrEqual(6); // 4 CAs and 2 users at least
    expect(report.keys).toMatchObject({ copied: report.keys.source, unchanged: 0, verified: report.keys.source });
    expect(report.events.source).toBeGreaterThanOrEqual(2);
    expect(report.events).toMatchObject({ copied: report.events.source, alreadyThere: 0, verified: report.events.source });
    const rows = await pg.query(`SELECT key FROM xport_kv WHERE key LIKE 'users/%' ORDER BY key`, 'xport_copy');
    expect(rows.rows.map((x) => x.key)).toEqual(['users/alice', 'users/bob']);
  });

  it('copies nothing twice when run again', async () => {
    const r = await runCli('xctl', ['backend', 'migrate', `--from=sqlite:${dataDir}`, `--to=${url}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/keys: +(\d+) in the source; 0 copied, \1 already there; \1 verified/);
    expect(r.stdout).toMatch(/events: +(\d+) in the source; 0 copied, \1 already there; \1 verified/);
  });

  it('starts a replica on the copy that is the same cluster: same CA pin, users and audit', async () => {
    const cfg = ['version: v1', `data_dir: ${join(await tmpDir(), 'replica')}`, 'auth_service:', '  storage:', '    type: postgres', `    conn_string: ${url}`, 'proxy_service:', '  listen_addr: 127.0.0.1:0', 'db_service:', '  enabled: false'].join('\n');
    const replica = await startXport({ config: cfg + '\n' });
    try {
      expect(replica.pin).toBe(pin);
      const users = JSON.parse((await replica.xctl(['users', 'ls', '--format=json'])).stdout) as { name: string }[];
      expect(users.map((u) => u.name).sort()).toEqual(['alice', 'bob']);
      const ev = JSON.parse((await replica.xctl(['audit', 'ls', '--type=user.create', '--format=json'])).stdout) as { name?: string; user?: string }[];
      expect(ev.length).toBeGreaterThanOrEqual(2);
    } finally {
      await replica.stop();
    }
  });

  it('refuses to copy over another cluster\'s keys unless told to overwrite', async () => {
    const other = await pg.createDatabase('xport_other');
    const otherSvcCfg = ['version: v1', `data_dir: ${join(await tmpDir(), 'other')}`, 'auth_service:', '  storage:', '    type: postgres', `    conn_string: ${other}`, 'proxy_service:', '  listen_addr: 127.0.0.1:0', 'db_service:', '  enabled: false'].join('\n');
    const otherSvc = await startXport({ config: otherSvcCfg + '\n' });
    await otherSvc.stop();
    const r = await runCli('xctl', ['backend', 'migrate', `--from=sqlite:${dataDir}`, `--to=${other}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/already holds cas\/\S+ with a different value/);
    expect(r.stderr).toContain('--overwrite');
  });

  it('finds no problems in a healthy SQLite or PostgreSQL backend', async () => {
    const s = await runCli('xctl', ['backend', 'check', `--storage=sqlite:${dataDir}`]);
    expect(s.stdout).toMatch(/Checked SQLite .*xport\.db: schema 1 .* \d+ keys, \d+ events\.\nNo problems found\./);
    expect(s.code).toBe(0);
    const p = await runCli('xctl', ['backend', 'check', `--storage=${url}`, '--format=json']);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ ok: true, schemaVersion: 1, expectedSchemaVersion: 1, problems: [] });
  });

  it('reports a value that does not parse, a revision beyond the counter and an event that does not parse', async () => {
    await pg.query(`UPDATE xport_kv SET value = '{"name": "alice", ' WHERE key = 'users/alice'`, 'xport_copy');
    await pg.query(`UPDATE xport_kv SET revision = 999999 WHERE key = 'users/bob'`, 'xport_copy');
    await pg.query(`UPDATE xport_events SET data = 'garbage' WHERE id = (SELECT min(id) FROM xport_events)`, 'xport_copy');
    const r = await runCli('xctl', ['backend', 'check', `--storage=${url}`]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/problem: users\/alice: the value is not JSON/);
    expect(r.stdout).toMatch(/problem: users\/bob: revision 999999 is beyond the counter \d+/);
    expect(r.stdout).toMatch(/problem: event \S+: not JSON/);
    expect(r.stderr).toMatch(/has 3 problems/);
  });
});

describe('xctl start and xctl backend check on PostgreSQL over TLS', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres({ tls: true });
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('starts a service from a config with ca_file, cert_file and key_file, and checks the same backend from that config', async () => {
    const t = pg.tls!;
    const dir = await tmpDir();
    const cfgPath = join(dir, 'xport.yaml');
    const cfg = [
      'version: v1',
      `data_dir: ${join(dir, 'data')}`,
      'auth_service:',
      '  storage:',
      '    type: postgres',
      `    conn_string: postgres://${CERT_ROLE}@127.0.0.1:${pg.port}/postgres`,
      `    ca_file: ${t.caFile}`,
      `    cert_file: ${t.clientCertFile}`,
      `    key_file: ${t.clientKeyFile}`,
      'proxy_service:',
      '  listen_addr: 127.0.0.1:0',
      'db_service:',
      '  enabled: false',
    ].join('\n');
    await writeFile(cfgPath, cfg + '\n');
    const svc = await startXport({ config: cfg + '\n' });
    try {
      expect(svc.output()).toMatch(/storage: PostgreSQL .*where=127\.0\.0\.1:\d+\/postgres tls=true/);
      expect((await svc.xctl(['users', 'add', 'dana', '--roles=access'])).code).toBe(0);
    } finally {
      await svc.stop();
    }
    // Every connection the service made was TLS with the client certificate's role (pg_hba refuses the rest).
    const check = await runCli('xctl', ['backend', 'check', '-c', cfgPath, '--format=json']);
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, where: `127.0.0.1:${pg.port}/postgres` });
    expect(JSON.parse(check.stdout).keys).toBeGreaterThanOrEqual(5);
  });

  it('fails a check against the TLS server with the wrong CA as a connection problem', async () => {
    const r = await runCli('xctl', ['backend', 'check', `--storage=${pg.url()}`, `--ca-file=${pg.tls!.otherCaFile}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/postgres: .*certificate/);
  });
});
