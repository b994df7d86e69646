/**
 * audit/tail: reading the write-ahead audit log from a saved position, and {@link LogConsumer},
 * which feeds what it reads to a sink (the SQLite/PostgreSQL index, or the auth service for a
 * remote agent) and persists its own position after each delivery, so a restart resumes exactly
 * where the last acknowledged delivery ended. Event ids make a delivery that is repeated after a
 * crash (delivered, position not yet saved) harmless: the sinks ignore ids they already hold.
 * Imports only util and the writer's file naming.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { nullLogger, type Logger } from '../util/log.js';
import { LOG_FILE, logFiles, type LogPosition } from './file-log.js';

/** Lines longer than this are skipped (an event is a few hundred bytes; the writer never writes one). */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** ReadResult is one read: the events parsed, where the next read starts, and lines skipped. */
export interface ReadResult {
  events: Record<string, unknown>[];
  /** Each event's line as written (without the newline), so a sink can store it without re-encoding. */
  lines: string[];
  next: LogPosition;
  /** Lines that were not JSON objects (a torn last line of a crashed writer's file, or garbage). */
  skipped: number;
  /** Bytes of complete lines consumed. */
  bytes: number;
  /** The read stopped at a limit (events, bytes): more is probably there already. */
  more: boolean;
}

/** seqOf returns a file name's sequence number (0 for none). */
export function seqOf(file: string): number {
  const m = LOG_FILE.exec(file);
  return m ? Number(m[2]) : 0;
}

/** comparePositions orders two positions in the log (by file sequence, then offset). */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  return seqOf(a.file) - seqOf(b.file) || a.pos - b.pos;
}

/**
 * readFrom reads complete lines from `from` on, at most maxEvents events and about maxBytes
 * bytes. An incomplete last line of the newest file is left for a later read (the writer may be
 * in the middle of it); an incomplete last line of an older file is a crashed writer's torn line,
 * and is skipped, since no writer ever appends to an older file.
 */
export function readFrom(dir: string, from: LogPosition, maxEvents = 4096, maxBytes = 4 * 1024 * 1024): ReadResult {
  const files = logFiles(dir);
  const events: Record<string, unknown>[] = [];
  const lines: string[] = [];
  let skipped = 0;
  let cur: LogPosition = { ...from };
  let total = 0;
  for (;;) {
    const seq = seqOf(cur.file);
    let idx = files.findIndex((f) => f.seq >= seq && (f.seq > seq || f.name === cur.file));
    if (idx < 0) {
      // Every file is older than the saved one: the log was replaced (a new volume, a restore).
      // Read the new files from the start; ids keep a line indexed before from counting twice.
      if (files.length === 0 || files[files.length - 1]!.seq >= seq || events.length > 0) return { events, lines, next: cur, skipped, bytes: total, more: false };
      idx = 0;
    }
    // The saved file was removed (retention): continue with the next one from its start.
    if (files[idx]!.name !== cur.file) cur = { file: files[idx]!.name, pos: 0 };
    const newest = idx === files.length - 1;
    const fd = openSync(join(dir, cur.file), 'r');
    let chunk: Buffer;
    let n: number;
    let size = Math.min(maxBytes, 1024 * 1024);
    try {
      for (;;) {
        chunk = Buffer.allocUnsafe(size);
        n = readSync(fd, chunk, 0, size, cur.pos);
        if (n < size || chunk.subarray(0, n).lastIndexOf(10) >= 0 || size >= MAX_LINE_BYTES) break;
        size *= 4; // one line longer than the buffer: read more of it
      }
    } finally {
      closeSync(fd);
    }
    const data = chunk.subarray(0, n);
    const end = data.lastIndexOf(10);
    if (end < 0) {
      if (n >= MAX_LINE_BYTES) {
        // A line too long to be an event: skip to its end in later reads.
        skipped++;
        cur = { file: cur.file, pos: cur.pos + n };
        continue;
      }
      if (newest) return { events, lines, next: cur, skipped, bytes: total, more: false };
      if (n > 0) skipped++;
      cur = { file: files[idx + 1]!.name, pos: 0 };
      continue;
    }
    let start = 0;
    while (start <= end && events.length < maxEvents) {
      const nl = data.indexOf(10, start);
      const line = data.toString('utf8', start, nl);
      start = nl + 1;
      if (line.length === 0) continue;
      try {
        const e = JSON.parse(line) as unknown;
        if (typeof e === 'object' && e !== null && !Array.isArray(e)) {
          events.push(e as Record<string, unknown>);
          lines.push(line);
        } else skipped++;
      } catch {
        skipped++;
      }
    }
    cur = { file: cur.file, pos: cur.pos + start };
    total += start;
    // Read on into the next file only when this one is done (read to its end) and not the newest.
    const more = events.length >= maxEvents || n >= size || total >= maxBytes;
    if (more || newest) return { events, lines, next: cur, skipped, bytes: total, more };
  }
}

/** LogConsumerOptions configures {@link LogConsumer}. */
export interface LogConsumerOptions {
  /** The log's directory. */
  dir: string;
  /** Where this consumer keeps its position (a small JSON file, written atomically). */
  offsetFile: string;
  /** deliver hands a batch to the sink; it resolves once the sink holds it (the acknowledgement). */
  deliver: (events: Record<string, unknown>[], lines: string[]) => Promise<void>;
  /** Most events per delivery. Default 4096. */
  maxBatch?: number;
  /** About the most bytes of log per delivery (whole lines; at least one chunk). Default 4 MiB. */
  maxBytes?: number;
  /** How often to look for new lines when nothing kicks the consumer. Default 200 ms. */
  pollMs?: number;
  /** First retry delay after a failed delivery, doubled up to 5 s. Default 100 ms. */
  retryDelayMs?: number;
  log?: Logger;
  /** What the log messages call the sink ("index", "auth service"). */
  name?: string;
  /** Called after each acknowledged delivery, once the position is saved (a worker reports it). */
  onDelivered?: (pos: LogPosition, delivered: number) => void;
  /** State the sink keeps with the position (saved in the same atomic write); read back with {@link loadPositionExtra}. */
  extra?: () => Record<string, unknown>;
}

/**
 * IndexFeeder is what the audit log needs of whatever indexes the write-ahead log: a
 * {@link LogConsumer} on the event loop, or one in a worker thread (auth/audit-indexer).
 */
export interface IndexFeeder {
  /** Events delivered so far by this process. */
  readonly delivered: number;
  start(): void;
  kick(): void;
  /** waitFor resolves once everything before `at` has been delivered. */
  waitFor(at: LogPosition): Promise<void>;
  stop(): Promise<void>;
}

/**
 * LogConsumer reads the log from its saved position and delivers batches, one at a time and in
 * order; it saves the position after each acknowledged delivery and retries failed ones with
 * backoff, so nothing is lost and (with idempotent sinks) nothing is stored twice.
 */
export class LogConsumer implements IndexFeeder {
  private readonly o: Required<Omit<LogConsumerOptions, 'log' | 'name' | 'extra' | 'onDelivered'>> & {
    log: Logger;
    name: string;
    extra?: () => Record<string, unknown>;
    onDelivered?: (pos: LogPosition, delivered: number) => void;
  };
  private pos: LogPosition;
  private running = false;
  private stopped = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private loop: Promise<void> = Promise.resolve();
  private readonly waiters: { at: LogPosition; resolve: () => void }[] = [];
  /** Events delivered by this process (for stats and tests). */
  delivered = 0;

  constructor(opts: LogConsumerOptions) {
    this.o = {
      maxBatch: 4096,
      maxBytes: 4 * 1024 * 1024,
      pollMs: 200,
      retryDelayMs: 100,
      ...opts,
      log: opts.log ?? nullLogger,
      name: opts.name ?? 'sink',
    };
    this.delay = this.o.retryDelayMs;
    this.pos = loadPosition(this.o.offsetFile);
  }

  /** position is where the next delivery starts (everything before it is acknowledged). */
  get position(): LogPosition {
    return { ...this.pos };
  }

  /** start begins delivering; kick() makes it look at once. */
  start(): void {
    this.schedule(0);
  }

  /** kick asks for a look at the log soon (the writer calls it after each commit). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  /** waitFor resolves once everything before `at` has been delivered. */
  waitFor(at: LogPosition): Promise<void> {
    if (comparePositions(this.pos, at) >= 0 || at.file === '') return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waiters.push({ at, resolve }));
    this.kick();
    return p;
  }

  /** stop ends the loop after the delivery in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.loop;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.loop = this.run();
    }, ms);
    // Someone waiting (a search, a shutdown) keeps the process alive until they are served.
    if (this.waiters.length === 0) this.timer.unref();
  }

  private async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    let next = this.o.pollMs;
    try {
      for (;;) {
        this.again = false;
        const r = readFrom(this.o.dir, this.pos, this.o.maxBatch, this.o.maxBytes);
        if (r.skipped > 0) this.o.log.warn('skipped audit log lines that are not events (a torn line after a crash?)', { count: r.skipped, file: this.pos.file });
        if (r.events.length > 0) await this.o.deliver(r.events, r.lines);
        const moved = comparePositions(r.next, this.pos) !== 0;
        if (moved) {
          await writeFileAtomic(this.o.offsetFile, JSON.stringify({ ...this.o.extra?.(), ...r.next }) + '\n', 0o600);
          this.pos = r.next;
          this.delivered += r.events.length;
          this.resolveWaiters();
          this.o.onDelivered?.(this.position, this.delivered);
        }
        this.delay = this.o.retryDelayMs;
        // Read on at once only for a backlog (a full batch) or a waiter; otherwise let events
        // gather until the next poll, so a steady stream makes few large deliveries (each is a
        // transaction and a saved position), not many small ones.
        if (this.stopped || !moved || (!r.more && !this.again && this.waiters.length === 0)) break;
      }
    } catch (err) {
      this.o.log.warn(`could not deliver audit events to the ${this.o.name}; will retry`, { error: (err as Error).message, retryInMs: this.delay });
      next = this.delay;
      this.delay = Math.min(this.delay * 2, 5000);
    } finally {
      this.running = false;
    }
    this.schedule(this.again ? 0 : next);
  }

  private resolveWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (comparePositions(this.pos, this.waiters[i]!.at) >= 0) {
        this.waiters[i]!.resolve();
        this.waiters.splice(i, 1);
      }
    }
  }
}

/** loadPosition reads a saved position; a missing or unreadable file means "from the start". */
export function loadPosition(file: string): LogPosition {
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Partial<LogPosition>;
    if (typeof p.file === 'string' && typeof p.pos === 'number' && p.pos >= 0) return { file: p.file, pos: p.pos };
  } catch {
    // Nothing saved yet.
  }
  return { file: '', pos: 0 };
}

/** loadPositionExtra reads the whole saved state of a consumer (position and extra fields); {} when none. */
export function loadPositionExtra(file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Nothing saved yet.
  }
  return {};
}
