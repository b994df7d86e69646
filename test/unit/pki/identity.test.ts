import { beforeAll, describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { CertificateAuthority } from '../../../src/pki/ca.js';
import { decodeIdentity } from '../../../src/pki/identity.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { Identity, KeyPair, VerifiedIdentity } from '../../../src/pki/types.js';

const NOW = new Date('2026-03-01T10:00:00Z');

const identity: Identity = {
  user: 'alice@example.com',
  roles: ['access', 'redis-dev'],
  traits: { db_users: ['alice', 'readonly'], db_names: ['0', '1'] },
  usage: 'user',
  cluster: 'example',
  route: { database: 'cache-prod', dbUser: 'alice', dbName: '0' },
};

let ca: CertificateAuthority;
let keys: KeyPair;

function issue(id?: Identity): Buffer {
  return ca.issue({
    publicKey: keys.publicKey,
    commonName: id?.user ?? 'nobody',
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + 3600_000),
    extKeyUsage: ['clientAuth'],
    ...(id ? { identity: id } : {}),
  }).certDer;
}

/** rewrite replaces text inside the certificate's bytes with text of the same length (DER stays valid). */
function rewrite(der: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  const at = der.indexOf(from);
  expect(at).toBeGreaterThan(0);
  const out = Buffer.from(der);
  out.write(to, at, 'latin1');
  return out;
}

function accessDeniedMessage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(isXError(err) && err.kind).toBe('access-denied');
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

beforeAll(() => {
  ca = CertificateAuthority.create({ type: 'user', clusterName: 'example', now: NOW });
  keys = generateKeyPair();
});

describe('identity in certificates', () => {
  it('round-trips an identity through a certificate, from DER and from PEM', () => {
    const der = issue(identity);
    expect(decodeIdentity(der)).toEqual(identity);
    expect(decodeIdentity(ca.issue({ publicKey: keys.publicKey, commonName: 'h', notBefore: NOW, notAfter: new Date(NOW.getTime() + 1000), extKeyUsage: [], identity }).certPem)).toEqual(identity);
  });

  it('round-trips a host identity with a hostId and no route', () => {
    const host: Identity = { user: 'agent-1', roles: [], traits: { db_users: [], db_names: [] }, usage: 'host', cluster: 'example', hostId: 'b7e1' };
    expect(decodeIdentity(issue(host))).toEqual(host);
  });

  it('returns undefined for a certificate without the identity extension', () => {
    expect(decodeIdentity(issue())).toBeUndefined();
    expect(decodeIdentity(ca.certPem)).toBeUndefined();
  });

  it('writes only the known fields, so a VerifiedIdentity re-issues cleanly', () => {
    const verified: VerifiedIdentity = { ...identity, notBefore: NOW, expires: NOW, serial: 'ab' };
    const der = issue(verified);
    expect(der.includes('expires')).toBe(false);
    expect(decodeIdentity(der)).toEqual(identity);
  });

  it('drops unknown JSON keys when reading', () => {
    const der = rewrite(issue({ ...identity, hostId: 'h1' }), '"hostId"', '"hostXd"');
    const read = decodeIdentity(der)!;
    expect(read).toEqual(identity);
    expect(Object.keys(read)).not.toContain('hostXd');
  });

  it('refuses to issue a malformed identity', () => {
    const bad = { ...identity, roles: 'admin' } as unknown as Identity;
    expect(() => issue(bad)).toThrow('invalid identity: roles must be a list of strings');
    expect(() => issue({ ...identity, usage: 'root' as never })).toThrow(/invalid identity: usage must be one of/);
  });

  it('denies a certificate whose identity has the wrong shape', () => {
    expect(accessDeniedMessage(() => decodeIdentity(rewrite(issue(identity), '"usage":"user"', '"usage":"uber"')))).toBe(
      'certificate carries a malformed identity: usage must be one of user, admin, host, db, db_client, db_server',
    );
    expect(accessDeniedMessage(() => decodeIdentity(rewrite(issue(identity), '"db_users":[', '"db_users":{')))).toBe(
      'certificate carries a malformed identity: not a JSON string',
    );
    expect(accessDeniedMessage(() => decodeIdentity(rewrite(issue(identity), '"roles":["', '"roles":"[')))).toMatch(
      /malformed identity/,
    );
  });

  it('throws a badParameter for bytes that are not a certificate', () => {
    try {
      decodeIdentity(Buffer.from('3003020101', 'hex'));
      expect.unreachable();
    } catch (err) {
      expect(isXError(err) && err.kind).toBe('bad-parameter');
      expect((err as Error).message).toBe('not a valid X.509 certificate');
    }
  });
});
