/**
 * auth/tokens: join tokens, with which a database agent on another host joins the cluster
 * (`xctl tokens add --type=db`).
 *
 * A token is 32 random hex characters (as `tctl tokens add`), stored only as its SHA-256 under
 * `tokens/<sha256 hex>` with an expiry (30 min by default) and a number of uses (one by default,
 * `--uses N` for a fleet): a join token is a bearer secret that mints host certificates, so a
 * leaked one must not admit agents for the rest of its lifetime. Imports errors, util and the
 * store contract; must not import HTTP, the CLI or the service wiring.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessDenied, alreadyExists, badParameter, isXError, notFound } from '../errors.js';
import type { Backend } from '../store/backend.js';
import type { Clock } from '../util/clock.js';
import type { JoinToken, JoinTokenType } from './types.js';

/** JoinTokenServiceDeps are the service's collaborators. */
export interface JoinTokenServiceDeps {
  backend: Backend;
  clock: Clock;
  /** emit records an audit event; it must not throw or block. */
  emit: (e: { type: string; user?: string; success?: boolean; [field: string]: unknown }) => void;
}

/** CreateJoinTokenRequest describes a new join token. */
export interface CreateJoinTokenRequest {
  type: JoinTokenType;
  /** Lifetime. Default 30 minutes. */
  ttlMs?: number;
  /** A token chosen by the admin (at least 32 hex characters); random when absent. */
  value?: string;
  /** Labels the joining agent inherits. */
  labels?: Record<string, string>;
  /** How many agents may join with it (default 1). */
  uses?: number;
}

/** JoinTokenListing is a join token as listed: its hint, never the token. */
export interface JoinTokenListing {
  /** First and last 4 characters, e.g. `4b1c…e9f0`. */
  hint: string;
  type: JoinTokenType;
  labels: Record<string, string>;
  expires: Date;
  /** Joins left. */
  uses: number;
}

/** JOIN_TOKEN_TTL_MS is the default join token lifetime (as `tctl tokens add`). */
export const JOIN_TOKEN_TTL_MS = 30 * 60_000;
/** MAX_JOIN_TOKEN_USES bounds `--uses`. */
export const MAX_JOIN_TOKEN_USES = 10_000;

const TOKENS = 'tokens/';
const TOKEN_TYPES: readonly JoinTokenType[] = ['db'];
const VALUE_RE = /^[0-9a-fA-F]{32,256}$/;
const MAX_LABELS = 64;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** tokenHint shows the first and last 4 characters of a token, enough to tell tokens apart. */
export function tokenHint(token: string): string {
  return `${token.slice(0, 4)}…${token.slice(-4)}`;
}

const invalidJoinToken = () =>
  accessDenied('join token is invalid, used up or has expired', {
    hint: 'Create a new one with: xctl tokens add --type=db (add --uses N to let N agents join with it).',
  });

function checkLabels(labels: Record<string, string>): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw badParameter(`a join token takes at most ${MAX_LABELS} labels`);
  for (const [k, v] of entries) {
    if (!/^[a-zA-Z0-9/._-]{1,63}$/.test(k) || typeof v !== 'string' || v.length > 256 || /\p{Cc}/u.test(v)) {
      throw badParameter(`invalid label ${JSON.stringify(k.slice(0, 64))}`, {
        hint: 'Use --labels key=value,key2=value2 with keys of letters, digits and "/._-".',
      });
    }
  }
  return Object.fromEntries(entries);
}

/**
 * JoinTokenService creates, lists, deletes and validates join tokens.
 *
 * Only hashes are stored, so nothing can list the tokens themselves: there is deliberately no
 * equivalent of `tctl tokens ls --with-secrets`. An admin who lost a token deletes it (by hint)
 * and creates another.
 */
export class JoinTokenService {
  constructor(private readonly deps: JoinTokenServiceDeps) {}

  /** create makes a join token and returns it; this is the only time the token is seen. */
  async create(req: CreateJoinTokenRequest, actor: string): Promise<{ token: string; expires: Date; type: JoinTokenType }> {
    if (!TOKEN_TYPES.includes(req.type)) {
      throw badParameter(`unknown join token type "${String(req.type).slice(0, 32)}"`, {
        hint: `Supported types: ${TOKEN_TYPES.join(', ')}.`,
      });
    }
    const ttlMs = req.ttlMs ?? JOIN_TOKEN_TTL_MS;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw badParameter('join token TTL must be positive');
    if (req.value !== undefined && !VALUE_RE.test(req.value)) {
      throw badParameter('a join token value must be 32 to 256 hexadecimal characters', {
        hint: 'Leave out --value to get a random token, or generate one with: openssl rand -hex 16.',
      });
    }
    const uses = req.uses ?? 1;
    if (!Number.isInteger(uses) || uses < 1 || uses > MAX_JOIN_TOKEN_USES) {
      throw badParameter(`a join token's uses must be a whole number from 1 to ${MAX_JOIN_TOKEN_USES}`);
    }
    const labels = checkLabels(req.labels ?? {});
    const token = req.value ?? randomBytes(16).toString('hex');
    const now = this.deps.clock.now();
    const expires = new Date(now.getTime() + ttlMs);
    const hash = sha256(token);
    const stored: JoinToken = {
      hint: tokenHint(token),
      hash,
      type: req.type,
      labels,
      expires: expires.toISOString(),
      createdAt: now.toISOString(),
      uses,
    };
    try {
      await this.deps.backend.put(TOKENS + hash, stored, { expectRevision: 0, expires });
    } catch (err) {
      if (isXError(err) && err.kind === 'conflict') {
        throw alreadyExists('a join token with this value already exists', {
          hint: 'Choose another --value, or leave it out to get a random token.',
        });
      }
      throw err;
    }
    this.deps.emit({
      type: 'token.create',
      user: actor,
      tokenType: req.type,
      hint: stored.hint,
      labels,
      expires: stored.expires,
      uses,
      success: true,
    });
    return { token, expires, type: req.type };
  }

  /** list returns the unexpired join tokens by hint, soonest to expire first. */
  async list(): Promise<JoinTokenListing[]> {
    return (await this.live())
      .map((t) => ({ hint: t.hint, type: t.type, labels: { ...t.labels }, expires: new Date(t.expires), uses: t.uses ?? 1 }))
      .sort((a, b) => a.expires.getTime() - b.expires.getTime());
  }

  /**
   * delete removes a join token given either the token itself or its hint as `xctl tokens ls`
   * shows it (a hint must match exactly one token).
   */
  async delete(tokenOrHint: string, actor: string): Promise<void> {
    let found: JoinToken | undefined;
    if (VALUE_RE.test(tokenOrHint)) {
      found = (await this.deps.backend.get<JoinToken>(TOKENS + sha256(tokenOrHint)))?.value;
    } else {
      // Accept "..." for "…": the ellipsis is awkward to type.
      const wanted = tokenOrHint.replace('...', '…');
      const matches = (await this.live()).filter((t) => t.hint === wanted);
      if (matches.length > 1) {
        throw badParameter(`several join tokens match "${wanted}"`, { hint: 'Pass the full token to delete one of them.' });
      }
      found = matches[0];
    }
    if (!found || !(await this.deps.backend.delete(TOKENS + found.hash))) {
      throw notFound('join token not found', { hint: 'List join tokens with: xctl tokens ls.' });
    }
    this.deps.emit({ type: 'token.delete', user: actor, hint: found.hint, success: true });
  }

  /**
   * validate returns the stored join token if token is live and of the given type; it does not
   * consume it. Unknown, expired and wrong-type tokens fail alike.
   */
  async validate(token: string, type: JoinTokenType): Promise<JoinToken> {
    if (typeof token !== 'string' || !VALUE_RE.test(token)) throw invalidJoinToken();
    const item = await this.deps.backend.get<JoinToken>(TOKENS + sha256(token));
    const t = item?.value;
    if (!t || t.type !== type || Date.parse(t.expires) <= this.deps.clock.now().getTime()) throw invalidJoinToken();
    return t;
  }

  /**
   * consume uses up one join of a live token of the given type and returns it; the last use
   * deletes it. Revision-checked writes make two agents racing for the last use end with one
   * admitted. Unknown, expired, used-up and wrong-type tokens fail alike.
   */
  async consume(token: string, type: JoinTokenType): Promise<JoinToken> {
    if (typeof token !== 'string' || !VALUE_RE.test(token)) throw invalidJoinToken();
    const key = TOKENS + sha256(token);
    for (let attempt = 0; attempt < 20; attempt++) {
      const item = await this.deps.backend.get<JoinToken>(key);
      const t = item?.value;
      if (!item || !t || t.type !== type || Date.parse(t.expires) <= this.deps.clock.now().getTime()) throw invalidJoinToken();
      // Tokens stored before uses existed count as single-use.
      const left = t.uses ?? 1;
      try {
        if (left <= 1) {
          if (!(await this.deps.backend.delete(key, { expectRevision: item.revision }))) throw invalidJoinToken();
        } else {
          await this.deps.backend.put<JoinToken>(key, { ...t, uses: left - 1 }, { expectRevision: item.revision, expires: new Date(t.expires) });
        }
        return { ...t, uses: left - 1 };
      } catch (err) {
        if (!(isXError(err) && err.kind === 'conflict')) throw err;
      }
    }
    throw invalidJoinToken();
  }

  private async live(): Promise<JoinToken[]> {
    const now = this.deps.clock.now().getTime();
    return (await this.deps.backend.list<JoinToken>(TOKENS)).map((it) => it.value).filter((t) => Date.parse(t.expires) > now);
  }
}
