/**
 * spki: a public KeyObject → DER SubjectPublicKeyInfo, fast, with the key-strength rules applied.
 *
 * Why not `key.export({ type: 'spki', format: 'der' })`: through OpenSSL 3's encoder that costs
 * ~100 µs for a P-256 key and ~190 µs for RSA-2048 on the target machine — three times the ECDSA
 * signature itself. Exporting the EC point as JWK (~12 µs) or the RSA key as PKCS#1 (~2 µs) and
 * wrapping it ourselves gives the same bytes (a unit test compares them).
 *
 * The same holds for keys that arrive as PEM (the login path): `createPublicKey(pem)` costs ~190 µs
 * for P-256. An uncompressed P-256/P-384 SPKI is instead checked here — exact structure, and the
 * point on the curve (y² = x³ − 3x + b mod p, in BigInt) — and used as is. Anything else goes
 * through OpenSSL.
 */
import type { KeyObject } from 'node:crypto';
import { badParameter } from '../errors.js';
import { bitString, nullValue, oid, sequence } from './der.js';
import { children, readSingle } from './der-reader.js';
import { publicKeyFromPem } from './keys.js';
import { parsePemBlocks } from './pem.js';
import type { KeyKind } from './signing.js';

interface Curve {
  algorithm: Buffer;
  size: number;
  /** The field prime and the curve's b coefficient (a = −3 for both curves), FIPS 186-4 D.1.2. */
  p: bigint;
  b: bigint;
}

const EC_ALGORITHMS: Record<string, Curve> = {
  'P-256': {
    algorithm: sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')),
    size: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  'P-384': {
    algorithm: sequence(oid('1.2.840.10045.2.1'), oid('1.3.132.0.34')),
    size: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
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

/**
 * subjectKeyInfoFromPem checks a PEM public key and returns its SubjectPublicKeyInfo, taking the
 * fast path for uncompressed P-256/P-384 keys (see the header) and OpenSSL for everything else.
 * Errors are those of {@link publicKeyFromPem} and {@link subjectKeyInfo}.
 */
export function subjectKeyInfoFromPem(pem: string, what: string): SubjectKey {
  const block = typeof pem === 'string' ? parsePemBlocks(pem).find((b) => b.type === 'PUBLIC KEY') : undefined;
  const fast = block && ecSubjectKey(block.der, what);
  return fast ?? subjectKeyInfo(publicKeyFromPem(pem), what);
}

/** ecSubjectKey recognizes a canonical uncompressed EC SPKI; undefined means "not that shape". */
function ecSubjectKey(der: Buffer, what: string): SubjectKey | undefined {
  let parts;
  try {
    parts = children(readSingle(der, 0x30));
  } catch {
    return undefined;
  }
  const [alg, bits] = parts;
  if (parts.length !== 2 || !alg || bits?.tag !== 0x03) return undefined;
  const curve = Object.values(EC_ALGORITHMS).find((c) => c.algorithm.equals(alg.bytes));
  const point = bits.content;
  if (!curve || point.length !== 2 + 2 * curve.size || point[0] !== 0 || point[1] !== 0x04) return undefined;
  const x = BigInt(`0x${point.toString('hex', 2, 2 + curve.size)}`);
  const y = BigInt(`0x${point.toString('hex', 2 + curve.size)}`);
  if (!onCurve(curve, x, y)) throw badParameter(`${what} is not a valid EC public key (its point is not on the curve)`);
  return { kind: 'ec', spki: Buffer.from(der) };
}

function onCurve({ p, b }: Curve, x: bigint, y: bigint): boolean {
  if (x >= p || y >= p) return false;
  const rhs = (((((x * x) % p) * x) % p) - 3n * x + b) % p;
  return (y * y) % p === (rhs + p) % p;
}
