import { createHash, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../../src/pki/ca.js';
import { caPin } from '../../../src/pki/pin.js';

/** independentPin computes the pin with node:crypto only: SHA-256 over the exported SPKI DER. */
function independentPin(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

describe('caPin', () => {
  it('matches SHA-256 over the SubjectPublicKeyInfo for an ECDSA CA, from PEM and DER', () => {
    const ca = CertificateAuthority.create({ type: 'host', clusterName: 'example' });
    expect(caPin(ca.certPem)).toBe(independentPin(ca.certPem));
    expect(caPin(ca.certDer)).toBe(independentPin(ca.certPem));
    expect(ca.pin).toBe(independentPin(ca.certPem));
    expect(ca.pin).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('matches for an RSA CA too', () => {
    const ca = CertificateAuthority.create({ type: 'host', clusterName: 'example', algorithm: 'rsa-2048' });
    expect(caPin(ca.certPem)).toBe(independentPin(ca.certPem));
  }, 30_000);

  it('differs between CAs and stays the same for a reloaded CA', () => {
    const a = CertificateAuthority.create({ type: 'user', clusterName: 'example' });
    const b = CertificateAuthority.create({ type: 'user', clusterName: 'example' });
    expect(a.pin).not.toBe(b.pin);
    expect(CertificateAuthority.fromMaterial(a.material()).pin).toBe(a.pin);
  });
});
