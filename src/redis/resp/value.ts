/**
 * resp/value: a small decoder from one complete RESP2/RESP3 frame to JavaScript values, for the
 * few replies the agent must read rather than forward: `COMMAND` (the command table), and the
 * first elements of pub/sub frames. The hot path never uses it: replies are forwarded as bytes.
 *
 * Bulk strings stay Buffers (views of the frame, never copies), simple strings become strings,
 * aggregates become arrays, maps become {@link RespMap}, errors become {@link RespErrorReply}.
 * Attributes are skipped. Pure: imports nothing but its siblings.
 */
import { RespProtocolError } from './protocol-error.js';

/** RespErrorReply is a decoded error reply (`-ERR …` or a `!` blob error). */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

/** RespMap is a decoded RESP3 map (`%`): its entries in wire order. */
export class RespMap {
  constructor(readonly entries: Array<[RespValue, RespValue]>) {}
}

/**
 * RespValue is a decoded reply: simple strings and verbatim strings' text as string, bulk
 * strings as Buffer, integers as number (bigint beyond 2^53), doubles as number, booleans,
 * big numbers as bigint, null, arrays/sets/pushes as arrays, maps as {@link RespMap}.
 */
export type RespValue = string | Buffer | number | bigint | boolean | null | RespErrorReply | RespMap | RespValue[];

/** DecodeValueOptions bounds the decoder. */
export interface DecodeValueOptions {
  /** Deepest aggregate nesting accepted (default 64; `COMMAND` needs 6). */
  maxDepth?: number;
}

const CR = 0x0d;

/**
 * decodeValue decodes the single complete frame in buf (such as `ReplyFrame.raw`) and throws a
 * {@link RespProtocolError} if the bytes are malformed, incomplete, nested too deep, or followed
 * by trailing bytes.
 */
export function decodeValue(buf: Buffer, opts: DecodeValueOptions = {}): RespValue {
  const d = new Decoder(buf, opts.maxDepth ?? 64);
  const v = d.value(0);
  if (d.pos !== buf.length) throw new RespProtocolError('trailing bytes after a reply', 'connection-problem');
  return v;
}

/**
 * frameHead returns the first element of an array or push frame and its element count,
 * decoding nothing else; undefined for any other frame. Used to classify pub/sub frames
 * (`message`, `subscribe`…) without decoding a possibly large payload.
 */
export function frameHead(buf: Buffer): { count: number; first: RespValue } | undefined {
  const t = buf[0];
  if (t !== 0x2a && t !== 0x3e) return undefined; // '*' or '>'
  const d = new Decoder(buf, 64);
  d.pos = 1;
  const count = d.int();
  if (count < 1) return undefined;
  return { count, first: d.value(1) };
}

/** valueText renders a decoded string value (bulk or simple) as text; undefined for other types. */
export function valueText(v: RespValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

class Decoder {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
  ) {}

  private fail(detail: string): never {
    throw new RespProtocolError(detail, 'connection-problem');
  }

  /** line returns the text up to the next CRLF and moves past it. */
  line(): string {
    const buf = this.buf;
    const end = buf.indexOf(CR, this.pos);
    if (end < 0 || buf[end + 1] !== 0x0a) this.fail('unterminated reply line');
    const s = buf.toString('utf8', this.pos, end);
    this.pos = end + 2;
    return s;
  }

  int(): number {
    const s = this.line();
    if (!/^-?\d{1,15}$/.test(s)) this.fail(`invalid length "${s.slice(0, 20)}"`);
    return Number(s);
  }

  body(len: number): Buffer {
    const start = this.pos;
    const end = start + len;
    if (end + 2 > this.buf.length || this.buf[end] !== CR || this.buf[end + 1] !== 0x0a) this.fail('bulk reply not terminated by CRLF');
    this.pos = end + 2;
    return this.buf.subarray(start, end);
  }

  value(depth: number): RespValue {
    if (depth > this.maxDepth) this.fail(`reply nested deeper than ${this.maxDepth} levels`);
    if (this.pos >= this.buf.length) this.fail('incomplete reply');
    const t = String.fromCharCode(this.buf[this.pos++]!);
    switch (t) {
      case '+':
        return this.line();
      case '-':
        return new RespErrorReply(this.line());
      case ':': {
        const s = this.line();
        if (!/^-?\d+$/.test(s)) this.fail(`invalid integer "${s.slice(0, 20)}"`);
        const n = Number(s);
        return Number.isSafeInteger(n) ? n : BigInt(s);
      }
      case '_':
        this.line();
        return null;
      case ',': {
        const s = this.line();
        return s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
      }
      case '#':
        return this.line() === 't';
      case '(': {
        const s = this.line();
        if (!/^-?\d+$/.test(s)) this.fail(`invalid big number "${s.slice(0, 20)}"`);
        return BigInt(s);
      }
      case '$': {
        const len = this.int();
        if (len === -1) return null;
        if (len < 0) this.fail('invalid bulk length');
        return this.body(len);
      }
      case '!': {
        const len = this.int();
        if (len < 0) this.fail('invalid bulk length');
        return new RespErrorReply(this.body(len).toString('utf8'));
      }
      case '=': {
        const len = this.int();
        if (len < 4) this.fail('invalid verbatim string');
        return this.body(len).toString('utf8', 4); // skip the `txt:` format prefix
      }
      case '*':
      case '~':
      case '>': {
        const n = this.int();
        if (n === -1 && t === '*') return null;
        if (n < 0) this.fail('invalid aggregate length');
        const out: RespValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
        return out;
      }
      case '%': {
        const n = this.int();
        if (n < 0) this.fail('invalid aggregate length');
        const entries: Array<[RespValue, RespValue]> = [];
        for (let i = 0; i < n; i++) entries.push([this.value(depth + 1), this.value(depth + 1)]);
        return new RespMap(entries);
      }
      case '|': {
        // An attribute annotates the value that follows; the agent has no use for it.
        const n = this.int();
        if (n < 0) this.fail('invalid aggregate length');
        for (let i = 0; i < 2 * n; i++) this.value(depth + 1);
        return this.value(depth);
      }
      default:
        return this.fail(`invalid reply type byte 0x${t.charCodeAt(0).toString(16).padStart(2, '0')}`);
    }
  }
}
