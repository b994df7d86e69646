/**
 * certificate: walks an X.509 certificate's DER into the fields xport reads (issuer and subject
 * names, validity, public key, extensions). No signature checks here; see verify.ts.
 *
 * Names, keys and extension values are returned as raw DER views so the CA can copy its subject
 * byte for byte into the issuer of every leaf (chain building compares names as bytes in practice).
 */
import { badParameter } from '../errors.js';
import { oidContent } from './der.js';
import { children, decodeIpAddress, decodeTime, expectTag, readSingle } from './der-reader.js';
import type { DerElement } from './der-reader.js';

/** ParsedExtension is one certificate extension: OID content bytes, criticality, value bytes. */
export interface ParsedExtension {
  oid: Buffer;
  critical: boolean;
  /** The content of extnValue (the DER of the extension's own value). */
  value: Buffer;
}

/** ParsedCertificate is the DER walk of one certificate. */
export interface ParsedCertificate {
  der: Buffer;
  /** The TBSCertificate encoding, exactly as signed. */
  tbs: Buffer;
  /** The outer signatureAlgorithm AlgorithmIdentifier encoding. */
  signatureAlgorithm: Buffer;
  /** The AlgorithmIdentifier inside the TBS; RFC 5280 requires it to equal the outer one. */
  tbsSignatureAlgorithm: Buffer;
  /** The signature value (the BIT STRING's bytes). */
  signature: Buffer;
  /** The serial number's INTEGER content bytes. */
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The SubjectPublicKeyInfo encoding. */
  spki: Buffer;
  extensions: ParsedExtension[];
}

/** OIDS holds the content bytes of the OIDs pki looks up while reading certificates. */
export const OIDS = {
  commonName: oidContent('2.5.4.3'),
  organization: oidContent('2.5.4.10'),
  subjectKeyIdentifier: oidContent('2.5.29.14'),
  keyUsage: oidContent('2.5.29.15'),
  subjectAltName: oidContent('2.5.29.17'),
  basicConstraints: oidContent('2.5.29.19'),
  authorityKeyIdentifier: oidContent('2.5.29.35'),
} as const;

/** parseCertificate walks der (one Certificate) and throws badParameter if it is not one. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  try {
    return walk(der);
  } catch (err) {
    throw badParameter('not a valid X.509 certificate', { cause: err });
  }
}

function walk(der: Buffer): ParsedCertificate {
  const parts = children(readSingle(der, 0x30));
  if (parts.length !== 3) throw new Error('a Certificate has exactly three parts');
  const [tbsEl, sigAlg, sigValue] = parts;
  const tbs = expectTag(tbsEl, 0x30);
  const signatureAlgorithm = expectTag(sigAlg, 0x30).bytes;
  const signature = expectTag(sigValue, 0x03).content;
  if (signature[0] !== 0) throw new Error('signature BIT STRING has unused bits');
  const fields = children(tbs);
  let i = 0;
  if (fields[0]?.tag === 0xa0) i++; // [0] version; v1 certificates omit it
  const serial = expectTag(fields[i++], 0x02).content;
  const tbsSignatureAlgorithm = expectTag(fields[i++], 0x30).bytes;
  const issuer = expectTag(fields[i++], 0x30).bytes;
  const [nb, na] = children(expectTag(fields[i++], 0x30));
  if (!nb || !na) throw new Error('validity needs two times');
  const subject = expectTag(fields[i++], 0x30).bytes;
  const spki = expectTag(fields[i++], 0x30).bytes;
  let extensions: ParsedExtension[] = [];
  for (; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.tag === 0xa3) extensions = parseExtensions(f);
  }
  return {
    der,
    tbs: tbs.bytes,
    signatureAlgorithm,
    tbsSignatureAlgorithm,
    signature: signature.subarray(1),
    serial,
    issuer,
    subject,
    notBefore: decodeTime(nb),
    notAfter: decodeTime(na),
    spki,
    extensions,
  };
}

function parseExtensions(wrapper: DerElement): ParsedExtension[] {
  const [list] = children(wrapper);
  return children(expectTag(list, 0x30)).map((ext) => {
    const parts = children(expectTag(ext, 0x30));
    const oid = expectTag(parts[0], 0x06).content;
    let critical = false;
    let valueEl = parts[1];
    if (valueEl?.tag === 0x01) {
      critical = valueEl.content[0] !== 0;
      valueEl = parts[2];
    }
    return { oid, critical, value: expectTag(valueEl, 0x04).content };
  });
}

/** findExtension returns the extension with the given OID content bytes, if present. */
export function findExtension(cert: ParsedCertificate, oid: Buffer): ParsedExtension | undefined {
  return cert.extensions.find((e) => e.oid.equals(oid));
}

/**
 * nameAttributes returns the string values of one attribute type (e.g. commonName) in a Name,
 * in order. Any DirectoryString flavour is read; BMPString is decoded as UTF-16BE.
 */
export function nameAttributes(name: Buffer, type: Buffer): string[] {
  const out: string[] = [];
  for (const rdn of children(readSingle(name, 0x30))) {
    for (const atv of children(expectTag(rdn, 0x31))) {
      const [t, v] = children(expectTag(atv, 0x30));
      if (!expectTag(t, 0x06).content.equals(type) || !v) continue;
      out.push(decodeString(v));
    }
  }
  return out;
}

function decodeString(el: DerElement): string {
  // BMPString is UTF-16BE; swap a copy, never the certificate's own bytes.
  if (el.tag === 0x1e) return Buffer.from(el.content).swap16().toString('utf16le');
  return el.content.toString(el.tag === 0x0c ? 'utf8' : 'latin1');
}

/** subjectAltNames reads the DNS names and IP addresses of a SubjectAltName extension value. */
export function subjectAltNames(value: Buffer): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const gn of children(readSingle(value, 0x30))) {
    if (gn.tag === 0x82) dnsNames.push(gn.content.toString('latin1'));
    else if (gn.tag === 0x87) ipAddresses.push(decodeIpAddress(gn.content));
  }
  return { dnsNames, ipAddresses };
}

/** subjectKeyIdentifier reads the key identifier bytes of a SubjectKeyIdentifier extension value. */
export function subjectKeyIdentifier(value: Buffer): Buffer {
  return readSingle(value, 0x04).content;
}

/** isCA reads a BasicConstraints extension value and tells whether it says CA:TRUE. */
export function isCA(value: Buffer): boolean {
  const [first] = children(readSingle(value, 0x30));
  return first?.tag === 0x01 && first.content[0] !== 0;
}

/** spkiPublicKeyBits returns the subjectPublicKey BIT STRING bytes of a SubjectPublicKeyInfo. */
export function spkiPublicKeyBits(spki: Buffer): Buffer {
  const [, key] = children(readSingle(spki, 0x30));
  return expectTag(key, 0x03).content.subarray(1); // skip the unused-bits byte
}

/** serialHex formats a serial's INTEGER content as lowercase hex without leading zero bytes. */
export function serialHex(serial: Buffer): string {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i++;
  return serial.subarray(i).toString('hex');
}
