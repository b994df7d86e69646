/**
 * redis/reauth: keeps a live session authenticated when its upstream credentials expire — IAM
 * tokens (15 min, and ElastiCache drops IAM connections after 12 h without a fresh AUTH) and
 * Entra ID tokens. Shortly before `expiresAt` it asks the credential provider again and has the
 * relay send `AUTH <user> <fresh>` on the live connection(s) at a safe point (outside MULTI, not
 * while a RESP2 connection is subscribed, not in MONITOR); the relay swallows the reply so the
 * client never sees it.
 *
 * Also: recognising a refused setup AUTH (WRONGPASS after a key or password rotation), so the
 * engines can drop the provider's cached credentials and retry once.
 *
 * Imports db (contracts), util and redis/resp; must not import auth/ or cloud/.
 */
import type { CredentialOptions, CredentialProvider, UpstreamCredentials } from '../db/credentials.js';
import type { DatabaseSpec } from '../db/database.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { command } from './resp/index.js';

/** Re-authenticate this long before expiry at most (a 15-minute IAM token is renewed at ~13 min). */
const MAX_LEAD_MS = 120_000;
/** …and at least this long before (very short lifetimes, as tests inject). */
const MIN_LEAD_MS = 500;
/** How often to try again while the connection is in a state where AUTH cannot be sent. */
const BUSY_RETRY_MS = 250;
/** How long to wait after the provider failed or Redis refused the fresh credentials. */
const FAILED_RETRY_MS = 5_000;

/**
 * ReauthApply sends `auth` on the session's live connection(s) now and reports the outcome
 * through done (true when Redis accepted it), or returns false without sending when the
 * connection is in a state where AUTH cannot be sent yet.
 */
export type ReauthApply = (auth: Buffer, done: (ok: boolean, error?: string) => void) => boolean;

/** KeepAuthenticatedOptions configure {@link keepAuthenticated}. */
export interface KeepAuthenticatedOptions {
  db: DatabaseSpec;
  dbUser: string;
  /** What the provider is asked with: the session's end (credentials never beyond it) and its proof. */
  options: CredentialOptions;
  credentials: CredentialProvider;
  /** The credentials the session was opened with. */
  first: UpstreamCredentials;
  apply: ReauthApply;
  clock: Clock;
  log: Logger;
  sessionId: string;
  signal: AbortSignal;
}

/** authCommand is the AUTH command for credentials that carry a password. */
export function authCommand(creds: UpstreamCredentials): Buffer {
  return command(creds.username !== undefined ? ['AUTH', creds.username, creds.password!] : ['AUTH', creds.password!]);
}

/** leadMs is how long before expiry to re-authenticate, given the credentials' remaining life. */
export function leadMs(remainingMs: number): number {
  return Math.min(MAX_LEAD_MS, Math.max(MIN_LEAD_MS, Math.floor(remainingMs / 5)));
}

/**
 * keepAuthenticated schedules re-authentication for a session whose credentials carry a
 * password and an expiry; others need nothing (a client certificate is checked only at the
 * handshake). It returns a stop function; aborting the signal stops it too.
 */
export function keepAuthenticated(o: KeepAuthenticatedOptions): () => void {
  if (o.first.password === undefined || o.first.expiresAt === undefined) return () => {};
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current = o.first;
  const stop = () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    o.signal.removeEventListener('abort', stop);
  };
  o.signal.addEventListener('abort', stop, { once: true });

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(run, Math.max(0, ms));
    timer.unref?.();
  };
  const scheduleFor = (creds: UpstreamCredentials) => {
    const now = o.clock.now().getTime();
    const remaining = creds.expiresAt!.getTime() - now;
    schedule(remaining - leadMs(remaining));
  };

  const fetchFresh = async (): Promise<UpstreamCredentials> => {
    const opts = o.options;
    let next = await o.credentials.credentials(o.db, o.dbUser, opts);
    // A provider that still hands out the credentials about to expire is asked once more, uncached.
    if (next.expiresAt !== undefined && current.expiresAt !== undefined && next.expiresAt.getTime() <= current.expiresAt.getTime()) {
      o.credentials.invalidate?.(o.db, o.dbUser);
      next = await o.credentials.credentials(o.db, o.dbUser, opts);
    }
    return next;
  };

  const run = () => {
    timer = undefined;
    if (stopped) return;
    if (o.clock.now().getTime() >= o.options.notAfter.getTime()) return;
    fetchFresh().then(
      (next) => {
        if (stopped) return;
        if (next.password === undefined) return; // the provider stopped using AUTH: nothing to renew
        const auth = authCommand(next);
        const attempt = () => {
          timer = undefined;
          if (stopped) return;
          const sent = o.apply(auth, (ok, error) => {
            if (stopped) return;
            if (ok) {
              current = next;
              o.log.debug('re-authenticated the database connection before its credentials expired', { session: o.sessionId, database: o.db.name });
              if (next.expiresAt !== undefined) scheduleFor(next);
            } else {
              o.log.warn('the database refused fresh credentials on a live connection; will try again', { session: o.sessionId, database: o.db.name, error });
              o.credentials.invalidate?.(o.db, o.dbUser);
              schedule(FAILED_RETRY_MS);
            }
          });
          if (!sent) {
            timer = setTimeout(attempt, BUSY_RETRY_MS);
            timer.unref?.();
          }
        };
        attempt();
      },
      (err: unknown) => {
        if (stopped) return;
        o.log.warn('could not get fresh credentials to re-authenticate a live connection; will try again', {
          session: o.sessionId,
          database: o.db.name,
          error: (err as Error)?.message ?? String(err),
        });
        schedule(FAILED_RETRY_MS);
      },
    );
  };

  scheduleFor(o.first);
  return stop;
}

/** isWrongPass tells whether an AUTH error reply says the credentials were refused (not a transport problem). */
export function isWrongPass(raw: Buffer): boolean {
  const head = raw.toString('latin1', 0, Math.min(raw.length, 24));
  return /^[-!](WRONGPASS|ERR invalid password|ERR invalid username-password)/i.test(head);
}

/**
 * CredentialsRefused is thrown by an engine's setup when Redis answered its AUTH with WRONGPASS,
 * so the engine can invalidate the provider's cache and retry once.
 */
export class CredentialsRefused extends Error {
  constructor(
    message: string,
    override readonly cause: Error,
  ) {
    super(message);
  }
}
