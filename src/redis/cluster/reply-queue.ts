/**
 * redis/cluster/reply-queue: the replies one cluster session owes its client, in request order,
 * although they come from several node connections (and from the agent itself) in any order.
 *
 * Each request gets an {@link Entry} when it is handled; a node's reply (or a local answer)
 * completes it; {@link ReplyQueue.take} hands out the completed prefix. A request the client
 * asked no reply for (CLIENT REPLY OFF or SKIP) still gets an entry, so that order holds, but
 * its bytes are dropped. Frames that answer no request (pub/sub messages) are written after the
 * pending pub/sub entry's confirmations, or at once.
 */

/** One reply owed to the client, in request order. */
export class Entry {
  out: Buffer | Buffer[] | undefined = undefined;
  done = false;
  flushed = false;
  /** CLIENT REPLY OFF or SKIP was in force for its request: Redis would send nothing, so neither do we. */
  silent = false;
}

/** Compact the queue once this many entries were handed out and they are at least half of it. */
const COMPACT_AT = 1024;

/** ReplyQueue keeps a session's owed replies in order. */
export class ReplyQueue {
  #queue: Entry[] = [];
  #head = 0;
  #out: Buffer[] = [];
  /** CLIENT REPLY OFF or SKIP is in force for the request being handled. */
  silent = false;
  /** The latest pub/sub entry not yet written: messages arriving meanwhile follow its confirmations. */
  subEntry: Entry | undefined;

  /** pending counts the replies owed to the client. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** entry owes the client one reply for the request being handled. */
  entry(): Entry {
    const e = new Entry();
    e.silent = this.silent;
    this.#queue.push(e);
    return e;
  }

  /** local answers the request being handled with bytes the agent makes (none when silent). */
  local(bytes: Buffer): void {
    if (this.silent) return;
    if (this.#head === this.#queue.length) {
      this.#out.push(bytes);
      return;
    }
    const e = this.entry();
    e.out = bytes;
    e.done = true;
  }

  /** complete fills an entry with its reply. */
  complete(entry: Entry, bytes: Buffer): void {
    entry.out = bytes;
    entry.done = true;
  }

  /** outOfBand queues a frame that answers no request: after the pending pub/sub entry's frames, else at once. */
  outOfBand(bytes: Buffer): void {
    const e = this.subEntry;
    if (e !== undefined && !e.flushed) {
      if (e.out === undefined) e.out = [bytes];
      else if (Array.isArray(e.out)) e.out.push(bytes);
      else e.out = [e.out, bytes];
      return;
    }
    this.#out.push(bytes);
  }

  /** take returns what may be written now (the completed prefix, in order), or undefined. */
  take(): Buffer[] | undefined {
    const q = this.#queue;
    let h = this.#head;
    const out = this.#out;
    while (h < q.length) {
      const e = q[h]!;
      if (!e.done) break;
      e.flushed = true;
      const o = e.silent ? undefined : e.out;
      if (Array.isArray(o)) for (const b of o) out.push(b);
      else if (o !== undefined) out.push(o);
      q[h] = undefined as unknown as Entry;
      h++;
    }
    if (h === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (h >= COMPACT_AT && h * 2 >= q.length) {
      this.#queue = q.slice(h);
      this.#head = 0;
    } else this.#head = h;
    if (this.subEntry?.flushed === true) this.subEntry = undefined;
    if (out.length === 0) return undefined;
    this.#out = [];
    return out;
  }
}
