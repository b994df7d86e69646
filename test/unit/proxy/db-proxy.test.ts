/**
 * The proxy's database front door end to end, in-process over loopback TLS: a user TLS
 * connection (ALPN xport-redis) → the db proxy handler → a tunnel stream → the agent's stream
 * handler, which re-verifies the user's certificate from the header. Also every refusal the
 * user can get before the splice.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { accessDenied, messageOf } from '../../../src/errors.js';
import { verifyCertificate } from '../../../src/pki/index.js';
import type { VerifiedIdentity } from '../../../src/pki/index.js';
import { createDbProxyHandler } from '../../../src/proxy/db-proxy.js';
import type { DatabaseStreamHeader } from '../../../src/proxy/db-proxy.js';
import { ALPN } from '../../../src/proxy/listener.js';
import { TunnelAgent } from '../../../src/proxy/tunnel-agent.js';
import { TunnelServer } from '../../../src/proxy/tunnel-server.js';
import { nullLogger } from '../../../src/util/log.js';
import { CLUSTER, agentTls, hostLeaf, readAll, startProxy, testPki, userLeaf, waitFor } from './tunnel-fixture.js';
import type { Leaf, TestProxy } from './tunnel-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

type Session = { identity: VerifiedIdentity; header: DatabaseStreamHeader; stream: Duplex };
type Serve = (stream: Duplex, session: Session) => Promise<void> | void;

/**
 * setup runs a proxy (tunnel + db handlers) and one agent serving "cache" whose stream handler
 * verifies the user certificate against the user CA, as a real agent must, then calls serve.
 */
async function setup(serve: Serve = (stream) => void stream.pipe(stream)): Promise<{ proxy: TestProxy; sessions: Session[] }> {
  const pki = testPki();
  const tunnels = new TunnelServer({ cluster: CLUSTER, log: nullLogger });
  const handler = createDbProxyHandler({
    tunnels,
    cluster: CLUSTER,
    log: nullLogger,
    userCaPem: pki.userCA.certPem,
    onError: (socket, err) => socket.write(`-ERR xport: ${messageOf(err)}\r\n`),
  });
  const proxy = await startProxy(tunnels, { dbHandler: handler });
  const sessions: Session[] = [];
  const agent = new TunnelAgent({
    proxyAddr: proxy.addr,
    tls: agentTls('agent-1'),
    hostId: 'agent-1',
    version: '0.1.0',
    databases: () => [{ name: 'cache', protocol: 'redis', uri: 'rediss://cache:6379', labels: {}, type: 'self-hosted', mode: 'standalone' }],
    onStream: async (stream, raw) => {
      const header = raw as DatabaseStreamHeader;
      const identity = verifyCertificate(Buffer.from(header.cert, 'base64'), pki.userCA, { now: new Date(), usages: ['user'], cluster: CLUSTER });
      const session = { identity, header, stream };
      sessions.push(session);
      await serve(stream, session);
    },
    log: nullLogger,
  });
  agent.start();
  cleanups.push(async () => {
    await agent.stop();
    await tunnels.close();
    await proxy.close();
  });
  await waitFor(() => tunnels.agents().length === 1, 'the agent to register');
  return { proxy, sessions };
}

/** dial connects to the proxy's database ALPN as a user with leaf (or no certificate). */
async function dial(proxy: TestProxy, leaf: Leaf | null): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: proxy.listener.address.port,
    ca: testPki().hostCA.certPem,
    ALPNProtocols: [ALPN.redis],
    ...(leaf ? { cert: leaf.certPem, key: leaf.keyPem } : {}),
  });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'secureConnect');
  return socket;
}

/** refusal is what a user connection reads before the proxy hangs up. */
async function refusal(proxy: TestProxy, leaf: Leaf | null): Promise<string> {
  const socket = await dial(proxy, leaf);
  socket.write('*1\r\n$4\r\nPING\r\n');
  return (await readAll(socket)).toString();
}

describe('db proxy handler', () => {
  it('carries a user session to the agent, which re-verifies the certificate itself', async () => {
    const { proxy, sessions } = await setup();
    const socket = await dial(proxy, userLeaf({ database: 'cache', dbUser: 'alice' }));
    socket.write('*1\r\n$4\r\nPING\r\n');
    const [echoed] = (await once(socket, 'data')) as [Buffer];
    expect(echoed.toString()).toBe('*1\r\n$4\r\nPING\r\n');
    expect(sessions).toHaveLength(1);
    const { identity, header } = sessions[0]!;
    expect(identity).toMatchObject({ user: 'alice', usage: 'user', route: { database: 'cache', dbUser: 'alice' } });
    expect(header.database).toBe('cache');
    expect(header.clientAddr).toBe(`127.0.0.1:${socket.localPort}`);
  });

  it('moves 8 MiB each way intact, with backpressure', async () => {
    const { proxy } = await setup();
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    const data = randomBytes(8 * 1024 * 1024);
    const back = readAll(socket);
    socket.end(data);
    expect((await back).equals(data)).toBe(true);
  });

  it('keeps the bytes a user sends before the agent has accepted the stream', async () => {
    const { proxy } = await setup(async (stream) => {
      await new Promise((r) => setTimeout(r, 50));
      stream.pipe(stream);
    });
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    socket.write('early ');
    socket.end('and late');
    expect((await readAll(socket)).toString()).toBe('early and late');
  });

  it('ends the user connection when the agent ends the session', async () => {
    const { proxy } = await setup((stream) => void stream.end('+bye\r\n'));
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    expect((await readAll(socket)).toString()).toBe('+bye\r\n');
  });

  it("closes the agent's stream when the user hangs up", async () => {
    const { proxy, sessions } = await setup();
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    socket.write('x');
    await once(socket, 'data');
    const stream = sessions[0]!.stream;
    const closed = new Promise((r) => stream.once('close', r));
    socket.destroy();
    await closed;
    expect(stream.destroyed).toBe(true);
  });

  it("resets the agent's stream when the user's connection breaks", async () => {
    const { proxy, sessions } = await setup();
    const leaf = userLeaf({ database: 'cache' });
    const tcp = net.connect(proxy.listener.address.port, '127.0.0.1');
    const socket = tls.connect({ socket: tcp, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.redis], cert: leaf.certPem, key: leaf.keyPem, host: '127.0.0.1' });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    socket.write('x');
    await once(socket, 'data');
    const stream = sessions[0]!.stream;
    const closed = new Promise((r) => stream.once('close', r));
    tcp.resetAndDestroy(); // TCP RST: no orderly end
    await closed;
    expect(stream.errored?.message).toMatch(/stream reset by proxy/);
  });

  it('answers a certificate that is not routed to a database with an error', async () => {
    const { proxy, sessions } = await setup();
    expect(await refusal(proxy, userLeaf(null))).toBe('-ERR xport: certificate is not routed to a database; run xsh db login <name>\r\n');
    expect(sessions).toEqual([]);
  });

  it('answers when no agent serves the routed database', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, userLeaf({ database: 'nope' }))).toBe('-ERR xport: database "nope" is not available: no agent is serving it\r\n');
  });

  it("passes the agent's refusal on to the user", async () => {
    const { proxy } = await setup(() => {
      throw accessDenied('role dev may not use database "cache" as user "root"');
    });
    expect(await refusal(proxy, userLeaf({ database: 'cache', dbUser: 'root' }))).toBe('-ERR xport: role dev may not use database "cache" as user "root"\r\n');
  });

  it('refuses a host certificate on the database port', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, hostLeaf('agent-1'))).toBe('-ERR xport: certificate was not issued by a trusted CA\r\n');
  });

  it('refuses a user certificate of another cluster', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, userLeaf({ database: 'cache' }, { cluster: 'elsewhere' }))).toBe(
      '-ERR xport: certificate belongs to cluster "elsewhere", not "example"\r\n',
    );
  });

  it('refuses an admin identity, which is not for database access', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, userLeaf({ database: 'cache' }, { usage: 'admin' }))).toBe('-ERR xport: certificate is for admin use, not user\r\n');
  });

  it('asks a user without a client certificate to log in', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, null)).toBe('-ERR xport: no client certificate was presented\r\n');
  });
});

describe('db proxy handler without a pinned user CA', () => {
  it('checks usage, cluster and route from the TLS-verified certificate alone', async () => {
    const tunnels = new TunnelServer({ cluster: CLUSTER, log: nullLogger });
    const handler = createDbProxyHandler({ tunnels, cluster: CLUSTER, log: nullLogger, onError: (s, err) => s.write(`-ERR xport: ${messageOf(err)}\r\n`) });
    const proxy = await startProxy(tunnels, { dbHandler: handler });
    cleanups.push(async () => {
      await tunnels.close();
      await proxy.close();
    });
    expect(await refusal(proxy, hostLeaf('agent-1'))).toBe('-ERR xport: certificate is for host use, not database access\r\n');
    expect(await refusal(proxy, userLeaf(null))).toBe('-ERR xport: certificate is not routed to a database; run xsh db login <name>\r\n');
    expect(await refusal(proxy, hostLeaf('agent-1', { ca: testPki().foreignHostCA }))).toMatch(/^-ERR xport: client certificate was not accepted: /);
  });
});
