/**
 * store/event-sequence: event ids that keep insertion order inside one millisecond.
 *
 * {@link newEventId} orders ids by millisecond only; two events appended in the same millisecond
 * (a batch of 1024 always is) would sort randomly. Backends therefore mint ids with
 * {@link nextEventId}, which continues from the previous id while the millisecond is the same.
 * Imports only event-id.
 */
import { newEventId } from './event-id.js';

/** Hex digits of the millisecond timestamp that leads every event id. */
const TIME_DIGITS = 12;
/** The shape newEventId mints; ids supplied by callers may look different and are never continued. */
const MINTED = /^[0-9a-f]{32}$/;

/**
 * nextEventId returns an id for an event at time. When last (the newest id so far) was minted in
 * the same millisecond, the new id is the one right after it, so one writer's ids keep the order
 * events were appended in (and skip the random bytes, which matters at 100k events/s). Otherwise it
 * is a fresh id of the event's own time, so ids stay ordered by time first. An invalid time counts
 * as now.
 */
export function nextEventId(last: string | undefined, time: Date): string {
  const t = Number.isNaN(time.getTime()) ? new Date() : time;
  if (last !== undefined && MINTED.test(last) && last.startsWith(t.getTime().toString(16).padStart(TIME_DIGITS, '0'))) {
    return successor(last);
  }
  return newEventId(t);
}

/** successor returns the lowercase hex string right after id, of the same length. */
function successor(id: string): string {
  let i = id.length - 1;
  while (i > 0 && id[i] === 'f') i--;
  return id.slice(0, i) + (parseInt(id[i]!, 16) + 1).toString(16) + '0'.repeat(id.length - 1 - i);
}

/**
 * EventIdMinter is nextEventId for one writer that mints every id itself (the audit log): it keeps
 * the last id's millisecond as a number, so the common case — several events in one millisecond —
 * is one successor() with no Date, regular expression or hex formatting (measured: nextEventId was
 * 4.5 % of the relay's CPU at redis-benchmark -P 16).
 */
export class EventIdMinter {
  private lastMs = -1;
  private lastId = '';

  /** next returns the id for an event at ms (epoch milliseconds), after every id minted before. */
  next(ms: number): string {
    // A clock that steps back keeps the last millisecond, so ids never go backwards.
    if (!Number.isFinite(ms)) ms = Date.now();
    if (ms <= this.lastMs) return (this.lastId = successor(this.lastId));
    this.lastMs = ms;
    return (this.lastId = newEventId(new Date(ms)));
  }
}
