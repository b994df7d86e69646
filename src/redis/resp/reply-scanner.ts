/**
 * resp/reply-scanner: finds where each server reply ends in the byte stream from Redis, for every
 * RESP2 and RESP3 type, without decoding values. The agent forwards replies unchanged; it only
 * needs the boundaries to match replies to pipelined requests, to slot in replies it makes itself
 * in request order, and to tell out-of-band push frames apart.
 *
 * Framing rules: an attribute (`|`) belongs to the value it annotates (it never forms a frame on
 * its own); a top-level push (`>`) is a frame flagged `push`; RESP3 streamed strings (`$?` then
 * `;len` chunks up to `;0`) and streamed aggregates (`*?`, `%?`, `~?` up to `.`) are supported,
 * though Redis does not send them today. Pure: imports nothing but errors and its siblings.
 */
import { internal } from '../../errors.js';
import { ChunkedInput } from './chunked-input.js';
import {
  DEFAULT_MAX_AGGREGATE_LENGTH,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_BULK_LENGTH,
  limitOption,
} from './limits.js';
import { describeByte, RespProtocolError } from './protocol-error.js';

/** ReplyFrame is one complete server frame: a reply to a request, or a push. */
export interface ReplyFrame {
  /** The exact bytes, attributes included: a view of the received chunk, a copy only if it spanned chunks. */
  readonly raw: Buffer;
  /** The RESP type character of the value (`+`, `$`, `*`, `>`…), after any attribute. */
  readonly type: string;
  /** True for a RESP3 push frame (`>`), which answers no request. */
  readonly push: boolean;
  /** True for an error reply (`-` simple error or `!` blob error). */
  readonly isError: boolean;
}

/** ReplyScannerOptions bounds what one server may send; the defaults are generous but finite. */
export interface ReplyScannerOptions {
  /** Largest bulk, verbatim, blob-error or streamed-chunk length in bytes (512 MiB). */
  maxBulkLength?: number;
  /** Longest simple line (`+`, `-`, `:`, `,`, `(`…) in bytes before its CR (512 MiB: Lua may return huge status replies). */
  maxLineLength?: number;
  /** Largest element count of one aggregate (2^32 − 1). */
  maxAggregateLength?: number;
  /**
   * Deepest aggregate nesting, attributes and streamed strings included. Unbounded by default:
   * replies come from the database, which may legitimately nest deeply (a Lua script can return
   * a 2,000-deep array), and the scan keeps its nesting in an array, never on the call stack, so
   * depth costs a few bytes per level and is bounded by maxBufferedBytes like everything else.
   */
  maxDepth?: number;
  /** Most bytes held for one frame not yet taken (1 GiB); `takeReplies({ partial: true })` releases them early. */
  maxBufferedBytes?: number;
}

/** TakeRepliesOptions tunes {@link ReplyScanner.takeReplies}. */
export interface TakeRepliesOptions {
  /**
   * Also take the bytes received so far of an incomplete frame, when that frame may be forwarded
   * now (it is a push, or a reply within `max`). Lets a proxy stream a huge reply instead of
   * holding all of it. Once a frame has been partly taken, take its rest with takeReplies too
   * (when it completes it counts against that call's `max` like any reply).
   */
  partial?: boolean;
  /** If given, the type byte of each reply taken (pushes excluded) is appended, in order. */
  types?: number[];
}

/** TakenReplies is what {@link ReplyScanner.takeReplies} hands over. */
export interface TakenReplies {
  /** The bytes taken, in order: views of the received chunks, never copies. Write them as they are. */
  readonly bytes: Buffer[];
  /** Total length of `bytes`. */
  readonly byteLength: number;
  /** Complete replies taken (push frames not counted). */
  readonly replies: number;
  /** Complete push frames taken. */
  readonly pushes: number;
  /** How many of the replies taken are errors. */
  readonly errors: number;
  /** True when `bytes` ends with the start of a frame that is not complete yet. */
  readonly partial: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const ZERO = 0x30;
const NINE = 0x39;
const PLUS = 0x2b; // simple string
const MINUS = 0x2d; // simple error
const COLON = 0x3a; // integer
const UNDERSCORE = 0x5f; // null
const COMMA = 0x2c; // double
const HASH = 0x23; // boolean
const LPAREN = 0x28; // big number
const DOLLAR = 0x24; // bulk string
const EQUALS = 0x3d; // verbatim string
const BANG = 0x21; // blob error
const SEMI = 0x3b; // streamed string chunk
const STAR = 0x2a; // array
const PERCENT = 0x25; // map
const TILDE = 0x7e; // set
const GT = 0x3e; // push
const PIPE = 0x7c; // attribute
const DOT = 0x2e; // end of a streamed aggregate
const QMARK = 0x3f; // streamed length

// Scanner states: what the next byte must be.
const TYPE = 0; // a type byte
const LINE = 1; // simple line content, up to CR
const LINE_LF = 2; // LF after a simple line
const NUM = 3; // a length or count, up to CR
const NUM_LF = 4; // LF after a length or count
const BODY = 5; // bulk body bytes (skipped by length)
const BODY_CR = 6; // CR after a body
const BODY_LF = 7; // LF after a body

// Stack markers for open containers without a count.
const STREAMED_AGGREGATE = -1;
const STREAMED_STRING = -2;

const MAX_DIGITS = 15;

const TYPE_CHARS: string[] = Array.from({ length: 128 }, (_, b) => String.fromCharCode(b));

/**
 * ReplyScanner finds the boundaries of server frames incrementally: `push()` each chunk read from
 * Redis, then either `next()` frame by frame (when the agent must look at a reply) or
 * `takeReplies(k)` to forward up to k replies at once as a few large slices. After a
 * {@link RespProtocolError} every later call throws it again; the connection must be dropped.
 */
export class ReplyScanner extends ChunkedInput {
  private readonly maxBulkLength: number;
  private readonly maxLineLength: number;
  private readonly maxAggregateLength: number;
  private readonly maxDepth: number;
  private readonly maxBufferedBytes: number;

  private st = TYPE;
  private t = 0; // type byte of the value being scanned
  private num = 0;
  private digits = 0;
  private neg = false;
  private streamed = false; // the length was '?'
  private bodyLeft = 0;
  private lineStart = 0; // frame-relative offset where the current line's content starts
  /** Elements still expected by each open aggregate, or a STREAMED_* marker. */
  private readonly remaining: number[] = [];
  /** Whether each open aggregate is an attribute (whose completion is not an element). */
  private readonly isAttribute: boolean[] = [];
  private depth = 0;
  private frameType = 0; // type byte of the top-level value, 0 until read
  private started = false; // a byte of the current frame has been scanned
  private complete = false; // the current frame is scanned to its end but not taken
  private partlyTaken = false; // takeReplies({ partial }) handed over the frame's first bytes

  constructor(opts: ReplyScannerOptions = {}) {
    super();
    this.maxBulkLength = limitOption(opts.maxBulkLength, 'maxBulkLength', DEFAULT_MAX_BULK_LENGTH);
    this.maxLineLength = limitOption(opts.maxLineLength, 'maxLineLength', DEFAULT_MAX_BULK_LENGTH);
    this.maxAggregateLength = limitOption(opts.maxAggregateLength, 'maxAggregateLength', DEFAULT_MAX_AGGREGATE_LENGTH);
    this.maxDepth = limitOption(opts.maxDepth, 'maxDepth', Number.MAX_SAFE_INTEGER);
    this.maxBufferedBytes = limitOption(opts.maxBufferedBytes, 'maxBufferedBytes', DEFAULT_MAX_BUFFERED_BYTES);
  }

  /** inProgress tells whether bytes of a frame not yet taken have been received. */
  get inProgress(): boolean {
    return this.started || this.complete;
  }

  /**
   * next returns the next complete frame (reply or push), or undefined until more bytes arrive.
   * Use it when the agent must inspect a reply (HELLO, its own AUTH); forward with takeReplies.
   */
  next(): ReplyFrame | undefined {
    if (this.failure) throw this.failure;
    try {
      if (!this.scan()) return undefined;
    } catch (err) {
      throw this.fail(err);
    }
    if (this.partlyTaken) {
      throw internal('ReplyScanner.next() called on a frame already partly taken by takeReplies()', {
        hint: 'Once takeReplies({ partial: true }) returned part of a frame, take its rest with takeReplies.',
      });
    }
    const ft = this.frameType;
    const frame: ReplyFrame = {
      raw: this.frameBytes(),
      type: TYPE_CHARS[ft]!,
      push: ft === GT,
      isError: ft === MINUS || ft === BANG,
    };
    this.finishFrame();
    this.compact();
    return frame;
  }

  /**
   * takeReplies consumes complete frames in order until `max` replies have been taken, and
   * returns their bytes as views of the received chunks (one per chunk touched, so typically one
   * slice for many pipelined replies). Push frames are taken whenever they are reached, even
   * after the max-th reply or with `max` 0, and are counted apart: they answer no request. So
   * "K requests are outstanding" becomes `takeReplies(K)`, and the caller subtracts `replies`.
   *
   * If the stream turns out to be malformed after some frames were taken, those frames are
   * returned and the error is thrown by the next call.
   */
  takeReplies(max: number, opts: TakeRepliesOptions = {}): TakenReplies {
    if (this.failure) throw this.failure;
    if (!(max >= 0)) throw internal(`takeReplies(max) needs a count of zero or more, got ${max}`);
    const c0 = this.fc;
    const o0 = this.fo;
    let replies = 0;
    let pushes = 0;
    let errors = 0;
    let partial = false;
    try {
      while (this.scan()) {
        const ft = this.frameType;
        if (ft === GT) {
          pushes++;
        } else {
          if (replies >= max) break;
          replies++;
          if (ft === MINUS || ft === BANG) errors++;
          opts.types?.push(ft);
        }
        this.finishFrame();
      }
      if (opts.partial && this.started && !this.complete && (replies < max || this.frameType === GT)) {
        const held = this.base + this.so;
        if (held > 0) {
          this.lineStart -= held; // the frame start moves to the scan cursor
          this.consumeFrame(false);
          this.partlyTaken = true;
          partial = true;
        }
      }
    } catch (err) {
      // Hand over what was complete before the bad bytes; the next call throws the error.
      if (!(err instanceof RespProtocolError) || replies + pushes === 0) throw this.fail(err);
      this.fail(err);
    }
    const bytes: Buffer[] = [];
    const byteLength = this.sliceRange(c0, o0, this.fc, this.fo, bytes);
    this.compact();
    return { bytes, byteLength, replies, pushes, errors, partial };
  }

  private fail(err: unknown): unknown {
    if (err instanceof RespProtocolError) this.failure = err;
    return err;
  }

  /** finishFrame hands the scanned frame to the caller and resets the frame state (no compaction). */
  private finishFrame(): void {
    this.consumeFrame(false);
    this.complete = false;
    this.partlyTaken = false;
    this.frameType = 0;
  }

  /**
   * scan advances the state machine until the current frame is complete (true; the scan cursor
   * is just past it) or the input runs out (false; scanning resumes there on the next call).
   */
  private scan(): boolean {
    if (this.complete) return true;
    for (;;) {
      const buf = this.chunks[this.sc];
      if (buf === undefined) return false;
      const n = buf.length;
      const from = this.so;
      let i = from;
      let st = this.st;
      let done = false;
      while (i < n) {
        switch (st) {
          case TYPE: {
            if (!this.started) {
              this.startFrame(i);
              this.started = true;
            }
            const b = buf[i++]!;
            const depth = this.depth;
            if (depth > 0 && this.remaining[depth - 1] === STREAMED_STRING) {
              if (b !== SEMI) throw this.error(`expected ';' in a streamed string, got '${describeByte(b)}'`);
              st = this.startNumber();
            } else {
              switch (b) {
                case PLUS:
                case MINUS:
                case COLON:
                case UNDERSCORE:
                case COMMA:
                case HASH:
                case LPAREN:
                  this.lineStart = this.base + i;
                  st = LINE;
                  break;
                case DOT:
                  if (depth === 0 || this.remaining[depth - 1] !== STREAMED_AGGREGATE) {
                    throw this.error("unexpected '.' outside a streamed aggregate");
                  }
                  this.lineStart = this.base + i;
                  st = LINE;
                  break;
                case DOLLAR:
                case EQUALS:
                case BANG:
                case STAR:
                case PERCENT:
                case TILDE:
                case GT:
                case PIPE:
                  st = this.startNumber();
                  break;
                default:
                  throw this.error(`invalid reply type byte '${describeByte(b)}'`);
              }
              if (depth === 0 && b !== PIPE) this.frameType = b;
            }
            this.t = b;
            break;
          }

          case LINE: {
            while (i < n && buf[i] !== CR) i++;
            const contentEnd = this.base + i;
            if (i < n) {
              i++;
              st = LINE_LF;
            }
            if (contentEnd - this.lineStart > this.maxLineLength) {
              throw this.error(`reply line longer than ${this.maxLineLength} bytes`, 'limit-exceeded');
            }
            break;
          }

          case LINE_LF:
            if (buf[i++] !== LF) throw this.error('expected LF after CR');
            if (this.t === DOT) this.depth--; // closes the streamed aggregate, which is then an element
            done = this.elementDone();
            st = TYPE;
            break;

          case NUM: {
            const b = buf[i++]!;
            if (b >= ZERO && b <= NINE && !this.streamed && this.digits < MAX_DIGITS) {
              this.num = this.num * 10 + (b - ZERO);
              this.digits++;
            } else if (b === MINUS && this.digits === 0 && !this.neg && !this.streamed) {
              this.neg = true;
            } else if (b === QMARK && this.digits === 0 && !this.neg && !this.streamed) {
              this.streamed = true;
            } else if (b === CR && (this.digits > 0 || this.streamed)) {
              st = NUM_LF;
            } else {
              throw this.badLength();
            }
            break;
          }

          case NUM_LF:
            if (buf[i++] !== LF) throw this.badLength();
            st = this.afterLength();
            if (st === -1) {
              done = this.elementDone();
              st = TYPE;
            }
            break;

          case BODY: {
            const avail = n - i;
            if (avail > this.bodyLeft) {
              i += this.bodyLeft;
              this.counters.skipped += this.bodyLeft;
              this.bodyLeft = 0;
              st = BODY_CR;
            } else {
              i = n;
              this.bodyLeft -= avail;
              this.counters.skipped += avail;
              if (this.bodyLeft === 0) st = BODY_CR;
            }
            break;
          }

          case BODY_CR:
            if (buf[i++] !== CR) throw this.error('bulk reply not terminated by CRLF');
            st = BODY_LF;
            break;

          case BODY_LF:
            if (buf[i++] !== LF) throw this.error('bulk reply not terminated by CRLF');
            // A streamed-string chunk is part of a value, not an element.
            if (this.t !== SEMI) done = this.elementDone();
            st = TYPE;
            break;
        }
        if (done) {
          this.counters.scanned += i - from;
          this.so = i;
          this.st = TYPE;
          if (this.base + i > this.maxBufferedBytes) throw this.tooBig();
          this.started = false;
          this.complete = true;
          return true;
        }
      }
      this.st = st;
      this.so = i;
      this.counters.scanned += i - from;
      if (this.started && this.base + n > this.maxBufferedBytes) throw this.tooBig();
      if (!this.nextChunk()) return false;
    }
  }

  /** startNumber resets the number reader for the length or count after a type byte. */
  private startNumber(): number {
    this.num = this.digits = 0;
    this.neg = this.streamed = false;
    return NUM;
  }

  /**
   * afterLength acts on a complete `<type><length>\r\n` header and returns the next state, or -1
   * when the header is a whole value (null, empty aggregate, last streamed chunk).
   */
  private afterLength(): number {
    const t = this.t;
    const v = this.neg ? -this.num : this.num;
    if (t === DOLLAR || t === EQUALS || t === BANG || t === SEMI) {
      if (this.streamed) {
        if (t !== DOLLAR) throw this.badLength();
        this.open(STREAMED_STRING, false);
        return TYPE;
      }
      if (v === -1 && t === DOLLAR) return -1; // RESP2 null bulk string
      if (v < 0 || v > this.maxBulkLength) throw this.badLength();
      if (t === SEMI && v === 0) {
        this.depth--; // `;0` ends the streamed string, which is then an element
        return -1;
      }
      this.bodyLeft = v;
      return BODY;
    }
    if (this.streamed) {
      if (t !== STAR && t !== PERCENT && t !== TILDE) throw this.badLength();
      this.open(STREAMED_AGGREGATE, false);
      return TYPE;
    }
    if (v === -1 && t === STAR) return -1; // RESP2 null array
    if (v < 0 || v > this.maxAggregateLength) throw this.badLength();
    if (v === 0) return t === PIPE ? TYPE : -1; // an empty attribute still annotates the next value
    this.open(t === PERCENT || t === PIPE ? 2 * v : v, t === PIPE);
    return TYPE;
  }

  /** open pushes an aggregate expecting `count` elements (or a STREAMED_* marker). */
  private open(count: number, attribute: boolean): void {
    if (this.depth >= this.maxDepth) throw this.error(`reply nested deeper than ${this.maxDepth} levels`, 'limit-exceeded');
    this.remaining[this.depth] = count;
    this.isAttribute[this.depth] = attribute;
    this.depth++;
  }

  /**
   * elementDone records that a value ended and closes every aggregate it completes. True when the
   * top-level value, hence the frame, is complete. A completed attribute is not an element: the
   * value it annotates follows.
   */
  private elementDone(): boolean {
    const remaining = this.remaining;
    for (let d = this.depth; d > 0; ) {
      const top = d - 1;
      const r = remaining[top]!;
      if (r === STREAMED_AGGREGATE) return false;
      if (r > 1) {
        remaining[top] = r - 1;
        return false;
      }
      d = top;
      this.depth = d;
      if (this.isAttribute[top]) return false;
    }
    return true;
  }

  private badLength(): RespProtocolError {
    const t = this.t;
    const bulk = t === DOLLAR || t === EQUALS || t === BANG || t === SEMI;
    return this.error(bulk ? 'invalid bulk length' : 'invalid aggregate length');
  }

  private tooBig(): RespProtocolError {
    return this.error(`reply exceeds the buffer limit of ${this.maxBufferedBytes} bytes`, 'limit-exceeded');
  }

  private error(detail: string, kind: 'connection-problem' | 'limit-exceeded' = 'connection-problem'): RespProtocolError {
    return new RespProtocolError(detail, kind);
  }
}
