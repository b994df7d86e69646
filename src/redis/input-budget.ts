/**
 * redis/input-budget: the process-wide bound on client input the agent holds — bytes read from
 * clients and not yet forwarded or discarded, plus bytes written to Redis and not yet sent. One
 * budget is shared by every session of an engine, so many slow senders together cannot grow the
 * process that also runs auth and the proxy.
 */

/** DEFAULT_SESSION_BUFFER_BYTES: one session holds at most this much of a request before it is judged and streamed (8 MiB). */
export const DEFAULT_SESSION_BUFFER_BYTES = 8 * 1024 * 1024;
/** DEFAULT_PROCESS_BUFFER_BYTES: all sessions together hold at most about this much client input (128 MiB). */
export const DEFAULT_PROCESS_BUFFER_BYTES = 128 * 1024 * 1024;

/**
 * InputBudget counts the bytes sessions hold. A session adds what it holds after each event
 * ({@link InputBudget.adjust}); while the total is over the limit, sessions stop reading and wait
 * ({@link InputBudget.waitBelow}) until it falls back under it.
 */
export class InputBudget {
  readonly limit: number;
  #used = 0;
  #peak = 0;
  readonly #waiters = new Set<() => void>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** used is the bytes held now by all sessions. */
  get used(): number {
    return this.#used;
  }

  /** peak is the most bytes held at once since the budget was made. */
  get peak(): number {
    return this.#peak;
  }

  /** exceeded tells whether sessions must stop reading. */
  get exceeded(): boolean {
    return this.#used > this.limit;
  }

  /** adjust adds delta (negative to release) and wakes the waiters once the total is under the limit. */
  adjust(delta: number): void {
    if (delta === 0) return;
    this.#used += delta;
    if (this.#used > this.#peak) this.#peak = this.#used;
    if (delta < 0 && this.#used <= this.limit && this.#waiters.size > 0) {
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w();
    }
  }

  /** waitBelow calls wake once the total is under the limit again. */
  waitBelow(wake: () => void): void {
    this.#waiters.add(wake);
  }

  /** cancel forgets a waiter (its session ended). */
  cancel(wake: () => void): void {
    this.#waiters.delete(wake);
  }
}
