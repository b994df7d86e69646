/**
 * spki: a public KeyObject → DER SubjectPublicKeyInfo, fast, with the key-strength rules applied.
 *
 * Why not `key.export({ type: 'spki', format: 'der' })`: through OpenSSL 3's encoder that costs
 * ~100 µs for a P-256 key and ~190 µs for RSA-2048 on the target machine — three times the ECDSA
 * signature itself. Exporting the EC point as JWK (~12 µs) or the RSA key as PKCS#1 (~2 µs) and
 * wrapping it ourselves gives the same bytes (a unit test compares them).
 */
import type { KeyObject } from 'node:crypto';
import { badParameter } from '../errors.js';
import { bitString, nullValue, oid, sequence } from './der.js';
import type { KeyKind } from './signing.js';

const EC_ALGORITHMS: Record<string, { algorithm: Buffer; size: number }> = {
  'P-256': { algorithm: sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), size: 32 },
  'P-384': { algorithm: sequence(oid('1.2.840.10045.2.1'), oid('1.3.132.0.34')), size: 48 },
};
const RSA_ALGORITHM = sequence(oid('1.2.840.113549.1.1.1'), nullValue());
const UNCOMPRESSED = Buffer.from([0x04]);

/** SubjectKey is a checked public key: its family and its SubjectPublicKeyInfo DER. */
export interface SubjectKey {
  kind: KeyKind;
  spki: Buffer;
}

/**
 * subjectKeyInfo checks a public key (ECDSA P-256/P-384, or RSA of at least 2048 bits) and encodes
 * its SubjectPublicKeyInfo. `what` names the key in error messages.
 */
export function subjectKeyInfo(key: KeyObject, what: string): SubjectKey {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const jwk = key.export({ format: 'jwk' });
      const curve = EC_ALGORITHMS[jwk.crv ?? ''];
      if (!curve) throw badParameter(`${what} uses curve ${jwk.crv ?? 'unknown'}; only P-256 and P-384 are supported`);
      const x = Buffer.from(jwk.x ?? '', 'base64url');
      const y = Buffer.from(jwk.y ?? '', 'base64url');
      if (x.length !== curve.size || y.length !== curve.size) throw badParameter(`${what} has a malformed EC point`);
      return { kind: 'ec', spki: sequence(curve.algorithm, bitString(Buffer.concat([UNCOMPRESSED, x, y]))) };
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) throw badParameter(`${what} is a ${bits}-bit RSA key; at least 2048 bits are required`);
      return { kind: 'rsa', spki: sequence(RSA_ALGORITHM, bitString(key.export({ type: 'pkcs1', format: 'der' }))) };
    }
    default:
      throw badParameter(`${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key; use ECDSA P-256 or RSA-2048`);
  }
}
