import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { isXError } from '../../../src/errors.js';
import { CertificateAuthority, CA_BACKDATE_MS, DEFAULT_CA_TTL_MS } from '../../../src/pki/ca.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { Identity, KeyPair, SignRequest } from '../../../src/pki/types.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');
const HOUR = 3600_000;

const identity: Identity = {
  user: 'alice',
  roles: ['dev'],
  traits: { db_users: ['alice'], db_names: ['0'] },
  usage: 'user',
  cluster: 'example',
};

function request(publicKey: KeyPair['publicKey'] | string, extra: Partial<SignRequest> = {}): SignRequest {
  return {
    publicKey,
    commonName: 'alice',
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + 12 * HOUR),
    extKeyUsage: ['clientAuth'],
    ...extra,
  };
}

/** extensionsOf parses a certificate with @peculiar/asn1-x509, independently of our DER reader. */
function extensionsOf(der: Buffer) {
  const cert = AsnConvert.parse(der, Certificate);
  const exts = new Map((cert.tbsCertificate.extensions ?? []).map((e) => [e.extnID, e]));
  const value = <T>(id: string, type: new () => T): T => AsnConvert.parse(exts.get(id)!.extnValue.buffer, type);
  return { cert, exts, value };
}

function errorOf(f: () => unknown): { kind: string; message: string; hint?: string } {
  try {
    f();
  } catch (err) {
    if (!isXError(err)) throw err;
    return { kind: err.kind, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  }
  throw new Error('expected a throw');
}

let ca: CertificateAuthority;
let leafKeys: KeyPair;

beforeAll(() => {
  ca = CertificateAuthority.create({ type: 'user', clusterName: 'example', now: NOW });
  leafKeys = generateKeyPair();
});

describe('CertificateAuthority.create', () => {
  it('makes a self-signed CA named after the cluster and its type', () => {
    const x = new X509Certificate(ca.certPem);
    expect(x.subject.split('\n')).toEqual(['O=example', 'CN=example user CA']);
    expect(x.issuer).toBe(x.subject);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.raw.equals(ca.certDer)).toBe(true);
    expect(ca.type).toBe('user');
  });

  it('is valid from one minute before now for ten years by default', () => {
    expect(ca.notBefore.getTime()).toBe(NOW.getTime() - CA_BACKDATE_MS);
    expect(ca.notAfter.getTime()).toBe(NOW.getTime() + DEFAULT_CA_TTL_MS);
    expect(new Date(new X509Certificate(ca.certDer).validTo).getTime()).toBe(ca.notAfter.getTime());
  });

  it('honours a custom lifetime', () => {
    const short = CertificateAuthority.create({ type: 'db', clusterName: 'c', now: NOW, ttlMs: 24 * HOUR });
    expect(short.notAfter.getTime()).toBe(NOW.getTime() + 24 * HOUR);
  });

  it('marks basicConstraints CA:TRUE pathlen:0 and keyUsage as critical, and sets an SKI', () => {
    const { exts, value } = extensionsOf(ca.certDer);
    expect(exts.get('2.5.29.19')!.critical).toBe(true);
    expect(value('2.5.29.19', BasicConstraints)).toMatchObject({ cA: true, pathLenConstraint: 0 });
    expect(exts.get('2.5.29.15')!.critical).toBe(true);
    expect(value('2.5.29.15', KeyUsage).toJSON().sort()).toEqual(['crlSign', 'digitalSignature', 'keyCertSign']);
    expect(Buffer.from(value('2.5.29.14', SubjectKeyIdentifier).buffer).length).toBe(20);
  });

  it('re-encodes byte for byte after a parse by @peculiar/asn1-x509 (canonical DER)', () => {
    const { cert } = extensionsOf(ca.certDer);
    expect(Buffer.from(AsnConvert.serialize(cert)).equals(ca.certDer)).toBe(true);
  });

  it('rejects an unknown type, an empty cluster name and a non-positive lifetime', () => {
    expect(errorOf(() => CertificateAuthority.create({ type: 'web' as never, clusterName: 'c' })).message).toBe(
      'unknown CA type "web"',
    );
    expect(errorOf(() => CertificateAuthority.create({ type: 'user', clusterName: ' ' })).kind).toBe('bad-parameter');
    expect(errorOf(() => CertificateAuthority.create({ type: 'user', clusterName: 'c', ttlMs: 0 })).message).toMatch(
      /invalid CA lifetime/,
    );
  });
});

describe('CertificateAuthority.fromMaterial', () => {
  it('reloads a CA that issues certificates chaining to the same certificate', () => {
    const m = ca.material();
    expect(m.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = CertificateAuthority.fromMaterial(m);
    expect(again.certPem).toBe(ca.certPem);
    expect(again.pin).toBe(ca.pin);
    expect(again.notAfter.getTime()).toBe(ca.notAfter.getTime());
    const leaf = again.issue(request(leafKeys.publicKey));
    expect(new X509Certificate(leaf.certDer).verify(ca.publicKey)).toBe(true);
  });

  it('rejects a key that does not match the certificate', () => {
    const other = CertificateAuthority.create({ type: 'user', clusterName: 'example' });
    const m = { ...ca.material(), keyPem: other.material().keyPem };
    expect(errorOf(() => CertificateAuthority.fromMaterial(m)).message).toBe(
      'the user CA private key does not match its certificate',
    );
  });

  it('rejects a leaf certificate presented as a CA', () => {
    const leaf = ca.issue(request(leafKeys.publicKey));
    const m = { type: 'user' as const, certPem: leaf.certPem, keyPem: leafKeys.privateKeyPem };
    expect(errorOf(() => CertificateAuthority.fromMaterial(m)).message).toMatch(/is not a CA certificate/);
  });

  it('rejects a corrupt key or certificate with a badParameter', () => {
    expect(errorOf(() => CertificateAuthority.fromMaterial({ ...ca.material(), keyPem: 'junk' })).message).toMatch(
      /not a valid PEM private key/,
    );
    expect(errorOf(() => CertificateAuthority.fromMaterial({ ...ca.material(), certPem: 'junk' })).kind).toBe(
      'bad-parameter',
    );
  });
});

describe('CertificateAuthority.issue', () => {
  it('issues an ECDSA leaf that node:crypto parses and verifies against the CA key', () => {
    const leaf = ca.issue(
      request(leafKeys.publicKey, { organization: ['dev', 'ops'], dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
    );
    const x = new X509Certificate(leaf.certPem);
    expect(x.subject.split('\n')).toEqual(['O=dev', 'O=ops', 'CN=alice']);
    expect(x.issuer).toBe(new X509Certificate(ca.certPem).subject);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(new Date(x.validFrom).getTime()).toBe(NOW.getTime());
    expect(new Date(x.validTo).getTime()).toBe(NOW.getTime() + 12 * HOUR);
    expect(x.verify(ca.publicKey)).toBe(true);
    expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x.ca).toBe(false);
    expect(x.serialNumber.toLowerCase()).toBe(leaf.serial);
    expect(x.publicKey.equals(leafKeys.publicKey)).toBe(true);
    expect(leaf.certDer.equals(x.raw)).toBe(true);
  });

  it('writes the extensions a TLS leaf needs, with the right criticality', () => {
    const leaf = ca.issue(request(leafKeys.publicKey, { extKeyUsage: ['serverAuth', 'clientAuth'], dnsNames: ['a.example'] }));
    const { exts, value } = extensionsOf(leaf.certDer);
    expect(exts.get('2.5.29.19')!.critical).toBe(true);
    expect(value('2.5.29.19', BasicConstraints).cA).toBe(false);
    expect(exts.get('2.5.29.15')!.critical).toBe(true);
    expect(value('2.5.29.15', KeyUsage).toJSON()).toEqual(['digitalSignature']);
    expect(exts.get('2.5.29.37')!.critical).toBe(false);
    expect([...value('2.5.29.37', ExtendedKeyUsage)]).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(value('2.5.29.17', SubjectAlternativeName).map((g) => g.dNSName)).toEqual(['a.example']);
    const spkiBits = Buffer.from(extensionsOf(leaf.certDer).cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
    const ski = Buffer.from(value('2.5.29.14', SubjectKeyIdentifier).buffer);
    expect(ski.equals(createHash('sha1').update(spkiBits).digest())).toBe(true);
    const caSki = Buffer.from(extensionsOf(ca.certDer).value('2.5.29.14', SubjectKeyIdentifier).buffer);
    const aki = value('2.5.29.35', AuthorityKeyIdentifier);
    expect(Buffer.from(aki.keyIdentifier!.buffer).equals(caSki)).toBe(true);
  });

  it('omits SAN and extKeyUsage when none are asked for', () => {
    const { exts } = extensionsOf(ca.issue(request(leafKeys.publicKey, { extKeyUsage: [] })).certDer);
    expect(exts.has('2.5.29.17')).toBe(false);
    expect(exts.has('2.5.29.37')).toBe(false);
  });

  it('re-encodes byte for byte after a parse by @peculiar/asn1-x509 (canonical DER)', () => {
    const leaf = ca.issue(request(leafKeys.publicKey, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }));
    const { cert } = extensionsOf(leaf.certDer);
    expect(cert.tbsCertificate.version).toBe(2);
    expect(cert.signatureAlgorithm.algorithm).toBe('1.2.840.10045.4.3.2');
    expect(cert.tbsCertificate.validity.notAfter.getTime().getTime()).toBe(NOW.getTime() + 12 * HOUR);
    expect(Buffer.from(AsnConvert.serialize(cert)).equals(leaf.certDer)).toBe(true);
  });

  it('writes the identity as a non-critical extension holding a UTF8String of its JSON', () => {
    const leaf = ca.issue(request(leafKeys.publicKey, { identity }));
    const { exts } = extensionsOf(leaf.certDer);
    // asn1js cannot print 128-bit arcs, so find the extension by elimination and check its bytes.
    const custom = [...exts.values()].filter((e) => e.extnID.startsWith('2.25.'));
    expect(custom).toHaveLength(1);
    expect(custom[0]!.critical).toBe(false);
    const value = Buffer.from(custom[0]!.extnValue.buffer);
    const json = JSON.stringify(identity);
    expect(value[0]).toBe(0x0c);
    expect(value.subarray(value.length - json.length).toString('utf8')).toBe(json);
  });

  it('gives each certificate a distinct positive 128-bit serial', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const leaf = ca.issue(request(leafKeys.publicKey));
      const raw = Buffer.from(extensionsOf(leaf.certDer).cert.tbsCertificate.serialNumber);
      expect(raw[0]! & 0x80).toBe(0); // positive
      const value = BigInt(`0x${raw.toString('hex')}`);
      expect(value > 0n && value < 2n ** 128n).toBe(true);
      expect(value.toString(16)).toBe(leaf.serial.replace(/^0+/, ''));
      serials.add(leaf.serial);
    }
    expect(serials.size).toBe(200);
  });

  it('clamps notAfter to the CA notAfter', () => {
    const shortCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'c', now: NOW, ttlMs: 2 * HOUR });
    const leaf = shortCa.issue(request(leafKeys.publicKey, { notAfter: new Date(NOW.getTime() + 24 * HOUR) }));
    expect(leaf.notAfter.getTime()).toBe(shortCa.notAfter.getTime());
    expect(new Date(new X509Certificate(leaf.certDer).validTo).getTime()).toBe(shortCa.notAfter.getTime());
  });

  it('refuses to issue once the CA has expired, and names the CA', () => {
    const shortCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'c', now: NOW, ttlMs: HOUR });
    const late = new Date(NOW.getTime() + 2 * HOUR);
    const err = errorOf(() => shortCa.issue(request(leafKeys.publicKey, { notBefore: late, notAfter: new Date(late.getTime() + HOUR) })));
    expect(err.message).toBe(`cannot issue: the db_client CA expires at ${shortCa.notAfter.toISOString()}, before the certificate would start`);
    expect(err.hint).toBe('Rotate the db_client CA.');
  });

  it('truncates times to whole seconds and reports what it wrote', () => {
    const leaf = ca.issue(request(leafKeys.publicKey, { notBefore: new Date(NOW.getTime() + 999), notAfter: new Date(NOW.getTime() + HOUR + 500) }));
    expect(leaf.notBefore.getTime()).toBe(NOW.getTime());
    expect(leaf.notAfter.getTime()).toBe(NOW.getTime() + HOUR);
  });

  it('rejects notAfter at or before notBefore, an empty common name and an unknown extKeyUsage', () => {
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { notAfter: NOW }))).message).toMatch(/is not after notBefore/);
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { commonName: '' }))).message).toMatch(/non-empty common name/);
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { extKeyUsage: ['codeSigning' as never] }))).message).toBe(
      'unknown extended key usage "codeSigning"',
    );
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { notBefore: new Date('x') }))).message).toMatch(/notBefore/);
  });

  it('accepts the subject key as SPKI PEM', () => {
    const leaf = ca.issue(request(leafKeys.publicKeyPem));
    expect(new X509Certificate(leaf.certDer).publicKey.equals(leafKeys.publicKey)).toBe(true);
  });

  it('refuses a private key, as an object or as PEM', () => {
    expect(errorOf(() => ca.issue(request(leafKeys.privateKey))).message).toBe(
      "issue: expected the subject's public key, got a private key",
    );
    expect(errorOf(() => ca.issue(request(leafKeys.privateKeyPem))).message).toBe(
      'expected a PEM public key but found a private key',
    );
  });

  it('refuses weak or unsupported subject keys', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const ed = generateKeyPairSync('ed25519').publicKey;
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    expect(errorOf(() => ca.issue(request(rsa1024))).message).toBe(
      'the subject key is a 1024-bit RSA key; at least 2048 bits are required',
    );
    expect(errorOf(() => ca.issue(request(ed))).message).toMatch(/is a ed25519 key/);
    expect(errorOf(() => ca.issue(request(k1))).message).toMatch(/uses curve secp256k1/);
  });

  it('writes IPv6 addresses as 16 bytes and IPv4 as 4', () => {
    const ips = ['::1', '2001:db8::1', '::ffff:10.0.0.1', 'fe80::', '1:2:3:4:5:6:7:8', '10.1.2.3'];
    const leaf = ca.issue(request(leafKeys.publicKey, { ipAddresses: ips }));
    const san = extensionsOf(leaf.certDer).value('2.5.29.17', SubjectAlternativeName);
    expect(san.map((g) => g.iPAddress)).toEqual(['::1', '2001:db8::1', '::ffff:a00:1', 'fe80::', '1:2:3:4:5:6:7:8', '10.1.2.3']);
    expect(new X509Certificate(leaf.certDer).subjectAltName).toBe(
      'IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:A00:1, ' +
        'IP Address:FE80:0:0:0:0:0:0:0, IP Address:1:2:3:4:5:6:7:8, IP Address:10.1.2.3',
    );
  });

  it('rejects malformed SAN entries with the value in the message', () => {
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { ipAddresses: ['1.2.3'] }))).message).toBe(
      'invalid IP address "1.2.3" for the certificate',
    );
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { ipAddresses: ['fe80::1%eth0'] }))).kind).toBe('bad-parameter');
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { dnsNames: ['bücher.example'] }))).message).toBe(
      'DNS name "bücher.example" is not ASCII',
    );
    expect(errorOf(() => ca.issue(request(leafKeys.publicKey, { dnsNames: ['a b'] }))).kind).toBe('bad-parameter');
  });

  it('writes a UTF8String common name when PrintableString cannot hold it', () => {
    const leaf = ca.issue(request(leafKeys.publicKey, { commonName: 'zoë@example.com' }));
    expect(new X509Certificate(leaf.certDer).subject).toBe('CN=zoë@example.com');
  });

  it('writes GeneralizedTime for dates from 2050 on', () => {
    const longCa = CertificateAuthority.create({ type: 'host', clusterName: 'c', now: NOW, ttlMs: 40 * 365 * 24 * HOUR });
    const notAfter = new Date('2055-01-01T00:00:00Z');
    const leaf = longCa.issue(request(leafKeys.publicKey, { notAfter }));
    expect(new Date(new X509Certificate(leaf.certDer).validTo).getTime()).toBe(notAfter.getTime());
    expect(extensionsOf(leaf.certDer).cert.tbsCertificate.validity.notAfter.generalTime?.getTime()).toBe(notAfter.getTime());
  });
});

describe('RSA-2048', () => {
  let rsaCa: CertificateAuthority;
  let rsaLeaf: KeyPair;
  beforeAll(() => {
    rsaCa = CertificateAuthority.create({ type: 'db', clusterName: 'example', algorithm: 'rsa-2048', now: NOW });
    rsaLeaf = generateKeyPair('rsa-2048');
  }, 60_000);

  it('creates an RSA CA and signs leaves with sha256WithRSAEncryption', () => {
    expect(rsaCa.publicKey.asymmetricKeyType).toBe('rsa');
    const leaf = rsaCa.issue(request(rsaLeaf.publicKey, { extKeyUsage: ['serverAuth'] }));
    const { cert, value } = extensionsOf(leaf.certDer);
    expect(cert.signatureAlgorithm.algorithm).toBe('1.2.840.113549.1.1.11');
    expect(new X509Certificate(leaf.certDer).verify(rsaCa.publicKey)).toBe(true);
    expect(value('2.5.29.15', KeyUsage).toJSON()).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(Buffer.from(AsnConvert.serialize(cert)).equals(leaf.certDer)).toBe(true);
  });

  it('lets an ECDSA CA certify an RSA key, with keyEncipherment', () => {
    const leaf = ca.issue(request(rsaLeaf.publicKeyPem));
    expect(new X509Certificate(leaf.certDer).verify(ca.publicKey)).toBe(true);
    expect(extensionsOf(leaf.certDer).value('2.5.29.15', KeyUsage).toJSON()).toEqual(['digitalSignature', 'keyEncipherment']);
  });

  it('round-trips through its material', () => {
    const again = CertificateAuthority.fromMaterial(rsaCa.material());
    const leaf = again.issue(request(leafKeys.publicKey));
    expect(new X509Certificate(leaf.certDer).verify(rsaCa.publicKey)).toBe(true);
  });
});
