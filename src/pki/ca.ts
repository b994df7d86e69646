/**
 * ca: a cluster certificate authority — create or load one, and issue leaf certificates fast.
 *
 * Why a hand-written encoder: leaf issuance sits on the login path and on every agent→Redis
 * connection (short-lived db_client certs), so it must be cheap. @peculiar/x509 builds an ECDSA
 * leaf at ~300/s (≈95 % of the time in its JS ASN.1 object layer), while node:crypto signs ECDSA
 * P-256 at ~40k/s. So the TBSCertificate is assembled with the small DER encoder in der.ts and
 * signed with node:crypto; everything that is the same for every leaf (issuer Name, AKI, the
 * signature AlgorithmIdentifier, constant extensions) is encoded once per CA. Parsing libraries
 * (@peculiar/asn1-*) appear only in tests, as an independent check of our DER.
 */
import { createPublicKey, randomFillSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { badParameter } from '../errors.js';
import { OIDS, findExtension, isCA, parseCertificate, serialHex, subjectKeyIdentifier } from './certificate.js';
import { explicit, integer, sequence, x509Time } from './der.js';
import {
  CA_BASIC_CONSTRAINTS,
  CA_KEY_USAGE,
  LEAF_BASIC_CONSTRAINTS,
  LEAF_KEY_USAGE_EC,
  LEAF_KEY_USAGE_RSA,
  authorityKeyIdentifierExtension,
  distinguishedName,
  extKeyUsage,
  keyIdentifier,
  subjectAltName,
  subjectKeyIdentifierExtension,
} from './extensions.js';
import { identityExtension } from './identity.js';
import { generateKeyPair, privateKeyFromPem } from './keys.js';
import { certificateDer, toPem } from './pem.js';
import { caPin } from './pin.js';
import { signCertificate, signerFor } from './signing.js';
import { subjectKeyInfo, subjectKeyInfoFromPem } from './spki.js';
import type { SubjectKey } from './spki.js';
import type { Signer } from './signing.js';
import { CA_TYPES } from './types.js';
import type { CAMaterial, CAType, IssuedCertificate, KeyAlgorithm, SignRequest } from './types.js';

/** DEFAULT_CA_TTL_MS is a CA's default lifetime: ten years. */
export const DEFAULT_CA_TTL_MS = 3650 * 24 * 60 * 60 * 1000;

/**
 * CA_BACKDATE_MS is how far a new CA's notBefore lies before its creation, so hosts whose clocks
 * run a little behind the auth service still accept it (Teleport does the same).
 */
export const CA_BACKDATE_MS = 60 * 1000;

/** CreateCAOptions configures {@link CertificateAuthority.create}. */
export interface CreateCAOptions {
  type: CAType;
  clusterName: string;
  algorithm?: KeyAlgorithm;
  now?: Date;
  /** Lifetime in milliseconds; ten years by default. */
  ttlMs?: number;
}

const VERSION_V3 = explicit(0, integer(2));

/**
 * CertificateAuthority holds one CA certificate and its private key, and issues leaves. The key
 * never leaves the object except through {@link CertificateAuthority.material}, for persistence.
 */
export class CertificateAuthority {
  /** type is which of the cluster's four CAs this is. */
  readonly type: CAType;
  /** certDer is the CA certificate, DER. */
  readonly certDer: Buffer;
  /** certPem is the CA certificate, PEM. */
  readonly certPem: string;
  /** pin is the CA pin (`sha256:<hex>` over the SubjectPublicKeyInfo), see {@link caPin}. */
  readonly pin: string;
  /** notBefore is the start of the CA certificate's validity. */
  readonly notBefore: Date;
  /** notAfter is the end of the CA certificate's validity; no leaf outlives it. */
  readonly notAfter: Date;
  /** publicKey is the CA's public key (what leaf signatures are checked against). */
  readonly publicKey: KeyObject;

  readonly #privateKey: KeyObject;
  readonly #signer: Signer;
  readonly #issuerName: Buffer;
  readonly #authorityKeyId: Buffer;

  private constructor(type: CAType, certDer: Buffer, privateKey: KeyObject) {
    if (!CA_TYPES.includes(type)) throw badParameter(`unknown CA type "${String(type)}"`, { hint: `Use one of ${CA_TYPES.join(', ')}.` });
    const cert = parseCertificate(certDer);
    const bc = findExtension(cert, OIDS.basicConstraints);
    if (!bc || !isCA(bc.value)) throw badParameter(`the ${type} CA certificate is not a CA certificate (basicConstraints CA:TRUE is missing)`);
    const publicKey = createPublicKey(privateKey);
    if (!publicKey.export({ type: 'spki', format: 'der' }).equals(cert.spki)) {
      throw badParameter(`the ${type} CA private key does not match its certificate`);
    }
    this.type = type;
    this.certDer = certDer;
    this.certPem = toPem('CERTIFICATE', certDer);
    this.pin = caPin(certDer);
    this.notBefore = cert.notBefore;
    this.notAfter = cert.notAfter;
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    this.#signer = signerFor(privateKey);
    // Copy the subject byte for byte: chain building matches issuer to subject exactly.
    this.#issuerName = cert.subject;
    const ski = findExtension(cert, OIDS.subjectKeyIdentifier);
    this.#authorityKeyId = authorityKeyIdentifierExtension(ski ? subjectKeyIdentifier(ski.value) : keyIdentifier(cert.spki));
  }

  /**
   * create makes a new self-signed CA: CN `<clusterName> <type> CA`, O `<clusterName>`,
   * basicConstraints CA:TRUE pathlen:0 and keyUsage keyCertSign/cRLSign/digitalSignature (both
   * critical), and a SubjectKeyIdentifier.
   */
  static create(opts: CreateCAOptions): CertificateAuthority {
    const { type, clusterName } = opts;
    if (!CA_TYPES.includes(type)) throw badParameter(`unknown CA type "${String(type)}"`, { hint: `Use one of ${CA_TYPES.join(', ')}.` });
    if (typeof clusterName !== 'string' || clusterName.trim() === '') throw badParameter('a CA needs a non-empty cluster name');
    const ttlMs = opts.ttlMs ?? DEFAULT_CA_TTL_MS;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw badParameter(`invalid CA lifetime ${ttlMs} ms; it must be positive`);
    const now = checkDate(opts.now ?? new Date(), 'CertificateAuthority.create: now');
    const keys = generateKeyPair(opts.algorithm ?? 'ecdsa-p256');
    const { spki } = subjectKeyInfo(keys.publicKey, 'the CA key');
    const name = distinguishedName(`${clusterName} ${type} CA`, [clusterName]);
    const signer = signerFor(keys.privateKey);
    const tbs = sequence(
      VERSION_V3,
      integer(randomSerial()),
      signer.algorithm,
      name,
      validity(new Date(now.getTime() - CA_BACKDATE_MS), new Date(now.getTime() + ttlMs)),
      name,
      spki,
      explicit(3, sequence(CA_BASIC_CONSTRAINTS, CA_KEY_USAGE, subjectKeyIdentifierExtension(keyIdentifier(spki)))),
    );
    return new CertificateAuthority(type, signCertificate(tbs, signer), keys.privateKey);
  }

  /** fromMaterial loads a persisted CA, checking that the key matches the certificate. */
  static fromMaterial(m: CAMaterial): CertificateAuthority {
    if (typeof m !== 'object' || m === null) throw badParameter('CA material must be an object');
    return new CertificateAuthority(m.type, certificateDer(m.certPem), privateKeyFromPem(m.keyPem));
  }

  /** material returns what must be persisted to load this CA again. It holds the private key. */
  material(): CAMaterial {
    return {
      type: this.type,
      certPem: this.certPem,
      keyPem: this.#privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
  }

  /**
   * issue signs one leaf for req. The caller has authorized the request; issue only checks that
   * it is well-formed. notAfter is clamped to the CA's own notAfter; times are whole seconds.
   */
  issue(req: SignRequest): IssuedCertificate {
    if (typeof req !== 'object' || req === null) throw badParameter('issue: the sign request must be an object');
    if (typeof req.commonName !== 'string' || req.commonName === '') {
      throw badParameter('issue: the certificate needs a non-empty common name');
    }
    const notBefore = wholeSeconds(checkDate(req.notBefore, 'issue: notBefore'));
    let notAfter = wholeSeconds(checkDate(req.notAfter, 'issue: notAfter'));
    const clamped = notAfter > this.notAfter;
    if (clamped) notAfter = new Date(this.notAfter.getTime());
    if (notAfter <= notBefore) {
      throw clamped
        ? badParameter(
            `cannot issue: the ${this.type} CA expires at ${this.notAfter.toISOString()}, before the certificate would start`,
            { hint: `Rotate the ${this.type} CA.` },
          )
        : badParameter(`cannot issue: notAfter ${notAfter.toISOString()} is not after notBefore ${notBefore.toISOString()}`);
    }
    const organization = req.organization ?? [];
    if (!Array.isArray(organization) || organization.some((o) => typeof o !== 'string' || o === '')) {
      throw badParameter('issue: organization must be a list of non-empty strings');
    }
    const { kind, spki } = subjectKey(req.publicKey);
    const serial = randomSerial();

    const exts = [LEAF_BASIC_CONSTRAINTS, kind === 'rsa' ? LEAF_KEY_USAGE_RSA : LEAF_KEY_USAGE_EC];
    if (!Array.isArray(req.extKeyUsage)) throw badParameter('issue: extKeyUsage must be a list');
    if (req.extKeyUsage.length > 0) exts.push(extKeyUsage(req.extKeyUsage));
    const dnsNames = req.dnsNames ?? [];
    const ipAddresses = req.ipAddresses ?? [];
    if (dnsNames.length > 0 || ipAddresses.length > 0) exts.push(subjectAltName(dnsNames, ipAddresses));
    exts.push(subjectKeyIdentifierExtension(keyIdentifier(spki)), this.#authorityKeyId);
    if (req.identity !== undefined) exts.push(identityExtension(req.identity));

    const tbs = sequence(
      VERSION_V3,
      integer(serial),
      this.#signer.algorithm,
      this.#issuerName,
      validity(notBefore, notAfter),
      distinguishedName(req.commonName, organization),
      spki,
      explicit(3, sequence(...exts)),
    );
    const certDer = signCertificate(tbs, this.#signer);
    return { certDer, certPem: toPem('CERTIFICATE', certDer), serial: serialHex(serial), notBefore, notAfter };
  }
}

// Serials come from a pool: one randomFillSync per 64 serials costs far less than 64 calls.
const serialPool = Buffer.alloc(16 * 64);
let serialOffset = serialPool.length;

/** randomSerial returns 128 random bits; integer() keeps them positive with a leading zero byte. */
function randomSerial(): Buffer {
  if (serialOffset === serialPool.length) {
    randomFillSync(serialPool);
    serialOffset = 0;
  }
  const serial = Buffer.from(serialPool.subarray(serialOffset, serialOffset + 16));
  serialOffset += 16;
  if (serial.every((b) => b === 0)) serial[15] = 1; // zero is not a valid serial (RFC 5280 §4.1.2.2)
  return serial;
}

function validity(notBefore: Date, notAfter: Date): Buffer {
  return sequence(x509Time(notBefore), x509Time(notAfter));
}

function checkDate(d: unknown, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw badParameter(`${what} must be a valid Date`);
  return d;
}

function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** subjectKey accepts a public KeyObject or SPKI PEM, and refuses private keys outright. */
function subjectKey(key: KeyObject | string): SubjectKey {
  if (typeof key === 'string') return subjectKeyInfoFromPem(key, 'the subject key');
  if (typeof key !== 'object' || key === null || typeof (key as KeyObject).export !== 'function') {
    throw badParameter('issue: publicKey must be a KeyObject or a PEM public key');
  }
  if (key.type !== 'public') {
    throw badParameter(`issue: expected the subject's public key, got a ${key.type} key`, {
      hint: 'Send only the public key; private keys never reach the CA.',
    });
  }
  return subjectKeyInfo(key, 'the subject key');
}
