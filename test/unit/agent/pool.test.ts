/**
 * The agent pool against real proxy listeners and tunnel servers on loopback TLS: the agent dials
 * a balancer (a TCP relay in front of one proxy), learns the replicas, keeps one tunnel to each,
 * closes the one through the balancer, drops a replica that left and joins a new one, keeps its
 * tunnels while the list cannot be read, and tells each stream's handler which replica carried it.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentPool, type ProxyTarget } from '../../../src/agent/pool.js';
import type { DatabaseAdvert } from '../../../src/proxy/tunnel-protocol.js';
import { TunnelServer } from '../../../src/proxy/tunnel-server.js';
import { nullLogger } from '../../../src/util/log.js';
import { CLUSTER, agentTls, readAll, startProxy, waitFor, type TestProxy } from '../../helpers/tunnel-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const CACHE: DatabaseAdvert = { name: 'cache', protocol: 'redis', uri: 'rediss://cache:6379', labels: {}, type: 'self-hosted', mode: 'standalone' };

interface Replica {
  id: string;
  server: TunnelServer;
  proxy: TestProxy;
  stop(): Promise<void>;
}

async function replica(id: string): Promise<Replica> {
  const server = new TunnelServer({ cluster: CLUSTER, log: nullLogger, heartbeatMs: 50 });
  const proxy = await startProxy(server);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
    await proxy.close();
  };
  cleanups.push(stop);
  return { id, server, proxy, stop };
}

/** balancer relays TCP to one backend, as HAProxy in TCP mode would (TLS passes through). */
async function balancer(to: string): Promise<string> {
  const [host, port] = to.split(':');
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    const up = net.connect(Number(port), host);
    sockets.add(c).add(up);
    c.pipe(up).pipe(c);
    const end = () => (c.destroy(), up.destroy());
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  );
  return `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}

function pool(publicAddr: string, discover: () => Promise<ProxyTarget[]>, via: string[] = []): AgentPool {
  const p = new AgentPool({
    publicAddr,
    discover,
    discoverMs: 30,
    tls: agentTls('agent-1'),
    hostId: 'agent-1',
    version: '0.1.0',
    databases: () => [CACHE],
    onStream: async (stream, _header, addr) => {
      via.push(addr);
      stream.end(addr);
    },
    log: nullLogger,
    heartbeatMs: 50,
    backoff: { minMs: 10, maxMs: 40 },
  });
  cleanups.push(() => p.stop());
  return p;
}

const registered = (r: Replica) => r.server.agents().some((a) => a.hostId === 'agent-1');
const target = (r: Replica): ProxyTarget => ({ id: r.id, addr: r.proxy.addr });

describe('AgentPool', () => {
  it('keeps one tunnel to each replica it learns of and closes the one through the balancer', async () => {
    const [a, b, c] = await Promise.all([replica('a'), replica('b'), replica('c')]);
    const lb = await balancer(a.proxy.addr);
    let list: ProxyTarget[] = [];
    const p = pool(lb, async () => list);
    p.start();
    // Before any heartbeat is listed, the tunnel through the balancer serves.
    await waitFor(() => registered(a), 'the tunnel through the balancer');
    expect(p.tunnels()).toEqual([{ addr: lb, connected: true }]);
    list = [a, b, c].map(target);
    await waitFor(() => [a, b, c].every(registered) && p.tunnels().length === 3, 'a tunnel to every replica');
    expect(p.tunnels().map((t) => t.proxyId).sort()).toEqual(['a', 'b', 'c']);
    expect(p.tunnels().some((t) => t.addr === lb)).toBe(false);
    // Still registered on a after the balancer's tunnel closed (it did not replace the direct one last).
    await waitFor(() => registered(a) && p.tunnels().every((t) => t.connected), 'every tunnel up');
  });

  it('drops a replica that left the list once its tunnel is down, and joins a new one', async () => {
    const [a, b, c] = await Promise.all([replica('a'), replica('b'), replica('c')]);
    let list = [a, b].map(target);
    const p = pool(a.proxy.addr, async () => list);
    p.start();
    await waitFor(() => registered(a) && registered(b), 'tunnels to a and b');
    // b vanishes: unlisted and unreachable.
    await b.stop();
    list = [target(a)];
    await waitFor(() => p.tunnels().length === 1, 'b dropped');
    expect(p.tunnels()).toEqual([{ proxyId: 'a', addr: a.proxy.addr, connected: true }]);
    // c appears.
    list = [a, c].map(target);
    await waitFor(() => registered(c), 'a tunnel to the new replica c');
    expect(p.tunnels().map((t) => t.proxyId).sort()).toEqual(['a', 'c']);
  });

  it('keeps a live tunnel to a replica whose heartbeat is late', async () => {
    const [a, b] = await Promise.all([replica('a'), replica('b')]);
    let list = [a, b].map(target);
    let looks = 0;
    const p = pool(a.proxy.addr, async () => (looks++, list));
    p.start();
    await waitFor(() => registered(a) && registered(b), 'tunnels to a and b');
    list = [target(a)];
    const from = looks;
    // Ten looks later b is still served: its tunnel is up, so it is alive.
    await waitFor(() => looks >= from + 10, 'ten looks at the list');
    expect(p.tunnels().map((t) => t.proxyId).sort()).toEqual(['a', 'b']);
    expect(registered(b)).toBe(true);
  });

  it('keeps its tunnels while the list of replicas cannot be read', async () => {
    const [a, b] = await Promise.all([replica('a'), replica('b')]);
    let fail = false;
    const p = pool(a.proxy.addr, async () => {
      if (fail) throw new Error('connection refused');
      return [a, b].map(target);
    });
    p.start();
    await waitFor(() => registered(a) && registered(b), 'tunnels to a and b');
    fail = true;
    await new Promise((r) => setTimeout(r, 300));
    expect(p.tunnels().map((t) => t.proxyId).sort()).toEqual(['a', 'b']);
    expect(registered(a) && registered(b)).toBe(true);
  });

  it('tells the stream handler which replica carried each stream', async () => {
    const [a, b] = await Promise.all([replica('a'), replica('b')]);
    const via: string[] = [];
    const p = pool(a.proxy.addr, async () => [a, b].map(target), via);
    p.start();
    await waitFor(() => registered(a) && registered(b), 'tunnels to a and b');
    for (const r of [a, b]) {
      const stream = await r.server.openDatabaseStream('cache', { cert: 'x' });
      stream.end();
      expect((await readAll(stream)).toString()).toBe(r.proxy.addr);
    }
    expect(via).toEqual([a.proxy.addr, b.proxy.addr]);
  });

  it('swaps the certificate of every tunnel on renewal', async () => {
    const [a, b] = await Promise.all([replica('a'), replica('b')]);
    const p = pool(a.proxy.addr, async () => [a, b].map(target));
    p.start();
    await waitFor(() => registered(a) && registered(b), 'tunnels to a and b');
    const renewed = agentTls('agent-1');
    p.updateCertificate(renewed.certPem, renewed.keyPem);
    // Force redials: the replicas drop every tunnel; the agent comes back with the new certificate.
    for (const s of [...a.proxy.tunnelSockets, ...b.proxy.tunnelSockets]) s.destroy();
    const serial = (r: Replica) => r.proxy.tunnelSockets.at(-1)?.getPeerCertificate()?.serialNumber;
    const want = new (await import('node:crypto')).X509Certificate(renewed.certPem).serialNumber;
    await waitFor(() => serial(a) === want && serial(b) === want && registered(a) && registered(b), 'both tunnels back with the renewed certificate');
  });
});
