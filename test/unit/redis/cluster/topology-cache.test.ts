import { describe, expect, it } from 'vitest';
import { TopologyCache } from '../../../../src/redis/cluster/topology-cache.js';
import { ClusterTopology } from '../../../../src/redis/cluster/topology.js';
import { FakeClock } from '../../../../src/util/clock.js';

const node = (port: number) => ({ host: '127.0.0.1', port, address: `127.0.0.1:${port}`, role: 'master' as const, healthy: true });
const twoShards = () =>
  ClusterTopology.fromShards([
    { master: node(7001), replicas: [], ranges: [[0, 8191]] },
    { master: node(7002), replicas: [], ranges: [[8192, 16383]] },
  ]);
const db = { name: 'cache', host: '127.0.0.1', port: 7001 };

describe('TopologyCache', () => {
  it('shares one topology per database and goes stale after the refresh interval', () => {
    const clock = new FakeClock();
    const cache = new TopologyCache({ refreshMs: 30_000, clock });
    const t = cache.for(db);
    expect(cache.for({ ...db })).toBe(t);
    expect(cache.for({ ...db, name: 'other' })).not.toBe(t);
    expect(t.stale).toBe(true);
    t.set(twoShards());
    expect(t.stale).toBe(false);
    clock.advance(29_999);
    expect(t.stale).toBe(false);
    clock.advance(1);
    expect(t.stale).toBe(true);
  });

  it('shares one fetch between concurrent refreshes and keeps the old topology when a fetch fails', async () => {
    const t = new TopologyCache().for(db);
    let fetches = 0;
    let release!: (x: ClusterTopology) => void;
    const fetch = () => {
      fetches++;
      return new Promise<ClusterTopology>((r) => (release = r));
    };
    const a = t.refresh(fetch);
    const b = t.refresh(fetch);
    expect(t.refreshing).toBe(true);
    const topo = twoShards();
    release(topo);
    expect(await a).toBe(topo);
    expect(await b).toBe(topo);
    expect(fetches).toBe(1);
    expect(t.current).toBe(topo);
    await expect(t.refresh(() => Promise.reject(new Error('NOAUTH')))).rejects.toThrow('NOAUTH');
    expect(t.current).toBe(topo);
    expect(t.refreshes).toBe(1);
  });

  it('records a MOVED slot at once', () => {
    const t = new TopologyCache().for(db);
    t.moved(5, '127.0.0.1:7002'); // nothing known yet: nothing to patch
    expect(t.current).toBeUndefined();
    t.set(twoShards());
    t.moved(5, '127.0.0.1:7002');
    expect(t.current!.masterForSlot(5)!.port).toBe(7002);
    expect(t.current!.masterForSlot(6)!.port).toBe(7001);
  });
});
