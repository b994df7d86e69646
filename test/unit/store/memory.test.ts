import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/store/memory.js';
import { describeBackendContract, describeWatchContract } from './backend-contract.js';

describeBackendContract('memory', async (clock) => new MemoryBackend(clock));
describeWatchContract('memory', async (clock) => new MemoryBackend(clock));

describe('MemoryBackend', () => {
  it('keeps nothing between instances', async () => {
    const a = new MemoryBackend();
    await a.put('k', 1);
    expect(await new MemoryBackend().get('k')).toBeUndefined();
  });
});
