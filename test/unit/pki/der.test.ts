import { describe, expect, it } from 'vitest';
import {
  bitString,
  directoryString,
  encodeLength,
  explicit,
  generalizedTime,
  implicit,
  integer,
  namedBitString,
  octetString,
  oid,
  oidContent,
  printableString,
  sequence,
  set,
  utcTime,
  utf8String,
  x509Time,
} from '../../../src/pki/der.js';
import { children, decodeIpAddress, decodeOid, decodeTime, readElement, readSingle } from '../../../src/pki/der-reader.js';
import { IDENTITY_OID } from '../../../src/pki/types.js';

const hex = (b: Buffer) => b.toString('hex');

describe('DER lengths', () => {
  it('uses the short form below 128 and the minimal long form above', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(255))).toBe('81ff');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeLength(65535))).toBe('82ffff');
    expect(hex(encodeLength(65536))).toBe('83010000');
  });

  it('encodes a 200-byte value with a one-byte long-form length', () => {
    const v = octetString(Buffer.alloc(200, 7));
    expect(hex(v.subarray(0, 3))).toBe('0481c8');
    expect(v.length).toBe(203);
  });

  it('encodes a 300-byte value with a two-byte long-form length', () => {
    const v = octetString(Buffer.alloc(300, 7));
    expect(hex(v.subarray(0, 4))).toBe('0482012c');
    expect(v.length).toBe(304);
  });

  it('encodes a 70,000-byte value with a three-byte long-form length', () => {
    const v = octetString(Buffer.alloc(70_000));
    expect(hex(v.subarray(0, 5))).toBe('0483011170');
    expect(readSingle(v).content.length).toBe(70_000);
  });

  it('reads back lengths of 127, 128, 255, 256 and 1000 bytes', () => {
    for (const n of [0, 127, 128, 255, 256, 1000]) {
      const el = readSingle(sequence(octetString(Buffer.alloc(n, 1))));
      expect(children(el)[0]!.content.length).toBe(n);
    }
  });
});

describe('DER INTEGER', () => {
  it('encodes small numbers minimally', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(256))).toBe('02020100');
  });

  it('prepends a zero byte when the high bit is set, so the value stays positive', () => {
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(0xffn))).toBe('020200ff');
    expect(hex(integer(Buffer.from('ff01', 'hex')))).toBe('020300ff01');
    // A 128-bit serial with its top bit set takes 17 content bytes.
    expect(hex(integer(Buffer.from('80'.repeat(16), 'hex')))).toBe(`021100${'80'.repeat(16)}`);
  });

  it('drops leading zero bytes from an unsigned magnitude', () => {
    expect(hex(integer(Buffer.from('000001', 'hex')))).toBe('020101');
    expect(hex(integer(Buffer.from('000080', 'hex')))).toBe('02020080');
    expect(hex(integer(Buffer.from('0000', 'hex')))).toBe('020100');
  });

  it('encodes negative numbers in two’s complement', () => {
    expect(hex(integer(-1))).toBe('0201ff');
    expect(hex(integer(-128))).toBe('020180');
    expect(hex(integer(-129))).toBe('0202ff7f');
  });

  it('encodes numbers beyond 2^53 given as bigint and refuses unsafe numbers', () => {
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(() => integer(2 ** 60)).toThrow(/not a safe integer/);
  });
});

describe('DER OBJECT IDENTIFIER', () => {
  it('encodes well-known OIDs', () => {
    expect(hex(oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
  });

  it('encodes a second arc above 39 under arc 2 (X.690 example 2.999.3)', () => {
    expect(hex(oid('2.999.3'))).toBe('0603883703');
  });

  it('encodes the 128-bit UUID arc of the identity OID', () => {
    const uuid = BigInt(IDENTITY_OID.split('.')[2]!);
    expect(uuid).toBeGreaterThan(2n ** 120n);
    // Independent encoding: the binary digits in groups of seven, high bit on all but the last.
    const bits = uuid.toString(2);
    const padded = bits.padStart(Math.ceil(bits.length / 7) * 7, '0');
    const groups = padded.match(/.{7}/g)!.map((g, i, all) => parseInt(g, 2) | (i < all.length - 1 ? 0x80 : 0));
    const expected = Buffer.from([2 * 40 + 25, ...groups]);
    expect(hex(oidContent(IDENTITY_OID))).toBe(hex(expected));
    expect(decodeOid(oidContent(IDENTITY_OID))).toBe(IDENTITY_OID);
  });

  it('round-trips OIDs through the reader', () => {
    for (const o of ['0.9.2342.19200300.100.1.1', '1.3.6.1.5.5.7.3.2', '2.25.1', `2.25.${2n ** 128n - 1n}`]) {
      expect(decodeOid(readSingle(oid(o), 0x06).content)).toBe(o);
    }
  });

  it('refuses malformed dotted forms', () => {
    expect(() => oid('1')).toThrow(/not a dotted OID/);
    expect(() => oid('3.1')).toThrow(/not a dotted OID/);
    expect(() => oid('1.40')).toThrow(/below 40/);
    expect(() => oid('1.02')).toThrow(/not a dotted OID/);
  });
});

describe('DER strings', () => {
  it('encodes UTF8String as UTF-8 bytes', () => {
    expect(hex(utf8String('é'))).toBe('0c02c3a9');
  });

  it('encodes PrintableString and refuses characters outside its set', () => {
    expect(hex(printableString('a b'))).toBe('1303612062');
    expect(() => printableString('alice@example.com')).toThrow(/PrintableString/);
  });

  it('chooses PrintableString when possible and UTF8String otherwise', () => {
    expect(directoryString('example user CA')[0]).toBe(0x13);
    expect(directoryString('alice@example.com')[0]).toBe(0x0c);
    expect(directoryString('Zoë')[0]).toBe(0x0c);
  });
});

describe('DER times', () => {
  it('encodes UTCTime through 2049 and drops milliseconds', () => {
    const t = utcTime(new Date('2026-01-02T03:04:05.678Z'));
    expect(t.subarray(2).toString('latin1')).toBe('260102030405Z');
    expect(t[0]).toBe(0x17);
  });

  it('encodes GeneralizedTime from 2050 on, as RFC 5280 requires', () => {
    const d = new Date('2050-01-01T00:00:00Z');
    expect(x509Time(d)[0]).toBe(0x18);
    expect(x509Time(d).subarray(2).toString('latin1')).toBe('20500101000000Z');
    expect(x509Time(new Date('2049-12-31T23:59:59Z'))[0]).toBe(0x17);
    expect(() => utcTime(d)).toThrow(/UTCTime/);
  });

  it('reads both time forms back', () => {
    for (const iso of ['1999-12-31T23:59:59.000Z', '2026-06-15T12:00:00.000Z', '2077-07-04T01:02:03.000Z']) {
      const d = new Date(iso);
      expect(decodeTime(readSingle(x509Time(d))).toISOString()).toBe(iso);
      expect(decodeTime(readSingle(generalizedTime(d))).toISOString()).toBe(iso);
    }
  });
});

describe('DER BIT STRING and constructed types', () => {
  it('encodes named bits with trailing zero bits dropped (KeyUsage)', () => {
    expect(hex(namedBitString([0]))).toBe('03020780');
    expect(hex(namedBitString([0, 2]))).toBe('030205a0');
    expect(hex(namedBitString([0, 5, 6]))).toBe('03020186');
    expect(hex(namedBitString([8]))).toBe('0303070080');
    expect(hex(namedBitString([]))).toBe('030100');
    expect(hex(bitString(Buffer.from([0xab])))).toBe('030200ab');
  });

  it('sorts SET OF elements by their encodings', () => {
    expect(hex(set(integer(2), integer(1)))).toBe('3106020101020102');
  });

  it('encodes explicit and implicit context tags', () => {
    expect(hex(explicit(0, integer(2)))).toBe('a003020102');
    expect(hex(explicit(3, sequence()))).toBe('a3023000');
    expect(hex(implicit(2, Buffer.from('a')))).toBe('820161');
    expect(() => implicit(31, Buffer.alloc(0))).toThrow(/out of range/);
  });
});

describe('DER reader', () => {
  it('refuses indefinite, non-minimal and truncated lengths', () => {
    expect(() => readElement(Buffer.from('3080', 'hex'))).toThrow(/indefinite/);
    expect(() => readElement(Buffer.from('04817f' + '00'.repeat(127), 'hex'))).toThrow(/non-minimal/);
    expect(() => readElement(Buffer.from('0482007f' + '00'.repeat(127), 'hex'))).toThrow(/non-minimal/);
    expect(() => readElement(Buffer.from('040500', 'hex'))).toThrow(/truncated/);
    expect(() => readSingle(Buffer.from('05000500', 'hex'))).toThrow(/trailing/);
  });

  it('formats IP addresses as node does (RFC 5952 compression)', () => {
    expect(decodeIpAddress(Buffer.from([127, 0, 0, 1]))).toBe('127.0.0.1');
    expect(decodeIpAddress(Buffer.from('00000000000000000000000000000001', 'hex'))).toBe('::1');
    expect(decodeIpAddress(Buffer.from('20010db8000000010000000000000001', 'hex'))).toBe('2001:db8:0:1::1');
    expect(decodeIpAddress(Buffer.from('20010db8000100020003000400050006', 'hex'))).toBe('2001:db8:1:2:3:4:5:6');
  });
});
