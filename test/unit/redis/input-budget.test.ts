import { describe, expect, it } from 'vitest';
import { InputBudget } from '../../../src/redis/input-budget.js';

describe('InputBudget', () => {
  it('counts what sessions hold, remembers the peak, and is exceeded only past its limit', () => {
    const b = new InputBudget(100);
    b.adjust(60);
    b.adjust(40);
    expect(b.exceeded).toBe(false);
    b.adjust(1);
    expect(b.exceeded).toBe(true);
    b.adjust(-51);
    expect(b).toMatchObject({ used: 50, peak: 101, exceeded: false });
  });

  it('wakes every waiting session once the total falls back under the limit, and only then', () => {
    const b = new InputBudget(100);
    b.adjust(150);
    const woken: string[] = [];
    b.waitBelow(() => woken.push('a'));
    b.waitBelow(() => woken.push('b'));
    const cancelled = () => woken.push('c');
    b.waitBelow(cancelled);
    b.cancel(cancelled);
    b.adjust(-40);
    expect(woken).toEqual([]);
    b.adjust(-10);
    expect(woken).toEqual(['a', 'b']);
    b.adjust(-10);
    expect(woken).toEqual(['a', 'b']);
  });
});
