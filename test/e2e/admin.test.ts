/**
 * e2e: xctl administration through the real binary against a real `xctl start`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { runCli, runProcess, startXport, tmpDir, addUser, type XportService } from '../helpers/cli.js';
import { requireRedis, startRedis } from '../helpers/redis-server.js';

requireRedis();

describe('xctl administration', () => {
  let svc: XportService;
  beforeAll(async () => {
    svc = await startXport();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('status shows the cluster, version, four CAs and the CA pin that xctl start printed', async () => {
    const r = await svc.xctl(['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Cluster\s+xport$/m);
    expect(r.stdout).toMatch(/^Version\s+0\.1\.0$/m);
    for (const ca of ['host CA', 'user CA', 'db CA', 'db_client CA']) expect(r.stdout).toContain(ca);
    expect(r.stdout).toContain(`CA pin       ${svc.pin}`);
    const json = JSON.parse((await svc.xctl(['status', '--format=json'])).stdout);
    expect(json.cas.map((c: { type: string }) => c.type)).toEqual(['host', 'user', 'db', 'db_client']);
  });

  it('adds, lists, updates, resets and removes users with tctl-shaped output', async () => {
    const add = await svc.xctl(['users', 'add', 'uma', '--roles=access,auditor', '--db-users=uma']);
    expect(add.code).toBe(0);
    const dup = await svc.xctl(['users', 'add', 'uma', '--roles=access']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('ERROR: user "uma" already exists');
    expect(dup.stderr).toContain('xctl users update uma --set-roles');
    const noRole = await svc.xctl(['users', 'add', 'vic', '--roles=nope']);
    expect(noRole.stderr).toContain('role "nope" does not exist');

    const ls = await svc.xctl(['users', 'ls']);
    expect(ls.stdout).toMatch(/^User\s+Roles\s+Status$/m);
    expect(ls.stdout).toMatch(/^uma\s+access,auditor\s+invited$/m);
    const upd = await svc.xctl(['users', 'update', 'uma', '--set-roles=access']);
    expect(upd.code).toBe(0);
    expect(upd.stdout).toContain('User uma has been updated:\n\tNew roles: access');
    const nothing = await svc.xctl(['users', 'update', 'uma']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Nothing to update. Please provide at least one --set flag.');
    const reset = await svc.xctl(['users', 'reset', 'uma']);
    expect(reset.stdout).toMatch(/link is valid for 8 hours/);
    const json = JSON.parse((await svc.xctl(['users', 'ls', '--format=json'])).stdout);
    expect(json.find((u: { name: string }) => u.name === 'uma')).toMatchObject({ roles: ['access'], traits: { db_users: ['uma'] } });
    const rm = await svc.xctl(['users', 'rm', 'uma']);
    expect(rm.stdout).toBe('User "uma" has been deleted\n');
    expect((await svc.xctl(['users', 'rm', 'uma'])).code).toBe(1);
  });

  it('creates join tokens of 32 hex characters, lists them redacted and removes them', async () => {
    const t = await svc.xctl(['tokens', 'add', '--type=db', '--format=text']);
    expect(t.code).toBe(0);
    const token = t.stdout.trim();
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const full = await svc.xctl(['tokens', 'add', '--type=db', '--ttl=1h', '--labels=env=dev']);
    expect(full.stdout).toContain('This token will expire in 1 hour.');
    expect(full.stdout).toContain(svc.pin);
    const ls = await svc.xctl(['tokens', 'ls']);
    expect(ls.stdout).toMatch(/^Token\s+Type\s+Labels\s+Uses Left\s+Expiry Time \(UTC\)$/m);
    expect(ls.stdout).toContain(`${token.slice(0, 4)}…${token.slice(-4)}`);
    expect(ls.stdout).not.toContain(token);
    expect(ls.stdout).toContain('env=dev');
    const rm = await svc.xctl(['tokens', 'rm', token]);
    expect(rm.stdout).toBe(`Token ${token} has been deleted\n`);
    const json = JSON.parse((await svc.xctl(['tokens', 'ls', '--format=json'])).stdout);
    expect(json).toHaveLength(1);
    expect((await svc.xctl(['tokens', 'add', '--type=node'])).code).toBe(2);
  });

  it('creates, gets and removes roles, and names the line of a malformed role', async () => {
    const dir = await tmpDir();
    const good = join(dir, 'readonly.yaml');
    await writeFile(
      good,
      'kind: role\nversion: v1\nmetadata:\n  name: redis-readonly\n  description: read only\nspec:\n  allow:\n    db_labels:\n      env: dev\n    db_users: [reader]\n    redis_commands: ["+@read"]\n',
    );
    const c = await svc.xctl(['create', '-f', good]);
    expect(c.stdout).toBe('role "redis-readonly" has been created\n');
    const again = await svc.xctl(['create', '-f', good]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('role "redis-readonly" already exists');
    expect((await svc.xctl(['create', '-f', good, '--force'])).stdout).toBe('role "redis-readonly" has been updated\n');
    const get = await svc.xctl(['get', 'role/redis-readonly']);
    expect(get.stdout).toContain('name: redis-readonly');
    expect(get.stdout).toContain('+@read');
    const all = await svc.xctl(['get', 'roles', '--format=text']);
    for (const r of ['access', 'auditor', 'editor', 'redis-readonly']) expect(all.stdout).toContain(r);

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'kind: role\nversion: v1\nmetadata:\n  name: broken\nspec:\n  allow:\n    db_lables:\n      env: dev\n');
    const b = await svc.xctl(['create', '-f', bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('bad.yaml:7: spec.allow.db_lables: unknown key');
    expect((await svc.xctl(['get', 'role/broken'])).code).toBe(1);

    expect((await svc.xctl(['rm', 'role/redis-readonly'])).stdout).toBe('role "redis-readonly" has been deleted\n');
    expect((await svc.xctl(['rm', 'role/access'])).stderr).toContain('built in');
  });

  it('issues an identity file for CI that xsh -i uses without a login', async () => {
    await addUser(svc, 'ci-bot', ['--roles=access'], 'ci-bot-long-password');
    const dir = await tmpDir();
    const out = join(dir, 'ci.pem');
    const r = await svc.xctl(['auth', 'sign', '--user=ci-bot', '--format=file', `--out=${out}`, '--ttl=1h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`The credentials have been written to ${out}\n`);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const again = await svc.xctl(['auth', 'sign', '--user=ci-bot', '--format=file', `--out=${out}`]);
    expect(again.stderr).toContain('already exists');
    const s = await runCli('xsh', ['-i', out, `--proxy=${svc.addr}`, 'status', '--format=json'], { env: { XSH_HOME: join(dir, 'nohome') } });
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ username: 'ci-bot', source: 'identity-file', expired: false });
    // An identity file holding a user with the editor role can administer from anywhere.
    await addUser(svc, 'ed', ['--roles=editor'], 'ed-long-password-x');
    const edFile = join(dir, 'ed.pem');
    await svc.xctl(['auth', 'sign', '--user=ed', '--format=file', `--out=${edFile}`]);
    const ls = await runCli('xctl', ['-i', edFile, `--proxy=${svc.addr}`, 'users', 'ls', '--format=json']);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout).map((u: { name: string }) => u.name)).toContain('ci-bot');
    // ...but an access-only identity cannot.
    const denied = await runCli('xctl', ['-i', out, `--proxy=${svc.addr}`, 'users', 'ls']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('access denied: cannot list user');
  });

  it('rejects a corrupt identity file with a clear error', async () => {
    const dir = await tmpDir();
    const f = join(dir, 'corrupt.pem');
    await writeFile(f, '-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----\n');
    const r = await runCli('xsh', ['-i', f, `--proxy=${svc.addr}`, 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ERROR: identity file .*corrupt\.pem (holds no|must hold|holds a corrupt)/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exports CA certificates as PEM matching the status pin', async () => {
    const r = await svc.xctl(['auth', 'export', '--type=tls-host']);
    expect(r.code).toBe(0);
    const cert = new X509Certificate(r.stdout);
    expect(cert.subject).toContain('host CA');
    const { caPin } = await import('../../src/pki/index.js');
    expect(caPin(r.stdout)).toBe(svc.pin);
    const dbc = await svc.xctl(['auth', 'export', '--type=db-client']);
    expect(new X509Certificate(dbc.stdout).subject).toContain('db_client CA');
    expect((await svc.xctl(['auth', 'export', '--type=bogus'])).code).toBe(2);
  });

  it('signs Redis server certificates that a real TLS redis-server serves and redis-cli verifies', async () => {
    const dir = await tmpDir();
    const prefix = join(dir, 'server');
    const r = await svc.xctl(['auth', 'sign', '--format=redis', '--host=localhost,127.0.0.1', `--out=${prefix}`, '--ttl=2190h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Database credentials have been written to ${prefix}.key, ${prefix}.crt, ${prefix}.cas.`);
    expect(r.stdout).toContain(`tls-ca-cert-file ${prefix}.cas\ntls-cert-file ${prefix}.crt\ntls-key-file ${prefix}.key\ntls-protocols "TLSv1.2 TLSv1.3"`);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${prefix}.cas`, 'utf8')).toBe((await svc.xctl(['auth', 'export', '--type=db-client'])).stdout);
    const dbCa = join(dir, 'db-ca.pem');
    await writeFile(dbCa, (await svc.xctl(['auth', 'export', '--type=db'])).stdout);
    const redis = await startRedis(
      [`tls-cert-file ${prefix}.crt`, `tls-key-file ${prefix}.key`, `tls-ca-cert-file ${prefix}.cas`, 'tls-auth-clients no', 'tls-protocols "TLSv1.2 TLSv1.3"'],
      { tlsPort: true },
    );
    try {
      const ping = await runProcess('redis-cli', ['--tls', '--cacert', dbCa, '-h', '127.0.0.1', '-p', String(redis.port), 'PING']);
      expect(ping.stdout.trim()).toBe('PONG');
      // A client that trusts another CA must fail verification.
      const wrong = await runProcess('redis-cli', ['--tls', '--cacert', `${prefix}.cas`, '-h', '127.0.0.1', '-p', String(redis.port), 'PING']);
      expect(wrong.stdout + wrong.stderr).toMatch(/certificate verify failed|SSL/i);
    } finally {
      await redis.stop();
    }
    const noHost = await svc.xctl(['auth', 'sign', '--format=redis', `--out=${prefix}2`]);
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toContain('at least one hostname must be specified');
  });

  it('lists audit events filtered by type and user, as text and json', async () => {
    const r = await svc.xctl(['audit', 'ls', '--type=user.create']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Time\s+Type\s+Code\s+User\s+Details$/m);
    expect(r.stdout).toMatch(/user\.create\s+T1002I\s+xctl-admin/);
    const json = JSON.parse((await svc.xctl(['audit', 'ls', '--type=cert.create', '--user=ci-bot', '--since=1h', '--format=json'])).stdout);
    expect(json.length).toBeGreaterThan(0);
    expect(json.every((e: { type: string; user: string }) => e.type === 'cert.create' && e.user === 'ci-bot')).toBe(true);
    const roles = JSON.parse((await svc.xctl(['audit', 'ls', '--type=role.created', '--format=json'])).stdout);
    expect(roles.some((e: { name: string }) => e.name === 'redis-readonly')).toBe(true);
  });
});

describe('the invite link printed by xctl users add', () => {
  it('serves a page naming the xsh command that completes the invite', async () => {
    const svc = await startXport();
    try {
      const add = await svc.xctl(['users', 'add', 'pat', '--roles=access']);
      const url = /https:\/\/\S+\/web\/invite\/[0-9a-f]+/.exec(add.stdout)![0];
      const { request } = await import('node:https');
      const body = await new Promise<string>((resolve, reject) => {
        request(url, { rejectUnauthorized: false }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        })
          .on('error', reject)
          .end();
      });
      expect(body).toContain('User <b>pat</b>');
      expect(body).toContain('xsh login --proxy=');
    } finally {
      await svc.stop();
    }
  });
});
