/**
 * e2e: xsh login / status / logout against a real `xctl start`, through the real binaries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { totpCode } from '../../src/auth/totp.js';
import { addUser, inviteToken, runCli, startXport, tmpDir, type XportService } from '../helpers/cli.js';

describe('xsh login against an embedded cluster', () => {
  let svc: XportService;
  beforeAll(async () => {
    svc = await startXport();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('completes an invite with --password-stdin, saves a 0600 key and prints the status block', async () => {
    const add = await svc.xctl(['users', 'add', 'alice', '--roles=access', '--db-users=alice,default']);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('User "alice" has been created but requires a password');
    expect(add.stdout).toContain(`xsh login --proxy=${svc.addr} --user=alice --invite=`);
    const home = join(await tmpDir(), 'xsh');
    const env = { XSH_HOME: home };
    const login = await runCli('xsh', ['login', `--proxy=${svc.addr}`, '--user=alice', `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${svc.pin}`, '--password-stdin'], {
      env,
      input: 'alice-long-password\n',
    });
    expect(login.stderr).not.toContain('ERROR');
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/> Profile URL:\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(login.stdout).toMatch(/Logged in as:\s+alice/);
    expect(login.stdout).toMatch(/Roles:\s+access/);
    expect(login.stdout).toMatch(/Database users:\s+alice, default/);
    expect(login.stdout).toMatch(/valid for 11h59m/);
    const key = await stat(join(home, 'keys', '127.0.0.1', 'alice.key'));
    expect(key.mode & 0o777).toBe(0o600);
    expect(await readFile(join(home, 'current-profile'), 'utf8')).toBe('127.0.0.1\n');

    const status = await runCli('xsh', ['status', '--format=json'], { env });
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ username: 'alice', cluster: 'xport', roles: ['access'], expired: false, key_storage: 'file' });

    // A later login with the password alone (no pin needed: the host CA was saved).
    const again = await runCli('xsh', ['login', `--proxy=${svc.addr}`, '--user=alice', '--password-stdin', '--ttl=30'], { env, input: 'alice-long-password\n' });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/valid for (29m|30m)/);

    const out = await runCli('xsh', ['logout'], { env });
    expect(out.stdout).toBe('Logged out all users from all proxies.\n');
    const after = await runCli('xsh', ['status'], { env });
    expect(after.code).toBe(4);
    expect(after.stderr).toContain('ERROR: not logged in');
    expect(after.stderr).toContain('Run: xsh login --proxy=HOST:PORT');
  });

  it('refuses a reused invite and an expired one with the same message', async () => {
    const add = await svc.xctl(['users', 'add', 'bob', '--roles=access']);
    const token = inviteToken(add.stdout);
    const u = await tmpDir();
    const args = ['login', `--proxy=${svc.addr}`, `--invite=${token}`, `--ca-pin=${svc.pin}`, '--password-stdin'];
    expect((await runCli('xsh', args, { env: { XSH_HOME: u }, input: 'bob-long-password\n' })).code).toBe(0);
    const reuse = await runCli('xsh', args, { env: { XSH_HOME: u }, input: 'bob-other-password\n' });
    expect(reuse.code).toBe(1);
    expect(reuse.stderr).toContain('ERROR: invite token is invalid or has expired');

    const add2 = await svc.xctl(['users', 'add', 'carol', '--roles=access', '--ttl=1s']);
    expect(add2.code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const expired = await runCli('xsh', ['login', `--proxy=${svc.addr}`, `--invite=${inviteToken(add2.stdout)}`, `--ca-pin=${svc.pin}`, '--password-stdin'], {
      env: { XSH_HOME: u },
      input: 'carol-long-password\n',
    });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain('ERROR: invite token is invalid or has expired');
  });

  it('locks a user after 5 wrong passwords, even against the right one, and audits the failures', async () => {
    const dave = await addUser(svc, 'dave', ['--roles=access'], 'dave-long-password');
    const login = (pw: string) => dave.xsh(['login', `--proxy=${svc.addr}`, '--user=dave', '--password-stdin'], { input: `${pw}\n` });
    for (let i = 0; i < 5; i++) {
      const r = await login('not-the-password');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ERROR: invalid username or password');
    }
    const locked = await login('dave-long-password');
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/too many failed login attempts/);
    // An unknown user gets the same answer as a wrong password.
    const ghost = await dave.xsh(['login', `--proxy=${svc.addr}`, '--user=ghost', '--password-stdin'], { input: 'whatever-password\n' });
    expect(ghost.stderr).toContain('ERROR: invalid username or password');

    const audit = await svc.xctl(['audit', 'ls', '--type=user.login', '--user=dave', '--format=json']);
    const events = JSON.parse(audit.stdout) as { success: boolean; code: string }[];
    expect(events.filter((e) => e.success === false).length).toBeGreaterThanOrEqual(5);
    expect(events.every((e) => (e.success ? e.code === 'T1000I' : e.code === 'T1000W'))).toBe(true);
    expect(audit.stdout).not.toContain('not-the-password');
  });

  it('refuses a proxy whose CA pin differs, and --insecure warns loudly', async () => {
    const add = await svc.xctl(['users', 'add', 'erin', '--roles=access']);
    const home = await tmpDir();
    const wrongPin = 'sha256:' + '0'.repeat(64);
    const r = await runCli('xsh', ['login', `--proxy=${svc.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${wrongPin}`, '--password-stdin'], {
      env: { XSH_HOME: home },
      input: 'erin-long-password\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`does not match --ca-pin ${wrongPin}`);
    const noTrust = await runCli('xsh', ['login', `--proxy=${svc.addr}`, '--user=erin', '--password-stdin'], { env: { XSH_HOME: home }, input: 'x\n' });
    expect(noTrust.code).toBe(1);
    expect(noTrust.stderr).toMatch(/not trusted|ca-pin/);
    const insecure = await runCli('xsh', ['login', `--proxy=${svc.addr}`, `--invite=${inviteToken(add.stdout)}`, '--insecure', '--password-stdin'], {
      env: { XSH_HOME: home },
      input: 'erin-long-password\n',
    });
    expect(insecure.code).toBe(0);
    expect(insecure.stderr).toContain('WARNING: --insecure');
  });

  it('exits 4 with the exact login command once the certificate has expired', async () => {
    const fay = await addUser(svc, 'fay', ['--roles=access'], 'fay-long-password');
    const r = await fay.xsh(['login', `--proxy=${svc.addr}`, '--user=fay', '--password-stdin', '--ttl=2s'], { input: 'fay-long-password\n' });
    expect(r.code).toBe(0);
    await new Promise((res) => setTimeout(res, 2500));
    const s = await fay.xsh(['status']);
    expect(s.code).toBe(4);
    expect(s.stdout).toContain('[EXPIRED]');
    expect(s.stderr).toContain(`Run: xsh login --proxy=${svc.addr} --user=fay`);
  });

  it('caps --ttl at the role max_session_ttl with a clear error', async () => {
    const dir = await tmpDir();
    const rolePath = join(dir, 'short.yaml');
    await (await import('node:fs/promises')).writeFile(
      rolePath,
      'kind: role\nversion: v1\nmetadata:\n  name: short\nspec:\n  options:\n    max_session_ttl: 1h\n  allow:\n    db_labels:\n      "*": "*"\n',
    );
    expect((await svc.xctl(['create', '-f', rolePath])).code).toBe(0);
    const gus = await addUser(svc, 'gus', ['--roles=short'], 'gus-long-password');
    const r = await gus.xsh(['login', `--proxy=${svc.addr}`, '--user=gus', '--password-stdin', '--ttl=120'], { input: 'gus-long-password\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exceeded the maximum allowed value of 1 hour');
    const ok = await gus.xsh(['status', '--format=json']);
    expect(Date.parse(JSON.parse(ok.stdout).valid_until) - Date.now()).toBeLessThanOrEqual(3_600_000);
  });
});

describe('xsh login with a second factor', () => {
  let svc: XportService;
  beforeAll(async () => {
    const dir = await tmpDir();
    svc = await startXport({
      config: `version: v1\ncluster_name: otp-cluster\ndata_dir: ${dir}/data\nauth_service:\n  second_factor: otp\nproxy_service:\n  listen_addr: 127.0.0.1:0\n`,
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('registers TOTP during the invite and then requires a code to log in', async () => {
    const add = await svc.xctl(['users', 'add', 'olga', '--roles=access']);
    const home = await tmpDir();
    let secret = '';
    const r = await runCli('xsh', ['login', `--proxy=${svc.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${svc.pin}`, '--password-stdin'], {
      env: { XSH_HOME: home },
      input: 'olga-long-password\n',
      onStderr: (chunk, child) => {
        const m = /secret=([A-Z2-7]+)/.exec(chunk);
        if (m && !secret) {
          secret = m[1]!;
          child.stdin!.end(`${totpCode(secret, new Date())}\n`);
        }
      },
    });
    expect(r.stderr).toContain('otpauth://totp/');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Cluster:\s+otp-cluster/);

    const noCode = await runCli('xsh', ['login', `--proxy=${svc.addr}`, '--user=olga', '--password-stdin'], { env: { XSH_HOME: home }, input: 'olga-long-password\n' });
    expect(noCode.code).not.toBe(0);
    // Wait for the next 30 s step: the code used at enrolment cannot be replayed.
    const step = Math.floor(Date.now() / 30_000);
    while (Math.floor(Date.now() / 30_000) === step) await new Promise((res) => setTimeout(res, 500));
    const withCode = await runCli('xsh', ['login', `--proxy=${svc.addr}`, '--user=olga', '--password-stdin', `--otp=${totpCode(secret, new Date())}`], {
      env: { XSH_HOME: home },
      input: 'olga-long-password\n',
    });
    expect(withCode.stderr).not.toContain('ERROR');
    expect(withCode.code).toBe(0);
  }, 60_000);
});
