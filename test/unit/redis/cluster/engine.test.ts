/**
 * The cluster engine's session set-up (redis/cluster/engine.ts) against an in-process fake Redis
 * Cluster: injected AUTH, the topology read at start, node connections opened on demand and
 * authenticated like the first, refusals before anything is dialled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StaticCredentials } from '../../../helpers/engine-front.js';
import { clusterRig, waitFor, type ClusterRig } from '../../../helpers/fake-redis-rig.js';

let r: ClusterRig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('cluster engine: session set-up', () => {
  it('authenticates, reads the topology at start and opens a connection per node on demand, each authenticated', async () => {
    r = await clusterRig();
    const c = await r.connect();
    const [k2] = r.cluster.keysOn(2, 1);
    expect(await c.call('SET', k2!, 'v')).toBe('+OK\r\n');
    expect(r.cluster.nodes[0]!.commands().slice(0, 2)).toEqual(['AUTH alice pw', 'HELLO']);
    expect(r.cluster.nodes[0]!.commandsNamed('cluster')).toEqual(['CLUSTER SHARDS']);
    expect(r.cluster.nodes[2]!.conns[0]!.received.map((x) => x.join(' '))).toEqual(['AUTH alice pw', 'PING', `SET ${k2} v`]);
    expect(r.front.events.filter((e) => e.type === 'db.session.start')).toMatchObject([{ success: true }]);
  });

  it('refuses a route to a db other than 0 before dialling', async () => {
    r = await clusterRig({ dbName: '1' });
    const c = await r.connect();
    expect((await c.take(1))[0]).toMatch(/^-ERR xport: database fake is a Redis Cluster, which has only db 0; cannot select db 1/);
    expect(r.cluster.nodes.every((n) => n.conns.length === 0)).toBe(true);
  });
});

describe('cluster engine: credentials', () => {
  it('fetches credentials for every node connection it opens, not once per session', async () => {
    const creds = new StaticCredentials('alice', 'pw');
    r = await clusterRig({ creds });
    const c = await r.connect();
    for (let i = 0; i < 3; i++) expect(await c.call('GET', r.cluster.keysOn(i, 1, `c${i}`)[0]!)).toBe('$-1\r\n');
    // The seed connection, then nodes 1 and 2 when first used.
    expect(creds.calls).toBe(3);
  });

  it('emits the session end event and closes every node connection when the client leaves', async () => {
    r = await clusterRig();
    const c = await r.connect();
    for (let i = 0; i < 3; i++) expect(await c.call('GET', r.cluster.keysOn(i, 1, `e${i}`)[0]!)).toBe('$-1\r\n');
    c.close();
    await waitFor(() => r!.front.events.some((e) => e.type === 'db.session.end'), 'the session end event');
    await waitFor(() => r!.cluster.nodes.every((n) => n.conns.every((x) => x.socket.destroyed || x.socket.readableEnded)), 'node connections to close');
  });
});
