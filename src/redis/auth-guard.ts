/**
 * redis/auth-guard: the checks both relays (standalone and cluster) make on the commands that
 * change who the connection is — AUTH and HELLO … AUTH — and on HELLO's options. A session is
 * routed to one db user by the user's certificate; a client may authenticate only as that user
 * (byte for byte, as Redis looks users up), and the roles must still allow it.
 *
 * Pure: returns the reason to refuse (the text after `-ERR xport: `) or undefined; the relays
 * audit and answer. Imports db/session types and redis/commands, redis/display only.
 */
import type { Session } from '../db/session.js';
import { cstrEqualsIgnoreCase } from './commands.js';
import { displayArg } from './display.js';

/** authUserProblem returns why `AUTH <user> …` (or HELLO's AUTH option) must be refused, if it must. */
export function authUserProblem(session: Session, userArg: Buffer): string | undefined {
  // Byte for byte, as Redis looks users up: a lossy decoding must not make two names one.
  let ok = userArg.equals(Buffer.from(session.dbUser, 'utf8'));
  if (ok) {
    try {
      session.checker.checkDbUser(userArg.toString('utf8'));
    } catch {
      ok = false;
    }
  }
  // Say how to get a session routed to that user: the route is chosen when connecting, not by AUTH.
  return ok
    ? undefined
    : `failed to authenticate as ${displayArg(userArg)} user. Please provide a correct db username when connecting to Redis: ` +
        `this session is routed to db user "${session.dbUser}"; reconnect with xsh db connect ${session.database.name} --db-user=${displayArg(userArg)}`;
}

/** authProblem returns why an AUTH request (args[0] is the name) must be refused, if it must. */
export function authProblem(session: Session, args: readonly Buffer[]): string | undefined {
  if (args.length < 2) return "wrong number of arguments for 'auth' command";
  if (args.length > 3) return 'syntax error';
  if (args.length === 3) return authUserProblem(session, args[1]!);
  if (session.dbUser === 'default') return undefined;
  // Say how: AUTH with the routed user's name (or reconnect routed to default).
  return `failed to authenticate as the default user. Please provide the db username when connecting to Redis: this session is routed to db user "${session.dbUser}"; send AUTH ${session.dbUser} <password>`;
}

/** HelloCheck is what {@link checkHello} found in a HELLO request. */
export interface HelloCheck {
  /** Why the request must be refused; undefined when it may go to Redis. */
  problem: string | undefined;
  /** Index of the user of the last AUTH option (its password follows), or -1 when there is none. */
  authAt: number;
  /** Index of the name of the last SETNAME option, or -1 when there is none. */
  setnameAt: number;
}

/**
 * checkHello reads HELLO's options as Redis does (compared as C strings: `AUTH\0` is AUTH) and
 * checks every AUTH option's user. Unknown options are left for Redis to refuse.
 */
export function checkHello(session: Session, args: readonly Buffer[], inMulti: boolean): HelloCheck {
  const found: HelloCheck = { problem: inMulti ? 'hello is not supported inside MULTI' : undefined, authAt: -1, setnameAt: -1 };
  for (let i = 2; found.problem === undefined && i < args.length; ) {
    const opt = args[i]!;
    if (cstrEqualsIgnoreCase(opt, 'auth')) {
      if (i + 2 >= args.length) found.problem = 'syntax error';
      else found.problem = authUserProblem(session, args[i + 1]!);
      found.authAt = i + 1;
      i += 3;
    } else if (cstrEqualsIgnoreCase(opt, 'setname')) {
      if (i + 1 < args.length) found.setnameAt = i + 1;
      i += 2;
    } else {
      i++; // Redis answers unknown options with its own syntax error
    }
  }
  return found;
}
