/**
 * Proxy heartbeats in the backend: written at start with an expiry, renewed, gone from the list
 * once a replica falls silent past the TTL, deleted on a clean stop; a backend outage is logged
 * once and the beat resumes. The replica id survives a restart. Uses the real MemoryBackend (the
 * same contract SQLite and PostgreSQL pass) with a fake clock for expiry.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listProxies, proxyIdentity, startProxyHeartbeat, PROXY_PREFIX, type RunningHeartbeat } from '../../../src/service/proxy-heartbeat.js';
import { parseProxyTargets } from '../../../src/agent/pool.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { FakeClock } from '../../../src/util/clock.js';
import { nullLogger, type Logger } from '../../../src/util/log.js';

/** poll checks cond every 5 ms until it holds, failing after 5 s with what. */
async function poll(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const running: RunningHeartbeat[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});

function beat(backend: MemoryBackend, clock: FakeClock, id: string, extra: { log?: Logger; intervalMs?: number } = {}) {
  return startProxyHeartbeat({
    backend,
    id,
    addr: `10.0.0.${id.length}:3080`,
    publicAddr: 'xport.example.com:3080',
    version: '0.1.0',
    tunnels: () => [{ host_id: 'agent-1', databases: ['cache'] }],
    clock,
    log: extra.log ?? nullLogger,
    intervalMs: extra.intervalMs ?? 10,
    ttlMs: 10_000,
  }).then((h) => (running.push(h), h));
}

describe('proxy heartbeats', () => {
  it('lists a replica from its first beat, with its address and the tunnels it holds', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend(clock);
    await beat(backend, clock, 'a');
    expect(await listProxies(backend)).toEqual([
      {
        id: 'a',
        addr: '10.0.0.1:3080',
        public_addr: 'xport.example.com:3080',
        version: '0.1.0',
        started: clock.now().toISOString(),
        last_seen: clock.now().toISOString(),
        tunnels: [{ host_id: 'agent-1', databases: ['cache'] }],
      },
    ]);
  });

  it('drops a replica that falls silent past the TTL and keeps one that beats', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend(clock);
    await beat(backend, clock, 'alive');
    await beat(backend, clock, 'silent', { intervalMs: 3_600_000 });
    clock.advance(5_000);
    // The live one renews at the new time (its expiry moves with it); the silent one does not.
    const lastSeen = async () => ((await backend.get(PROXY_PREFIX + 'alive'))!.value as { last_seen: string }).last_seen;
    await poll(async () => (await lastSeen()) === clock.now().toISOString(), 'a beat at the new time');
    expect((await listProxies(backend)).map((p) => p.id)).toEqual(['alive', 'silent']);
    clock.advance(6_000);
    expect((await listProxies(backend)).map((p) => p.id)).toEqual(['alive']);
  });

  it('removes its heartbeat on a clean stop', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend(clock);
    const h = await beat(backend, clock, 'a');
    await h.stop();
    running.splice(running.indexOf(h), 1);
    expect(await listProxies(backend)).toEqual([]);
  });

  it('logs a backend outage once and beats again when it is back', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend(clock);
    const warnings: string[] = [];
    const infos: string[] = [];
    const log = { ...nullLogger, warn: (m: string) => void warnings.push(m), info: (m: string) => void infos.push(m), child: () => log } as Logger;
    const put = backend.put.bind(backend);
    let down = false;
    backend.put = (async (...args: Parameters<MemoryBackend['put']>) => {
      if (down) throw new Error('connection refused');
      return put(...args);
    }) as MemoryBackend['put'];
    await beat(backend, clock, 'a', { log });
    down = true;
    const before = (await backend.get(PROXY_PREFIX + 'a'))!.revision;
    // Many failed beats (10 ms apart), one warning.
    let failures = 0;
    const failingPut = backend.put;
    backend.put = (async (...args: Parameters<MemoryBackend['put']>) => {
      failures++;
      return failingPut(...args);
    }) as MemoryBackend['put'];
    await poll(async () => failures >= 5, 'five failed beats');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not write the proxy heartbeat/);
    down = false;
    await poll(async () => infos.includes('proxy heartbeat restored'), 'the heartbeat restored');
    expect((await backend.get(PROXY_PREFIX + 'a'))!.revision).toBeGreaterThan(before);
  });

  it('keeps the replica id across restarts in a 0600 file of its data dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xport-proxy-id-'));
    const id = await proxyIdentity(dir);
    expect(id).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{8}$/);
    expect(await proxyIdentity(dir)).toBe(id);
    expect((await readFile(join(dir, 'proxy_id'), 'utf8')).trim()).toBe(id);
    expect((await stat(join(dir, 'proxy_id'))).mode & 0o777).toBe(0o600);
    expect(await proxyIdentity(await mkdtemp(join(tmpdir(), 'xport-proxy-id-')))).not.toBe(id);
  });
});

describe('parseProxyTargets (what an agent accepts from GET /v1/agent/proxies)', () => {
  it('keeps well-formed replicas and drops malformed entries', () => {
    expect(
      parseProxyTargets({
        proxies: [
          { id: 'a', addr: '10.0.0.11:3080' },
          { id: 'b', addr: 'not an address::' },
          { id: 7, addr: '10.0.0.12:3080' },
          null,
          { id: 'c', addr: 'x'.repeat(400) + ':1' },
          { id: 'd', addr: 'proxy-d.internal:3080' },
        ],
      }),
    ).toEqual([
      { id: 'a', addr: '10.0.0.11:3080' },
      { id: 'd', addr: 'proxy-d.internal:3080' },
    ]);
  });

  it('bounds how many replicas it takes and treats a non-list as none', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ id: `p${i}`, addr: `10.0.${i >> 8}.${i & 255}:3080` }));
    expect(parseProxyTargets({ proxies: many })).toHaveLength(64);
    expect(parseProxyTargets({ proxies: 'everything' })).toEqual([]);
    expect(parseProxyTargets({})).toEqual([]);
  });
});
