/**
 * clock: time as a dependency, so tests can move it without sleeping.
 */

/** Clock supplies the current time. */
export interface Clock {
  now(): Date;
}

/** systemClock reads the wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** FakeClock is a settable clock for tests and simulations. */
export class FakeClock implements Clock {
  private t: number;
  constructor(start: Date = new Date('2026-01-01T00:00:00Z')) {
    this.t = start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  /** advance moves the clock forward by ms milliseconds. */
  advance(ms: number): void {
    this.t += ms;
  }
  /** set moves the clock to d. */
  set(d: Date): void {
    this.t = d.getTime();
  }
}
