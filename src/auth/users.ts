/**
 * auth/users: the user lifecycle — create with an invite, update, list, delete, reset — plus the
 * invite/reset tokens that let a user set a password (and a TOTP second factor), and password login.
 *
 * Users live under `users/<name>`; invite and reset tokens under `usertokens/<sha256 hex of token>`
 * (only the hash is stored, so a leaked database does not hand out invites). Every create, token
 * use and TOTP step is a conditional write, so racing requests cannot both win. Login failures read
 * the same whether the user exists or not. Imports errors, util, the store contract and its auth
 * siblings; must not import HTTP (proxy), the CLI or the service wiring.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessDenied, alreadyExists, badParameter, isXError, notFound, type XError } from '../errors.js';
import type { Backend, Item } from '../store/backend.js';
import type { Clock } from '../util/clock.js';
import { humanDuration } from '../util/duration.js';
import { sourceKey } from '../util/net.js';
import { SourceLimiter } from '../util/rate-limit.js';
import type { LoginLimiter } from './lockout.js';
import { checkPasswordPolicy, dummyVerify, hashPassword, verifyPassword } from './passwords.js';
import { newTotpSecret, totpUri, verifyTotp } from './totp.js';
import type { PublicUser, Traits, User, UserToken } from './types.js';

/** SecondFactor is the cluster's second-factor setting. */
export type SecondFactor = 'off' | 'otp';

/** AuditRecord is what the service hands to the audit callback (the AuditLog adds time and id). */
export interface AuditRecord {
  type: string;
  user?: string;
  success?: boolean;
  [field: string]: unknown;
}

/** UserServiceDeps are the service's collaborators. */
export interface UserServiceDeps {
  backend: Backend;
  clock: Clock;
  /** emit records an audit event; it must not throw or block. */
  emit: (e: AuditRecord) => void;
  /** roleExists tells whether a role is defined, so users cannot be given roles that do not exist. */
  roleExists: (name: string) => Promise<boolean>;
  secondFactor: SecondFactor;
  limiter?: LoginLimiter;
  /** Cluster name, shown as the issuer in authenticator apps. Default `xport`. */
  clusterName?: string;
}

/** CreateUserRequest describes a new user (`xctl users add`). */
export interface CreateUserRequest {
  name: string;
  roles: string[];
  traits?: Partial<Traits>;
  /** Invite lifetime. Default 1h, at most 48h (as `tctl users add --ttl`). */
  ttlMs?: number;
}

/** UpdateUserRequest replaces the given fields (`xctl users update --set-*`). */
export interface UpdateUserRequest {
  roles?: string[];
  traits?: Partial<Traits>;
}

/** UserTokenInfo is what the invite/reset page learns from a token. */
export interface UserTokenInfo {
  user: string;
  kind: 'invite' | 'reset';
  expires: Date;
  secondFactor: SecondFactor;
  /** `otpauth://` URI of the TOTP secret to register (second factor otp only). */
  otpUri?: string;
}

/** CompleteUserTokenRequest sets a password (and second factor) with an invite or reset token. */
export interface CompleteUserTokenRequest {
  token: string;
  password: string;
  otpCode?: string;
}

/** AuthenticateRequest is a password login. */
export interface AuthenticateRequest {
  user: string;
  password: string;
  otpCode?: string;
  /** Client address, recorded in the audit event. */
  remoteAddr?: string;
}

/** USER_NAME_RE is the shape of a user name: letters, digits and `._@-`, 1 to 128 characters. */
export const USER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,127}$/;

/** Token lifetimes, as `tctl users add` / `tctl users reset`. */
export const INVITE_TTL_MS = 60 * 60_000;
export const INVITE_MAX_TTL_MS = 48 * 60 * 60_000;
export const RESET_TTL_MS = 8 * 60 * 60_000;
export const RESET_MAX_TTL_MS = 24 * 60 * 60_000;

const USERS = 'users/';
const USER_TOKENS = 'usertokens/';
const TOKEN_RE = /^[0-9a-f]{64}$/;
const MAX_TRAIT_VALUES = 100;
const MAX_WRITE_RETRIES = 8;
// Far longer than any password the policy admits; longer input is refused without hashing it all.
const MAX_PASSWORD_INPUT = 4096;

// A throwaway secret for the constant-cost TOTP check when the real one must not be used.
const DUMMY_TOTP_SECRET = newTotpSecret();

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const invalidToken = () =>
  notFound('invite token is invalid or has expired', {
    hint: 'Ask an administrator for a new one: xctl users reset <user>.',
  });

const isConflict = (err: unknown): err is XError => isXError(err) && err.kind === 'conflict';

function checkTtl(ttlMs: number, max: number, what: string): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw badParameter(`${what} TTL must be positive`);
  if (ttlMs > max) {
    throw badParameter(`${what} TTL must be at most ${humanDuration(max)}, got ${humanDuration(ttlMs)}`, {
      hint: `Use a --ttl of ${humanDuration(max)} or less.`,
    });
  }
}

function checkName(name: string): void {
  if (!USER_NAME_RE.test(name)) {
    throw badParameter(`invalid user name "${name.slice(0, 140)}"`, {
      hint: 'Use 1 to 128 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.',
    });
  }
}

function checkTraitValues(values: unknown, what: string): string[] {
  if (!Array.isArray(values) || values.length > MAX_TRAIT_VALUES) {
    throw badParameter(`${what} must be a list of at most ${MAX_TRAIT_VALUES} names`);
  }
  for (const v of values) {
    // Traits end up in roles and certificates: no empty values, no control characters.
    if (typeof v !== 'string' || v.length === 0 || v.length > 256 || /[\p{Cc}\s,]/u.test(v)) {
      throw badParameter(`invalid ${what} value ${JSON.stringify(String(v).slice(0, 64))}`, {
        hint: 'Values are non-empty names without spaces or commas.',
      });
    }
  }
  return [...new Set(values as string[])];
}

/** UserService manages users, their invite/reset tokens and password login. */
export class UserService {
  private readonly backend: Backend;
  private readonly clock: Clock;
  private readonly emit: (e: AuditRecord) => void;
  private readonly roleExists: (name: string) => Promise<boolean>;
  private readonly secondFactor: SecondFactor;
  private readonly limiter: LoginLimiter | undefined;
  private readonly clusterName: string;
  // A refusal while locked costs no password hash, so a stranger could repeat it as fast as the
  // network allows: its audit events are capped per source (failures that hash are capped by the lock).
  private readonly lockedEvents = new SourceLimiter({ perSource: 10, global: 200, windowMs: 60_000, now: () => this.clock.now().getTime() });

  constructor(deps: UserServiceDeps) {
    this.backend = deps.backend;
    this.clock = deps.clock;
    this.emit = deps.emit;
    this.roleExists = deps.roleExists;
    this.secondFactor = deps.secondFactor;
    this.limiter = deps.limiter;
    this.clusterName = deps.clusterName ?? 'xport';
  }

  /**
   * create adds a user without a password and returns a single-use invite token the user redeems
   * to set one. Two racing creates of one name: exactly one succeeds (create-only put).
   */
  async create(req: CreateUserRequest, actor: string): Promise<{ user: PublicUser; token: string; expires: Date }> {
    checkName(req.name);
    const ttlMs = req.ttlMs ?? INVITE_TTL_MS;
    checkTtl(ttlMs, INVITE_MAX_TTL_MS, 'invite');
    const roles = await this.checkRoles(req.roles);
    const traits: Traits = {
      db_users: checkTraitValues(req.traits?.db_users ?? [], 'db users'),
      db_names: checkTraitValues(req.traits?.db_names ?? [], 'db names'),
    };
    const user: User = { name: req.name, roles, traits, createdAt: this.clock.now().toISOString() };
    try {
      await this.backend.put(USERS + user.name, user, { expectRevision: 0 });
    } catch (err) {
      if (isConflict(err)) {
        throw alreadyExists(`user "${user.name}" already exists`, {
          hint: `Use: xctl users update ${user.name} --set-roles ...`,
        });
      }
      throw err;
    }
    const { token, expires } = await this.issueUserToken('invite', user.name, ttlMs);
    this.emit({ type: 'user.create', user: actor, name: user.name, roles, success: true });
    return { user: this.publicUser(user), token, expires };
  }

  /** update replaces the user's roles and/or traits and describes each change (`New roles: a,b`). */
  async update(name: string, req: UpdateUserRequest, actor: string): Promise<{ changes: string[] }> {
    const dbUsers = req.traits?.db_users;
    const dbNames = req.traits?.db_names;
    if (req.roles === undefined && dbUsers === undefined && dbNames === undefined) {
      throw badParameter('Nothing to update. Please provide at least one --set flag.');
    }
    const roles = req.roles === undefined ? undefined : await this.checkRoles(req.roles);
    const users = dbUsers === undefined ? undefined : checkTraitValues(dbUsers, 'db users');
    const names = dbNames === undefined ? undefined : checkTraitValues(dbNames, 'db names');
    const changes: string[] = [];
    if (roles) changes.push(`New roles: ${roles.join(',')}`);
    if (users) changes.push(`New db users: ${users.join(',')}`);
    if (names) changes.push(`New db names: ${names.join(',')}`);
    await this.modifyUser(name, (u) => ({
      ...u,
      roles: roles ?? u.roles,
      traits: { db_users: users ?? u.traits.db_users, db_names: names ?? u.traits.db_names },
    }));
    this.emit({ type: 'user.update', user: actor, name, changes, success: true });
    return { changes };
  }

  /** list returns every user, sorted by name, as admins see them. */
  async list(): Promise<PublicUser[]> {
    const items = await this.backend.list<User>(USERS);
    return Promise.all(items.map(async (it) => this.publicUser(it.value, await this.isLocked(it.value.name))));
  }

  /** get returns one user as admins see it, or throws not-found. */
  async get(name: string): Promise<PublicUser> {
    const u = await this.mustGet(name);
    return this.publicUser(u.value, await this.isLocked(name));
  }

  /** delete removes the user and any outstanding invite or reset token of theirs. */
  async delete(name: string, actor: string): Promise<void> {
    const existed = USER_NAME_RE.test(name) && (await this.backend.delete(USERS + name));
    if (!existed) throw this.userNotFound(name);
    await this.deleteUserTokens(name);
    this.emit({ type: 'user.delete', user: actor, name, success: true });
  }

  /**
   * reset clears the user's password and second factor and returns a reset token (default 8h, at
   * most 24h). Earlier invite or reset tokens of the user stop working.
   */
  async reset(name: string, ttlMs: number = RESET_TTL_MS, actor: string): Promise<{ token: string; expires: Date }> {
    checkTtl(ttlMs, RESET_MAX_TTL_MS, 'reset');
    await this.modifyUser(name, ({ passwordHash: _p, totpSecret: _s, totpLastStep: _l, ...rest }) => rest);
    await this.deleteUserTokens(name);
    const issued = await this.issueUserToken('reset', name, ttlMs);
    this.emit({ type: 'user.reset', user: actor, name, expires: issued.expires.toISOString(), success: true });
    return issued;
  }

  /**
   * getUserToken describes an invite or reset token for the page that redeems it. With second
   * factor otp it also proposes a TOTP secret, stored on the token once: repeated calls return the
   * same secret, so reloading the page does not invalidate a QR code already scanned.
   */
  async getUserToken(token: string): Promise<UserTokenInfo> {
    for (let attempt = 0; ; attempt++) {
      const item = await this.loadUserToken(token);
      const t = item.value;
      const info: UserTokenInfo = { user: t.user, kind: t.kind, expires: new Date(t.expires), secondFactor: this.secondFactor };
      if (this.secondFactor !== 'otp') return info;
      if (t.pendingTotpSecret) return { ...info, otpUri: totpUri(t.pendingTotpSecret, t.user, this.clusterName) };
      const secret = newTotpSecret();
      try {
        await this.backend.put<UserToken>(item.key, { ...t, pendingTotpSecret: secret }, {
          expectRevision: item.revision,
          expires: new Date(t.expires),
        });
        return { ...info, otpUri: totpUri(secret, t.user, this.clusterName) };
      } catch (err) {
        // Another request stored a secret (or used the token) first: read again and return theirs.
        if (!isConflict(err) || attempt >= MAX_WRITE_RETRIES) throw err;
      }
    }
  }

  /**
   * completeUserToken sets the user's password (and TOTP secret) and consumes the token. A token
   * works once: of two racing completions exactly one wins, the other gets the invalid-token error.
   */
  async completeUserToken(req: CompleteUserTokenRequest): Promise<{ user: string }> {
    const item = await this.loadUserToken(req.token);
    const t = item.value;
    checkPasswordPolicy(req.password);
    let totp: { secret: string; step: number } | undefined;
    if (this.secondFactor === 'otp') {
      const secret = t.pendingTotpSecret;
      if (!secret) {
        throw badParameter('this cluster requires a second factor, but none was set up for this token', {
          hint: 'Open the invite link again, scan the QR code, then enter the code your app shows.',
        });
      }
      const step = verifyTotp(secret, req.otpCode ?? '', this.clock.now());
      if (step === undefined) {
        throw accessDenied('invalid one-time code', {
          hint: 'Enter the current code from your authenticator app and check that your device clock is right.',
        });
      }
      totp = { secret, step };
    }
    // Hash before consuming the token: a slow step must not sit between "token gone" and "password set".
    const passwordHash = await hashPassword(req.password);
    try {
      if (!(await this.backend.delete(item.key, { expectRevision: item.revision }))) throw invalidToken();
    } catch (err) {
      if (isConflict(err)) throw invalidToken();
      throw err;
    }
    try {
      await this.modifyUser(t.user, (u) => ({
        ...u,
        passwordHash,
        ...(totp ? { totpSecret: totp.secret, totpLastStep: totp.step } : {}),
      }));
    } catch (err) {
      // The user was deleted while the token was being used.
      if (isXError(err) && err.kind === 'not-found') throw invalidToken();
      throw err;
    }
    // Whoever holds an admin-issued token may set the password anyway; a lock left over from
    // failed guesses would only lock the rightful user out of their new password.
    await this.limiter?.recordSuccess(t.user);
    this.emit({ type: 'user.password_change', user: t.user, kind: t.kind, success: true });
    return { user: t.user };
  }

  /**
   * authenticate checks a password login (and one-time code when the cluster requires one) and
   * returns the stored user. Unknown user, user without password, wrong password and wrong code
   * all fail with one message and take the same time; failures count towards the lock.
   */
  async authenticate(req: AuthenticateRequest): Promise<User> {
    const name = req.user;
    const withOtp = this.secondFactor === 'otp';
    const denied = () =>
      accessDenied(withOtp ? 'invalid username, password or one-time code' : 'invalid username or password');
    const event = (success: boolean, error?: string, suppressed = 0) =>
      this.emit({
        type: 'user.login',
        user: name.slice(0, 140),
        success,
        method: withOtp ? 'password+otp' : 'password',
        ...(req.remoteAddr ? { remoteAddr: req.remoteAddr } : {}),
        ...(error ? { error } : {}),
        ...(suppressed > 0 ? { suppressed } : {}),
      });

    // A name that breaks the naming rule cannot exist, and the rule is public: refuse it without
    // touching the limiter, whose keys must stay bounded and well-formed.
    const validName = USER_NAME_RE.test(name);
    if (validName && this.limiter) {
      try {
        await this.limiter.check(name, req.remoteAddr);
      } catch (err) {
        const v = this.lockedEvents.take(sourceKey(req.remoteAddr));
        if (v.allowed) event(false, err instanceof Error ? err.message : String(err), v.suppressed);
        throw err;
      }
    }

    const item = validName ? await this.backend.get<User>(USERS + name) : undefined;
    const u = item?.value;
    let ok: boolean;
    if (!u?.passwordHash || req.password.length > MAX_PASSWORD_INPUT) {
      ok = await dummyVerify(req.password.slice(0, MAX_PASSWORD_INPUT));
    } else {
      ok = await verifyPassword(req.password, u.passwordHash);
    }
    let step: number | undefined;
    if (withOtp) {
      // Always run the TOTP check (against a throwaway secret if need be) so its cost does not
      // reveal whether the password was right.
      const secret = ok && u?.totpSecret ? u.totpSecret : DUMMY_TOTP_SECRET;
      step = verifyTotp(secret, req.otpCode ?? '', this.clock.now(), u?.totpLastStep);
      if (!ok || !u?.totpSecret || step === undefined) ok = false;
    }
    let user = u;
    if (ok && item && step !== undefined) {
      user = await this.recordTotpStep(item, step);
      ok = user !== undefined;
    }

    if (!ok || !user) {
      const err = denied();
      if (validName) await this.limiter?.recordFailure(name, req.remoteAddr);
      event(false, err.message);
      throw err;
    }
    // Forget this address's failures only: a stranger's failures from elsewhere still count.
    await this.limiter?.recordSuccess(name, req.remoteAddr ?? '');
    event(true);
    return user;
  }

  /** publicUser is the admin view of u: no hash, no secret; `locked` comes from the login limiter. */
  publicUser(u: User, locked = false): PublicUser {
    return {
      name: u.name,
      roles: [...u.roles],
      traits: { db_users: [...u.traits.db_users], db_names: [...u.traits.db_names] },
      createdAt: u.createdAt,
      status: locked ? 'locked' : u.passwordHash ? 'active' : 'invited',
    };
  }

  // --- internals ---

  private async checkRoles(roles: string[]): Promise<string[]> {
    if (!Array.isArray(roles) || roles.length === 0) {
      throw badParameter('a user needs at least one role', { hint: 'Pass --roles, e.g. --roles access.' });
    }
    const unique = [...new Set(roles)];
    for (const r of unique) {
      if (typeof r !== 'string' || !(await this.roleExists(r))) {
        throw notFound(`role "${String(r).slice(0, 140)}" does not exist`, {
          hint: 'List roles with: xctl get roles, or create it first with: xctl create -f role.yaml.',
        });
      }
    }
    return unique;
  }

  private userNotFound(name: string): XError {
    return notFound(`user "${name.slice(0, 140)}" not found`, { hint: 'List users with: xctl users ls.' });
  }

  private async mustGet(name: string): Promise<Item<User>> {
    const item = USER_NAME_RE.test(name) ? await this.backend.get<User>(USERS + name) : undefined;
    if (!item) throw this.userNotFound(name);
    return item;
  }

  private async isLocked(name: string): Promise<boolean> {
    return this.limiter ? (await this.limiter.lockedUntil(name)) !== undefined : false;
  }

  /** modifyUser applies fn to the stored user with a conditional put, re-reading on conflict. */
  private async modifyUser(name: string, fn: (u: User) => User): Promise<User> {
    for (let attempt = 0; ; attempt++) {
      const item = await this.mustGet(name);
      const next = fn(item.value);
      try {
        await this.backend.put(item.key, next, { expectRevision: item.revision });
        return next;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_WRITE_RETRIES) throw err;
      }
    }
  }

  /**
   * recordTotpStep stores step as the user's last used step, so the same code cannot log in twice,
   * and returns the user as stored (undefined when the step turned out to be used already).
   * Two logins racing with one code: the conditional put lets one through; the other re-reads
   * and fails if the step is already used.
   */
  private async recordTotpStep(item: Item<User>, step: number): Promise<User | undefined> {
    let cur: Item<User> | undefined = item;
    for (let attempt = 0; cur && attempt <= MAX_WRITE_RETRIES; attempt++) {
      if (cur.value.totpLastStep !== undefined && step <= cur.value.totpLastStep) return undefined;
      const next: User = { ...cur.value, totpLastStep: step };
      try {
        await this.backend.put(cur.key, next, { expectRevision: cur.revision });
        return next;
      } catch (err) {
        if (!isConflict(err)) throw err;
        cur = await this.backend.get<User>(item.key);
      }
    }
    return undefined;
  }

  private async issueUserToken(kind: UserToken['kind'], user: string, ttlMs: number): Promise<{ token: string; expires: Date }> {
    const token = randomBytes(32).toString('hex');
    const expires = new Date(this.clock.now().getTime() + ttlMs);
    const value: UserToken = { kind, user, expires: expires.toISOString() };
    await this.backend.put(USER_TOKENS + sha256(token), value, { expectRevision: 0, expires });
    return { token, expires };
  }

  /** loadUserToken returns a live token or throws the one invalid-token error for every failure. */
  private async loadUserToken(token: string): Promise<Item<UserToken>> {
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) throw invalidToken();
    const item = await this.backend.get<UserToken>(USER_TOKENS + sha256(token));
    if (!item || Date.parse(item.value.expires) <= this.clock.now().getTime()) throw invalidToken();
    return item;
  }

  private async deleteUserTokens(user: string): Promise<void> {
    for (const it of await this.backend.list<UserToken>(USER_TOKENS)) {
      if (it.value.user === user) await this.backend.delete(it.key);
    }
  }
}
