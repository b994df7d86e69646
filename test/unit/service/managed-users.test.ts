import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/service/config.js';
import { DEFAULT_ROTATION_MS, readManagedAdmins } from '../../../src/service/managed-users.js';

const cfg = (extra: string[]) =>
  parseConfig(['version: v1', 'db_service:', '  databases:', '    - name: cache', '      protocol: redis', '      uri: rediss://127.0.0.1:6379', ...extra.map((l) => `      ${l}`)].join('\n'));

describe('managed users configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xport-managed-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the admin credential from a 0600 file, with the default rotation', async () => {
    const f = join(dir, 'ok.pw');
    await writeFile(f, 'secret\n', { mode: 0o600 });
    const admins = readManagedAdmins(cfg(['users: managed', `admin: { user: xport-admin, password_file: ${f} }`]).db.databases);
    expect(admins.get('cache')).toEqual({ user: 'xport-admin', password: 'secret', rotationMs: DEFAULT_ROTATION_MS });
  });

  it('refuses users: managed without an admin credential, saying what to add', () => {
    expect(() => readManagedAdmins(cfg(['users: managed']).db.databases)).toThrow(/database "cache": users: managed needs an admin credential/);
  });

  it('refuses an admin password file that others can read', async () => {
    const f = join(dir, 'open.pw');
    await writeFile(f, 'secret\n', { mode: 0o644 });
    expect(() => readManagedAdmins(cfg(['users: managed', `admin: { user: a, password_file: ${f} }`]).db.databases)).toThrow(/is readable by others \(mode 644\)/);
  });

  it('refuses a missing password file and an unknown users mode', () => {
    expect(() => readManagedAdmins(cfg(['users: managed', `admin: { user: a, password_file: ${join(dir, 'nope')} }`]).db.databases)).toThrow(/cannot read admin\.password_file .*ENOENT/);
    expect(() => cfg(['users: owned'])).toThrow(/users/);
  });

  it('ignores passthrough databases', () => {
    expect(readManagedAdmins(cfg(['users: passthrough']).db.databases).size).toBe(0);
  });
});

describe('managed users admin.password_secret', () => {
  it('takes a secret name instead of a password file', () => {
    const admins = readManagedAdmins(cfg(['users: managed', 'admin: { user: xport-admin, password_secret: cache-admin }', 'password_rotation: 10m']).db.databases);
    expect(admins.get('cache')).toEqual({ user: 'xport-admin', secret: 'cache-admin', rotationMs: 600_000 });
  });

  it('refuses both a password file and a secret, and neither, saying what to write', () => {
    expect(() => cfg(['users: managed', 'admin: { user: a, password_file: /x, password_secret: s }'])).toThrow(/admin: takes password_file or password_secret, not both/);
    expect(() => cfg(['users: managed', 'admin: { user: a }'])).toThrow(/admin: needs password_file .* or password_secret .*xctl db secret set NAME --password-stdin/);
    expect(() => cfg(['users: managed', 'admin: { user: a, password_secret: "Not A Name" }'])).toThrow(/admin\.password_secret: must be a secret name/);
  });
});
