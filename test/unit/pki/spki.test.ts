import { ECDH, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { bitString, sequence } from '../../../src/pki/der.js';
import { children, readSingle } from '../../../src/pki/der-reader.js';
import { toPem } from '../../../src/pki/pem.js';
import { subjectKeyInfo, subjectKeyInfoFromPem } from '../../../src/pki/spki.js';

const spkiOf = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ type: 'spki', format: 'der' });

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

describe('subjectKeyInfoFromPem', () => {
  it('accepts P-256 and P-384 PEM keys on its fast path, byte-identical to OpenSSL', () => {
    for (let i = 0; i < 200; i++) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: i % 10 === 0 ? 'P-384' : 'P-256' });
      const info = subjectKeyInfoFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'k');
      expect(info.kind).toBe('ec');
      expect(info.spki.equals(spkiOf(publicKey))).toBe(true);
    }
  });

  it('rejects a point that is not on the curve', () => {
    const der = Buffer.from(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
    der[der.length - 1]! ^= 0x01; // change y
    try {
      subjectKeyInfoFromPem(toPem('PUBLIC KEY', der), 'the subject key');
      expect.unreachable();
    } catch (err) {
      expect(isXError(err) && err.kind).toBe('bad-parameter');
      expect((err as Error).message).toBe('the subject key is not a valid EC public key (its point is not on the curve)');
    }
  });

  it('rejects coordinates outside the field', () => {
    const der = Buffer.from(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
    der.fill(0xff, der.length - 64, der.length - 32); // x = 2^256 - 1 > p
    expect(() => subjectKeyInfoFromPem(toPem('PUBLIC KEY', der), 'k')).toThrow(/not on the curve/);
  });

  it('hands other shapes to OpenSSL: compressed points and RSA keys', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const [alg, bits] = children(readSingle(spkiOf(publicKey)));
    const compressed = ECDH.convertKey(bits!.content.subarray(1), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const compressedPem = toPem('PUBLIC KEY', sequence(alg!.bytes, bitString(compressed)));
    expect(subjectKeyInfoFromPem(compressedPem, 'k').spki.equals(spkiOf(publicKey))).toBe(true);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const info = subjectKeyInfoFromPem(rsa.export({ type: 'spki', format: 'pem' }) as string, 'k');
    expect(info).toEqual({ kind: 'rsa', spki: spkiOf(rsa) });
  });

  it('gives the PEM loader’s errors for garbage and private keys', () => {
    expect(() => subjectKeyInfoFromPem('junk', 'k')).toThrow(/^not a valid PEM public key/);
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => subjectKeyInfoFromPem(priv, 'k')).toThrow('expected a PEM public key but found a private key');
  });
});
