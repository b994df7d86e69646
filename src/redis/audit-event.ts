/**
 * redis/audit-event: the `db.session.query` event both relays (standalone and cluster) emit for
 * every client command, and the guarded hand-off to the session's audit sink.
 */
import type { Session, SessionAuditEvent } from '../db/session.js';
import type { Logger } from '../util/log.js';
import { formatQuery, keyNames } from './audit-format.js';

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
