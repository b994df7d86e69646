import { Duplex, PassThrough } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterRouter, DEFAULT_NODE, MAX_REDIRECTS, newClusterCounters, type ClusterCounters } from '../../../../src/redis/cluster/router.js';
import { keySlot } from '../../../../src/redis/cluster/slots.js';
import { TopologyCache, type DatabaseTopology } from '../../../../src/redis/cluster/topology-cache.js';
import { ClusterTopology } from '../../../../src/redis/cluster/topology.js';
import { command, ReplyScanner, RequestParser, type ReplyFrame } from '../../../../src/redis/resp/index.js';
import { decodeValue } from '../../../../src/redis/resp/value.js';
import { nullLogger } from '../../../../src/util/log.js';

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/** shardsReply renders CLUSTER SHARDS (RESP2) for masters on 127.0.0.1 with the given TLS ports and ranges. */
function shardsReply(shards: Array<{ port: number; ranges: Array<[number, number]> }>): string {
  return (
    `*${shards.length}\r\n` +
    shards
      .map(({ port, ranges }) => {
        const slots = ranges.flat();
        const node = `*14\r\n${bulk('id')}${bulk(String(port).padStart(40, '0'))}${bulk('tls-port')}:${port}\r\n${bulk('ip')}${bulk('127.0.0.1')}${bulk('endpoint')}${bulk('127.0.0.1')}${bulk('role')}${bulk('master')}${bulk('replication-offset')}:0\r\n${bulk('health')}${bulk('online')}`;
        return `*4\r\n${bulk('slots')}*${slots.length}\r\n${slots.map((n) => `:${n}\r\n`).join('')}${bulk('nodes')}*1\r\n${node}`;
      })
      .join('')
  );
}

/** FakeNode is a scripted cluster node reached over an in-memory stream (no process, no socket). */
class FakeNode {
  readonly received: string[][] = [];
  constructor(
    readonly port: number,
    public answer: (args: string[]) => string,
  ) {}
  connect(): Duplex {
    const toNode = new PassThrough();
    const toAgent = new PassThrough();
    const parser = new RequestParser();
    toNode.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      for (let r = parser.next(); r !== undefined; r = parser.next()) {
        const args = r.args.map((a) => a.toString());
        this.received.push(args);
        toAgent.write(this.answer(args));
      }
    });
    return Duplex.from({ readable: toAgent, writable: toNode });
  }
  /** commands lists what the node got, setup PINGs left out. */
  commands(): string[] {
    return this.received.map((a) => a.join(' ')).filter((c) => c !== 'PING');
  }
}

const OK_FRAME: ReplyFrame = { raw: Buffer.from('+OK\r\n'), type: '+', push: false, isError: false };

interface Rig {
  router: ClusterRouter;
  topology: DatabaseTopology;
  nodes: Map<number, FakeNode>;
  dialed: string[];
  setups: string[][];
  counters: ClusterCounters;
  call(cmd: string[], target: number | string, opts?: { retry?: boolean }): Promise<{ reply: string; from: string }>;
}

const routers: ClusterRouter[] = [];
afterEach(() => {
  for (const r of routers.splice(0)) r.close();
});

/** rig builds a router over fake nodes: 7001 serves slots 0-8191 and 7002 serves 8192-16383. */
function rig(answers: Record<number, (args: string[]) => string>, shards = [
  { port: 7001, ranges: [[0, 8191]] as Array<[number, number]> },
  { port: 7002, ranges: [[8192, 16383]] as Array<[number, number]> },
]): Rig {
  const nodes = new Map<number, FakeNode>();
  for (const [port, fn] of Object.entries(answers)) nodes.set(Number(port), new FakeNode(Number(port), fn));
  const topology = new TopologyCache().for({ name: 'c', host: '127.0.0.1', port: 7001 });
  topology.set(ClusterTopology.parseShards(decode(shardsReply(shards)), '127.0.0.1'));
  const dialed: string[] = [];
  const setups: string[][] = [];
  const counters = newClusterCounters();
  const seed = nodes.get(7001)!;
  const router: ClusterRouter = new ClusterRouter({
    seed: { address: '127.0.0.1:7001', conn: { socket: seed.connect() as unknown as TLSSocket, scanner: new ReplyScanner() } },
    topology,
    dial: async (host, port, setup) => {
      dialed.push(`${host}:${port}`);
      setups.push(setup.map((b) => b.toString('latin1')));
      const n = nodes.get(port);
      if (host !== '127.0.0.1' || n === undefined) throw new Error(`connect ECONNREFUSED ${host}:${port}`);
      return { socket: n.connect() as unknown as TLSSocket, scanner: new ReplyScanner(), replies: setup.map(() => OK_FRAME) };
    },
    injected: [],
    onPush: () => {},
    onActivity: () => router.flush(),
    onDrained: () => {},
    log: nullLogger,
    sessionId: 'test',
    counters,
  });
  routers.push(router);
  return {
    router,
    topology,
    nodes,
    dialed,
    setups,
    counters,
    call: (cmd, target, opts) =>
      new Promise((resolve) => {
        router.call(command(cmd), target, (r, from) => resolve({ reply: r.raw.toString('latin1'), from }), opts);
        router.flush();
      }),
  };
}

const decode = (s: string) => decodeValue(Buffer.from(s, 'latin1'));

/** keyIn returns a key whose slot is in [lo, hi]. */
function keyIn(lo: number, hi: number): string {
  for (let i = 0; ; i++) {
    const s = keySlot(`k${i}`);
    if (s >= lo && s <= hi) return `k${i}`;
  }
}

const lowKey = keyIn(0, 8191);
const highKey = keyIn(8192, 16383);

describe('ClusterRouter', () => {
  it('routes by slot to the master serving it, and keyless commands to the master of slot 0', async () => {
    const r = rig({ 7001: () => '$1\r\na\r\n', 7002: () => '$1\r\nb\r\n' });
    expect(await r.call(['GET', lowKey], keySlot(lowKey))).toEqual({ reply: '$1\r\na\r\n', from: '127.0.0.1:7001' });
    expect(await r.call(['GET', highKey], keySlot(highKey))).toEqual({ reply: '$1\r\nb\r\n', from: '127.0.0.1:7002' });
    expect(await r.call(['TIME'], DEFAULT_NODE)).toMatchObject({ from: '127.0.0.1:7001' });
    expect(r.nodes.get(7002)!.commands()).toEqual([`GET ${highKey}`]);
  });

  it('follows MOVED to a known node, never showing it, and records the new owner', async () => {
    const slot = keySlot(lowKey);
    const r = rig({
      7001: (a) => (a[0] === 'CLUSTER' ? shardsReply([{ port: 7002, ranges: [[0, 16383]] }]) : `-MOVED ${slot} 127.0.0.1:7002\r\n`),
      7002: (a) => (a[0] === 'CLUSTER' ? shardsReply([{ port: 7002, ranges: [[0, 16383]] }]) : '$5\r\nmoved\r\n'),
    });
    expect(await r.call(['GET', lowKey], slot)).toEqual({ reply: '$5\r\nmoved\r\n', from: '127.0.0.1:7002' });
    expect(r.topology.current!.masterForSlot(slot)!.port).toBe(7002);
    expect(r.counters.moved).toBe(1);
    // The next command for that slot goes straight to the new owner.
    await r.call(['GET', lowKey], slot);
    expect(r.nodes.get(7001)!.commands().filter((c) => c.startsWith('GET'))).toEqual([`GET ${lowKey}`]);
  });

  it('follows ASK once, preceded by ASKING, without changing the topology', async () => {
    const slot = keySlot(lowKey);
    const r = rig({ 7001: () => `-ASK ${slot} 127.0.0.1:7002\r\n`, 7002: () => '+OK\r\n' });
    expect(await r.call(['SET', lowKey, 'v'], slot)).toEqual({ reply: '+OK\r\n', from: '127.0.0.1:7002' });
    expect(r.nodes.get(7002)!.commands()).toEqual(['ASKING', `SET ${lowKey} v`]);
    expect(r.topology.current!.masterForSlot(slot)!.port).toBe(7001);
    expect(r.counters.ask).toBe(1);
  });

  it('refuses a redirect to an address outside the topology, after one refresh, without dialling it', async () => {
    const slot = keySlot(lowKey);
    const shards = shardsReply([
      { port: 7001, ranges: [[0, 8191]] },
      { port: 7002, ranges: [[8192, 16383]] },
    ]);
    const r = rig({ 7001: (a) => (a[0] === 'CLUSTER' ? shards : `-MOVED ${slot} 10.66.6.6:6379\r\n`), 7002: () => '+OK\r\n' });
    expect(await r.call(['GET', lowKey], slot)).toEqual({ reply: '-ERR xport: redirect to unknown node 10.66.6.6:6379 refused\r\n', from: '127.0.0.1:7001' });
    expect(r.dialed).not.toContain('10.66.6.6:6379');
    expect(r.nodes.get(7001)!.commands()).toContain('CLUSTER SHARDS');
    expect(r.counters.refused).toBe(1);
    // ASK is held to the same rule.
    r.nodes.get(7001)!.answer = (a) => (a[0] === 'CLUSTER' ? shards : `-ASK ${slot} 127.0.0.1:6666\r\n`);
    expect((await r.call(['GET', lowKey], slot)).reply).toBe('-ERR xport: redirect to unknown node 127.0.0.1:6666 refused\r\n');
  });

  it('follows a redirect to a node the refreshed topology names (a node added since)', async () => {
    const slot = keySlot(lowKey);
    const grown = shardsReply([
      { port: 7001, ranges: [[1, 8191]] },
      { port: 7002, ranges: [[8192, 16383]] },
      { port: 7003, ranges: [[0, 0]] },
    ]);
    const r = rig({ 7001: (a) => (a[0] === 'CLUSTER' ? grown : `-MOVED ${slot} 127.0.0.1:7003\r\n`), 7002: () => '+OK\r\n', 7003: () => '$3\r\nnew\r\n' });
    expect(await r.call(['GET', lowKey], slot)).toEqual({ reply: '$3\r\nnew\r\n', from: '127.0.0.1:7003' });
    expect(r.topology.current!.knows('127.0.0.1:7003')).toBe(true);
  });

  it(`gives up after ${MAX_REDIRECTS} redirects with an agent error`, async () => {
    const slot = keySlot(lowKey);
    const r = rig({ 7001: () => `-MOVED ${slot} 127.0.0.1:7002\r\n`, 7002: () => `-MOVED ${slot} 127.0.0.1:7001\r\n` });
    expect((await r.call(['GET', lowKey], slot)).reply).toBe(`-ERR xport: too many cluster redirects for one command (more than ${MAX_REDIRECTS})\r\n`);
    const gets = [...r.nodes.values()].flatMap((n) => n.commands()).filter((c) => c.startsWith('GET'));
    expect(gets).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('retries TRYAGAIN with backoff and returns the eventual reply', async () => {
    let n = 0;
    const r = rig({ 7001: () => (++n <= 2 ? '-TRYAGAIN Multiple keys request during rehashing of slot\r\n' : '*2\r\n$1\r\na\r\n$1\r\nb\r\n'), 7002: () => '+OK\r\n' });
    const started = Date.now();
    expect((await r.call(['MGET', `{${lowKey}}a`, `{${lowKey}}b`], keySlot(lowKey))).reply).toBe('*2\r\n$1\r\na\r\n$1\r\nb\r\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // 100 ms + 200 ms, give or take timer slack
    expect(r.counters.retries).toBe(2);
  });

  it('passes CLUSTERDOWN through when retries are off (inside a transaction)', async () => {
    const r = rig({ 7001: () => '-CLUSTERDOWN The cluster is down\r\n', 7002: () => '+OK\r\n' });
    expect((await r.call(['GET', lowKey], keySlot(lowKey), { retry: false })).reply).toBe('-CLUSTERDOWN The cluster is down\r\n');
  });

  it('retries a command whose node cannot be reached on the owner a refresh names', async () => {
    // The topology says 7009 serves the high slots; that node is gone and 7002 took over.
    const after = shardsReply([
      { port: 7001, ranges: [[0, 8191]] },
      { port: 7002, ranges: [[8192, 16383]] },
    ]);
    const r = rig({ 7001: (a) => (a[0] === 'CLUSTER' ? after : '+OK\r\n'), 7002: () => '$4\r\nhere\r\n' }, [
      { port: 7001, ranges: [[0, 8191]] },
      { port: 7009, ranges: [[8192, 16383]] },
    ]);
    expect(await r.call(['GET', highKey], keySlot(highKey))).toEqual({ reply: '$4\r\nhere\r\n', from: '127.0.0.1:7002' });
    expect(r.dialed).toContain('127.0.0.1:7009');
  });

  it('turns a redirect on a fixed-node call into an agent error', async () => {
    const r = rig({ 7001: () => '-MOVED 5 127.0.0.1:7002\r\n', 7002: () => '+OK\r\n' });
    expect((await r.call(['EXEC'], '127.0.0.1:7001')).reply).toBe('-ERR xport: slot 5 moved to another node during the command; retry it\r\n');
  });

  it('sets up every new node connection with the client\'s AUTH, HELLO 3 and connection state', async () => {
    const r = rig({ 7001: () => '+OK\r\n', 7002: () => '+OK\r\n' });
    r.router.authReplay = command(['AUTH', 'alice', 'pw']);
    r.router.resp3 = true;
    r.router.stateReplays.set('client|setname', command(['CLIENT', 'SETNAME', 'app']));
    await r.call(['GET', highKey], keySlot(highKey));
    expect(r.setups).toEqual([[command(['AUTH', 'alice', 'pw']), command(['HELLO', '3']), command(['CLIENT', 'SETNAME', 'app'])].map((b) => b.toString('latin1'))]);
    // With nothing to set up, a PING proves the connection before the first command is written.
    const plain = rig({ 7001: () => '+OK\r\n', 7002: () => '+OK\r\n' });
    await plain.call(['GET', highKey], keySlot(highKey));
    expect(plain.setups).toEqual([['*1\r\n$4\r\nPING\r\n']]);
  });

  it('sends a state command to every open connection but the one that answered', async () => {
    const r = rig({ 7001: () => '+OK\r\n', 7002: () => '+OK\r\n' });
    await r.call(['GET', highKey], keySlot(highKey));
    r.router.broadcast(command(['CLIENT', 'SETNAME', 'x']), '127.0.0.1:7001');
    r.router.flush();
    await new Promise((res) => setTimeout(res, 20));
    expect(r.nodes.get(7002)!.commands()).toContain('CLIENT SETNAME x');
    expect(r.nodes.get(7001)!.commands()).not.toContain('CLIENT SETNAME x');
  });
});
