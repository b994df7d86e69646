/**
 * cloud/azure/entra: Microsoft Entra ID tokens for Redis (`AUTH <object id> <token>`), per identity:
 * the agent's own (DefaultAzureCredential) or a user-assigned managed identity that an xport db user
 * maps to. A token is reused until it is due for replacement, {@link REAUTH_MARGIN_MS} (plus jitter)
 * before it expires; the engine re-authenticates live connections before then.
 */
import { createHash } from 'node:crypto';
import { badParameter } from '../../errors.js';
import { REDIS_SCOPE } from './environment.js';
import { credentialError } from './errors.js';
import type { AzureClients } from './sdk.js';

/** REAUTH_MARGIN_MS: re-AUTH at least 3 minutes before a token expires (Azure drops connections whose token expired). */
export const REAUTH_MARGIN_MS = 3 * 60_000;
/** REAUTH_JITTER_MS spreads the re-AUTHs of many connections that got the same token. */
export const REAUTH_JITTER_MS = 30_000;

/** RedisToken is a token and the Redis user name it authenticates as. */
export interface RedisToken {
  token: string;
  /** The principal's object id (the token's `oid` claim): the Redis user name Azure expects. */
  objectId: string;
  /** When the token itself expires. */
  expiresOn: Date;
  /** When to replace it: before expiresOn by the margin and a jitter (never before half its life). */
  replaceAt: Date;
}

/** objectIdOf reads the `oid` claim of a JWT without verifying it (Redis verifies; we only need the name). */
export function objectIdOf(token: string): string {
  const payload = token.split('.')[1];
  let claims: { oid?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as { oid?: unknown };
  } catch {
    throw badParameter('the Entra ID token is not a JWT; cannot read its object id');
  }
  if (typeof claims?.oid !== 'string' || !claims.oid) throw badParameter('the Entra ID token carries no oid claim; cannot tell Redis which principal it is');
  return claims.oid;
}

/** replaceTime is when a token obtained at `now` and expiring at `expiresOn` should be replaced. */
export function replaceTime(now: number, expiresOn: number, jitter: number): number {
  const margin = Math.min(REAUTH_MARGIN_MS + jitter, (expiresOn - now) / 2);
  return expiresOn - margin;
}

/**
 * jitterOf spreads replacement times over {@link REAUTH_JITTER_MS}, derived from the token so the
 * same token always gets the same time. That matters: the identity library hands out its cached
 * token until 5 minutes before expiry, so a replacement asked for earlier returns the same token,
 * and the engine must then see the same due time (and ask again later, inside that window) rather
 * than a new random one.
 */
export function jitterOf(token: string): number {
  return createHash('sha256').update(token).digest().readUInt32BE(0) % REAUTH_JITTER_MS;
}

/** EntraTokens gets and caches Redis tokens per identity. */
export class EntraTokens {
  readonly #cache = new Map<string, Promise<RedisToken>>();

  constructor(
    private readonly clients: AzureClients,
    private readonly now: () => number = Date.now,
  ) {}

  /** token returns a Redis token for the identity (undefined = the agent's own). */
  async token(clientId: string | undefined, signal?: AbortSignal): Promise<RedisToken> {
    const key = clientId ?? '';
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      const t = await cached.catch(() => undefined);
      if (t !== undefined && t.replaceAt.getTime() > this.now()) return t;
      if (this.#cache.get(key) === cached) this.#cache.delete(key);
    }
    let p = this.#cache.get(key);
    if (p === undefined) {
      p = this.#fetch(clientId, signal);
      this.#cache.set(key, p);
      p.catch(() => this.#cache.get(key) === p && this.#cache.delete(key));
    }
    return p;
  }

  /** invalidate forgets the identity's token (Redis refused it). */
  invalidate(clientId: string | undefined): void {
    this.#cache.delete(clientId ?? '');
  }

  async #fetch(clientId: string | undefined, signal?: AbortSignal): Promise<RedisToken> {
    let at: { token: string; expiresOnTimestamp: number } | null;
    try {
      at = await this.clients.credential(clientId).getToken(REDIS_SCOPE, signal ? { abortSignal: signal } : {});
    } catch (err) {
      throw credentialError(err, clientId ? `ManagedIdentityCredential (client id ${clientId})` : 'DefaultAzureCredential');
    }
    if (!at) throw credentialError(new Error('no token returned'), clientId ? `ManagedIdentityCredential (client id ${clientId})` : 'DefaultAzureCredential');
    const now = this.now();
    return {
      token: at.token,
      objectId: objectIdOf(at.token),
      expiresOn: new Date(at.expiresOnTimestamp),
      replaceAt: new Date(replaceTime(now, at.expiresOnTimestamp, jitterOf(at.token))),
    };
  }
}
