/**
 * resp/chunked-input: the byte queue under both RESP decoders.
 *
 * Socket chunks are kept as they arrive (never joined on push). A decoder walks them with a scan
 * cursor and a resumable state machine, so a frame that spans chunks is scanned once, however it
 * was split. A frame's bytes are handed out as a view of its chunk when it lies in one chunk, and
 * copied exactly once, when it completes, when it spans several: that keeps the cost linear in the
 * input, whatever the chunk sizes.
 */

/** DecoderStats counts the work a decoder has done; tests use it to prove linear behaviour. */
export interface DecoderStats {
  /** Bytes examined by the state machine (bulk bodies are skipped, not examined). */
  scanned: number;
  /** Bytes skipped as bulk bodies after their length was read. */
  skipped: number;
  /** Bytes copied to join frames that spanned chunks. */
  copied: number;
  /** Bytes consumed without producing a frame (empty inline lines, `*0`, `*-1`). */
  ignored: number;
}

/**
 * ChunkedInput holds pushed chunks and the two cursors a decoder needs: the start of the frame in
 * progress (`fc`/`fo`: chunk index and offset) and the scan position (`sc`/`so`). `base` is the
 * offset of `chunks[sc][0]` relative to the frame start, so `base + i` is the frame-relative
 * offset of `chunks[sc][i]` without summing chunk lengths.
 */
export abstract class ChunkedInput {
  protected chunks: Buffer[] = [];
  protected fc = 0;
  protected fo = 0;
  protected sc = 0;
  protected so = 0;
  protected base = 0;
  private pushedBytes = 0;
  private consumedBytes = 0;
  protected readonly counters: DecoderStats = { scanned: 0, skipped: 0, copied: 0, ignored: 0 };
  /** The protocol error that ended the stream; set, every call rethrows it. */
  protected failure: Error | undefined;

  /**
   * push appends a chunk read from the socket. The chunk is kept by reference, not copied: the
   * caller must not modify it afterwards (socket chunks are fresh buffers, so this is free).
   * After a protocol error chunks are dropped: the stream cannot be decoded any more.
   */
  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.failure !== undefined) return;
    this.chunks.push(chunk);
    this.pushedBytes += chunk.length;
  }

  /** bufferedBytes is how many pushed bytes have not been consumed yet; use it for backpressure. */
  get bufferedBytes(): number {
    return this.pushedBytes - this.consumedBytes;
  }

  /** stats returns a snapshot of the work counters. */
  get stats(): DecoderStats {
    // `counters.scanned` counts every byte the cursor passed; skipped bodies are reported apart.
    return { ...this.counters, scanned: this.counters.scanned - this.counters.skipped };
  }

  /** startFrame marks `chunks[sc][i]` as the first byte of a new frame. */
  protected startFrame(i: number): void {
    this.fc = this.sc;
    this.fo = i;
    this.base = -i;
  }

  /** nextChunk moves the scan cursor to the start of the next chunk; false when there is none. */
  protected nextChunk(): boolean {
    if (this.sc + 1 >= this.chunks.length) return false;
    this.base += this.chunks[this.sc]!.length;
    this.sc++;
    this.so = 0;
    return true;
  }

  /** frameBytes returns the bytes from the frame start to the scan cursor as one buffer. */
  protected frameBytes(): Buffer {
    const { chunks, fc, fo, sc, so } = this;
    const first = chunks[fc]!;
    if (fc === sc) return fo === 0 && so === first.length ? first : first.subarray(fo, so);
    const len = this.base + so;
    const out = Buffer.allocUnsafe(len);
    let at = first.copy(out, 0, fo);
    for (let c = fc + 1; c < sc; c++) at += chunks[c]!.copy(out, at);
    chunks[sc]!.copy(out, at, 0, so);
    this.counters.copied += len;
    return out;
  }

  /** sliceRange appends views of the bytes between two cursors to out, one per chunk touched. */
  protected sliceRange(c0: number, o0: number, c1: number, o1: number, out: Buffer[]): number {
    const chunks = this.chunks;
    let total = 0;
    for (let c = c0; c <= c1; c++) {
      const buf = chunks[c]!;
      const from = c === c0 ? o0 : 0;
      const to = c === c1 ? o1 : buf.length;
      if (to <= from) continue;
      out.push(from === 0 && to === buf.length ? buf : buf.subarray(from, to));
      total += to - from;
    }
    return total;
  }

  /**
   * consumeFrame moves the frame start to the scan cursor (the frame's bytes are now the
   * caller's) and, unless told not to, forgets chunks that are entirely consumed.
   */
  protected consumeFrame(compact = true): void {
    this.consumedBytes += this.base + this.so;
    this.fc = this.sc;
    this.fo = this.so;
    this.base = -this.so;
    if (compact) this.compact();
  }

  /** compact drops fully consumed chunks so they can be garbage collected. */
  protected compact(): void {
    const chunks = this.chunks;
    if (this.fc === chunks.length - 1 && this.fo === chunks[this.fc]!.length) {
      this.chunks = [];
      this.fc = this.sc = this.fo = this.so = this.base = 0;
    } else if (this.fc > 0) {
      chunks.splice(0, this.fc);
      this.sc -= this.fc;
      this.fc = 0;
    }
  }
}

/**
 * coalesceSlices merges neighbouring views of the same memory into one view, so a forwarder can
 * write the `raw` bytes of many pipelined frames with one call. It returns a new array.
 */
export function coalesceSlices(bufs: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let cur: Buffer | undefined;
  for (const b of bufs) {
    if (b.length === 0) continue;
    if (cur !== undefined && cur.buffer === b.buffer && cur.byteOffset + cur.length === b.byteOffset) {
      cur = Buffer.from(cur.buffer, cur.byteOffset, cur.length + b.length);
      out[out.length - 1] = cur;
    } else {
      cur = b;
      out.push(b);
    }
  }
  return out;
}
