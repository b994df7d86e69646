/**
 * e2e: the public port as a stranger sees it (issue 8 §3, §4), against the real `xctl start`:
 * raw TCP and TLS sockets that stall in the handshake, send no ALPN, trickle headers or bodies, or
 * go idle; a flood of anonymous connections from many loopback addresses while a real database
 * session runs; audited 401/403 answers and refused certificates; malformed escapes; tokens kept
 * out of the log; role updates; lockout per source address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { addUser, inviteToken, startXport, tmpDir, type XportService, type XshUser } from '../helpers/cli.js';
import { startDbCluster, waitFor, type DbCluster } from '../helpers/db-cluster.js';

/** hostPort splits the service's dialable address. */
function portOf(svc: XportService): number {
  return Number(svc.addr.slice(svc.addr.lastIndexOf(':') + 1));
}

interface DialOptions {
  alpn?: string[];
  localAddress?: string;
  cert?: string;
  key?: string;
}

/** tlsDial completes a TLS handshake with the proxy (certificate not checked: we play a stranger). */
async function tlsDial(port: number, o: DialOptions = {}): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    socket: net.connect({ host: '127.0.0.1', port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }),
    rejectUnauthorized: false,
    ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
    ...(o.cert ? { cert: o.cert, key: o.key } : {}),
  });
  socket.on('error', () => {});
  await once(socket, 'secureConnect');
  return socket;
}

/** collect gathers what a socket receives until it closes; `closed` resolves then. */
function collect(socket: net.Socket): { text: () => string; closed: Promise<void> } {
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())));
  return { text: () => got, closed };
}

/** trickle writes one small piece every 200 ms until the socket closes. */
function trickle(socket: net.Socket, piece: string): void {
  const t = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(t);
    else socket.write(piece);
  }, 200);
  socket.once('close', () => clearInterval(t));
}

interface HttpAnswer {
  status: number;
  body: string;
}

/** request sends one HTTP/1.1 request over a fresh TLS connection and reads the answer. */
async function request(port: number, method: string, path: string, o: DialOptions & { body?: string } = {}): Promise<HttpAnswer> {
  const socket = await tlsDial(port, { alpn: ['http/1.1'], ...o });
  const c = collect(socket);
  const body = o.body ?? '';
  socket.write(
    `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
      (body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '') +
      `\r\n${body}`,
  );
  await c.closed;
  const text = c.text();
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  if (!m) throw new Error(`no HTTP answer to ${method} ${path}: ${JSON.stringify(text)}`);
  return { status: Number(m[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** pemBlocks pulls the certificate and the private key out of an identity file. */
async function identityFile(path: string): Promise<{ cert: string; key: string }> {
  const text = await readFile(path, 'utf8');
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)![0];
  const key = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----\n?/.exec(text)![0];
  return { cert, key };
}

type AuditRow = { type: string; user?: string; route?: string; status?: number; error?: string; name?: string; 'addr.remote'?: string; [k: string]: unknown };

async function auditOf(svc: XportService, type: string): Promise<AuditRow[]> {
  const r = await svc.xctl(['audit', 'ls', `--type=${type}`, '--limit=5000', '--format=json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as AuditRow[];
}

const publicKeyPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('the public port against a stranger (short limits)', () => {
  let svc: XportService;
  let port: number;
  let alice: XshUser;
  let dir: string;

  beforeAll(async () => {
    dir = await tmpDir('xport-edge-');
    svc = await startXport({
      config: [
        'version: v1',
        'cluster_name: edge',
        `data_dir: ${join(dir, 'data')}`,
        'log: { severity: debug }',
        'proxy_service:',
        '  listen_addr: 127.0.0.1:0',
        '  limits:',
        '    handshake_timeout: 500ms',
        '    idle_timeout: 1s',
        '    header_timeout: 1s',
        '    body_timeout: 1s',
        '    keep_alive_timeout: 1s',
        '    max_anonymous_connections: 200',
        '    max_anonymous_connections_per_source: 50',
        '',
      ].join('\n'),
    });
    port = portOf(svc);
    alice = await addUser(svc, 'alice', ['--roles=access'], 'alice-long-password');
  }, 90_000);
  afterAll(async () => {
    await svc?.stop();
  });

  describe('timeouts enforced by the listener', () => {
    it('closes a TCP connection that never sends a byte', async () => {
      const c = collect(net.connect({ host: '127.0.0.1', port }));
      await c.closed;
      expect(c.text()).toBe('');
    }, 20_000);

    it('closes a connection that stops in the middle of its TLS handshake', async () => {
      const s = net.connect({ host: '127.0.0.1', port });
      const c = collect(s);
      // The first bytes of a ClientHello that announces 512 bytes and never sends them.
      s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
      await c.closed;
    }, 20_000);

    it('closes a TLS connection without ALPN that sends nothing after the handshake, answering 408', async () => {
      const s = await tlsDial(port);
      const c = collect(s);
      await c.closed;
      expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
    }, 20_000);

    it('closes a web API connection whose headers trickle in (slowloris)', async () => {
      const s = await tlsDial(port, { alpn: ['http/1.1'] });
      const c = collect(s);
      s.write('GET /v1/webapi/ping HTTP/1.1\r\nHost: localhost\r\n');
      trickle(s, 'X-Slow: 1\r\n');
      await c.closed;
      expect(c.text()).not.toMatch(/HTTP\/1\.1 200/);
    }, 20_000);

    it('closes a request whose body stops arriving', async () => {
      const s = await tlsDial(port, { alpn: ['http/1.1'] });
      const c = collect(s);
      s.write('POST /v1/webapi/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"user":');
      trickle(s, ' ');
      await c.closed;
      expect(c.text()).not.toMatch(/HTTP\/1\.1 [2-4]\d\d/);
    }, 20_000);

    it('closes a kept-alive connection that goes idle after its request', async () => {
      const s = await tlsDial(port, { alpn: ['http/1.1'] });
      const c = collect(s);
      s.write('GET /v1/webapi/ping HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await c.closed;
      expect(c.text()).toMatch(/^HTTP\/1\.1 200 /);
    }, 20_000);

    it('closes a kept-alive connection whose next request trickles in', async () => {
      const s = await tlsDial(port, { alpn: ['http/1.1'] });
      const c = collect(s);
      s.write('GET /v1/webapi/ping HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await waitFor('the first answer', async () => /\r\n\r\n\{/.test(c.text()));
      s.write('GET /v1/webapi/ping HTTP/1.1\r\n');
      trickle(s, 'X');
      await c.closed;
      expect(c.text().match(/HTTP\/1\.1 200/g)).toHaveLength(1);
    }, 20_000);

    it('closes a database tunnel connection (xport-redis-mux) that opens no stream', async () => {
      const s = await tlsDial(port, { alpn: ['xport-redis-mux'] });
      await collect(s).closed;
    }, 20_000);
  });

  describe('bad URLs and tokens in URLs', () => {
    it('answers a malformed percent-escape with 400, never 500', async () => {
      for (const [method, path] of [
        ['GET', '/v1/webapi/usertokens/%zz'],
        ['POST', '/v1/webapi/usertokens/abc%E0%A4%A'],
        ['GET', '/web/invite/%'],
        ['DELETE', '/v1/users/%zz'],
      ] as const) {
        const a = await request(port, method, path, method === 'POST' ? { body: '{"password":"x"}' } : {});
        expect({ path, status: a.status }).toEqual({ path, status: 400 });
        expect(JSON.parse(a.body)).toMatchObject({ error: { kind: 'bad-parameter' } });
      }
    });

    it('never writes an invite or reset token to the log, whatever happens to the request', async () => {
      const add = await svc.xctl(['users', 'add', 'carol', '--roles=access']);
      expect(add.code).toBe(0);
      const invite = inviteToken(add.stdout);
      await addUser(svc, 'dave', ['--roles=access'], 'dave-long-password');
      const reset = await svc.xctl(['users', 'reset', 'dave']);
      expect(reset.code).toBe(0);
      const resetToken = /\/web\/reset\/([0-9a-f]+)/.exec(reset.stdout)![1]!;
      for (const t of [invite, resetToken]) {
        await request(port, 'GET', `/web/invite/${t}`);
        await request(port, 'GET', `/web/reset/${t}`);
        await request(port, 'GET', `/v1/webapi/usertokens/${t}`);
        await request(port, 'POST', `/v1/webapi/usertokens/${t}`, { body: 'not json' });
        await request(port, 'POST', `/v1/webapi/usertokens/${t}`, { body: '{"password":"short"}' });
        await request(port, 'GET', `/web/invite/${t}%zz`);
        await request(port, 'POST', `/v1/webapi/usertokens/${t}%zz`, { body: '{}' });
        await request(port, 'GET', `/v1/nothing-here/${t}`);
      }
      // A line logged after all of the above: once it is in, every earlier line is too.
      const before = svc.output().split('database connection refused').length;
      const marker = await tlsDial(port, { alpn: ['xport-redis'], localAddress: '127.0.0.10' });
      await collect(marker).closed;
      await waitFor('the marker log line', async () => svc.output().split('database connection refused').length > before);
      expect(svc.output()).not.toContain(invite);
      expect(svc.output()).not.toContain(resetToken);
    }, 60_000);
  });

  describe('denials are audited', () => {
    it('audits 401 and 403 answers as web.access.denied, naming the route, at most 20 a minute per address', async () => {
      const signed = join(dir, 'alice-identity.pem');
      const sign = await svc.xctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${signed}`, '--ttl=1h']);
      expect(sign.code).toBe(0);
      const id = await identityFile(signed);
      expect((await request(port, 'GET', '/v1/users', { ...id, localAddress: '127.0.0.4' })).status).toBe(403);
      for (let i = 0; i < 30; i++) expect((await request(port, 'GET', '/v1/users', { localAddress: '127.0.0.5' })).status).toBe(401);
      expect((await request(port, 'GET', '/v1/tokens', { localAddress: '127.0.0.6' })).status).toBe(401);
      await waitFor('the last denial in the audit log', async () => (await auditOf(svc, 'web.access.denied')).some((e) => e['addr.remote'] === '127.0.0.6'));
      const events = await auditOf(svc, 'web.access.denied');
      expect(events.find((e) => e['addr.remote'] === '127.0.0.4')).toMatchObject({ user: 'alice', route: 'GET /v1/users', status: 403, success: false });
      const flood = events.filter((e) => e['addr.remote'] === '127.0.0.5');
      expect(flood).toHaveLength(20);
      expect(flood[0]).toMatchObject({ route: 'GET /v1/users', status: 401, error: 'this request needs a login (no client certificate was sent)' });
      expect(events.find((e) => e['addr.remote'] === '127.0.0.6')).toMatchObject({ route: 'GET /v1/tokens', status: 401 });
    }, 60_000);

    it('audits a refused certificate at the database port as db.connection.refused', async () => {
      const signed = join(dir, 'alice-unrouted.pem');
      expect((await svc.xctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${signed}`, '--ttl=1h'])).code).toBe(0);
      const id = await identityFile(signed);
      const none = await tlsDial(port, { alpn: ['xport-redis'], localAddress: '127.0.0.7' });
      const noneAnswer = collect(none);
      await noneAnswer.closed;
      const unrouted = await tlsDial(port, { alpn: ['xport-redis'], localAddress: '127.0.0.8', ...id });
      const unroutedAnswer = collect(unrouted);
      await unroutedAnswer.closed;
      expect(noneAnswer.text()).toBe('-ERR xport: no client certificate was presented\r\n');
      expect(unroutedAnswer.text()).toBe('-ERR xport: certificate is not routed to a database; run xsh db login <name>\r\n');
      await waitFor('both refusals in the audit log', async () => (await auditOf(svc, 'db.connection.refused')).length >= 2);
      const events = await auditOf(svc, 'db.connection.refused');
      expect(events.find((e) => String(e['addr.remote']).startsWith('127.0.0.7:'))).toMatchObject({ error: 'no client certificate was presented', success: false });
      expect(events.find((e) => String(e['addr.remote']).startsWith('127.0.0.8:'))).toMatchObject({
        user: 'alice',
        error: 'certificate is not routed to a database; run xsh db login <name>',
      });
    }, 60_000);

    it('audits a role replaced with --force as role.updated, not role.created', async () => {
      const file = join(dir, 'role.yaml');
      await writeFile(file, 'kind: role\nversion: v1\nmetadata: { name: ops }\nspec:\n  allow:\n    db_labels: { env: dev }\n');
      expect((await svc.xctl(['create', '-f', file])).code).toBe(0);
      expect((await svc.xctl(['create', '-f', file, '--force'])).code).toBe(0);
      await waitFor('role.updated', async () => (await auditOf(svc, 'role.updated')).length > 0);
      expect((await auditOf(svc, 'role.updated')).map((e) => e.name)).toEqual(['ops']);
      expect((await auditOf(svc, 'role.created')).map((e) => e.name)).toEqual(['ops']);
    }, 60_000);
  });

  describe('lockout', () => {
    it('does not let wrong guesses from one address lock the user out from another', async () => {
      const login = (password: string) =>
        request(port, 'POST', '/v1/webapi/login', { localAddress: '127.0.0.9', body: JSON.stringify({ user: 'alice', password, public_key: publicKeyPem() }) });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await login(`wrong guess ${i}`)).status);
      expect(statuses.slice(0, 5).every((s) => s === 403)).toBe(true);
      expect(statuses[5]).toBe(429);
      // Even the right password is refused from the guessing address…
      expect((await login('alice-long-password')).status).toBe(429);
      // …but alice herself, from her own address, gets in.
      const own = await alice.xsh(['login', `--proxy=${svc.addr}`, '--user=alice', `--ca-pin=${svc.pin}`, '--password-stdin'], { input: 'alice-long-password\n' });
      expect(own.stderr).not.toContain('ERROR');
      expect(own.code).toBe(0);
    }, 60_000);
  });
});

/** fdCount is how many file descriptors process pid holds now. */
function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

describe('a flood of anonymous connections (1,024 file descriptors)', () => {
  let c: DbCluster;
  beforeAll(async () => {
    const dir = await tmpDir('xport-flood-');
    c = await startDbCluster({
      fdLimit: 1024,
      config: [
        'version: v1',
        `data_dir: ${join(dir, 'data')}`,
        'proxy_service:',
        '  listen_addr: 127.0.0.1:0',
        '  limits:',
        // Long enough that the flood is still held while the database session runs.
        '    handshake_timeout: 5m',
        '    max_anonymous_connections: 300',
        '    max_anonymous_connections_per_source: 100',
        '',
      ].join('\n'),
    });
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('holds at most the configured anonymous connections while 1,200 arrive, and a real database session still works', async () => {
    const port = portOf(c.svc);
    const baseline = fdCount(c.svc.pid);
    const sockets: net.Socket[] = [];
    let settled = 0;
    const open = () => sockets.filter((s) => !s.destroyed).length;
    const dial = (localAddress: string) =>
      new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port, localAddress });
        sockets.push(s);
        s.on('error', () => {});
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      }).then(() => void settled++);
    // 300 from one address (its share is 100), then 900 from nine others (300 in total).
    const dials: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) dials.push(dial('127.0.0.2'));
    for (let a = 3; a <= 11; a++) for (let i = 0; i < 100; i++) dials.push(dial(`127.0.0.${a}`));
    await Promise.all(dials);
    expect(settled).toBe(1200);
    await waitFor('the proxy to shed connections over its caps', async () => open() <= 300, 60_000);
    expect(fdCount(c.svc.pid)).toBeLessThanOrEqual(baseline + 300 + 50);
    // A real session through xsh, TLS and the agent to redis-server, while the flood is held.
    const set = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'SET', 'flood', 'survived']);
    expect(set.stderr).not.toContain('ERROR');
    expect(set.stdout.trim()).toBe('OK');
    const get = await c.alice.xsh(['db', 'connect', 'cache', '--db-user=alice', '--', '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning', 'GET', 'flood']);
    expect(get.stdout.trim()).toBe('survived');
    expect(open()).toBeGreaterThan(0);
    for (const s of sockets) s.destroy();
  }, 180_000);
});
