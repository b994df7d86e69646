import { describe, expect, it } from 'vitest';
import { authCommand, isWrongPass, keepAuthenticated, leadMs } from '../../../src/redis/reauth.js';
import type { CredentialProvider, UpstreamCredentials } from '../../../src/db/credentials.js';
import type { DatabaseSpec } from '../../../src/db/database.js';
import { nullLogger } from '../../../src/util/log.js';
import { systemClock } from '../../../src/util/clock.js';

const db = { name: 'db', type: 'elasticache' } as DatabaseSpec;
const tls = { rejectUnauthorized: true, checkServerName: true };

/** TokenProvider hands out numbered tokens that live ttlMs, like an IAM token source. */
class TokenProvider implements CredentialProvider {
  issued = 0;
  invalidated = 0;
  constructor(private readonly ttlMs: number) {}
  async credentials(): Promise<UpstreamCredentials> {
    this.issued++;
    return { username: 'u', password: `token-${this.issued}`, tls, expiresAt: new Date(Date.now() + this.ttlMs) };
  }
  invalidate(): void {
    this.invalidated++;
  }
}

const until = async (what: string, fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('re-authentication of live connections', () => {
  it('sends a fresh AUTH before each expiry and keeps going', async () => {
    const p = new TokenProvider(1_500);
    const sent: string[] = [];
    const ac = new AbortController();
    const first = await p.credentials();
    const stop = keepAuthenticated({
      db, dbUser: 'u', options: { notAfter: new Date(Date.now() + 60_000), signal: ac.signal }, credentials: p, first, clock: systemClock, log: nullLogger, sessionId: 's', signal: ac.signal,
      apply: (auth, done) => {
        sent.push(auth.toString());
        queueMicrotask(() => done(true));
        return true;
      },
    });
    await until('two re-AUTHs', () => sent.length >= 2);
    stop();
    expect(sent[0]).toBe(authCommand({ username: 'u', password: 'token-2', tls }).toString());
    expect(sent[1]).toContain('token-3');
  });

  it('waits while the connection cannot take AUTH (inside MULTI) and sends it once it can', async () => {
    const p = new TokenProvider(1_000);
    let busy = true;
    const sent: string[] = [];
    const ac = new AbortController();
    keepAuthenticated({
      db, dbUser: 'u', options: { notAfter: new Date(Date.now() + 60_000), signal: ac.signal }, credentials: p, first: await p.credentials(), clock: systemClock, log: nullLogger, sessionId: 's', signal: ac.signal,
      apply: (auth, done) => {
        if (busy) return false;
        sent.push(auth.toString());
        done(true);
        return true;
      },
    });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(sent).toEqual([]);
    busy = false;
    await until('AUTH after MULTI', () => sent.length >= 1);
    ac.abort();
  });

  it('drops cached credentials and tries again when Redis refuses the fresh ones', async () => {
    const p = new TokenProvider(800);
    const ac = new AbortController();
    let calls = 0;
    keepAuthenticated({
      db, dbUser: 'u', options: { notAfter: new Date(Date.now() + 60_000), signal: ac.signal }, credentials: p, first: await p.credentials(), clock: systemClock, log: nullLogger, sessionId: 's', signal: ac.signal,
      apply: (_auth, done) => {
        calls++;
        done(false, 'WRONGPASS');
        return true;
      },
    });
    await until('a refusal', () => calls >= 1);
    expect(p.invalidated).toBeGreaterThanOrEqual(1);
    ac.abort();
  });

  it('does nothing for credentials without a password or an expiry (client certificates)', async () => {
    let applied = false;
    const stop = keepAuthenticated({
      db, dbUser: 'u', options: { notAfter: new Date(Date.now() + 60_000) }, credentials: new TokenProvider(10), first: { tls, expiresAt: new Date(Date.now() + 10) }, clock: systemClock, log: nullLogger, sessionId: 's', signal: new AbortController().signal,
      apply: () => (applied = true),
    });
    await new Promise((r) => setTimeout(r, 200));
    stop();
    expect(applied).toBe(false);
  });

  it('re-authenticates shortly before expiry: at most 2 min, a fifth of the remaining life', () => {
    expect(leadMs(15 * 60_000)).toBe(120_000);
    expect(leadMs(20_000)).toBe(4_000);
    expect(leadMs(100)).toBe(500);
  });

  it('recognises refused credentials, not other AUTH errors', () => {
    expect(isWrongPass(Buffer.from('-WRONGPASS invalid username-password pair or user is disabled.\r\n'))).toBe(true);
    expect(isWrongPass(Buffer.from('-ERR invalid password\r\n'))).toBe(true);
    expect(isWrongPass(Buffer.from('-NOPERM this user has no permissions\r\n'))).toBe(false);
  });
});
