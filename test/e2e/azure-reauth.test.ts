/**
 * e2e: Azure credentials that change under a live session — an access key regenerated while a
 * session is open, and Entra ID tokens that expire during a long session — with the real SDKs in
 * `xctl start`, the local Azure fakes, and a Redis that, like Azure, drops a connection whose token
 * expired without a fresh AUTH (test/helpers/azure-redis enforceTokenExpiry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { addUser, startXport, tmpDir, type XportService, type XshUser, startTunnel } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';
import { startAzureEndpoints, type AzureEndpoints, type Cache, type Principal } from '../helpers/azure-endpoints.js';
import { startAzureRedis, type AzureRedis, type TokenExpiryEnforcer } from '../helpers/azure-redis.js';

const SUB = '00000000-0000-0000-0000-0000000000r1';
/**
 * Short, so that a session outlives three tokens within seconds: the agent replaces an Entra ID
 * token at half its life at the latest (src/cloud/azure/entra.ts replaceTime) and re-AUTHs a fifth
 * of that early, so a 10 s token is replaced about every 4 s, some 6 s before it expires.
 */
const TOKEN_LIFETIME_S = 10;


requireRedis();

describe('Azure credentials changing under live sessions', () => {
  let az: AzureEndpoints;
  let oss: AzureRedis;
  let entra: AzureRedis;
  let svc: XportService;
  let alice: XshUser;
  let cache: Cache;
  let enforcer: TokenExpiryEnforcer;
  const agent: Principal = {
    clientId: 'reauth-agent',
    objectId: '44444444-4444-4444-8444-444444444444',
    secret: 'reauth-agent-secret',
    assignments: [{ scope: `/subscriptions/${SUB}`, actions: ['Microsoft.Cache/redis/read', 'Microsoft.Cache/redis/listKeys/action'] }],
  };
  const reader: Principal = { clientId: 'reauth-reader', objectId: '55555555-5555-4555-8555-555555555555', managed: true, assignments: [] };
  /** The expiry of the newest token issued to user at or before authTime: the one an AUTH then used. */
  const expiryAt = (user: string, authTime: number) =>
    az.issued
      .filter((t) => t.principal.objectId === user && t.audience === 'https://redis.azure.com' && t.expiresOn.getTime() - TOKEN_LIFETIME_S * 1000 <= authTime)
      .at(-1)
      ?.expiresOn.getTime();

  beforeAll(async () => {
    az = await startAzureEndpoints();
    az.redisTokenLifetimeSec = TOKEN_LIFETIME_S;
    [oss, entra] = await Promise.all([startAzureRedis(az.ca), startAzureRedis(az.ca)]);
    az.principals.push(agent, reader);
    az.subscriptions.push({ id: SUB, state: 'Enabled' });
    cache = { subscription: SUB, resourceGroup: 'rg', name: 'rotating', location: 'eastus', hostName: '127.0.0.1', sslPort: oss.port, primaryKey: 'first-primary', secondaryKey: 'first-secondary' };
    az.caches.push(cache, { ...cache, name: 'tokens', sslPort: entra.port, disableAccessKeyAuthentication: true });
    await oss.setKeys(cache.primaryKey, cache.secondaryKey);
    az.onKeyRotated(async (c) => oss.setKeys(c.primaryKey, c.secondaryKey));
    az.onToken(async (t) => {
      if (t.audience === 'https://redis.azure.com') await entra.allowToken(t.principal.objectId, t.token, 'Data Owner');
    });
    const tokenUsers = () => new Set([agent.objectId, reader.objectId]);
    enforcer = await entra.enforceTokenExpiry(tokenUsers, expiryAt);

    const dir = await tmpDir('xport-azure-reauth-');
    const config = [
      'version: v1',
      `data_dir: ${join(dir, 'data')}`,
      'proxy_service: { listen_addr: 127.0.0.1:0 }',
      'db_service:',
      '  enabled: true',
      `  azure_cloud: { authority_host: '${az.url}', resource_manager_endpoint: '${az.url}' }`,
      `  azure: [{ types: [redis], regions: ['*'], subscriptions: ['${SUB}'], identities: { reader: { client_id: ${reader.clientId} } } }]`,
      '  databases:',
      '    - name: tokens-agent',
      '      protocol: redis',
      `      uri: rediss://127.0.0.1:${entra.port}`,
      `      azure: { resource_id: /subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Cache/Redis/tokens, auth: entra_id }`,
      '',
    ].join('\n');
    svc = await startXport({ config, env: az.env(agent) });
    alice = await addUser(svc, 'alice', ['--roles=access', '--db-users=default,reader']);
  }, 120_000);

  afterAll(async () => {
    enforcer?.stop();
    await svc?.stop();
    await Promise.all([oss?.stop(), entra?.stop()]);
    await az?.stop();
  });

  it('keeps a session through a key rotation and fetches the new key for the next one after WRONGPASS', async () => {
    const tunnel = await startTunnel(alice, ['rotating', '--db-user=default']);
    const live = new Redis({ host: '127.0.0.1', port: tunnel.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await live.connect();
      expect(await live.set('k', 'before')).toBe('OK');
      const listKeys = () => az.requests.filter((r) => r.endsWith('/redis/rotating/listKeys')).length;
      const fetched = listKeys();
      await az.rotateKey(cache, 'primary');
      // The open session was authenticated before the rotation and goes on.
      expect(await live.get('k')).toBe('before');
      // A new session: the cached key is refused, dropped, fetched again, and the retry succeeds.
      const r = await alice.xsh(['db', 'connect', 'rotating', '--db-user=default', '--', 'GET', 'k']);
      expect(r.stderr).not.toContain('ERROR');
      expect(r.stdout.trim()).toBe('before');
      expect(listKeys()).toBe(fetched + 1);
    } finally {
      live.disconnect();
      await tunnel.stop();
    }
  });

  it(`re-authenticates long sessions before their ${TOKEN_LIFETIME_S} s Entra ID tokens expire, for the agent's and a db user's identity`, async () => {
    const tunnels = await Promise.all([startTunnel(alice, ['tokens-agent', '--db-user=default']), startTunnel(alice, ['tokens', '--db-user=reader'])]);
    const clients = tunnels.map((t) => new Redis({ host: '127.0.0.1', port: t.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      const ids = await Promise.all(clients.map((c) => c.client('ID')));
      const whoami = await Promise.all(clients.map((c) => c.call('ACL', 'WHOAMI')));
      expect(whoami).toEqual([agent.objectId, reader.objectId]);
      // Control: a connection that never re-authenticates is dropped once its token expired.
      const first = az.issued.find((t) => t.principal === reader && t.audience === 'https://redis.azure.com')!;
      const stale = new Redis({ host: '127.0.0.1', port: entra.port, tls: { ca: az.ca.certPem, servername: 'localhost' }, username: reader.objectId, password: first.token, lazyConnect: true, retryStrategy: () => null });
      const staleClosed = new Promise<void>((r) => stale.once('close', () => r()));
      await stale.connect();
      const staleAddr = `127.0.0.1:${(stale as unknown as { stream: { localPort: number } }).stream.localPort}`;
      let staleGone = false;
      void staleClosed.then(() => (staleGone = true));
      const sessionAuths = () => [...enforcer.auths.entries()].filter(([addr]) => addr !== staleAddr && enforcer.users.has(addr));
      // Keep both sessions busy until the control connection was dropped (it used the reader
      // session's first token, so that token has expired) and each session's connection sent three
      // AUTHs after its first (three tokens replaced); polled, with a generous bound.
      const deadline = Date.now() + 12 * TOKEN_LIFETIME_S * 1000;
      let n = 0;
      for (;;) {
        for (const c of clients) expect(await c.set('tick', String(n))).toBe('OK');
        n++;
        const sessions = sessionAuths();
        if (staleGone && sessions.length >= 2 && sessions.every(([, times]) => times.length >= 4)) break;
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for the control connection to be dropped (${staleGone}) and three re-AUTHs per session: ${JSON.stringify(sessions.map(([a, t]) => [a, t.length]))}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(enforcer.killed).toEqual([`${staleAddr} ${reader.objectId}`]);
      // Same upstream connections as at the start: Redis never dropped them.
      expect(await Promise.all(clients.map((c) => c.client('ID')))).toEqual(ids);
      // Each session's connection sent at least three more AUTHs, one per token it outlived, each
      // before the token it replaced had expired.
      const sessions = [...enforcer.auths.entries()].filter(([addr]) => addr !== staleAddr && enforcer.users.has(addr));
      expect(sessions.map(([addr]) => enforcer.users.get(addr)).sort()).toEqual([agent.objectId, reader.objectId].sort());
      const leads: number[] = [];
      for (const [addr, times] of sessions) {
        expect(times.length).toBeGreaterThanOrEqual(4);
        for (let i = 1; i < times.length; i++) leads.push((expiryAt(enforcer.users.get(addr)!, times[i - 1]!)! - times[i]!) / 1000);
      }
      for (const l of leads) expect(l).toBeGreaterThan(0);
      process.stdout.write(`re-AUTH lead before the replaced token expired (s), token lifetime ${TOKEN_LIFETIME_S} s: ${leads.map((l) => l.toFixed(1)).join(', ')}\n`);
    } finally {
      for (const c of clients) c.disconnect();
      await Promise.all(tunnels.map((t) => t.stop()));
    }
  }, 240_000);
});
