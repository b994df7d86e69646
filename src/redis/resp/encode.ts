/**
 * resp/encode: the few replies the agent makes itself (errors, OK, AUTH answers, emulated
 * CLUSTER/INFO replies) and the commands it sends upstream on its own (AUTH, HELLO, SELECT).
 * Everything else is forwarded as Redis sent it and never passes through here.
 *
 * Each function takes `resp3` where the two protocols differ, so a reply always matches what the
 * client negotiated with HELLO. Pure: imports nothing but errors.
 */
import { internal } from '../../errors.js';

/** RawReply is an already encoded value, such as a `ReplyFrame` from upstream, embedded as is. */
export interface RawReply {
  readonly raw: Buffer;
}

/**
 * ReplyValue is what the aggregate encoders accept: strings and buffers become bulk strings,
 * integers become `:n`, null becomes the protocol's null, arrays nest, and a {@link RawReply} is
 * copied verbatim (use it for simple strings, maps or upstream replies inside an array).
 */
export type ReplyValue = string | Buffer | number | bigint | null | RawReply | readonly ReplyValue[];

const CRLF = '\r\n';

/** oneLine collapses CR and LF to spaces: a line break inside a simple reply would end it early and make redis-cli fail with "Bad simple string value". */
function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

/** simpleString encodes `+<s>\r\n` (line breaks in s become spaces). */
export function simpleString(s: string): Buffer {
  return Buffer.from(`+${oneLine(s)}${CRLF}`);
}

/** OK is `+OK\r\n`, the commonest reply. */
export const OK: Buffer = simpleString('OK');

/**
 * error encodes `-<message>\r\n`. The message should start with an error code (`ERR`,
 * `NOPERM`…); for the agent's own errors use `ERR xport: <what happened>`. Line breaks become spaces.
 */
export function error(message: string): Buffer {
  return Buffer.from(`-${oneLine(message)}${CRLF}`);
}

/** integer encodes `:<n>\r\n`; n must be an integer. */
export function integer(n: number | bigint): Buffer {
  return Buffer.from(`:${integerText(n)}${CRLF}`);
}

function integerText(n: number | bigint): string {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) {
    throw internal(`RESP integer must be a safe integer, got ${n}`);
  }
  return n.toString();
}

/** nullValue encodes the protocol's null: `$-1\r\n` in RESP2, `_\r\n` in RESP3. */
export function nullValue(resp3: boolean): Buffer {
  return Buffer.from(resp3 ? `_${CRLF}` : `$-1${CRLF}`);
}

/** bulk encodes a bulk string `$<len>\r\n<bytes>\r\n` (strings as UTF-8), or null as {@link nullValue}. */
export function bulk(value: Buffer | string | null, resp3: boolean): Buffer {
  return encodeValue(value, resp3);
}

/** double encodes `,<n>\r\n` in RESP3 and a bulk string of the number in RESP2, as Redis does. */
export function double(n: number, resp3: boolean): Buffer {
  const text = Number.isNaN(n) ? 'nan' : n === Infinity ? 'inf' : n === -Infinity ? '-inf' : String(n);
  return resp3 ? Buffer.from(`,${text}${CRLF}`) : bulk(text, false);
}

/** boolean encodes `#t\r\n` / `#f\r\n` in RESP3 and `:1\r\n` / `:0\r\n` in RESP2, as Redis does. */
export function boolean(b: boolean, resp3: boolean): Buffer {
  return Buffer.from(resp3 ? `#${b ? 't' : 'f'}${CRLF}` : `:${b ? 1 : 0}${CRLF}`);
}

/** array encodes `*<n>\r\n` followed by each item (see {@link ReplyValue} for how items encode). */
export function array(items: readonly ReplyValue[], resp3: boolean): Buffer {
  return encodeValue(items, resp3);
}

/** set encodes `~<n>` in RESP3 and a plain array in RESP2. */
export function set(items: readonly ReplyValue[], resp3: boolean): Buffer {
  const parts: Buffer[] = [Buffer.from(`${resp3 ? '~' : '*'}${items.length}${CRLF}`)];
  for (const item of items) write(item, resp3, parts);
  return Buffer.concat(parts);
}

/** map encodes `%<pairs>` in RESP3 and a flat `*<2 × pairs>` key, value, … array in RESP2. */
export function map(entries: Iterable<readonly [ReplyValue, ReplyValue]>, resp3: boolean): Buffer {
  const pairs = Array.from(entries);
  const parts: Buffer[] = [Buffer.from(resp3 ? `%${pairs.length}${CRLF}` : `*${pairs.length * 2}${CRLF}`)];
  for (const [k, v] of pairs) {
    write(k, resp3, parts);
    write(v, resp3, parts);
  }
  return Buffer.concat(parts);
}

/**
 * push encodes an out-of-band message: `><n>` in RESP3, a plain array in RESP2 (where pub/sub
 * messages are arrays on a subscribed connection).
 */
export function push(items: readonly ReplyValue[], resp3 = true): Buffer {
  const parts: Buffer[] = [Buffer.from(`${resp3 ? '>' : '*'}${items.length}${CRLF}`)];
  for (const item of items) write(item, resp3, parts);
  return Buffer.concat(parts);
}

/** encodeValue encodes any {@link ReplyValue}. */
export function encodeValue(value: ReplyValue, resp3: boolean): Buffer {
  const parts: Buffer[] = [];
  write(value, resp3, parts);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function write(value: ReplyValue, resp3: boolean, parts: Buffer[]): void {
  if (value === null) {
    parts.push(nullValue(resp3));
  } else if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const body = typeof value === 'string' ? Buffer.from(value) : value;
    parts.push(Buffer.from(`$${body.length}${CRLF}`), body, Buffer.from(CRLF));
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    parts.push(integer(value));
  } else if (Array.isArray(value)) {
    parts.push(Buffer.from(`*${value.length}${CRLF}`));
    for (const item of value as readonly ReplyValue[]) write(item, resp3, parts);
  } else {
    parts.push((value as RawReply).raw);
  }
}

/**
 * command encodes a request as a multibulk `*<n>\r\n$<len>\r\n<arg>\r\n…` in one buffer, for
 * commands the agent sends upstream itself. Strings are encoded as UTF-8.
 */
export function command(args: readonly (string | Buffer)[]): Buffer {
  const bodies = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  let size = 3 + String(args.length).length;
  for (const b of bodies) size += 5 + String(b.length).length + b.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(`*${args.length}${CRLF}`, 0, 'latin1');
  for (const b of bodies) {
    at += out.write(`$${b.length}${CRLF}`, at, 'latin1');
    at += b.copy(out, at);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  return out;
}
