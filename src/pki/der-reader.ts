/**
 * der-reader: a strict, allocation-light DER reader used to walk certificates without a full
 * ASN.1 library (decodeIdentity runs once per connection, so it must stay cheap).
 *
 * Elements are views (`subarray`) into the input, never copies. Indefinite lengths, non-minimal
 * lengths, high tag numbers and truncated input are errors: certificates are DER, not BER.
 */
import { badParameter } from '../errors.js';

/** DerElement is one decoded TLV: its tag byte, its whole encoding and its content. */
export interface DerElement {
  tag: number;
  /** The complete encoding (tag, length and content). */
  bytes: Buffer;
  /** The content octets only. */
  content: Buffer;
}

function malformed(what: string): Error {
  return badParameter(`malformed DER: ${what}`);
}

/** readElement decodes the element that starts at `offset` and must end at or before `limit`. */
export function readElement(buf: Buffer, offset = 0, limit = buf.length): DerElement {
  if (offset + 2 > limit) throw malformed('truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('high tag numbers are not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len >= 0x80) {
    const count = len & 0x7f;
    if (count === 0) throw malformed('indefinite length');
    if (count > 4) throw malformed('length too large');
    if (pos + count > limit) throw malformed('truncated length');
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + buf[pos + i]!;
    pos += count;
    if (len < 0x80 || buf[offset + 2] === 0) throw malformed('non-minimal length');
  }
  const end = pos + len;
  if (end > limit) throw malformed('truncated content');
  return { tag, bytes: buf.subarray(offset, end), content: buf.subarray(pos, end) };
}

/** readSingle decodes buf as exactly one element, refusing trailing bytes. */
export function readSingle(buf: Buffer, expectedTag?: number): DerElement {
  const el = readElement(buf);
  if (el.bytes.length !== buf.length) throw malformed('trailing bytes');
  if (expectedTag !== undefined) expectTag(el, expectedTag);
  return el;
}

/** children decodes the elements inside a constructed element's content. */
export function children(el: DerElement): DerElement[] {
  if ((el.tag & 0x20) === 0) throw malformed(`tag 0x${el.tag.toString(16)} is not constructed`);
  const out: DerElement[] = [];
  const buf = el.content;
  for (let off = 0; off < buf.length; ) {
    const child = readElement(buf, off);
    out.push(child);
    off += child.bytes.length;
  }
  return out;
}

/** expectTag throws unless el has the given tag; it returns el for chaining. */
export function expectTag(el: DerElement | undefined, tag: number): DerElement {
  if (el === undefined) throw malformed(`missing element with tag 0x${tag.toString(16)}`);
  if (el.tag !== tag) throw malformed(`expected tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return el;
}

/** decodeOid turns OBJECT IDENTIFIER content bytes back into dotted form (BigInt arcs). */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw malformed('empty OID');
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (v === 0n && b === 0x80) throw malformed('non-minimal OID arc');
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
    } else if (i === content.length - 1) {
      throw malformed('truncated OID');
    }
  }
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** decodeTime reads a UTCTime or GeneralizedTime in the `Z` forms RFC 5280 requires. */
export function decodeTime(el: DerElement): Date {
  const s = el.content.toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (el.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (el.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    year = Number(m[1]);
  } else {
    throw malformed(`bad time "${s}"`);
  }
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  d.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999
  return d;
}

/** decodeIpAddress formats an iPAddress GeneralName (4 or 16 bytes) the way node prints it. */
export function decodeIpAddress(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw malformed(`iPAddress of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
