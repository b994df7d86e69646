/**
 * redis/verdict: the one place both relays (standalone and cluster) ask "may this request run?",
 * so that the answer is about the command Redis will execute:
 *
 *  - the name is resolved as Redis resolves it (commands.ts); a name or subcommand with a byte
 *    no command has is refused before it reaches Redis (Redis compares names as C strings, so
 *    `config\0…` could otherwise run CONFIG);
 *  - the roles judge the resolved name and its categories (unknown commands are denied by
 *    default under any command rule; scripts need `@scripting` explicitly — auth/rbac.ts);
 *  - every argument that selects a database is checked against the roles' db_names, read the
 *    way Redis reads it (`COPY … DB 0 DB 5` copies to db 5: the last option wins).
 *
 * Pure: imports db/session types, redis/commands and redis/display only.
 */
import type { SessionChecker } from '../db/session.js';
import { cstrEqualsIgnoreCase, keyPositions, parseRedisInteger, type CommandTable, type ResolvedCommand } from './commands.js';
import { displayArg, displayName } from './display.js';

/** Verdict is the answer for one request. */
export interface Verdict {
  cmd: ResolvedCommand;
  /** Indexes of the key arguments (for the audit). */
  keys: number[];
  /** Why the request is refused (the text after `-ERR xport: `); undefined when it may run. */
  denied: string | undefined;
  /** What refused it: a malformed name, the command rules, or a db argument. */
  deniedFor?: 'name' | 'command' | 'db' | 'key' | 'channel';
}

/** Shared by every command that selects no db, so the common case allocates nothing. */
const NO_DB: readonly Buffer[] = Object.freeze([]);

/**
 * judgeCommand resolves and judges one request. name is the parser's lower-case name, args the
 * request's arguments (args[0] is the name as sent).
 */
export function judgeCommand(table: CommandTable, name: string, args: readonly Buffer[], checker: SessionChecker): Verdict {
  const cmd = table.resolve(name, args);
  if (cmd.malformed) {
    // The name is already quoted and escaped byte for byte (`"config\x00x"`): safe on one line.
    return { cmd, keys: [], denied: `unknown command ${cmd.name}: command names contain no such bytes`, deniedFor: 'name' };
  }
  const keys = keyPositions(cmd.info, args);
  if (!checker.commandAllowed(cmd.name, cmd.categories)) {
    return { cmd, keys, denied: `access denied to ${displayName(cmd.name)}`, deniedFor: 'command' };
  }
  if (checker.keyAllowed !== undefined) {
    // Key positions come from the server's command table (the same Redis's ACL checks), so the
    // keys judged are the keys Redis will touch.
    for (const i of keys) {
      const key = args[i];
      if (key !== undefined && !checker.keyAllowed(key)) {
        return { cmd, keys, denied: `access denied to key ${displayArg(key)} for ${displayName(cmd.name)}`, deniedFor: 'key' };
      }
    }
  }
  if (checker.channelAllowed !== undefined) {
    const ch = channelArguments(cmd.name, args);
    if (ch !== undefined) {
      for (let i = ch.from; i < ch.to; i++) {
        if (!checker.channelAllowed(args[i]!, ch.pattern)) {
          return { cmd, keys, denied: `access denied to channel ${displayArg(args[i]!)} for ${displayName(cmd.name)}`, deniedFor: 'channel' };
        }
      }
    }
  }
  const dbArg = deniedDbArgument(cmd.name, args, checker);
  if (dbArg !== undefined) return { cmd, keys, denied: `access denied to db ${displayArg(dbArg)}`, deniedFor: 'db' };
  return { cmd, keys, denied: undefined };
}

/**
 * channelArguments says which arguments of a pub/sub request are channels (or patterns), as
 * Redis's ACL checks them: PUBLISH/SPUBLISH one channel, SUBSCRIBE/SSUBSCRIBE every argument,
 * PSUBSCRIBE every argument as a pattern. Undefined for other commands (unsubscribing is free).
 */
export function channelArguments(resolved: string, args: readonly Buffer[]): { from: number; to: number; pattern: boolean } | undefined {
  switch (resolved) {
    case 'publish':
    case 'spublish':
      return { from: 1, to: Math.min(2, args.length), pattern: false };
    case 'subscribe':
    case 'ssubscribe':
      return { from: 1, to: args.length, pattern: false };
    case 'psubscribe':
      return { from: 1, to: args.length, pattern: true };
    default:
      return undefined;
  }
}

/**
 * dbArguments lists the arguments of a request that select a database, as Redis parses them:
 * SELECT db, MOVE key db, SWAPDB a b, MIGRATE … destination-db …, COPY src dst [DB n]… (the
 * last DB wins; options are compared as C strings, so `DB\0` is `DB`). Empty for other commands.
 */
export function dbArguments(resolved: string, args: readonly Buffer[]): readonly Buffer[] {
  switch (resolved) {
    case 'select':
      return args.length > 1 ? [args[1]!] : NO_DB;
    case 'move':
      return args.length > 2 ? [args[2]!] : NO_DB;
    case 'swapdb':
      return args.slice(1, 3);
    case 'migrate':
      return args.length > 4 ? [args[4]!] : NO_DB;
    case 'copy': {
      let db: Buffer | undefined;
      for (let j = 3; j < args.length; j++) {
        const a = args[j]!;
        if (cstrEqualsIgnoreCase(a, 'replace')) continue;
        if (cstrEqualsIgnoreCase(a, 'db') && j + 1 < args.length) {
          db = args[++j]!;
          continue;
        }
        // Redis answers a syntax error and copies nothing; checking the DB seen so far only refuses more.
        break;
      }
      return db === undefined ? NO_DB : [db];
    }
    default:
      return NO_DB;
  }
}

/**
 * deniedDbArgument returns the first db argument the roles do not allow. An argument Redis
 * would not read as an integer selects nothing (Redis answers an error) and passes; one it would
 * is checked in canonical form, so no spelling of a number can pass for another.
 */
export function deniedDbArgument(resolved: string, args: readonly Buffer[], checker: SessionChecker): Buffer | undefined {
  for (const a of dbArguments(resolved, args)) {
    const n = parseRedisInteger(a);
    if (n === undefined) continue;
    try {
      checker.checkDbName(n);
    } catch {
      return a;
    }
  }
  return undefined;
}
