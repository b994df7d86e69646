/**
 * mux/session: many byte streams over one connection — the wire protocol of the agents' reverse
 * tunnel and of xsh's tunnel to the proxy. Protocol-agnostic: imports only errors and node.
 *
 * An agent keeps ONE outbound TLS connection to the proxy; every user session is a stream on it.
 * The wire format (frame layout, types, limits, violations) is written down in mux/frame.ts.
 * Frames are `[type u8][streamId u32][length u32][payload]` (big-endian). Stream frames: OPEN
 * (JSON header), OPEN_OK, OPEN_ERR (JSON `{message, kind?, hint?}`, or plain UTF-8), DATA, WINDOW
 * (u32 credit), END (half-close), RESET (UTF-8 reason). Connection frames (streamId 0): CONTROL
 * (JSON object) for the agent's hello and heartbeats, PING/PONG (8 opaque bytes) for liveness.
 *
 * Flow control is credit based, per stream: a side may send only as many DATA bytes as its peer
 * granted. Each side grants its receive window in a WINDOW frame right behind OPEN / OPEN_OK
 * (so no round trip is added) and grants more as its consumer reads, so a stream nobody reads
 * holds at most one window in memory and never stalls its neighbours. On the sending side a
 * connection-wide bound (`maxBufferedBytes`) pauses writers while the socket is backed up.
 *
 * Throughput (platform-notes: syscalls and TLS records dominate): frames queued during one turn
 * of the event loop leave in ONE socket write, flushed from `setImmediate`; incoming chunks are
 * parsed in place with a cursor and DATA reaches streams as subarrays — bytes are copied only
 * when a frame straddles two chunks.
 *
 * This file holds the connection (Mux: framing, ids, opens, flush, liveness); mux/stream.ts
 * holds a stream. Imports node built-ins, errors and mux/ only: it knows nothing of agents,
 * databases or TLS, and must not import the rest of proxy, service or cli.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { connectionProblem, limitExceeded } from '../errors.js';
import {
  DEFAULT_STREAM_WINDOW,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_DATA_PAYLOAD,
  MAX_REASON_BYTES,
  MAX_STREAM_ID,
  PING_BYTES,
  decodeOpenError,
  encodeOpenError,
} from './frame.js';
import { MuxStream, type StreamLink } from './stream.js';

/** MuxOptions tunes a {@link Mux}. Both sides may use different values. */
export interface MuxOptions {
  /**
   * Which stream ids this side allocates. The two sides must differ; the proxy (which opens the
   * streams) uses `odd`, the agent `even`.
   */
  localIds?: 'odd' | 'even';
  /** Receive window granted per stream, bytes (256 KiB). */
  streamWindow?: number;
  /**
   * Frames queued for the next write above which writers pause (1 MiB); writers also pause
   * while the socket itself asks for a drain, so buffered output stays under this plus the
   * socket's own high-water mark.
   */
  maxBufferedBytes?: number;
  /** Concurrent streams the peer may open (10,000); more are refused with OPEN_ERR. */
  maxStreams?: number;
  /** Largest OPEN header or CONTROL message, bytes (1 MiB). */
  maxControlBytes?: number;
  /** How long {@link Mux.openStream} waits for OPEN_OK by default (10 s). */
  openTimeoutMs?: number;
  /** Send a PING when nothing arrived for this long; 0 disables (default). */
  keepAliveMs?: number;
  /** Close the mux when nothing arrived for this long (3 × keepAliveMs; 0 = never). */
  idleTimeoutMs?: number;
  /** Names the peer in error messages, e.g. `agent db-1` or `proxy 10.0.0.1:3080`. */
  peerName?: string;
}

/** MuxStats are counters for logs, tests and `xctl status`. */
export interface MuxStats {
  /** Streams currently open. */
  streams: number;
  streamsOpened: number;
  streamsAccepted: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Writes to the underlying connection (each carries every frame queued in one tick). */
  writes: number;
  /** Outgoing bytes not yet handed to the kernel: queued frames plus the socket's buffer. */
  bufferedOut: number;
  /** Received DATA bytes that stream consumers have not read yet, over all streams. */
  bufferedIn: number;
  /** Round-trip time of the last PING, if one was answered. */
  rttMs?: number;
}

/** StreamHandler accepts an incoming stream by returning (or resolving); throwing refuses it. */
export type StreamHandler = (stream: MuxStream, header: unknown) => void | Promise<void>;

type PendingOpen = {
  stream: MuxStream;
  resolve: (s: MuxStream) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
};

/**
 * Mux multiplexes {@link MuxStream}s over one Duplex (the agent's TLS connection). It owns the
 * socket: closing the mux ends it, and the socket ending closes the mux. Emits `'close'` once,
 * with the error that closed it (none when {@link Mux.close} was called without one), and
 * `'control'` for each CONTROL message.
 */
export class Mux extends EventEmitter {
  readonly #socket: Duplex;
  readonly #opts: Required<Omit<MuxOptions, 'localIds' | 'peerName'>>;
  readonly #peer: string;
  readonly #streams = new Map<number, MuxStream>();
  readonly #opens = new Map<number, PendingOpen>();
  readonly #blocked = new Set<MuxStream>();
  readonly #link: StreamLink;
  #nextId: number;
  #lastPeerId = 0;
  #handler: StreamHandler | undefined;
  #closed = false;
  #closeError: Error | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #lastRecv = performance.now();

  // Outgoing frames waiting for this tick's flush: filled chunks plus the one being filled.
  #outChunks: Buffer[] = [];
  #out: Buffer | null = null;
  #outLen = 0;
  #queued = 0;
  #flushScheduled = false;

  // A frame that straddles socket chunks.
  readonly #hdr = Buffer.alloc(FRAME_HEADER_BYTES);
  #hdrLen = 0;
  #partial: Buffer | null = null;
  #partialLen = 0;
  #partialType = 0;
  #partialId = 0;

  #stats = { streamsOpened: 0, streamsAccepted: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, writes: 0 };
  #rttMs: number | undefined;

  constructor(socket: Duplex, opts: MuxOptions = {}) {
    super();
    this.#socket = socket;
    const keepAliveMs = opts.keepAliveMs ?? 0;
    this.#opts = {
      streamWindow: positive(opts.streamWindow ?? DEFAULT_STREAM_WINDOW, 'streamWindow'),
      maxBufferedBytes: positive(opts.maxBufferedBytes ?? 1024 * 1024, 'maxBufferedBytes'),
      maxStreams: positive(opts.maxStreams ?? 10_000, 'maxStreams'),
      maxControlBytes: positive(opts.maxControlBytes ?? 1024 * 1024, 'maxControlBytes'),
      openTimeoutMs: opts.openTimeoutMs ?? 10_000,
      keepAliveMs,
      idleTimeoutMs: opts.idleTimeoutMs ?? keepAliveMs * 3,
    };
    if (this.#opts.streamWindow > MAX_STREAM_ID) throw new RangeError('streamWindow must fit in 32 bits');
    this.#peer = opts.peerName ?? 'peer';
    this.#nextId = opts.localIds === 'even' ? 2 : 1;
    const self = this;
    this.#link = {
      window: this.#opts.streamWindow,
      send: (type, id, payload) => self.#send(type, id, payload),
      sendWindow: (id, credit) => self.#sendU32(FrameType.WINDOW, id, credit),
      congested: () => self.#congested(),
      waitForDrain: (stream) => self.#blocked.add(stream),
      retire: (stream) => self.#retire(stream),
    };
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('end', () => this.close(connectionProblem(`${this.#peer} closed the tunnel`)));
    socket.on('error', (err: Error) =>
      this.close(connectionProblem(`tunnel to ${this.#peer} failed: ${err.message}`, { cause: err })),
    );
    socket.on('close', () => this.close(connectionProblem(`tunnel to ${this.#peer} closed`)));
    if (keepAliveMs > 0) {
      this.#keepAlive = setInterval(() => this.#checkAlive(), keepAliveMs);
      this.#keepAlive.unref();
    }
    // A connection that died before we were handed it will not emit 'close' again.
    if (socket.destroyed) queueMicrotask(() => this.close(connectionProblem(`tunnel to ${this.#peer} closed`)));
  }

  /** closed tells whether the mux has closed (no more streams can be opened). */
  get closed(): boolean {
    return this.#closed;
  }

  /** closeError is why the mux closed, if it closed on an error. */
  get closeError(): Error | undefined {
    return this.#closeError;
  }

  /**
   * openStream asks the peer for a new stream carrying header (a JSON object). It resolves with
   * the stream once the peer accepts, and rejects with the peer's refusal (an XError of the kind
   * the peer gave), on timeout, or when the mux closes first.
   */
  openStream(header: object, opts: { timeoutMs?: number } = {}): Promise<MuxStream> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#nextId > MAX_STREAM_ID) {
      return Promise.reject(limitExceeded(`tunnel to ${this.#peer} has used up its stream ids`, { hint: 'Reconnect the agent.' }));
    }
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    if (json.length > this.#opts.maxControlBytes) {
      return Promise.reject(limitExceeded(`stream header of ${json.length} bytes exceeds the ${this.#opts.maxControlBytes}-byte limit`));
    }
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new MuxStream(this.#link, id, header, false);
    this.#streams.set(id, stream);
    this.#stats.streamsOpened++;
    this.#send(FrameType.OPEN, id, json);
    stream.grantInitial();
    const timeoutMs = opts.timeoutMs ?? this.#opts.openTimeoutMs;
    return new Promise<MuxStream>((resolve, reject) => {
      const pending: PendingOpen = { stream, resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        pending.timer = setTimeout(() => {
          this.#opens.delete(id);
          const err = connectionProblem(`${this.#peer} did not answer a stream open within ${timeoutMs} ms`);
          stream.destroy(err); // tells the peer to drop the half-opened stream
          reject(err);
        }, timeoutMs);
      }
      this.#opens.set(id, pending);
    });
  }

  /**
   * onStream sets the handler for streams the peer opens. The stream is accepted (OPEN_OK) when
   * the handler returns or its promise resolves; a throw or rejection refuses it with the error's
   * message and kind. Without a handler every open is refused.
   */
  onStream(handler: StreamHandler): void {
    this.#handler = handler;
  }

  /**
   * sendControl sends a connection-level JSON message (hello, heartbeat). It throws
   * limitExceeded when the message is bigger than `maxControlBytes`.
   */
  sendControl(msg: object): void {
    if (this.#closed) return;
    const json = Buffer.from(JSON.stringify(msg), 'utf8');
    if (json.length > this.#opts.maxControlBytes) {
      throw limitExceeded(`control message of ${json.length} bytes exceeds the ${this.#opts.maxControlBytes}-byte limit`);
    }
    this.#send(FrameType.CONTROL, 0, json);
  }

  /** onControl subscribes to the peer's CONTROL messages. */
  onControl(handler: (msg: Record<string, unknown>) => void): void {
    this.on('control', handler);
  }

  /** ping sends a PING; the answer updates {@link MuxStats.rttMs}. */
  ping(): void {
    if (this.#closed) return;
    const payload = Buffer.allocUnsafe(PING_BYTES);
    payload.writeDoubleBE(performance.now());
    this.#send(FrameType.PING, 0, payload);
  }

  /** stats returns the counters. */
  stats(): MuxStats {
    let bufferedIn = 0;
    for (const s of this.#streams.values()) bufferedIn += s.bufferedIn;
    const out: MuxStats = {
      streams: this.#streams.size,
      ...this.#stats,
      bufferedOut: this.#queued + this.#socket.writableLength,
      bufferedIn,
    };
    if (this.#rttMs !== undefined) out.rttMs = this.#rttMs;
    return out;
  }

  /**
   * close shuts the mux: open streams are destroyed with err (or "tunnel closed"), pending opens
   * reject. Without err, queued frames are flushed and the connection is ended politely;
   * with err it is destroyed.
   */
  close(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err;
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    const streamErr = err ?? connectionProblem(`tunnel to ${this.#peer} closed`);
    for (const p of this.#opens.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(streamErr);
    }
    this.#opens.clear();
    for (const s of [...this.#streams.values()]) s.abort(streamErr);
    this.#streams.clear();
    this.#blocked.clear();
    if (err) {
      this.#socket.destroy();
    } else {
      this.#flush();
      this.#socket.end();
      // A peer that never closes its side must not keep the socket forever.
      setTimeout(() => this.#socket.destroy(), 5_000).unref();
    }
    this.emit('close', err);
  }

  // ─── Outgoing ────────────────────────────────────────────────────────────────────────────

  #closedError(): Error {
    return this.#closeError ?? connectionProblem(`tunnel to ${this.#peer} is closed`);
  }

  // Both conditions end in an event that resumes the writers: a queue over the bound has a
  // flush scheduled, and a socket that needs a drain will emit 'drain'.
  #congested(): boolean {
    return this.#queued >= this.#opts.maxBufferedBytes || this.#socket.writableNeedDrain;
  }

  /** #reserve returns a buffer with room for n bytes at #outLen. */
  #reserve(n: number): Buffer {
    const out = this.#out;
    if (out && this.#outLen + n <= out.length) return out;
    if (out && this.#outLen > 0) this.#outChunks.push(out.subarray(0, this.#outLen));
    // Small first chunk for chatty traffic; bigger ones once a burst is under way.
    const size = Math.max(n, this.#outChunks.length === 0 ? 16 * 1024 : 256 * 1024);
    this.#out = Buffer.allocUnsafe(size);
    this.#outLen = 0;
    return this.#out;
  }

  #send(type: number, id: number, payload?: Uint8Array): void {
    if (this.#closed) return;
    const len = payload ? payload.length : 0;
    const n = FRAME_HEADER_BYTES + len;
    const out = this.#reserve(n);
    let o = this.#outLen;
    out[o] = type;
    out.writeUInt32BE(id, o + 1);
    out.writeUInt32BE(len, o + 5);
    o += FRAME_HEADER_BYTES;
    if (payload) out.set(payload, o);
    this.#outLen = o + len;
    this.#queued += n;
    this.#stats.framesOut++;
    this.#scheduleFlush();
  }

  #sendU32(type: number, id: number, value: number): void {
    if (this.#closed) return;
    const out = this.#reserve(FRAME_HEADER_BYTES + 4);
    const o = this.#outLen;
    out[o] = type;
    out.writeUInt32BE(id, o + 1);
    out.writeUInt32BE(4, o + 5);
    out.writeUInt32BE(value, o + 9);
    this.#outLen = o + FRAME_HEADER_BYTES + 4;
    this.#queued += FRAME_HEADER_BYTES + 4;
    this.#stats.framesOut++;
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // setImmediate rather than a microtask: every I/O callback of this poll phase (many
    // sockets' data events) gets to add frames before the single write.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queued === 0) return;
    const last = this.#out ? this.#out.subarray(0, this.#outLen) : Buffer.alloc(0);
    const chunks = this.#outChunks;
    const buf = chunks.length === 0 ? last : Buffer.concat([...chunks, last], this.#queued);
    // A partly used buffer keeps accepting frames after the write: the socket only reads the
    // subarray it was handed, so reuse the tail instead of allocating a new one per tick.
    if (this.#out && this.#outLen < this.#out.length - 1024) {
      this.#out = this.#out.subarray(this.#outLen);
    } else this.#out = null;
    this.#outLen = 0;
    this.#outChunks = [];
    this.#queued = 0;
    if (this.#socket.destroyed) return;
    this.#stats.writes++;
    this.#stats.bytesOut += buf.length;
    // When the socket takes the bytes without asking for a drain, writers paused by a full
    // queue can go on now; otherwise 'drain' resumes them.
    if (this.#socket.write(buf) && this.#blocked.size > 0) this.#onDrain();
  }

  #onDrain(): void {
    if (this.#blocked.size === 0) return;
    const blocked = [...this.#blocked];
    this.#blocked.clear();
    for (const s of blocked) {
      if (this.#congested()) {
        this.#blocked.add(s);
        continue;
      }
      s.pump();
    }
  }

  // ─── Incoming ────────────────────────────────────────────────────────────────────────────

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#stats.bytesIn += chunk.length;
    this.#lastRecv = performance.now();
    let off = 0;
    if (this.#hdrLen > 0) {
      off = this.#fillPartial(chunk, 0);
      if (off < 0) return;
    }
    const end = chunk.length;
    while (!this.#closed && end - off >= FRAME_HEADER_BYTES) {
      const type = chunk[off]!;
      const id = chunk.readUInt32BE(off + 1);
      const len = chunk.readUInt32BE(off + 5);
      if (!this.#checkHeader(type, id, len)) return;
      const start = off + FRAME_HEADER_BYTES;
      if (end - start < len) break;
      off = start + len;
      this.#dispatch(type, id, chunk.subarray(start, off));
    }
    if (!this.#closed && off < end) this.#fillPartial(chunk, off);
  }

  /**
   * #fillPartial copies bytes from chunk[off..] into the straddling frame; it dispatches the frame
   * when complete and returns where the rest of chunk starts, or -1 when chunk was used up.
   */
  #fillPartial(chunk: Buffer, off: number): number {
    if (this.#hdrLen < FRAME_HEADER_BYTES) {
      const n = Math.min(FRAME_HEADER_BYTES - this.#hdrLen, chunk.length - off);
      chunk.copy(this.#hdr, this.#hdrLen, off, off + n);
      this.#hdrLen += n;
      off += n;
      if (this.#hdrLen < FRAME_HEADER_BYTES) return -1;
      const type = this.#hdr[0]!;
      const id = this.#hdr.readUInt32BE(1);
      const len = this.#hdr.readUInt32BE(5);
      if (!this.#checkHeader(type, id, len)) return -1;
      this.#partialType = type;
      this.#partialId = id;
      this.#partial = Buffer.allocUnsafe(len);
      this.#partialLen = 0;
    }
    const partial = this.#partial!;
    const n = Math.min(partial.length - this.#partialLen, chunk.length - off);
    chunk.copy(partial, this.#partialLen, off, off + n);
    this.#partialLen += n;
    off += n;
    if (this.#partialLen < partial.length) return -1;
    this.#hdrLen = 0;
    this.#partial = null;
    this.#dispatch(this.#partialType, this.#partialId, partial);
    return this.#closed ? -1 : off;
  }

  /** #checkHeader validates a frame header before its payload is buffered (bounds memory). */
  #checkHeader(type: number, id: number, len: number): boolean {
    let max: number;
    let connection = false;
    switch (type) {
      case FrameType.DATA:
        max = MAX_DATA_PAYLOAD;
        break;
      case FrameType.OPEN:
        max = this.#opts.maxControlBytes;
        break;
      case FrameType.OPEN_OK:
      case FrameType.END:
        max = 0;
        break;
      case FrameType.WINDOW:
        if (len !== 4) return this.#protocolError(`WINDOW frame with a ${len}-byte payload`);
        max = 4;
        break;
      case FrameType.OPEN_ERR:
      case FrameType.RESET:
        max = MAX_REASON_BYTES;
        break;
      case FrameType.CONTROL:
        max = this.#opts.maxControlBytes;
        connection = true;
        break;
      case FrameType.PING:
      case FrameType.PONG:
        if (len !== PING_BYTES) return this.#protocolError(`PING/PONG frame with a ${len}-byte payload`);
        max = PING_BYTES;
        connection = true;
        break;
      default:
        return this.#protocolError(`unknown frame type ${type}`);
    }
    if (len > max) return this.#protocolError(`frame of type ${type} with a ${len}-byte payload (limit ${max})`);
    if (connection !== (id === 0)) {
      return this.#protocolError(connection ? `connection frame of type ${type} on stream ${id}` : `stream frame of type ${type} on stream 0`);
    }
    return true;
  }

  #protocolError(detail: string): false {
    this.close(connectionProblem(`tunnel protocol error from ${this.#peer}: ${detail}`));
    return false;
  }

  #dispatch(type: number, id: number, payload: Buffer): void {
    this.#stats.framesIn++;
    switch (type) {
      case FrameType.DATA: {
        const s = this.#streams.get(id);
        if (!s) return void this.#checkKnown(id, 'DATA');
        if (!s.receive(payload)) this.#protocolError(`stream ${id} sent more than its window or after END`);
        return;
      }
      case FrameType.WINDOW: {
        const s = this.#streams.get(id);
        if (!s) return void this.#checkKnown(id, 'WINDOW');
        s.addCredit(payload.readUInt32BE(0));
        return;
      }
      case FrameType.END: {
        const s = this.#streams.get(id);
        if (!s) return void this.#checkKnown(id, 'END');
        s.receiveEnd();
        return;
      }
      case FrameType.OPEN:
        return this.#onOpen(id, payload);
      case FrameType.OPEN_OK: {
        const p = this.#opens.get(id);
        if (!p) return void this.#checkKnown(id, 'OPEN_OK');
        this.#opens.delete(id);
        if (p.timer) clearTimeout(p.timer);
        p.stream.markOpen();
        p.resolve(p.stream);
        return;
      }
      case FrameType.OPEN_ERR: {
        const p = this.#opens.get(id);
        if (!p) return void this.#checkKnown(id, 'OPEN_ERR');
        this.#opens.delete(id);
        if (p.timer) clearTimeout(p.timer);
        const err = decodeOpenError(payload);
        p.stream.abort(err);
        p.reject(err);
        return;
      }
      case FrameType.RESET: {
        const reason = payload.toString('utf8');
        const err = connectionProblem(`stream reset by ${this.#peer}: ${reason}`);
        const p = this.#opens.get(id);
        if (p) {
          this.#opens.delete(id);
          if (p.timer) clearTimeout(p.timer);
          p.reject(err);
        }
        this.#streams.get(id)?.abort(err);
        return;
      }
      case FrameType.CONTROL: {
        let msg: unknown;
        try {
          msg = JSON.parse(payload.toString('utf8'));
        } catch {
          return void this.#protocolError('CONTROL frame is not JSON');
        }
        if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
          return void this.#protocolError('CONTROL message is not a JSON object');
        }
        this.emit('control', msg);
        return;
      }
      case FrameType.PING:
        this.#send(FrameType.PONG, 0, payload);
        return;
      case FrameType.PONG:
        this.#rttMs = performance.now() - payload.readDoubleBE(0);
        return;
    }
  }

  /**
   * #checkKnown accepts a frame for a stream that no longer exists (it raced a RESET or a
   * timeout) but refuses one for an id never used, which only a broken peer sends.
   */
  #checkKnown(id: number, what: string): void {
    const local = (id & 1) === (this.#nextId & 1);
    const used = local ? id < this.#nextId : id <= this.#lastPeerId;
    if (!used) this.#protocolError(`${what} for stream ${id}, which was never opened`);
  }

  #onOpen(id: number, payload: Buffer): void {
    if ((id & 1) === (this.#nextId & 1)) return void this.#protocolError(`peer opened stream ${id} with our id parity`);
    if (id <= this.#lastPeerId) return void this.#protocolError(`peer reused stream id ${id}`);
    this.#lastPeerId = id;
    let header: unknown;
    try {
      header = JSON.parse(payload.toString('utf8'));
    } catch {
      return void this.#protocolError(`OPEN header of stream ${id} is not JSON`);
    }
    const handler = this.#handler;
    if (!handler) return this.#send(FrameType.OPEN_ERR, id, encodeOpenError(connectionProblem('this side accepts no streams')));
    if (this.#streams.size >= this.#opts.maxStreams) {
      return this.#send(FrameType.OPEN_ERR, id, encodeOpenError(limitExceeded(`too many streams on this tunnel (limit ${this.#opts.maxStreams})`)));
    }
    const stream = new MuxStream(this.#link, id, header, true);
    this.#streams.set(id, stream);
    this.#stats.streamsAccepted++;
    const accept = () => {
      if (stream.destroyed || this.#closed) return;
      this.#send(FrameType.OPEN_OK, id);
      stream.grantInitial();
      stream.markOpen();
    };
    const refuse = (err: unknown) => {
      if (stream.destroyed || this.#closed) return;
      stream.destroy(err instanceof Error ? err : new Error(String(err))); // sends OPEN_ERR while accepting
    };
    let result: void | Promise<void>;
    try {
      result = handler(stream, header);
    } catch (err) {
      return refuse(err);
    }
    if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(accept, refuse);
    else accept();
  }

  #retire(stream: MuxStream): void {
    if (this.#streams.get(stream.id) === stream) this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    const p = this.#opens.get(stream.id);
    if (p && p.stream === stream) {
      this.#opens.delete(stream.id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(stream.errored ?? connectionProblem('stream closed before it opened'));
    }
  }

  #checkAlive(): void {
    if (this.#closed) return;
    const idle = performance.now() - this.#lastRecv;
    if (this.#opts.idleTimeoutMs > 0 && idle >= this.#opts.idleTimeoutMs) {
      this.close(connectionProblem(`${this.#peer} stopped answering (nothing received for ${Math.round(idle)} ms)`));
      return;
    }
    if (idle >= this.#opts.keepAliveMs) this.ping();
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`MuxOptions.${name} must be a positive integer`);
  return n;
}
