import { describe, expect, it } from 'vitest';
import { CLUSTER_COMMAND_RULES, clusterRule, clusterRulesMarkdown, commandLabel, refusedName, UNSUPPORTED_IN_CLUSTER } from '../../../../src/redis/cluster/rules.js';

describe('cluster command rules', () => {
  it('fans out what Teleport fans out, with the same merges', () => {
    expect(clusterRule('dbsize')).toMatchObject({ handling: 'fan-out', merge: 'sum' });
    expect(clusterRule('keys')).toMatchObject({ handling: 'fan-out', merge: 'concat' });
    expect(clusterRule('flushall')).toMatchObject({ handling: 'fan-out', merge: 'all-ok' });
    expect(clusterRule('flushdb')).toMatchObject({ handling: 'fan-out', merge: 'all-ok' });
    expect(clusterRule('script|load')).toMatchObject({ handling: 'fan-out', merge: 'all-ok' });
    expect(clusterRule('script|flush')).toMatchObject({ handling: 'fan-out', merge: 'all-ok' });
    expect(clusterRule('script|exists')).toMatchObject({ handling: 'fan-out', merge: 'all-true' });
  });

  it('splits the multi-key commands by slot and serves what Teleport refuses', () => {
    expect(clusterRule('mget')).toMatchObject({ handling: 'split-by-slot', merge: 'key-order' });
    for (const c of ['del', 'unlink', 'exists', 'touch']) expect(clusterRule(c)).toMatchObject({ handling: 'split-by-slot', merge: 'sum' });
    expect(clusterRule('mset')).toMatchObject({ handling: 'split-by-slot', merge: 'all-ok' });
    expect(clusterRule('scan')!.handling).toBe('scan');
    expect(clusterRule('info')).toMatchObject({ handling: 'fan-out', merge: 'info' });
    expect(clusterRule('multi')!.handling).toBe('transaction');
    expect(clusterRule('cluster|slots')!.handling).toBe('local');
    expect(clusterRule('cluster|keyslot')!.handling).toBe('local');
  });

  it('routes everything else by its keys', () => {
    for (const c of ['get', 'set', 'hgetall', 'eval', 'xread', 'msetnx', 'rename', 'sunionstore']) expect(clusterRule(c), c).toBeUndefined();
  });

  it('refuses topology changes, every unlisted CLUSTER subcommand and whole refused containers', () => {
    for (const c of ['cluster|addslots', 'cluster|failover', 'cluster|meet', 'cluster|reset', 'cluster|setslot', 'cluster|forget', 'cluster|replicate', 'migrate', 'replicaof', 'slaveof', 'monitor', 'shutdown', 'swapdb', 'move']) {
      expect(clusterRule(c)?.handling, c).toBe('unsupported');
      expect(UNSUPPORTED_IN_CLUSTER).toContain(c);
    }
    expect(clusterRule('cluster|no-such-thing')?.handling).toBe('unsupported');
    expect(refusedName(clusterRule('cluster|no-such-thing')!, 'cluster|no-such-thing')).toBe('cluster|no-such-thing');
    expect(clusterRule('debug|sleep')?.handling).toBe('unsupported');
    expect(refusedName(clusterRule('debug|sleep')!, 'debug|sleep')).toBe('debug');
    // A container that is not refused does not refuse its subcommands.
    expect(clusterRule('client|getname')).toBeUndefined();
  });

  it('lists every command once, with a merge exactly where replies are combined', () => {
    const names = CLUSTER_COMMAND_RULES.map((r) => r.command);
    expect(new Set(names).size).toBe(names.length);
    for (const r of CLUSTER_COMMAND_RULES) {
      expect(r.merge !== undefined, r.command).toBe(r.handling === 'fan-out' || r.handling === 'split-by-slot');
      expect(r.command).toMatch(/^[a-z-]+(\|[a-z-]+)?$/);
      expect(r.description.length).toBeGreaterThan(5);
    }
  });

  it('renders the README tables from the same data', () => {
    const md = clusterRulesMarkdown();
    expect(md).toContain('| `DBSIZE` | fan-out | sum | number of keys in the whole cluster |');
    expect(md).toContain('| `CLUSTER SETSLOT` | changes the cluster topology; run it on the nodes directly |');
    expect(md).toContain('| `CLUSTER *` |');
    expect(md.split('\n').filter((l) => l.startsWith('| `')).length).toBe(CLUSTER_COMMAND_RULES.length + 1);
    expect(commandLabel('script|load')).toBe('SCRIPT LOAD');
  });
});
