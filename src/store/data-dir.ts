/**
 * store/data-dir: creating the service's data dir privately, and turning the file-system errors
 * met there into one clear `badParameter` that names the path. Shared by the SQLite backend and
 * the data-dir lock. Imports only errors; nothing from the layers above store.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { badParameter, isXError, messageOf, type XError } from '../errors.js';

/** DATA_DIR_MODE is the data dir's permission: it holds keys and the database, so owner only. */
export const DATA_DIR_MODE = 0o700;

/**
 * ensureDataDir creates dir (and missing parents) with mode 0700. An existing dir is left as it is,
 * since a packager or admin may have chosen its mode on purpose.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  try {
    const created = await mkdir(dir, { recursive: true, mode: DATA_DIR_MODE });
    // mkdir honours the umask (a umask of 0277 would even make it unwritable); chmod makes it exact.
    if (created !== undefined) await chmod(dir, DATA_DIR_MODE);
  } catch (err) {
    throw dataDirError(dir, err);
  }
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'part of the path is a file, not a directory',
  EEXIST: 'the path exists and is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
};

/**
 * dataDirError converts err, met while using path inside the data dir dir, into a `badParameter`
 * naming the path and the cause, with a hint. XErrors pass through unchanged.
 */
export function dataDirError(dir: string, err: unknown, path: string = dir): XError {
  if (isXError(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code !== undefined && REASONS[code]) || messageOf(err);
  return badParameter(`cannot use ${path}: ${reason}`, {
    hint: `Run as a user who can write ${dir}, or choose another with --data-dir.`,
    cause: err,
  });
}
