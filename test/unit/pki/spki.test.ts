import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { subjectKeyInfo } from '../../../src/pki/spki.js';

describe('subjectKeyInfo', () => {
  it('encodes P-256 keys exactly as OpenSSL does, including coordinates with leading zero bytes', () => {
    // 400 keys make coordinates starting with 0x00 (1 in 128 per coordinate) near certain.
    for (let i = 0; i < 400; i++) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { kind, spki } = subjectKeyInfo(publicKey, 'k');
      expect(kind).toBe('ec');
      expect(spki.equals(publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    }
  });

  it('encodes P-384 and RSA keys exactly as OpenSSL does', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(subjectKeyInfo(p384, 'k').spki.equals(p384.export({ type: 'spki', format: 'der' }))).toBe(true);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const info = subjectKeyInfo(rsa, 'k');
    expect(info.kind).toBe('rsa');
    expect(info.spki.equals(rsa.export({ type: 'spki', format: 'der' }))).toBe(true);
  });

  it('names the key in its refusals', () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(() => subjectKeyInfo(ed, 'the subject key')).toThrow('the subject key is a ed25519 key; use ECDSA P-256 or RSA-2048');
  });
});
