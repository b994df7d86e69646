import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy, dummyVerify, hashPassword, verifyPassword } from '../../../src/auth/passwords.js';
import { isXError } from '../../../src/errors.js';

const PW = 'correct horse battery staple';

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('hashPassword', () => {
  it('encodes scrypt with N=32768 r=8 p=1, a 16-byte salt and a 32-byte key', async () => {
    const h = await hashPassword(PW);
    const m = /^scrypt\$32768\$8\$1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(h);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(m![2]!, 'base64')).toHaveLength(32);
  });

  it('salts every hash, so one password hashes differently twice', async () => {
    const [a, b] = await Promise.all([hashPassword(PW), hashPassword(PW)]);
    expect(a).not.toBe(b);
  });

  it('does not contain the password', async () => {
    expect(await hashPassword(PW)).not.toContain(PW);
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const h = await hashPassword(PW);
    expect(await verifyPassword(PW, h)).toBe(true);
    expect(await verifyPassword(PW + 'x', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('treats composed and decomposed accents as the same password', async () => {
    const h = await hashPassword('caf\u00e9 au lait, please');
    expect(await verifyPassword('cafe\u0301 au lait, please', h)).toBe(true);
  });

  it('returns false for malformed or out-of-bounds hashes instead of throwing', async () => {
    const h = await hashPassword(PW);
    const [, , r, p, salt, key] = h.split('$');
    for (const bad of [
      '',
      'bcrypt$x',
      h.replace('scrypt$', 'argon2$'),
      `scrypt$1000$${r}$${p}$${salt}$${key}`, // N not a power of two
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${key}`, // N too large: would allocate gigabytes
      `scrypt$32768$${r}$${p}$${salt}`,
    ]) {
      expect(await verifyPassword(PW, bad)).toBe(false);
    }
  });
});

describe('dummyVerify', () => {
  it('always resolves false', async () => {
    expect(await dummyVerify(PW)).toBe(false);
    expect(await dummyVerify('')).toBe(false);
  });

  it('costs about as much as a real verification', async () => {
    const h = await hashPassword(PW);
    const time = async (fn: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await fn();
        samples.push(performance.now() - t0);
      }
      return samples.sort((a, b) => a - b)[2]!; // median
    };
    const real = await time(() => verifyPassword('wrong password!!', h));
    const dummy = await time(() => dummyVerify('wrong password!!'));
    // Same scrypt parameters; loose bounds because other test files share the CPU.
    expect(dummy / real).toBeGreaterThan(0.33);
    expect(dummy / real).toBeLessThan(3);
  });
});

describe('checkPasswordPolicy', () => {
  it('refuses a password shorter than 12 characters', () => {
    const err = catchError(() => checkPasswordPolicy('elevenchars'));
    expect(isXError(err) && err.kind).toBe('bad-parameter');
    expect((err as Error).message).toBe('password must be at least 12 characters long');
  });

  it('accepts 12 characters and 1024 characters', () => {
    expect(catchError(() => checkPasswordPolicy('twelve chars'))).toBeUndefined();
    expect(catchError(() => checkPasswordPolicy('x'.repeat(1024)))).toBeUndefined();
  });

  it('refuses more than 1024 characters', () => {
    const err = catchError(() => checkPasswordPolicy('x'.repeat(1025)));
    expect(isXError(err) && err.kind).toBe('bad-parameter');
    expect((err as Error).message).toBe('password must be at most 1024 characters long');
  });

  it('counts characters, not UTF-16 units', () => {
    // 11 emoji are 22 UTF-16 units but 11 characters.
    expect(catchError(() => checkPasswordPolicy('\u{1F511}'.repeat(11)))).toBeDefined();
    expect(catchError(() => checkPasswordPolicy('\u{1F511}'.repeat(12)))).toBeUndefined();
  });
});
