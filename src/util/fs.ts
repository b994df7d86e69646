/**
 * fs: file helpers that keep secrets private and writes atomic.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, chmod } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/** SECRET_MODE is the permission for files that hold keys, tokens or passwords. */
export const SECRET_MODE = 0o600;
/** PUBLIC_MODE is the permission for certificates and other public material. */
export const PUBLIC_MODE = 0o644;

/**
 * writeFileAtomic writes data to a temporary sibling, fsyncs it and renames it over path, so a
 * crash leaves either the old or the new file, never half of one. The mode is applied before the
 * data is written, so a secret is never readable by others even for an instant.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = PUBLIC_MODE): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  // open() honours the umask; chmod makes the mode exact.
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** writeSecretFile writes data atomically with mode 0600. */
export function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  return writeFileAtomic(path, data, SECRET_MODE);
}

/** ensurePrivateDir creates dir (and parents) with mode 0700 if missing. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}
