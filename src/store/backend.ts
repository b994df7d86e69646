/**
 * store/backend: the revisioned key-value contract every storage backend implements, plus the
 * audit event log. SQLite is the embedded default (sqlite.ts); memory.ts serves unit tests;
 * postgres.ts lets several replicas share one cluster. Imports only errors and util.
 */

/** Item is a stored value with its revision (bumped on every write) and optional expiry. */
export interface Item<T = unknown> {
  key: string;
  value: T;
  revision: number;
  expires?: Date;
}

/** PutOptions makes a put conditional or expiring. */
export interface PutOptions {
  /**
   * The revision the caller last read. `0` means the key must not exist (create-only).
   * A mismatch throws a `conflict` XError and writes nothing.
   */
  expectRevision?: number;
  /** After this instant the item reads as absent and may be purged. */
  expires?: Date;
}

/** AuditEvent is one audit record. `type` is e.g. `user.login`; `code` is a short stable id. */
export interface AuditEvent {
  /** Assigned by the backend when absent (ULID-like, time-ordered). */
  id?: string;
  type: string;
  code?: string;
  /** ISO-8601 time of the event. */
  time: string;
  user?: string;
  success?: boolean;
  [field: string]: unknown;
}

/** EventQuery filters {@link Backend.searchEvents}. */
export interface EventQuery {
  type?: string;
  user?: string;
  since?: Date;
  until?: Date;
  /** Default 500. */
  limit?: number;
  /** Default 'asc' (oldest first). */
  order?: 'asc' | 'desc';
  /** Only events whose id is greater than this (a page cursor when reading oldest first). */
  afterId?: string;
  /** Only events whose id is less than this (a page cursor when reading newest first). */
  beforeId?: string;
}

/**
 * WatchEvent tells a watcher that a key under its prefix changed. `resync` carries no key: events
 * may have been missed (the backend lost its notification channel and regained it), so the
 * watcher should re-read what it caches.
 */
export type WatchEvent = { type: 'put' | 'delete'; key: string; revision: number } | { type: 'resync' };

/** Watch is a registered watcher; close stops its callbacks. */
export interface Watch {
  close(): void;
}

/**
 * BackendCheck is what `xctl backend check` reports: counts, and every problem found (capped). Not
 * part of the contract; the SQLite and PostgreSQL backends offer it.
 */
export interface BackendCheck {
  /** Where the backend is (file path or host:port/db), without credentials. */
  where: string;
  schemaVersion: number;
  /** The newest schema this build reads. */
  expectedSchemaVersion: number;
  /** The revision counter. */
  revision: number;
  keys: number;
  events: number;
  problems: string[];
}

/** MAX_CHECK_PROBLEMS caps the problems a check lists (the count of the rest is reported). */
export const MAX_CHECK_PROBLEMS = 50;

/** Backend is the storage contract. All methods are async so networked backends fit. */
export interface Backend {
  /** get returns the item, or undefined when absent or expired. */
  get<T = unknown>(key: string): Promise<Item<T> | undefined>;
  /** put writes value under key (JSON-serialisable) and returns the stored item. */
  put<T = unknown>(key: string, value: T, opts?: PutOptions): Promise<Item<T>>;
  /** delete removes key; returns whether it existed. A revision mismatch throws `conflict`. */
  delete(key: string, opts?: { expectRevision?: number }): Promise<boolean>;
  /** list returns the unexpired items whose key starts with prefix, sorted by key. */
  list<T = unknown>(prefix: string): Promise<Item<T>[]>;
  /** appendEvents stores audit events atomically (all or none), assigning ids; an event whose id is already stored is skipped. */
  appendEvents(events: AuditEvent[], json?: readonly string[]): Promise<void>;
  /** searchEvents returns audit events matching q. */
  searchEvents(q: EventQuery): Promise<AuditEvent[]>;
  /**
   * watch calls onEvent for every later write or delete of a key starting with prefix, made by any
   * process using the same store. The memory, SQLite (one service per data dir, so its own writes
   * are all of them) and PostgreSQL (LISTEN/NOTIFY) backends offer it; optional so that a backend
   * without change notification can still exist. The promise resolves once the watch is live, so a
   * write after it is seen.
   */
  watch?(prefix: string, onEvent: (e: WatchEvent) => void): Promise<Watch>;
  /** countEvents counts the events matching q's filters (type, user, since, until; not limit or cursors). */
  countEvents(q: EventQuery): Promise<number>;
  /**
   * indexTarget says where another thread can open its own connection to the same store to index
   * audit events there (SQLite: the data dir and file). Absent when the store cannot be shared
   * that way (memory) or gains nothing from it (PostgreSQL does its I/O off the event loop).
   */
  indexTarget?(): { sqlite: { dataDir: string; fileName: string } } | undefined;
  /** close releases the backend (and any lock it holds). */
  close(): Promise<void>;
}
