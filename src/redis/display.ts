/**
 * redis/display: how the Redis core renders what it did not make — command names, client
 * arguments, errors thrown below it, Redis's own error lines — into the one-line texts of its
 * wire errors (`-ERR xport: …`), audit events and logs. One module so both relays and both
 * engines say the same thing the same way.
 *
 * Pure: no imports beyond errors.ts.
 */
import { isXError } from '../errors.js';

/** displayName renders a resolved command name for an error line: name characters only, at most 64. */
export function displayName(name: string): string {
  const clean = name.replace(/[^a-z0-9._|:-]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

/** displayArg renders a client-supplied argument (a db number, a user name) for an error line. */
export function displayArg(arg: Buffer): string {
  const s = arg.toString('utf8', 0, Math.min(arg.length, 64)).replace(/[\x00-\x1f\x7f]/g, '?');
  return arg.length > 64 ? `${s}...` : s;
}

/** errorMessage is the one-line text of anything thrown, for the wire and the log. */
export function errorMessage(err: unknown): string {
  if (isXError(err) || err instanceof Error) return err.message;
  return String(err);
}

/**
 * replyLine is the text of an error reply (`-ERR …`, `!…` in RESP3) without its type byte and
 * CRLF, on one line and at most 511 characters: Redis's message, passed on as Redis wrote it.
 */
export function replyLine(raw: Buffer): string {
  return raw.toString('utf8', 1, Math.min(raw.length, 512)).replace(/\r\n$/, '').replace(/[\r\n]+/g, ' ');
}
