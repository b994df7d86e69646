/**
 * The local tunnel against an in-process mutual-TLS echo server with certificates from our pki:
 * bytes arrive intact under concurrency, a failed dial reaches the client as a RESP error, and
 * close() ends everything.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionProblem } from '../../../src/errors.js';
import { CertificateAuthority } from '../../../src/pki/ca.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import { respError, startLocalTunnel, type LocalTunnel } from '../../../src/tunnel/local-tunnel.js';

const HOUR = 3600_000;
let echo: tls.Server;
let echoPort = 0;
let clientCreds: { key: string; cert: string; ca: string };
const echoSockets = new Set<tls.TLSSocket>();

beforeAll(async () => {
  const hostCa = CertificateAuthority.create({ type: 'host', clusterName: 'example' });
  const userCa = CertificateAuthority.create({ type: 'user', clusterName: 'example' });
  const now = Date.now();
  const leaf = (ca: CertificateAuthority, usage: 'serverAuth' | 'clientAuth') => {
    const k = generateKeyPair('ecdsa-p256');
    const c = ca.issue({
      publicKey: k.publicKeyPem,
      commonName: usage === 'serverAuth' ? 'proxy' : 'alice',
      ipAddresses: ['127.0.0.1'],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + HOUR),
      extKeyUsage: [usage],
    });
    return { key: k.privateKeyPem, cert: c.certPem };
  };
  const server = leaf(hostCa, 'serverAuth');
  const client = leaf(userCa, 'clientAuth');
  clientCreds = { ...client, ca: hostCa.certPem };
  echo = tls.createServer({ ...server, ca: userCa.certPem, requestCert: true, rejectUnauthorized: true, allowHalfOpen: true }, (s) => {
    echoSockets.add(s);
    s.on('close', () => echoSockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of echoSockets) s.destroy();
  await new Promise<void>((r) => echo.close(() => r()));
});

const tunnels: LocalTunnel[] = [];
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((t) => t.close()));
});

/** dialEcho opens one mutual-TLS connection to the echo server, like dialProxy does to the proxy. */
function dialEcho(): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: echoPort, ...clientCreds, ALPNProtocols: ['xport-redis'] });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

async function tunnel(dial: () => Promise<Duplex> = dialEcho): Promise<LocalTunnel> {
  const t = await startLocalTunnel({ host: '127.0.0.1', port: 0, dial });
  tunnels.push(t);
  return t;
}

function connect(t: LocalTunnel): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(t.address.port, t.address.host, () => resolve(s));
    s.once('error', reject);
  });
}

/** readAll collects what a socket receives until it ends. */
function readAll(s: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/** readN collects exactly n bytes. */
function readN(s: net.Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.once('end', () => got < n && reject(new Error(`ended after ${got} of ${n} bytes`)));
  });
}

describe('startLocalTunnel', () => {
  it('listens on loopback with a system-chosen port when the port is 0', async () => {
    const t = await tunnel();
    expect(t.address.host).toBe('127.0.0.1');
    expect(t.address.port).toBeGreaterThan(0);
  });

  it('carries 64 KiB intact for each of 100 concurrent clients, each on its own proxy connection', async () => {
    let dials = 0;
    const t = await tunnel(() => {
      dials++;
      return dialEcho();
    });
    const size = 64 * 1024;
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const payload = randomBytes(size);
        const s = await connect(t);
        const reply = readN(s, size);
        s.write(payload);
        const got = await reply;
        s.destroy();
        return got.equals(payload);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(dials).toBe(100);
    expect(t.stats.accepted).toBe(100);
    expect(t.stats.bytesFromClients).toBe(100 * size);
  });

  it('delivers the replies to a client that shut down its sending side (half-close)', async () => {
    const t = await tunnel();
    const s = await connect(t);
    const all = readAll(s);
    s.end('PING\r\n');
    expect((await all).toString()).toBe('PING\r\n');
  });

  it('answers a client whose proxy dial fails with a RESP error, then ends the connection', async () => {
    const t = await tunnel(async () => {
      throw connectionProblem('cannot connect to the proxy at 127.0.0.1:1: connection refused');
    });
    const s = await connect(t);
    s.write('*1\r\n$4\r\nPING\r\n');
    const got = (await readAll(s)).toString();
    expect(got).toBe('-ERR xport: cannot connect to the proxy at 127.0.0.1:1: connection refused\r\n');
    expect(t.stats.dialFailures).toBe(1);
  });

  it('keeps a multi-line dial error on one RESP line', () => {
    expect(respError('first\r\nsecond\nthird')).toBe('-ERR xport: first second third\r\n');
  });

  it('does not read from a client before its proxy connection exists', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = await tunnel(async () => {
      await gate;
      return dialEcho();
    });
    const s = await connect(t);
    const reply = readN(s, 5);
    s.write('early');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.stats.bytesFromClients).toBe(0);
    release();
    expect((await reply).toString()).toBe('early');
  });

  it('destroys the proxy connection when the client goes away', async () => {
    let upstream: Duplex | undefined;
    const t = await tunnel(async () => (upstream = await dialEcho()));
    const s = await connect(t);
    const r = readN(s, 2);
    s.write('hi');
    await r;
    s.destroy();
    await once(upstream!, 'close');
    expect(upstream!.destroyed).toBe(true);
    await new Promise((res) => setTimeout(res, 20));
    expect(t.stats.active).toBe(0);
  });

  it('close() stops listening and ends every open connection', async () => {
    const t = await startLocalTunnel({ host: '127.0.0.1', port: 0, dial: dialEcho });
    const clients = await Promise.all([connect(t), connect(t), connect(t)]);
    // Make sure each connection is piped through before closing.
    await Promise.all(
      clients.map(async (c) => {
        const r = readN(c, 1);
        c.write('x');
        await r;
      }),
    );
    expect(t.stats.active).toBe(3);
    await t.close();
    await Promise.all(clients.map((c) => (c.destroyed ? Promise.resolve() : once(c, 'close'))));
    expect(clients.every((c) => c.destroyed)).toBe(true);
    await expect(connect(t)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('reports a port that is already in use as a connection problem with a hint', async () => {
    const t = await tunnel();
    await expect(startLocalTunnel({ host: '127.0.0.1', port: t.address.port, dial: dialEcho })).rejects.toMatchObject({
      kind: 'connection-problem',
      message: `cannot start the local tunnel on 127.0.0.1:${t.address.port}: the port is already in use`,
    });
  });
});
