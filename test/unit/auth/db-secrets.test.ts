import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_SECRET_KEY_FILE, DB_SECRET_PREFIX, DbSecretStore, type StoredDbSecret } from '../../../src/auth/db-secrets.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';

const VALUE = 'redis-admin-password-4b1d';

describe('DbSecretStore', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xport-db-secrets-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const fresh = async () => {
    const keyDir = await mkdtemp(join(dir, 'k-'));
    const clock = new FakeClock();
    const backend = new MemoryBackend(clock);
    return { keyDir, backend, store: new DbSecretStore({ backend, keyDir, clock }) };
  };

  it('stores only ciphertext, nonce and key id, and decrypts it again with the key file it created (0600)', async () => {
    const { keyDir, backend, store } = await fresh();
    const info = await store.set('cache-admin', ['cache', 'cache'], VALUE, 'alice');
    expect(info).toMatchObject({ name: 'cache-admin', databases: ['cache'], updated_by: 'alice' });
    const row = (await backend.get<StoredDbSecret>(DB_SECRET_PREFIX + 'cache-admin'))!.value;
    expect(JSON.stringify(row)).not.toContain(VALUE);
    expect(Buffer.from(row.ciphertext, 'base64').toString('latin1')).not.toContain(VALUE);
    expect(row.key_id).toMatch(/^[0-9a-f]{16}$/);
    const keyFile = join(keyDir, DB_SECRET_KEY_FILE);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, 'utf8')).not.toContain(row.key_id);
    expect(await store.reveal(await store.get('cache-admin'))).toBe(VALUE);
  });

  it('uses a fresh nonce per write, so setting the same value twice stores different ciphertext', async () => {
    const { backend, store } = await fresh();
    await store.set('a', ['a'], VALUE, 'x');
    const first = (await backend.get<StoredDbSecret>(DB_SECRET_PREFIX + 'a'))!.value;
    await store.set('a', ['a'], VALUE, 'x');
    const second = (await backend.get<StoredDbSecret>(DB_SECRET_PREFIX + 'a'))!.value;
    expect(second.nonce).not.toBe(first.nonce);
    expect(second.ciphertext).not.toBe(first.ciphertext);
  });

  it('refuses a row copied under another name, and a row whose ciphertext was altered', async () => {
    const { backend, store } = await fresh();
    await store.set('cache-admin', ['cache'], VALUE, 'x');
    const row = (await backend.get<StoredDbSecret>(DB_SECRET_PREFIX + 'cache-admin'))!.value;
    // Someone with write access to the backend moves the secret under a name their database may read.
    await expect(store.reveal({ ...row, name: 'mine', databases: ['mine'] })).rejects.toThrow(/database secret "mine" does not decrypt/);
    const ct = Buffer.from(row.ciphertext, 'base64');
    ct[0] = ct[0]! ^ 1;
    await expect(store.reveal({ ...row, ciphertext: ct.toString('base64') })).rejects.toThrow(/does not decrypt/);
  });

  it('says which key a secret needs when this auth service holds another', async () => {
    const a = await fresh();
    const b = await fresh();
    await a.store.set('s', ['s'], VALUE, 'x');
    await b.store.set('other', ['other'], 'v', 'x');
    const row = await a.store.get('s');
    await expect(b.store.reveal(row)).rejects.toThrow(new RegExp(`encrypted with key ${row.key_id}, but this auth service holds key [0-9a-f]{16}`));
  });

  it('refuses bad names, empty or oversized values and an unknown secret, naming the command that sets it', async () => {
    const { store } = await fresh();
    await expect(store.set('Bad Name', ['a'], VALUE, 'x')).rejects.toThrow(/invalid secret name/);
    await expect(store.set('ok', ['a'], '', 'x')).rejects.toThrow(/1 to 4096 bytes/);
    await expect(store.set('ok', ['a'], 'x'.repeat(4097), 'x')).rejects.toThrow(/1 to 4096 bytes \(got 4097\)/);
    await expect(store.set('ok', [], VALUE, 'x')).rejects.toThrow(/names 1 to 100 databases/);
    await expect(store.get('nope')).rejects.toThrow(/database secret "nope" does not exist/);
    expect(await store.list()).toEqual([]);
  });
});
