/**
 * util/duplex-pair: two connected in-memory Duplex streams (Node 20 has no stream.duplexPair).
 * What one end writes the other reads, with backpressure: a write completes only when the peer's
 * reader has room. Used to join an in-process agent to its own proxy without loopback TLS.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer!: End;
  /** The callback of this end's last write, released when the peer's reader wants more. */
  private pending: (() => void) | undefined;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.destroyed) {
      cb(new Error('the other end of the pair is closed'));
      return;
    }
    if (this.peer.push(chunk)) cb();
    else this.pending = () => cb();
  }

  override _read(): void {
    const release = this.peer.pending;
    if (release) {
      this.peer.pending = undefined;
      release();
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const release = this.pending;
    this.pending = undefined;
    release?.();
    if (!this.peer.destroyed) this.peer.destroy();
    cb(err);
  }
}

/** duplexPair returns two connected ends. */
export function duplexPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
