/**
 * store/lock: one service per data dir. `<dataDir>/xport.lock` names the process that holds the
 * dir; a second service is refused with that process's pid, and a lock left by a dead process is
 * taken over. Imports only errors and data-dir; nothing above the store layer.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict } from '../errors.js';
import { dataDirError, ensureDataDir } from './data-dir.js';

/** LOCK_FILE_NAME is the lock's file name inside the data dir. */
export const LOCK_FILE_NAME = 'xport.lock';

/** DataDirLock is a held data-dir lock. */
export interface DataDirLock {
  /** path is the lock file. */
  readonly path: string;
  /** release removes the lock file if it is still ours; calling it again does nothing. */
  release(): Promise<void>;
}

/** LockHolder is what the lock file records about the process holding it. */
interface LockHolder {
  pid: number;
  owner: string;
  startedAt: string;
}

/** How long an acquire waits for another process that is busy taking over a stale lock. */
const TAKEOVER_WAIT_MS = 3000;
/** A takeover guard older than this was left by a crash mid-takeover (a takeover takes milliseconds). */
const GUARD_STALE_MS = 10_000;
const RETRY_MS = 5;

/**
 * acquireDataDirLock takes the data dir's lock for this process, owner naming the service in
 * messages (`auth service`). It throws `conflict` naming the holder when a live process holds it,
 * and takes over a lock whose process is dead or whose file is unreadable.
 */
export async function acquireDataDirLock(dataDir: string, owner: string): Promise<DataDirLock> {
  await ensureDataDir(dataDir);
  const path = join(dataDir, LOCK_FILE_NAME);
  const mine = JSON.stringify({ pid: process.pid, owner, startedAt: new Date().toISOString() } satisfies LockHolder) + '\n';
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    if (await createExclusive(dataDir, path, mine)) return heldLock(path, mine);
    const text = await readIfExists(dataDir, path);
    if (text !== undefined) {
      const holder = parseHolder(text);
      if (holder && isAlive(holder.pid)) throw inUse(dataDir, holder, owner);
      if (await takeOver(dataDir, path, text, mine)) return heldLock(path, mine);
    }
    if (Date.now() > deadline) {
      throw conflict(`data dir ${dataDir} is being locked by another process at the same time`, {
        hint: 'Make sure only one service uses this data dir, then retry.',
      });
    }
    await sleep(RETRY_MS);
  }
}

/**
 * takeOver replaces the stale lock (whose text was staleText) with ours. Checking that the lock is
 * still the stale one and removing it must not be split by a racer, or one racer could delete the
 * lock another has just created; so both happen while holding `xport.lock.takeover`, itself
 * created exclusively. It returns false when another process is taking over, or the lock changed.
 */
async function takeOver(dataDir: string, path: string, staleText: string, mine: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await createExclusive(dataDir, guard, mine))) {
    await clearAbandonedGuard(dataDir, guard);
    return false;
  }
  try {
    // Holding the guard, nobody else removes the lock: the check and the removal see the same file.
    const now = await readIfExists(dataDir, path);
    if (now !== undefined) {
      if (now !== staleText) return false;
      await rm(path, { force: true });
    }
    return await createExclusive(dataDir, path, mine);
  } finally {
    await rm(guard, { force: true });
  }
}

/** clearAbandonedGuard removes a takeover guard whose process died or that is far too old. */
async function clearAbandonedGuard(dataDir: string, guard: string): Promise<void> {
  const text = await readIfExists(dataDir, guard);
  if (text === undefined) return;
  const holder = parseHolder(text);
  const age = await stat(guard).then(
    (st) => Date.now() - st.mtimeMs,
    () => 0,
  );
  if (!holder || !isAlive(holder.pid) || age > GUARD_STALE_MS) await rm(guard, { force: true });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * createExclusive makes path appear with its full contents in one step: the text is written to a
 * private temporary file that is then hard-linked to path, which fails if path exists. A plain
 * `open(wx)` followed by a write would let a racer see an empty file and call it garbage.
 */
async function createExclusive(dataDir: string, path: string, text: string): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // File systems without hard links: fall back to an exclusive create.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return createWithOpen(dataDir, path, text);
    throw dataDirError(dataDir, err, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function createWithOpen(dataDir: string, path: string, text: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw dataDirError(dataDir, err, path);
  }
}

async function readIfExists(dataDir: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw dataDirError(dataDir, err, path);
  }
}

function heldLock(path: string, mine: string): DataDirLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      // Only remove the file while it still holds exactly what we wrote: never someone else's lock.
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === mine) await rm(path, { force: true });
    },
  };
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder> | null;
    if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.pid) || (v.pid as number) <= 0) return undefined;
    return {
      pid: v.pid as number,
      owner: typeof v.owner === 'string' ? v.owner : 'process',
      startedAt: typeof v.startedAt === 'string' ? v.startedAt : 'at an unknown time',
    };
  } catch {
    return undefined;
  }
}

/** isAlive tells whether pid names a running process; EPERM means it runs under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(dataDir: string, holder: LockHolder, owner: string) {
  const who = holder.owner || owner;
  return conflict(`data dir ${dataDir} is in use by another ${who} (pid ${holder.pid}, started ${holder.startedAt})`, {
    hint: 'Stop that process first, or start this one with another --data-dir.',
  });
}
