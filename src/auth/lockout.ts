/**
 * auth/lockout: throttles password guessing without handing strangers a way to lock users out.
 *
 * Three counters, each a sliding window of failures that locks its subject for a while:
 * - per (user, source address): `maxFailures` (5) failures lock that user *from that address*
 *   only, so a stranger guessing wrong locks out nobody but themself;
 * - per source address, over all names: `maxSourceFailures` (30) failures lock the address, so one
 *   address cannot spray guesses over many names;
 * - per user, over all addresses: a slower global limit, `maxGlobalFailures` (100) within
 *   `globalWindowMs` (1 h), against guessing spread over many addresses.
 * IPv6 sources count per /64 (one host usually owns a whole /64) and IPv4-mapped addresses as IPv4.
 *
 * Attempts are tracked whether or not the user exists, so the lock behaves identically for real
 * and made-up names and cannot be used to discover accounts. State lives in the Backend so every
 * auth replica sees the same counts. Imports errors, util and the store contract only; must not
 * import HTTP or anything above auth.
 */
import { isXError, limitExceeded } from '../errors.js';
import type { Backend } from '../store/backend.js';
import type { Clock } from '../util/clock.js';
import { sourceKey } from '../util/net.js';

/** LoginLimiterOptions tunes the locks; see the module comment for the defaults. */
export interface LoginLimiterOptions {
  /** Failures per (user, source) that lock the user from that source. Default 5. */
  maxFailures?: number;
  /** How long every lock lasts, and how far back per-(user, source) and per-source failures count. Default 15 minutes. */
  lockMs?: number;
  /** Failures from one source, over all names, that lock the source. Default 30. */
  maxSourceFailures?: number;
  /** Failures for one user, over all sources, that lock the user everywhere. Default 100. */
  maxGlobalFailures?: number;
  /** How far back the global per-user failures count. Default 1 hour. */
  globalWindowMs?: number;
}

/** LoginAttempts is what is stored under each counter's key. */
interface LoginAttempts {
  /** ISO times of recent failures, oldest first. */
  failures: string[];
  lockedUntil?: string;
}

/** Counter is one sliding-window lock. */
interface Counter {
  key: string;
  max: number;
  windowMs: number;
  message: string;
}

// The per-user global counter keeps the historical key, so existing locks survive an upgrade.
const GLOBAL_PREFIX = 'logins/';
const PAIR_PREFIX = 'logins-from/';
const SOURCE_PREFIX = 'login-sources/';
// Several replicas (or parallel requests) may record failures at once; a conditional put retried
// a few times counts every one of them.
const MAX_RETRIES = 8;

/** LoginLimiter counts failed logins and refuses logins while a counter is locked. */
export class LoginLimiter {
  private readonly maxFailures: number;
  private readonly lockMs: number;
  private readonly maxSourceFailures: number;
  private readonly maxGlobalFailures: number;
  private readonly globalWindowMs: number;

  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
    opts: LoginLimiterOptions = {},
  ) {
    this.maxFailures = opts.maxFailures ?? 5;
    this.lockMs = opts.lockMs ?? 15 * 60_000;
    this.maxSourceFailures = opts.maxSourceFailures ?? 30;
    this.maxGlobalFailures = opts.maxGlobalFailures ?? 100;
    this.globalWindowMs = opts.globalWindowMs ?? 60 * 60_000;
  }

  private counters(user: string, source: string | undefined): Counter[] {
    const src = sourceKey(source);
    return [
      { key: `${PAIR_PREFIX}${user}/${src}`, max: this.maxFailures, windowMs: this.lockMs, message: 'too many failed login attempts' },
      {
        key: SOURCE_PREFIX + src,
        max: this.maxSourceFailures,
        windowMs: this.lockMs,
        message: 'too many failed login attempts from your address',
      },
      {
        key: GLOBAL_PREFIX + user,
        max: this.maxGlobalFailures,
        windowMs: this.globalWindowMs,
        message: 'too many failed login attempts for this user',
      },
    ];
  }

  private async lockOf(key: string): Promise<Date | undefined> {
    const item = await this.backend.get<LoginAttempts>(key);
    const until = item?.value.lockedUntil ? new Date(item.value.lockedUntil) : undefined;
    return until && until.getTime() > this.clock.now().getTime() ? until : undefined;
  }

  /**
   * lockedUntil returns when user's lock ends, or undefined when user is not locked. With a source
   * it is the lock that applies to a login from there; without one (the admin view), the latest
   * lock of user from any source or everywhere.
   */
  async lockedUntil(user: string, source?: string): Promise<Date | undefined> {
    let latest: Date | undefined;
    const consider = (d: Date | undefined) => {
      if (d && (!latest || d > latest)) latest = d;
    };
    if (source !== undefined) {
      for (const c of this.counters(user, source)) consider(await this.lockOf(c.key));
      return latest;
    }
    consider(await this.lockOf(GLOBAL_PREFIX + user));
    const now = this.clock.now().getTime();
    for (const item of await this.backend.list<LoginAttempts>(`${PAIR_PREFIX}${user}/`)) {
      const until = item.value.lockedUntil ? new Date(item.value.lockedUntil) : undefined;
      if (until && until.getTime() > now) consider(until);
    }
    return latest;
  }

  /** check throws limit-exceeded while a login of user from source is locked, saying how long is left. */
  async check(user: string, source?: string): Promise<void> {
    for (const c of this.counters(user, source)) {
      const until = await this.lockOf(c.key);
      if (!until) continue;
      const minutes = Math.max(1, Math.ceil((until.getTime() - this.clock.now().getTime()) / 60_000));
      throw limitExceeded(`${c.message}; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`);
    }
  }

  /**
   * recordFailure counts one failed login of user from source on every counter. `locked` tells
   * whether a login of user from source is now refused.
   */
  async recordFailure(user: string, source?: string): Promise<{ locked: boolean }> {
    let locked = false;
    for (const c of this.counters(user, source)) if ((await this.bump(c)).locked) locked = true;
    return { locked };
  }

  private async bump(c: Counter): Promise<{ locked: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const item = await this.backend.get<LoginAttempts>(c.key);
      // Already locked (a request that raced past check): keep the lock as it is rather than
      // extending it, so the lock ends when check said it would.
      if (item?.value.lockedUntil && Date.parse(item.value.lockedUntil) > now.getTime()) return { locked: true };
      const windowStart = now.getTime() - c.windowMs;
      // Failures older than the window no longer count.
      const failures = (item?.value.failures ?? []).filter((t) => Date.parse(t) > windowStart);
      failures.push(now.toISOString());
      const locked = failures.length >= c.max;
      const next: LoginAttempts = locked
        ? { failures: [], lockedUntil: new Date(now.getTime() + this.lockMs).toISOString() }
        : { failures };
      // Nothing in the record matters after the lock or the window has passed: let the backend purge it.
      const expires = new Date(now.getTime() + Math.max(this.lockMs, c.windowMs));
      try {
        await this.backend.put(c.key, next, { expectRevision: item?.revision ?? 0, expires });
        return { locked };
      } catch (err) {
        if (!(isXError(err) && err.kind === 'conflict') || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  /**
   * recordSuccess forgets user's failures from source (a successful login). Without a source (a
   * completed password reset, whose token only an admin hands out) it forgets them from every
   * source and the global count too. Per-source counts are never reset by a success: an address
   * that owns one account must not win fresh guesses at others by logging into it.
   */
  async recordSuccess(user: string, source?: string): Promise<void> {
    if (source !== undefined) {
      await this.backend.delete(`${PAIR_PREFIX}${user}/${sourceKey(source)}`);
      return;
    }
    for (const item of await this.backend.list(`${PAIR_PREFIX}${user}/`)) await this.backend.delete(item.key);
    await this.backend.delete(GLOBAL_PREFIX + user);
  }
}
