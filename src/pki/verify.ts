/**
 * verify: checks a leaf certificate against trusted CAs and returns the identity it asserts.
 * This is the authentication step for anything that did not come through a verifying TLS stack
 * (identity files, certificates handed to the web API).
 *
 * Order matters: the signature is checked first, so a foreign or tampered certificate learns
 * nothing about why else it would fail; then validity, then the identity claim.
 *
 * The leaf is walked with our strict DER reader and its signature checked with crypto.verify over
 * the exact TBS bytes. Building a node:crypto X509Certificate for each leaf would cost ~100–200 µs
 * more (OpenSSL 3 decodes the whole certificate and its key), doubling the cost of a verification.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { accessDenied, authRequired, badParameter } from '../errors.js';
import { CertificateAuthority } from './ca.js';
import { OIDS, findExtension, isCA, parseCertificate, serialHex } from './certificate.js';
import type { ParsedCertificate } from './certificate.js';
import { identityOf } from './identity.js';
import { certificateDer, parsePemBlocks } from './pem.js';
import { verifySignature } from './signing.js';
import type { CAType, IdentityUsage, VerifiedIdentity } from './types.js';

/** VerifyOptions says when to check validity and, optionally, which usages and cluster to accept. */
export interface VerifyOptions {
  now: Date;
  usages?: IdentityUsage[];
  cluster?: string;
}

/** TrustedCA is a CA object, or CA certificate PEM text (one or several certificates). */
export type TrustedCA = CertificateAuthority | string;

/** Anchor is what a trusted CA contributes: its subject Name bytes and its public key. */
interface Anchor {
  subject: Buffer;
  publicKey: KeyObject;
  type?: CAType;
}

/**
 * verifyCertificate checks that cert (DER or PEM) was signed by one of the trusted CAs, is within
 * its validity window at opts.now, and carries a well-formed identity matching opts. It throws
 * accessDenied for a foreign, tampered, not-yet-valid or identity-less certificate, and
 * authRequired for an expired one (the user fixes that by logging in again).
 */
export function verifyCertificate(
  cert: Buffer | string,
  trusted: TrustedCA | readonly TrustedCA[],
  opts: VerifyOptions,
): VerifiedIdentity {
  const now = opts?.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw badParameter('verifyCertificate: opts.now must be a valid Date');
  const anchors = trustAnchors(trusted);

  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(certificateDer(cert));
  } catch (err) {
    throw accessDenied('the presented certificate is not a valid X.509 certificate', { cause: err });
  }
  // Our CAs copy their subject into each leaf byte for byte, so the issuer match is exact.
  if (!anchors.some((a) => parsed.issuer.equals(a.subject) && verifySignature(parsed, a.publicKey))) {
    throw accessDenied(`certificate was not issued by ${describeAnchors(anchors)}`, {
      hint: 'Log in to this cluster again to get a certificate it trusts.',
    });
  }
  if (isCACertificate(parsed)) throw accessDenied('a CA certificate cannot be used as a client or server certificate');
  if (now < parsed.notBefore) {
    throw accessDenied(`certificate is not valid until ${parsed.notBefore.toISOString()}`, {
      hint: "Check that this machine's clock is correct.",
    });
  }
  if (now > parsed.notAfter) {
    throw authRequired(`certificate expired at ${parsed.notAfter.toISOString()}`, {
      hint: 'Log in again to get a fresh certificate.',
    });
  }
  const identity = identityOf(parsed);
  if (!identity) throw accessDenied('certificate carries no xport identity');
  if (opts.usages && !opts.usages.includes(identity.usage)) {
    throw accessDenied(`certificate is for ${identity.usage} use, not ${opts.usages.join(' or ')}`);
  }
  if (opts.cluster !== undefined && identity.cluster !== opts.cluster) {
    throw accessDenied(`certificate belongs to cluster "${identity.cluster}", not "${opts.cluster}"`);
  }
  return { ...identity, notBefore: parsed.notBefore, expires: parsed.notAfter, serial: serialHex(parsed.serial) };
}

function isCACertificate(cert: ParsedCertificate): boolean {
  const bc = findExtension(cert, OIDS.basicConstraints);
  return bc !== undefined && isCA(bc.value);
}

function trustAnchors(trusted: TrustedCA | readonly TrustedCA[]): Anchor[] {
  const list: readonly TrustedCA[] = Array.isArray(trusted) ? trusted : [trusted as TrustedCA];
  const anchors: Anchor[] = [];
  for (const t of list) {
    if (t instanceof CertificateAuthority) anchors.push(caAnchor(t));
    else if (typeof t === 'string') anchors.push(...pemAnchors(t));
    else throw badParameter('verifyCertificate: a trusted CA must be a CertificateAuthority or PEM text');
  }
  if (anchors.length === 0) throw badParameter('verifyCertificate: no trusted CA certificate was given');
  return anchors;
}

const caAnchors = new WeakMap<CertificateAuthority, Anchor>();

function caAnchor(ca: CertificateAuthority): Anchor {
  let anchor = caAnchors.get(ca);
  if (!anchor) {
    anchor = { subject: parseCertificate(ca.certDer).subject, publicKey: ca.publicKey, type: ca.type };
    caAnchors.set(ca, anchor);
  }
  return anchor;
}

// Parsed PEM anchors, by text: callers pass the same CA bundle on every connection.
const pemCache = new Map<string, Anchor[]>();
const PEM_CACHE_MAX = 32;

function pemAnchors(pem: string): Anchor[] {
  let anchors = pemCache.get(pem);
  if (anchors) return anchors;
  try {
    anchors = parsePemBlocks(pem)
      .filter((b) => b.type === 'CERTIFICATE')
      .map((b) => {
        const ca = parseCertificate(b.der);
        if (!isCACertificate(ca)) throw badParameter('a trusted certificate is not a CA certificate');
        return { subject: ca.subject, publicKey: createPublicKey({ key: ca.spki, format: 'der', type: 'spki' }) };
      });
  } catch (err) {
    throw badParameter('verifyCertificate: a trusted CA certificate does not parse as a CA', { cause: err });
  }
  if (pemCache.size >= PEM_CACHE_MAX) pemCache.delete(pemCache.keys().next().value as string);
  pemCache.set(pem, anchors);
  return anchors;
}

function describeAnchors(anchors: readonly Anchor[]): string {
  const types = [...new Set(anchors.map((a) => a.type))];
  if (types.includes(undefined)) return 'a trusted CA';
  return `this cluster's ${types.join(' or ')} CA`;
}
