/**
 * der: a small Distinguished Encoding Rules (X.690) encoder, just enough to build X.509 certificates.
 *
 * Every function returns the complete TLV (tag, length, value) as a Buffer, so values compose by
 * nesting calls: `sequence(integer(2n), oid('1.2.3'))`. Only low tag numbers (< 31) are supported,
 * which covers every universal type and context tag X.509 uses. Imports nothing internal but errors.
 */
import { badParameter } from '../errors.js';

/** Tag holds the universal tag bytes we emit (class and constructed bit included). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** encodeLength encodes a DER length: short form below 128, else the minimal long form. */
export function encodeLength(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw badParameter(`der: invalid length ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** tlv wraps content (one buffer or several, concatenated) in a tag and a DER length. */
export function tlv(tag: number, content: Buffer | readonly Buffer[]): Buffer {
  const body = Buffer.isBuffer(content) ? content : Buffer.concat(content);
  const n = body.length;
  // The header is built by hand for the common lengths: this runs ~40 times per certificate.
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else if (n < 0x100) header = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) header = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else header = Buffer.concat([Buffer.from([tag]), encodeLength(n)]);
  return Buffer.concat([header, body], header.length + n);
}

/** sequence encodes a SEQUENCE of already-encoded elements. */
export function sequence(...items: Buffer[]): Buffer {
  return tlv(Tag.SEQUENCE, items);
}

/** set encodes a SET OF already-encoded elements, sorted by their encodings as DER requires. */
export function set(...items: Buffer[]): Buffer {
  const sorted = items.length > 1 ? [...items].sort(Buffer.compare) : items;
  return tlv(Tag.SET, sorted);
}

/**
 * explicit encodes a context-specific constructed tag `[n] EXPLICIT` around an encoded element
 * (e.g. the certificate's `[0] version` and `[3] extensions`).
 */
export function explicit(n: number, ...items: Buffer[]): Buffer {
  return tlv(0xa0 | checkTagNumber(n), items);
}

/**
 * implicit encodes a context-specific primitive tag `[n] IMPLICIT` over raw content bytes
 * (e.g. GeneralName dNSName `[2]`, iPAddress `[7]`, AuthorityKeyIdentifier keyIdentifier `[0]`).
 */
export function implicit(n: number, content: Buffer): Buffer {
  return tlv(0x80 | checkTagNumber(n), content);
}

function checkTagNumber(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw badParameter(`der: context tag ${n} is out of range 0..30`);
  return n;
}

/** boolean encodes a BOOLEAN (DER: TRUE is 0xff). */
export function boolean(value: boolean): Buffer {
  return Buffer.from([Tag.BOOLEAN, 1, value ? 0xff : 0x00]);
}

/** nullValue encodes NULL (the parameters of sha256WithRSAEncryption). */
export function nullValue(): Buffer {
  return Buffer.from([Tag.NULL, 0]);
}

/**
 * integer encodes an INTEGER in minimal two's complement. A Buffer is read as an unsigned
 * big-endian magnitude (serial numbers): leading zeros are dropped and a 0x00 is prepended when
 * the high bit is set, so the value stays positive.
 */
export function integer(value: bigint | number | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return tlv(Tag.INTEGER, unsignedContent(value));
  let v = typeof value === 'bigint' ? value : BigInt(checkSafe(value));
  const bytes: number[] = [];
  // Emit bytes least significant first until the remainder is pure sign extension of the last byte.
  for (;;) {
    const b = Number(v & 0xffn);
    bytes.unshift(b);
    v >>= 8n;
    if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
  }
  return tlv(Tag.INTEGER, Buffer.from(bytes));
}

function checkSafe(n: number): number {
  if (!Number.isSafeInteger(n)) throw badParameter(`der: ${n} is not a safe integer; pass a bigint`);
  return n;
}

function unsignedContent(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  if (trimmed.length === 0) return Buffer.from([0]);
  return (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/**
 * oidContent encodes the content bytes of an OBJECT IDENTIFIER. Arcs are BigInts because the
 * 2.25 (UUID) arc carries a 128-bit number.
 */
export function oidContent(dotted: string): Buffer {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw badParameter(`der: "${dotted}" is not a dotted OID`);
  const arcs = dotted.split('.').map((s) => BigInt(s));
  const first = arcs[0]!;
  const second = arcs[1]!;
  if (first < 2n && second > 39n) throw badParameter(`der: OID ${dotted}: second arc must be below 40`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...group);
  }
  return Buffer.from(out);
}

/** oid encodes an OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  return tlv(Tag.OID, oidContent(dotted));
}

/** utf8String encodes a UTF8String. */
export function utf8String(s: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** isPrintable tells whether s fits PrintableString's character set (X.680 §41.4). */
export function isPrintable(s: string): boolean {
  return PRINTABLE.test(s);
}

/** printableString encodes a PrintableString; it refuses characters outside that set. */
export function printableString(s: string): Buffer {
  if (!isPrintable(s)) throw badParameter(`der: "${s}" has characters PrintableString cannot hold`);
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
}

/** ia5String encodes an IA5String (ASCII), the type of dNSName; it refuses non-ASCII text. */
export function ia5String(s: string): Buffer {
  return tlv(Tag.IA5_STRING, ia5Bytes(s));
}

/** ia5Bytes returns s as ASCII bytes, refusing anything outside 0..127. */
export function ia5Bytes(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(s)) throw badParameter(`der: "${s}" is not ASCII`);
  return Buffer.from(s, 'latin1');
}

/**
 * directoryString encodes an X.520 DirectoryString the way Go's crypto/x509 (and so Teleport)
 * does: PrintableString when every character fits, UTF8String otherwise.
 */
export function directoryString(s: string): Buffer {
  return isPrintable(s) ? printableString(s) : utf8String(s);
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

function timeDigits(d: Date): string {
  return (
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds())
  );
}

function checkDate(d: Date): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw badParameter('der: invalid date');
  return d;
}

/** utcTime encodes a UTCTime `YYMMDDHHMMSSZ` (years 1950–2049; milliseconds are dropped). */
export function utcTime(d: Date): Buffer {
  const year = checkDate(d).getUTCFullYear();
  if (year < 1950 || year > 2049) throw badParameter(`der: year ${year} does not fit a UTCTime`);
  return tlv(Tag.UTC_TIME, Buffer.from(pad2(year % 100) + timeDigits(d) + 'Z', 'latin1'));
}

/** generalizedTime encodes a GeneralizedTime `YYYYMMDDHHMMSSZ` (milliseconds are dropped). */
export function generalizedTime(d: Date): Buffer {
  const year = checkDate(d).getUTCFullYear();
  if (year < 0 || year > 9999) throw badParameter(`der: year ${year} does not fit a GeneralizedTime`);
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(String(year).padStart(4, '0') + timeDigits(d) + 'Z', 'latin1'));
}

/** x509Time encodes a certificate Time: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
export function x509Time(d: Date): Buffer {
  const year = checkDate(d).getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(d) : generalizedTime(d);
}

/** bitString encodes a BIT STRING whose last byte has `unusedBits` padding bits. */
export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw badParameter(`der: invalid unused-bit count ${unusedBits}`);
  }
  return tlv(Tag.BIT_STRING, [Buffer.from([unusedBits]), bytes]);
}

/**
 * namedBitString encodes a BIT STRING of named bits (KeyUsage): bit 0 is the most significant bit
 * of the first byte, and DER drops trailing zero bits.
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return bitString(bytes, 7 - (highest & 7));
}

/** octetString encodes an OCTET STRING. */
export function octetString(bytes: Buffer): Buffer {
  return tlv(Tag.OCTET_STRING, bytes);
}
