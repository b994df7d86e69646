/**
 * store/backend: the revisioned key-value contract every storage backend implements, plus the
 * audit event log. SQLite is the embedded default (sqlite.ts); memory.ts serves unit tests;
 * PostgreSQL comes next behind the same interface. Imports only errors and util.
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
  /** appendEvents stores audit events atomically (all or none), assigning ids. */
  appendEvents(events: AuditEvent[]): Promise<void>;
  /** searchEvents returns audit events matching q. */
  searchEvents(q: EventQuery): Promise<AuditEvent[]>;
  /** countEvents counts the events matching q's filters (type, user, since, until; not limit or cursors). */
  countEvents(q: EventQuery): Promise<number>;
  /** close releases the backend (and any lock it holds). */
  close(): Promise<void>;
}
