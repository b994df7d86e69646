/**
 * A small in-process stand-in for the xport proxy's public port, for client and xsh unit tests:
 * one TLS listener on 127.0.0.1 with real certificates from our pki, verifying client certificates
 * against the user CA and routing by ALPN like the real proxy — `http/1.1` to a JSON API serving
 * `GET /v1/databases` and `POST /v1/certs/db`, `xport-redis` to a line that names the route of the
 * presented certificate, followed by an echo of whatever the client sends.
 *
 * It is a test double for the server side only; the client code under test runs unchanged.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { CertificateAuthority } from '../../src/pki/ca.js';
import { Mux } from '../../src/mux/index.js';
import { decodeIdentity } from '../../src/pki/identity.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import type { Identity } from '../../src/pki/types.js';
import { ProfileStore } from '../../src/client/profile.js';

/** The databases GET /v1/databases answers with (the shape the real API returns). */
export const DATABASES = [
  {
    name: 'cache',
    description: 'Session cache',
    protocol: 'redis',
    type: 'self-hosted',
    uri: 'rediss://redis.internal:6379',
    mode: 'standalone',
    labels: { team: 'web', env: 'dev' },
    allowed_users: '[alice default]',
    allowed_db_users: ['alice', 'default'],
    denied_db_users: [],
    status: 'online',
    agents: 1,
  },
  {
    name: 'orders',
    protocol: 'redis',
    type: 'elasticache',
    uri: 'rediss://orders.abc.cache.amazonaws.com:6379?mode=cluster',
    mode: 'cluster',
    labels: { env: 'prod' },
    allowed_users: '[*], except: [admin]',
    allowed_db_users: ['*'],
    denied_db_users: ['admin'],
    status: 'online',
    agents: 2,
  },
];

/** FakeProxy is a running stand-in proxy. */
export interface FakeProxy {
  addr: string;
  cluster: string;
  /** connections counts the TLS connections accepted with an ALPN protocol. */
  connections(alpn: string): number;
  userCa: CertificateAuthority;
  hostCa: CertificateAuthority;
  /** Bodies of every POST /v1/certs/db, in order. */
  dbCertRequests: Record<string, unknown>[];
  /** Lifetime of issued routed certificates; tests shorten it to exercise renewal. */
  dbCertTtlMs: number;
  /** When set, POST /v1/certs/db answers access denied (a role changed under a running tunnel). */
  denyDbCerts: boolean;
  /** userCert issues a login certificate for user (as `xsh login` would receive). */
  userCert(user: string, ttlMs?: number): { keyPem: string; certPem: string };
  close(): Promise<void>;
}

const HOUR = 3600_000;

/** startFakeProxy starts the stand-in on 127.0.0.1 with a random port. */
export async function startFakeProxy(cluster = 'example'): Promise<FakeProxy> {
  const userCa = CertificateAuthority.create({ type: 'user', clusterName: cluster });
  const hostCa = CertificateAuthority.create({ type: 'host', clusterName: cluster });
  const hostKeys = generateKeyPair('ecdsa-p256');
  const now = Date.now();
  const hostCert = hostCa.issue({
    publicKey: hostKeys.publicKeyPem,
    commonName: 'proxy',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + HOUR),
    extKeyUsage: ['serverAuth'],
  });

  const state = { dbCertRequests: [] as Record<string, unknown>[], dbCertTtlMs: HOUR, denyDbCerts: false };
  const issue = (publicKey: string, identity: Identity, ttlMs: number) =>
    userCa.issue({
      publicKey,
      commonName: identity.user,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + ttlMs),
      extKeyUsage: ['clientAuth'],
      identity,
    }).certPem;

  const api = http.createServer((req, res) => {
    const socket = req.socket as tls.TLSSocket;
    const peer = decodeIdentity(socket.getPeerCertificate().raw);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!peer) return send(401, { error: { kind: 'auth-required', message: 'a client certificate is required' } });
    if (req.method === 'GET' && req.url === '/v1/databases') return send(200, { databases: DATABASES });
    if (req.method === 'POST' && req.url === '/v1/certs/db') {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as Record<string, unknown>;
        state.dbCertRequests.push(body);
        const database = String(body.database);
        if (!DATABASES.some((d) => d.name === database)) return send(404, { error: { kind: 'not-found', message: `database "${database}" not found` } });
        if (state.denyDbCerts) return send(403, { error: { kind: 'access-denied', message: `access to database "${database}" denied` } });
        if (body.db_user === 'admin') {
          return send(403, { error: { kind: 'access-denied', message: `access to database "${database}" as user "admin" denied`, hint: 'Ask an administrator for a role that allows it.' } });
        }
        // The public key must be a public key: a private one arriving here would be a leak.
        createPublicKey(String(body.public_key));
        const dbUser = typeof body.db_user === 'string' ? body.db_user : 'default';
        const dbName = typeof body.db_name === 'string' ? body.db_name : undefined;
        const identity: Identity = { ...peer, route: { database, dbUser, ...(dbName ? { dbName } : {}) } };
        const cert = issue(String(body.public_key), identity, state.dbCertTtlMs);
        send(200, { cert, expires: new Date(Date.now() + state.dbCertTtlMs).toISOString(), database, db_user: dbUser, ...(dbName ? { db_name: dbName } : {}) });
      });
      return;
    }
    send(404, { error: { kind: 'not-found', message: `no route ${req.method} ${req.url}` } });
  });

  const sockets = new Set<tls.TLSSocket>();
  const alpnCounts = new Map<string, number>();
  const server = tls.createServer(
    {
      key: hostKeys.privateKeyPem,
      cert: hostCert.certPem,
      ca: userCa.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1', 'xport-redis', 'xport-redis-mux'],
    },
    (socket) => {
      sockets.add(socket);
      alpnCounts.set(String(socket.alpnProtocol), (alpnCounts.get(String(socket.alpnProtocol)) ?? 0) + 1);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      if (socket.alpnProtocol === 'http/1.1') {
        api.emit('connection', socket);
        return;
      }
      const route = decodeIdentity(socket.getPeerCertificate().raw)?.route;
      const routed = `+routed ${route?.database ?? '-'} ${route?.dbUser ?? '-'} ${route?.dbName ?? '-'}\r\n`;
      if (socket.alpnProtocol === 'xport-redis-mux') {
        // Like the real proxy: one connection per routed certificate, a stream per session.
        const mux = new Mux(socket, { localIds: 'even', peerName: 'fake proxy' });
        mux.onStream((stream) => {
          stream.write(routed);
          stream.pipe(stream);
        });
        return;
      }
      socket.write(routed);
      socket.pipe(socket);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    addr,
    cluster,
    /** connections counts the TLS connections accepted with an ALPN protocol. */
    connections: (alpn: string) => alpnCounts.get(alpn) ?? 0,
    userCa,
    hostCa,
    get dbCertRequests() {
      return state.dbCertRequests;
    },
    get dbCertTtlMs() {
      return state.dbCertTtlMs;
    },
    set dbCertTtlMs(v: number) {
      state.dbCertTtlMs = v;
    },
    get denyDbCerts() {
      return state.denyDbCerts;
    },
    set denyDbCerts(v: boolean) {
      state.denyDbCerts = v;
    },
    userCert(user, ttlMs = HOUR) {
      const keys = generateKeyPair('ecdsa-p256');
      const identity: Identity = { user, roles: ['access'], traits: { db_users: [user], db_names: [] }, usage: 'user', cluster };
      return { keyPem: keys.privateKeyPem, certPem: issue(keys.publicKeyPem, identity, ttlMs) };
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // Connections left open by a failing test must not keep the worker alive.
        for (const s of sockets) s.destroy();
      }),
  };
}

/** loggedInHome makes an xsh home with a saved profile for user on proxy (keys in a file). */
export async function loggedInHome(proxy: FakeProxy, user = 'alice'): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'xsh-unit-'));
  const { keyPem, certPem } = proxy.userCert(user);
  await new ProfileStore(home).save({ webProxyAddr: proxy.addr, user, cluster: proxy.cluster }, { keyPem, certPem, hostCaPem: proxy.hostCa.certPem }, { useKeychain: false });
  return home;
}

/** identityFile writes an identity file (key, cert, host CA, user CA) and returns its path. */
export async function identityFile(proxy: FakeProxy, user = 'ci-bot'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'xsh-id-'));
  const { keyPem, certPem } = proxy.userCert(user);
  const path = join(dir, 'id.pem');
  await writeFile(path, keyPem + certPem + proxy.hostCa.certPem + proxy.userCa.certPem, { mode: 0o600 });
  return path;
}
