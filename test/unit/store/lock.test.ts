import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isXError, type XError } from '../../../src/errors.js';
import { acquireDataDirLock, LOCK_FILE_NAME } from '../../../src/store/lock.js';

// Linux caps pids below 2^22, so this pid can never be running.
const DEAD_PID = 4_194_304;

const roots: string[] = [];
afterAll(async () => {
  for (const d of roots) await rm(d, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<XError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isXError(err)) throw new Error(`expected an XError, got ${String(err)}`);
  return err;
}

describe('acquireDataDirLock', () => {
  let dir: string;
  let lockPath: string;
  beforeEach(async () => {
    const root = await mkdtemp(join(tmpdir(), 'xport-lock-'));
    roots.push(root);
    dir = join(root, 'data');
    lockPath = join(dir, LOCK_FILE_NAME);
  });

  it('creates the data dir and a 0600 lock file naming this process', async () => {
    const lock = await acquireDataDirLock(dir, 'auth service');
    expect(lock.path).toBe(lockPath);
    expect((await stat(lockPath)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const held = JSON.parse(await readFile(lockPath, 'utf8')) as Record<string, unknown>;
    expect(held).toEqual({ pid: process.pid, owner: 'auth service', startedAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(held.startedAt as string))).toBe(false);
    expect(await readdir(dir)).toEqual([LOCK_FILE_NAME]); // no temporary files left behind
    await lock.release();
  });

  it('refuses a second acquire while the lock is held, naming the holder', async () => {
    const lock = await acquireDataDirLock(dir, 'auth service');
    const { startedAt } = JSON.parse(await readFile(lockPath, 'utf8')) as { startedAt: string };
    const err = await rejection(acquireDataDirLock(dir, 'auth service'));
    expect(err.kind).toBe('conflict');
    expect(err.message).toBe(`data dir ${dir} is in use by another auth service (pid ${process.pid}, started ${startedAt})`);
    expect(err.hint).toBe('Stop that process first, or start this one with another --data-dir.');
    await lock.release();
  });

  it('lets the data dir be locked again after release', async () => {
    const first = await acquireDataDirLock(dir, 'auth service');
    await first.release();
    await expect(stat(lockPath)).rejects.toThrow();
    const second = await acquireDataDirLock(dir, 'auth service');
    expect(await readFile(lockPath, 'utf8')).toContain(`"pid":${process.pid}`);
    await second.release();
  });

  it('does not remove a lock that is no longer its own when released late', async () => {
    const first = await acquireDataDirLock(dir, 'auth service');
    await first.release();
    const second = await acquireDataDirLock(dir, 'proxy service');
    await first.release(); // a stray second release must not drop the new holder's lock
    expect(await readFile(lockPath, 'utf8')).toContain('proxy service');
    await second.release();
  });

  it('leaves a lock written by another process in place on release', async () => {
    const lock = await acquireDataDirLock(dir, 'auth service');
    const other = JSON.stringify({ pid: 1, owner: 'auth service', startedAt: 'then' });
    await writeFile(lockPath, other);
    await lock.release();
    expect(await readFile(lockPath, 'utf8')).toBe(other);
  });

  it('takes over a lock left by a process that is no longer running', async () => {
    expect(() => process.kill(DEAD_PID, 0)).toThrow();
    await acquireDataDirLock(dir, 'x'); // creates the dir; abandoned like a crashed process would
    await writeFile(lockPath, JSON.stringify({ pid: DEAD_PID, owner: 'auth service', startedAt: '2026-01-01T00:00:00.000Z' }));
    const lock = await acquireDataDirLock(dir, 'auth service');
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, owner: 'auth service' });
    expect(await readdir(dir)).toEqual([LOCK_FILE_NAME]);
    await lock.release();
  });

  it.each([
    ['empty', ''],
    ['not JSON', 'garbage\n'],
    ['a pid of 0', JSON.stringify({ pid: 0 })],
    ['a negative pid', JSON.stringify({ pid: -1 })],
    ['no pid', JSON.stringify({ owner: 'auth service' })],
  ])('takes over a lock file that is %s', async (_name, text) => {
    await (await acquireDataDirLock(dir, 'x')).release();
    await writeFile(lockPath, text);
    const lock = await acquireDataDirLock(dir, 'auth service');
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('lets exactly one of many concurrent acquires win a stale lock, every time', async () => {
    await (await acquireDataDirLock(dir, 'x')).release();
    for (let round = 0; round < 20; round++) {
      await writeFile(lockPath, JSON.stringify({ pid: DEAD_PID, owner: 'auth service', startedAt: 'then' }));
      const results = await Promise.allSettled(Array.from({ length: 16 }, () => acquireDataDirLock(dir, 'auth service')));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isXError(r.reason) && r.reason.kind).toBe('conflict');
      expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
      expect(await readdir(dir)).toEqual([LOCK_FILE_NAME]); // no guard or temporary file left behind
      await won[0]!.release();
    }
  });

  it('clears a takeover guard abandoned by a process that died mid-takeover', async () => {
    await (await acquireDataDirLock(dir, 'x')).release();
    const dead = JSON.stringify({ pid: DEAD_PID, owner: 'auth service', startedAt: 'then' });
    await writeFile(lockPath, dead);
    await writeFile(`${lockPath}.takeover`, dead);
    const lock = await acquireDataDirLock(dir, 'auth service');
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(await readdir(dir)).toEqual([LOCK_FILE_NAME]);
    await lock.release();
  });

  it('refuses a data dir under a regular file with a badParameter', async () => {
    const file = join(dir, '..', 'plain-file');
    await writeFile(file, 'x');
    const err = await rejection(acquireDataDirLock(join(file, 'data'), 'auth service'));
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toContain(join(file, 'data'));
  });
});
