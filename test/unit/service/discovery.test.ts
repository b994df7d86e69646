import { describe, expect, it } from 'vitest';
import { startDiscovery } from '../../../src/service/discovery.js';
import type { DatabaseDiscovery } from '../../../src/db/discovery.js';
import type { DatabaseSpec } from '../../../src/db/database.js';
import type { Writable } from 'node:stream';
import { createLogger } from '../../../src/util/log.js';

const spec = (name: string, uri = `${name}:6379`) => ({ name, uri }) as DatabaseSpec;

describe('discovery loop', () => {
  it('serves what each source found, keeps a failing source\'s last answer, and drops vanished databases', async () => {
    const answers: (DatabaseSpec[] | Error)[] = [[spec('a'), spec('b')], new Error('AccessDenied'), [spec('a')]];
    let i = 0;
    const flaky: DatabaseDiscovery = {
      name: 'aws elasticache us-east-1',
      discover: async () => {
        const a = answers[i++]!;
        if (a instanceof Error) throw a;
        return a;
      },
    };
    const steady: DatabaseDiscovery = { name: 'azure redis', discover: async () => [spec('c')] };
    const lines: string[] = [];
    const log = createLogger({ write: (l: string) => lines.push(l) } as unknown as Writable, 'warn');
    const loop = startDiscovery([flaky, steady], { intervalMs: 3_600_000, log });
    try {
      await loop.refresh();
      expect(loop.databases().map((d) => d.name).sort()).toEqual(['a', 'b', 'c']);
      await loop.refresh();
      expect(loop.databases().map((d) => d.name).sort()).toEqual(['a', 'b', 'c']);
      expect(lines.join('\n')).toMatch(/discovery failed; keeping what this source found before.*AccessDenied/);
      await loop.refresh();
      expect(loop.databases().map((d) => d.name).sort()).toEqual(['a', 'c']);
    } finally {
      loop.stop();
    }
  });

  it('keeps the first of two discovered databases that share a name, and says so', async () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l: string) => lines.push(l) } as unknown as Writable, 'warn');
    const loop = startDiscovery(
      [
        { name: 'one', discover: async () => [spec('x', 'one:1')] },
        { name: 'two', discover: async () => [spec('x', 'two:1')] },
      ],
      { intervalMs: 3_600_000, log },
    );
    await loop.refresh();
    loop.stop();
    expect(loop.databases()).toEqual([spec('x', 'one:1')]);
    expect(lines.join('\n')).toMatch(/share a name/);
  });
});
