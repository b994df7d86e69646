import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import type { DatabaseSpec } from '../../../src/db/database.js';
import { DatabaseHealthChecker } from '../../../src/agent/db-health.js';
import { systemClock } from '../../../src/util/clock.js';
import { nullLogger } from '../../../src/util/log.js';

/** A plaintext stand-in for Redis that answers every line with +PONG. */
async function pongServer(): Promise<{ port: number; pings: () => number; close(): Promise<void> }> {
  let pings = 0;
  const server: Server = createServer((s) => {
    s.on('error', () => undefined);
    s.on('data', () => {
      pings++;
      s.write('+PONG\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    pings: () => pings,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const db = (name: string, port: number): DatabaseSpec => ({
  name,
  protocol: 'redis',
  uri: `redis://127.0.0.1:${port}`,
  host: '127.0.0.1',
  port,
  mode: 'standalone',
  labels: {},
  type: 'self-hosted',
  tls: { mode: 'disabled' },
});

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('database health checks', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** A checker whose full rounds are an hour apart: anything checked sooner was checked as new. */
  const hourly = () => new DatabaseHealthChecker({ serverTls: () => ({ rejectUnauthorized: true, checkServerName: false }), clock: systemClock, log: nullLogger, intervalMs: 3_600_000, newDatabaseMs: 50 });

  it('checks a database added after the first round without waiting for the next round, reachable or not', async () => {
    const up = await pongServer();
    cleanup.push(() => up.close());
    const dbs: DatabaseSpec[] = [];
    const checker = hourly();
    cleanup.push(() => checker.stop());
    checker.start(() => dbs);

    dbs.push(db('added', up.port), db('unreachable', await closedPort()));
    await until(() => checker.health('added') !== undefined && checker.health('unreachable') !== undefined, 'both new databases checked');
    expect(checker.health('added')).toMatchObject({ ok: true });
    expect(checker.health('unreachable')).toMatchObject({ ok: false, error: expect.stringContaining('failed to connect to the target database') });
    // Checked once each, not again on every look for new databases.
    await new Promise((r) => setTimeout(r, 300));
    expect(up.pings()).toBe(1);
  });

  it('checks nothing more once stopped', async () => {
    const up = await pongServer();
    cleanup.push(() => up.close());
    const dbs: DatabaseSpec[] = [];
    const checker = hourly();
    checker.start(() => dbs);
    await checker.stop();
    dbs.push(db('late', up.port));
    await new Promise((r) => setTimeout(r, 300));
    expect(checker.health('late')).toBeUndefined();
    expect(up.pings()).toBe(0);
  });
});
