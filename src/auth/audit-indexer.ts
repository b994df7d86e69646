/**
 * auth/audit-indexer: indexes the write-ahead audit log into SQLite from a worker thread.
 *
 * Why a thread: under pipelined load every Redis command is an event, and reading the log back,
 * parsing it and inserting it into SQLite (better-sqlite3 is synchronous) took 45 % of
 * `xctl start`'s busy time at `redis-benchmark -P 16 -c 50` (bench/RESULTS.md, CPU profiles) —
 * time the event loop that relays the commands could not spend relaying. The worker opens its
 * own connection to the same file (WAL mode lets the main thread read meanwhile; writers take
 * turns under the busy timeout) and runs the same {@link LogConsumer}, with the same saved
 * offset, so what is indexed and how a restart resumes do not change. PostgreSQL stays on the
 * event loop: its driver does the I/O asynchronously already.
 *
 * Messages: the parent sends `kick` (look now) and `stop`; the worker sends `ready`, `pos` after
 * each acknowledged delivery, `log` for its warnings, `failed` when it cannot open the store and
 * `stopped`. Waiters ({@link IndexFeeder.waitFor}) are kept here and resolved by `pos`.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../util/log.js';
import { comparePositions, type IndexFeeder } from '../audit/tail.js';
import type { LogPosition } from '../audit/file-log.js';

/** IndexWorkerData is what the worker is started with. */
export interface IndexWorkerData {
  dir: string;
  offsetFile: string;
  dataDir: string;
  fileName: string;
  pollMs: number;
}

/** ToIndexer is a message from the parent to the worker. */
export type ToIndexer = { type: 'kick' } | { type: 'stop' };

/** ToParent is a message from the worker to the parent. */
export type ToParent =
  | { type: 'ready'; pos: LogPosition }
  | { type: 'pos'; pos: LogPosition; delivered: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'failed'; message: string }
  | { type: 'stopped' };

/**
 * WorkerIndexFeeder is an {@link IndexFeeder} whose consumer runs in a worker thread. When the
 * worker cannot start or dies, waiters are released (the events stay in the log and are indexed
 * at the next start) and the failure is logged, so a broken index never blocks access.
 */
export class WorkerIndexFeeder implements IndexFeeder {
  private readonly worker: Worker;
  private pos: LogPosition = { file: '', pos: 0 };
  private readonly waiters: { at: LogPosition; resolve: () => void }[] = [];
  private dead = false;
  private readonly exited: Promise<void>;
  /** Events the worker has indexed since it started. */
  delivered = 0;

  constructor(data: IndexWorkerData, private readonly log: Logger) {
    this.worker = new Worker(new URL('./audit-index-worker.js', import.meta.url), { workerData: data, name: 'audit-index' });
    // The worker must not keep the process alive; close() waits for it explicitly.
    this.worker.unref();
    this.worker.on('message', (m: ToParent) => this.onMessage(m));
    this.worker.on('error', (err) => {
      this.log.error('the audit index worker failed; events stay in the log and are indexed at the next start', { error: err.message });
      this.die();
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => {
      this.die();
      resolve();
    }));
  }

  start(): void {
    // The worker starts delivering on its own once it has opened the store.
  }

  kick(): void {
    if (this.dead) return;
    this.worker.postMessage({ type: 'kick' } satisfies ToIndexer);
  }

  waitFor(at: LogPosition): Promise<void> {
    if (this.dead || at.file === '' || comparePositions(this.pos, at) >= 0) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waiters.push({ at, resolve }));
    // Someone waits (a search, a shutdown): the worker keeps the process alive until served.
    this.worker.ref();
    this.kick();
    return p;
  }

  async stop(): Promise<void> {
    if (!this.dead) {
      this.worker.ref();
      this.worker.postMessage({ type: 'stop' } satisfies ToIndexer);
    }
    await this.exited;
  }

  private onMessage(m: ToParent): void {
    switch (m.type) {
      case 'ready':
        this.pos = m.pos;
        this.resolveWaiters();
        return;
      case 'pos':
        this.pos = m.pos;
        this.delivered = m.delivered;
        this.resolveWaiters();
        return;
      case 'log':
        this.log[m.level](m.msg, m.fields);
        return;
      case 'failed':
        this.log.error('the audit index worker could not open the store; events stay in the log and are indexed at the next start', { error: m.message });
        this.die();
        return;
      case 'stopped':
        return;
    }
  }

  private resolveWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (comparePositions(this.pos, this.waiters[i]!.at) >= 0) {
        this.waiters[i]!.resolve();
        this.waiters.splice(i, 1);
      }
    }
    if (this.waiters.length === 0 && !this.dead) this.worker.unref();
  }

  private die(): void {
    if (this.dead) return;
    this.dead = true;
    for (const w of this.waiters.splice(0)) w.resolve();
  }
}
