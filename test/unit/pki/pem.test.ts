import { describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { certificateDer, parsePemBlocks, toPem } from '../../../src/pki/pem.js';

describe('toPem and parsePemBlocks', () => {
  it('writes 64-character lines and reads the same bytes back', () => {
    const der = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
    const pem = toPem('CERTIFICATE', der);
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
    expect(lines.slice(1, -1).every((l) => l.length <= 64)).toBe(true);
    expect(lines[1]!.length).toBe(64);
    const [block] = parsePemBlocks(pem);
    expect(block!.type).toBe('CERTIFICATE');
    expect(block!.der.equals(der)).toBe(true);
    expect(block!.pem).toBe(pem);
  });

  it('returns every block of an identity file in order, ignoring text between blocks', () => {
    const text = [
      'Subject: alice',
      toPem('PRIVATE KEY', Buffer.from('key')),
      toPem('CERTIFICATE', Buffer.from('leaf')),
      '# CA\r\n',
      toPem('CERTIFICATE', Buffer.from('ca')).replace(/\n/g, '\r\n'),
    ].join('\n');
    const blocks = parsePemBlocks(text);
    expect(blocks.map((b) => b.type)).toEqual(['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE']);
    expect(blocks.map((b) => b.der.toString())).toEqual(['key', 'leaf', 'ca']);
  });

  it('returns no blocks for text without PEM', () => {
    expect(parsePemBlocks('hello')).toEqual([]);
  });

  it('rejects a block whose body is not base64, naming the block', () => {
    const bad = '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n';
    expect(() => parsePemBlocks(bad)).toThrow('PEM block 1 ("CERTIFICATE") does not hold valid base64');
  });

  it('rejects a block whose END label does not match its BEGIN label', () => {
    const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n';
    expect(() => parsePemBlocks(bad)).toThrow(/begins as "CERTIFICATE" but ends as "PRIVATE KEY"/);
  });
});

describe('certificateDer', () => {
  it('accepts DER bytes, PEM text and PEM bytes', () => {
    const der = Buffer.from('3003020101', 'hex');
    const pem = toPem('CERTIFICATE', der);
    expect(certificateDer(der)).toBe(der);
    expect(certificateDer(pem).equals(der)).toBe(true);
    expect(certificateDer(Buffer.from(pem)).equals(der)).toBe(true);
  });

  it('skips a leading private key block and takes the first certificate', () => {
    const der = Buffer.from('3003020101', 'hex');
    expect(certificateDer(toPem('PRIVATE KEY', Buffer.from('k')) + toPem('CERTIFICATE', der)).equals(der)).toBe(true);
  });

  it('throws a badParameter when no certificate is present', () => {
    try {
      certificateDer(toPem('PRIVATE KEY', Buffer.from('k')));
      expect.unreachable();
    } catch (err) {
      expect(isXError(err) && err.kind).toBe('bad-parameter');
      expect((err as Error).message).toMatch(/no PEM certificate found/);
    }
  });
});
