/**
 * auth/totp: time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s steps), the second
 * factor used when the cluster sets `second_factor: otp`.
 *
 * Wraps the otpauth package so the rest of auth deals in plain strings and step numbers. Replay is
 * refused by step: the caller stores the last accepted step and passes it back. Pure; must not
 * import the store, HTTP or anything above auth.
 */
import { Secret, TOTP } from 'otpauth';

/** TOTP_PERIOD_S is the length of one time step in seconds. */
export const TOTP_PERIOD_S = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1'; // what every authenticator app supports

function totpFor(secret: string, label = 'user', issuer = 'xport'): TOTP {
  return new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secret),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: TOTP_PERIOD_S,
  });
}

/** newTotpSecret returns a fresh random 20-byte secret, base32-encoded (what authenticator apps take). */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/**
 * totpUri returns the `otpauth://totp/...` URI for secret, shown to the user as a QR code.
 * issuer is the cluster name, so the authenticator app lists "cluster: user".
 */
export function totpUri(secret: string, user: string, issuer: string): string {
  return totpFor(secret, user, issuer).toString();
}

/** totpStep returns the time step number that contains now. */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_S);
}

/**
 * verifyTotp checks code against secret at now, accepting one step either side for clock drift.
 * It returns the step the code belongs to, or undefined when the code is wrong, malformed, or
 * belongs to a step at or before lastStep (a replay of an already used code).
 */
export function verifyTotp(secret: string, code: string, now: Date, lastStep?: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const totp = totpFor(secret);
  const current = totpStep(now);
  // Current step first, then the past one (slow phone clock), then the next one.
  for (const step of [current, current - 1, current + 1]) {
    if (lastStep !== undefined && step <= lastStep) continue;
    // window 0 at a timestamp inside `step`: otpauth compares in constant time.
    if (totp.validate({ token: code, timestamp: step * TOTP_PERIOD_S * 1000, window: 0 }) === 0) return step;
  }
  return undefined;
}

/** totpCode returns the code for secret at now, as an authenticator app would show it (tests, demo). */
export function totpCode(secret: string, now: Date): string {
  return totpFor(secret).generate({ timestamp: now.getTime() });
}
