import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { CertificateAuthority } from '../../../src/pki/ca.js';
import { certificateInfo } from '../../../src/pki/info.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { Identity, KeyPair } from '../../../src/pki/types.js';

const NOW = new Date('2026-03-01T10:00:00Z');
const identity: Identity = {
  user: 'bob',
  roles: ['ops'],
  traits: { db_users: ['bob'], db_names: ['0'] },
  usage: 'db_client',
  cluster: 'example',
};

let ca: CertificateAuthority;
let keys: KeyPair;

beforeAll(() => {
  ca = CertificateAuthority.create({ type: 'db_client', clusterName: 'example', now: NOW });
  keys = generateKeyPair();
});

describe('certificateInfo', () => {
  it('summarizes a leaf: names, serial, validity, SANs and identity', () => {
    const leaf = ca.issue({
      publicKey: keys.publicKey,
      commonName: 'bob',
      organization: ['ops'],
      dnsNames: ['redis.internal', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 600_000),
      extKeyUsage: ['clientAuth'],
      identity,
    });
    const info = certificateInfo(leaf.certPem);
    expect(info).toEqual({
      commonName: 'bob',
      serial: leaf.serial,
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 600_000),
      issuerCommonName: 'example db_client CA',
      dnsNames: ['redis.internal', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      identity,
    });
    expect(info.serial).toBe(new X509Certificate(leaf.certDer).serialNumber.toLowerCase());
  });

  it('summarizes a CA certificate: no SANs, no identity', () => {
    const info = certificateInfo(ca.certDer);
    expect(info.commonName).toBe('example db_client CA');
    expect(info.issuerCommonName).toBe('example db_client CA');
    expect(info.dnsNames).toEqual([]);
    expect(info.ipAddresses).toEqual([]);
    expect(info).not.toHaveProperty('identity');
  });

  it('reads the certificate out of an identity file', () => {
    const leaf = ca.issue({ publicKey: keys.publicKey, commonName: 'bob', notBefore: NOW, notAfter: new Date(NOW.getTime() + 1000), extKeyUsage: [] });
    expect(certificateInfo(keys.privateKeyPem + leaf.certPem + ca.certPem).commonName).toBe('bob');
  });

  it('throws a badParameter for garbage', () => {
    try {
      certificateInfo('not a certificate');
      expect.unreachable();
    } catch (err) {
      expect(isXError(err) && err.kind).toBe('bad-parameter');
    }
  });
});
