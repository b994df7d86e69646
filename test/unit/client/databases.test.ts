/**
 * Database listing, database logins (saved in the profile, or in memory for identity files) and
 * the renewing dialer, against an in-process stand-in proxy with real TLS and real certificates.
 */
import { createPublicKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeDbLogins,
  dbLogin,
  dbLogout,
  ensureDbLogin,
  listDatabases,
  loginSatisfies,
  routedDialer,
  type DbLogin,
} from '../../../src/client/databases.js';
import { ProfileStore } from '../../../src/client/profile.js';
import { loadSession, type ClientSession } from '../../../src/client/session.js';
import { certificateInfo } from '../../../src/pki/index.js';
import { identityFile, loggedInHome, startFakeProxy, type FakeProxy } from '../../helpers/fake-proxy.js';

let proxy: FakeProxy;
beforeAll(async () => {
  proxy = await startFakeProxy();
});
afterAll(async () => {
  await proxy.close();
});

async function profileSession(): Promise<{ session: ClientSession; store: ProfileStore; home: string }> {
  const home = await loggedInHome(proxy);
  return { session: await loadSession({ home, now: new Date() }), store: new ProfileStore(home), home };
}

/** firstLine reads the route line the stand-in proxy writes on each xport-redis connection. */
function firstLine(s: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString();
      const i = buf.indexOf('\r\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    s.once('error', reject);
  });
}

describe('listDatabases', () => {
  it('returns the databases the API lists, sorted by name, in the API shape', async () => {
    const { session } = await profileSession();
    const dbs = await listDatabases(session);
    expect(dbs.map((d) => d.name)).toEqual(['cache', 'orders']);
    expect(dbs[0]).toMatchObject({ protocol: 'redis', type: 'self-hosted', allowed_users: '[alice default]', labels: { env: 'dev', team: 'web' }, agents: 1 });
    expect(dbs[1]!.description).toBeUndefined();
  });
});

describe('dbLogin with a profile', () => {
  it('saves the routed certificate and its metadata where tsh keeps them', async () => {
    const { session, store, home } = await profileSession();
    const login = await dbLogin(session, store, { database: 'cache', dbUser: 'alice', dbName: '2' });
    const dir = join(home, 'keys', '127.0.0.1', 'alice-db', 'example');
    expect(login.certPath).toBe(join(dir, 'cache.crt'));
    expect((await readdir(dir)).sort()).toEqual(['cache.crt', 'cache.yaml']);
    expect(await readFile(join(dir, 'cache.crt'), 'utf8')).toBe(login.certPem);
    const meta = parse(await readFile(join(dir, 'cache.yaml'), 'utf8')) as Record<string, unknown>;
    expect(meta).toEqual({ db_user: 'alice', db_name: '2', expires: login.expires.toISOString() });
    expect(certificateInfo(login.certPem).identity?.route).toEqual({ database: 'cache', dbUser: 'alice', dbName: '2' });
  });

  it('sends the public half of the session key and nothing secret', async () => {
    const { session, store } = await profileSession();
    await dbLogin(session, store, { database: 'cache' });
    const body = proxy.dbCertRequests.at(-1)!;
    expect(Object.keys(body).sort()).toEqual(['database', 'public_key']);
    expect(body.public_key).toBe(createPublicKey(session.keyPem).export({ type: 'spki', format: 'pem' }));
    expect(String(body.public_key)).not.toContain('PRIVATE');
  });

  it('records the database user the server chose when none was asked for', async () => {
    const { session, store } = await profileSession();
    const login = await dbLogin(session, store, { database: 'cache' });
    expect(login.dbUser).toBe('default');
    expect(login.dbName).toBeUndefined();
  });

  it("surfaces the server's access-denied error unchanged", async () => {
    const { session, store } = await profileSession();
    await expect(dbLogin(session, store, { database: 'cache', dbUser: 'admin' })).rejects.toMatchObject({
      kind: 'access-denied',
      message: 'access to database "cache" as user "admin" denied',
      hint: 'Ask an administrator for a role that allows it.',
    });
  });
});

describe('activeDbLogins and dbLogout with a profile', () => {
  it('lists saved logins by database', async () => {
    const { session, store } = await profileSession();
    await dbLogin(session, store, { database: 'orders', dbUser: 'alice' });
    await dbLogin(session, store, { database: 'cache', dbName: '3' });
    const logins = await activeDbLogins(session, store);
    expect(logins.map((l) => [l.database, l.dbUser, l.dbName])).toEqual([
      ['cache', 'default', '3'],
      ['orders', 'alice', undefined],
    ]);
  });

  it('skips certificates issued for the key of an earlier login', async () => {
    const { session, store, home } = await profileSession();
    await dbLogin(session, store, { database: 'cache' });
    // A new `xsh login` replaces the key; the old routed certificate cannot be used with it.
    const { keyPem, certPem } = proxy.userCert('alice');
    await store.save({ webProxyAddr: proxy.addr, user: 'alice', cluster: proxy.cluster }, { keyPem, certPem, hostCaPem: proxy.hostCa.certPem }, { useKeychain: false });
    const fresh = await loadSession({ home, now: new Date() });
    expect(await activeDbLogins(fresh, store)).toEqual([]);
  });

  it('logs out of one database, then of all', async () => {
    const { session, store } = await profileSession();
    await dbLogin(session, store, { database: 'cache' });
    await dbLogin(session, store, { database: 'orders' });
    expect(await dbLogout(session, store, 'cache')).toEqual(['cache']);
    expect((await activeDbLogins(session, store)).map((l) => l.database)).toEqual(['orders']);
    expect(await dbLogout(session, store, 'cache')).toEqual([]);
    expect(await dbLogout(session, store)).toEqual(['orders']);
    expect(await activeDbLogins(session, store)).toEqual([]);
  });
});

describe('database logins with an identity file', () => {
  it('keeps routed certificates in memory and writes nothing', async () => {
    const home = await loggedInHome(proxy);
    const before = await readdir(home, { recursive: true });
    const session = await loadSession({ home, now: new Date(), identityFile: await identityFile(proxy), proxy: proxy.addr });
    const login = await dbLogin(session, undefined, { database: 'cache', dbUser: 'ci-bot' });
    expect(login.certPath).toBeUndefined();
    expect(await readdir(home, { recursive: true })).toEqual(before);
    expect((await activeDbLogins(session, undefined)).map((l) => l.database)).toEqual(['cache']);
    expect(await dbLogout(session, undefined)).toEqual(['cache']);
    expect(await activeDbLogins(session, undefined)).toEqual([]);
  });
});

describe('loginSatisfies', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const login: DbLogin = { database: 'cache', dbUser: 'alice', dbName: '2', certPem: '', expires: new Date(now.getTime() + 10 * 60_000) };
  it('accepts a matching login that is valid for more than a minute', () => {
    expect(loginSatisfies(login, { database: 'cache' }, now)).toBe(true);
    expect(loginSatisfies(login, { database: 'cache', dbUser: 'alice', dbName: '2' }, now)).toBe(true);
  });
  it('rejects another database, user or name', () => {
    expect(loginSatisfies(login, { database: 'orders' }, now)).toBe(false);
    expect(loginSatisfies(login, { database: 'cache', dbUser: 'bob' }, now)).toBe(false);
    expect(loginSatisfies(login, { database: 'cache', dbName: '0' }, now)).toBe(false);
  });
  it('rejects a login within a minute of expiry', () => {
    expect(loginSatisfies(login, { database: 'cache' }, new Date(login.expires.getTime() - 30_000))).toBe(false);
  });
});

describe('ensureDbLogin', () => {
  it('reuses a saved login that fits and issues a new one when the user differs', async () => {
    const { session, store } = await profileSession();
    const first = await ensureDbLogin(session, store, { database: 'cache', dbUser: 'alice' }, new Date());
    const count = proxy.dbCertRequests.length;
    const again = await ensureDbLogin(session, store, { database: 'cache' }, new Date());
    expect(first.issued).toBe(true);
    expect(again).toMatchObject({ issued: false, login: { dbUser: 'alice' } });
    expect(proxy.dbCertRequests.length).toBe(count);
    const other = await ensureDbLogin(session, store, { database: 'cache', dbUser: 'default' }, new Date());
    expect(other).toMatchObject({ issued: true, login: { dbUser: 'default' } });
  });
});

describe('routedDialer', () => {
  it('dials the proxy with the certificate routed to the database, one stream per session on a shared connection', async () => {
    const { session, store } = await profileSession();
    const login = await dbLogin(session, store, { database: 'cache', dbUser: 'alice', dbName: '1' });
    const dialer = routedDialer({ session, store, login, now: () => new Date() });
    const s = await dialer.dial();
    expect(await firstLine(s as TLSSocket)).toBe('+routed cache alice 1');
    const t = await dialer.dial();
    expect(await firstLine(t as TLSSocket)).toBe('+routed cache alice 1');
    // Both sessions travel on one TLS connection to the proxy.
    expect(proxy.connections('xport-redis-mux')).toBe(1);
    s.destroy();
    t.destroy();
  });

  it('renews a certificate within a minute of expiry once, however many dials arrive together', async () => {
    const { session, store } = await profileSession();
    const login = await dbLogin(session, store, { database: 'cache', dbUser: 'alice' });
    const renewed: DbLogin[] = [];
    // A clock 30 s before the certificate ends: every dial now needs a fresh one.
    const now = new Date(login.expires.getTime() - 30_000);
    const dialer = routedDialer({ session, store, login, now: () => now, onRenew: (l) => renewed.push(l) });
    const before = proxy.dbCertRequests.length;
    const sockets = await Promise.all(Array.from({ length: 5 }, () => dialer.dial()));
    expect(proxy.dbCertRequests.length).toBe(before + 1);
    expect(proxy.dbCertRequests.at(-1)).toMatchObject({ database: 'cache', db_user: 'alice' });
    expect(renewed).toHaveLength(1);
    expect(dialer.current().certPem).not.toBe(login.certPem);
    expect((await activeDbLogins(session, store))[0]!.certPem).toBe(dialer.current().certPem);
    for (const s of sockets) s.destroy();
  });

  it('fails the dial with a clear error when the proxy is unreachable', async () => {
    const { session, store } = await profileSession();
    const login = await dbLogin(session, store, { database: 'cache' });
    const gone = { ...session, proxyAddr: '127.0.0.1:1' };
    await expect(routedDialer({ session: gone, store, login, now: () => new Date() }).dial()).rejects.toMatchObject({
      kind: 'connection-problem',
      message: 'cannot connect to the proxy at 127.0.0.1:1: connection refused',
    });
  });
});
