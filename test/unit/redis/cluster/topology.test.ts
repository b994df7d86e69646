import { describe, expect, it } from 'vitest';
import { ClusterTopology, nodeAddress, parseAddress, TopologyError } from '../../../../src/redis/cluster/topology.js';
import { decodeValue } from '../../../../src/redis/resp/value.js';

const v = (s: string) => decodeValue(Buffer.from(s, 'latin1'));
const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const ID = (c: string) => c.repeat(40);

/** shardNode renders a CLUSTER SHARDS node entry (flat array in RESP2, map in RESP3), as Redis 7.0 writes it. */
function shardNode(o: { id: string; tlsPort?: number; port?: number; ip?: string; endpoint?: string; role: string; health: string }, resp3: boolean): string {
  const pairs: Array<[string, string]> = [['id', bulk(o.id)]];
  if (o.port !== undefined) pairs.push(['port', `:${o.port}\r\n`]);
  if (o.tlsPort !== undefined) pairs.push(['tls-port', `:${o.tlsPort}\r\n`]);
  pairs.push(['ip', bulk(o.ip ?? '127.0.0.1')], ['endpoint', bulk(o.endpoint ?? o.ip ?? '127.0.0.1')], ['role', bulk(o.role)], ['replication-offset', ':0\r\n'], ['health', bulk(o.health)]);
  return (resp3 ? `%${pairs.length}\r\n` : `*${pairs.length * 2}\r\n`) + pairs.map(([k, val]) => bulk(k) + val).join('');
}

function shard(ranges: number[], nodes: string[], resp3: boolean): string {
  const head = resp3 ? '%2\r\n' : '*4\r\n';
  return `${head}${bulk('slots')}*${ranges.length}\r\n${ranges.map((n) => `:${n}\r\n`).join('')}${bulk('nodes')}*${nodes.length}\r\n${nodes.join('')}`;
}

/** The 3-master, 3-replica TLS-only layout of the e2e cluster (replicas still loading). */
function threeShards(resp3: boolean): string {
  const s = (ranges: number[], m: [string, number], r: [string, number]) =>
    shard(ranges, [shardNode({ id: ID(m[0]), tlsPort: m[1], role: 'master', health: 'online' }, resp3), shardNode({ id: ID(r[0]), tlsPort: r[1], role: 'replica', health: 'loading' }, resp3)], resp3);
  // CLUSTER SHARDS lists shards in no particular order: the last range first here.
  return `*3\r\n${s([10923, 16383], ['c', 7003], ['f', 7006])}${s([0, 5460], ['a', 7001], ['d', 7004])}${s([5461, 10922], ['b', 7002], ['e', 7005])}`;
}

describe('ClusterTopology.parseShards', () => {
  for (const resp3 of [false, true]) {
    it(`reads a Redis 7 CLUSTER SHARDS reply in ${resp3 ? 'RESP3' : 'RESP2'}, dialling the TLS port`, () => {
      const t = ClusterTopology.parseShards(v(threeShards(resp3)), '10.0.0.1');
      expect(t.shards.map((s) => s.master.address)).toEqual(['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003']);
      expect(t.shards.map((s) => s.ranges)).toEqual([[[0, 5460]], [[5461, 10922]], [[10923, 16383]]]);
      expect(t.shards[0]!.replicas).toEqual([
        { host: '127.0.0.1', port: 7004, address: '127.0.0.1:7004', id: ID('d'), role: 'replica', healthy: false },
      ]);
      expect(t.masterForSlot(0)!.port).toBe(7001);
      expect(t.masterForSlot(5461)!.port).toBe(7002);
      expect(t.masterForSlot(16383)!.port).toBe(7003);
      expect(t.assignedSlots).toBe(16384);
      expect(t.knows('127.0.0.1:7006')).toBe(true);
      expect(t.knows('127.0.0.1:7007')).toBe(false);
      expect(t.masters().map((m) => m.id)).toEqual([ID('a'), ID('b'), ID('c')]);
    });
  }

  it('prefers the TLS port over the plaintext one', () => {
    const reply = `*1\r\n${shard([0, 16383], [shardNode({ id: ID('a'), port: 6379, tlsPort: 6380, role: 'master', health: 'online' }, false)], false)}`;
    expect(ClusterTopology.parseShards(v(reply), 'seed').masterForSlot(7)!.address).toBe('127.0.0.1:6380');
  });

  it('picks the online master of a shard whose old master failed', () => {
    const reply = `*1\r\n${shard(
      [0, 16383],
      [
        shardNode({ id: ID('a'), tlsPort: 7001, role: 'master', health: 'fail' }, false),
        shardNode({ id: ID('d'), tlsPort: 7004, role: 'master', health: 'online' }, false),
      ],
      false,
    )}`;
    const t = ClusterTopology.parseShards(v(reply), 'seed');
    expect(t.masterForSlot(0)!.port).toBe(7004);
  });

  it('uses the endpoint (a host name) and skips nodes whose endpoint is unknown', () => {
    const reply = `*1\r\n${shard(
      [0, 16383],
      [
        shardNode({ id: ID('a'), tlsPort: 7001, ip: '10.1.1.1', endpoint: 'node-a.example.com', role: 'master', health: 'online' }, false),
        shardNode({ id: ID('b'), tlsPort: 7002, ip: '?', endpoint: '?', role: 'replica', health: 'online' }, false),
      ],
      false,
    )}`;
    const t = ClusterTopology.parseShards(v(reply), 'seed');
    expect(t.masterForSlot(0)!.address).toBe('node-a.example.com:7001');
    expect(t.shards[0]!.replicas).toEqual([]);
  });

  it('leaves uncovered slots without an owner', () => {
    const reply = `*1\r\n${shard([0, 99, 200, 299], [shardNode({ id: ID('a'), tlsPort: 7001, role: 'master', health: 'online' }, false)], false)}`;
    const t = ClusterTopology.parseShards(v(reply), 'seed');
    expect(t.assignedSlots).toBe(200);
    expect(t.masterForSlot(150)).toBeUndefined();
    expect(t.shards[0]!.ranges).toEqual([
      [0, 99],
      [200, 299],
    ]);
  });

  it('rejects error replies and malformed ranges with a TopologyError', () => {
    expect(() => ClusterTopology.parseShards(v('-NOPERM this user has no permissions\r\n'), 's')).toThrow(TopologyError);
    expect(() => ClusterTopology.parseShards(v('*0\r\n'), 's')).toThrow('the cluster serves no slots');
    const bad = `*1\r\n${shard([100, 50], [shardNode({ id: ID('a'), tlsPort: 7001, role: 'master', health: 'online' }, false)], false)}`;
    expect(() => ClusterTopology.parseShards(v(bad), 's')).toThrow('invalid slot range 100-50');
  });
});

describe('ClusterTopology.parseSlots', () => {
  it('reads Redis 7 CLUSTER SLOTS with 4-element node entries (host, port, id, metadata map)', () => {
    const node = (host: string, port: number, id: string, resp3 = false) => `*4\r\n${bulk(host)}:${port}\r\n${bulk(ID(id))}${resp3 ? '%0\r\n' : '*0\r\n'}`;
    for (const resp3 of [false, true]) {
      const reply = `*3\r\n*4\r\n:0\r\n:5460\r\n${node('127.0.0.1', 7001, 'a', resp3)}${node('127.0.0.1', 7004, 'd', resp3)}*3\r\n:5461\r\n:10922\r\n${node('127.0.0.1', 7002, 'b', resp3)}*3\r\n:10923\r\n:16383\r\n${node('127.0.0.1', 7003, 'c', resp3)}`;
      const t = ClusterTopology.parseSlots(v(reply), 'seed');
      expect(t.masters().map((m) => m.port)).toEqual([7001, 7002, 7003]);
      expect(t.shards[0]!.replicas.map((r) => r.port)).toEqual([7004]);
      expect(t.masterForSlot(10923)!.id).toBe(ID('c'));
    }
  });

  it('reads Redis 6 entries (host, port, id) and 2-element ones, and merges ranges of one master', () => {
    const reply = `*2\r\n*3\r\n:0\r\n:100\r\n*3\r\n${bulk('10.0.0.1')}:6379\r\n${bulk(ID('a'))}*3\r\n:101\r\n:16383\r\n*2\r\n${bulk('10.0.0.1')}:6379\r\n`;
    const t = ClusterTopology.parseSlots(v(reply), 'seed');
    expect(t.shards).toHaveLength(1);
    expect(t.shards[0]!.ranges).toEqual([
      [0, 100],
      [101, 16383],
    ]);
  });

  it('treats an empty host as the node that answered and skips unknown (null or "?") endpoints', () => {
    const reply = `*2\r\n*4\r\n:0\r\n:8000\r\n*2\r\n$0\r\n\r\n:7001\r\n*2\r\n$-1\r\n:7004\r\n*3\r\n:8001\r\n:16383\r\n*2\r\n${bulk('?')}:7002\r\n`;
    const t = ClusterTopology.parseSlots(v(reply), '192.168.1.5');
    expect(t.masterForSlot(0)!.address).toBe('192.168.1.5:7001');
    expect(t.shards[0]!.replicas).toEqual([]);
    expect(t.masterForSlot(9000)).toBeUndefined();
  });
});

describe('ClusterTopology.withSlotOwner', () => {
  it('moves one slot to a known node and ignores unknown addresses', () => {
    const t = ClusterTopology.parseShards(v(threeShards(false)), 's');
    const moved = t.withSlotOwner(42, '127.0.0.1:7002');
    expect(moved.masterForSlot(42)!.port).toBe(7002);
    expect(moved.masterForSlot(43)!.port).toBe(7001);
    expect(t.masterForSlot(42)!.port).toBe(7001); // immutable
    expect(t.withSlotOwner(42, '6.6.6.6:1')).toBe(t);
    // A promoted replica can take a slot before the full refresh arrives.
    expect(t.withSlotOwner(42, '127.0.0.1:7004').masterForSlot(42)!.port).toBe(7004);
  });
});

describe('node addresses', () => {
  it('splits host and port at the last colon, for IPv6 too', () => {
    expect(parseAddress('127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(parseAddress('::1:7001')).toEqual({ host: '::1', port: 7001 });
    expect(parseAddress('[::1]:7001')).toEqual({ host: '::1', port: 7001 });
    expect(parseAddress(':7001')).toEqual({ host: '', port: 7001 });
    expect(parseAddress('host:0')).toBeUndefined();
    expect(parseAddress('host:70000')).toBeUndefined();
    expect(parseAddress('no-port')).toBeUndefined();
    expect(nodeAddress('10.0.0.1', 6379)).toBe('10.0.0.1:6379');
  });
});
