/**
 * redis/audit-event: the `db.session.query` event both relays (standalone and cluster) emit for
 * every client command, and the guarded hand-off to the session's audit sink.
 */
import type { Session, SessionAuditEvent } from '../db/session.js';
import type { Logger } from '../util/log.js';
import { formatQuery, keyNames } from './audit-format.js';
import { error as errorReply } from './resp/index.js';

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

/** emitAudit hands an event to the session's sink; a sink that throws must not end the session. */
export function emitAudit(session: Session, log: Logger, ev: SessionAuditEvent): void {
  try {
    session.audit.emit(ev);
  } catch (err) {
    log.warn('audit sink threw; event dropped', { session: session.id, error: (err as Error).message });
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
    return auditRefusal(err as Error);
  }
}

/** auditRefusal is the RESP error a client gets when the log cannot hold its commands' events. */
export function auditRefusal(err: Error): Buffer {
  return errorReply(`ERR xport: audit log unavailable: ${err.message}`);
}
