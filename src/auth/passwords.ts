/**
 * auth/passwords: password hashing (scrypt), verification and the password policy.
 *
 * Hashes are self-describing strings `scrypt$N$r$p$<saltB64>$<hashB64>` so the cost can be raised
 * later without breaking stored hashes. Pure functions over node:crypto; imports only errors.
 * Must not import the store, HTTP or anything above auth.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { badParameter } from '../errors.js';

/** SCRYPT_PARAMS is the cost used for new hashes: N=2^15, r=8, p=1 (about 32 MiB, tens of ms). */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

/** PASSWORD_MIN_LENGTH and PASSWORD_MAX_LENGTH bound a password, counted in characters (code points). */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

// Upper bounds on parameters read back from a stored hash: a corrupted or hostile hash string must
// not be able to make one verification allocate gigabytes or spin for minutes.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

function scryptAsync(pw: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pw, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

// scrypt needs about 128·N·r bytes; Node refuses anything at or above maxmem (32 MiB by default),
// which N=2^15, r=8 hits exactly, so allow twice the requirement.
const maxmemFor = (N: number, r: number) => 2 * 128 * N * r;

// Unicode normalisation makes "é" typed as one code point or as e + combining accent the same
// password, whatever keyboard or OS the user is on.
const normalise = (pw: string) => pw.normalize('NFC');

/** hashPassword derives a new scrypt hash of pw with a fresh random salt. */
export async function hashPassword(pw: string): Promise<string> {
  const { N, r, p, saltBytes, keyBytes } = SCRYPT_PARAMS;
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(normalise(pw), salt, keyBytes, { N, r, p, maxmem: maxmemFor(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((s) => (/^\d{1,8}$/.test(s) ? Number(s) : NaN)) as [number, number, number];
  const isPow2 = N > 1 && (N & (N - 1)) === 0;
  if (!isPow2 || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return undefined;
  return { N, r, p, salt, key };
}

/**
 * verifyPassword tells whether pw matches the encoded hash. A malformed hash verifies as false
 * (never throws), so a damaged record denies the login rather than crashing it.
 */
export async function verifyPassword(pw: string, encoded: string): Promise<boolean> {
  const h = parseHash(encoded);
  if (!h) return false;
  const key = await scryptAsync(normalise(pw), h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmemFor(h.N, h.r) });
  return timingSafeEqual(key, h.key);
}

// A well-formed hash of nothing anybody knows: verifying against it costs exactly what a real
// verification costs and always fails.
const DUMMY_HASH =
  `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$` +
  `${randomBytes(SCRYPT_PARAMS.saltBytes).toString('base64')}$${randomBytes(SCRYPT_PARAMS.keyBytes).toString('base64')}`;

/**
 * dummyVerify spends the same time as {@link verifyPassword} and resolves to false. Login calls it
 * when the user does not exist or has no password yet, so response time does not reveal which.
 */
export async function dummyVerify(pw: string): Promise<false> {
  await verifyPassword(pw, DUMMY_HASH);
  return false;
}

/**
 * checkPasswordPolicy throws bad-parameter unless pw has 12 to 1024 characters. Length is the one
 * rule (NIST SP 800-63B): composition rules push users towards predictable patterns.
 */
export function checkPasswordPolicy(pw: string): void {
  const len = [...normalise(pw)].length;
  if (len < PASSWORD_MIN_LENGTH) {
    throw badParameter(`password must be at least ${PASSWORD_MIN_LENGTH} characters long`, {
      hint: 'Choose a longer password; a few unrelated words make a good one.',
    });
  }
  if (len > PASSWORD_MAX_LENGTH) {
    throw badParameter(`password must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  }
}
