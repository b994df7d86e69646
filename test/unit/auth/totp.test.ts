import { describe, expect, it } from 'vitest';
import { newTotpSecret, totpCode, totpStep, totpUri, verifyTotp } from '../../../src/auth/totp.js';

const T0 = new Date('2026-01-01T00:00:10Z');
const STEP_MS = 30_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('newTotpSecret', () => {
  it('returns 20 random bytes in base32', () => {
    const s = newTotpSecret();
    expect(s).toMatch(/^[A-Z2-7]{32}$/); // 20 bytes = 160 bits = 32 base32 characters
    expect(newTotpSecret()).not.toBe(s);
  });
});

describe('totpUri', () => {
  it('names the user and the cluster as issuer and carries the secret', () => {
    const s = newTotpSecret();
    const u = new URL(totpUri(s, 'alice', 'example'));
    expect(u.protocol).toBe('otpauth:');
    expect(u.host).toBe('totp');
    expect(decodeURIComponent(u.pathname)).toBe('/example:alice');
    expect(u.searchParams.get('issuer')).toBe('example');
    expect(u.searchParams.get('secret')).toBe(s);
    expect(u.searchParams.get('period')).toBe('30');
    expect(u.searchParams.get('digits')).toBe('6');
  });
});

describe('totpCode', () => {
  it('matches the RFC 6238 SHA-1 test vector (T=59s)', () => {
    // RFC 6238 appendix B: secret "12345678901234567890", T=59 → 94287082 (8 digits); 6 digits: 287082.
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(totpCode(secret, new Date(59_000))).toBe('287082');
  });
});

describe('verifyTotp', () => {
  const secret = newTotpSecret();

  it('accepts the current code and returns its time step', () => {
    expect(verifyTotp(secret, totpCode(secret, T0), T0)).toBe(totpStep(T0));
    expect(totpStep(T0)).toBe(Math.floor(T0.getTime() / STEP_MS));
  });

  it('accepts a code one step old or one step ahead (clock drift)', () => {
    expect(verifyTotp(secret, totpCode(secret, at(-STEP_MS)), T0)).toBe(totpStep(T0) - 1);
    expect(verifyTotp(secret, totpCode(secret, at(STEP_MS)), T0)).toBe(totpStep(T0) + 1);
  });

  it('refuses a code two steps away', () => {
    expect(verifyTotp(secret, totpCode(secret, at(-2 * STEP_MS)), T0)).toBeUndefined();
    expect(verifyTotp(secret, totpCode(secret, at(2 * STEP_MS)), T0)).toBeUndefined();
  });

  it('refuses a replayed code: its step is not after lastStep', () => {
    const code = totpCode(secret, T0);
    const step = verifyTotp(secret, code, T0)!;
    expect(verifyTotp(secret, code, T0, step)).toBeUndefined();
    expect(verifyTotp(secret, code, at(10_000), step)).toBeUndefined();
  });

  it('refuses an older code still inside the window once a newer step was used', () => {
    const old = totpCode(secret, at(-STEP_MS));
    expect(verifyTotp(secret, old, T0, totpStep(T0))).toBeUndefined();
    expect(verifyTotp(secret, totpCode(secret, at(STEP_MS)), T0, totpStep(T0))).toBe(totpStep(T0) + 1);
  });

  it('refuses malformed codes and wrong codes', () => {
    for (const bad of ['', '12345', '1234567', 'abcdef', ' 123456', '12 456']) {
      expect(verifyTotp(secret, bad, T0)).toBeUndefined();
    }
    // A code that is not valid at any step in the window (e.g. from another secret) is refused.
    const valid = new Set([at(-STEP_MS), T0, at(STEP_MS)].map((d) => totpCode(secret, d)));
    const wrong = ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))!;
    expect(verifyTotp(secret, wrong, T0)).toBeUndefined();
  });
});
