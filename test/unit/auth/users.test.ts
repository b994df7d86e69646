import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/auth/lockout.js';
import { totpCode } from '../../../src/auth/totp.js';
import type { User } from '../../../src/auth/types.js';
import { UserService, type AuditRecord, type SecondFactor } from '../../../src/auth/users.js';
import { isXError, type XError } from '../../../src/errors.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PW = 'a long enough password';
const PW2 = 'another long password';
const INVALID_TOKEN = 'invite token is invalid or has expired';

function setup(secondFactor: SecondFactor = 'off') {
  const clock = new FakeClock();
  const backend = new MemoryBackend(clock);
  const events: AuditRecord[] = [];
  const roles = new Set(['access', 'editor']);
  const limiter = new LoginLimiter(backend, clock);
  const svc = new UserService({
    backend,
    clock,
    emit: (e) => events.push(e),
    roleExists: async (n) => roles.has(n),
    secondFactor,
    limiter,
    clusterName: 'example',
  });
  return { clock, backend, events, svc, limiter };
}

async function rejection(p: Promise<unknown>): Promise<XError> {
  try {
    await p;
  } catch (err) {
    if (isXError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** activeUser creates name with an invite and completes it with password. */
async function activeUser(svc: UserService, name: string, password = PW): Promise<void> {
  const { token } = await svc.create({ name, roles: ['access'] }, 'admin');
  await svc.completeUserToken({ token, password });
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('UserService.create', () => {
  it('creates an invited user with a single-use invite token valid for 1h', async () => {
    const { svc, clock, events } = setup();
    const res = await svc.create({ name: 'alice', roles: ['access'], traits: { db_users: ['alice'] } }, 'admin');
    expect(res.user).toEqual({
      name: 'alice',
      roles: ['access'],
      traits: { db_users: ['alice'], db_names: [] },
      createdAt: clock.now().toISOString(),
      status: 'invited',
    });
    expect(res.token).toMatch(/^[0-9a-f]{64}$/);
    expect(res.expires.getTime() - clock.now().getTime()).toBe(HOUR);
    expect(events).toEqual([{ type: 'user.create', user: 'admin', name: 'alice', roles: ['access'], success: true }]);
  });

  it('stores the invite token only as its SHA-256 hash', async () => {
    const { svc, backend } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const stored = await backend.list('usertokens/');
    expect(stored.map((i) => i.key)).toEqual([`usertokens/${sha256(token)}`]);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored[0]!.value).toMatchObject({ kind: 'invite', user: 'alice' });
  });

  it('refuses an existing name and suggests users update', async () => {
    const { svc } = setup();
    await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const err = await rejection(svc.create({ name: 'alice', roles: ['editor'] }, 'admin'));
    expect(err.kind).toBe('already-exists');
    expect(err.message).toBe('user "alice" already exists');
    expect(err.hint).toBe('Use: xctl users update alice --set-roles ...');
  });

  it('lets exactly one of two concurrent creates of one name win', async () => {
    const { svc, backend } = setup();
    const results = await Promise.allSettled([
      svc.create({ name: 'alice', roles: ['access'] }, 'admin1'),
      svc.create({ name: 'alice', roles: ['editor'] }, 'admin2'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(((rejected[0] as PromiseRejectedResult).reason as XError).kind).toBe('already-exists');
    // Only the winner's invite exists.
    expect(await backend.list('usertokens/')).toHaveLength(1);
  });

  it('refuses a role that does not exist', async () => {
    const { svc, backend } = setup();
    const err = await rejection(svc.create({ name: 'alice', roles: ['access', 'nope'] }, 'admin'));
    expect(err.kind).toBe('not-found');
    expect(err.message).toBe('role "nope" does not exist');
    expect(await backend.get('users/alice')).toBeUndefined();
  });

  it('refuses a user without roles', async () => {
    const { svc } = setup();
    expect((await rejection(svc.create({ name: 'alice', roles: [] }, 'admin'))).kind).toBe('bad-parameter');
  });

  it('refuses malformed names', async () => {
    const { svc } = setup();
    for (const name of ['', '-alice', 'al ice', 'a/b', 'x'.repeat(129), 'ä']) {
      expect((await rejection(svc.create({ name, roles: ['access'] }, 'admin'))).kind).toBe('bad-parameter');
    }
    const ok = await svc.create({ name: 'alice.smith@example.com', roles: ['access'] }, 'admin');
    expect(ok.user.name).toBe('alice.smith@example.com');
  });

  it('accepts an invite TTL up to 48h and refuses a longer one', async () => {
    const { svc, clock } = setup();
    const res = await svc.create({ name: 'alice', roles: ['access'], ttlMs: 48 * HOUR }, 'admin');
    expect(res.expires.getTime() - clock.now().getTime()).toBe(48 * HOUR);
    const err = await rejection(svc.create({ name: 'bob', roles: ['access'], ttlMs: 48 * HOUR + 1 }, 'admin'));
    expect(err.kind).toBe('bad-parameter');
    expect(err.message).toMatch(/at most 48 hours/);
  });

  it('refuses trait values with spaces or control characters', async () => {
    const { svc } = setup();
    const err = await rejection(svc.create({ name: 'alice', roles: ['access'], traits: { db_users: ['a b'] } }, 'admin'));
    expect(err.kind).toBe('bad-parameter');
  });
});

describe('UserService invite tokens', () => {
  it('describes a token to the page that redeems it', async () => {
    const { svc } = setup();
    const { token, expires } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    expect(await svc.getUserToken(token)).toEqual({ user: 'alice', kind: 'invite', expires, secondFactor: 'off' });
  });

  it('sets the password, consumes the token and makes the user active', async () => {
    const { svc, events } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    expect(await svc.completeUserToken({ token, password: PW })).toEqual({ user: 'alice' });
    expect((await svc.get('alice')).status).toBe('active');
    expect(events.at(-1)).toEqual({ type: 'user.password_change', user: 'alice', kind: 'invite', success: true });
  });

  it('refuses to reuse a token, with the invalid-token error', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    await svc.completeUserToken({ token, password: PW });
    const err = await rejection(svc.completeUserToken({ token, password: PW2 }));
    expect(err.kind).toBe('not-found');
    expect(err.message).toBe(INVALID_TOKEN);
    expect(err.hint).toBe('Ask an administrator for a new one: xctl users reset <user>.');
    expect((await rejection(svc.getUserToken(token))).message).toBe(INVALID_TOKEN);
  });

  it('expires an invite after 1h', async () => {
    const { svc, clock } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    clock.advance(HOUR - 1);
    await expect(svc.getUserToken(token)).resolves.toMatchObject({ user: 'alice' });
    clock.advance(1);
    expect((await rejection(svc.getUserToken(token))).message).toBe(INVALID_TOKEN);
    expect((await rejection(svc.completeUserToken({ token, password: PW }))).message).toBe(INVALID_TOKEN);
  });

  it('gives unknown and malformed tokens the same error as used or expired ones', async () => {
    const { svc } = setup();
    for (const token of ['0'.repeat(64), 'not-a-token', '']) {
      const err = await rejection(svc.completeUserToken({ token, password: PW }));
      expect([err.kind, err.message]).toEqual(['not-found', INVALID_TOKEN]);
    }
  });

  it('refuses a short password without using up the token', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const err = await rejection(svc.completeUserToken({ token, password: 'short' }));
    expect(err.message).toBe('password must be at least 12 characters long');
    await expect(svc.completeUserToken({ token, password: PW })).resolves.toEqual({ user: 'alice' });
  });

  it('lets exactly one of two concurrent completions of one token win', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const results = await Promise.allSettled([
      svc.completeUserToken({ token, password: PW }),
      svc.completeUserToken({ token, password: PW2 }),
    ]);
    const won = results.findIndex((r) => r.status === 'fulfilled');
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(won).toBeGreaterThanOrEqual(0);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((lost.reason as Error).message).toBe(INVALID_TOKEN);
    // The winner's password is the one that works.
    const winner = won === 0 ? PW : PW2;
    const loser = won === 0 ? PW2 : PW;
    await expect(svc.authenticate({ user: 'alice', password: winner })).resolves.toMatchObject({ name: 'alice' });
    await expect(svc.authenticate({ user: 'alice', password: loser })).rejects.toThrow('invalid username or password');
  });
});

describe('UserService.update', () => {
  it('replaces roles and traits and describes each change', async () => {
    const { svc, events } = setup();
    await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const res = await svc.update('alice', { roles: ['access', 'editor'], traits: { db_users: ['alice'] } }, 'admin');
    expect(res.changes).toEqual(['New roles: access,editor', 'New db users: alice']);
    const u = await svc.get('alice');
    expect(u.roles).toEqual(['access', 'editor']);
    expect(u.traits).toEqual({ db_users: ['alice'], db_names: [] });
    expect(events.at(-1)).toMatchObject({ type: 'user.update', user: 'admin', name: 'alice' });
  });

  it('leaves fields that were not given alone', async () => {
    const { svc } = setup();
    await svc.create({ name: 'alice', roles: ['editor'], traits: { db_users: ['a'], db_names: ['0'] } }, 'admin');
    expect((await svc.update('alice', { traits: { db_names: ['1', '2'] } }, 'admin')).changes).toEqual([
      'New db names: 1,2',
    ]);
    const u = await svc.get('alice');
    expect(u.roles).toEqual(['editor']);
    expect(u.traits).toEqual({ db_users: ['a'], db_names: ['1', '2'] });
  });

  it('refuses an update with nothing to set', async () => {
    const { svc } = setup();
    await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    for (const req of [{}, { traits: {} }]) {
      const err = await rejection(svc.update('alice', req, 'admin'));
      expect([err.kind, err.message]).toEqual(['bad-parameter', 'Nothing to update. Please provide at least one --set flag.']);
    }
  });

  it('refuses unknown roles and unknown users', async () => {
    const { svc } = setup();
    await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    expect((await rejection(svc.update('alice', { roles: ['nope'] }, 'admin'))).message).toBe('role "nope" does not exist');
    expect((await rejection(svc.update('bob', { roles: ['access'] }, 'admin'))).kind).toBe('not-found');
  });

  it('keeps the password when roles change', async () => {
    const { svc } = setup();
    await activeUser(svc, 'alice');
    await svc.update('alice', { roles: ['editor'] }, 'admin');
    await expect(svc.authenticate({ user: 'alice', password: PW })).resolves.toMatchObject({ roles: ['editor'] });
  });
});

describe('UserService list, get, delete', () => {
  it('lists users by name with their status and without secrets', async () => {
    const { svc } = setup();
    await activeUser(svc, 'bob');
    await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const users = await svc.list();
    expect(users.map((u) => [u.name, u.status])).toEqual([
      ['alice', 'invited'],
      ['bob', 'active'],
    ]);
    expect(JSON.stringify(users)).not.toMatch(/scrypt|passwordHash|totp/);
  });

  it('reports a missing user as not found', async () => {
    const { svc } = setup();
    const err = await rejection(svc.get('ghost'));
    expect([err.kind, err.message]).toEqual(['not-found', 'user "ghost" not found']);
  });

  it('deletes the user and their outstanding invite', async () => {
    const { svc, backend, events } = setup();
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    await svc.delete('alice', 'admin');
    expect((await rejection(svc.get('alice'))).kind).toBe('not-found');
    expect(await backend.list('usertokens/')).toEqual([]);
    expect((await rejection(svc.getUserToken(token))).message).toBe(INVALID_TOKEN);
    expect(events.at(-1)).toEqual({ type: 'user.delete', user: 'admin', name: 'alice', success: true });
    expect((await rejection(svc.delete('alice', 'admin'))).kind).toBe('not-found');
  });

  it('shows a locked user as locked', async () => {
    const { svc } = setup();
    await activeUser(svc, 'alice');
    for (let i = 0; i < 5; i++) await svc.authenticate({ user: 'alice', password: 'wrong password!' }).catch(() => {});
    expect((await svc.get('alice')).status).toBe('locked');
  });
});

describe('UserService.reset', () => {
  it('invalidates the old password and lets the user set a new one', async () => {
    const { svc, clock, events } = setup();
    await activeUser(svc, 'alice');
    const { token, expires } = await svc.reset('alice', undefined, 'admin');
    expect(expires.getTime() - clock.now().getTime()).toBe(8 * HOUR);
    expect(events.at(-1)).toMatchObject({ type: 'user.reset', user: 'admin', name: 'alice' });
    expect((await svc.get('alice')).status).toBe('invited');
    await expect(svc.authenticate({ user: 'alice', password: PW })).rejects.toThrow('invalid username or password');
    expect(await svc.getUserToken(token)).toMatchObject({ user: 'alice', kind: 'reset' });
    await svc.completeUserToken({ token, password: PW2 });
    await expect(svc.authenticate({ user: 'alice', password: PW2 })).resolves.toMatchObject({ name: 'alice' });
    await expect(svc.authenticate({ user: 'alice', password: PW })).rejects.toThrow('invalid username or password');
  });

  it('removes the earlier invite and reset tokens of the user', async () => {
    const { svc } = setup();
    const { token: invite } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const { token: first } = await svc.reset('alice', undefined, 'admin');
    const { token: second } = await svc.reset('alice', undefined, 'admin');
    expect((await rejection(svc.getUserToken(invite))).message).toBe(INVALID_TOKEN);
    expect((await rejection(svc.getUserToken(first))).message).toBe(INVALID_TOKEN);
    await expect(svc.getUserToken(second)).resolves.toMatchObject({ kind: 'reset' });
  });

  it('accepts a reset TTL up to 24h and refuses a longer one', async () => {
    const { svc } = setup();
    await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    await expect(svc.reset('alice', 24 * HOUR, 'admin')).resolves.toBeDefined();
    const err = await rejection(svc.reset('alice', 24 * HOUR + 1, 'admin'));
    expect(err.message).toMatch(/at most 24 hours/);
    expect((await rejection(svc.reset('ghost', undefined, 'admin'))).kind).toBe('not-found');
  });

  it('expires a reset token after its TTL', async () => {
    const { svc, clock } = setup();
    await activeUser(svc, 'alice');
    const { token } = await svc.reset('alice', undefined, 'admin');
    clock.advance(8 * HOUR);
    expect((await rejection(svc.completeUserToken({ token, password: PW2 }))).message).toBe(INVALID_TOKEN);
  });
});

describe('UserService.authenticate', () => {
  it('returns the stored user for the right password and records a successful login', async () => {
    const { svc, events } = setup();
    await activeUser(svc, 'alice');
    const u: User = await svc.authenticate({ user: 'alice', password: PW, remoteAddr: '127.0.0.1' });
    expect(u.name).toBe('alice');
    expect(u.roles).toEqual(['access']);
    expect(events.at(-1)).toEqual({ type: 'user.login', user: 'alice', success: true, method: 'password', remoteAddr: '127.0.0.1' });
  });

  it('fails alike for an unknown user, a user without password and a wrong password', async () => {
    const { svc, events } = setup();
    await activeUser(svc, 'alice');
    await svc.create({ name: 'bob', roles: ['access'] }, 'admin');
    const errs = [
      await rejection(svc.authenticate({ user: 'ghost', password: PW })),
      await rejection(svc.authenticate({ user: 'bob', password: PW })),
      await rejection(svc.authenticate({ user: 'alice', password: PW2 })),
      await rejection(svc.authenticate({ user: 'not a valid name', password: PW })),
    ];
    for (const e of errs) {
      expect([e.kind, e.message, e.hint]).toEqual(['access-denied', 'invalid username or password', undefined]);
    }
    expect(events.filter((e) => e.type === 'user.login').map((e) => e.success)).toEqual([false, false, false, false]);
  });

  it('never puts a password into an audit event', async () => {
    const { svc, events } = setup();
    await activeUser(svc, 'alice');
    await svc.authenticate({ user: 'alice', password: PW });
    await svc.authenticate({ user: 'alice', password: PW2 }).catch(() => {});
    await svc.authenticate({ user: 'ghost', password: 'ghost password 123' }).catch(() => {});
    const json = JSON.stringify(events);
    expect(events.filter((e) => e.type === 'user.login')).toHaveLength(3);
    for (const secret of [PW, PW2, 'ghost password 123']) expect(json).not.toContain(secret);
    expect(json).not.toMatch(/"password(Hash)?"\s*:|scrypt/);
  });

  it('locks the account after 5 wrong passwords, even against the right one, and unlocks after 15 minutes', async () => {
    const { svc, clock } = setup();
    await activeUser(svc, 'alice');
    for (let i = 0; i < 5; i++) {
      expect((await rejection(svc.authenticate({ user: 'alice', password: `wrong password ${i}` }))).kind).toBe('access-denied');
    }
    const err = await rejection(svc.authenticate({ user: 'alice', password: PW }));
    expect(err.kind).toBe('limit-exceeded');
    expect(err.message).toBe('too many failed login attempts; try again in 15 minutes');
    clock.advance(15 * MIN - 1);
    expect((await rejection(svc.authenticate({ user: 'alice', password: PW }))).kind).toBe('limit-exceeded');
    clock.advance(1);
    await expect(svc.authenticate({ user: 'alice', password: PW })).resolves.toMatchObject({ name: 'alice' });
  });

  it('does not let a stranger guessing from one address lock the user out of another', async () => {
    const { svc } = setup();
    await activeUser(svc, 'alice');
    for (let i = 0; i < 10; i++) await rejection(svc.authenticate({ user: 'alice', password: `wrong ${i}`, remoteAddr: '203.0.113.9' }));
    expect((await rejection(svc.authenticate({ user: 'alice', password: PW, remoteAddr: '203.0.113.9' }))).kind).toBe('limit-exceeded');
    await expect(svc.authenticate({ user: 'alice', password: PW, remoteAddr: '198.51.100.7' })).resolves.toMatchObject({ name: 'alice' });
  });

  it('writes at most 10 events a minute per address for logins refused while locked', async () => {
    const { svc, events, clock } = setup();
    await activeUser(svc, 'alice');
    for (let i = 0; i < 5; i++) await rejection(svc.authenticate({ user: 'alice', password: `wrong ${i}`, remoteAddr: '203.0.113.9' }));
    const before = events.length;
    for (let i = 0; i < 50; i++) await rejection(svc.authenticate({ user: 'alice', password: 'x', remoteAddr: '203.0.113.9' }));
    expect(events.length - before).toBe(10);
    clock.advance(MIN);
    await rejection(svc.authenticate({ user: 'alice', password: 'x', remoteAddr: '203.0.113.9' }));
    expect(events.at(-1)).toMatchObject({ type: 'user.login', success: false, suppressed: 40 });
  });

  it('locks a name that belongs to no user exactly like a real one', async () => {
    const { svc, clock } = setup();
    await activeUser(svc, 'alice');
    const trace = async (user: string) => {
      const out: string[] = [];
      for (let i = 0; i < 6; i++) {
        const e = await rejection(svc.authenticate({ user, password: `wrong password ${i}` }));
        out.push(`${e.kind}: ${e.message}`);
      }
      return out;
    };
    const real = await trace('alice');
    const ghost = await trace('ghost');
    expect(ghost).toEqual(real);
    expect(real.at(-1)).toBe('limit-exceeded: too many failed login attempts; try again in 15 minutes');
    clock.advance(15 * MIN);
    expect((await rejection(svc.authenticate({ user: 'ghost', password: PW }))).kind).toBe('access-denied');
  });

  it('clears failures after a successful login', async () => {
    const { svc } = setup();
    await activeUser(svc, 'alice');
    for (let i = 0; i < 4; i++) await svc.authenticate({ user: 'alice', password: 'wrong password!' }).catch(() => {});
    await svc.authenticate({ user: 'alice', password: PW });
    for (let i = 0; i < 4; i++) await svc.authenticate({ user: 'alice', password: 'wrong password!' }).catch(() => {});
    await expect(svc.authenticate({ user: 'alice', password: PW })).resolves.toMatchObject({ name: 'alice' });
  });

  it('lifts the lock when the user completes a reset', async () => {
    const { svc } = setup();
    await activeUser(svc, 'alice');
    for (let i = 0; i < 5; i++) await svc.authenticate({ user: 'alice', password: 'wrong password!' }).catch(() => {});
    const { token } = await svc.reset('alice', undefined, 'admin');
    await svc.completeUserToken({ token, password: PW2 });
    await expect(svc.authenticate({ user: 'alice', password: PW2 })).resolves.toMatchObject({ name: 'alice' });
  });

  it('records the refused login of a locked account as a failed login event', async () => {
    const { svc, events } = setup();
    for (let i = 0; i < 6; i++) await svc.authenticate({ user: 'ghost', password: 'wrong password!' }).catch(() => {});
    expect(events.at(-1)).toMatchObject({ type: 'user.login', user: 'ghost', success: false, error: expect.stringMatching(/too many/) });
  });
});

describe('UserService with second factor otp', () => {
  /** invite creates alice and returns the token and the TOTP secret from its otpauth URI. */
  async function invite(svc: UserService) {
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const info = await svc.getUserToken(token);
    const secret = new URL(info.otpUri!).searchParams.get('secret')!;
    return { token, info, secret };
  }

  it('proposes one TOTP secret per token, the same on every read', async () => {
    const { svc } = setup('otp');
    const { token, info } = await invite(svc);
    expect(info.secondFactor).toBe('otp');
    expect(info.otpUri).toMatch(/^otpauth:\/\/totp\/example:alice\?/);
    expect((await svc.getUserToken(token)).otpUri).toBe(info.otpUri);
  });

  it('gives concurrent first reads the same secret', async () => {
    const { svc } = setup('otp');
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const [a, b] = await Promise.all([svc.getUserToken(token), svc.getUserToken(token)]);
    expect(a.otpUri).toBe(b.otpUri);
    expect((await svc.getUserToken(token)).otpUri).toBe(a.otpUri);
  });

  it('requires a valid code to complete the invite', async () => {
    const { svc, clock } = setup('otp');
    const { token, secret } = await invite(svc);
    const valid = new Set([-30_000, 0, 30_000].map((d) => totpCode(secret, new Date(clock.now().getTime() + d))));
    const wrong = ['111111', '222222', '333333', '444444'].find((c) => !valid.has(c))!;
    for (const otpCode of [undefined, wrong, 'abc']) {
      const err = await rejection(svc.completeUserToken({ token, password: PW, otpCode }));
      expect([err.kind, err.message]).toEqual(['access-denied', 'invalid one-time code']);
    }
    await expect(svc.completeUserToken({ token, password: PW, otpCode: totpCode(secret, clock.now()) })).resolves.toEqual({
      user: 'alice',
    });
  });

  it('refuses to complete a token whose secret was never shown', async () => {
    const { svc } = setup('otp');
    const { token } = await svc.create({ name: 'alice', roles: ['access'] }, 'admin');
    const err = await rejection(svc.completeUserToken({ token, password: PW, otpCode: '123456' }));
    expect(err.kind).toBe('bad-parameter');
  });

  it('logs in end to end with password and code, and refuses a replayed code', async () => {
    const { svc, clock } = setup('otp');
    const { token, secret } = await invite(svc);
    const enrolCode = totpCode(secret, clock.now());
    await svc.completeUserToken({ token, password: PW, otpCode: enrolCode });
    const DENIED = 'invalid username, password or one-time code';

    // The enrolment code was used: it cannot log in.
    expect((await rejection(svc.authenticate({ user: 'alice', password: PW, otpCode: enrolCode }))).message).toBe(DENIED);

    clock.advance(30_000);
    const code = totpCode(secret, clock.now());
    const u = await svc.authenticate({ user: 'alice', password: PW, otpCode: code });
    expect(u.name).toBe('alice');
    expect(u.totpLastStep).toBe(Math.floor(clock.now().getTime() / 30_000));
    // Replay of the same code within its step.
    expect((await rejection(svc.authenticate({ user: 'alice', password: PW, otpCode: code }))).message).toBe(DENIED);

    clock.advance(30_000);
    await expect(svc.authenticate({ user: 'alice', password: PW, otpCode: totpCode(secret, clock.now()) })).resolves.toMatchObject({
      name: 'alice',
    });
  });

  it('does not reveal which factor was wrong', async () => {
    const { svc, clock } = setup('otp');
    const { token, secret } = await invite(svc);
    await svc.completeUserToken({ token, password: PW, otpCode: totpCode(secret, clock.now()) });
    clock.advance(60_000);
    const good = totpCode(secret, clock.now());
    const msgs = [
      await rejection(svc.authenticate({ user: 'alice', password: PW })), // code missing
      await rejection(svc.authenticate({ user: 'alice', password: PW, otpCode: good === '111111' ? '222222' : '111111' })),
      await rejection(svc.authenticate({ user: 'alice', password: PW2, otpCode: good })), // right code, wrong password
      await rejection(svc.authenticate({ user: 'ghost', password: PW, otpCode: good })),
    ].map((e) => `${e.kind}: ${e.message}`);
    expect(new Set(msgs)).toEqual(new Set(['access-denied: invalid username, password or one-time code']));
    // The right code was not burnt by the failed attempt with the wrong password.
    await expect(svc.authenticate({ user: 'alice', password: PW, otpCode: good })).resolves.toMatchObject({ name: 'alice' });
  });

  it('lets one of two concurrent logins with the same code through', async () => {
    const { svc, clock } = setup('otp');
    const { token, secret } = await invite(svc);
    await svc.completeUserToken({ token, password: PW, otpCode: totpCode(secret, clock.now()) });
    clock.advance(30_000);
    const otpCode = totpCode(secret, clock.now());
    const results = await Promise.allSettled([
      svc.authenticate({ user: 'alice', password: PW, otpCode }),
      svc.authenticate({ user: 'alice', password: PW, otpCode }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('stores the TOTP secret on the user but never shows it', async () => {
    const { svc, backend, clock } = setup('otp');
    const { token, secret } = await invite(svc);
    await svc.completeUserToken({ token, password: PW, otpCode: totpCode(secret, clock.now()) });
    expect((await backend.get<User>('users/alice'))!.value.totpSecret).toBe(secret);
    expect(JSON.stringify(await svc.list())).not.toContain(secret);
    expect(JSON.stringify(await svc.get('alice'))).not.toContain(secret);
  });

  it('clears the second factor on reset and enrols a new one', async () => {
    const { svc, backend, clock } = setup('otp');
    const { token, secret } = await invite(svc);
    await svc.completeUserToken({ token, password: PW, otpCode: totpCode(secret, clock.now()) });
    const reset = await svc.reset('alice', undefined, 'admin');
    expect((await backend.get<User>('users/alice'))!.value).not.toHaveProperty('totpSecret');
    const info = await svc.getUserToken(reset.token);
    const secret2 = new URL(info.otpUri!).searchParams.get('secret')!;
    expect(secret2).not.toBe(secret);
    clock.advance(30_000);
    await svc.completeUserToken({ token: reset.token, password: PW2, otpCode: totpCode(secret2, clock.now()) });
    clock.advance(30_000);
    await expect(svc.authenticate({ user: 'alice', password: PW2, otpCode: totpCode(secret2, clock.now()) })).resolves.toBeDefined();
  });
});
