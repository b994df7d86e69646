/**
 * redis/client-reply: CLIENT REPLY ON|OFF|SKIP, kept by both relays as Redis keeps it for a
 * connection, never sent to Redis (whose ACLs might refuse it, and a refused OFF would look like
 * success). ON answers +OK and ends OFF and SKIP; OFF and SKIP answer nothing; SKIP silences the
 * next command only (and nothing while OFF). Options compare as Redis's strcasecmp does. The
 * relays drop the replies the client asked not to get — their own answers included.
 */
import { cstrEqualsIgnoreCase } from './commands.js';
import { error as errorReply, OK } from './resp/index.js';

const ARITY = errorReply("ERR wrong number of arguments for 'client|reply' command");
const SYNTAX = errorReply('ERR syntax error');

/** ClientReplyMode is one connection's CLIENT REPLY state. */
export class ClientReplyMode {
  #off = false;
  #skipThis = false;
  #skipNext = false;

  /** silentNow tells whether Redis would send no reply to the request about to be handled. */
  silentNow(): boolean {
    return this.#off || this.#skipThis;
  }

  /** handled moves SKIP on after a request: it silences exactly one command, the one after it. */
  handled(): void {
    this.#skipThis = this.#skipNext;
    this.#skipNext = false;
  }

  /** reset turns replies back ON (CLIENT REPLY ON, RESET). */
  reset(): void {
    this.#off = this.#skipThis = this.#skipNext = false;
  }

  /**
   * apply serves `CLIENT REPLY <mode>` (args[0] is CLIENT): the reply to answer — +OK for ON,
   * Redis's own errors for other forms — or undefined when Redis answers nothing (OFF, SKIP).
   * After ON the request itself is no longer silent: the caller answers the +OK.
   */
  apply(args: readonly Buffer[]): Buffer | undefined {
    const mode = args.length === 3 ? args[2]! : undefined;
    if (mode === undefined) return ARITY;
    if (cstrEqualsIgnoreCase(mode, 'on')) {
      this.reset();
      return OK;
    }
    if (cstrEqualsIgnoreCase(mode, 'off')) this.#off = true;
    else if (cstrEqualsIgnoreCase(mode, 'skip')) {
      if (!this.#off) this.#skipNext = true;
    } else return SYNTAX;
    return undefined;
  }
}
