import { describe, expect, it } from 'vitest';
import {
  clusterInfoReply,
  clusterKeySlotReply,
  clusterMyIdReply,
  clusterNodesReply,
  clusterShardsReply,
  clusterSlotsReply,
  hideClusterMode,
  hideNodeAddress,
  hideNodeConfig,
  virtualNodeId,
} from '../../../../src/redis/cluster/virtual-node.js';
import { ClusterTopology } from '../../../../src/redis/cluster/topology.js';
import { decodeValue } from '../../../../src/redis/resp/value.js';

const id = virtualNodeId('cache');
const text = (b: Buffer) => b.toString('latin1');

describe('the virtual single node', () => {
  it('has a stable 40-hex id per database', () => {
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(virtualNodeId('cache')).toBe(id);
    expect(virtualNodeId('other')).not.toBe(id);
  });

  it('answers CLUSTER SLOTS with one range at an unknown address, in RESP2 and RESP3', () => {
    expect(text(clusterSlotsReply(id, false))).toBe(`*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$1\r\n?\r\n:0\r\n$40\r\n${id}\r\n*0\r\n`);
    expect(text(clusterSlotsReply(id, true))).toBe(`*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$1\r\n?\r\n:0\r\n$40\r\n${id}\r\n%0\r\n`);
  });

  it('answers CLUSTER SHARDS and CLUSTER NODES with the same node, which a client cannot dial', () => {
    for (const resp3 of [false, true]) {
      const shards = decodeValue(clusterShardsReply(id, resp3));
      // A cluster-aware client reading this finds no node to connect to.
      expect(() => ClusterTopology.parseShards(shards, 'seed')).toThrow();
    }
    const line = `${id} :0@0 myself,master - 0 0 1 connected 0-16383\n`;
    expect(text(clusterNodesReply(id, false))).toBe(`$${line.length}\r\n${line}\r\n`);
    expect(text(clusterNodesReply(id, true))).toMatch(/^=\d+\r\ntxt:[0-9a-f]{40} :0@0 myself,master/);
  });

  it('reports the real cluster state in CLUSTER INFO', () => {
    expect(text(clusterInfoReply(16384, false))).toContain('cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n');
    expect(text(clusterInfoReply(16000, false))).toContain('cluster_state:fail');
    expect(text(clusterInfoReply(16000, false))).toContain('cluster_slots_fail:384');
    expect(text(clusterInfoReply(16384, true))).toMatch(/^=\d+\r\ntxt:cluster_state:ok/);
    expect(text(clusterMyIdReply(id, false))).toBe(`$40\r\n${id}\r\n`);
    expect(text(clusterKeySlotReply(12182))).toBe(':12182\r\n');
  });

  it('replaces the answering node\'s laddr in CLIENT LIST and CLIENT INFO, in RESP2 and RESP3', () => {
    const list = 'id=5 addr=10.0.0.9:39192 laddr=10.0.0.1:7001 fd=8 name= age=0\nid=6 addr=10.0.0.9:39198 laddr=10.0.0.1:7001 fd=9 name=laddr=x age=0\n';
    const resp2 = hideNodeAddress(Buffer.from(`$${Buffer.byteLength(list)}\r\n${list}\r\n`)).toString();
    expect(resp2).not.toContain('7001');
    expect(resp2).toContain('laddr=?:0 fd=8');
    expect(resp2).toContain('name=laddr=x'); // a client name that looks like the field is left alone
    const body = `txt:${list}`;
    const resp3 = hideNodeAddress(Buffer.from(`=${Buffer.byteLength(body)}\r\n${body}\r\n`)).toString();
    expect(resp3.startsWith('=')).toBe(true);
    expect(resp3).not.toContain('7001');
    const err = Buffer.from('-NOAUTH Authentication required.\r\n');
    expect(hideNodeAddress(err)).toBe(err);
  });

  it('hides the answering node\'s ports, addresses and files in CONFIG GET, in RESP2 and RESP3', () => {
    const pairs: Array<[string, string]> = [['port', '0'], ['tls-port', '7001'], ['dir', '/var/lib/redis/7001'], ['maxmemory', '0'], ['bind', '10.0.0.1']];
    const resp2 = Buffer.from(`*${pairs.length * 2}\r\n` + pairs.flat().map((x) => `$${x.length}\r\n${x}\r\n`).join(''));
    const out2 = decodeValue(hideNodeConfig(resp2)) as Buffer[];
    expect(out2.map(String)).toEqual(['port', '0', 'tls-port', '0', 'dir', '', 'maxmemory', '0', 'bind', '']);
    const resp3 = Buffer.from(`%${pairs.length}\r\n` + pairs.flat().map((x) => `$${x.length}\r\n${x}\r\n`).join(''));
    const text3 = hideNodeConfig(resp3).toString();
    expect(text3.startsWith('%5\r\n')).toBe(true);
    expect(text3).not.toMatch(/7001|10\.0\.0\.1/);
    const untouched = Buffer.from('*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n');
    expect(hideNodeConfig(untouched)).toBe(untouched);
    const err = Buffer.from('-ERR unknown\r\n');
    expect(hideNodeConfig(err)).toBe(err);
  });

  it('rewrites HELLO\'s mode from cluster to standalone and leaves other replies alone', () => {
    const hello = Buffer.from('%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$4\r\nmode\r\n$7\r\ncluster\r\n$4\r\nrole\r\n$6\r\nmaster\r\n');
    expect(text(hideClusterMode(hello))).toBe('%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n');
    const other = Buffer.from('+OK\r\n');
    expect(hideClusterMode(other)).toBe(other);
  });
});
