/**
 * pki: the cluster's certificate authorities, key generation, fast leaf issuance, the identity ⇄
 * certificate mapping, verification and the CA pin. No I/O: callers pass and persist bytes.
 *
 * Issuance builds each TBSCertificate with a small DER encoder of our own (der.ts) and signs it
 * with node:crypto. Measured on the target machine: @peculiar/x509 builds an ECDSA leaf at ~300/s,
 * node:crypto signs ECDSA P-256 at ~40k/s; our target is ≥ 2,000 leaves/s in-process, which only
 * the native path reaches (bench/pki-issue.js measures it). Per-CA constants (issuer Name, AKI,
 * signature algorithm) are encoded once; subject keys are wrapped into SPKI from a JWK/PKCS#1
 * export because OpenSSL 3's SPKI encoder alone costs ~100–190 µs (spki.ts). Reading certificates
 * uses a small strict DER walker (der-reader.ts, certificate.ts); verification checks signatures
 * with crypto.verify over the exact TBS bytes (verify.ts).
 *
 * Imports: node:crypto, node:net and ../errors.js only (layer L1). It must not import anything
 * above it (auth, redis, cloud, proxy, tunnel, client, service, cli) nor its L1 siblings (db,
 * store, redis/resp); @peculiar/asn1-* are for tests only, as an independent DER parser.
 */
export * from './types.js';
export { CertificateAuthority, CA_BACKDATE_MS, DEFAULT_CA_TTL_MS } from './ca.js';
export type { CreateCAOptions } from './ca.js';
export { generateKeyPair, privateKeyFromPem, publicKeyFromPem } from './keys.js';
export { decodeIdentity, IDENTITY_USAGES } from './identity.js';
export { verifyCertificate } from './verify.js';
export type { TrustedCA, VerifyOptions } from './verify.js';
export { certificateInfo } from './info.js';
export type { CertificateInfo } from './info.js';
export { caPin } from './pin.js';
export { parsePemBlocks, toPem } from './pem.js';
export type { PemBlock } from './pem.js';
