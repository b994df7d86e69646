/**
 * The proxy's side of the reverse tunnel, through the real listener on loopback TLS: who may
 * connect, the hello/heartbeat registry, dead agents, and opening database streams with
 * failover between the agents serving one database.
 */
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { accessDenied, connectionProblem } from '../../../src/errors.js';
import { ALPN } from '../../../src/proxy/listener.js';
import { Mux } from '../../../src/mux/index.js';
import { TunnelAgent } from '../../../src/agent/tunnel.js';
import type { DatabaseAdvert } from '../../../src/proxy/tunnel-protocol.js';
import { TunnelServer } from '../../../src/proxy/tunnel-server.js';
import type { AgentInfo, TunnelServerOptions } from '../../../src/proxy/tunnel-server.js';
import { nullLogger } from '../../../src/util/log.js';
import { CLUSTER, agentTls, captureLog, hostLeaf, issueLeaf, readAll, startProxy, testPki, userLeaf, waitFor } from '../../helpers/tunnel-fixture.js';
import type { Leaf, TestProxy } from '../../helpers/tunnel-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
const agents: TunnelAgent[] = [];
afterEach(async () => {
  // Agents first: a listener closing while an agent is still mid-handshake would wait for it.
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function advert(name: string, extra: Partial<DatabaseAdvert> = {}): DatabaseAdvert {
  return { name, protocol: 'redis', uri: `rediss://${name}.internal:6379`, labels: { env: 'dev' }, type: 'self-hosted', mode: 'standalone', ...extra };
}

async function startServer(opts: Partial<TunnelServerOptions> = {}): Promise<{ server: TunnelServer; proxy: TestProxy; lines: string[] }> {
  const { log, lines } = captureLog();
  const server = new TunnelServer({ cluster: CLUSTER, log, ...opts });
  const proxy = await startProxy(server);
  cleanups.push(async () => {
    await server.close();
    await proxy.close();
  });
  return { server, proxy, lines };
}

type OnStream = (stream: Duplex, header: unknown) => Promise<void>;
const echo: OnStream = async (stream) => void stream.pipe(stream);

/** startAgent starts a TunnelAgent and waits until the server has registered it. */
async function startAgent(
  { server, proxy }: { server: TunnelServer; proxy: TestProxy },
  hostId: string,
  databases: () => DatabaseAdvert[],
  onStream: OnStream = echo,
  extra: { heartbeatMs?: number } = {},
): Promise<TunnelAgent> {
  const agent = new TunnelAgent({ proxyAddr: proxy.addr, tls: agentTls(hostId), hostId, version: '0.1.0', databases, onStream, log: nullLogger, backoff: { minMs: 10, maxMs: 50 }, ...extra });
  agents.push(agent);
  agent.start();
  await waitFor(() => server.agents().some((a) => a.hostId === hostId), `${hostId} to register`);
  return agent;
}

/** rawTunnel dials the proxy's tunnel ALPN with leaf and wraps the connection in a bare mux. */
async function rawTunnel(proxy: TestProxy, leaf: Leaf): Promise<{ socket: tls.TLSSocket; mux: Mux }> {
  const socket = tls.connect({ host: '127.0.0.1', port: proxy.listener.address.port, cert: leaf.certPem, key: leaf.keyPem, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.tunnel] });
  await once(socket, 'secureConnect');
  const mux = new Mux(socket, { localIds: 'even' });
  cleanups.push(() => mux.close());
  return { socket, mux };
}

/** registered resolves with the next agent the server registers. */
function nextConnected(server: TunnelServer): Promise<AgentInfo> {
  return new Promise((resolve) => server.once('agent-connected', resolve));
}

describe('TunnelServer registry', () => {
  it('registers an agent from its hello and lists what it serves', async () => {
    const env = await startServer();
    const { server } = env;
    const registered = nextConnected(server);
    await startAgent(env, 'agent-1', () => [advert('sessions'), advert('cache', { mode: 'cluster', description: 'main cache' })]);
    const info = await registered;
    expect(info).toMatchObject({ hostId: 'agent-1', version: '0.1.0' });
    expect(info.remoteAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    const list = server.listDatabases();
    expect(list.map((d) => d.spec.name)).toEqual(['cache', 'sessions']);
    expect(list[0]).toMatchObject({ spec: advert('cache', { mode: 'cluster', description: 'main cache' }), agents: ['agent-1'] });
    expect(list[0]!.lastSeen).toBeInstanceOf(Date);
    expect(server.agents().map((a) => a.hostId)).toEqual(['agent-1']);
  });

  it('follows the database list in heartbeats', async () => {
    const env = await startServer({ heartbeatMs: 50 });
    const { server } = env;
    let databases = [advert('cache')];
    await startAgent(env, 'agent-1', () => databases, echo, { heartbeatMs: 50 });
    expect(server.listDatabases().map((d) => d.spec.name)).toEqual(['cache']);
    databases = [advert('cache'), advert('queues')];
    await waitFor(() => server.listDatabases().length === 2, 'the heartbeat to add "queues"');
    const before = server.agents()[0]!.lastSeen.getTime();
    await waitFor(() => server.agents()[0]!.lastSeen.getTime() > before, 'another heartbeat');
  });

  it('merges a database served by several agents', async () => {
    const env = await startServer();
    const { server } = env;
    await startAgent(env, 'agent-2', () => [advert('cache')]);
    await startAgent(env, 'agent-1', () => [advert('cache'), advert('other')]);
    expect(server.listDatabases().map((d) => [d.spec.name, d.agents])).toEqual([
      ['cache', ['agent-1', 'agent-2']],
      ['other', ['agent-1']],
    ]);
  });

  it('drops invalid adverts and keeps the valid ones', async () => {
    const { server, proxy, lines } = await startServer();
    const { mux } = await rawTunnel(proxy, hostLeaf('agent-1'));
    const registered = nextConnected(server);
    mux.sendControl({ type: 'hello', hostId: 'agent-1', version: '1', databases: [advert('cache'), { name: 'broken', protocol: 'mysql' }] });
    await registered;
    expect(server.listDatabases().map((d) => d.spec.name)).toEqual(['cache']);
    expect(lines.join('')).toMatch(/agent advertised an invalid database .*protocol must be/);
  });

  it('replaces the connection of an agent that connects again', async () => {
    const { server, proxy } = await startServer();
    const reasons: string[] = [];
    server.on('agent-disconnected', (_a, reason) => reasons.push(reason));
    const leaf = hostLeaf('agent-1');
    const first = await rawTunnel(proxy, leaf);
    first.mux.sendControl({ type: 'hello', hostId: 'agent-1', version: '1', databases: [advert('old')] });
    await waitFor(() => server.agents().length === 1, 'the first connection');
    const firstClosed = once(first.mux, 'close');
    const second = await rawTunnel(proxy, leaf);
    second.mux.sendControl({ type: 'hello', hostId: 'agent-1', version: '2', databases: [advert('new')] });
    await firstClosed;
    expect(reasons).toEqual(['replaced by a new connection from the same agent']);
    expect(server.agents().map((a) => a.version)).toEqual(['2']);
    expect(server.listDatabases().map((d) => d.spec.name)).toEqual(['new']);
    expect(second.mux.closed).toBe(false);
  });

  it('declares an agent dead after three missed heartbeats', async () => {
    const { server, proxy } = await startServer({ heartbeatMs: 20 });
    const { mux } = await rawTunnel(proxy, hostLeaf('agent-1'));
    const gone = new Promise<[AgentInfo, string]>((resolve) => server.once('agent-disconnected', (a, r) => resolve([a, r])));
    const closed = once(mux, 'close');
    // A hello and then silence: the connection stays open but the agent has stopped.
    mux.sendControl({ type: 'hello', hostId: 'agent-1', version: '1', databases: [advert('cache')], heartbeatMs: 20 });
    const [info, reason] = await gone;
    expect(info.hostId).toBe('agent-1');
    expect(reason).toMatch(/^missed 3 heartbeats/);
    expect(server.listDatabases()).toEqual([]);
    await closed;
    await expect(server.openDatabaseStream('cache', {})).rejects.toThrow('no agent is serving it');
  });

  it('forgets an agent whose connection closes', async () => {
    const env = await startServer();
    const { server } = env;
    const agent = await startAgent(env, 'agent-1', () => [advert('cache')]);
    const gone = new Promise<string>((resolve) => server.once('agent-disconnected', (_a, r) => resolve(r)));
    await agent.stop();
    expect(await gone).toMatch(/closed/);
    expect(server.agents()).toEqual([]);
  });
});

describe('TunnelServer admission', () => {
  /** rejected dials with leaf and returns the server's log once the server has hung up. */
  async function rejected(leaf: Leaf, opts: Partial<TunnelServerOptions> = {}): Promise<string> {
    const { server, proxy, lines } = await startServer(opts);
    const socket = tls.connect({ host: '127.0.0.1', port: proxy.listener.address.port, cert: leaf.certPem, key: leaf.keyPem, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.tunnel] });
    socket.on('error', () => {});
    await once(socket, 'close');
    expect(server.agents()).toEqual([]);
    return lines.join('');
  }

  it('rejects a user certificate', async () => {
    expect(await rejected(userLeaf({ database: 'cache' }))).toMatch(/agent tunnel rejected .*certificate is for user use, not host/);
  });

  it('rejects a host certificate of another cluster', async () => {
    expect(await rejected(hostLeaf('agent-1', { cluster: 'elsewhere' }))).toMatch(/agent tunnel rejected .*belongs to cluster \\?"elsewhere\\?", not \\?"example\\?"/);
  });

  it('rejects a certificate from a CA the proxy does not trust', async () => {
    expect(await rejected(hostLeaf('agent-1', { ca: testPki().foreignHostCA, cluster: 'elsewhere' }))).toMatch(/agent tunnel rejected .*not accepted/);
  });

  it('rejects a host-usage certificate from the user CA when the host CA is pinned', async () => {
    const leaf = issueLeaf(testPki().userCA, { user: 'agent-1', roles: [], traits: { db_users: [], db_names: [] }, usage: 'host', cluster: CLUSTER, hostId: 'agent-1' });
    expect(await rejected(leaf, { hostCaPem: testPki().hostCA.certPem })).toMatch(/agent tunnel rejected .*not issued by a trusted CA/);
  });

  it('closes a tunnel whose hello claims another host id', async () => {
    const { server, proxy } = await startServer();
    const { mux } = await rawTunnel(proxy, hostLeaf('agent-1'));
    const closed = once(mux, 'close');
    mux.sendControl({ type: 'hello', hostId: 'agent-2', version: '1', databases: [] });
    await closed;
    expect(server.agents()).toEqual([]);
  });

  it('closes a tunnel that sends no hello in time', async () => {
    const { server, proxy } = await startServer({ helloTimeoutMs: 30 });
    const { mux } = await rawTunnel(proxy, hostLeaf('agent-1'));
    await once(mux, 'close');
    expect(server.agents()).toEqual([]);
  });
});

describe('TunnelServer.openDatabaseStream', () => {
  it('opens a stream on an agent serving the database, with the header and database name', async () => {
    const env = await startServer();
    const { server } = env;
    const headers: unknown[] = [];
    await startAgent(env, 'agent-1', () => [advert('cache')], async (stream, header) => {
      headers.push(header);
      stream.pipe(stream);
    });
    const stream = await server.openDatabaseStream('cache', { clientAddr: '127.0.0.1:5000' });
    stream.end('PING\r\n');
    expect((await readAll(stream)).toString()).toBe('PING\r\n');
    expect(headers).toEqual([{ clientAddr: '127.0.0.1:5000', database: 'cache' }]);
  });

  it('tells onStreamOpening which agent gets a session before the agent sees it, when the proxy ended its side, and when the stream closes or is refused', async () => {
    const log: string[] = [];
    const env = await startServer({
      random: () => 0.999,
      onStreamOpening: (hostId, header) => {
        log.push(`open ${hostId} ${(header as { cert: string }).cert}`);
        return (how) => log.push(`${how} ${hostId}`);
      },
    });
    const { server } = env;
    await startAgent(env, 'agent-1', () => [advert('cache')], async () => {
      log.push('agent-1 sees it');
      throw connectionProblem('redis is down');
    });
    await startAgent(env, 'agent-2', () => [advert('cache')], async (stream) => {
      log.push('agent-2 sees it');
      stream.pipe(stream);
    });
    const stream = await server.openDatabaseStream('cache', { cert: 'proof' });
    expect(log).toEqual(['open agent-1 proof', 'agent-1 sees it', 'closed agent-1', 'open agent-2 proof', 'agent-2 sees it']);
    stream.end('bye');
    await readAll(stream);
    await waitFor(() => log.at(-1) === 'closed agent-2', 'the release on close');
    expect(log.slice(5)).toEqual(['ended agent-2', 'closed agent-2']);
  });

  it('says no agent is serving a database nobody advertises', async () => {
    const env = await startServer();
    const { server } = env;
    await startAgent(env, 'agent-1', () => [advert('cache')]);
    const err = await server.openDatabaseStream('nope', {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'connection-problem', message: 'database "nope" is not available: no agent is serving it' });
    expect((err as { hint?: string }).hint).toMatch(/xsh db ls/);
  });

  it('fails over to the next agent when the first refuses the stream', async () => {
    // random() near 1 keeps the shuffle in registration order, so agent-1 is asked first.
    const env = await startServer({ random: () => 0.999 });
    const { server, lines } = env;
    let refused = 0;
    await startAgent(env, 'agent-1', () => [advert('cache')], async () => {
      refused++;
      throw connectionProblem('cannot reach redis at 10.0.0.5:6379');
    });
    await startAgent(env, 'agent-2', () => [advert('cache')], async (stream) => void stream.end('served by agent-2'));
    const stream = await server.openDatabaseStream('cache', {});
    stream.end();
    expect((await readAll(stream)).toString()).toBe('served by agent-2');
    expect(refused).toBe(1);
    expect(lines.join('')).toMatch(/agent could not open a database stream host_id=agent-1 database=cache err="cannot reach redis/);
  });

  it('fails over when the first agent does not answer in time', async () => {
    const env = await startServer({ random: () => 0.999, openTimeoutMs: 50 });
    const { server } = env;
    await startAgent(env, 'agent-1', () => [advert('cache')], () => new Promise<void>(() => {}));
    await startAgent(env, 'agent-2', () => [advert('cache')], async (stream) => void stream.end('ok'));
    const stream = await server.openDatabaseStream('cache', {});
    stream.end();
    expect((await readAll(stream)).toString()).toBe('ok');
  });

  it('does not fail over when an agent denies the user', async () => {
    const env = await startServer({ random: () => 0.999 });
    const { server } = env;
    let asked = 0;
    await startAgent(env, 'agent-1', () => [advert('cache')], async () => {
      throw accessDenied('alice may not use database "cache"');
    });
    await startAgent(env, 'agent-2', () => [advert('cache')], async (stream) => {
      asked++;
      stream.end();
    });
    await expect(server.openDatabaseStream('cache', {})).rejects.toMatchObject({ kind: 'access-denied', message: 'alice may not use database "cache"' });
    expect(asked).toBe(0);
  });

  it('reports the last failure when every agent fails', async () => {
    const env = await startServer({ random: () => 0.999 });
    const { server } = env;
    await startAgent(env, 'agent-1', () => [advert('cache')], async () => {
      throw connectionProblem('redis down at agent-1');
    });
    await startAgent(env, 'agent-2', () => [advert('cache')], async () => {
      throw connectionProblem('redis down at agent-2');
    });
    await expect(server.openDatabaseStream('cache', {})).rejects.toThrow(
      'database "cache" is not available: all 2 agents serving it failed: redis down at agent-2',
    );
  });

  it('spreads streams over the agents serving a database', async () => {
    const env = await startServer();
    const { server } = env;
    const served = { 'agent-1': 0, 'agent-2': 0 };
    for (const id of ['agent-1', 'agent-2'] as const) {
      await startAgent(env, id, () => [advert('cache')], async (stream) => {
        served[id]++;
        stream.end();
      });
    }
    for (let i = 0; i < 40; i++) (await server.openDatabaseStream('cache', {})).resume();
    expect(served['agent-1']).toBeGreaterThan(0);
    expect(served['agent-2']).toBeGreaterThan(0);
  });

  it('close drops every agent and refuses new tunnels', async () => {
    const env = await startServer();
    const { server } = env;
    const agent = await startAgent(env, 'agent-1', () => [advert('cache')]);
    const lost = once(agent, 'disconnected');
    await server.close();
    await lost;
    expect(server.agents()).toEqual([]);
    await expect(server.openDatabaseStream('cache', {})).rejects.toThrow('no agent is serving it');
  });
});
