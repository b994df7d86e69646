/**
 * extensions: DER encoders for the Names and X.509 v3 extensions xport certificates carry
 * (RFC 5280 §4.1.2.4 and §4.2.1). Each returns a complete Extension (or Name) ready to splice into a
 * TBSCertificate; the constant ones are encoded once at load.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { badParameter } from '../errors.js';
import {
  boolean,
  directoryString,
  ia5Bytes,
  implicit,
  integer,
  namedBitString,
  octetString,
  oid,
  sequence,
  set,
} from './der.js';
import { spkiPublicKeyBits } from './certificate.js';
import type { ExtKeyUsage } from './types.js';

/**
 * extension encodes an Extension: the OID (dotted, or already encoded), the critical flag when set
 * (DER omits FALSE), and the value. Per-leaf callers pass encoded OIDs: OID encoding is BigInt work.
 */
export function extension(extnId: string | Buffer, critical: boolean, value: Buffer): Buffer {
  const id = typeof extnId === 'string' ? oid(extnId) : extnId;
  return critical ? sequence(id, TRUE, octetString(value)) : sequence(id, octetString(value));
}

const TRUE = boolean(true);
const EXT = {
  subjectKeyIdentifier: oid('2.5.29.14'),
  subjectAltName: oid('2.5.29.17'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  extKeyUsage: oid('2.5.29.37'),
} as const;

const CN = oid('2.5.4.3');
const O = oid('2.5.4.10');

/**
 * distinguishedName encodes a Name of one RDN per attribute: the organizations first, then the
 * common name, the conventional most-general-first order.
 */
export function distinguishedName(commonName: string, organizations: readonly string[] = []): Buffer {
  const rdns = organizations.map((o) => set(sequence(O, directoryString(o))));
  rdns.push(set(sequence(CN, directoryString(commonName))));
  return sequence(...rdns);
}

/** KEY_USAGE_BITS numbers the KeyUsage bits we set (RFC 5280 §4.2.1.3). */
const KEY_USAGE_BITS = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** keyUsage encodes a critical KeyUsage extension with the named bits. */
export function keyUsage(usages: readonly (keyof typeof KEY_USAGE_BITS)[]): Buffer {
  return extension('2.5.29.15', true, namedBitString(usages.map((u) => KEY_USAGE_BITS[u])));
}

/** CA_BASIC_CONSTRAINTS is the critical `CA:TRUE, pathlen:0` extension: our CAs sign leaves only. */
export const CA_BASIC_CONSTRAINTS = extension('2.5.29.19', true, sequence(boolean(true), integer(0)));
/** LEAF_BASIC_CONSTRAINTS is the critical `CA:FALSE` extension (DER omits the FALSE default). */
export const LEAF_BASIC_CONSTRAINTS = extension('2.5.29.19', true, sequence());
/** CA_KEY_USAGE is keyCertSign + cRLSign + digitalSignature. */
export const CA_KEY_USAGE = keyUsage(['digitalSignature', 'keyCertSign', 'cRLSign']);
/** LEAF_KEY_USAGE_EC is digitalSignature: all an ECDSA key does in TLS 1.2 ECDHE and TLS 1.3. */
export const LEAF_KEY_USAGE_EC = keyUsage(['digitalSignature']);
/** LEAF_KEY_USAGE_RSA adds keyEncipherment, which TLS 1.2 RSA key exchange asks of RSA keys. */
export const LEAF_KEY_USAGE_RSA = keyUsage(['digitalSignature', 'keyEncipherment']);

const EKU_OIDS: Record<ExtKeyUsage, Buffer> = {
  serverAuth: oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: oid('1.3.6.1.5.5.7.3.2'),
};

/** extKeyUsage encodes a non-critical ExtendedKeyUsage extension; usages must be known names. */
export function extKeyUsage(usages: readonly ExtKeyUsage[]): Buffer {
  const oids = [...new Set(usages)].map((u) => {
    const encoded = EKU_OIDS[u];
    if (!encoded) throw badParameter(`unknown extended key usage "${String(u)}"`, { hint: 'Use serverAuth or clientAuth.' });
    return encoded;
  });
  return extension(EXT.extKeyUsage, false, sequence(...oids));
}

/**
 * subjectAltName encodes a non-critical SubjectAltName of dNSName and iPAddress entries. DNS names
 * must be ASCII (IDNs in their xn-- form); IP addresses are IPv4 or IPv6 text.
 */
export function subjectAltName(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  const names: Buffer[] = [];
  for (const name of dnsNames) {
    if (typeof name !== 'string' || name === '' || /[\s\0]/.test(name)) {
      throw badParameter(`invalid DNS name ${JSON.stringify(name)} for the certificate`);
    }
    try {
      names.push(implicit(2, ia5Bytes(name)));
    } catch {
      throw badParameter(`DNS name ${JSON.stringify(name)} is not ASCII`, { hint: 'Use the punycode (xn--) form.' });
    }
  }
  for (const ip of ipAddresses) names.push(implicit(7, ipAddressBytes(ip)));
  return extension(EXT.subjectAltName, false, sequence(...names));
}

/** ipAddressBytes turns IPv4 or IPv6 text into its 4 or 16 network-order bytes. */
export function ipAddressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip) || ip.includes('%')) {
    throw badParameter(`invalid IP address ${JSON.stringify(ip)} for the certificate`, {
      hint: 'Give a plain IPv4 or IPv6 address, without a zone or port.',
    });
  }
  let text = ip;
  const tail: number[] = [];
  if (text.includes('.')) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last two groups.
    const lastColon = text.lastIndexOf(':');
    const v4 = text.slice(lastColon + 1).split('.').map(Number);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const [headText = '', restText] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = groups(headText);
  const rest = restText === undefined ? [] : groups(restText);
  const missing = 8 - tail.length - head.length - rest.length;
  const all = [...head, ...Array<number>(restText === undefined ? 0 : missing).fill(0), ...rest, ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * keyIdentifier computes a key identifier the way RFC 5280 §4.2.1.2 (1) describes: the SHA-1 of
 * the subjectPublicKey bits of a DER SubjectPublicKeyInfo.
 */
export function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha1').update(spkiPublicKeyBits(spki)).digest();
}

/** subjectKeyIdentifierExtension encodes a non-critical SubjectKeyIdentifier. */
export function subjectKeyIdentifierExtension(keyId: Buffer): Buffer {
  return extension(EXT.subjectKeyIdentifier, false, octetString(keyId));
}

/** authorityKeyIdentifierExtension encodes a non-critical AuthorityKeyIdentifier `[0] keyIdentifier`. */
export function authorityKeyIdentifierExtension(keyId: Buffer): Buffer {
  return extension(EXT.authorityKeyIdentifier, false, sequence(implicit(0, keyId)));
}
