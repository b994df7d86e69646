import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/auth/lockout.js';
import { sourceKey } from '../../../src/util/net.js';
import { isXError } from '../../../src/errors.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';

const MIN = 60_000;

function setup(opts?: ConstructorParameters<typeof LoginLimiter>[2]) {
  const clock = new FakeClock();
  const backend = new MemoryBackend(clock);
  return { clock, backend, limiter: new LoginLimiter(backend, clock, opts) };
}

async function checkError(limiter: LoginLimiter, user: string): Promise<unknown> {
  try {
    await limiter.check(user);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('LoginLimiter', () => {
  it('locks a name after 5 failures, not before', async () => {
    const { limiter } = setup();
    for (let i = 0; i < 4; i++) expect(await limiter.recordFailure('alice')).toEqual({ locked: false });
    expect(await checkError(limiter, 'alice')).toBeUndefined();
    expect(await limiter.recordFailure('alice')).toEqual({ locked: true });
    const err = await checkError(limiter, 'alice');
    expect(isXError(err) && err.kind).toBe('limit-exceeded');
    expect((err as Error).message).toBe('too many failed login attempts; try again in 15 minutes');
  });

  it('counts down the minutes left and unlocks after 15 minutes', async () => {
    const { limiter, clock } = setup();
    for (let i = 0; i < 5; i++) await limiter.recordFailure('alice');
    clock.advance(14 * MIN + 30_000);
    expect((await checkError(limiter, 'alice') as Error).message).toBe(
      'too many failed login attempts; try again in 1 minute',
    );
    clock.advance(30_000);
    expect(await checkError(limiter, 'alice')).toBeUndefined();
    expect(await limiter.lockedUntil('alice')).toBeUndefined();
  });

  it('tracks names that belong to no user under logins/<name>', async () => {
    const { limiter, backend } = setup();
    await limiter.recordFailure('nobody');
    expect(await backend.get('logins/nobody')).toBeDefined();
  });

  it('does not count failures older than the lock window', async () => {
    const { limiter, clock } = setup();
    for (let i = 0; i < 4; i++) await limiter.recordFailure('alice');
    clock.advance(15 * MIN + 1);
    expect(await limiter.recordFailure('alice')).toEqual({ locked: false });
    for (let i = 0; i < 3; i++) await limiter.recordFailure('alice');
    expect(await checkError(limiter, 'alice')).toBeUndefined();
  });

  it('forgets failures after a success', async () => {
    const { limiter } = setup();
    for (let i = 0; i < 4; i++) await limiter.recordFailure('alice');
    await limiter.recordSuccess('alice');
    expect(await limiter.recordFailure('alice')).toEqual({ locked: false });
  });

  it('keeps one name\'s lock away from another name', async () => {
    const { limiter } = setup();
    for (let i = 0; i < 5; i++) await limiter.recordFailure('alice');
    expect(await checkError(limiter, 'bob')).toBeUndefined();
  });

  it('counts every one of many concurrent failures', async () => {
    const { limiter } = setup({ maxFailures: 5 });
    await Promise.all(Array.from({ length: 5 }, () => limiter.recordFailure('alice')));
    expect(await limiter.lockedUntil('alice')).toBeInstanceOf(Date);
  });

  it('does not extend a lock when a failure slips in while locked', async () => {
    const { limiter, clock } = setup();
    for (let i = 0; i < 5; i++) await limiter.recordFailure('alice');
    const until = await limiter.lockedUntil('alice');
    clock.advance(5 * MIN);
    expect(await limiter.recordFailure('alice')).toEqual({ locked: true });
    expect(await limiter.lockedUntil('alice')).toEqual(until);
  });

  it('honours custom limits', async () => {
    const { limiter, clock } = setup({ maxFailures: 2, lockMs: MIN });
    await limiter.recordFailure('alice');
    await limiter.recordFailure('alice');
    expect(await checkError(limiter, 'alice')).toBeDefined();
    clock.advance(MIN);
    expect(await checkError(limiter, 'alice')).toBeUndefined();
  });

  describe('per source address', () => {
    const STRANGER = '203.0.113.9';
    const ALICE_HOME = '198.51.100.7';

    async function checkFrom(limiter: LoginLimiter, user: string, source: string): Promise<unknown> {
      try {
        await limiter.check(user, source);
      } catch (err) {
        return err;
      }
      return undefined;
    }

    it('locks a user out only from the address that guessed wrong 5 times', async () => {
      const { limiter } = setup();
      for (let i = 0; i < 4; i++) expect(await limiter.recordFailure('alice', STRANGER)).toEqual({ locked: false });
      expect(await limiter.recordFailure('alice', STRANGER)).toEqual({ locked: true });
      expect((await checkFrom(limiter, 'alice', STRANGER)) as Error).toMatchObject({ kind: 'limit-exceeded' });
      expect(await checkFrom(limiter, 'alice', ALICE_HOME)).toBeUndefined();
      expect(await limiter.lockedUntil('alice', ALICE_HOME)).toBeUndefined();
      // The admin view still shows that alice is locked from somewhere.
      expect(await limiter.lockedUntil('alice')).toBeInstanceOf(Date);
    });

    it('locks an address that sprays guesses over many names, for every name', async () => {
      const { limiter } = setup({ maxSourceFailures: 6 });
      for (let i = 0; i < 6; i++) await limiter.recordFailure(`user${i}`, STRANGER);
      const err = (await checkFrom(limiter, 'alice', STRANGER)) as Error;
      expect(err.message).toBe('too many failed login attempts from your address; try again in 15 minutes');
      expect(await checkFrom(limiter, 'alice', ALICE_HOME)).toBeUndefined();
    });

    it('locks a user everywhere after the slower global limit, spread over many addresses', async () => {
      const { limiter } = setup({ maxGlobalFailures: 12 });
      for (let i = 0; i < 12; i++) await limiter.recordFailure('alice', `203.0.113.${i + 1}`);
      const err = (await checkFrom(limiter, 'alice', ALICE_HOME)) as Error;
      expect(err.message).toBe('too many failed login attempts for this user; try again in 15 minutes');
      expect(await checkFrom(limiter, 'bob', ALICE_HOME)).toBeUndefined();
    });

    it('does not let a success from one address wipe the failures recorded from another', async () => {
      const { limiter } = setup();
      for (let i = 0; i < 4; i++) await limiter.recordFailure('alice', STRANGER);
      await limiter.recordSuccess('alice', ALICE_HOME);
      expect(await limiter.recordFailure('alice', STRANGER)).toEqual({ locked: true });
    });

    it('does not reset the address counter when that address logs into its own account', async () => {
      const { limiter } = setup({ maxSourceFailures: 4 });
      for (let i = 0; i < 3; i++) await limiter.recordFailure(`victim${i}`, STRANGER);
      await limiter.recordSuccess('mallory', STRANGER);
      await limiter.recordFailure('victim9', STRANGER);
      expect(await checkFrom(limiter, 'victim10', STRANGER)).toBeDefined();
    });

    it('counts IPv6 addresses per /64 and IPv4-mapped addresses as IPv4', () => {
      expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
      expect(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
      expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
      expect(sourceKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
      expect(sourceKey('192.0.2.1')).toBe('192.0.2.1');
      expect(sourceKey('not an address/../x')).toBe('unknown');
      expect(sourceKey(undefined)).toBe('unknown');
    });

    it('treats every address of one IPv6 /64 as one source', async () => {
      const { limiter } = setup();
      for (let i = 0; i < 5; i++) await limiter.recordFailure('alice', `2001:db8:1:2::${i + 1}`);
      expect(await checkFrom(limiter, 'alice', '2001:db8:1:2::ffff')).toBeDefined();
      expect(await checkFrom(limiter, 'alice', '2001:db8:1:3::1')).toBeUndefined();
    });
  });
});
