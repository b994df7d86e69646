/**
 * auth/lockout: locks a username for a while after repeated failed logins.
 *
 * Attempts are tracked per username under `logins/<name>` whether or not the user exists, so the
 * lock behaves identically for real and made-up names and cannot be used to discover accounts.
 * State lives in the Backend so every auth replica sees the same counts. Imports errors, util and
 * the store contract only; must not import HTTP or anything above auth.
 */
import { isXError, limitExceeded } from '../errors.js';
import type { Backend } from '../store/backend.js';
import type { Clock } from '../util/clock.js';

/** LoginLimiterOptions tunes the lock: `maxFailures` failures within `lockMs` lock for `lockMs`. */
export interface LoginLimiterOptions {
  /** Failures that trigger the lock. Default 5. */
  maxFailures?: number;
  /** How long the lock lasts, and how far back failures count. Default 15 minutes. */
  lockMs?: number;
}

/** LoginAttempts is what is stored under `logins/<name>`. */
interface LoginAttempts {
  /** ISO times of recent failures, oldest first. */
  failures: string[];
  lockedUntil?: string;
}

const KEY_PREFIX = 'logins/';
// Several replicas (or parallel requests) may record failures for one name at once; a conditional
// put retried a few times counts every one of them.
const MAX_RETRIES = 8;

/** LoginLimiter counts failed logins per username and refuses logins while a name is locked. */
export class LoginLimiter {
  private readonly maxFailures: number;
  private readonly lockMs: number;

  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
    opts: LoginLimiterOptions = {},
  ) {
    this.maxFailures = opts.maxFailures ?? 5;
    this.lockMs = opts.lockMs ?? 15 * 60_000;
  }

  /** lockedUntil returns when the lock on user ends, or undefined when user is not locked. */
  async lockedUntil(user: string): Promise<Date | undefined> {
    const item = await this.backend.get<LoginAttempts>(KEY_PREFIX + user);
    const until = item?.value.lockedUntil ? new Date(item.value.lockedUntil) : undefined;
    return until && until.getTime() > this.clock.now().getTime() ? until : undefined;
  }

  /** check throws limit-exceeded while user is locked, saying how long is left. */
  async check(user: string): Promise<void> {
    const until = await this.lockedUntil(user);
    if (!until) return;
    const minutes = Math.max(1, Math.ceil((until.getTime() - this.clock.now().getTime()) / 60_000));
    throw limitExceeded(`too many failed login attempts; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`);
  }

  /** recordFailure counts one failed login for user and locks it on reaching the limit. */
  async recordFailure(user: string): Promise<{ locked: boolean }> {
    const key = KEY_PREFIX + user;
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const item = await this.backend.get<LoginAttempts>(key);
      // Already locked (a request that raced past check): keep the lock as it is rather than
      // extending it, so the lock ends when check said it would.
      if (item?.value.lockedUntil && Date.parse(item.value.lockedUntil) > now.getTime()) return { locked: true };
      const windowStart = now.getTime() - this.lockMs;
      // Failures older than the window no longer count.
      const failures = (item?.value.failures ?? []).filter((t) => Date.parse(t) > windowStart);
      failures.push(now.toISOString());
      const locked = failures.length >= this.maxFailures;
      const next: LoginAttempts = locked
        ? { failures: [], lockedUntil: new Date(now.getTime() + this.lockMs).toISOString() }
        : { failures };
      // Either way, nothing in the record matters after lockMs from now: let the backend purge it.
      const expires = new Date(now.getTime() + this.lockMs);
      try {
        await this.backend.put(key, next, { expectRevision: item?.revision ?? 0, expires });
        return { locked };
      } catch (err) {
        if (!(isXError(err) && err.kind === 'conflict') || attempt >= MAX_RETRIES) throw err;
      }
    }
  }

  /** recordSuccess forgets user's failures (a successful login, or a completed password reset). */
  async recordSuccess(user: string): Promise<void> {
    await this.backend.delete(KEY_PREFIX + user);
  }
}
