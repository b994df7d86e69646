/**
 * e2e: xsh keeps the private key in the OS keychain when a secret service answers. On a headless
 * Linux machine `keyctl session` gives @napi-rs/keyring a kernel keyring to use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { inviteToken, ROOT, runProcess, startXport, tmpDir, type XportService } from '../helpers/cli.js';

function hasKeyctl(): boolean {
  try {
    execFileSync('keyctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI) throw new Error('keyctl is missing in CI: .ci/run must install keyutils');
    return false;
  }
}

describe.runIf(hasKeyctl())('xsh with the OS keychain', () => {
  let svc: XportService;
  beforeAll(async () => {
    svc = await startXport();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('stores the key in the keyring, says so in status, and removes it on logout', async () => {
    const add = await svc.xctl(['users', 'add', 'kim', '--roles=access']);
    const home = join(await tmpDir(), 'xsh');
    const xsh = `${process.execPath} ${join(ROOT, 'bin', 'xsh.js')}`;
    // One keyring session for the three commands, as a user's login session would be.
    const script = [
      `echo kim-long-password | ${xsh} login --proxy=${svc.addr} --invite=${inviteToken(add.stdout)} --ca-pin=${svc.pin} --password-stdin --key-storage=keychain >/dev/null`,
      `${xsh} status --format=json`,
      `ls ${join(home, 'keys', '127.0.0.1')}`,
      `${xsh} logout`,
    ].join(' && ');
    const r = await runProcess('keyctl', ['session', '-', 'bash', '-c', script], { env: { XSH_HOME: home, XSH_KEY_STORAGE: '' } });
    expect(r.stderr).not.toContain('ERROR');
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.indexOf('}\n') + 1));
    expect(status).toMatchObject({ username: 'kim', key_storage: 'keychain' });
    expect(r.stdout).not.toMatch(/kim\.key/);
    expect(r.stdout).toContain('Logged out all users from all proxies.');
    await expect(readdir(join(home, 'keys'))).resolves.toEqual([]);
  });
});
