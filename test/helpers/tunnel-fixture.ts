/**
 * Shared fixtures for the proxy tunnel tests: a cluster's host and user CAs minted in-process,
 * certificates for the proxy, agents and users, loopback TLS connection pairs, an in-memory
 * Duplex pair, a capturing logger and a small wait helper. Everything listens on 127.0.0.1.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Duplex, Writable } from 'node:stream';
import tls from 'node:tls';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';
import type { ExtKeyUsage, Identity, IdentityUsage, RouteToDatabase } from '../../src/pki/index.js';
import { ALPN, startListener } from '../../src/proxy/listener.js';
import type { Listener, ProtocolHandler } from '../../src/proxy/listener.js';
import { createLogger, nullLogger } from '../../src/util/log.js';
import type { Logger } from '../../src/util/log.js';

export const CLUSTER = 'example';

/** TestPki is one cluster's CAs (plus a foreign host CA) for tests. */
export interface TestPki {
  hostCA: CertificateAuthority;
  userCA: CertificateAuthority;
  foreignHostCA: CertificateAuthority;
}

let cached: TestPki | undefined;

/** testPki creates the CAs once per test file. */
export function testPki(): TestPki {
  cached ??= {
    hostCA: CertificateAuthority.create({ type: 'host', clusterName: CLUSTER }),
    userCA: CertificateAuthority.create({ type: 'user', clusterName: CLUSTER }),
    foreignHostCA: CertificateAuthority.create({ type: 'host', clusterName: 'elsewhere' }),
  };
  return cached;
}

/** Leaf is a certificate and its key, PEM. */
export interface Leaf {
  certPem: string;
  keyPem: string;
}

/** issueLeaf signs a leaf for a fresh ECDSA key. */
export function issueLeaf(
  ca: CertificateAuthority,
  identity: Identity,
  opts: { extKeyUsage?: ExtKeyUsage[]; names?: boolean; ttlMs?: number; notBefore?: Date } = {},
): Leaf {
  const keys = generateKeyPair('ecdsa-p256');
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  const cert = ca.issue({
    publicKey: keys.publicKeyPem,
    commonName: identity.user,
    ...(opts.names === false ? {} : { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
    notBefore,
    notAfter: new Date(notBefore.getTime() + (opts.ttlMs ?? 3_600_000)),
    extKeyUsage: opts.extKeyUsage ?? ['serverAuth', 'clientAuth'],
    identity,
  });
  return { certPem: cert.certPem, keyPem: keys.privateKeyPem };
}

/** hostLeaf issues a host certificate (proxy or agent) for hostId. */
export function hostLeaf(hostId: string, opts: { ca?: CertificateAuthority; cluster?: string; usage?: IdentityUsage } = {}): Leaf {
  const pki = testPki();
  return issueLeaf(opts.ca ?? pki.hostCA, {
    user: hostId,
    roles: [],
    traits: { db_users: [], db_names: [] },
    usage: opts.usage ?? 'host',
    cluster: opts.cluster ?? CLUSTER,
    hostId,
  });
}

/** userLeaf issues a user certificate, routed to a database unless route is null. */
export function userLeaf(route: RouteToDatabase | null, opts: { user?: string; usage?: IdentityUsage; cluster?: string } = {}): Leaf {
  const identity: Identity = {
    user: opts.user ?? 'alice',
    roles: ['dev'],
    traits: { db_users: ['alice'], db_names: [] },
    usage: opts.usage ?? 'user',
    cluster: opts.cluster ?? CLUSTER,
  };
  if (route) identity.route = route;
  return issueLeaf(testPki().userCA, identity, { extKeyUsage: ['clientAuth'], names: false });
}

/** proxyTls is what the proxy's listener needs: its chain, key and the client CAs it trusts. */
export function proxyTls(): { certChainPem: string; keyPem: string; clientCaPems: string[] } {
  const pki = testPki();
  const leaf = hostLeaf('proxy.example');
  return { certChainPem: leaf.certPem + pki.hostCA.certPem, keyPem: leaf.keyPem, clientCaPems: [pki.userCA.certPem, pki.hostCA.certPem] };
}

/** TlsPair is both ends of one loopback mutual-TLS connection. */
export interface TlsPair {
  client: tls.TLSSocket;
  server: tls.TLSSocket;
  close(): void;
}

/** tlsPair opens one mutual-TLS connection on 127.0.0.1 (proxy certificate ↔ agent certificate). */
export async function tlsPair(): Promise<TlsPair> {
  const pki = testPki();
  const proxy = proxyTls();
  const agent = hostLeaf('agent-1');
  const server = tls.createServer({ cert: proxy.certChainPem, key: proxy.keyPem, ca: proxy.clientCaPems, requestCert: true, rejectUnauthorized: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const serverSide = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const client = tls.connect({ host: '127.0.0.1', port, cert: agent.certPem, key: agent.keyPem, ca: pki.hostCA.certPem });
  await once(client, 'secureConnect');
  const [serverSocket] = await serverSide;
  server.close();
  return {
    client,
    server: serverSocket,
    close() {
      client.destroy();
      serverSocket.destroy();
    },
  };
}

/** MemoryEnd is one end of {@link memoryPair}; `writes` counts the writes made on it. */
export interface MemoryEnd extends Duplex {
  writes: number;
}

/**
 * memoryPair is two Duplexes wired to each other in memory: each write on one becomes exactly
 * one 'data' chunk on the other, which lets a test control chunk boundaries byte by byte.
 */
export function memoryPair(): [MemoryEnd, MemoryEnd] {
  const ends: MemoryEnd[] = [];
  const make = (peer: () => MemoryEnd): MemoryEnd => {
    const end = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        end.writes++;
        const p = peer();
        if (!p.destroyed) p.push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        if (!p.destroyed) p.destroy();
        cb(err);
      },
    }) as MemoryEnd;
    end.writes = 0;
    return end;
  };
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

/** CapturedLog is a logger whose lines a test can read. */
export interface CapturedLog {
  log: Logger;
  lines: string[];
}

/** captureLog returns a debug-level logger that keeps its lines. */
export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: createLogger(out, 'debug', 'test'), lines };
}

/** waitFor polls cond every 5 ms until it holds, failing after timeoutMs with what. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * readAll collects a readable side until it ends. It listens for events rather than using
 * `for await`, which destroys a Duplex (writable side included) when its readable side ends.
 */
export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** TestProxy is a real proxy listener on 127.0.0.1 with the tunnel (and optionally db) handlers. */
export interface TestProxy {
  listener: Listener;
  addr: string;
  /** The server ends of agent tunnels, in arrival order. */
  tunnelSockets: tls.TLSSocket[];
  close(): Promise<void>;
}

/** startProxy runs startListener with a TunnelServer's handler (and a db handler if given). */
export async function startProxy(
  tunnels: { handleSocket(socket: tls.TLSSocket): void },
  opts: { dbHandler?: ProtocolHandler; port?: number; log?: Logger } = {},
): Promise<TestProxy> {
  const tunnelSockets: tls.TLSSocket[] = [];
  const listener = await startListener({
    listenAddr: `127.0.0.1:${opts.port ?? 0}`,
    ...proxyTls(),
    handlers: {
      [ALPN.tunnel]: (socket) => {
        tunnelSockets.push(socket);
        tunnels.handleSocket(socket);
      },
      ...(opts.dbHandler ? { [ALPN.redis]: opts.dbHandler } : {}),
    },
    log: opts.log ?? nullLogger,
  });
  return { listener, addr: `127.0.0.1:${listener.address.port}`, tunnelSockets, close: () => listener.close() };
}

/** agentTls is what a TunnelAgent needs: its host certificate and the host CA. */
export function agentTls(hostId: string, leaf: Leaf = hostLeaf(hostId)): { certPem: string; keyPem: string; caPem: string } {
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: testPki().hostCA.certPem };
}
