import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isXError, type XError } from '../../../src/errors.js';
import { openSqliteBackend, type SqliteBackend } from '../../../src/store/sqlite.js';
import { FakeClock } from '../../../src/util/clock.js';
import { describeBackendContract, describeWatchContract, expectConflict } from './backend-contract.js';

const roots: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'xport-sqlite-'));
  roots.push(d);
  return d;
}
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

describeBackendContract('sqlite', async (clock) => openSqliteBackend(join(await tempDir(), 'data'), { clock }));
describeWatchContract('sqlite', async (clock) => openSqliteBackend(join(await tempDir(), 'data'), { clock }));

describe('SqliteBackend', () => {
  let dir: string;
  const open: SqliteBackend[] = [];
  beforeEach(async () => {
    dir = join(await tempDir(), 'data');
  });
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
  });
  const openHere = async (opts?: Parameters<typeof openSqliteBackend>[1]) => {
    const b = await openSqliteBackend(dir, opts);
    open.push(b);
    return b;
  };

  it('keeps items, revisions and events across close and reopen', async () => {
    const first = await openHere();
    const put = await first.put('users/alice', { roles: ['access'] });
    await first.appendEvents([{ type: 'user.create', time: new Date().toISOString(), user: 'alice' }]);
    await first.close();

    const again = await openHere();
    expect(await again.get('users/alice')).toEqual({ key: 'users/alice', value: { roles: ['access'] }, revision: put.revision });
    expect((await again.put('users/bob', {})).revision).toBeGreaterThan(put.revision);
    expect((await again.searchEvents({ user: 'alice' })).map((e) => e.type)).toEqual(['user.create']);
  });

  it('keeps expiry across reopen', async () => {
    const clock = new FakeClock();
    const first = await openHere({ clock });
    await first.put('tokens/t', 1, { expires: new Date(clock.now().getTime() + 1000) });
    await first.close();
    clock.advance(1000);
    const again = await openHere({ clock });
    expect(await again.get('tokens/t')).toBeUndefined();
  });

  it('creates the data dir 0700 and the database and its WAL files 0600', async () => {
    const b = await openHere();
    await b.put('k', 1);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = (await readdir(dir)).filter((f) => f.startsWith('xport.db'));
    expect(files).toEqual(expect.arrayContaining(['xport.db', 'xport.db-wal', 'xport.db-shm']));
    for (const f of files) expect({ f, mode: (await stat(join(dir, f))).mode & 0o777 }).toEqual({ f, mode: 0o600 });
  });

  it('tightens an existing database file that others could read', async () => {
    await (await openHere()).close();
    await chmod(join(dir, 'xport.db'), 0o644);
    await openHere();
    expect((await stat(join(dir, 'xport.db'))).mode & 0o777).toBe(0o600);
  });

  it('uses the file name it is given', async () => {
    await openHere({ fileName: 'other.db' });
    expect(await readdir(dir)).toContain('other.db');
  });

  it('refuses a data dir it cannot create with a badParameter that names the path and says what to do', async () => {
    // A path under a regular file fails with ENOTDIR for every user, root included.
    const file = join(await tempDir(), 'plain-file');
    await writeFile(file, 'x');
    const err = await rejection(openSqliteBackend(join(file, 'sub')));
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toContain(join(file, 'sub'));
    expect(err.message).toContain('not a directory');
    expect(err.hint).toBe(`Run as a user who can write ${join(file, 'sub')}, or choose another with --data-dir.`);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a read-only data dir with a badParameter', async () => {
    await mkdir(dir, { mode: 0o500 });
    await chmod(dir, 0o500);
    const err = await rejection(openSqliteBackend(dir));
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toContain(join(dir, 'xport.db'));
    expect(err.message).toContain('permission denied');
    await chmod(dir, 0o700);
  });

  it('refuses a file that is not a database with a clear badParameter', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'xport.db'), 'this is not an SQLite database, just some text that is long enough. '.repeat(20));
    const err = await rejection(openSqliteBackend(dir));
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toBe(`${join(dir, 'xport.db')} is not a usable xport database: file is not a database`);
    expect(err.hint).toContain('--data-dir');
    expect(err.name).toBe('XError');
  });

  it('never lets two connections to one file both win a conditional put', async () => {
    const a = await openHere();
    const b = await openHere();
    const base = await a.put('tokens/once', 'issued');
    const results = await Promise.allSettled([
      a.put('tokens/once', 'used by a', { expectRevision: base.revision }),
      b.put('tokens/once', 'used by b', { expectRevision: base.revision }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = results[0]!.status === 'fulfilled' ? 'used by a' : 'used by b';
    expect((await b.get('tokens/once'))?.value).toBe(winner);
    expect((await a.get('tokens/once'))?.value).toBe(winner);
  });

  it('refuses create-only puts from a second connection once the first has created the key', async () => {
    const a = await openHere();
    const b = await openHere();
    await a.put('users/alice', 'from a', { expectRevision: 0 });
    await expectConflict(b.put('users/alice', 'from b', { expectRevision: 0 }));
    expect((await b.get('users/alice'))?.value).toBe('from a');
  });

  it('shares one revision counter between connections', async () => {
    const a = await openHere();
    const b = await openHere();
    const r1 = (await a.put('x', 1)).revision;
    const r2 = (await b.put('y', 1)).revision;
    const r3 = (await a.put('z', 1)).revision;
    expect([r2 - r1, r3 - r2]).toEqual([1, 1]);
  });

  it('keeps event order when two connections append in turn within one millisecond', async () => {
    const a = await openHere();
    const b = await openHere();
    const time = '2026-01-01T00:00:00.000Z';
    for (let i = 0; i < 20; i++) await (i % 2 === 0 ? a : b).appendEvents([{ type: 'seq', time, seq: i }]);
    expect((await a.searchEvents({ type: 'seq' })).map((e) => e.seq)).toEqual([...Array(20).keys()]);
  });

  it('stores no event of a batch when one of them cannot be stored', async () => {
    const b = await openHere();
    const time = new Date().toISOString();
    const err = await rejection(b.appendEvents([{ type: 'ok', time }, { type: 'bad', time, n: 1n }]));
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toContain('audit event 1 (bad)');
    expect(await b.searchEvents({})).toEqual([]);
  });

  it('refuses a value JSON cannot hold', async () => {
    const b = await openHere();
    expect((await rejection(b.put('k', undefined))).kind).toBe('bad-parameter');
    expect(await b.get('k')).toBeUndefined();
  });

  it('reports use after close as an internal error, and closes twice without complaint', async () => {
    const b = await openHere();
    await b.close();
    await b.close();
    const err = await rejection(b.get('k'));
    expect(err.kind).toBe('internal');
    expect(err.message).toContain('closed');
  });
});
