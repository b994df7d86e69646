import { describe, expect, it } from 'vitest';
import { aggregateInfo, bytesToHuman, infoReply, infoText, INFO_SUMMED_FIELDS } from '../../../../src/redis/cluster/info.js';

const info = (o: { clients: number; mem: number; keys?: [number, number, number]; port: number; slaves?: number }) =>
  [
    '# Server',
    'redis_version:7.0.15',
    'redis_mode:cluster',
    `tcp_port:${o.port}`,
    '',
    '# Clients',
    `connected_clients:${o.clients}`,
    'blocked_clients:0',
    '',
    '# Memory',
    `used_memory:${o.mem}`,
    `used_memory_human:${bytesToHuman(o.mem)}`,
    'used_memory_peak:1',
    '',
    '# Replication',
    'role:master',
    `connected_slaves:${o.slaves ?? 0}`,
    ...Array.from({ length: o.slaves ?? 0 }, (_, i) => `slave${i}:ip=10.0.0.${i},port=7004,state=online,offset=0,lag=0`),
    '',
    '# Cluster',
    'cluster_enabled:1',
    '',
    '# Keyspace',
    ...(o.keys ? [`db0:keys=${o.keys[0]},expires=${o.keys[1]},avg_ttl=${o.keys[2]}`] : []),
    '',
  ].join('\r\n');

describe('aggregateInfo', () => {
  it('sums clients, memory and the keyspace, keeps the rest of the slot-0 master, and hides the cluster and its nodes', () => {
    const merged = aggregateInfo([
      info({ clients: 3, mem: 1024 * 1024, keys: [10, 2, 1000], port: 7001, slaves: 1 }),
      info({ clients: 4, mem: 2 * 1024 * 1024, keys: [5, 2, 3000], port: 7002, slaves: 1 }),
      info({ clients: 1, mem: 1024 * 1024, port: 7003 }),
    ]);
    expect(merged).toContain('connected_clients:8\r\n');
    expect(merged).toContain('used_memory:4194304\r\nused_memory_human:4.00M\r\n');
    expect(merged).toContain('used_memory_peak:1\r\n');
    // One virtual node: no node's port, files or replica count.
    expect(merged).toContain('tcp_port:0\r\n');
    expect(merged).not.toMatch(/700[1-3]/);
    expect(merged).toContain('connected_slaves:0\r\n');
    expect(merged).toContain('redis_mode:standalone\r\n');
    expect(merged).toContain('cluster_enabled:0\r\n');
    expect(merged).not.toContain('slave0:');
    expect(merged).toContain('# Keyspace\r\ndb0:keys=15,expires=4,avg_ttl=2000\r\n');
    expect(merged.endsWith('\r\n')).toBe(true);
  });

  it('adds keyspace lines the slot-0 master lacks, and leaves sections the client did not ask for alone', () => {
    const only = (keys?: [number, number, number]) => ['# Keyspace', ...(keys ? [`db0:keys=${keys[0]},expires=${keys[1]},avg_ttl=${keys[2]}`] : []), ''].join('\r\n');
    expect(aggregateInfo([only(), only([3, 0, 0]), only([4, 0, 0])])).toBe('# Keyspace\r\ndb0:keys=7,expires=0,avg_ttl=0\r\n');
    expect(aggregateInfo(['# CPU\r\nused_cpu_sys:0.1\r\n', '# CPU\r\nused_cpu_sys:0.2\r\n'])).toBe('# CPU\r\nused_cpu_sys:0.1\r\n');
  });

  it('blanks config_file and executable and drops listener lines, which would say where one node runs', () => {
    const node = (port: number) =>
      ['# Server', `tcp_port:${port}`, `executable:/opt/node${port}/redis-server`, `config_file:/etc/redis/node${port}.conf`, `listener0:name=tls,bind=10.0.0.1,port=${port}`, ''].join('\r\n');
    expect(aggregateInfo([node(7001), node(7002)])).toBe('# Server\r\ntcp_port:0\r\nexecutable:\r\nconfig_file:\r\n');
  });

  it('names the summed fields', () => {
    expect(INFO_SUMMED_FIELDS).toContain('connected_clients');
    expect(INFO_SUMMED_FIELDS).toContain('used_memory');
  });
});

describe('INFO reply encoding', () => {
  it('reads and writes bulk strings and RESP3 verbatim strings', () => {
    expect(infoText(Buffer.from('$6\r\na:1\r\nb\r\n'))).toBe('a:1\r\nb');
    expect(infoText(Buffer.from('=10\r\ntxt:a:1\r\nb\r\n'))).toBe('a:1\r\nb');
    expect(infoText(Buffer.from('-ERR x\r\n'))).toBeUndefined();
    expect(infoReply('a:1\r\n', false).toString()).toBe('$5\r\na:1\r\n\r\n');
    expect(infoReply('a:1\r\n', true).toString()).toBe('=9\r\ntxt:a:1\r\n\r\n');
  });

  it('formats bytes like Redis', () => {
    expect(bytesToHuman(512)).toBe('512B');
    expect(bytesToHuman(966400)).toBe('943.75K');
    expect(bytesToHuman(6737920)).toBe('6.43M');
    expect(bytesToHuman(25276510208)).toBe('23.54G');
  });
});
