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
import { describeByte, RespProtocolError } from './protocol-error.js';

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

// Parser states. Each names what the next byte must be.
const START = 0; // first byte of a request
const COUNT = 1; // digits of `*N`
const COUNT_LF = 2; // LF after `*N\r`
const ARG_TYPE = 3; // `$` of the next argument
const ARG_LEN = 4; // digits of `$len`
const ARG_LEN_LF = 5; // LF after `$len\r`
const BODY = 6; // bulk body bytes (skipped by length)
const BODY_CR = 7; // CR after the body
const BODY_LF = 8; // LF after the body
const INLINE = 9; // rest of an inline line, up to LF

/** A longer number is never a valid count or length, and staying under 2^53 keeps arithmetic exact. */
const MAX_DIGITS = 15;

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

/**
 * RequestParser decodes a client's byte stream incrementally: `push()` each chunk read from the
 * socket, then call `next()` until it returns undefined. After a {@link RespProtocolError} the
 * stream cannot be resynchronised: every later call throws the same error, and the engine should
 * answer `-ERR xport: <message>` and close the connection.
 */
export class RequestParser extends ChunkedInput {
  private readonly maxBulkLength: number;
  private readonly maxArgs: number;
  private readonly maxInlineLength: number;
  private readonly maxBufferedBytes: number;

  private st = START;
  private num = 0; // value of the number being read
  private digits = 0; // digits read so far
  private neg = false; // a leading '-' was read
  private argsLeft = 0;
  private bodyLeft = 0;
  private isInline = false;
  private ignore = false; // `*0` / `*-1`: consumed, not returned
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
  }

  /** next returns the next complete request, or undefined until more bytes are pushed. */
  next(): Request | undefined {
    if (this.failure) throw this.failure;
    try {
      for (;;) {
        if (!this.scan()) return undefined;
        const req = this.build();
        if (req !== undefined) return req;
      }
    } catch (err) {
      if (err instanceof RespProtocolError) this.failure = err;
      throw err;
    }
  }

  /** Iterating a parser yields the complete requests available now. */
  *[Symbol.iterator](): IterableIterator<Request> {
    for (let r = this.next(); r !== undefined; r = this.next()) yield r;
  }

  /** inProgress tells whether part of a request has been received (the connection is mid-request). */
  get inProgress(): boolean {
    return this.st !== START;
  }

  /** build turns the scanned frame into a Request, or undefined for a frame Redis ignores. */
  private build(): Request | undefined {
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
      const offs = this.offsets;
      const nOffs = this.nOffsets;
      args = new Array<Buffer>(nOffs >> 1);
      for (let k = 0, a = 0; k < nOffs; k += 2, a++) {
        const s = offs[k]!;
        args[a] = raw.subarray(s, s + offs[k + 1]!);
      }
      // Do not keep the offsets of one huge request alive for the rest of the connection.
      if (offs.length > 65536) this.offsets = [];
    }
    return { raw, args, name: this.nameOf(args[0]!), inline: this.isInline };
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

  /**
   * scan advances the state machine until a frame completes (true; the scan cursor is just past
   * it) or the input runs out (false; the state is kept and scanning resumes where it stopped).
   */
  private scan(): boolean {
    for (;;) {
      const buf = this.chunks[this.sc];
      if (buf === undefined) return false;
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
                return true;
              }
              i++;
              this.num = this.digits = 0;
              this.neg = false;
              st = COUNT;
            } else {
              this.isInline = true;
              st = INLINE;
            }
            break;
          }

          case INLINE: {
            const lf = buf.indexOf(LF, i);
            // Measured up to the LF whatever the chunking, so the outcome never depends on it.
            const lineLen = this.base + (lf < 0 ? n : lf);
            if (lineLen > this.maxInlineLength) throw new RespProtocolError('too big inline request');
            if (lf < 0) {
              i = n;
              break;
            }
            i = lf + 1;
            this.counters.scanned += i - from;
            this.so = i;
            this.st = START;
            return true;
          }

          case COUNT:
          case ARG_LEN: {
            const b = buf[i++]!;
            if (b >= ZERO && b <= NINE) {
              // string2ll rules: no leading zeros, no "-0", bounded length.
              if ((this.digits === 1 && this.num === 0) || (b === ZERO && this.neg && this.digits === 0) || this.digits >= MAX_DIGITS) {
                throw this.badNumber(st);
              }
              this.num = this.num * 10 + (b - ZERO);
              this.digits++;
            } else if (b === MINUS && this.digits === 0 && !this.neg) {
              this.neg = true;
            } else if (b === CR && this.digits > 0) {
              st = st === COUNT ? COUNT_LF : ARG_LEN_LF;
            } else {
              throw this.badNumber(st);
            }
            break;
          }

          case COUNT_LF: {
            if (buf[i++] !== LF) throw this.badNumber(COUNT);
            const count = this.neg ? -this.num : this.num;
            if (count > this.maxArgs || count < -1) throw this.badNumber(COUNT);
            if (count <= 0) {
              // `*0` and `*-1` carry no command: Redis skips them.
              this.ignore = true;
              this.counters.scanned += i - from;
              this.so = i;
              this.st = START;
              return true;
            }
            this.isInline = false;
            this.argsLeft = count;
            this.nOffsets = 0;
            st = ARG_TYPE;
            break;
          }

          case ARG_TYPE: {
            const b = buf[i++]!;
            if (b !== DOLLAR) throw new RespProtocolError(`expected '$', got '${describeByte(b)}'`);
            if (this.base + i > this.maxBufferedBytes) throw this.tooBig();
            this.num = this.digits = 0;
            this.neg = false;
            st = ARG_LEN;
            break;
          }

          case ARG_LEN_LF: {
            if (buf[i++] !== LF || this.neg || this.num > this.maxBulkLength) throw this.badNumber(ARG_LEN);
            const len = this.num;
            const at = this.base + i;
            // Reject as soon as the announced length cannot fit, before buffering any of it.
            if (at + len + 2 > this.maxBufferedBytes) throw this.tooBig();
            this.offsets[this.nOffsets++] = at;
            this.offsets[this.nOffsets++] = len;
            this.bodyLeft = len;
            st = BODY;
            break;
          }

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
            if (buf[i++] !== CR) throw new RespProtocolError('bulk argument not terminated by CRLF');
            st = BODY_LF;
            break;

          case BODY_LF:
            if (buf[i++] !== LF) throw new RespProtocolError('bulk argument not terminated by CRLF');
            if (--this.argsLeft === 0) {
              this.counters.scanned += i - from;
              this.so = i;
              this.st = START;
              return true;
            }
            st = ARG_TYPE;
            break;
        }
      }
      this.st = st;
      this.so = i;
      this.counters.scanned += i - from;
      if (st !== START && this.base + n > this.maxBufferedBytes) throw this.tooBig();
      if (!this.nextChunk()) return false;
    }
  }

  /**
   * wholeMultibulk reads a multibulk request that lies entirely in buf[start, n) and is plainly
   * valid, recording its argument offsets; it returns the index just past it, or -1 to let the
   * state machine handle the request (incomplete here, malformed, ignored or over a bound). It
   * only saves time: the state machine alone gives the same results.
   */
  private wholeMultibulk(buf: Buffer, start: number, n: number): number {
    const count = this.fastNumber(buf, start + 1, n);
    if (count < 1 || count > this.maxArgs) return -1;
    const limit = Math.min(n, start + this.maxBufferedBytes);
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

  private badNumber(st: number): RespProtocolError {
    return new RespProtocolError(st === COUNT ? 'invalid multibulk length' : 'invalid bulk length');
  }

  private tooBig(): RespProtocolError {
    return new RespProtocolError(`request exceeds the query buffer limit of ${this.maxBufferedBytes} bytes`, 'limit-exceeded');
  }
}
