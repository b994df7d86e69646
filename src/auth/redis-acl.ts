/**
 * auth/redis-acl: per-command rules for Redis, the gap Teleport leaves open (reference §7, #6761).
 *
 * A role lists `redis_commands` in Redis ACL syntax (`+@read`, `-@dangerous`, `-flushall`,
 * `-config|set`). Within one list the tokens are evaluated left to right exactly as `ACL SETUSER`
 * applies them: the last token that matches a command decides. Combining lists across roles is the
 * checker's job (`auth/rbac.ts`); this module only parses, validates and evaluates one list.
 *
 * The command's ACL categories come from the caller (the engine reads them from the server's
 * `COMMAND INFO`), so this module holds no command table and stays pure.
 * Imports nothing but errors; must not import redis/, db/ or other auth modules.
 */
import { badParameter } from '../errors.js';

/**
 * ACL_CATEGORIES are the category names Redis 7/8 and Valkey know (`ACL CAT`), without the `@`.
 * An unknown category in a role is almost always a typo (`-@dangerus`) that would silently deny
 * nothing, so validation rejects it.
 */
export const ACL_CATEGORIES: readonly string[] = [
  'all',
  'keyspace',
  'read',
  'write',
  'set',
  'sortedset',
  'list',
  'hash',
  'string',
  'bitmap',
  'hyperloglog',
  'geo',
  'stream',
  'pubsub',
  'admin',
  'fast',
  'slow',
  'blocking',
  'dangerous',
  'connection',
  'transaction',
  'scripting',
  // Redis 8 module categories (query engine, JSON, time series, probabilistic types).
  'search',
  'json',
  'timeseries',
  'bloom',
  'cuckoo',
  'cms',
  'topk',
  'tdigest',
];

const KNOWN_CATEGORIES = new Set(ACL_CATEGORIES);

// Command names: letters, digits and the punctuation module commands use (`JSON.GET`, `FT._LIST`).
const NAME = /^[a-z0-9][a-z0-9._-]*$/;

// Redis ACL words that are not about commands; listing them in redis_commands is a mistake worth naming.
const NOT_COMMAND_RULES = new Set([
  'on',
  'off',
  'allkeys',
  'resetkeys',
  'allchannels',
  'resetchannels',
  'nopass',
  'resetpass',
  'reset',
]);

/** CommandRuleSide says which section of a role a rule list sits in; deny lists take bare names only. */
export type CommandRuleSide = 'allow' | 'deny';

/**
 * validateCommandRule checks one `redis_commands` token and returns what is wrong with it, or
 * undefined when it is valid. In an allow list a token may carry `+`/`-`; in a deny list every
 * token names something to deny, so a sign there would be ambiguous and is refused.
 */
export function validateCommandRule(token: string, side: CommandRuleSide = 'allow'): string | undefined {
  if (typeof token !== 'string' || token.trim() === '') return 'empty command rule';
  if (token !== token.trim()) return `command rule "${token}" has surrounding spaces`;
  const lower = token.toLowerCase();
  if (lower === 'allcommands' || lower === 'nocommands') {
    if (side === 'deny') {
      return lower === 'allcommands'
        ? undefined
        : `"nocommands" means nothing in a deny list; write the commands or categories to deny`;
    }
    return undefined;
  }
  let body = lower;
  const sign = body[0];
  if (sign === '+' || sign === '-') {
    if (side === 'deny') {
      return `deny rule "${token}" must not start with "${sign}"; a deny list names what to deny, such as "flushall" or "@dangerous"`;
    }
    body = body.slice(1);
  }
  if (body.startsWith('@')) {
    const cat = body.slice(1);
    if (cat === '') return `command rule "${token}" is missing a category name after "@"`;
    if (!KNOWN_CATEGORIES.has(cat)) {
      return `unknown ACL category "@${cat}" in "${token}"; run "redis-cli ACL CAT" to list categories`;
    }
    return undefined;
  }
  if (NOT_COMMAND_RULES.has(body)) {
    return `"${token}" is a Redis ACL user rule; redis_commands takes only commands and categories`;
  }
  const parts = body.split('|');
  if (parts.length > 2) return `command rule "${token}" has more than one "|"`;
  const [cmd, sub] = parts;
  if (cmd === undefined || cmd === '') return `command rule "${token}" is missing a command name`;
  if (sub === '') return `command rule "${token}" is missing a subcommand after "|"`;
  if (!NAME.test(cmd) || (sub !== undefined && !NAME.test(sub))) {
    return `invalid command rule "${token}": names may contain only letters, digits, ".", "_" and "-" (and one "|" before a subcommand)`;
  }
  return undefined;
}

/** One compiled token: what it matches and whether a match allows or denies. */
type Token =
  | { allow: boolean; kind: 'all' }
  | { allow: boolean; kind: 'category'; category: string; atCategory: string }
  | { allow: boolean; kind: 'command'; command: string }
  | { allow: boolean; kind: 'subcommand'; command: string };

/**
 * CommandRuleSet is one compiled `redis_commands` list. Commands are given lower- or upper-case
 * as `get`, or `config|set` for a subcommand; categories as `@read` or `read`.
 */
export class CommandRuleSet {
  /** rules are the tokens as written in the role. */
  readonly rules: readonly string[];
  readonly #tokens: readonly Token[];

  /** @internal use {@link compileCommandRules}. */
  constructor(rules: readonly string[], tokens: readonly Token[]) {
    this.rules = rules;
    this.#tokens = tokens;
  }

  /**
   * allows evaluates the list left to right like Redis: everything starts denied and the last
   * token that matches the command decides.
   */
  allows(command: string, categories: readonly string[]): boolean {
    const cmd = normalizeCommand(command);
    let verdict = false;
    for (const t of this.#tokens) {
      if (tokenMatches(t, cmd, categories)) verdict = t.allow;
    }
    return verdict;
  }

  /**
   * allowsExplicitly is {@link allows} with `+@all` and `allcommands` left out: true only when a
   * token naming the command or one of its categories (`+@scripting`, `+eval`) decides.
   */
  allowsExplicitly(command: string, categories: readonly string[]): boolean {
    const cmd = normalizeCommand(command);
    let verdict = false;
    for (const t of this.#tokens) {
      if (t.kind !== 'all' && tokenMatches(t, cmd, categories)) verdict = t.allow;
    }
    return verdict;
  }

  /** allowsEverything is true for a list that is only `+@all`/`allcommands` (it restricts nothing). */
  get allowsEverything(): boolean {
    return this.#tokens.length > 0 && this.#tokens.every((t) => t.kind === 'all' && t.allow);
  }

  /**
   * names tells whether any token matches the command, whatever its sign. A deny list is read
   * this way: every token in it names something to deny.
   */
  names(command: string, categories: readonly string[]): boolean {
    const cmd = normalizeCommand(command);
    return this.#tokens.some((t) => tokenMatches(t, cmd, categories));
  }
}

/**
 * compileCommandRules turns a validated `redis_commands` list into a {@link CommandRuleSet}.
 * It throws on a token {@link validateCommandRule} rejects; roles from `parseRoles` never do.
 */
export function compileCommandRules(rules: readonly string[]): CommandRuleSet {
  const tokens: Token[] = [];
  for (const raw of rules) {
    // Validate as an allow list: that accepts every deny-list token too.
    const problem = validateCommandRule(raw, 'allow');
    if (problem !== undefined) throw badParameter(problem, { hint: 'See the role reference in README.md#roles.' });
    tokens.push(compileToken(raw.toLowerCase()));
  }
  return new CommandRuleSet([...rules], tokens);
}

/** ALLOW_ALL_COMMANDS is the rule set of a role that says nothing about commands. */
export const ALLOW_ALL_COMMANDS: CommandRuleSet = compileCommandRules(['+@all']);

function compileToken(lower: string): Token {
  if (lower === 'allcommands') return { allow: true, kind: 'all' };
  if (lower === 'nocommands') return { allow: false, kind: 'all' };
  let allow = true;
  let body = lower;
  if (body[0] === '+' || body[0] === '-') {
    allow = body[0] === '+';
    body = body.slice(1);
  }
  if (body.startsWith('@')) {
    const category = body.slice(1);
    if (category === 'all') return { allow, kind: 'all' };
    return { allow, kind: 'category', category, atCategory: `@${category}` };
  }
  return body.includes('|') ? { allow, kind: 'subcommand', command: body } : { allow, kind: 'command', command: body };
}

/** normalizeCommand lower-cases a command and accepts `config set` as well as `config|set`. */
function normalizeCommand(command: string): string {
  const lower = command.toLowerCase();
  return lower.includes(' ') ? lower.trim().replace(/\s+/, '|') : lower;
}

function tokenMatches(t: Token, cmd: string, categories: readonly string[]): boolean {
  switch (t.kind) {
    case 'all':
      return true;
    case 'subcommand':
      return cmd === t.command;
    case 'command':
      // `-config` covers every CONFIG subcommand, as in Redis.
      return cmd === t.command || (cmd.length > t.command.length && cmd.startsWith(t.command) && cmd[t.command.length] === '|');
    case 'category':
      for (const c of categories) {
        if (c === t.atCategory || c === t.category) return true;
        const lc = c.toLowerCase();
        if (lc === t.atCategory || lc === t.category) return true;
      }
      return false;
  }
}

/**
 * displayCommand renders a client-supplied command name for an error message: lower-case, only
 * name characters, at most 64 of them, so nothing a client sends can break the RESP error line.
 */
export function displayCommand(command: string): string {
  const clean = normalizeCommand(command).replace(/[^a-z0-9._|-]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}
