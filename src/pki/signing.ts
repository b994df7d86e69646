/**
 * signing: which signature algorithm a CA key uses, the signing itself (node:crypto, native), and
 * the key-strength rules every CA and subject key must meet.
 */
import { sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { badParameter } from '../errors.js';
import { bitString, nullValue, oid, sequence } from './der.js';

/** KeyKind is the family of a key we accept: ECDSA (P-256/P-384) or RSA (≥ 2048 bits). */
export type KeyKind = 'ec' | 'rsa';

/**
 * keyKind checks that key is one we accept and names its family. Weak or exotic keys are refused
 * so that nothing xport signs would be rejected by a TLS peer, or accepted when it should not be.
 */
export function keyKind(key: KeyObject, what: string): KeyKind {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1') return 'ec';
      throw badParameter(`${what} uses curve ${details.namedCurve ?? 'unknown'}; only P-256 and P-384 are supported`);
    case 'rsa':
      if ((details.modulusLength ?? 0) >= 2048) return 'rsa';
      throw badParameter(`${what} is a ${details.modulusLength ?? 0}-bit RSA key; at least 2048 bits are required`);
    default:
      throw badParameter(`${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key; use ECDSA P-256 or RSA-2048`);
  }
}

/** Signer signs TBSCertificates with one CA key. */
export interface Signer {
  /** The signature AlgorithmIdentifier DER, written both inside the TBS and after it. */
  algorithm: Buffer;
  /** sign returns the signature value over tbs (DER Ecdsa-Sig-Value, or PKCS#1 v1.5 for RSA). */
  sign(tbs: Buffer): Buffer;
}

// RFC 5758 §3.2: ECDSA AlgorithmIdentifiers omit the parameters; RFC 4055 §5: RSA ones carry NULL.
const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const ECDSA_SHA384 = sequence(oid('1.2.840.10045.4.3.3'));
const ECDSA_SHA512 = sequence(oid('1.2.840.10045.4.3.4'));
const RSA_SHA256 = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
const RSA_SHA384 = sequence(oid('1.2.840.113549.1.1.12'), nullValue());
const RSA_SHA512 = sequence(oid('1.2.840.113549.1.1.13'), nullValue());

/** The signature algorithms verifySignature accepts, by AlgorithmIdentifier DER (hex). */
const VERIFY_ALGORITHMS = new Map<string, { hash: string; keyType: 'ec' | 'rsa' }>([
  [ECDSA_SHA256.toString('hex'), { hash: 'sha256', keyType: 'ec' }],
  [ECDSA_SHA384.toString('hex'), { hash: 'sha384', keyType: 'ec' }],
  [ECDSA_SHA512.toString('hex'), { hash: 'sha512', keyType: 'ec' }],
  [RSA_SHA256.toString('hex'), { hash: 'sha256', keyType: 'rsa' }],
  [RSA_SHA384.toString('hex'), { hash: 'sha384', keyType: 'rsa' }],
  [RSA_SHA512.toString('hex'), { hash: 'sha512', keyType: 'rsa' }],
]);

/** signerFor builds the Signer for a CA private key: ecdsa-with-SHA256/384 or sha256WithRSAEncryption. */
export function signerFor(privateKey: KeyObject): Signer {
  if (privateKey.type !== 'private') throw badParameter('a CA needs its private key to sign');
  if (keyKind(privateKey, 'the CA key') === 'rsa') {
    return { algorithm: RSA_SHA256, sign: (tbs) => sign('sha256', tbs, privateKey) };
  }
  const p384 = privateKey.asymmetricKeyDetails?.namedCurve === 'secp384r1';
  const hash = p384 ? 'sha384' : 'sha256';
  return { algorithm: p384 ? ECDSA_SHA384 : ECDSA_SHA256, sign: (tbs) => sign(hash, tbs, privateKey) };
}

/** signCertificate signs an encoded TBSCertificate and returns the Certificate DER. */
export function signCertificate(tbs: Buffer, signer: Signer): Buffer {
  return sequence(tbs, signer.algorithm, bitString(signer.sign(tbs)));
}

/**
 * verifySignature checks a parsed certificate's signature with an issuer public key, natively.
 * The outer and inner algorithm identifiers must agree (RFC 5280 §4.1.1.2) and match the key's
 * family; SHA-1 and anything unlisted is refused. Any error counts as a bad signature.
 */
export function verifySignature(
  cert: { tbs: Buffer; signatureAlgorithm: Buffer; tbsSignatureAlgorithm: Buffer; signature: Buffer },
  issuerKey: KeyObject,
): boolean {
  if (!cert.signatureAlgorithm.equals(cert.tbsSignatureAlgorithm)) return false;
  const alg = VERIFY_ALGORITHMS.get(cert.signatureAlgorithm.toString('hex'));
  if (!alg || issuerKey.asymmetricKeyType !== alg.keyType) return false;
  try {
    return verify(alg.hash, cert.tbs, issuerKey, cert.signature);
  } catch {
    return false;
  }
}
