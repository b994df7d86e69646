/**
 * redis/cluster/node-link: one session's connection to one cluster node. Commands are queued
 * with a waiter each and written in batches (one write per event-loop turn per node, so a
 * pipeline stays a pipeline); replies are matched to waiters in order, as a Redis connection
 * answers them. Until the connection is up (dial, TLS, setup replies), commands wait in the
 * queue; if the dial fails, every waiter is told its command was never written, so the caller
 * may safely send it elsewhere.
 *
 * Frames that answer no waiter (RESP3 pushes on a data connection, pub/sub messages on a
 * subscriber connection) go to `onOutOfBand`. On a subscriber connection push frames are given
 * to the waiter first: RESP3 subscribe confirmations are push frames.
 *
 * Imports node:tls types and redis/resp; must not import auth/ or cloud/.
 */
import type { TLSSocket } from 'node:tls';
import type { ReplyFrame, ReplyScanner } from '../resp/index.js';

/** LinkWaiter receives the reply (or replies) to one queued command. */
export interface LinkWaiter {
  /** onFrame gets each frame meant for this waiter; it returns true once it has all it needs. */
  onFrame(frame: ReplyFrame, link: NodeLink): boolean;
  /** onFail says the connection ended first; written tells whether the command had been written. */
  onFail(err: Error, written: boolean): void;
}

/** OpenedConnection is a connected, set-up node connection and the scanner that read the setup replies. */
export interface OpenedConnection {
  socket: TLSSocket;
  scanner: ReplyScanner;
}

/** NodeLinkOptions configure a {@link NodeLink}. */
export interface NodeLinkOptions {
  address: string;
  /** Dials and sets up the connection (AUTH, HELLO, replays). */
  open: () => Promise<OpenedConnection>;
  /** Subscriber connection: push frames go to the head waiter, not out of band. */
  subscriber: boolean;
  /** A frame no waiter takes. */
  onOutOfBand: (frame: ReplyFrame, link: NodeLink) => void;
  /** Called once, when the connection is gone (err says why). */
  onClose: (link: NodeLink, err: Error) => void;
  /** Called after a batch of frames was handed out (the relay writes to its client then). */
  onActivity: () => void;
}

/** LinkError is the error waiters get when a node connection ends. */
export class LinkError extends Error {
  constructor(
    message: string,
    readonly address: string,
  ) {
    super(message);
  }
}

const EMPTY: Buffer[] = [];

/** NodeLink is one node connection of a session. */
export class NodeLink {
  readonly address: string;
  readonly subscriber: boolean;
  #o: NodeLinkOptions;
  #socket: TLSSocket | undefined;
  #scanner: ReplyScanner | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  #out: Buffer[] = [];
  #waiters: LinkWaiter[] = [];
  #head = 0;
  /** Waiters (from the head) whose commands have been written. */
  #written = 0;
  #paused = false;
  #closeError: Error | undefined;

  constructor(opts: NodeLinkOptions) {
    this.#o = opts;
    this.address = opts.address;
    this.subscriber = opts.subscriber;
    opts.open().then(
      (c) => this.#opened(c),
      (err: Error) => this.#closed(err),
    );
  }

  /** state is connecting, open or closed. */
  get state(): 'connecting' | 'open' | 'closed' {
    return this.#state;
  }

  /** pending counts the waiters still expecting a reply. */
  get pending(): number {
    return this.#waiters.length - this.#head;
  }

  /** send queues a command (one or more encoded requests) with its waiter; {@link flush} writes it. */
  send(bytes: Buffer, waiter: LinkWaiter): void {
    if (this.#state === 'closed') {
      const err = this.#closeError ?? new LinkError(`the connection to node ${this.address} is closed`, this.address);
      queueMicrotask(() => waiter.onFail(err, false));
      return;
    }
    this.#out.push(bytes);
    this.#waiters.push(waiter);
  }

  /** flush writes what was queued, in one write; false when the socket's buffer is full. */
  flush(): boolean {
    if (this.#state !== 'open' || this.#out.length === 0) return true;
    const out = this.#out;
    this.#out = EMPTY.slice();
    this.#written = this.#waiters.length - this.#head;
    return this.#socket!.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** onDrain calls fn once the socket's write buffer has drained. */
  onDrain(fn: () => void): void {
    if (this.#socket === undefined || this.#state !== 'open' || !this.#socket.writableNeedDrain) {
      queueMicrotask(fn);
      return;
    }
    this.#socket.once('drain', fn);
  }

  /** pauseReading stops reading replies (the client is not reading its own). */
  pauseReading(): void {
    this.#paused = true;
    this.#socket?.pause();
  }

  /** resumeReading reads replies again. */
  resumeReading(): void {
    this.#paused = false;
    if (this.#state === 'open') this.#socket?.resume();
  }

  /** close ends the connection; waiters still pending are failed. */
  close(reason = 'closed by the agent'): void {
    if (this.#state === 'closed') return;
    if (this.#socket !== undefined) {
      this.#closeError = new LinkError(`the connection to node ${this.address} was ${reason}`, this.address);
      this.#socket.destroy();
    } else {
      this.#closed(new LinkError(`the connection to node ${this.address} was ${reason}`, this.address));
    }
  }

  #opened(c: OpenedConnection): void {
    if (this.#state === 'closed' || this.#closeError !== undefined) {
      c.socket.destroy();
      return;
    }
    this.#socket = c.socket;
    this.#scanner = c.scanner;
    this.#state = 'open';
    const sock = c.socket;
    sock.on('data', this.#onData);
    sock.on('error', this.#onError);
    sock.once('close', () => this.#closed(this.#closeError ?? new LinkError(`the connection to node ${this.address} was lost`, this.address)));
    this.flush();
    // The setup may have read bytes past its replies.
    this.#drain();
    this.#o.onActivity();
    if (!this.#paused) sock.resume();
  }

  readonly #onError = (err: Error): void => {
    this.#closeError ??= new LinkError(`the connection to node ${this.address} failed: ${err.message}`, this.address);
  };

  readonly #onData = (chunk: Buffer): void => {
    this.#scanner!.push(chunk);
    this.#drain();
    this.#o.onActivity();
  };

  #drain(): void {
    const sc = this.#scanner!;
    let f: ReplyFrame | undefined;
    for (;;) {
      try {
        f = sc.next();
      } catch (err) {
        this.#closeError = new LinkError(`node ${this.address} sent invalid RESP: ${(err as Error).message}`, this.address);
        this.#socket?.destroy();
        return;
      }
      if (f === undefined) return;
      const w = this.#head < this.#waiters.length ? this.#waiters[this.#head]! : undefined;
      if (w === undefined || (f.push && !this.subscriber)) {
        this.#o.onOutOfBand(f, this);
        continue;
      }
      if (w.onFrame(f, this)) this.#shift();
    }
  }

  #shift(): void {
    this.#waiters[this.#head] = undefined as unknown as LinkWaiter;
    this.#head++;
    if (this.#written > 0) this.#written--;
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
  }

  #closed(err: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeError ??= err;
    const waiters = this.#waiters.slice(this.#head);
    const written = this.#written;
    this.#waiters = [];
    this.#head = 0;
    this.#written = 0;
    this.#out = [];
    for (let i = 0; i < waiters.length; i++) waiters[i]!.onFail(this.#closeError, i < written);
    this.#o.onClose(this, this.#closeError);
    this.#o.onActivity();
  }
}
