import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, expect } from 'vitest';
import { acquireDataDirLock } from '../../../src/store/lock.js';
it('stress', async () => {
  let bad = 0;
  for (let t = 0; t < 300; t++) {
    const dir = await mkdtemp(join(tmpdir(), 'ls-'));
    await writeFile(join(dir, 'xport.lock'), JSON.stringify({ pid: 4194304 }));
    const r = await Promise.allSettled(Array.from({ length: 16 }, () => acquireDataDirLock(dir, 'a')));
    if (r.filter((x) => x.status === 'fulfilled').length !== 1) bad++;
  }
  expect(bad).toBe(0);
}, 120000);
