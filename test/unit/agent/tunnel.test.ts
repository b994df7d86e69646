/**
 * The agent's side of the reverse tunnel against a real proxy listener on loopback TLS: hello
 * and heartbeats, reconnecting after the proxy drops the tunnel or restarts, backoff while the
 * proxy is down, certificate checks and a clean stop.
 */
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startListener } from '../../../src/proxy/listener.js';
import { TunnelAgent } from '../../../src/agent/tunnel.js';
import type { TunnelAgentOptions } from '../../../src/agent/tunnel.js';
import type { DatabaseAdvert } from '../../../src/proxy/tunnel-protocol.js';
import { TunnelServer } from '../../../src/proxy/tunnel-server.js';
import { nullLogger } from '../../../src/util/log.js';
import { CLUSTER, agentTls, captureLog, hostLeaf, proxyTls, startProxy, testPki, waitFor } from '../../helpers/tunnel-fixture.js';
import type { TestProxy } from '../../helpers/tunnel-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
const agents: TunnelAgent[] = [];
afterEach(async () => {
  // Agents first: a listener closing while an agent is still mid-handshake would wait for it.
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const CACHE: DatabaseAdvert = { name: 'cache', protocol: 'redis', uri: 'rediss://cache:6379', labels: {}, type: 'self-hosted', mode: 'standalone' };

function tunnelServer(heartbeatMs = 50): TunnelServer {
  const server = new TunnelServer({ cluster: CLUSTER, log: nullLogger, heartbeatMs });
  cleanups.push(() => server.close());
  return server;
}

async function proxyFor(server: TunnelServer, port?: number): Promise<TestProxy> {
  const proxy = await startProxy(server, port === undefined ? {} : { port });
  cleanups.push(() => proxy.close());
  return proxy;
}

function agentFor(addr: string, extra: Partial<TunnelAgentOptions> = {}): TunnelAgent {
  const agent = new TunnelAgent({
    proxyAddr: addr,
    tls: agentTls('agent-1'),
    hostId: 'agent-1',
    version: '0.1.0',
    databases: () => [CACHE],
    onStream: async (stream) => void stream.pipe(stream),
    log: nullLogger,
    heartbeatMs: 50,
    backoff: { minMs: 10, maxMs: 40 },
    ...extra,
  });
  agents.push(agent);
  return agent;
}

/**
 * registered waits until the server has registered agent-1. The agent's 'connected' comes
 * first: in TLS 1.3 the client finishes its handshake before the server does.
 */
async function registered(server: TunnelServer): Promise<void> {
  await waitFor(() => server.agents().length === 1, 'agent-1 to be registered');
}

/** heartbeatsFlow waits until the server has seen two more heartbeats from agent-1. */
async function heartbeatsFlow(server: TunnelServer): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await registered(server);
    const seen = server.agents()[0]!.lastSeen.getTime();
    await waitFor(() => (server.agents()[0]?.lastSeen.getTime() ?? 0) > seen, 'a heartbeat');
  }
}

describe('TunnelAgent', () => {
  it('connects, says hello and keeps sending heartbeats', async () => {
    const server = tunnelServer();
    const proxy = await proxyFor(server);
    const agent = agentFor(proxy.addr);
    expect(agent.connected).toBe(false);
    const connected = once(agent, 'connected');
    agent.start();
    await connected;
    expect(agent.connected).toBe(true);
    await heartbeatsFlow(server);
    expect(server.listDatabases().map((d) => d.spec.name)).toEqual(['cache']);
    expect(agent.stats()?.framesOut).toBeGreaterThanOrEqual(3);
  });

  it('says stopped, not disconnected, when stop() closes the tunnel (a clean SIGTERM is no lost connection)', async () => {
    const server = tunnelServer();
    const proxy = await proxyFor(server);
    const agent = agentFor(proxy.addr);
    agent.start();
    await registered(server);
    const events: string[] = [];
    agent.on('disconnected', () => events.push('disconnected'));
    agent.on('stopped', () => events.push('stopped'));
    await agent.stop();
    await waitFor(() => events.length > 0, 'an event after stop()');
    expect(events).toEqual(['stopped']);
    expect(agent.connected).toBe(false);
  });

  it('reconnects after the proxy drops the tunnel, and heartbeats resume', async () => {
    const server = tunnelServer();
    const proxy = await proxyFor(server);
    const agent = agentFor(proxy.addr);
    agent.start();
    await registered(server);
    const lost = once(agent, 'disconnected');
    const back = new Promise<void>((resolve) => lost.then(() => agent.once('connected', resolve)));
    proxy.tunnelSockets[0]!.destroy();
    const [err] = (await lost) as [Error];
    expect(err.message).toMatch(/proxy .* (closed|failed)/);
    await back;
    await waitFor(() => proxy.tunnelSockets.length === 2, 'the second tunnel at the proxy');
    await heartbeatsFlow(server);
  });

  it('reconnects to a proxy restarted on the same port', async () => {
    const first = tunnelServer();
    const proxy = await proxyFor(first);
    const port = proxy.listener.address.port;
    const agent = agentFor(proxy.addr);
    agent.start();
    await registered(first);
    const lost = once(agent, 'disconnected');
    await proxy.close();
    await first.close();
    await lost;
    expect(agent.connected).toBe(false);

    // Let a few dials fail against the closed port before the new proxy comes up.
    await new Promise((r) => setTimeout(r, 60));
    const second = tunnelServer();
    await proxyFor(second, port);
    await once(agent, 'connected');
    await heartbeatsFlow(second);
    expect(second.listDatabases().map((d) => d.spec.name)).toEqual(['cache']);
  });

  it('retries with growing, jittered delays while the proxy is down', async () => {
    // Find a free port, then leave it closed.
    const probe = await startListener({ listenAddr: '127.0.0.1:0', ...proxyTls(), handlers: {}, log: nullLogger });
    const port = probe.address.port;
    await probe.close();
    const { log, lines } = captureLog();
    const agent = agentFor(`127.0.0.1:${port}`, { log, backoff: { minMs: 5, maxMs: 40 }, random: () => 0.5 });
    agent.start();
    await waitFor(() => lines.filter((l) => l.includes('cannot connect to the proxy')).length >= 6, 'six failed dials');
    const delays = lines.filter((l) => l.includes('cannot connect')).map((l) => Number(/retry_in_ms=(\d+)/.exec(l)![1]));
    // min·2^n capped at max, "equal jitter" with random() = 0.5: 3/4 of the base.
    expect(delays.slice(0, 6)).toEqual([4, 8, 15, 30, 30, 30]);
    expect(lines.join('')).toMatch(/ECONNREFUSED/);

    const server = tunnelServer();
    await proxyFor(server, port);
    await registered(server);
  });

  it('stops cleanly and does not reconnect', async () => {
    const server = tunnelServer();
    const proxy = await proxyFor(server);
    const agent = agentFor(proxy.addr);
    agent.start();
    await registered(server);
    await agent.stop();
    expect(agent.connected).toBe(false);
    await waitFor(() => server.agents().length === 0, 'the server to forget the agent');
    await new Promise((r) => setTimeout(r, 80));
    expect(proxy.tunnelSockets).toHaveLength(1);
  });

  it('refuses a proxy whose certificate the host CA did not sign', async () => {
    const server = tunnelServer();
    const proxy = await proxyFor(server);
    const { log, lines } = captureLog();
    const foreign = hostLeaf('agent-1', { ca: testPki().foreignHostCA, cluster: 'elsewhere' });
    // The agent trusts only the foreign CA, so the real proxy looks like an impostor.
    const agent = agentFor(proxy.addr, { log, tls: { ...agentTls('agent-1'), caPem: testPki().foreignHostCA.certPem + foreign.certPem } });
    agent.start();
    await waitFor(() => lines.some((l) => l.includes('cannot connect to the proxy')), 'a failed dial');
    expect(lines.join('')).toMatch(/err="the proxy's certificate is not trusted/);
    expect(agent.connected).toBe(false);
    expect(server.agents()).toEqual([]);
  });

  it('refuses a proxy that does not accept agent tunnels', async () => {
    const listener = await startListener({ listenAddr: '127.0.0.1:0', ...proxyTls(), handlers: { 'http/1.1': (s) => s.destroy() }, log: nullLogger });
    cleanups.push(() => listener.close());
    const { log, lines } = captureLog();
    const agent = agentFor(`127.0.0.1:${listener.address.port}`, { log });
    agent.start();
    await waitFor(() => lines.some((l) => l.includes('cannot connect to the proxy')), 'a failed dial');
    expect(lines.join('')).toMatch(/err="the proxy does not accept agent tunnels/);
    expect(agent.connected).toBe(false);
  });

  it('presents a renewed certificate on the next connection', async () => {
    const server = tunnelServer();
    const proxy = await proxyFor(server);
    const agent = agentFor(proxy.addr);
    agent.start();
    await registered(server);
    const renewed = hostLeaf('agent-1');
    agent.updateCertificate(renewed.certPem, renewed.keyPem);
    const back = new Promise<void>((resolve) => agent.once('disconnected', () => agent.once('connected', resolve)));
    proxy.tunnelSockets[0]!.destroy();
    await back;
    await waitFor(() => proxy.tunnelSockets.length === 2, 'the second tunnel at the proxy');
    const presented = proxy.tunnelSockets[1]!.getPeerCertificate().raw;
    expect(presented.equals(new X509Certificate(renewed.certPem).raw)).toBe(true);
  });
});
