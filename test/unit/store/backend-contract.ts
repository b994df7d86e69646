/**
 * The Backend contract as a shared suite: every backend (memory, SQLite, later PostgreSQL) runs
 * the same specs through describeBackendContract, so they cannot drift apart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import type { Backend, WatchEvent } from '../../../src/store/backend.js';
import { FakeClock } from '../../../src/util/clock.js';

/** MakeBackend opens a fresh, empty backend reading time from clock. */
export type MakeBackend = (clock: FakeClock) => Promise<Backend>;

/** expectConflict asserts that p rejects with a `conflict` XError. */
export async function expectConflict(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isXError(err), `expected a conflict XError, got ${String(err)}`).toBe(true);
  expect(isXError(err) && err.kind).toBe('conflict');
}

/** describeBackendContract registers the contract specs for one backend. */
export function describeBackendContract(name: string, make: MakeBackend): void {
  describe(`${name} backend contract`, () => {
    let clock: FakeClock;
    let b: Backend;

    beforeEach(async () => {
      clock = new FakeClock();
      b = await make(clock);
    });
    afterEach(async () => {
      await b.close();
    });

    describe('items', () => {
      it('returns undefined for a key never written', async () => {
        expect(await b.get('users/nobody')).toBeUndefined();
      });

      it('reads back what put wrote, as a copy of the JSON value', async () => {
        const value = { name: 'alice', roles: ['access'], nested: { n: 1, ok: true, none: null } };
        const put = await b.put('users/alice', value);
        expect(put.key).toBe('users/alice');
        expect(put.value).toEqual(value);
        const got = await b.get<typeof value>('users/alice');
        expect(got).toEqual({ key: 'users/alice', value, revision: put.revision });
      });

      it('stores strings, numbers and arrays as well as objects', async () => {
        await b.put('a/string', 'text');
        await b.put('a/number', 42);
        await b.put('a/array', [1, 'two']);
        expect((await b.get('a/string'))?.value).toBe('text');
        expect((await b.get('a/number'))?.value).toBe(42);
        expect((await b.get('a/array'))?.value).toEqual([1, 'two']);
      });

      it('gives every write a higher revision than the last, across keys', async () => {
        const r1 = (await b.put('k/1', 1)).revision;
        const r2 = (await b.put('k/2', 2)).revision;
        const r3 = (await b.put('k/1', 3)).revision;
        expect(r1).toBeGreaterThan(0);
        expect(r2).toBeGreaterThan(r1);
        expect(r3).toBeGreaterThan(r2);
        expect((await b.get('k/1'))?.revision).toBe(r3);
      });

      it('overwrites a value on an unconditional put', async () => {
        await b.put('k', 'old');
        await b.put('k', 'new');
        expect((await b.get('k'))?.value).toBe('new');
      });

      it('deletes a key and reports whether it existed', async () => {
        await b.put('k', 1);
        expect(await b.delete('k')).toBe(true);
        expect(await b.get('k')).toBeUndefined();
        expect(await b.delete('k')).toBe(false);
      });

      it('lists the items under a prefix sorted by key, and nothing else', async () => {
        for (const k of ['users/carol', 'users/alice', 'roles/admin', 'users/bob', 'usersx', 'user']) await b.put(k, k);
        const listed = await b.list<string>('users/');
        expect(listed.map((i) => i.key)).toEqual(['users/alice', 'users/bob', 'users/carol']);
        expect(listed.map((i) => i.value)).toEqual(['users/alice', 'users/bob', 'users/carol']);
        expect(listed.every((i) => i.revision > 0)).toBe(true);
      });

      it('lists everything for an empty prefix and nothing for an unknown one', async () => {
        await b.put('b', 1);
        await b.put('a', 2);
        expect((await b.list('')).map((i) => i.key)).toEqual(['a', 'b']);
        expect(await b.list('zzz/')).toEqual([]);
      });
    });

    describe('conditional writes', () => {
      it('creates a key with expectRevision 0 when it is absent', async () => {
        const item = await b.put('tokens/t1', { used: false }, { expectRevision: 0 });
        expect((await b.get('tokens/t1'))?.revision).toBe(item.revision);
      });

      it('refuses a create-only put on an existing key with a conflict and keeps the old value', async () => {
        const first = await b.put('tokens/t1', 'first');
        await expectConflict(b.put('tokens/t1', 'second', { expectRevision: 0 }));
        expect(await b.get('tokens/t1')).toEqual({ key: 'tokens/t1', value: 'first', revision: first.revision });
      });

      it('accepts a put that names the current revision', async () => {
        const first = await b.put('k', 1);
        const second = await b.put('k', 2, { expectRevision: first.revision });
        expect(second.revision).toBeGreaterThan(first.revision);
        expect((await b.get('k'))?.value).toBe(2);
      });

      it('refuses a put with a stale revision and writes nothing', async () => {
        const first = await b.put('k', 1);
        const second = await b.put('k', 2, { expectRevision: first.revision });
        await expectConflict(b.put('k', 3, { expectRevision: first.revision }));
        expect(await b.get('k')).toEqual({ key: 'k', value: 2, revision: second.revision });
        // The failed attempt did not consume a revision either.
        expect((await b.put('other', 0)).revision).toBe(second.revision + 1);
      });

      it('refuses a conditional put on an absent key that names a revision', async () => {
        await expectConflict(b.put('missing', 1, { expectRevision: 7 }));
        expect(await b.get('missing')).toBeUndefined();
      });

      it('refuses a delete with a stale revision and keeps the item', async () => {
        const first = await b.put('k', 1);
        await b.put('k', 2);
        await expectConflict(b.delete('k', { expectRevision: first.revision }));
        expect((await b.get('k'))?.value).toBe(2);
      });

      it('deletes when the revision matches', async () => {
        const first = await b.put('k', 1);
        expect(await b.delete('k', { expectRevision: first.revision })).toBe(true);
        expect(await b.get('k')).toBeUndefined();
      });
    });

    describe('expiry', () => {
      it('reads an item as present until it expires and absent from then on', async () => {
        const expires = new Date(clock.now().getTime() + 60_000);
        const put = await b.put('tokens/join', 'x', { expires });
        expect(put.expires?.getTime()).toBe(expires.getTime());
        clock.advance(59_999);
        expect((await b.get('tokens/join'))?.expires?.getTime()).toBe(expires.getTime());
        clock.advance(1);
        expect(await b.get('tokens/join')).toBeUndefined();
      });

      it('leaves expired items out of lists', async () => {
        await b.put('t/a', 1, { expires: new Date(clock.now().getTime() + 1000) });
        await b.put('t/b', 2);
        await b.put('t/c', 3, { expires: new Date(clock.now().getTime() + 5000) });
        clock.advance(2000);
        expect((await b.list('t/')).map((i) => i.key)).toEqual(['t/b', 't/c']);
      });

      it('treats an expired key as absent for create-only puts and deletes', async () => {
        await b.put('lock', 'old', { expires: new Date(clock.now().getTime() + 1000) });
        clock.advance(1000);
        expect(await b.delete('lock')).toBe(false);
        await b.put('lock2', 'old', { expires: new Date(clock.now().getTime() + 1000) });
        clock.advance(1000);
        const fresh = await b.put('lock2', 'new', { expectRevision: 0 });
        expect((await b.get('lock2'))?.revision).toBe(fresh.revision);
      });

      it('drops the expiry when the item is overwritten without one', async () => {
        await b.put('k', 1, { expires: new Date(clock.now().getTime() + 1000) });
        await b.put('k', 2);
        clock.advance(5000);
        expect(await b.get('k')).toEqual({ key: 'k', value: 2, revision: expect.any(Number) });
      });
    });

    describe('events', () => {
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

      beforeEach(async () => {
        await b.appendEvents([
          { type: 'user.login', time: at(1), user: 'alice', success: true, code: 'T1000I' },
          { type: 'user.login', time: at(2), user: 'bob', success: false, code: 'T1000W' },
          { type: 'role.created', time: at(3), user: 'alice', name: 'dev' },
          { type: 'user.login', time: at(4), user: 'alice', success: true, code: 'T1000I' },
        ]);
      });

      it('assigns ids and returns every event with its fields, oldest first', async () => {
        const all = await b.searchEvents({});
        expect(all.map((e) => e.time)).toEqual([at(1), at(2), at(3), at(4)]);
        expect(new Set(all.map((e) => e.id)).size).toBe(4);
        expect(all.every((e) => typeof e.id === 'string' && e.id.length > 0)).toBe(true);
        expect(all[2]).toEqual({ id: all[2]!.id, type: 'role.created', time: at(3), user: 'alice', name: 'dev' });
      });

      it('filters by type and by user', async () => {
        expect((await b.searchEvents({ type: 'user.login' })).map((e) => e.time)).toEqual([at(1), at(2), at(4)]);
        expect((await b.searchEvents({ user: 'alice' })).map((e) => e.time)).toEqual([at(1), at(3), at(4)]);
        expect((await b.searchEvents({ type: 'user.login', user: 'bob' })).map((e) => e.success)).toEqual([false]);
        expect(await b.searchEvents({ type: 'user.delete' })).toEqual([]);
      });

      it('filters by an inclusive time range', async () => {
        const got = await b.searchEvents({ since: new Date(at(2)), until: new Date(at(3)) });
        expect(got.map((e) => e.time)).toEqual([at(2), at(3)]);
      });

      it('returns newest first with order desc, and honours limit', async () => {
        expect((await b.searchEvents({ order: 'desc' })).map((e) => e.time)).toEqual([at(4), at(3), at(2), at(1)]);
        expect((await b.searchEvents({ order: 'desc', limit: 2 })).map((e) => e.time)).toEqual([at(4), at(3)]);
        expect((await b.searchEvents({ limit: 1 })).map((e) => e.time)).toEqual([at(1)]);
      });

      it('pages by id cursor: before with order desc, after with order asc, every event exactly once', async () => {
        const all = await b.searchEvents({});
        const newest = await b.searchEvents({ order: 'desc', limit: 2 });
        const older = await b.searchEvents({ order: 'desc', limit: 2, beforeId: newest[1]!.id! });
        expect([...newest, ...older].map((e) => e.time)).toEqual([at(4), at(3), at(2), at(1)]);
        expect(await b.searchEvents({ order: 'desc', beforeId: all[0]!.id! })).toEqual([]);
        const after = await b.searchEvents({ afterId: all[1]!.id!, type: 'user.login' });
        expect(after.map((e) => e.time)).toEqual([at(4)]);
      });

      it('counts the events its filters match, ignoring limit and cursors', async () => {
        expect(await b.countEvents({})).toBe(4);
        expect(await b.countEvents({ type: 'user.login' })).toBe(3);
        expect(await b.countEvents({ user: 'alice', since: new Date(at(2)) })).toBe(2);
        const first = (await b.searchEvents({ limit: 1 }))[0]!;
        expect(await b.countEvents({ limit: 1, afterId: first.id! })).toBe(4);
        expect(await b.countEvents({ type: 'user.delete' })).toBe(0);
      });

      it('keeps the id an event arrives with', async () => {
        await b.appendEvents([{ id: 'ffffffffffff00000000000000000001', type: 'x.custom', time: at(5) }]);
        expect((await b.searchEvents({ type: 'x.custom' }))[0]?.id).toBe('ffffffffffff00000000000000000001');
      });

      it('stores an event whose id it already holds only once (a replayed batch of the audit log)', async () => {
        const batch = [
          { id: 'ffffffffffff00000000000000000010', type: 'x.replay', time: at(6), n: 1 },
          { id: 'ffffffffffff00000000000000000011', type: 'x.replay', time: at(6), n: 2 },
        ];
        await b.appendEvents(batch.map((e) => ({ ...e })));
        // The replay overlaps the first batch and brings one new event; the stored copies stay as they were.
        await b.appendEvents([{ ...batch[1]!, n: 99 }, { id: 'ffffffffffff00000000000000000012', type: 'x.replay', time: at(7), n: 3 }]);
        expect((await b.searchEvents({ type: 'x.replay' })).map((e) => [e.id, e.n])).toEqual([
          ['ffffffffffff00000000000000000010', 1],
          ['ffffffffffff00000000000000000011', 2],
          ['ffffffffffff00000000000000000012', 3],
        ]);
      });

      it('keeps the append order of events that share a millisecond', async () => {
        const batch = Array.from({ length: 300 }, (_, i) => ({ type: 'db.session.query', time: at(10), seq: i }));
        await b.appendEvents(batch.slice(0, 150));
        await b.appendEvents(batch.slice(150));
        const got = await b.searchEvents({ type: 'db.session.query', limit: 1000 });
        expect(got.map((e) => e.seq)).toEqual(batch.map((e) => e.seq));
      });

      it('returns at most 500 events when no limit is given', async () => {
        await b.appendEvents(Array.from({ length: 600 }, (_, i) => ({ type: 'bulk', time: at(20), seq: i })));
        expect(await b.searchEvents({ type: 'bulk' })).toHaveLength(500);
      });
    });
  });
}

/** MakeWatchingBackend opens a fresh, empty backend that implements watch. */
export type MakeWatchingBackend = (clock: FakeClock) => Promise<Backend & Required<Pick<Backend, 'watch'>>>;

/** until polls cond (the deadline is generous: networked backends deliver asynchronously). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** describeWatchContract registers the watch specs for a backend that offers watch. */
export function describeWatchContract(name: string, make: MakeWatchingBackend): void {
  describe(`${name} backend watch contract`, () => {
    let b: Backend & Required<Pick<Backend, 'watch'>>;
    beforeEach(async () => {
      b = await make(new FakeClock());
    });
    afterEach(async () => {
      await b.close();
    });

    it('announces puts and deletes under the prefix with their revisions, in order', async () => {
      const seen: WatchEvent[] = [];
      const w = await b.watch('users/', (e) => seen.push(e));
      const p1 = await b.put('users/alice', 1);
      const p2 = await b.put('users/alice', 2);
      expect(await b.delete('users/alice')).toBe(true);
      await until(() => seen.length >= 3, 'three events');
      expect(seen).toEqual([
        { type: 'put', key: 'users/alice', revision: p1.revision },
        { type: 'put', key: 'users/alice', revision: p2.revision },
        { type: 'delete', key: 'users/alice', revision: expect.any(Number) },
      ]);
      expect((seen[2] as { revision: number }).revision).toBeGreaterThan(p2.revision);
      w.close();
    });

    it('leaves out other prefixes, refused writes and deletes of absent keys', async () => {
      const seen: WatchEvent[] = [];
      const w = await b.watch('tokens/', (e) => seen.push(e));
      await b.put('roles/dev', 1);
      await b.put('tokens/a', 1, { expectRevision: 0 });
      await expectConflict(b.put('tokens/a', 2, { expectRevision: 0 }));
      expect(await b.delete('tokens/never')).toBe(false);
      await b.put('tokens/z', 'marker');
      await until(() => seen.some((e) => e.type === 'put' && e.key === 'tokens/z'), 'the marker');
      expect(seen.map((e) => (e.type === 'resync' ? 'resync' : `${e.type} ${e.key}`))).toEqual(['put tokens/a', 'put tokens/z']);
      w.close();
    });

    it('stops calling a watcher once closed, and keeps calling the others', async () => {
      const closed: WatchEvent[] = [];
      const open: WatchEvent[] = [];
      const w1 = await b.watch('', (e) => closed.push(e));
      const w2 = await b.watch('', (e) => open.push(e));
      w1.close();
      await b.put('k', 1);
      await until(() => open.length >= 1, 'the open watcher');
      expect(closed).toEqual([]);
      w2.close();
    });
  });
}
