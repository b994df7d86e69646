import { describe, expect, it } from 'vitest';
import { newEventId } from '../../../src/store/event-id.js';
import { EventIdMinter, nextEventId } from '../../../src/store/event-sequence.js';

describe('nextEventId', () => {
  const t = new Date('2026-01-01T00:00:00.123Z');

  it('keeps 10,000 ids minted in one millisecond in minting order', () => {
    let last: string | undefined;
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push((last = nextEventId(last, t)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id) && id.startsWith(newEventId(t).slice(0, 12)))).toBe(true);
  });

  it('starts a later millisecond with a fresh id of its own time', () => {
    const first = nextEventId(undefined, t);
    const later = nextEventId(first, new Date(t.getTime() + 1));
    expect(later > first).toBe(true);
    expect(later.slice(0, 12)).toBe(newEventId(new Date(t.getTime() + 1)).slice(0, 12));
  });

  it('gives an older event an id of its own time rather than bumping past the last one', () => {
    const last = nextEventId(undefined, t);
    const older = nextEventId(last, new Date(t.getTime() - 5000));
    expect(older < last).toBe(true);
    expect(older.slice(0, 12)).toBe(newEventId(new Date(t.getTime() - 5000)).slice(0, 12));
  });

  it('uses the current time for an event whose time does not parse', () => {
    const before = Date.now();
    const id = nextEventId(undefined, new Date('not a time'));
    expect(parseInt(id.slice(0, 12), 16)).toBeGreaterThanOrEqual(before);
  });
});

describe('nextEventId after ids it did not mint', () => {
  const t = new Date('2026-01-01T00:00:00.123Z');
  const prefix = newEventId(t).slice(0, 12);

  it('carries into the next digit when the last id ends in f', () => {
    expect(nextEventId(`${prefix}0000000000000000000f`, t)).toBe(`${prefix}00000000000000000010`);
    expect(nextEventId(`${prefix}${'0'.repeat(16)}ffff`, t)).toBe(`${prefix}${'0'.repeat(15)}10000`);
  });

  it('starts fresh after a caller-supplied id that is not hex', () => {
    const id = nextEventId(`${prefix}-custom-id-from-import`, t);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id.startsWith(prefix)).toBe(true);
  });
});

describe('EventIdMinter', () => {
  it('mints ids that sort in the order they were minted, within a millisecond and across them', () => {
    const m = new EventIdMinter();
    const ms = Date.UTC(2026, 11, 6, 6, 0, 0, 0);
    const ids = [m.next(ms), m.next(ms), m.next(ms), m.next(ms + 1), m.next(ms + 1), m.next(ms + 5)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    // The millisecond leads the id, as newEventId mints it.
    expect(ids[3]!.slice(0, 12)).toBe((ms + 1).toString(16).padStart(12, '0'));
  });

  it('never goes backwards when the clock does, and treats an invalid time as now', () => {
    const m = new EventIdMinter();
    const ms = Date.UTC(2026, 11, 6, 6, 0, 0, 0);
    const a = m.next(ms);
    const b = m.next(ms - 1000);
    expect(b > a).toBe(true);
    const c = m.next(Number.NaN);
    expect(c > b).toBe(true);
    expect(c).toMatch(/^[0-9a-f]{32}$/);
  });
});
