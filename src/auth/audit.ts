/**
 * auth/audit: the batched audit writer. The auth service emits an event per admin action, the
 * Redis engine one per command (up to ~100k/s), so {@link AuditLog.emit} only stamps and queues:
 * no I/O and no awaiting on the caller's path. Batches reach {@link Backend.appendEvents} from a
 * timer, one write at a time; a failed write is retried with backoff and loses nothing.
 * Imports only errors, util and the store contract; never HTTP, the engine or a concrete backend.
 */
import { messageOf } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/log.js';
import type { AuditEvent, Backend, EventQuery } from '../store/backend.js';
import { EventIdMinter } from '../store/event-sequence.js';
import type { AuditFileWriter } from '../audit/file-log.js';
import type { IndexFeeder } from '../audit/tail.js';

/** EventCode is an event type's stable code, with its own code for failures where one exists. */
export interface EventCode {
  readonly success: string;
  readonly failure?: string;
}

/** EVENT_CODES maps each audit event type to its code (Teleport's scheme: I = info, W = warning). */
export const EVENT_CODES = {
  'user.login': { success: 'T1000I', failure: 'T1000W' },
  'user.create': { success: 'T1002I' },
  'user.update': { success: 'T1003I' },
  'user.delete': { success: 'T1004I' },
  'user.password_change': { success: 'T1005I' },
  'reset_password_token.create': { success: 'T6000I' },
  'token.create': { success: 'T6100I' },
  'token.delete': { success: 'T6101I' },
  'role.created': { success: 'T9000I' },
  'role.deleted': { success: 'T9001I' },
  'role.updated': { success: 'T9002I' },
  // Denials only: their one code is a warning.
  'web.access.denied': { success: 'T1010W' },
  'db.connection.refused': { success: 'TDB10W' },
  'cert.create': { success: 'TC000I', failure: 'TC000W' },
  // An agent sent events for sessions it does not serve (one event per batch, with the counts).
  'agent.events.rejected': { success: 'TJ002W' },
  // Codes for events that had none (a newcomer saw agent.join with an empty code): Teleport's where it has one.
  'user.reset': { success: 'T6001I' },
  'db.create': { success: 'TDB03I' },
  'db.delete': { success: 'TDB05I' },
  'agent.join': { success: 'TJ001I' },
  'db.session.start': { success: 'TDB00I', failure: 'TDB00W' },
  'db.session.end': { success: 'TDB01I' },
  'db.session.query': { success: 'TDB02I', failure: 'TDB02W' },
  // The agent created, changed, rotated or disabled a managed Redis ACL user for a session.
  'db.session.acl': { success: 'TDB20I', failure: 'TDB20W' },
  // A database secret (a managed database's admin password) was set or removed by an admin, or
  // read by an agent (refusals are warnings). Never the value.
  'db.secret.set': { success: 'TDB21I' },
  'db.secret.delete': { success: 'TDB22I' },
  'db.secret.read': { success: 'TDB23I', failure: 'TDB23W' },
} as const satisfies Record<string, EventCode>;

/** AuditEventType is a type with a known code. */
export type AuditEventType = keyof typeof EVENT_CODES;

// A Map, so a type such as `constructor` never finds a prototype property.
const CODES = new Map<string, EventCode>(Object.entries(EVENT_CODES));

/** eventCode returns the code for type, the failure variant when success is false; undefined for unknown types. */
export function eventCode(type: string, success?: boolean): string | undefined {
  const c = CODES.get(type);
  if (!c) return undefined;
  return success === false && c.failure !== undefined ? c.failure : c.success;
}

/** AuditEventInput is an event as emitted: like {@link AuditEvent}, but `time` is stamped when absent. */
export interface AuditEventInput {
  id?: string;
  type: string;
  code?: string;
  time?: string;
  user?: string;
  success?: boolean;
  [field: string]: unknown;
}

/** AuditStats counts events through the log; `pending` = emitted − written. */
export interface AuditStats {
  emitted: number;
  written: number;
  pending: number;
  failedWrites: number;
}

/** AuditLogOptions tunes {@link AuditLog}. */
export interface AuditLogOptions {
  clock?: Clock;
  log?: Logger;
  /** Most events per appendEvents call; reaching it schedules a write at once. Default 1024. */
  maxBatch?: number;
  /** How long an event may wait for more to join its batch. Default 50 ms. */
  flushIntervalMs?: number;
  /** First retry delay after a failed write, doubled on each failure. Default 100 ms. */
  retryDelayMs?: number;
  /** Longest retry delay. Default 5 s. */
  maxRetryDelayMs?: number;
  /**
   * The write-ahead log: when given, events are appended to it (with their ids) instead of being
   * queued in memory, and the backend is only an index that `consumer` feeds from the log.
   */
  wal?: { writer: AuditFileWriter; consumer: IndexFeeder };
}

/** How long close() waits for the index to catch up; the rest is indexed at the next start. */
const CLOSE_INDEX_WAIT_MS = 5000;

/**
 * AuditLog queues audit events and writes them to a backend in order, in batches, one write at a
 * time. Events stay queued until a write succeeds, so a failing backend delays them but never
 * drops them. Call {@link AuditLog.close} at shutdown: timers are unref'd and will not keep the
 * process alive to write what is left.
 */
export class AuditLog {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxBatch: number;
  private readonly flushIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;

  /** Queued batches of exactly maxBatch events, oldest first; a failed batch returns to the front. */
  private readonly full: AuditEvent[][] = [];
  /** The batch still filling. */
  private tail: AuditEvent[] = [];
  private stampMs = Number.NaN;
  private stampIso = '';
  private emitted = 0;
  private written = 0;
  private failedWrites = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerSoon = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private writing = false;
  private closed = false;
  /** flush() callers, by the emitted count they wait for (non-decreasing). */
  private readonly waiters: { upTo: number; resolve: () => void }[] = [];
  private readonly wal: AuditLogOptions['wal'];
  private readonly ids = new EventIdMinter();

  constructor(
    private readonly backend: Backend,
    opts: AuditLogOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? nullLogger;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 1024);
    this.flushIntervalMs = Math.max(0, opts.flushIntervalMs ?? 50);
    this.retryDelayMs = Math.max(1, opts.retryDelayMs ?? 100);
    this.maxRetryDelayMs = Math.max(this.retryDelayMs, opts.maxRetryDelayMs ?? 5000);
    this.wal = opts.wal;
    this.wal?.consumer.start();
  }

  /**
   * emit queues one event, stamping `time` from the clock and `code` from {@link EVENT_CODES} when
   * absent. O(1): it never writes or awaits, even when a batch fills (the write is scheduled).
   * After close() the event is dropped and an error is logged.
   */
  emit(event: AuditEventInput, owned = false): void {
    if (this.closed) {
      this.log.error('audit event emitted after close; dropped', { type: event.type });
      return;
    }
    // owned: the caller hands the object over (a session event built for this call), so it is
    // stamped in place instead of copied. Otherwise Object.assign then plain stores: several
    // times faster in V8 than `{ ...event, time }`.
    const e = (owned ? event : Object.assign({}, event)) as AuditEvent;
    if (e.time === undefined) e.time = this.stamp();
    if (e.code === undefined) {
      const code = eventCode(e.type, e.success);
      if (code !== undefined) e.code = code;
    }
    if (this.wal) {
      // The id is given before the event is logged, so the index can tell a replayed line.
      // stampMs is this event's time unless it came stamped: then the clock's now.
      if (e.id === undefined) e.id = this.ids.next(Number.isNaN(this.stampMs) || e.time !== this.stampIso ? this.clock.now().getTime() : this.stampMs);
      this.wal.writer.append(e);
      this.emitted++;
      return;
    }
    this.tail.push(e);
    this.emitted++;
    if (this.tail.length >= this.maxBatch) {
      this.full.push(this.tail);
      this.tail = [];
      this.schedule(true);
    } else {
      this.schedule(false);
    }
  }

  /**
   * commit writes the events emitted so far to the write-ahead log, synchronously (one write).
   * Throws AuditUnavailableError when the log cannot be written; without a log it does nothing
   * (the events are queued for the backend).
   */
  commit(): void {
    this.wal?.writer.commit();
  }


  /** stats returns the counters. */
  stats(): AuditStats {
    if (this.wal) {
      const written = this.wal.consumer.delivered;
      return { emitted: this.emitted, written, pending: Math.max(0, this.emitted - written), failedWrites: this.failedWrites };
    }
    return { emitted: this.emitted, written: this.written, pending: this.emitted - this.written, failedWrites: this.failedWrites };
  }

  /**
   * flush resolves once every event emitted before the call is written. While the backend keeps
   * failing it keeps waiting (retries continue with backoff), and keeps the process alive meanwhile.
   */
  flush(): Promise<void> {
    if (this.wal) {
      try {
        this.wal.writer.commit();
      } catch (err) {
        this.log.error('audit log write failed', { error: messageOf(err) });
      }
      return this.wal.consumer.waitFor(this.wal.writer.position);
    }
    const upTo = this.emitted;
    if (this.written >= upTo) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    this.retryTimer?.ref();
    void this.drain();
    return done;
  }

  /** close writes everything emitted so far (including events emitted while it waits), then stops the timers. */
  async close(): Promise<void> {
    if (this.wal) {
      if (this.closed) return;
      this.closed = true;
      this.wal.writer.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.wal.consumer.waitFor(this.wal.writer.position),
        new Promise<void>((r) => {
          // Not unref'd: at shutdown this wait is what keeps the process alive for the index.
          timer = setTimeout(r, CLOSE_INDEX_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      await this.wal.consumer.stop();
      return;
    }
    while (this.written < this.emitted) await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** search writes what is queued, then queries the backend, so a caller sees its own events. */
  async search(q: EventQuery): Promise<AuditEvent[]> {
    await this.flush();
    return this.backend.searchEvents(q);
  }

  /** count writes what is queued, then counts the events matching q's filters. */
  async count(q: EventQuery): Promise<number> {
    await this.flush();
    return this.backend.countEvents(q);
  }

  /**
   * schedule arms the timer: soon when a batch is full, after flushIntervalMs otherwise. While a
   * write is in flight nothing is armed, since the writer loops until the queue is empty.
   */
  private schedule(soon: boolean): void {
    if (this.writing) return;
    if (this.timer) {
      if (!soon || this.timerSoon) return;
      clearTimeout(this.timer);
    }
    this.timerSoon = soon;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.drain();
      },
      soon ? 0 : this.flushIntervalMs,
    );
    this.timer.unref();
  }

  /** stamp returns the clock's time as ISO-8601, formatting it once per millisecond rather than per event. */
  private stamp(): string {
    const now = this.clock.now();
    const ms = now.getTime();
    if (ms !== this.stampMs) {
      this.stampMs = ms;
      this.stampIso = now.toISOString();
    }
    return this.stampIso;
  }

  /** takeBatch removes the oldest batch from the queue, or returns undefined when it is empty. */
  private takeBatch(): AuditEvent[] | undefined {
    const batch = this.full.shift();
    if (batch) return batch;
    if (this.tail.length === 0) return undefined;
    const tail = this.tail;
    this.tail = [];
    return tail;
  }

  /** drain writes batches, one at a time and in order, until the queue is empty. */
  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let delay = this.retryDelayMs;
    try {
      for (let batch = this.takeBatch(); batch; batch = this.takeBatch()) {
        try {
          await this.backend.appendEvents(batch);
        } catch (err) {
          this.failedWrites++;
          this.full.unshift(batch);
          this.log.warn('audit write failed; retrying', { events: batch.length, retryInMs: delay, error: messageOf(err) });
          await this.pause(delay);
          delay = Math.min(delay * 2, this.maxRetryDelayMs);
          continue;
        }
        delay = this.retryDelayMs;
        this.written += batch.length;
        while (this.waiters.length > 0 && this.waiters[0]!.upTo <= this.written) this.waiters.shift()!.resolve();
      }
    } finally {
      this.writing = false;
    }
  }

  /** pause waits ms before a retry; only a pending flush() keeps the process alive for it. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        resolve();
      }, ms);
      if (this.waiters.length === 0) this.retryTimer.unref();
    });
  }
}
