/**
 * The cluster engine and relay (redis/cluster/engine.ts, relay*.ts) in front of an in-process
 * fake Redis Cluster: slot routing, MOVED/ASK followed without the client seeing them, MGET
 * split by slot and merged in key order, transactions on one node, pub/sub, denials audited.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { keySlot } from '../../../../src/redis/cluster/slots.js';
import { enc, StaticCredentials } from '../../../helpers/engine-front.js';
import { ALICE, clusterRig, NO_FLUSH, queries, READER, waitFor, type ClusterRig } from '../../../helpers/fake-redis-rig.js';
import { bulkReply } from '../../../helpers/resp-server.js';

let r: ClusterRig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

const slotOf = (key: string) => keySlot(Buffer.from(key));

describe('cluster relay: routing', () => {
  it('routes each key to the master serving its slot', async () => {
    r = await clusterRig();
    const c = await r.connect();
    for (let i = 0; i < 3; i++) {
      const [k] = r.cluster.keysOn(i, 1, `n${i}-`);
      expect(await c.call('SET', k!, String(i))).toBe('+OK\r\n');
      expect(r.cluster.commands(i)).toContain(`SET ${k} ${i}`);
    }
  });

  it('follows MOVED to the slot new owner; the client never sees the redirect', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const [k] = r.cluster.keysOn(0, 1, 'moved');
    expect(await c.call('SET', k!, 'a')).toBe('+OK\r\n');
    r.cluster.move(slotOf(k!), 1);
    expect(await c.call('GET', k!)).toBe(bulkReply('a'));
    expect(r.cluster.commands(0)).toContain(`GET ${k}`);
    expect(r.cluster.commands(1)).toContain(`GET ${k}`);
    expect(r.front.engine.cluster.stats().moved).toBeGreaterThan(0);
    // The topology is read again after a MOVED.
    await waitFor(() => r!.cluster.nodes.flatMap((n) => n.commandsNamed('cluster')).length > 1, 'a topology refresh');
  });

  it('follows ASK with ASKING to the importing node, once', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const [k] = r.cluster.keysOn(1, 1, 'ask');
    r.cluster.ask(slotOf(k!), 2);
    expect(await c.call('SET', k!, 'x')).toBe('+OK\r\n');
    expect(r.cluster.commands(2)).toEqual(['ASKING', `SET ${k} x`]);
  });

  it('splits MGET by slot over several masters and merges the values in key order', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const keys = [r.cluster.keysOn(2, 1, 'a')[0]!, r.cluster.keysOn(0, 1, 'b')[0]!, r.cluster.keysOn(1, 1, 'c')[0]!, r.cluster.keysOn(0, 2, 'd')[1]!];
    for (const k of keys) r.cluster.data.set(k, Buffer.from(`v-${k}`));
    expect(await c.call('MGET', ...keys, 'missing')).toBe(`*5\r\n${keys.map((k) => bulkReply(`v-${k}`)).join('')}$-1\r\n`);
    expect(r.cluster.commands(0).filter((x) => x.startsWith('MGET')).length).toBeGreaterThanOrEqual(1);
    expect(r.cluster.commands(2)).toContain(`MGET ${keys[0]}`);
    expect(queries(r.front)).toEqual(['mget:true']);
  });

  it('answers CROSSSLOT, as Redis does, for a multi-key command whose keys hash to different slots', async () => {
    r = await clusterRig();
    const c = await r.connect();
    expect(await c.call('RENAME', 'a', 'b')).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(r.front.events.find((e) => e.command === 'rename')).toMatchObject({ success: false });
  });

  it('keeps pipelined replies from several nodes in request order', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const keys = [0, 1, 2, 0, 2, 1].map((n, i) => r!.cluster.keysOn(n, i + 1, `p${n}`)[i]!);
    c.send(...keys.map((k, i) => enc('SET', k, String(i))), enc('PING'), ...keys.map((k) => enc('GET', k)));
    const replies = await c.take(keys.length * 2 + 1);
    expect(replies).toEqual([...keys.map(() => '+OK\r\n'), '+PONG\r\n', ...keys.map((_, i) => bulkReply(String(i)))]);
  });
});

describe('cluster relay: RBAC', () => {
  it('never sends a denied command to any node, audits it, and keeps the pipeline in order', async () => {
    r = await clusterRig({ roles: [READER] });
    const c = await r.connect();
    const [k] = r.cluster.keysOn(1, 1);
    c.send(enc('SET', k!, 'v'), enc('GET', k!));
    const [denied, got] = await c.take(2);
    expect(denied).toMatch(/^-ERR xport: .*set/);
    expect(got).toBe('$-1\r\n');
    expect(r.cluster.nodes.flatMap((n) => n.commandsNamed('set'))).toEqual([]);
    expect(queries(r.front)).toEqual(['set:false', 'get:true']);
  });

  it('refuses SELECT of another db with the cluster reason, and answers SELECT 0 itself', async () => {
    r = await clusterRig({ roles: [ALICE] });
    const c = await r.connect();
    expect(await c.call('SELECT', '1')).toBe('-ERR xport: command not supported in cluster mode: select 1 (a cluster has only db 0)\r\n');
    expect(await c.call('SELECT', '0')).toBe('+OK\r\n');
    expect(r.cluster.nodes.flatMap((n) => n.commandsNamed('select'))).toEqual([]);
  });

  it('forwards AUTH as the routed user to the default node and replays it on nodes opened later', async () => {
    r = await clusterRig({ creds: new StaticCredentials() });
    const c = await r.connect();
    expect(await c.call('AUTH', 'bob', 'x')).toMatch(/^-ERR xport: failed to authenticate as bob user/);
    expect(await c.call('AUTH', 'alice', 'mine')).toBe('+OK\r\n');
    const [k] = r.cluster.keysOn(2, 1, 'late');
    expect(await c.call('GET', k!)).toBe('$-1\r\n');
    expect(r.cluster.nodes[2]!.commandsNamed('auth')).toContain('AUTH alice mine');
    expect(r.cluster.nodes.flatMap((n) => n.commandsNamed('auth'))).not.toContain('AUTH bob x');
  });
});

describe('cluster relay: transactions', () => {
  it('runs MULTI/EXEC on the master of the first key, answering MULTI itself', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const [k] = r.cluster.keysOn(1, 1, 'tx');
    c.send(enc('MULTI'), enc('SET', k!, '1'), enc('INCR', k!), enc('EXEC'));
    expect(await c.take(4)).toEqual(['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n+OK\r\n:2\r\n']);
    expect(r.cluster.commands(1)).toEqual(['MULTI', `SET ${k} 1`, `INCR ${k}`, 'EXEC']);
  });

  it('answers EXECABORT and discards on the node when a command inside MULTI was denied', async () => {
    r = await clusterRig({ roles: [NO_FLUSH] });
    const c = await r.connect();
    const [k] = r.cluster.keysOn(1, 1, 'tx');
    c.send(enc('MULTI'), enc('SET', k!, '1'), enc('FLUSHALL'), enc('EXEC'));
    const replies = await c.take(4);
    expect(replies[2]).toMatch(/^-ERR xport: /);
    expect(replies[3]).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    await waitFor(() => r!.cluster.commands(1).includes('DISCARD'), 'DISCARD on the node');
    expect(r.cluster.commands(1)).not.toContain('EXEC');
    expect(r.cluster.data.has(k!)).toBe(false);
  });

  it('refuses a transaction command whose key lives in another slot with CROSSSLOT', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const [a] = r.cluster.keysOn(0, 1, 'x');
    const [b] = r.cluster.keysOn(2, 1, 'y');
    c.send(enc('MULTI'), enc('SET', a!, '1'), enc('SET', b!, '2'), enc('EXEC'));
    const replies = await c.take(4);
    expect(replies[2]).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(replies[3]).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
  });
});

describe('cluster relay: pub/sub', () => {
  it('subscribes on a dedicated connection and forwards messages published on any node', async () => {
    r = await clusterRig();
    const c = await r.connect();
    expect(await c.call('SUBSCRIBE', 'news')).toBe(`*3\r\n${bulkReply('subscribe')}${bulkReply('news')}:1\r\n`);
    const pub = await r.connect();
    expect(await pub.call('PUBLISH', 'news', 'hi')).toBe(':1\r\n');
    expect(await c.take(1)).toEqual([`*3\r\n${bulkReply('message')}${bulkReply('news')}${bulkReply('hi')}`]);
    // A subscribed RESP2 connection may only (un)subscribe, ping, quit or reset: answered by the relay.
    expect(await c.call('GET', 'k')).toMatch(/^-ERR Can't execute 'get'/);
    expect(await c.call('PING')).toBe(`*2\r\n${bulkReply('pong')}${bulkReply('')}`);
  });
});

describe('cluster relay: fan-out and the virtual node', () => {
  it('sums DBSIZE over every master', async () => {
    r = await clusterRig();
    const c = await r.connect();
    // The fake nodes share one keyspace, so each master reports all of it: the sum is 3 × 2.
    r.cluster.data.set('a', Buffer.from('1'));
    r.cluster.data.set('b', Buffer.from('2'));
    expect(await c.call('DBSIZE')).toBe(':6\r\n');
    for (let i = 0; i < 3; i++) expect(r.cluster.commands(i)).toContain('DBSIZE');
  });

  it('answers CLUSTER KEYSLOT itself and shows one virtual node', async () => {
    r = await clusterRig();
    const c = await r.connect();
    expect(await c.call('CLUSTER', 'KEYSLOT', 'foo')).toBe(`:${slotOf('foo')}\r\n`);
    expect(await c.call('CLUSTER', 'MYID')).toMatch(/^\$40\r\n[0-9a-f]{40}\r\n$/);
    expect(r.cluster.nodes.flatMap((n) => n.commandsNamed('cluster')).filter((x) => x !== 'CLUSTER SHARDS')).toEqual([]);
  });
});

describe('cluster relay: connection state', () => {
  it('keeps CLIENT REPLY OFF in the relay and drops the replies the client asked not to get, in order', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const [k] = r.cluster.keysOn(2, 1, 'cr');
    c.send(enc('CLIENT', 'REPLY', 'OFF'), enc('SET', k!, '1'), enc('CLIENT', 'REPLY', 'ON'), enc('GET', k!));
    expect(await c.take(2)).toEqual(['+OK\r\n', bulkReply('1')]);
    expect(r.cluster.nodes.flatMap((n) => n.commandsNamed('client'))).toEqual([]);
  });

  it('switches every node connection to RESP3 on HELLO 3 and answers RESET with fresh connections', async () => {
    r = await clusterRig();
    const c = await r.connect();
    expect(await c.call('HELLO', '3')).toMatch(/^%3\r\n/);
    const [k] = r.cluster.keysOn(1, 1, 'r3');
    expect(await c.call('GET', k!)).toBe('$-1\r\n');
    expect(r.cluster.nodes[1]!.commandsNamed('hello')).toContain('HELLO 3');
    const before = r.cluster.nodes.reduce((n, x) => n + x.conns.filter((cn) => !cn.socket.destroyed).length, 0);
    expect(before).toBeGreaterThan(0);
    expect(await c.call('RESET')).toBe('+RESET\r\n');
    expect(await c.call('GET', k!)).toBe('$-1\r\n');
    // After RESET the session speaks RESP2 again, on a new connection that was never sent HELLO 3.
    const fresh = r.cluster.nodes[1]!.conns.at(-1)!;
    expect(fresh.received.map((x) => x.join(' '))).not.toContain('HELLO 3');
  });
});

describe('cluster relay: backpressure', () => {
  it('pauses every node connection while the client does not read, and resumes when it does', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const big = Buffer.alloc(4 * 1024 * 1024, 0x63);
    const [k] = r.cluster.keysOn(1, 1, 'big');
    r.cluster.data.set(k!, big);
    expect(await c.call('PING')).toBe('+PONG\r\n');
    c.socket.pause();
    for (let i = 0; i < 8; i++) c.send(enc('GET', k!));
    await waitFor(() => r!.front.engine.stats().upstreamPauses > 0, 'the relay to pause the node connections');
    c.socket.resume();
    const replies = await c.take(8, 60_000);
    expect(replies.every((x) => x.length === big.length + `$${big.length}\r\n\r\n`.length)).toBe(true);
  });
});
