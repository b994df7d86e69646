import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JoinTokenService } from '../../../src/auth/tokens.js';
import type { JoinTokenType } from '../../../src/auth/types.js';
import type { AuditRecord } from '../../../src/auth/users.js';
import { isXError, type XError } from '../../../src/errors.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';

const MIN = 60_000;
const INVALID = 'join token is invalid, used up or has expired';

function setup() {
  const clock = new FakeClock();
  const backend = new MemoryBackend(clock);
  const events: AuditRecord[] = [];
  const svc = new JoinTokenService({ backend, clock, emit: (e) => events.push(e) });
  return { clock, backend, events, svc };
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

describe('JoinTokenService.create', () => {
  it('makes a random 32-hex-character db token valid for 30 minutes', async () => {
    const { svc, clock } = setup();
    const a = await svc.create({ type: 'db' }, 'admin');
    expect(a.token).toMatch(/^[0-9a-f]{32}$/);
    expect(a.type).toBe('db');
    expect(a.expires.getTime() - clock.now().getTime()).toBe(30 * MIN);
    expect((await svc.create({ type: 'db' }, 'admin')).token).not.toBe(a.token);
  });

  it('stores only the SHA-256 of the token', async () => {
    const { svc, backend } = setup();
    const { token } = await svc.create({ type: 'db', labels: { env: 'dev' } }, 'admin');
    const stored = await backend.list('tokens/');
    expect(stored.map((i) => i.key)).toEqual([`tokens/${createHash('sha256').update(token).digest('hex')}`]);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('records token.create without the token', async () => {
    const { svc, events } = setup();
    const { token, expires } = await svc.create({ type: 'db', labels: { env: 'dev' } }, 'admin');
    expect(events).toEqual([
      {
        type: 'token.create',
        user: 'admin',
        tokenType: 'db',
        hint: `${token.slice(0, 4)}…${token.slice(-4)}`,
        labels: { env: 'dev' },
        expires: expires.toISOString(),
        uses: 1,
        success: true,
      },
    ]);
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('takes a custom TTL and a chosen value of at least 32 hex characters', async () => {
    const { svc, clock } = setup();
    const value = 'ab'.repeat(20);
    const res = await svc.create({ type: 'db', value, ttlMs: 2 * 60 * MIN }, 'admin');
    expect(res.token).toBe(value);
    expect(res.expires.getTime() - clock.now().getTime()).toBe(2 * 60 * MIN);
  });

  it('refuses a chosen value that is short or not hex', async () => {
    const { svc } = setup();
    for (const value of ['ab'.repeat(15) + 'a', 'g'.repeat(32), '', 'secret-token-secret-token-secret-token']) {
      const err = await rejection(svc.create({ type: 'db', value }, 'admin'));
      expect(err.kind).toBe('bad-parameter');
      if (value) expect(err.message).not.toContain(value); // the rejected value is not echoed
    }
  });

  it('refuses a chosen value that is already a token', async () => {
    const { svc } = setup();
    const value = 'cd'.repeat(16);
    await svc.create({ type: 'db', value }, 'admin');
    expect((await rejection(svc.create({ type: 'db', value }, 'admin'))).kind).toBe('already-exists');
  });

  it('refuses unknown types, bad TTLs and bad labels', async () => {
    const { svc } = setup();
    const err = await rejection(svc.create({ type: 'node' as JoinTokenType }, 'admin'));
    expect([err.kind, err.message, err.hint]).toEqual(['bad-parameter', 'unknown join token type "node"', 'Supported types: db.']);
    expect((await rejection(svc.create({ type: 'db', ttlMs: 0 }, 'admin'))).kind).toBe('bad-parameter');
    expect((await rejection(svc.create({ type: 'db', labels: { 'bad key': 'x' } }, 'admin'))).kind).toBe('bad-parameter');
  });
});

describe('JoinTokenService.list', () => {
  it('lists tokens by hint only, soonest to expire first', async () => {
    const { svc } = setup();
    const long = await svc.create({ type: 'db', ttlMs: 60 * MIN, labels: { env: 'prod' } }, 'admin');
    const short = await svc.create({ type: 'db' }, 'admin');
    const list = await svc.list();
    expect(list).toEqual([
      { hint: `${short.token.slice(0, 4)}…${short.token.slice(-4)}`, type: 'db', labels: {}, expires: short.expires, uses: 1 },
      { hint: `${long.token.slice(0, 4)}…${long.token.slice(-4)}`, type: 'db', labels: { env: 'prod' }, expires: long.expires, uses: 1 },
    ]);
    const json = JSON.stringify(list);
    expect(json).not.toContain(short.token);
    expect(json).not.toContain(long.token);
  });

  it('drops expired tokens', async () => {
    const { svc, clock } = setup();
    await svc.create({ type: 'db' }, 'admin');
    clock.advance(30 * MIN);
    expect(await svc.list()).toEqual([]);
  });
});

describe('JoinTokenService.validate', () => {
  it('accepts a live token of the right type and does not consume it', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ type: 'db', labels: { env: 'dev' } }, 'admin');
    const first = await svc.validate(token, 'db');
    expect(first).toMatchObject({ type: 'db', labels: { env: 'dev' } });
    // Validating is only a look: consume is what uses the token up.
    await expect(svc.validate(token, 'db')).resolves.toEqual(first);
  });

  it('refuses an expired token', async () => {
    const { svc, clock } = setup();
    const { token } = await svc.create({ type: 'db' }, 'admin');
    clock.advance(30 * MIN - 1);
    await expect(svc.validate(token, 'db')).resolves.toBeDefined();
    clock.advance(1);
    const err = await rejection(svc.validate(token, 'db'));
    expect([err.kind, err.message]).toEqual(['access-denied', INVALID]);
  });

  it('refuses unknown, malformed and wrong-type tokens with the same error', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ type: 'db' }, 'admin');
    for (const [t, type] of [
      ['0'.repeat(32), 'db'],
      ['nonsense', 'db'],
      ['', 'db'],
      [token, 'node'],
    ] as const) {
      const err = await rejection(svc.validate(t, type as JoinTokenType));
      expect([err.kind, err.message]).toEqual(['access-denied', INVALID]);
    }
  });
});

describe('JoinTokenService.consume', () => {
  it('admits one join with a default token and refuses the second', async () => {
    const { svc, backend } = setup();
    const { token } = await svc.create({ type: 'db' }, 'admin');
    await expect(svc.consume(token, 'db')).resolves.toMatchObject({ type: 'db', uses: 0 });
    const err = await rejection(svc.consume(token, 'db'));
    expect([err.kind, err.message]).toEqual(['access-denied', INVALID]);
    expect(await backend.list('tokens/')).toEqual([]);
  });

  it('admits exactly N joins with uses N, and lists the joins left', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ type: 'db', uses: 3 }, 'admin');
    await svc.consume(token, 'db');
    expect((await svc.list()).map((t) => t.uses)).toEqual([2]);
    await svc.consume(token, 'db');
    await svc.consume(token, 'db');
    expect((await rejection(svc.consume(token, 'db'))).message).toBe(INVALID);
    expect(await svc.list()).toEqual([]);
  });

  it('admits one of several agents racing for the last use', async () => {
    const { svc } = setup();
    const { token } = await svc.create({ type: 'db', uses: 2 }, 'admin');
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => svc.consume(token, 'db')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
  });

  it('refuses uses outside 1..10000 and expired or wrong-type tokens', async () => {
    const { svc, clock } = setup();
    for (const uses of [0, -1, 1.5, 10_001]) {
      expect((await rejection(svc.create({ type: 'db', uses }, 'admin'))).kind).toBe('bad-parameter');
    }
    const { token } = await svc.create({ type: 'db', uses: 5 }, 'admin');
    expect((await rejection(svc.consume(token, 'node' as JoinTokenType))).message).toBe(INVALID);
    clock.advance(30 * MIN);
    expect((await rejection(svc.consume(token, 'db'))).message).toBe(INVALID);
  });
});

describe('JoinTokenService.delete', () => {
  it('deletes a token given in full', async () => {
    const { svc, events } = setup();
    const { token } = await svc.create({ type: 'db' }, 'admin');
    await svc.delete(token, 'admin');
    expect((await rejection(svc.validate(token, 'db'))).message).toBe(INVALID);
    expect(events.at(-1)).toEqual({ type: 'token.delete', user: 'admin', hint: `${token.slice(0, 4)}…${token.slice(-4)}`, success: true });
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('deletes a token by the hint that tokens ls shows, with … or ...', async () => {
    const { svc } = setup();
    const a = await svc.create({ type: 'db' }, 'admin');
    const b = await svc.create({ type: 'db' }, 'admin');
    await svc.delete(`${a.token.slice(0, 4)}…${a.token.slice(-4)}`, 'admin');
    await svc.delete(`${b.token.slice(0, 4)}...${b.token.slice(-4)}`, 'admin');
    expect(await svc.list()).toEqual([]);
  });

  it('reports an unknown token as not found', async () => {
    const { svc } = setup();
    await svc.create({ type: 'db' }, 'admin');
    for (const t of ['f'.repeat(32), 'ffff…ffff', 'whatever']) {
      const err = await rejection(svc.delete(t, 'admin'));
      expect([err.kind, err.message]).toEqual(['not-found', 'join token not found']);
    }
    expect(await svc.list()).toHaveLength(1);
  });

  it('refuses a hint that matches several tokens', async () => {
    const { svc } = setup();
    await svc.create({ type: 'db', value: 'abcd' + '0'.repeat(24) + '1234' }, 'admin');
    await svc.create({ type: 'db', value: 'abcd' + '1'.repeat(24) + '1234' }, 'admin');
    expect((await rejection(svc.delete('abcd…1234', 'admin'))).kind).toBe('bad-parameter');
    expect(await svc.list()).toHaveLength(2);
  });
});
