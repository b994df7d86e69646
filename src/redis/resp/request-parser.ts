/**
 * resp/request-parser: finds request boundaries in the byte stream a Redis client sends and reads
 * each request's arguments, so the agent can check and audit a command and then forward its
 * original bytes unchanged.
 *
 * Accepts what Redis accepts: multibulk requests (`*N\r\n$len\r\n…`) and inline commands
 * (`PING\r\n`, quotes as in `sdssplitargs`); empty lines, `*0` and `*-1` are skipped as Redis skips
 * them. Errors carry Redis's own wording. Pure: imports nothing but errors and its siblings.
 */
import { ChunkedInput } from './chunked-input.js';
import { splitInlineArgs } from './inline.js';
import {
  DEFAULT_MAX_ARGS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_BULK_LENGTH,
  DEFAULT_MAX_INLINE_LENGTH,
  limitOption,
} from './limits.js';
import { RespProtocolError } from './protocol-error.js';

/** Request is one client command. */
export interface Request {
  /** The exact bytes of this request: a view of the received chunk, a copy only if it spanned chunks. */
  readonly raw: Buffer;
  /** The argument values; views of `raw` (inline arguments with quote escapes are new buffers). */
  readonly args: Buffer[];
  /** The first argument, ASCII lower-cased (at most {@link MAX_NAME_BYTES} bytes of it). */
  readonly name: string;
  /** True for an inline command line; false for a multibulk request. */
  readonly inline: boolean;
  /**
   * Set when the request is too large to hold: then this is only its head. `raw` holds the bytes
   * received so far and `args` the arguments complete in them (maybe none); the rest of the
   * request must be taken with {@link RequestParser.takeStream} before the next request.
   */
  readonly stream?: StreamedRequest;
}

/** StreamedRequest describes a request handed out as a head and streamed. */
export interface StreamedRequest {
  /** How many arguments the request announced (its `*N`); `args` holds the first ones only. */
  readonly argc: number;
}

/** RequestParserOptions bounds what one client may send; the defaults are Redis's own limits. */
export interface RequestParserOptions {
  /** Largest bulk argument in bytes (Redis `proto-max-bulk-len`, 512 MiB). */
  maxBulkLength?: number;
  /** Largest multibulk argument count (1,048,576). */
  maxArgs?: number;
  /** Longest inline command line: bytes before its LF, a CR included (Redis `PROTO_INLINE_MAX_SIZE`, 64 KiB). */
  maxInlineLength?: number;
  /** Largest request in bytes, i.e. what may be held for one incomplete request (1 GiB). */
  maxBufferedBytes?: number;
  /**
   * Requests larger than this many bytes are not held whole: as soon as the frame passes it (or
   * announces an argument that would), its head is returned with the arguments complete so far
   * and the rest is streamed with {@link RequestParser.takeStream}. Unset: requests are held whole.
   */
  streamAbove?: number;
  /**
   * Most arguments of one request held as views (each costs far more memory than its bytes):
   * a request with more streams past them when streaming is on (`streamAbove`), else it is
   * refused. Unset: bounded by maxArgs only.
   */
  maxHeldArgs?: number;
}

/** MAX_NAME_BYTES caps how much of the first argument becomes {@link Request.name}; no command name is near it. */
export const MAX_NAME_BYTES = 1024;

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

// Parser states. Each names what the next byte is. Header lines are read the way Redis reads
// them (networking.c, processMultibulkBuffer): find the CR (a NUL first means "not yet", as
// strchr() stops there), judge the line, then skip the byte after the CR whatever it is; a bulk
// body is followed by two bytes Redis skips unchecked. The agent must frame requests exactly
// as Redis does, or it would judge one command while Redis runs another.
const START = 0; // first byte of a request
const COUNT = 1; // the `*N` line, up to its CR
const COUNT_LF = 2; // the byte after the count line's CR
const ARG_LINE = 3; // the `$len` line of the next argument, up to its CR
const ARG_LF = 4; // the byte after the `$len` line's CR
const BODY = 6; // bulk body bytes (skipped by length)
const BODY_END1 = 7; // first of the two bytes after a body
const BODY_END2 = 8; // second of the two bytes after a body
const INLINE = 9; // rest of an inline line, up to LF
const STUCK = 10; // a header or inline line with a NUL before its end: it never ends (as in Redis)

const NUL = 0x00;

/** A longer number is never a valid count or length, and staying under 2^53 keeps arithmetic exact. */
const MAX_DIGITS = 15;

/** HEADER_LINE_MAX is Redis's PROTO_INLINE_MAX_SIZE: a header line without CR past it is refused. */
const HEADER_LINE_MAX = 64 * 1024;

/**
 * asciiLower decodes buf[0, min(len, MAX_NAME_BYTES)) as Latin-1 with only A–Z lower-cased, so a
 * name never changes under locale rules the server does not apply.
 */
function asciiLower(buf: Buffer): string {
  const end = Math.min(buf.length, MAX_NAME_BYTES);
  if (end <= 32) {
    // Command names are short: building the string a char at a time beats any Buffer round trip.
    let s = '';
    for (let i = 0; i < end; i++) {
      const b = buf[i]!;
      s += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
    }
    return s;
  }
  const copy = Buffer.from(buf.subarray(0, end));
  for (let k = 0; k < end; k++) {
    const c = copy[k]!;
    if (c >= 0x41 && c <= 0x5a) copy[k] = c | 0x20;
  }
  return copy.toString('latin1');
}

/** Results of one scan. */
const NONE = 0; // input ran out
const FRAME = 1; // a frame is complete
const HEAD = 2; // a frame must stream: its head is ready

/**
 * RequestParser decodes a client's byte stream incrementally: `push()` each chunk read from the
 * socket, then call `next()` until it returns undefined. A request with `stream` set is only a
 * head: call `takeStream()` as bytes arrive until it reports the end, then `next()` again. After
 * a {@link RespProtocolError} the stream cannot be resynchronised: every later call throws the
 * same error, and the engine should answer with it and close the connection, as Redis does.
 */
export class RequestParser extends ChunkedInput {
  private readonly maxBulkLength: number;
  private readonly maxArgs: number;
  private readonly maxInlineLength: number;
  private readonly maxBufferedBytes: number;
  private readonly streamAbove: number;
  private readonly maxHeldArgs: number;

  private st = START;
  private num = 0; // value of the number being read
  private digits = 0; // digits read so far
  private neg = false; // a leading '-' was read
  private bad = false; // the number can no longer be valid (string2ll would fail)
  private zeroFirst = false; // its first digit was 0
  private lineType = -1; // first byte of a `$len` line (-1: none yet)
  private lineLen = 0; // bytes of the header line read so far
  private stuckLimit = 0; // a STUCK line fails when longer than this
  private stuckDetail = ''; // … with this message
  private argc = 0;
  private argsLeft = 0;
  private bodyLeft = 0;
  private isInline = false;
  private ignore = false; // `*0` / `*-N`: consumed, not returned
  private streaming = false; // a head was returned; the rest of its frame goes through takeStream
  private forceHead = false;
  /** Frame-relative [start, length] pairs of the current request's arguments (first nOffsets used). */
  private offsets: number[] = [];
  private nOffsets = 0;
  private fastPos = 0; // position after the number fastNumber() read
  private lastNameBytes: Buffer = Buffer.alloc(0);
  private lastName = '';

  constructor(opts: RequestParserOptions = {}) {
    super();
    this.maxBulkLength = limitOption(opts.maxBulkLength, 'maxBulkLength', DEFAULT_MAX_BULK_LENGTH);
    this.maxArgs = limitOption(opts.maxArgs, 'maxArgs', DEFAULT_MAX_ARGS);
    this.maxInlineLength = limitOption(opts.maxInlineLength, 'maxInlineLength', DEFAULT_MAX_INLINE_LENGTH);
    this.maxBufferedBytes = limitOption(opts.maxBufferedBytes, 'maxBufferedBytes', DEFAULT_MAX_BUFFERED_BYTES);
    this.streamAbove = limitOption(opts.streamAbove, 'streamAbove', Number.POSITIVE_INFINITY);
    this.maxHeldArgs = limitOption(opts.maxHeldArgs, 'maxHeldArgs', Number.POSITIVE_INFINITY);
  }

  /** next returns the next complete request (or a streamed request's head), or undefined until more bytes are pushed. */
  next(): Request | undefined {
    if (this.failure) throw this.failure;
    if (this.streaming) throw new Error('RequestParser.next called while a request is streaming; call takeStream first');
    try {
      for (;;) {
        const r = this.scan();
        if (r === NONE) return undefined;
        if (r === HEAD) return this.buildHead();
        const req = this.build();
        if (req !== undefined) return req;
      }
    } catch (err) {
      if (err instanceof RespProtocolError) this.failure = err;
      throw err;
    }
  }

  /**
   * takeStream appends to out the bytes of the streaming request that have arrived (views of the
   * received chunks, nothing is kept) and returns true once the request has ended; the bytes
   * after it stay for {@link next}. The frame is still checked as it passes, so a protocol error
   * in its tail is raised here, exactly where Redis would see it.
   */
  takeStream(out: Buffer[]): boolean {
    if (this.failure) throw this.failure;
    if (!this.streaming) throw new Error('RequestParser.takeStream called with no request streaming');
    try {
      const r = this.scan();
      const chunks = this.chunks;
      if (chunks.length > 0) this.sliceRange(this.fc, this.fo, this.sc, this.so, out);
      this.consumeFrame();
      if (r === FRAME) this.streaming = false;
      return r === FRAME;
    } catch (err) {
      if (err instanceof RespProtocolError) this.failure = err;
      throw err;
    }
  }

  /**
   * unread returns views of every pushed byte not handed out yet — after a protocol error in a
   * streamed request, the bytes from where takeStream stopped, the bad ones included.
   */
  unread(): Buffer[] {
    const out: Buffer[] = [];
    const last = this.chunks.length - 1;
    if (last >= 0) this.sliceRange(this.fc, this.fo, last, this.chunks[last]!.length, out);
    return out;
  }

  /** streamingRequest tells whether a head was returned and the rest of its request is due through takeStream. */
  get streamingRequest(): boolean {
    return this.streaming;
  }

  /**
   * streamSoon asks for the request in progress to be handed out as a head at the next push,
   * whatever its size (used when the process-wide input budget is spent).
   */
  streamSoon(): void {
    this.forceHead = true;
  }

  /** Iterating a parser yields the complete requests available now. */
  *[Symbol.iterator](): IterableIterator<Request> {
    for (let r = this.next(); r !== undefined; r = this.next()) yield r;
  }

  /** inProgress tells whether part of a request has been received (the connection is mid-request). */
  get inProgress(): boolean {
    return this.st !== START || this.streaming;
  }

  /** build turns the scanned frame into a Request, or undefined for a frame Redis ignores. */
  private build(): Request | undefined {
    this.forceHead = false;
    const raw = this.frameBytes();
    this.consumeFrame();
    if (this.ignore) {
      this.ignore = false;
      this.counters.ignored += raw.length;
      return undefined;
    }
    let args: Buffer[];
    if (this.isInline) {
      const split = splitInlineArgs(raw);
      if (split === null) throw new RespProtocolError('unbalanced quotes in request');
      if (split.length === 0) {
        this.counters.ignored += raw.length;
        return undefined;
      }
      args = split;
    } else {
      args = this.argsOf(raw, this.nOffsets);
    }
    return { raw, args, name: this.nameOf(args[0]!), inline: this.isInline };
  }

  /** buildHead returns the head of a request that must stream: its bytes so far and its complete arguments. */
  private buildHead(): Request {
    const raw = this.frameBytes();
    const complete = this.argc - this.argsLeft;
    const args = this.argsOf(raw, complete * 2);
    this.consumeFrame();
    this.streaming = true;
    this.forceHead = false;
    return { raw, args, name: args.length > 0 ? this.nameOf(args[0]!) : '', inline: false, stream: { argc: this.argc } };
  }

  private argsOf(raw: Buffer, nOffs: number): Buffer[] {
    const offs = this.offsets;
    const args = new Array<Buffer>(nOffs >> 1);
    for (let k = 0, a = 0; k < nOffs; k += 2, a++) {
      const s = offs[k]!;
      args[a] = raw.subarray(s, s + offs[k + 1]!);
    }
    // Do not keep the offsets of one huge request alive for the rest of the connection.
    if (offs.length > 65536) this.offsets = [];
    return args;
  }

  /**
   * nameOf lower-cases a command name, reusing the previous result when the name repeats (as it
   * does in pipelines), which saves building a string per request.
   */
  private nameOf(arg: Buffer): string {
    const last = this.lastNameBytes;
    const len = arg.length;
    if (len === last.length && len <= 32) {
      let k = 0;
      while (k < len && arg[k] === last[k]) k++;
      if (k === len) return this.lastName;
    }
    const name = asciiLower(arg);
    if (len <= 32) {
      this.lastNameBytes = Buffer.from(arg);
      this.lastName = name;
    }
    return name;
  }

  /** beginNumber resets the number reader (Redis's string2ll rules are applied byte by byte). */
  private beginNumber(): void {
    this.num = this.digits = 0;
    this.neg = this.bad = this.zeroFirst = false;
  }

  /** numberByte feeds one byte of a count or length to the string2ll rules. */
  private numberByte(b: number): void {
    if (this.bad) return;
    if (b >= ZERO && b <= NINE) {
      // string2ll: no leading zeros, no "-0", and a longer number is out of every bound anyway.
      if (this.zeroFirst || (b === ZERO && this.digits === 0 && this.neg) || this.digits >= MAX_DIGITS) {
        this.bad = true;
        return;
      }
      if (b === ZERO && this.digits === 0) this.zeroFirst = true;
      this.num = this.num * 10 + (b - ZERO);
      this.digits++;
    } else if (b === MINUS && this.digits === 0 && !this.neg) {
      this.neg = true;
    } else {
      this.bad = true;
    }
  }

  /**
   * scan advances the state machine until a frame completes (FRAME; the scan cursor is just past
   * it), a frame must stream (HEAD), or the input runs out (NONE; the state is kept and scanning
   * resumes where it stopped).
   */
  private scan(): number {
    for (;;) {
      const buf = this.chunks[this.sc];
      if (buf === undefined) return NONE;
      const n = buf.length;
      const from = this.so;
      let i = from;
      let st = this.st;
      while (i < n) {
        switch (st) {
          case START: {
            this.startFrame(i);
            if (buf[i] === STAR) {
              // Most requests arrive whole: read them in one pass, off the state machine.
              const end = this.wholeMultibulk(buf, i, n);
              if (end > 0) {
                this.isInline = false;
                this.counters.scanned += end - from;
                this.so = end;
                return FRAME;
              }
              i++;
              this.beginNumber();
              this.lineLen = 1;
              st = COUNT;
            } else {
              this.isInline = true;
              st = INLINE;
            }
            break;
          }

          case INLINE: {
            const lf = buf.indexOf(LF, i);
            const stop = lf < 0 ? n : lf;
            // Redis finds the LF with strchr(): a NUL before it hides it, and the line never ends.
            const nul = buf.subarray(i, stop).indexOf(NUL);
            if (nul >= 0) {
              this.lineLen = this.base + i + nul;
              this.stuckLimit = this.maxInlineLength;
              this.stuckDetail = 'too big inline request';
              i += nul;
              st = STUCK;
              break;
            }
            // Measured up to the LF whatever the chunking, so the outcome never depends on it.
            const lineLen = this.base + stop;
            if (lineLen > this.maxInlineLength) throw new RespProtocolError('too big inline request');
            if (lf < 0) {
              i = n;
              break;
            }
            i = lf + 1;
            this.counters.scanned += i - from;
            this.so = i;
            this.st = START;
            return FRAME;
          }

          case STUCK: {
            this.lineLen += n - i;
            i = n;
            if (this.lineLen > this.stuckLimit) throw new RespProtocolError(this.stuckDetail);
            break;
          }

          case COUNT:
          case ARG_LINE: {
            let k = i;
            while (k < n) {
              const b = buf[k]!;
              if (b === CR || b === NUL) break;
              if (st === ARG_LINE && this.lineType < 0) this.lineType = b;
              else this.numberByte(b);
              k++;
            }
            this.lineLen += k - i;
            i = k;
            if (k === n) {
              if (this.lineLen > HEADER_LINE_MAX) throw new RespProtocolError(st === COUNT ? 'too big mbulk count string' : 'too big bulk count string');
              break;
            }
            if (buf[k] === NUL) {
              this.stuckLimit = HEADER_LINE_MAX;
              this.stuckDetail = st === COUNT ? 'too big mbulk count string' : 'too big bulk count string';
              st = STUCK;
              break;
            }
            // The CR. On a `$` line it may be the type byte itself (an empty line).
            if (st === ARG_LINE && this.lineType < 0) this.lineType = CR;
            i++;
            st = st === COUNT ? COUNT_LF : ARG_LF;
            break;
          }

          case COUNT_LF: {
            i++; // Redis skips the byte after the CR without looking at it.
            if (this.bad || this.digits === 0 || (!this.neg && this.num > this.maxArgs)) throw new RespProtocolError('invalid multibulk length');
            if (this.neg || this.num === 0) {
              // A count of zero or less carries no command: Redis skips it.
              this.ignore = true;
              this.counters.scanned += i - from;
              this.so = i;
              this.st = START;
              return FRAME;
            }
            this.isInline = false;
            this.argc = this.argsLeft = this.num;
            this.nOffsets = 0;
            st = this.beginArg(i);
            break;
          }

          case ARG_LF: {
            i++;
            if (this.lineType !== DOLLAR) throw new RespProtocolError(`expected '$', got '${redisChar(this.lineType)}'`);
            if (this.bad || this.digits === 0 || this.neg || this.num > this.maxBulkLength) throw new RespProtocolError('invalid bulk length');
            const len = this.num;
            this.bodyLeft = len;
            st = BODY;
            if (!this.streaming) {
              const at = this.base + i;
              if (at + len + 2 > this.streamAbove) {
                // Judge the request on what came before this argument; do not wait for it.
                this.counters.scanned += i - from;
                this.st = st;
                this.so = i;
                return HEAD;
              }
              // Reject as soon as the announced length cannot fit, before buffering any of it.
              if (at + len + 2 > this.maxBufferedBytes) throw this.tooBig();
              this.offsets[this.nOffsets++] = at;
              this.offsets[this.nOffsets++] = len;
            }
            break;
          }

          case BODY: {
            const avail = n - i;
            if (avail >= this.bodyLeft) {
              i += this.bodyLeft;
              this.counters.skipped += this.bodyLeft;
              this.bodyLeft = 0;
              st = BODY_END1;
            } else {
              i = n;
              this.bodyLeft -= avail;
              this.counters.skipped += avail;
            }
            break;
          }

          case BODY_END1:
            i++; // Redis skips the two bytes after a body without looking at them.
            st = BODY_END2;
            break;

          case BODY_END2:
            i++;
            if (--this.argsLeft === 0) {
              this.counters.scanned += i - from;
              this.so = i;
              this.st = START;
              return FRAME;
            }
            st = this.beginArg(i);
            if (!this.streaming && this.argc - this.argsLeft >= this.maxHeldArgs) {
              if (this.streamAbove === Number.POSITIVE_INFINITY) throw this.tooManyArgs();
              this.counters.scanned += i - from;
              this.st = st;
              this.so = i;
              return HEAD;
            }
            break;
        }
      }
      this.st = st;
      this.so = i;
      this.counters.scanned += i - from;
      if (st !== START && !this.streaming) {
        const size = this.base + n;
        if ((size > this.streamAbove || this.forceHead) && st >= ARG_LINE && st <= BODY_END2) return HEAD;
        if (size > this.maxBufferedBytes) throw this.tooBig();
      }
      if (!this.nextChunk()) return NONE;
    }
  }

  /** beginArg starts reading the `$len` line of the next argument at frame index i. */
  private beginArg(i: number): number {
    if (!this.streaming && this.base + i > this.maxBufferedBytes) throw this.tooBig();
    this.beginNumber();
    this.lineType = -1;
    this.lineLen = 0;
    return ARG_LINE;
  }

  /**
   * wholeMultibulk reads a multibulk request that lies entirely in buf[start, n) and is plainly
   * valid, recording its argument offsets; it returns the index just past it, or -1 to let the
   * state machine handle the request (incomplete here, malformed, ignored or over a bound). It
   * only saves time: the state machine alone gives the same results.
   */
  private wholeMultibulk(buf: Buffer, start: number, n: number): number {
    const count = this.fastNumber(buf, start + 1, n);
    if (count < 1 || count > this.maxArgs || count > this.maxHeldArgs) return -1;
    const limit = Math.min(n, start + this.maxBufferedBytes, start + this.streamAbove);
    const offs = this.offsets;
    let p = this.fastPos;
    let k = 0;
    let bodies = 0;
    for (let a = 0; a < count; a++) {
      if (p >= n || buf[p] !== DOLLAR) return -1;
      const len = this.fastNumber(buf, p + 1, n);
      if (len < 0 || len > this.maxBulkLength) return -1;
      p = this.fastPos;
      const end = p + len;
      if (end + 2 > limit || buf[end] !== CR || buf[end + 1] !== LF) return -1;
      offs[k++] = p - start;
      offs[k++] = len;
      bodies += len;
      p = end + 2;
    }
    this.nOffsets = k;
    this.counters.skipped += bodies;
    return p;
  }

  /**
   * fastNumber reads a plain decimal (no sign, no leading zero) followed by CRLF at buf[p, n),
   * leaving the index after the LF in fastPos; -1 if there is anything else.
   */
  private fastNumber(buf: Buffer, p: number, n: number): number {
    const first = p;
    let v = 0;
    while (p < n) {
      const b = buf[p]!;
      if (b >= ZERO && b <= NINE) {
        v = v * 10 + (b - ZERO);
        p++;
        continue;
      }
      const digits = p - first;
      if (b !== CR || digits === 0 || digits > MAX_DIGITS || (digits > 1 && buf[first] === ZERO)) return -1;
      if (p + 1 >= n || buf[p + 1] !== LF) return -1;
      this.fastPos = p + 2;
      return v;
    }
    return -1;
  }

  private tooManyArgs(): RespProtocolError {
    return new RespProtocolError(`request with more than ${this.maxHeldArgs} arguments, the most the agent holds of one request; send fewer arguments per request`, 'limit-exceeded', true);
  }

  private tooBig(): RespProtocolError {
    return new RespProtocolError(
      `request larger than ${this.maxBufferedBytes} bytes, the most the agent holds of one request; send smaller requests or raise db_service.limits.session_buffer_bytes`,
      'limit-exceeded',
      true,
    );
  }
}

/** redisChar renders a byte as Redis's `%c` does in an error line: itself, but CR and LF become spaces. */
function redisChar(b: number): string {
  return b === CR || b === LF ? ' ' : String.fromCharCode(b);
}
