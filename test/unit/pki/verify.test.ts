import { beforeAll, describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { CertificateAuthority } from '../../../src/pki/ca.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { Identity, IssuedCertificate, KeyPair, SignRequest } from '../../../src/pki/types.js';
import { verifyCertificate } from '../../../src/pki/verify.js';

const NOW = new Date('2026-03-01T10:00:00Z');
const HOUR = 3600_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

const identity: Identity = {
  user: 'alice',
  roles: ['dev'],
  traits: { db_users: ['alice'], db_names: [] },
  usage: 'user',
  cluster: 'example',
};

let userCa: CertificateAuthority;
let hostCa: CertificateAuthority;
let keys: KeyPair;
let cert: IssuedCertificate;

function issue(ca: CertificateAuthority, extra: Partial<SignRequest> = {}): IssuedCertificate {
  return ca.issue({
    publicKey: keys.publicKey,
    commonName: 'alice',
    notBefore: NOW,
    notAfter: at(12 * HOUR),
    extKeyUsage: ['clientAuth'],
    identity,
    ...extra,
  });
}

function failure(f: () => unknown): { kind: string; message: string; hint: string | undefined } {
  try {
    f();
  } catch (err) {
    if (!isXError(err)) throw err;
    return { kind: err.kind, message: err.message, hint: err.hint };
  }
  throw new Error('expected a throw');
}

beforeAll(() => {
  userCa = CertificateAuthority.create({ type: 'user', clusterName: 'example', now: NOW });
  hostCa = CertificateAuthority.create({ type: 'host', clusterName: 'example', now: NOW });
  keys = generateKeyPair();
  cert = issue(userCa);
});

describe('verifyCertificate', () => {
  it('returns the identity with validity and serial for a good certificate', () => {
    const v = verifyCertificate(cert.certPem, userCa, { now: at(HOUR), usages: ['user'], cluster: 'example' });
    expect(v).toEqual({ ...identity, notBefore: NOW, expires: at(12 * HOUR), serial: cert.serial });
  });

  it('accepts the certificate as DER and the CA as PEM, alone or in a list or bundle', () => {
    expect(verifyCertificate(cert.certDer, userCa.certPem, { now: NOW }).user).toBe('alice');
    expect(verifyCertificate(cert.certDer, [hostCa, userCa], { now: NOW }).user).toBe('alice');
    expect(verifyCertificate(cert.certDer, hostCa.certPem + userCa.certPem, { now: NOW }).user).toBe('alice');
  });

  it('accepts the certificate at the last second of its validity', () => {
    expect(verifyCertificate(cert.certDer, userCa, { now: cert.notAfter }).user).toBe('alice');
  });

  it('rejects a certificate with one flipped byte in its signed part', () => {
    const roles = cert.certDer.indexOf('"roles":["dev"]');
    expect(roles).toBeGreaterThan(0);
    const tampered = Buffer.from(cert.certDer);
    tampered[roles + 11]! ^= 0x01; // "dev" → "eev": still valid DER and JSON, so only the signature catches it
    const err = failure(() => verifyCertificate(tampered, userCa, { now: NOW }));
    expect(err).toMatchObject({ kind: 'access-denied', message: "certificate was not issued by this cluster's user CA" });
  });

  it('rejects the certificate whichever single byte of the TBS is flipped', () => {
    const small = issue(userCa, { identity: { ...identity, roles: [] } }).certDer;
    // The TBS starts after the outer SEQUENCE header (4 bytes for lengths 256..65535).
    expect([small[1], small[5]]).toEqual([0x82, 0x82]);
    const tbsLength = small.readUInt16BE(6);
    for (let i = 4; i < 8 + tbsLength; i++) {
      const tampered = Buffer.from(small);
      tampered[i]! ^= 0x01;
      expect(failure(() => verifyCertificate(tampered, userCa, { now: at(HOUR) })).kind, `byte ${i}`).toBe('access-denied');
    }
  });

  it('rejects a certificate with a flipped signature byte', () => {
    const tampered = Buffer.from(cert.certDer);
    tampered[tampered.length - 5]! ^= 0x01;
    expect(failure(() => verifyCertificate(tampered, userCa, { now: NOW })).message).toBe(
      "certificate was not issued by this cluster's user CA",
    );
  });

  it('rejects a certificate whose outer signature algorithm differs from the signed one', () => {
    // ecdsa-with-SHA256 (…04 03 02) → ecdsa-with-SHA384 (…04 03 03) in the unsigned outer copy only.
    const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
    const outer = cert.certDer.lastIndexOf(alg);
    expect(outer).toBeGreaterThan(cert.certDer.indexOf(alg));
    const swapped = Buffer.from(cert.certDer);
    swapped[outer + alg.length - 1] = 0x03;
    expect(failure(() => verifyCertificate(swapped, userCa, { now: NOW })).kind).toBe('access-denied');
  });

  it('verifies certificates from an RSA CA', () => {
    const rsaCa = CertificateAuthority.create({ type: 'user', clusterName: 'example', algorithm: 'rsa-2048', now: NOW });
    const rsaCert = issue(rsaCa);
    expect(verifyCertificate(rsaCert.certDer, [userCa, rsaCa.certPem], { now: NOW }).user).toBe('alice');
    expect(failure(() => verifyCertificate(rsaCert.certDer, userCa, { now: NOW })).kind).toBe('access-denied');
  }, 30_000);

  it('refuses a leaf certificate offered as a trusted CA', () => {
    expect(failure(() => verifyCertificate(cert.certDer, cert.certPem, { now: NOW }))).toMatchObject({
      kind: 'bad-parameter',
      message: 'verifyCertificate: a trusted CA certificate does not parse as a CA',
    });
  });

  it('rejects a certificate from another cluster’s CA with the same name', () => {
    const foreignCa = CertificateAuthority.create({ type: 'user', clusterName: 'example', now: NOW });
    const err = failure(() => verifyCertificate(issue(foreignCa).certDer, userCa, { now: NOW }));
    expect(err).toEqual({
      kind: 'access-denied',
      message: "certificate was not issued by this cluster's user CA",
      hint: 'Log in to this cluster again to get a certificate it trusts.',
    });
  });

  it('rejects a host certificate where only the user CA is trusted, and names every trusted CA', () => {
    const hostCert = issue(hostCa).certDer;
    expect(failure(() => verifyCertificate(hostCert, userCa, { now: NOW })).message).toBe(
      "certificate was not issued by this cluster's user CA",
    );
    const dbCa = CertificateAuthority.create({ type: 'db', clusterName: 'example', now: NOW });
    expect(failure(() => verifyCertificate(hostCert, [userCa, dbCa], { now: NOW })).message).toBe(
      "certificate was not issued by this cluster's user or db CA",
    );
    expect(failure(() => verifyCertificate(hostCert, userCa.certPem, { now: NOW })).message).toBe(
      'certificate was not issued by a trusted CA',
    );
  });

  it('asks for a new login when the certificate has expired', () => {
    const err = failure(() => verifyCertificate(cert.certDer, userCa, { now: at(12 * HOUR + 1000) }));
    expect(err).toEqual({
      kind: 'auth-required',
      message: 'certificate expired at 2026-03-01T22:00:00.000Z',
      hint: 'Log in again to get a fresh certificate.',
    });
  });

  it('rejects a certificate that is not valid yet, naming notBefore', () => {
    const err = failure(() => verifyCertificate(cert.certDer, userCa, { now: at(-1000) }));
    expect(err).toMatchObject({ kind: 'access-denied', message: 'certificate is not valid until 2026-03-01T10:00:00.000Z' });
  });

  it('rejects a certificate issued for another usage', () => {
    const err = failure(() => verifyCertificate(cert.certDer, userCa, { now: NOW, usages: ['admin', 'host'] }));
    expect(err).toMatchObject({ kind: 'access-denied', message: 'certificate is for user use, not admin or host' });
  });

  it('rejects a certificate from another cluster', () => {
    const err = failure(() => verifyCertificate(cert.certDer, userCa, { now: NOW, cluster: 'prod' }));
    expect(err).toMatchObject({ kind: 'access-denied', message: 'certificate belongs to cluster "example", not "prod"' });
  });

  it('rejects a certificate without an identity', () => {
    const bare = userCa.issue({ publicKey: keys.publicKey, commonName: 'alice', notBefore: NOW, notAfter: at(HOUR), extKeyUsage: [] });
    expect(failure(() => verifyCertificate(bare.certDer, userCa, { now: NOW }))).toMatchObject({
      kind: 'access-denied',
      message: 'certificate carries no xport identity',
    });
  });

  it('rejects the CA certificate itself presented as a leaf', () => {
    expect(failure(() => verifyCertificate(userCa.certDer, userCa, { now: NOW })).message).toBe(
      'a CA certificate cannot be used as a client or server certificate',
    );
  });

  it('rejects bytes that are not a certificate', () => {
    expect(failure(() => verifyCertificate(Buffer.from('30020500', 'hex'), userCa, { now: NOW }))).toMatchObject({
      kind: 'access-denied',
      message: 'the presented certificate is not a valid X.509 certificate',
    });
  });

  it('refuses to run without a trusted CA or a valid time', () => {
    expect(failure(() => verifyCertificate(cert.certDer, [], { now: NOW })).kind).toBe('bad-parameter');
    expect(failure(() => verifyCertificate(cert.certDer, userCa, { now: new Date('nope') })).kind).toBe('bad-parameter');
  });
});
