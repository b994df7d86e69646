/**
 * redis/backpressure: the client side of both relays' flow control.
 *
 *  - {@link ClientPause}: the client socket is paused for reasons (bits); it reads again only
 *    when every reason is gone — Redis not reading (UPSTREAM_FULL), too many replies owed
 *    (TOO_MANY_PENDING), a request waiting for an idle connection (HELD), the session closing
 *    (CLOSING), the process input budget spent (BUDGET).
 *  - {@link ClientWriter}: replies go to the client in one write per batch; while the client
 *    does not read, reading from Redis stops (one socket or every node connection) until it drains.
 *  - {@link endClient}: a graceful end that does not wait forever for a client that never reads.
 *
 * No allocation per command: handlers are bound once per session.
 */
import type { Duplex } from 'node:stream';

/** Reasons the client is paused (bits). */
export const UPSTREAM_FULL = 1;
export const TOO_MANY_PENDING = 2;
export const HELD = 4;
export const CLOSING = 8;
export const BUDGET = 16;

/** Above this a batch is written with cork/uncork rather than copied into one buffer. */
const CONCAT_LIMIT = 64 * 1024;
/** How long a client ended gracefully may take to read what is left before it is destroyed. */
export const CLOSE_GRACE_MS = 5_000;

/** PauseCounters are the engine-wide counters backpressure increments. */
export interface PauseCounters {
  /** Times reading from Redis was paused because the client was not reading. */
  upstreamPauses: number;
  /** Times the client socket was paused (upstream full, too many pending replies, a held request). */
  clientPauses: number;
}

/** writeBatch writes buffers as one write (one buffer or a copy) or one corked writev; returns write()'s verdict. */
export function writeBatch(stream: Duplex, bufs: readonly Buffer[]): boolean {
  if (bufs.length === 1) return stream.write(bufs[0]!);
  let total = 0;
  for (const b of bufs) total += b.length;
  if (total <= CONCAT_LIMIT) return stream.write(Buffer.concat(bufs as Buffer[], total));
  stream.cork();
  let ok = true;
  for (const b of bufs) ok = stream.write(b);
  stream.uncork();
  return ok;
}

/** ClientPause keeps why the client socket is paused. */
export class ClientPause {
  #reasons = 0;
  constructor(
    readonly client: Duplex,
    readonly counters: PauseCounters,
  ) {}

  /** has tells whether reason is one of the reasons the client is paused. */
  has(reason: number): boolean {
    return (this.#reasons & reason) !== 0;
  }

  /** pause stops reading from the client (once) and records why. */
  pause(reason: number): void {
    if (this.#reasons === 0) {
      this.client.pause();
      this.counters.clientPauses++;
    }
    this.#reasons |= reason;
  }

  /**
   * unpause drops a reason; when none is left (and the session is not finished) the client is
   * resumed and true is returned: requests may be waiting in the parser, the caller drains them.
   */
  unpause(reason: number, finished: boolean): boolean {
    if ((this.#reasons & reason) === 0) return false;
    this.#reasons &= ~reason;
    if (this.#reasons !== 0 || finished) return false;
    this.client.resume();
    return true;
  }
}

/**
 * ClientWriter writes reply batches to the client; when the client's buffer is full it stops
 * reading from Redis (pauseUpstream) until the client drains (resumeUpstream).
 */
export class ClientWriter {
  #upstreamPaused = false;
  constructor(
    readonly client: Duplex,
    readonly counters: PauseCounters,
    readonly pauseUpstream: () => void,
    /** Called once the client drained; it must not resume a finished session. */
    readonly resumeUpstream: () => void,
  ) {}

  /** upstreamPaused tells whether reading from Redis is paused because the client is not reading. */
  get upstreamPaused(): boolean {
    return this.#upstreamPaused;
  }

  /** write sends one batch; nothing once the client is gone. */
  write(bufs: readonly Buffer[]): void {
    const client = this.client;
    if (client.destroyed || client.writableEnded) return;
    if (!writeBatch(client, bufs) && !this.#upstreamPaused) {
      this.#upstreamPaused = true;
      this.pauseUpstream();
      this.counters.upstreamPauses++;
      client.once('drain', this.#onDrain);
    }
  }

  readonly #onDrain = (): void => {
    this.#upstreamPaused = false;
    this.resumeUpstream();
  };
}

/**
 * endClient ends the client socket: at once when hard (or already destroyed), else gracefully
 * (after last, if given) with a bound, since a client that never reads would keep end() from
 * completing.
 */
export function endClient(client: Duplex, hard: boolean, last?: Buffer): void {
  if (hard || client.destroyed) {
    client.destroy();
    return;
  }
  if (last !== undefined) client.end(last);
  else client.end();
  const t = setTimeout(() => client.destroy(), CLOSE_GRACE_MS);
  t.unref?.();
  client.once('close', () => clearTimeout(t));
}
