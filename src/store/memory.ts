/**
 * store/memory: an in-process {@link Backend} for unit tests and ephemeral use. Same semantics as
 * the SQLite backend (revisions, conditional puts, expiry), nothing persisted.
 */
import { conflict } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { AuditEvent, Backend, EventQuery, Item, PutOptions, Watch, WatchEvent } from './backend.js';
import { nextEventId } from './event-sequence.js';

/** MemoryBackend keeps everything in maps. */
export class MemoryBackend implements Backend {
  private readonly items = new Map<string, { json: string; revision: number; expires?: Date }>();
  private readonly events: AuditEvent[] = [];
  private revision = 0;
  private lastEventId: string | undefined;
  private readonly eventIds = new Set<string>();
  private readonly watchers = new Set<{ prefix: string; onEvent: (e: WatchEvent) => void }>();

  constructor(private readonly clock: Clock = systemClock) {}

  private live(key: string) {
    const it = this.items.get(key);
    if (!it) return undefined;
    if (it.expires && it.expires.getTime() <= this.clock.now().getTime()) {
      this.items.delete(key);
      return undefined;
    }
    return it;
  }

  async get<T>(key: string): Promise<Item<T> | undefined> {
    const it = this.live(key);
    if (!it) return undefined;
    return { key, value: JSON.parse(it.json) as T, revision: it.revision, ...(it.expires ? { expires: it.expires } : {}) };
  }

  async put<T>(key: string, value: T, opts: PutOptions = {}): Promise<Item<T>> {
    const cur = this.live(key);
    if (opts.expectRevision !== undefined && (cur?.revision ?? 0) !== opts.expectRevision) {
      throw conflict(`${key} was modified concurrently`);
    }
    const revision = ++this.revision;
    this.items.set(key, { json: JSON.stringify(value), revision, ...(opts.expires ? { expires: opts.expires } : {}) });
    this.announce({ type: 'put', key, revision });
    return { key, value, revision, ...(opts.expires ? { expires: opts.expires } : {}) };
  }

  async delete(key: string, opts: { expectRevision?: number } = {}): Promise<boolean> {
    const cur = this.live(key);
    if (opts.expectRevision !== undefined && (cur?.revision ?? 0) !== opts.expectRevision) {
      throw conflict(`${key} was modified concurrently`);
    }
    const existed = this.items.delete(key) && cur !== undefined;
    // Like SQLite and PostgreSQL, deleting a live item is a write with its own revision.
    if (existed) this.announce({ type: 'delete', key, revision: ++this.revision });
    return existed;
  }

  /** watch calls onEvent for later writes under prefix in this instance, asynchronously like a networked backend. */
  async watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<Watch> {
    const w = { prefix, onEvent };
    this.watchers.add(w);
    return { close: () => void this.watchers.delete(w) };
  }

  private announce(e: WatchEvent & { key: string }): void {
    for (const w of this.watchers) {
      if (e.key.startsWith(w.prefix)) queueMicrotask(() => this.watchers.has(w) && w.onEvent(e));
    }
  }

  async list<T>(prefix: string): Promise<Item<T>[]> {
    const keys = [...this.items.keys()].filter((k) => k.startsWith(prefix)).sort();
    const out: Item<T>[] = [];
    for (const k of keys) {
      const it = await this.get<T>(k);
      if (it) out.push(it);
    }
    return out;
  }

  async appendEvents(events: AuditEvent[]): Promise<void> {
    for (const e of events) {
      // nextEventId, not newEventId: events appended in one millisecond must keep their order.
      const id = e.id ?? nextEventId(this.lastEventId, new Date(e.time));
      // Like the SQL backends: an id already stored is a replay, skipped.
      if (this.eventIds.has(id)) continue;
      this.eventIds.add(id);
      if (this.lastEventId === undefined || id > this.lastEventId) this.lastEventId = id;
      this.events.push({ ...e, id });
    }
  }

  async searchEvents(q: EventQuery): Promise<AuditEvent[]> {
    let out = this.matching(q).filter((e) => (!q.afterId || e.id! > q.afterId) && (!q.beforeId || e.id! < q.beforeId));
    out = out.sort((a, b) => (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0));
    if (q.order === 'desc') out.reverse();
    return out.slice(0, q.limit ?? 500);
  }

  async countEvents(q: EventQuery): Promise<number> {
    return this.matching(q).length;
  }

  private matching(q: EventQuery): AuditEvent[] {
    return this.events.filter(
      (e) =>
        (!q.type || e.type === q.type) &&
        (!q.user || e.user === q.user) &&
        (!q.since || Date.parse(e.time) >= q.since.getTime()) &&
        (!q.until || Date.parse(e.time) <= q.until.getTime()),
    );
  }

  async close(): Promise<void> {}
}
