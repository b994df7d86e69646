/**
 * redis/reply-orderer: puts the replies a client gets in the order of its requests when some
 * come from Redis and some from the agent itself (denials, protocol errors), without re-encoding
 * any of them.
 *
 * It keeps a FIFO of what each request will be answered with: N upstream replies to forward, a
 * reply made locally, or an item that must read its upstream frames (pub/sub confirmations, a
 * swallowed reply). Upstream bytes are scanned for boundaries only; complete replies are
 * forwarded as views of the received chunks, a local reply is slotted in as soon as everything
 * before it has gone, and a large reply is streamed as it arrives (`takeReplies` partial mode).
 * RESP3 push frames answer nothing and pass through wherever they arrive.
 *
 * Output is collected, not written: the owner calls {@link ReplyOrderer.take} once per event and
 * writes the result with one call, so many pipelined replies cost one syscall.
 *
 * Pure: no sockets, no timers. Imports redis/resp only.
 */
import { ReplyScanner, type ReplyFrame, type ReplyScannerOptions } from './resp/index.js';

/**
 * FrameHandler reads the upstream frames of one pending item, one complete frame at a time (push
 * frames included), emits what the client should get, and returns true once the item is complete.
 */
export type FrameHandler = (frame: ReplyFrame, emit: (bytes: Buffer) => void) => boolean;

/** OutOfBand tells whether a frame answers no request (RESP2 pub/sub messages). */
export type OutOfBand = (frame: ReplyFrame) => boolean;

const FORWARD = 0;
const LOCAL = 1;
const FRAMES = 2;
const CLOSE = 3;

/** One pending answer. A single shape for every kind keeps property access monomorphic. */
interface Item {
  kind: number;
  /** FORWARD: replies still to forward. */
  left: number;
  bytes: Buffer | undefined;
  handler: FrameHandler | undefined;
  /** FORWARD: called with the type byte of each reply as it is forwarded (HELLO, MONITOR). */
  onType: ((type: number) => void) | undefined;
}

const ALL = Number.MAX_SAFE_INTEGER;

/**
 * ReplyOrderer is the reply path of one session: feed upstream chunks with {@link push}, declare
 * answers in request order with {@link forward}, {@link local}, {@link frames} and {@link close},
 * and collect the bytes to write with {@link take}.
 */
export class ReplyOrderer {
  readonly #scanner: ReplyScanner;
  #items: Item[] = [];
  #head = 0;
  #out: Buffer[] = [];
  #outBytes = 0;
  #pending = 0;
  #partialOpen = false;
  #outOfBand: OutOfBand | undefined;
  #passthrough = false;
  #closeReached = false;
  #unexpected = 0;
  readonly #types: number[] = [];
  readonly #emit = (b: Buffer): void => {
    if (b.length === 0) return;
    this.#out.push(b);
    this.#outBytes += b.length;
  };

  /**
   * The scanner may be handed over from the connection setup (it may hold bytes already); else
   * one is made with the given options.
   */
  constructor(opts: { scanner?: ReplyScanner; scannerOptions?: ReplyScannerOptions } = {}) {
    this.#scanner = opts.scanner ?? new ReplyScanner(opts.scannerOptions);
  }

  /** pendingReplies counts the upstream replies still expected (a frame-reading item counts one). */
  get pendingReplies(): number {
    return this.#pending;
  }

  /**
   * idle is true when nothing is pending and no reply has been half forwarded: an item that reads
   * frames itself may only start at such a boundary.
   */
  get idle(): boolean {
    return this.#head === this.#items.length && !this.#partialOpen;
  }

  /** closeReached is true once everything queued before {@link close} has been emitted. */
  get closeReached(): boolean {
    return this.#closeReached;
  }

  /** passthrough is true after {@link startPassthrough}: every upstream byte is forwarded as it comes. */
  get passthrough(): boolean {
    return this.#passthrough;
  }

  /** unexpectedReplies counts complete replies that arrived when none was pending (forwarded anyway). */
  get unexpectedReplies(): number {
    return this.#unexpected;
  }

  /** outputBytes is how many bytes {@link take} would return now. */
  get outputBytes(): number {
    return this.#outBytes;
  }

  /** forward declares that the next n upstream replies go to the client as they are. */
  forward(n = 1, onType?: (type: number) => void): void {
    if (this.#passthrough || n <= 0) return;
    this.#pending += n;
    const items = this.#items;
    const tail = items.length > this.#head ? items[items.length - 1]! : undefined;
    if (onType === undefined && tail !== undefined && tail.kind === FORWARD && tail.onType === undefined) {
      tail.left += n;
      return;
    }
    items.push({ kind: FORWARD, left: n, bytes: undefined, handler: undefined, onType });
  }

  /** local declares a reply made by the agent; it is emitted as soon as everything before it has been. */
  local(bytes: Buffer): void {
    if (this.#passthrough || this.#head === this.#items.length) {
      this.#emit(bytes);
      return;
    }
    this.#items.push({ kind: LOCAL, left: 0, bytes, handler: undefined, onType: undefined });
  }

  /**
   * frames declares an item whose upstream frames the handler reads one by one. Declare it only
   * when {@link idle}: a forwarded reply takes the push frames right behind it, and those may be
   * the very frames the handler is waiting for (RESP3 subscribe confirmations).
   */
  frames(handler: FrameHandler): void {
    if (this.#passthrough) return;
    this.#pending += 1;
    this.#items.push({ kind: FRAMES, left: 1, bytes: undefined, handler, onType: undefined });
  }

  /** close marks the end: once everything before it is emitted, {@link closeReached} turns true. */
  close(): void {
    if (this.#passthrough || this.#head === this.#items.length) {
      this.#closeReached = true;
      return;
    }
    this.#items.push({ kind: CLOSE, left: 0, bytes: undefined, handler: undefined, onType: undefined });
  }

  /**
   * setOutOfBand installs (or removes) the test for frames that answer nothing. While one is set,
   * every frame is looked at on its own, which is slower; the engine sets it only while a RESP2
   * connection is subscribed.
   */
  setOutOfBand(test: OutOfBand | undefined): void {
    this.#outOfBand = test;
  }

  /**
   * startPassthrough stops matching replies to requests (MONITOR's feed never ends): every
   * upstream byte is forwarded as it comes, local replies are emitted at once, and nothing is
   * pending any more. Queued local replies are emitted now, in order.
   */
  startPassthrough(): void {
    if (this.#passthrough) return;
    this.#passthrough = true;
    for (let i = this.#head; i < this.#items.length; i++) {
      const it = this.#items[i]!;
      if (it.kind === LOCAL) this.#emit(it.bytes!);
      else if (it.kind === CLOSE) this.#closeReached = true;
    }
    this.#items = [];
    this.#head = 0;
    this.#pending = 0;
  }

  /**
   * push feeds bytes read from upstream and emits whatever they complete. Throws the scanner's
   * RespProtocolError when Redis sends bytes that are not RESP; the session cannot continue.
   */
  push(chunk: Buffer): void {
    this.#scanner.push(chunk);
    this.process();
  }

  /** process emits what can be emitted now (after a state change such as setOutOfBand). */
  process(): void {
    const sc = this.#scanner;
    for (;;) {
      if (this.#passthrough) {
        const r = sc.takeReplies(ALL, { partial: true });
        for (const b of r.bytes) this.#emit(b);
        return;
      }
      const head = this.#head < this.#items.length ? this.#items[this.#head]! : undefined;
      if (this.#partialOpen && head !== undefined && (head.kind === LOCAL || head.kind === CLOSE)) {
        // A push frame is half out: finish it before anything else goes between its bytes.
        if (!this.#fast(undefined)) return;
        continue;
      }
      if (head !== undefined && head.kind === LOCAL) {
        this.#emit(head.bytes!);
        this.#shift();
        continue;
      }
      if (head !== undefined && head.kind === CLOSE) {
        this.#closeReached = true;
        this.#shift();
        return;
      }
      if (this.#partialOpen || (head?.kind !== FRAMES && this.#outOfBand === undefined)) {
        if (!this.#fast(head)) return;
        continue;
      }
      // Frame by frame: a frame handler at the head, or a subscribed RESP2 connection.
      const frame = sc.next();
      if (frame === undefined) return;
      if (head !== undefined && head.kind === FRAMES) {
        if (head.handler!(frame, this.#emit)) {
          this.#pending--;
          this.#shift();
        }
        continue;
      }
      this.#emit(frame.raw);
      if (frame.push || this.#outOfBand?.(frame) === true) continue;
      if (head === undefined) {
        this.#unexpected++;
        continue;
      }
      this.#pending--;
      if (--head.left === 0) this.#shift();
      head.onType?.(frame.type.charCodeAt(0));
    }
  }

  /**
   * fast forwards with takeReplies: many replies as a few slices, streaming a partial one.
   * Returns true when the loop should look at the queue again.
   */
  #fast(head: Item | undefined): boolean {
    const sc = this.#scanner;
    // A frame-reading head can only be reached here to finish a frame already half forwarded.
    const max = head !== undefined && head.kind === FORWARD ? head.left : 0;
    const types = head?.onType !== undefined ? this.#types : undefined;
    if (types !== undefined) types.length = 0;
    const r = sc.takeReplies(max, { partial: true, types });
    for (const b of r.bytes) this.#emit(b);
    this.#partialOpen = r.partial || (this.#partialOpen && r.replies + r.pushes === 0);
    if (r.replies > 0) {
      const item = head!;
      item.left -= r.replies;
      this.#pending -= r.replies;
      if (item.left === 0) this.#shift();
      // After the shift: a hook may change the queue (MONITOR starts pass-through).
      if (types !== undefined) for (const t of types) item.onType!(t);
      return true;
    }
    if (r.pushes > 0 && head !== undefined && head.kind !== FORWARD && !this.#partialOpen) return true;
    if (head === undefined && !this.#partialOpen && sc.bufferedBytes > 0) {
      // A reply nobody asked for (never seen from Redis): forward it rather than hand it to the next request.
      const f = sc.next();
      if (f !== undefined) {
        this.#emit(f.raw);
        if (!f.push) this.#unexpected++;
        return true;
      }
    }
    return false;
  }

  #shift(): void {
    const items = this.#items;
    items[this.#head] = undefined as unknown as Item;
    this.#head++;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** take returns the bytes to write to the client, in order, and forgets them; undefined when there are none. */
  take(): Buffer[] | undefined {
    if (this.#out.length === 0) return undefined;
    const out = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    return out;
  }
}
