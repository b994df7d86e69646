/**
 * The data-dir lock across real processes: a child node process holds the lock through the built
 * library (dist/), this test process is refused while the child lives and takes the lock over once
 * the child is killed (a crash: it never releases).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isXError } from '../../src/errors.js';
import { acquireDataDirLock, LOCK_FILE_NAME } from '../../src/store/lock.js';

const repo = resolve(import.meta.dirname, '../..');
const distStore = join(repo, 'dist/store/index.js');

/** ensureBuilt compiles dist/ when the store's build is missing or older than its sources. */
function ensureBuilt(): void {
  const built = existsSync(distStore) ? statSync(join(repo, 'dist/store/lock.js')).mtimeMs : 0;
  const sources = ['lock.ts', 'data-dir.ts', 'index.ts'].map((f) => statSync(join(repo, 'src/store', f)).mtimeMs);
  if (built >= Math.max(...sources)) return;
  // tsc still emits when files other than ours fail to type-check, so its exit status is not ours to judge.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repo, stdio: 'ignore' });
}

/** holdLock starts a node process that takes the lock on dir and keeps it until killed. */
async function holdLock(dir: string): Promise<ChildProcess> {
  const script = `
    const { acquireDataDirLock } = await import(${JSON.stringify(pathToFileURL(distStore).href)});
    await acquireDataDirLock(process.env.XPORT_TEST_DATA_DIR, 'auth service');
    process.stdout.write('locked\\n');
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, XPORT_TEST_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && ok());
    child.on('exit', (code) => fail(new Error(`lock holder exited with ${code}: ${stderr}`)));
  });
  return child;
}

describe('data-dir lock across processes', () => {
  let root: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    expect(existsSync(distStore), `${distStore} is missing: run npm run build`).toBe(true);
    root = await mkdtemp(join(tmpdir(), 'xport-e2e-lock-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  it('refuses the lock while another process holds it, and takes it over once that process is killed', async () => {
    const dir = join(root, 'data');
    const child = await holdLock(dir);
    children.push(child);
    const held = JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')) as { pid: number; startedAt: string };
    expect(held.pid).toBe(child.pid);

    const err = await acquireDataDirLock(dir, 'auth service').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isXError(err) && err.kind).toBe('conflict');
    expect((err as Error).message).toBe(
      `data dir ${dir} is in use by another auth service (pid ${child.pid}, started ${held.startedAt})`,
    );

    // Kill by pid, then wait for the exit so the child is reaped (a zombie still answers kill(pid, 0)).
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGKILL');
    await exited;

    const lock = await acquireDataDirLock(dir, 'auth service');
    expect(JSON.parse(await readFile(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, owner: 'auth service' });
    await lock.release();
  });

  it('lets a second process in once the first releases the lock', async () => {
    const dir = join(root, 'released');
    const lock = await acquireDataDirLock(dir, 'auth service');
    await lock.release();
    const child = await holdLock(dir);
    children.push(child);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: child.pid });
    child.kill('SIGKILL');
  });
});
