/**
 * store/event-id: time-ordered, unique audit event ids (48-bit ms timestamp + 80 random bits, hex),
 * so ids sort like the events they name across processes.
 */
import { randomBytes } from 'node:crypto';

/** newEventId returns a 32-hex-char id that sorts by time. */
export function newEventId(time: Date = new Date()): string {
  return time.getTime().toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
}
