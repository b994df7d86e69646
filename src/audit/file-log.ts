/**
 * audit/file-log: the write-ahead audit log — append-only JSON lines under the data dir, one
 * event per line, rotated daily and by size (Teleport's file audit backend is the model).
 *
 * Events are buffered by {@link AuditFileWriter.append} (no I/O) and written by
 * {@link AuditFileWriter.commit}: one `write(2)` for everything buffered. The Redis relays call
 * commit right before they forward the bytes of a socket read, so a command never reaches Redis
 * before its event is in the page cache: SIGKILL loses nothing, and an fsync on an interval bounds
 * what a power loss can take. When the write fails (disk full, EACCES), commit throws
 * {@link AuditUnavailableError} and the caller refuses the commands: no audit, no access.
 *
 * Files are named `<YYYY-MM-DD>.<seq>.jsonl`; seq grows by one per file across days, so readers
 * order files by seq. A writer never appends to a file it did not create: every start and every
 * failed write begin a new file, so a torn last line (a crash mid-write) is always the end of a
 * file that nobody writes any more, and readers skip it.
 * Imports only util and errors.
 */
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/log.js';

/** LOG_FILE matches an audit log file name and captures its date and sequence number. */
export const LOG_FILE = /^(\d{4}-\d{2}-\d{2})\.(\d{6,})\.jsonl$/;

/** DEFAULT_MAX_FILE_BYTES rotates a file once it reaches 128 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 128 * 1024 * 1024;
/** DEFAULT_FSYNC_INTERVAL_MS is how often written lines are fsync'd (issue bar: ≤ 1 s). */
export const DEFAULT_FSYNC_INTERVAL_MS = 1000;

/** AuditUnavailableError says the log cannot be written; the message is safe to show a client. */
export class AuditUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditUnavailableError';
  }
}

/** LogPosition is a place in the log: a file name and a byte offset in it. */
export interface LogPosition {
  file: string;
  pos: number;
}

/** logFiles lists dir's audit log files, oldest first (by sequence number). */
export function logFiles(dir: string): { name: string; seq: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: { name: string; seq: number }[] = [];
  for (const name of names) {
    const m = LOG_FILE.exec(name);
    if (m) out.push({ name, seq: Number(m[2]) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** AuditFileWriterOptions configures {@link AuditFileWriter}. */
export interface AuditFileWriterOptions {
  /** The directory of the log files (created 0700). */
  dir: string;
  /** Rotate once the current file holds this many bytes. Default 128 MiB. */
  maxFileBytes?: number;
  /** fsync written lines this often; 0 = after every commit. Default 1 s. */
  fsyncIntervalMs?: number;
  clock?: Clock;
  log?: Logger;
  /** Called after each successful commit (a consumer may read on). */
  onCommit?: () => void;
}

/**
 * AuditFileWriter appends JSON lines to the current log file. Single-threaded by design: Node
 * runs one append or commit at a time.
 */
export class AuditFileWriter {
  readonly dir: string;
  private readonly maxFileBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly onCommit: (() => void) | undefined;
  private pending: string[] = [];
  private fd = -1;
  private file = '';
  private size = 0;
  private seq = 0;
  /** The current file's day ends at this time (ms); a commit after it rotates. */
  private dayEndsAt = 0;
  /** Why the last write failed; the next commit starts a new file before writing. */
  private broken: string | undefined;
  private dirty = false;
  private syncing = false;
  private scheduled = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: AuditFileWriterOptions) {
    this.dir = opts.dir;
    this.maxFileBytes = Math.max(1, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    this.fsyncIntervalMs = Math.max(0, opts.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? nullLogger;
    this.onCommit = opts.onCommit;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const files = logFiles(this.dir);
      this.seq = files.length > 0 ? files[files.length - 1]!.seq : 0;
      this.openNext();
    } catch (err) {
      // Start anyway: every commit retries, and sessions are refused until one succeeds.
      this.broken = (err as Error).message;
      this.log.error('cannot open the audit log; database commands are refused until it can be written', { dir: this.dir, error: this.broken });
    }
    if (this.fsyncIntervalMs > 0) {
      this.timer = setInterval(() => this.sync(), this.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  /** position is where the next line will be written. */
  get position(): LogPosition {
    return { file: this.file, pos: this.size };
  }

  /** pendingLines counts lines appended but not committed. */
  get pendingLines(): number {
    return this.pending.length;
  }

  /**
   * append buffers one event as a JSON line. No I/O: the line is written by the next commit, at
   * the latest on the next turn of the event loop (a failure there is logged; the caller that
   * forwards commands commits itself and sees it).
   */
  append(event: object): void {
    if (this.closed) {
      this.log.error('audit event appended after close; dropped', { type: (event as { type?: unknown }).type });
      return;
    }
    this.pending.push(JSON.stringify(event) + '\n');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.commitSoon);
    }
  }

  private readonly commitSoon = (): void => {
    this.scheduled = false;
    try {
      this.commit();
    } catch (err) {
      this.log.error('audit log write failed', { error: (err as Error).message });
    }
  };

  /**
   * commit writes every buffered line with one write. It throws {@link AuditUnavailableError}
   * when the log cannot be written (the lines of that attempt are dropped: their commands are
   * refused), also when nothing is buffered but the last write failed and a new file still
   * cannot be opened, so a new session is refused too.
   */
  commit(): void {
    if (this.closed) throw new AuditUnavailableError('the audit log is closed');
    const lines = this.pending;
    if (lines.length === 0 && this.broken === undefined) return;
    this.pending = [];
    try {
      if (this.broken !== undefined || this.fd < 0) this.openNext();
      else if (this.size >= this.maxFileBytes || this.clock.now().getTime() >= this.dayEndsAt) this.rotate();
      if (lines.length === 0) return;
      // The string goes to write(2) without an intermediate Buffer (the copy showed in profiles);
      // a short write, which files rarely do, finishes from a Buffer of the same bytes.
      const text = lines.length === 1 ? lines[0]! : lines.join('');
      const total = Buffer.byteLength(text);
      let off = writeSync(this.fd, text);
      if (off < total) {
        const data = Buffer.from(text);
        while (off < total) off += writeSync(this.fd, data, off, total - off);
      }
      this.size += total;
      this.dirty = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.broken = code ? `${code}: ${(err as Error).message}` : (err as Error).message;
      throw new AuditUnavailableError(describe(err, this.dir));
    }
    this.broken = undefined;
    if (this.fsyncIntervalMs === 0) this.syncNow();
    this.onCommit?.();
  }

  /** close commits what is buffered, fsyncs and closes the file. */
  close(): void {
    if (this.closed) return;
    try {
      this.commit();
    } catch (err) {
      this.log.error('audit log write failed at close', { error: (err as Error).message });
    }
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.syncNow();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** rotate closes the current file (fsync'd) and opens the next. */
  private rotate(): void {
    this.syncNow();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.openNext();
  }

  /** openNext creates the next file; a file left by an earlier failure is closed first. */
  private openNext(): void {
    if (this.seq === 0) {
      // The directory could not be read at start: learn the sequence now.
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const files = logFiles(this.dir);
      this.seq = files.length > 0 ? files[files.length - 1]!.seq : 0;
    }
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // The old file is done with either way.
      }
      this.fd = -1;
    }
    const now = this.clock.now();
    const day = now.toISOString().slice(0, 10);
    const name = `${day}.${String(this.seq + 1).padStart(6, '0')}.jsonl`;
    // 'ax': append-only, and never an existing file, so two writers cannot share one.
    const fd = openSync(join(this.dir, name), 'ax', 0o600);
    this.seq++;
    this.fd = fd;
    this.file = name;
    this.size = 0;
    this.dirty = false;
    this.dayEndsAt = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  }

  /** sync fsyncs written lines in the background (the interval timer). */
  private sync(): void {
    if (!this.dirty || this.syncing || this.fd < 0) return;
    this.dirty = false;
    this.syncing = true;
    const fd = this.fd;
    fsync(fd, (err) => {
      this.syncing = false;
      if (err && fd === this.fd) this.log.warn('audit log fsync failed', { error: err.message });
    });
  }

  private syncNow(): void {
    if (!this.dirty || this.fd < 0) return;
    this.dirty = false;
    try {
      fsyncSync(this.fd);
    } catch (err) {
      this.log.warn('audit log fsync failed', { error: (err as Error).message });
    }
  }
}

/** describe says what went wrong in words a client can act on (no stack, no secret). */
function describe(err: unknown, dir: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return `no space left on the device of ${dir}`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied writing to ${dir}`;
  if (code === 'EDQUOT') return `disk quota exceeded for ${dir}`;
  if (code === 'EROFS') return `${dir} is on a read-only file system`;
  return `cannot write to ${dir}: ${code ?? (err as Error).message}`;
}
