/**
 * store/event-sequence: event ids that keep insertion order inside one millisecond.
 *
 * {@link newEventId} orders ids by millisecond only; two events appended in the same millisecond
 * (a batch of 1024 always is) would sort randomly. Backends therefore pass each new id through
 * {@link nextEventId}, which bumps it past the previous id when both share a millisecond.
 * Imports only event-id.
 */
import { newEventId } from './event-id.js';

/** Hex digits of the millisecond timestamp that leads every event id. */
const TIME_DIGITS = 12;

/**
 * nextEventId returns an id for an event at time that sorts after last when both fall in the same
 * millisecond, so ids minted by one writer keep the order the events were appended in. An event
 * older than last keeps an id of its own time: ids stay ordered by time first.
 */
export function nextEventId(last: string | undefined, time: Date): string {
  const id = newEventId(Number.isNaN(time.getTime()) ? new Date() : time);
  if (last === undefined || id > last || id.slice(0, TIME_DIGITS) !== last.slice(0, TIME_DIGITS)) return id;
  return successor(last);
}

/** successor returns the id right after id (same length, hex, +1). */
function successor(id: string): string {
  return (BigInt('0x' + id) + 1n).toString(16).padStart(id.length, '0');
}
