import { createPrivateKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { generateKeyPair, privateKeyFromPem, publicKeyFromPem } from '../../../src/pki/keys.js';
import { toPem } from '../../../src/pki/pem.js';

function badParameterMessage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(isXError(err) && err.kind).toBe('bad-parameter');
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('generateKeyPair', () => {
  it('makes an ECDSA P-256 pair by default, with PKCS#8 and SPKI PEM', () => {
    const kp = generateKeyPair();
    expect(kp.privateKey.asymmetricKeyType).toBe('ec');
    expect(kp.privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(kp.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(kp.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const sig = sign('sha256', Buffer.from('x'), kp.privateKey);
    expect(verify('sha256', Buffer.from('x'), kp.publicKey, sig)).toBe(true);
  });

  it('makes an RSA-2048 pair when asked', () => {
    const kp = generateKeyPair('rsa-2048');
    expect(kp.publicKey.asymmetricKeyType).toBe('rsa');
    expect(kp.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(kp.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('rejects an unknown algorithm', () => {
    expect(badParameterMessage(() => generateKeyPair('dsa-1024' as never))).toBe('unknown key algorithm "dsa-1024"');
  });
});

describe('privateKeyFromPem', () => {
  it('loads a PKCS#8 key and the key inside an identity file', () => {
    const kp = generateKeyPair();
    expect(privateKeyFromPem(kp.privateKeyPem).equals(kp.privateKey)).toBe(true);
    const identityFile = toPem('CERTIFICATE', Buffer.from('3000', 'hex')) + kp.privateKeyPem;
    expect(privateKeyFromPem(identityFile).equals(kp.privateKey)).toBe(true);
  });

  it('loads a SEC1 EC key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(privateKeyFromPem(sec1).equals(ec.privateKey)).toBe(true);
  });

  it('says a file without a key holds no valid private key', () => {
    expect(badParameterMessage(() => privateKeyFromPem('garbage'))).toMatch(/^not a valid PEM private key/);
  });

  it('says a corrupt key block is not a valid private key, without quoting it', () => {
    const corrupt = toPem('PRIVATE KEY', Buffer.from('this is not a key'));
    const msg = badParameterMessage(() => privateKeyFromPem(corrupt));
    expect(msg).toMatch(/^not a valid PEM private key/);
    expect(msg).not.toContain('this is not');
  });

  it('refuses an encrypted key with a hint', () => {
    const enc = createPrivateKey(generateKeyPair().privateKeyPem).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }) as string;
    expect(badParameterMessage(() => privateKeyFromPem(enc))).toBe('the PEM private key is encrypted');
  });
});

describe('publicKeyFromPem', () => {
  it('loads an SPKI public key', () => {
    const kp = generateKeyPair();
    expect(publicKeyFromPem(kp.publicKeyPem).equals(kp.publicKey)).toBe(true);
  });

  it('refuses a private key instead of deriving its public half', () => {
    expect(badParameterMessage(() => publicKeyFromPem(generateKeyPair().privateKeyPem))).toBe(
      'expected a PEM public key but found a private key',
    );
  });

  it('rejects garbage', () => {
    expect(badParameterMessage(() => publicKeyFromPem('nope'))).toMatch(/^not a valid PEM public key/);
    expect(badParameterMessage(() => publicKeyFromPem(toPem('PUBLIC KEY', Buffer.from('x'))))).toMatch(
      /^not a valid PEM public key/,
    );
  });
});
