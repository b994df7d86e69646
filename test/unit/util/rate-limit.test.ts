import { describe, expect, it } from 'vitest';
import { SourceLimiter } from '../../../src/util/rate-limit.js';

function limiter(opts: { perSource?: number; global?: number; maxSources?: number } = {}) {
  let now = 0;
  const l = new SourceLimiter({ perSource: opts.perSource ?? 2, global: opts.global ?? 100, windowMs: 1_000, now: () => now, ...(opts.maxSources ? { maxSources: opts.maxSources } : {}) });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('SourceLimiter', () => {
  it('lets perSource events through per window and reports how many it dropped with the next one', () => {
    const { l, advance } = limiter();
    expect([l.take('a'), l.take('a'), l.take('a'), l.take('a')].map((v) => v.allowed)).toEqual([true, true, false, false]);
    advance(1_000);
    expect(l.take('a')).toEqual({ allowed: true, suppressed: 2 });
    expect(l.take('a')).toEqual({ allowed: true, suppressed: 0 });
  });

  it('keeps one source from using up another source\'s share', () => {
    const { l } = limiter();
    for (let i = 0; i < 10; i++) l.take('flood');
    expect(l.take('quiet').allowed).toBe(true);
  });

  it('caps the total over all sources, so many addresses do not add up to a flood', () => {
    const { l } = limiter({ perSource: 5, global: 3 });
    const verdicts = ['a', 'b', 'c', 'd', 'e'].map((s) => l.take(s).allowed);
    expect(verdicts).toEqual([true, true, true, false, false]);
  });

  it('tracks at most maxSources sources, forgetting those whose window has passed', () => {
    const { l, advance } = limiter({ perSource: 1, maxSources: 2 });
    l.take('a');
    l.take('b');
    // A third source past the bound is not remembered, but still counts against the global cap.
    expect(l.take('c').allowed).toBe(true);
    expect(l.take('c').allowed).toBe(true);
    advance(1_000);
    expect(l.take('d').allowed).toBe(true);
    expect(l.take('d').allowed).toBe(false);
  });
});
