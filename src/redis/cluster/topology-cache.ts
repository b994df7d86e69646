/**
 * redis/cluster/topology-cache: the topology of each cluster database, shared by all sessions
 * of that database on one agent. A session's first connection fetches it when there is none
 * (or it is older than the refresh interval); after that it is refreshed when a node answers
 * MOVED, when a node cannot be reached, and — at most once per interval — in the background
 * when a session uses a stale one. Concurrent refreshes of one database share one fetch.
 *
 * The fetch itself is done by a session, over its own authenticated node connections (the
 * cache holds no credentials). Imports errors, util and cluster/topology only.
 */
import { systemClock, type Clock } from '../../util/clock.js';
import type { ClusterTopology } from './topology.js';

/** DEFAULT_TOPOLOGY_REFRESH_MS is how old a topology may get before a session refreshes it (30 s). */
export const DEFAULT_TOPOLOGY_REFRESH_MS = 30_000;

/** TopologyFetcher reads the topology through a session's connections. */
export type TopologyFetcher = () => Promise<ClusterTopology>;

/** DatabaseTopology is the shared, refreshable topology of one database. */
export class DatabaseTopology {
  #current: ClusterTopology | undefined;
  #fetchedAt = 0;
  #inFlight: Promise<ClusterTopology> | undefined;
  #refreshes = 0;

  constructor(
    private readonly refreshMs: number,
    private readonly clock: Clock,
  ) {}

  /** current is the latest topology, if one was ever fetched. */
  get current(): ClusterTopology | undefined {
    return this.#current;
  }

  /** refreshes counts the completed fetches (tests and stats). */
  get refreshes(): number {
    return this.#refreshes;
  }

  /** stale is true when there is no topology or it is older than the refresh interval. */
  get stale(): boolean {
    return this.#current === undefined || this.clock.now().getTime() - this.#fetchedAt >= this.refreshMs;
  }

  /** refreshing is true while a fetch is in flight. */
  get refreshing(): boolean {
    return this.#inFlight !== undefined;
  }

  /** set stores a topology fetched outside {@link refresh} (by a session's setup). */
  set(t: ClusterTopology): void {
    this.#current = t;
    this.#fetchedAt = this.clock.now().getTime();
    this.#refreshes++;
  }

  /**
   * refresh fetches the topology with fetch, unless a fetch is already in flight, in which case
   * it shares that one. A failed fetch leaves the current topology in place and rejects.
   */
  refresh(fetch: TopologyFetcher): Promise<ClusterTopology> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const p = fetch().then(
      (t) => {
        this.#inFlight = undefined;
        this.set(t);
        return t;
      },
      (err: unknown) => {
        this.#inFlight = undefined;
        throw err;
      },
    );
    this.#inFlight = p;
    return p;
  }

  /** moved records a MOVED redirect at once (the owner of one slot), before the full refresh arrives. */
  moved(slot: number, address: string): void {
    if (this.#current !== undefined) this.#current = this.#current.withSlotOwner(slot, address);
  }
}

/** TopologyCache holds a {@link DatabaseTopology} per database. */
export class TopologyCache {
  readonly #dbs = new Map<string, DatabaseTopology>();
  readonly #refreshMs: number;
  readonly #clock: Clock;

  constructor(opts: { refreshMs?: number; clock?: Clock } = {}) {
    this.#refreshMs = opts.refreshMs ?? DEFAULT_TOPOLOGY_REFRESH_MS;
    this.#clock = opts.clock ?? systemClock;
  }

  /** for returns the shared topology of a database, keyed by its name and address. */
  for(database: { name: string; host: string; port: number }): DatabaseTopology {
    const key = `${database.name}\0${database.host}:${database.port}`;
    let t = this.#dbs.get(key);
    if (t === undefined) {
      t = new DatabaseTopology(this.#refreshMs, this.#clock);
      this.#dbs.set(key, t);
    }
    return t;
  }
}
