/**
 * pin: the CA pin a client checks before it trusts a cluster on first contact, like Teleport's
 * `--ca-pin`: `sha256:` + hex SHA-256 over the CA certificate's DER SubjectPublicKeyInfo. Pinning
 * the key rather than the certificate keeps the pin stable when a CA certificate is re-issued.
 */
import { createHash } from 'node:crypto';
import { parseCertificate } from './certificate.js';
import { certificateDer } from './pem.js';

/** caPin returns `sha256:<lowercase hex>` for a CA certificate given as PEM or DER. */
export function caPin(certPem: string | Buffer): string {
  const { spki } = parseCertificate(certificateDer(certPem));
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
