/**
 * mux/stream: one stream of the multiplexer — a Duplex with half-close and credit-based flow
 * control (the rules are in mux/frame.ts). It talks to its connection only through
 * {@link StreamLink}, so it knows nothing of the socket, the framing buffers or the other streams.
 * Imports node, errors and mux/frame only.
 */
import { Duplex } from 'node:stream';
import { connectionProblem, messageOf } from '../errors.js';
import { FrameType, MAX_DATA_PAYLOAD, encodeOpenError, utf8Bounded } from './frame.js';

// Credit is returned in batches so a stream of small messages does not answer each one with a
// WINDOW frame; a sender is never starved because a fully drained buffer always exceeds this.
const CREDIT_BATCH_MAX = 32 * 1024;

/** @internal The mux side of a stream: what a {@link MuxStream} may ask of its connection. */
export interface StreamLink {
  readonly window: number;
  send(type: number, id: number, payload?: Uint8Array): void;
  sendWindow(id: number, credit: number): void;
  congested(): boolean;
  waitForDrain(stream: MuxStream): void;
  retire(stream: MuxStream): void;
}

type PendingWrite = { chunk: Buffer; off: number; cb: (err?: Error | null) => void };

/**
 * MuxStream is one bidirectional byte stream of a {@link Mux}: a Duplex with half-close (`end()`
 * sends END; the readable side ends when the peer's END arrives) and flow control. Destroying it
 * resets it at the peer.
 */
export class MuxStream extends Duplex {
  /** id is the stream id on the wire. */
  readonly id: number;
  /** header is the JSON header of the OPEN frame. */
  readonly header: unknown;

  readonly #link: StreamLink;
  // Send side.
  #canSend = false;
  #sendWindow = 0;
  #pending: PendingWrite | null = null;
  #finalCb: ((err?: Error | null) => void) | null = null;
  #localEnded = false;
  // Receive side: the peer may send up to #granted bytes in total.
  #granted = 0;
  #received = 0;
  #remoteEnded = false;
  // Lifecycle.
  #retired = false;
  #silent = false;
  #accepting: boolean;

  /** @internal Streams are made by {@link Mux}; use openStream or onStream. */
  constructor(link: StreamLink, id: number, header: unknown, accepting: boolean) {
    super({ allowHalfOpen: true, readableHighWaterMark: link.window, writableHighWaterMark: MAX_DATA_PAYLOAD });
    this.#link = link;
    this.id = id;
    this.header = header;
    this.#accepting = accepting;
    // A reset is routine (a user hung up, an agent restarted): it must not crash the process
    // when the owner has not attached an 'error' listener yet. Owners still see the error
    // through their own listeners, pipe/pipeline and `errored`.
    this.on('error', () => {});
  }

  /** @internal Grants the initial receive window (sent right behind OPEN or OPEN_OK). */
  grantInitial(): void {
    this.#granted = this.#link.window;
    this.#link.sendWindow(this.id, this.#link.window);
  }

  /** @internal The stream may now send: OPEN_OK went out (acceptor) or came in (opener). */
  markOpen(): void {
    this.#accepting = false;
    this.#canSend = true;
    this.pump();
    this.#maybeSendEnd();
  }

  /** @internal WINDOW from the peer. */
  addCredit(credit: number): void {
    this.#sendWindow += credit;
    this.pump();
  }

  /** @internal DATA from the peer; returns false when the peer overran its credit. */
  receive(payload: Buffer): boolean {
    if (this.#remoteEnded) return false;
    if (this.#received + payload.length > this.#granted) return false;
    this.#received += payload.length;
    if (this.destroyed) return true;
    this.push(payload);
    this.#grant(false);
    return true;
  }

  /** @internal END from the peer. */
  receiveEnd(): void {
    if (this.#remoteEnded) return;
    this.#remoteEnded = true;
    if (!this.destroyed) this.push(null);
    this.#maybeRetire();
  }

  /** @internal RESET / OPEN_ERR from the peer, or the mux closing: tear down without answering. */
  abort(err: Error): void {
    this.#silent = true;
    this.destroy(err);
  }

  /** bufferedIn is what was received but not yet read by the consumer. */
  get bufferedIn(): number {
    return this.readableLength;
  }

  /** @internal Sends as much of the pending write as credit and the connection allow. */
  pump(): void {
    const p = this.#pending;
    if (!p || !this.#canSend || this.destroyed) return;
    while (p.off < p.chunk.length) {
      if (this.#sendWindow <= 0) return;
      if (this.#link.congested()) {
        this.#link.waitForDrain(this);
        return;
      }
      const n = Math.min(p.chunk.length - p.off, this.#sendWindow, MAX_DATA_PAYLOAD);
      this.#link.send(FrameType.DATA, this.id, p.chunk.subarray(p.off, p.off + n));
      p.off += n;
      this.#sendWindow -= n;
    }
    this.#pending = null;
    p.cb();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending = { chunk, off: 0, cb };
    this.pump();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finalCb = cb;
    this.#maybeSendEnd();
  }

  override _read(): void {
    // Not forced: Node calls _read after every push in flowing mode, and a forced grant answered
    // each small DATA frame with a WINDOW frame (2 frames out per message; bench/MUX-VS-HTTP2.md).
    // A drained buffer with the peer out of credit always owes a full window, above the batch
    // threshold, so the peer is never starved.
    this.#grant(false);
  }

  // Reads are where the consumer frees buffer space, so credit is returned here too (_read
  // alone is not called again until the next push, which may never come if the peer is out of
  // credit).
  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk = super.read(size);
    this.#grant(false);
    return chunk;
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#pending = null;
    this.#finalCb = null;
    if (!this.#silent && !this.#retired) {
      const reason = err ? messageOf(err) : 'stream closed';
      if (this.#accepting) this.#link.send(FrameType.OPEN_ERR, this.id, encodeOpenError(err ?? connectionProblem(reason)));
      else this.#link.send(FrameType.RESET, this.id, utf8Bounded(reason));
    }
    this.#retired = true;
    this.#link.retire(this);
    cb(err);
  }

  #maybeSendEnd(): void {
    const cb = this.#finalCb;
    if (!cb || !this.#canSend) return;
    this.#finalCb = null;
    this.#localEnded = true;
    this.#link.send(FrameType.END, this.id);
    this.#maybeRetire();
    cb();
  }

  /** #grant returns credit for what the consumer has read (all of it when forced). */
  #grant(force: boolean): void {
    if (this.#remoteEnded || this.#retired || this.#granted === 0) return;
    const consumed = this.#received - this.readableLength;
    const credit = consumed + this.#link.window - this.#granted;
    if (credit <= 0) return;
    if (!force && credit < Math.min(this.#link.window >>> 2, CREDIT_BATCH_MAX)) return;
    this.#granted += credit;
    this.#link.sendWindow(this.id, credit);
  }

  #maybeRetire(): void {
    if (this.#localEnded && this.#remoteEnded && !this.#retired) {
      this.#retired = true;
      this.#link.retire(this);
    }
  }
}
