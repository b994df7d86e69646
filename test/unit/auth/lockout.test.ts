import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/auth/lockout.js';
import { isXError } from '../../../src/errors.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';

const MIN = 60_000;

function setup(opts?: { maxFailures?: number; lockMs?: number }) {
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
});
