/**
 * auth/db-secrets: secrets an agent needs to reach a database — today the Redis admin password of
 * a self-hosted database with `users: managed` (`admin.password_secret`) — kept in the backend
 * encrypted with a key the backend never sees.
 *
 * The key is 32 random bytes in a 0600 file in the auth service's data dir, created at first use.
 * A backend row holds only the name, the databases allowed to read it, the key id (a hash of the
 * key, never the key), the nonce and the AES-256-GCM ciphertext with its tag. The secret's name is
 * the additional authenticated data, so a row copied under another name does not decrypt. Whoever
 * copies the backend (a PostgreSQL dump, the SQLite file) gets nothing usable without the key file.
 *
 * Replicas sharing a PostgreSQL backend each have their own data dir: they must share the key
 * file (copy it) or a replica answers "encrypted with key X, this auth service holds Y".
 * Imports errors, store and util only.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badParameter, notFound } from '../errors.js';
import type { Backend } from '../store/backend.js';
import type { Clock } from '../util/clock.js';

/** DB_SECRET_KEY_FILE is the key file's name in the auth service's data dir. */
export const DB_SECRET_KEY_FILE = 'db-secrets.key';
/** DB_SECRET_PREFIX is where secrets live in the backend. */
export const DB_SECRET_PREFIX = 'db_secrets/';
/** MAX_SECRET_BYTES bounds a secret's value (a Redis password is far shorter). */
export const MAX_SECRET_BYTES = 4096;
/** SECRET_NAME_PATTERN is what a secret name must look like (the same words as database names). */
export const SECRET_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const DB_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_DATABASES = 100;

/** StoredDbSecret is the backend row: ciphertext only. */
export interface StoredDbSecret {
  name: string;
  /** The databases whose agents may read it. */
  databases: string[];
  /** Which key encrypted it: the first 16 hex digits of SHA-256 over the key. */
  key_id: string;
  /** 12-byte GCM nonce, base64. */
  nonce: string;
  /** Ciphertext followed by the 16-byte GCM tag, base64. */
  ciphertext: string;
  updated: string;
  updated_by: string;
}

/** DbSecretInfo is what an admin listing shows (no ciphertext, no value). */
export type DbSecretInfo = Pick<StoredDbSecret, 'name' | 'databases' | 'key_id' | 'updated' | 'updated_by'>;

/** validateSecretName throws a bad-parameter error naming what is wrong with a secret name. */
export function validateSecretName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw badParameter(`invalid secret name "${name.slice(0, 64)}": use lowercase letters, digits, ".", "_" or "-" (at most 63)`);
  }
}

/** DbSecretStore encrypts, stores and decrypts database secrets. */
export class DbSecretStore {
  #key: Promise<{ key: Buffer; id: string }> | undefined;

  constructor(private readonly o: { backend: Backend; keyDir: string; clock: Clock }) {}

  /** set encrypts value and stores it under name for the given databases. */
  async set(name: string, databases: readonly string[], value: string, by: string): Promise<DbSecretInfo> {
    validateSecretName(name);
    if (databases.length === 0 || databases.length > MAX_DATABASES) throw badParameter(`a secret names 1 to ${MAX_DATABASES} databases whose agents may read it`);
    for (const d of databases) if (!DB_NAME_PATTERN.test(d)) throw badParameter(`invalid database name "${d.slice(0, 64)}"`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (value === '' || bytes > MAX_SECRET_BYTES) throw badParameter(`a secret's value must be 1 to ${MAX_SECRET_BYTES} bytes (got ${bytes})`);
    const { key, id } = await this.#loadKey(true);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(aad(name));
    const ct = Buffer.concat([c.update(value, 'utf8'), c.final(), c.getAuthTag()]);
    const row: StoredDbSecret = {
      name,
      databases: [...new Set(databases)].sort(),
      key_id: id,
      nonce: nonce.toString('base64'),
      ciphertext: ct.toString('base64'),
      updated: this.o.clock.now().toISOString(),
      updated_by: by,
    };
    await this.o.backend.put(DB_SECRET_PREFIX + name, row);
    return info(row);
  }

  /** get returns a secret's row, or throws not-found naming the command that creates it. */
  async get(name: string): Promise<StoredDbSecret> {
    validateSecretName(name);
    const item = await this.o.backend.get<StoredDbSecret>(DB_SECRET_PREFIX + name);
    if (!item) throw notFound(`database secret "${name}" does not exist`, { hint: `Set it on the auth host: xctl db secret set ${name} --password-stdin` });
    return item.value;
  }

  /** reveal decrypts a stored secret. */
  async reveal(row: StoredDbSecret): Promise<string> {
    const { key, id } = await this.#loadKey(false);
    if (row.key_id !== id) {
      throw badParameter(`database secret "${row.name}" was encrypted with key ${row.key_id}, but this auth service holds key ${id}`, {
        hint: `Copy ${DB_SECRET_KEY_FILE} from the auth host that set it into this data dir, or set the secret again.`,
      });
    }
    const ct = Buffer.from(row.ciphertext, 'base64');
    if (ct.length < 17) throw badParameter(`database secret "${row.name}" is corrupt`);
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(row.nonce, 'base64'));
    d.setAAD(aad(row.name));
    d.setAuthTag(ct.subarray(ct.length - 16));
    try {
      return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]).toString('utf8');
    } catch {
      throw badParameter(`database secret "${row.name}" does not decrypt (altered in the backend, or stored under another name)`, { hint: `Set it again: xctl db secret set ${row.name} --password-stdin` });
    }
  }

  /** list returns every secret's metadata. */
  async list(): Promise<DbSecretInfo[]> {
    return (await this.o.backend.list<StoredDbSecret>(DB_SECRET_PREFIX)).map((i) => info(i.value));
  }

  /** delete removes a secret; false when there was none. */
  async delete(name: string): Promise<boolean> {
    validateSecretName(name);
    return this.o.backend.delete(DB_SECRET_PREFIX + name);
  }

  /** #loadKey reads the key file, creating it (0600, exclusive) when `create` and it is absent. */
  #loadKey(create: boolean): Promise<{ key: Buffer; id: string }> {
    const p = (this.#key ??= (async () => {
      const path = join(this.o.keyDir, DB_SECRET_KEY_FILE);
      let key: Buffer;
      try {
        key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!create) throw notFound(`no database secret key in ${this.o.keyDir}: no secret was ever set on this auth service`, { hint: 'Set the secret: xctl db secret set NAME --password-stdin' });
        try {
          // 'wx': two racing first uses end with one key; the loser reads the winner's.
          await writeFile(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
      }
      if (key.length !== 32) throw badParameter(`${path} does not hold a 32-byte key`);
      return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 16) };
    })());
    // A missing key is not remembered: the next `set` creates it.
    p.catch(() => {
      if (this.#key === p) this.#key = undefined;
    });
    return p;
  }
}

function aad(name: string): Buffer {
  return Buffer.from(`xport-db-secret\0${name}`, 'utf8');
}

function info(r: StoredDbSecret): DbSecretInfo {
  return { name: r.name, databases: r.databases, key_id: r.key_id, updated: r.updated, updated_by: r.updated_by };
}
