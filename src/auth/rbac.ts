/**
 * auth/rbac: decides what a user's roles allow — which databases they see, which db users and db
 * names they may use there, which admin API actions they may take and which Redis commands they
 * may run.
 *
 * Semantics follow Teleport's RoleSet (reference §2.5): access is granted when some role's allow
 * section matches and no role's deny section matches; deny always wins. One role must match on
 * its own (labels, db user and db name together): allows are not combined across roles. Two
 * deliberate differences close gaps listed in reference §7:
 *  - `db_names` are enforced for Redis (the DB numbers `"0"`, `"1"`, … used by `SELECT` and `-n`);
 *  - a deny section that lists db_users or db_names but no db_labels applies to every database
 *    (in Teleport it silently matches nothing).
 * Redis command rules (`redis_commands`) are evaluated by `auth/redis-acl.ts` and combined here.
 *
 * Roles are compiled once (traits interpolated, patterns turned into matchers) so checks on the
 * per-command path do no parsing. Imports errors, util and auth/{redis-acl,types}; must not import
 * the store, pki, proxy, redis/ or cli.
 */
import { redisGlobMatch } from './redis-glob.js';
import { accessDenied, badParameter } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { ALLOW_ALL_COMMANDS, compileCommandRules, displayCommand } from './redis-acl.js';
import type { CommandRuleSet } from './redis-acl.js';
import type { Role, RoleConditions, Traits } from './types.js';

/** DatabaseRef is what RBAC needs to know about a database: its name (for messages) and labels. */
export interface DatabaseRef {
  name: string;
  labels: Record<string, string>;
  /** `cluster` for a Redis Cluster, which has only db 0: no script can reach another db there. */
  mode?: string;
}

/** AllowedDbUsers is the answer to "which db users may I use here": patterns, and their exceptions. */
export interface AllowedDbUsers {
  /** Patterns or names allowed (`*` first, then sorted). Empty when nothing is allowed. */
  allowed: string[];
  /** Names denied; listed only when an allowed entry is a pattern that would otherwise cover them. */
  denied: string[];
}

type Matcher = (value: string) => boolean;

interface CompiledConditions {
  /** Label selector; undefined when the section has no db_labels. */
  labels: Array<{ key: string; values: Matcher[]; wildcard: boolean }> | undefined;
  users: Matcher[] | undefined;
  userPatterns: string[];
  names: Matcher[] | undefined;
  namePatterns: string[] | undefined;
  rules: Array<{ resources: Set<string>; verbs: Set<string> }>;
  commands: CommandRuleSet | undefined;
  /** redis_keys as written (undefined: every key) and compiled to bytes for matching. */
  keys: string[] | undefined;
  keyBytes: Buffer[] | undefined;
  channels: string[] | undefined;
}

interface CompiledRole {
  name: string;
  ttlMs: number | undefined;
  allow: CompiledConditions;
  deny: CompiledConditions;
}

const TRAIT = /\{\{\s*([^{}]*?)\s*\}\}/;

/**
 * interpolate expands `{{internal.db_users}}` and `{{internal.db_names}}` (with any text around
 * them, as `prefix-{{internal.db_users}}`) into one value per trait value. An empty trait, or any
 * other expression, expands to nothing: an unknown trait must never widen access.
 */
export function interpolate(value: string, traits: Partial<Traits>): string[] {
  const m = TRAIT.exec(value);
  if (m === null) return [value];
  const before = value.slice(0, m.index);
  const after = value.slice(m.index + m[0].length);
  let source: readonly string[] | undefined;
  if (m[1] === 'internal.db_users') source = traits.db_users;
  else if (m[1] === 'internal.db_names') source = traits.db_names;
  if (source === undefined) return [];
  return source.filter((v) => v !== '').map((v) => `${before}${v}${after}`);
}

/**
 * matchPattern tells whether value matches a role pattern: `*` matches anything, `^…$` is a
 * regular expression, a value containing `*` is a glob, anything else must be equal.
 */
export function matchPattern(pattern: string, value: string): boolean {
  return compilePattern(pattern)(value);
}

function compilePattern(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (pattern.startsWith('^') && pattern.endsWith('$')) {
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch {
      // parseRoles rejects bad expressions; a role that slipped past it matches nothing.
      return () => false;
    }
    return (v) => re.test(v);
  }
  if (pattern.includes('*')) {
    const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's');
    return (v) => re.test(v);
  }
  return (v) => v === pattern;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isLiteral(pattern: string): boolean {
  return !pattern.includes('*') && !(pattern.startsWith('^') && pattern.endsWith('$'));
}

function compileConditions(c: RoleConditions | undefined, traits: Partial<Traits>): CompiledConditions {
  const expand = (list: string[] | undefined) => list?.flatMap((v) => interpolate(v, traits));
  const labels = c?.db_labels === undefined
    ? undefined
    : Object.entries(c.db_labels).map(([key, raw]) => {
        const values = expand(Array.isArray(raw) ? raw : [raw]) ?? [];
        return { key, values: values.map(compilePattern), wildcard: key === '*' && values.includes('*') };
      });
  const users = expand(c?.db_users);
  const names = expand(c?.db_names);
  return {
    labels,
    users: users?.map(compilePattern),
    userPatterns: users ?? [],
    names: names?.map(compilePattern),
    namePatterns: names,
    rules: (c?.rules ?? []).map((r) => ({ resources: new Set(r.resources), verbs: new Set(r.verbs) })),
    commands: c?.redis_commands === undefined ? undefined : compileCommandRules(c.redis_commands),
    keys: c?.redis_keys === undefined ? undefined : [...c.redis_keys],
    keyBytes: c?.redis_keys?.map((k) => Buffer.from(k, 'utf8')),
    channels: c?.redis_channels === undefined ? undefined : [...c.redis_channels],
  };
}

/** matchLabels: every key of the selector must match; `'*': '*'` matches any database. */
function matchLabels(selector: CompiledConditions['labels'], labels: Record<string, string>): boolean {
  if (selector === undefined || selector.length === 0) return false;
  for (const { key, values, wildcard } of selector) {
    if (key === '*') {
      if (wildcard) continue;
      return false;
    }
    if (!Object.prototype.hasOwnProperty.call(labels, key)) return false;
    const v = labels[key]!;
    if (!values.some((m) => m(v))) return false;
  }
  return true;
}

const anyMatch = (matchers: Matcher[] | undefined, value: string) => matchers !== undefined && matchers.some((m) => m(value));

/**
 * denyTargets tells whether a deny section speaks about db. With db_labels, they decide; without
 * them, a section that names db users or db names applies everywhere.
 */
function denyTargets(deny: CompiledConditions, db: DatabaseRef): boolean {
  if (deny.labels !== undefined) return matchLabels(deny.labels, db.labels);
  return deny.users !== undefined || deny.names !== undefined;
}

/** denyWholeDatabase: a deny that matches db by labels and names no users or names hides all of it. */
function denyWholeDatabase(deny: CompiledConditions, db: DatabaseRef): boolean {
  return deny.labels !== undefined && deny.users === undefined && deny.names === undefined && matchLabels(deny.labels, db.labels);
}

function sortPatterns(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a === b ? 0 : a === '*' ? -1 : b === '*' ? 1 : a < b ? -1 : 1));
}

/**
 * AccessChecker answers RBAC questions for one user: their roles, with their traits interpolated.
 * Build it with {@link AccessChecker.fromRoles}; it is immutable and cheap to query.
 */
export class AccessChecker {
  /** roleNames are the names of the roles this checker was built from, in order. */
  readonly roleNames: readonly string[];
  readonly #roles: readonly CompiledRole[];
  /** Per role, the command list its allow section contributes (undefined: contributes nothing). */
  readonly #commandAllows: readonly (CommandRuleSet | undefined)[];

  /** True when some role restricts commands: a deny list, or an allow list that is not everything. */
  readonly #commandsRestricted: boolean;
  /** True when the db numbers a session may select are restricted (by allow or deny db_names). */
  readonly #namesRestricted: boolean;
  /** The roles whose allow sections count (all of them until {@link scopeTo}). */
  readonly #granting: readonly CompiledRole[];
  /** Key patterns of the granting roles; undefined when one of them allows every key. */
  readonly #keyPatterns: readonly Buffer[] | undefined;
  /** Channel patterns of the granting roles; undefined when one of them allows every channel. */
  readonly #channelPatterns: readonly Buffer[] | undefined;

  private constructor(roles: readonly CompiledRole[], commandAllows: readonly (CommandRuleSet | undefined)[], namesRestricted?: boolean, granting?: readonly CompiledRole[]) {
    this.#roles = roles;
    this.#commandAllows = commandAllows;
    this.#granting = granting ?? roles;
    this.#keyPatterns = this.#granting.length === 0 || this.#granting.some((r) => r.allow.keyBytes === undefined)
      ? (this.#granting.length === 0 ? [] : undefined)
      : this.#granting.flatMap((r) => r.allow.keyBytes!);
    this.#channelPatterns = this.#granting.length === 0 || this.#granting.some((r) => r.allow.channels === undefined)
      ? (this.#granting.length === 0 ? [] : undefined)
      : this.#granting.flatMap((r) => r.allow.channels!.map((c) => Buffer.from(c, 'utf8')));
    this.roleNames = Object.freeze(roles.map((r) => r.name));
    this.#commandsRestricted =
      roles.some((r) => r.deny.commands !== undefined && r.deny.commands.rules.length > 0) ||
      commandAllows.some((s) => s !== undefined && !s.allowsEverything);
    this.#namesRestricted =
      namesRestricted ??
      (roles.some((r) => r.deny.names !== undefined && r.deny.names.length > 0) ||
        !roles.some((r) => r.allow.namePatterns?.includes('*') === true));
  }

  /**
   * fromRoles compiles roles for a user with the given traits. Throws bad-parameter if a role's
   * max_session_ttl or redis_commands is invalid (roles from `parseRoles` never are).
   */
  static fromRoles(roles: readonly Role[], traits: Partial<Traits>): AccessChecker {
    const compiled = roles.map((role): CompiledRole => {
      const ttl = role.spec.options?.max_session_ttl;
      return {
        name: role.metadata.name,
        ttlMs: ttl === undefined ? undefined : parseDuration(ttl, `max_session_ttl of role "${role.metadata.name}"`),
        allow: compileConditions(role.spec.allow, traits),
        deny: compileConditions(role.spec.deny, traits),
      };
    });
    // A role that says nothing about commands allows them all, so roles written before command
    // rules existed keep working.
    return new AccessChecker(compiled, compiled.map((r) => r.allow.commands ?? ALLOW_ALL_COMMANDS));
  }

  /**
   * scopeTo returns a checker whose command rules count only the roles that grant access to db
   * (and to dbUser, when given). Without it, a role granting full access to `dev` databases would
   * also lift the read-only command rules of the role that grants `prod`. Deny rules of every role
   * still apply; database, rule and TTL answers are unchanged.
   */
  scopeTo(db: DatabaseRef, dbUser?: string): AccessChecker {
    const allows = this.#roles.map((r, i) => {
      const grants = matchLabels(r.allow.labels, db.labels) && (dbUser === undefined || anyMatch(r.allow.users, dbUser));
      return grants ? this.#commandAllows[i] : undefined;
    });
    // db_names are unrestricted only when a granting role allows every name and no deny names any.
    const granting = this.#roles.filter((r) => matchLabels(r.allow.labels, db.labels) && (dbUser === undefined || anyMatch(r.allow.users, dbUser)));
    const namesRestricted =
      db.mode !== 'cluster' &&
      (this.#roles.some((r) => denyTargets(r.deny, db) && r.deny.names !== undefined && r.deny.names.length > 0) ||
        !granting.some((r) => r.allow.namePatterns?.includes('*') === true));
    return new AccessChecker(this.#roles, allows, namesRestricted, granting);
  }

  // ---- databases ------------------------------------------------------------------------------

  /** canSeeDatabase tells whether db should be listed: some role's allow labels match, no deny hides it. */
  canSeeDatabase(db: DatabaseRef): boolean {
    if (this.#roles.some((r) => denyWholeDatabase(r.deny, db))) return false;
    return this.#roles.some((r) => matchLabels(r.allow.labels, db.labels));
  }

  /**
   * checkDatabaseAccess throws access-denied unless one role allows db as dbUser (and dbName,
   * when given: for Redis the DB number as a string) and no role denies it. The message names
   * what failed; the user already knows the database name, so it reveals nothing new.
   */
  checkDatabaseAccess(db: DatabaseRef, dbUser: string, dbName?: string): void {
    const what = `access to database "${db.name}" as db user "${dbUser}"`;
    for (const r of this.#roles) {
      if (!denyTargets(r.deny, db)) continue;
      if (denyWholeDatabase(r.deny, db) || anyMatch(r.deny.users, dbUser)) {
        throw accessDenied(`${what} denied by role "${r.name}"`, { hint: 'Ask an administrator if you need this access.' });
      }
      if (dbName !== undefined && anyMatch(r.deny.names, dbName)) {
        throw accessDenied(`${what} denied by role "${r.name}" for db name "${dbName}"`, {
          hint: 'Ask an administrator if you need this access.',
        });
      }
    }
    const forDb = this.#roles.filter((r) => matchLabels(r.allow.labels, db.labels));
    if (forDb.length === 0) {
      throw accessDenied(`${what} denied: no role grants access to this database`, {
        hint: 'Run "xsh db ls" to see the databases you can access.',
      });
    }
    const forUser = forDb.filter((r) => anyMatch(r.allow.users, dbUser));
    if (forUser.length === 0) {
      throw accessDenied(`${what} denied: no role allows db user "${dbUser}"`, {
        hint: 'Run "xsh db ls" to see the db users you may use.',
      });
    }
    if (dbName !== undefined && !forUser.some((r) => anyMatch(r.allow.names, dbName))) {
      throw accessDenied(`${what} denied: no role allows db name "${dbName}" for this db user`, {
        hint: 'Ask an administrator for a role whose db_names include it.',
      });
    }
  }

  /**
   * allowedDbUsers lists the db users the roles allow on db, tsh-style: the allowed patterns, and
   * the denied names that are exceptions to them. A denied `*`, or a deny of the whole database,
   * leaves nothing allowed.
   */
  allowedDbUsers(db: DatabaseRef): AllowedDbUsers {
    const allowed = new Set<string>();
    for (const r of this.#roles) {
      if (matchLabels(r.allow.labels, db.labels)) for (const u of r.allow.userPatterns) allowed.add(u);
    }
    const denied = new Set<string>();
    for (const r of this.#roles) {
      if (denyWholeDatabase(r.deny, db)) return { allowed: [], denied: [] };
      if (denyTargets(r.deny, db)) for (const u of r.deny.userPatterns) denied.add(u);
    }
    if (denied.has('*')) return { allowed: [], denied: [] };
    const deniedMatchers = [...denied].map(compilePattern);
    // A literal name that a deny covers is simply not allowed; patterns keep the deny as an exception.
    const kept = [...allowed].filter((u) => !(isLiteral(u) && deniedMatchers.some((m) => m(u))));
    const hasPattern = kept.some((u) => !isLiteral(u));
    return { allowed: sortPatterns(kept), denied: hasPattern ? sortPatterns(denied) : [] };
  }

  /**
   * formatAllowedUsers renders {@link allowedDbUsers} as tsh's `Allowed Users` column: `[dev]`,
   * `[* dev], except: [superuser]`, `[*], except: [superuser]` or `(none)`.
   */
  formatAllowedUsers(db: DatabaseRef): string {
    const { allowed, denied } = this.allowedDbUsers(db);
    if (allowed.length === 0) return '(none)';
    const base = `[${allowed.join(' ')}]`;
    return denied.length === 0 ? base : `${base}, except: [${denied.join(' ')}]`;
  }

  // ---- sessions and admin rules ---------------------------------------------------------------

  /** maxSessionTtlMs is the smallest max_session_ttl among the roles, or defaultMs when none sets one. */
  maxSessionTtlMs(defaultMs: number): number {
    let min: number | undefined;
    for (const r of this.#roles) {
      if (r.ttlMs !== undefined && (min === undefined || r.ttlMs < min)) min = r.ttlMs;
    }
    return min ?? defaultMs;
  }

  /** ruleAllowed tells whether the roles allow verb on resource (a deny rule always wins). */
  ruleAllowed(resource: string, verb: string): boolean {
    return this.#ruleDeniedBy(resource, verb) === undefined && this.#roles.some((r) => rulesMatch(r.allow.rules, resource, verb));
  }

  /**
   * checkRule throws access-denied unless the roles allow verb on resource, naming both:
   * `access denied: cannot create user (roles: access)`.
   */
  checkRule(resource: string, verb: string): void {
    const deniedBy = this.#ruleDeniedBy(resource, verb);
    if (deniedBy !== undefined) {
      throw accessDenied(`access denied: cannot ${verb} ${resource} (denied by role "${deniedBy}")`, {
        hint: 'Ask an administrator if you need this access.',
      });
    }
    if (!this.#roles.some((r) => rulesMatch(r.allow.rules, resource, verb))) {
      const roles = this.roleNames.length === 0 ? 'no roles' : `roles: ${this.roleNames.join(', ')}`;
      throw accessDenied(`access denied: cannot ${verb} ${resource} (${roles})`, {
        hint: 'Ask an administrator for a role with a rule that allows it.',
      });
    }
  }

  #ruleDeniedBy(resource: string, verb: string): string | undefined {
    return this.#roles.find((r) => rulesMatch(r.deny.rules, resource, verb))?.name;
  }

  // ---- Redis commands -------------------------------------------------------------------------

  /**
   * commandAllowed tells whether a Redis command may run: some role's allow list allows it (a
   * role without `redis_commands` allows everything) and no role's deny list names it. command is
   * `get` or `config|set` in any case; categories come from `COMMAND INFO` (`@read` or `read`).
   *
   * Two rules close what name-and-category matching cannot see:
   *  - default deny: a command without categories (unknown to the server's table) is denied
   *    whenever any role has command rules (a deny list, or an allow list other than `+@all`),
   *    since no rule can say what it does;
   *  - scripts: EVAL, EVALSHA, FCALL and the rest of `@scripting` run commands the rules never
   *    see (and may SELECT any db), so when any role has command rules or the db names are
   *    restricted, they run only if a granting role allows them explicitly (`+@scripting`,
   *    `+eval`), not merely through `+@all`.
   */
  commandAllowed(command: string, categories: readonly string[]): boolean {
    if (categories.length === 0 && this.#commandsRestricted) return false;
    if (this.#commandDeniedBy(command, categories) !== undefined) return false;
    if ((this.#commandsRestricted || this.#namesRestricted) && isScripting(categories)) {
      return this.#commandAllows.some((s) => s?.allowsExplicitly(command, categories) === true);
    }
    return this.#commandAllows.some((s) => s?.allows(command, categories) === true);
  }

  /** checkCommand throws access-denied (`access denied to flushall`) unless {@link commandAllowed}. */
  checkCommand(command: string, categories: readonly string[]): void {
    if (this.commandAllowed(command, categories)) return;
    const deniedBy = this.#commandDeniedBy(command, categories);
    const hint = deniedBy !== undefined
      ? `Role "${deniedBy}" denies this command.`
      : isScripting(categories)
        ? 'Scripts run commands that role rules cannot check; a role must allow "+@scripting" explicitly.'
        : `None of your roles (${this.roleNames.join(', ') || 'none'}) allows this command on this database.`;
    throw accessDenied(`access denied to ${displayCommand(command)}`, { hint });
  }

  // ---- Redis keys and the managed ACL user -----------------------------------------------------

  /** keysRestricted is true when every granting role lists redis_keys (some key may be refused). */
  get keysRestricted(): boolean {
    return this.#keyPatterns !== undefined;
  }

  /**
   * keyAllowed tells whether a command may touch key: some granting role lists no redis_keys, or
   * one of their patterns matches it the way Redis's ACL `~pattern` does (byte for byte).
   */
  keyAllowed(key: Buffer): boolean {
    const pats = this.#keyPatterns;
    if (pats === undefined) return true;
    for (const p of pats) if (redisGlobMatch(p, key)) return true;
    return false;
  }

  /**
   * channelAllowed tells whether a pub/sub command may use channel, as Redis's ACL `&pattern`
   * decides: a channel (PUBLISH, SUBSCRIBE) must match a pattern; a pattern (PSUBSCRIBE) must
   * equal one literally, since Redis cannot tell which channels a pattern would reach.
   */
  channelAllowed(channel: Buffer, isPattern: boolean): boolean {
    const pats = this.#channelPatterns;
    if (pats === undefined) return true;
    for (const p of pats) if (isPattern ? p.equals(channel) : redisGlobMatch(p, channel)) return true;
    return false;
  }

  /**
   * redisAclRules derives the Redis ACL rules (after `ACL SETUSER U reset on >password`) that make
   * Redis enforce what this checker does for a managed db user: the granting roles' command list
   * with every deny appended (the last matching token decides, so appended denies win), scripts
   * refused unless allowed explicitly (xport's own rule), key and channel patterns. db_names stay
   * xport's: Redis ACLs cannot restrict database numbers. Throws bad-parameter, naming the roles,
   * when the roles' rules have no single Redis ACL form.
   */
  redisAclRules(): string[] {
    const lists = this.#commandAllows.filter((s): s is CommandRuleSet => s !== undefined);
    const out: string[] = [];
    if (lists.length === 0) {
      out.push('-@all');
    } else if (lists.some((l) => l.allowsEverything)) {
      out.push('+@all');
    } else {
      const distinct = new Map(lists.map((l) => [l.rules.join(' ').toLowerCase(), l]));
      if (distinct.size > 1) {
        const named = this.#roles.flatMap((r, i) => {
          const l = this.#commandAllows[i];
          return l !== undefined && !l.allowsEverything ? [{ name: r.name, rules: l.rules.join(' ') }] : [];
        });
        const names = named.map((n) => n.name);
        throw badParameter(`the redis_commands of roles ${names.map((n) => `"${n}"`).join(' and ')} cannot be expressed as one Redis ACL: they grant different command lists to the same db user (${named.map((n) => `${n.name}: ${n.rules}`).join('; ')}), and a Redis ACL user has a single list`, {
          hint: 'Give one of the roles the other\'s redis_commands, or let a single role grant this db user.',
        });
      }
      out.push('-@all', ...lists[0]!.rules.map((t) => t.toLowerCase()));
    }
    for (const r of this.#roles) {
      for (const t of r.deny.commands?.rules ?? []) {
        const lower = t.toLowerCase();
        out.push(lower === 'allcommands' ? '-@all' : `-${lower}`);
      }
    }
    if (this.#commandsRestricted || this.#namesRestricted) {
      const explicit = lists.some((l) => l.allowsExplicitly('eval', ['@scripting']) || l.allowsExplicitly('fcall', ['@scripting']));
      if (!explicit) out.push('-@scripting');
    }
    const keys = this.#granting.some((r) => r.allow.keys === undefined) ? undefined : this.#granting.flatMap((r) => r.allow.keys!);
    if (this.#granting.length === 0) out.push('resetkeys');
    else if (keys === undefined) out.push('allkeys');
    else out.push('resetkeys', ...[...new Set(keys)].map((k) => `~${k}`));
    const chans = this.#granting.some((r) => r.allow.channels === undefined) ? undefined : this.#granting.flatMap((r) => r.allow.channels!);
    if (this.#granting.length === 0) out.push('resetchannels');
    else if (chans === undefined) out.push('allchannels');
    else out.push('resetchannels', ...[...new Set(chans)].map((c) => `&${c}`));
    return out;
  }

  #commandDeniedBy(command: string, categories: readonly string[]): string | undefined {
    return this.#roles.find((r) => r.deny.commands?.names(command, categories) === true)?.name;
  }
}

/** isScripting tells whether categories include `@scripting` (commands that run scripts or functions). */
function isScripting(categories: readonly string[]): boolean {
  for (const c of categories) if (c === '@scripting' || c === 'scripting' || c.toLowerCase() === '@scripting') return true;
  return false;
}

function rulesMatch(rules: CompiledConditions['rules'], resource: string, verb: string): boolean {
  return rules.some(
    (r) => (r.resources.has('*') || r.resources.has(resource)) && (r.verbs.has('*') || r.verbs.has(verb)),
  );
}
