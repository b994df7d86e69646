/**
 * redis/audit-event: the one audit hand-off of the Redis core. The events both relays (standalone
 * and cluster) emit for every client command (`db.session.query`), the ones both engines emit
 * when a session starts and ends, the guarded hand-off to the session's sink, and the commit to
 * the write-ahead log right before bytes go upstream.
 */
import type { Session, SessionAuditEvent } from '../db/session.js';
import type { Logger } from '../util/log.js';
import { formatQuery, keyNames } from './audit-format.js';
import { errorMessage } from './display.js';
import { error as errorReply } from './resp/index.js';

/** EXECABORT_TEXT is Redis's reason for refusing an EXEC after a queued command failed. */
export const EXECABORT_TEXT = 'EXECABORT Transaction discarded because of previous errors.';

/**
 * queryEvent builds the event for one client command: its name, the key names at the given
 * positions, and the (optionally redacted) command text.
 */
export function queryEvent(
  args: readonly Buffer[],
  name: string,
  keys: readonly number[],
  subcommand: boolean,
  redact: boolean,
  success: boolean,
  error?: string,
): SessionAuditEvent {
  const ev: SessionAuditEvent = {
    type: 'db.session.query',
    success,
    command: name,
    keys: keys.length === 0 ? [] : keyNames(args, keys),
    query: formatQuery(args, keys, redact, subcommand),
  };
  if (error !== undefined) ev.error = error;
  return ev;
}

/**
 * authEvent is the event for AUTH or HELLO: the command text comes from audit-format (passwords
 * always masked) and the keys are always empty.
 */
export function authEvent(name: 'auth' | 'hello', text: string, problem: string | undefined): SessionAuditEvent {
  const ev: SessionAuditEvent = { type: 'db.session.query', success: problem === undefined, command: name, keys: [], query: text };
  if (problem !== undefined) ev.error = problem;
  return ev;
}

/** execAbortEvent is the event for an EXEC refused because a command inside MULTI was denied. */
export function execAbortEvent(args: readonly Buffer[], name: string, redact: boolean): SessionAuditEvent {
  return { type: 'db.session.query', success: false, error: EXECABORT_TEXT, command: name, keys: [], query: formatQuery(args, NO_KEYS, redact) };
}

const NO_KEYS: readonly number[] = Object.freeze([]);

/** sessionEvent is a session's start or end event. */
export function sessionEvent(type: 'db.session.start' | 'db.session.end', error?: string): SessionAuditEvent {
  return error === undefined ? { type, success: true } : { type, success: false, error };
}

/** emitAudit hands an event to the session's sink; a sink that throws must not end the session. */
export function emitAudit(session: Session, log: Logger, ev: SessionAuditEvent): void {
  try {
    session.audit.emit(ev);
  } catch (err) {
    log.warn('audit sink threw; event dropped', { session: session.id, error: errorMessage(err) });
  }
}

/**
 * commitAudit writes the session's buffered events to the write-ahead log (one write for all the
 * commands of a socket read). Both relays call it right before they forward bytes upstream: a
 * command reaches Redis only once its event is in the log. Returns the RESP error to send the
 * client instead of forwarding when the log cannot be written (no audit, no access).
 */
export function commitAudit(session: Session): Buffer | undefined {
  try {
    session.audit.flush?.();
    return undefined;
  } catch (err) {
    return auditRefusal(err);
  }
}

/** auditRefusal is the RESP error a client gets when the log cannot hold its commands' events. */
export function auditRefusal(err: unknown): Buffer {
  return errorReply(`ERR xport: audit log unavailable: ${errorMessage(err)}`);
}
