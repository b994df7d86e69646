import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog, EVENT_CODES, eventCode } from '../../../src/auth/audit.js';
import { connectionProblem } from '../../../src/errors.js';
import type { AuditEvent } from '../../../src/store/backend.js';
import { MemoryBackend } from '../../../src/store/memory.js';
import { openSqliteBackend } from '../../../src/store/sqlite.js';
import { FakeClock } from '../../../src/util/clock.js';
import type { Logger } from '../../../src/util/log.js';

/**
 * RecordingBackend is a real MemoryBackend that records each appendEvents call and can be told to
 * fail its first writes, standing in for a database that is briefly unavailable.
 */
class RecordingBackend extends MemoryBackend {
  readonly batches: number[] = [];
  failuresLeft: number;
  constructor(clock: FakeClock, failFirst = 0) {
    super(clock);
    this.failuresLeft = failFirst;
  }
  override async appendEvents(events: AuditEvent[]): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw connectionProblem('database unavailable');
    }
    this.batches.push(events.length);
    await super.appendEvents(events);
  }
}

function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: (m, f) => void lines.push(`warn ${m} ${JSON.stringify(f)}`),
    error: (m, f) => void lines.push(`error ${m} ${JSON.stringify(f)}`),
    child: () => log,
  };
  return log;
}

const roots: string[] = [];
afterAll(async () => {
  for (const d of roots) await rm(d, { recursive: true, force: true });
});

describe('EVENT_CODES', () => {
  it('gives each event type its code and a failure code where one exists', () => {
    expect(eventCode('user.login')).toBe('T1000I');
    expect(eventCode('user.login', true)).toBe('T1000I');
    expect(eventCode('user.login', false)).toBe('T1000W');
    expect(eventCode('db.session.start', false)).toBe('TDB00W');
    expect(eventCode('db.session.query', false)).toBe('TDB02W');
    expect(eventCode('user.create', false)).toBe('T1002I');
    expect(eventCode('cert.create')).toBe('TC000I');
  });

  it('has a code for every event type the service emits (agent.join had none)', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '../../../src');
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const emitted = new Set<string>();
    for (const f of files) {
      const text = await readFile(join(root, f), 'utf8');
      for (const m of text.matchAll(/emit\(\{\s*type:\s*'([a-z_.]+)'/g)) emitted.add(m[1]!);
    }
    expect(emitted).toContain('agent.join');
    for (const type of emitted) expect(eventCode(type), type).toMatch(/^T/);
  });

  it('has no code for an unknown type, even one named like an Object property', () => {
    expect(eventCode('user.teleport')).toBeUndefined();
    expect(eventCode('constructor')).toBeUndefined();
  });

  it('uses unique codes', () => {
    const codes = Object.values(EVENT_CODES).flatMap((c) => ('failure' in c ? [c.success, c.failure] : [c.success]));
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.every((c) => /^T[0-9A-Z]{4}[IW]$/.test(c))).toBe(true);
  });
});

describe('AuditLog', () => {
  it('writes 10,000 events emitted in a tight loop, all of them, in order, with codes', async () => {
    const backend = new RecordingBackend(new FakeClock());
    const audit = new AuditLog(backend);
    for (let i = 0; i < 10_000; i++) audit.emit({ type: 'db.session.query', user: 'alice', success: i % 10 !== 0, seq: i });
    await audit.flush();
    const got = await backend.searchEvents({ limit: 20_000 });
    expect(got.map((e) => e.seq)).toEqual([...Array(10_000).keys()]);
    expect(got[0]?.code).toBe('TDB02W');
    expect(got[1]?.code).toBe('TDB02I');
    expect(Math.max(...backend.batches)).toBeLessThanOrEqual(1024);
    expect(audit.stats()).toEqual({ emitted: 10_000, written: 10_000, pending: 0, failedWrites: 0 });
    await audit.close();
  });

  it('writes 10,000 events through SQLite in order', async () => {
    const root = await mkdtemp(join(tmpdir(), 'xport-audit-'));
    roots.push(root);
    const backend = await openSqliteBackend(root);
    const audit = new AuditLog(backend);
    for (let i = 0; i < 10_000; i++) audit.emit({ type: 'db.session.query', seq: i });
    const got = await audit.search({ limit: 20_000 });
    expect(got.map((e) => e.seq)).toEqual([...Array(10_000).keys()]);
    expect(got.every((e) => e.code === 'TDB02I')).toBe(true);
    await audit.close();
    await backend.close();
  });

  it('stamps time from the clock and keeps a time or code the caller set', async () => {
    const clock = new FakeClock(new Date('2026-03-01T12:00:00.000Z'));
    const backend = new MemoryBackend(clock);
    const audit = new AuditLog(backend, { clock });
    audit.emit({ type: 'user.login', user: 'alice', success: false });
    audit.emit({ type: 'user.login', user: 'bob', time: '2026-02-01T00:00:00.000Z', code: 'X0001I' });
    audit.emit({ type: 'plugin.custom' });
    const got = await audit.search({});
    const [a, b, c] = [got.find((e) => e.user === 'alice'), got.find((e) => e.user === 'bob'), got.find((e) => !e.user)];
    expect(a).toMatchObject({ type: 'user.login', user: 'alice', success: false, code: 'T1000W', time: '2026-03-01T12:00:00.000Z' });
    expect(b).toMatchObject({ time: '2026-02-01T00:00:00.000Z', code: 'X0001I' });
    expect(c).not.toHaveProperty('code');
    await audit.close();
  });

  it('never writes or awaits on the emitting path, even when a batch fills', async () => {
    const backend = new RecordingBackend(new FakeClock());
    const audit = new AuditLog(backend, { maxBatch: 4 });
    const results = Array.from({ length: 10 }, (_, i) => audit.emit({ type: 'token.create', seq: i }));
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(backend.batches).toEqual([]);
    expect(audit.stats()).toMatchObject({ emitted: 10, written: 0, pending: 10 });
    await audit.flush();
    expect(backend.batches).toEqual([4, 4, 2]);
    await audit.close();
  });

  it('writes on its own after the flush interval', async () => {
    const backend = new RecordingBackend(new FakeClock());
    const audit = new AuditLog(backend, { flushIntervalMs: 5 });
    audit.emit({ type: 'user.create', user: 'alice' });
    await expect.poll(() => audit.stats().written, { timeout: 2000 }).toBe(1);
    expect((await backend.searchEvents({}))[0]).toMatchObject({ type: 'user.create', code: 'T1002I' });
    await audit.close();
  });

  it('writes a full batch without waiting for the flush interval', async () => {
    const backend = new RecordingBackend(new FakeClock());
    const audit = new AuditLog(backend, { maxBatch: 3, flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) audit.emit({ type: 'db.session.query' });
    await expect.poll(() => backend.batches, { timeout: 2000 }).toEqual([3]);
    await audit.close();
  });

  it('keeps every event of a burst when the first two writes fail, and counts the failures', async () => {
    const lines: string[] = [];
    const backend = new RecordingBackend(new FakeClock(), 2);
    const audit = new AuditLog(backend, { maxBatch: 100, retryDelayMs: 5, log: recordingLogger(lines) });
    for (let i = 0; i < 1000; i++) audit.emit({ type: 'db.session.query', seq: i });
    await audit.flush();
    const got = await backend.searchEvents({ limit: 2000 });
    expect(got.map((e) => e.seq)).toEqual([...Array(1000).keys()]);
    expect(audit.stats()).toEqual({ emitted: 1000, written: 1000, pending: 0, failedWrites: 2 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('audit write failed; retrying');
    expect(lines[0]).toContain('database unavailable');
    await audit.close();
  });

  it('keeps accepting events while a write is being retried, and writes them after', async () => {
    const backend = new RecordingBackend(new FakeClock(), 1);
    const audit = new AuditLog(backend, { retryDelayMs: 20 });
    audit.emit({ type: 'a', seq: 0 });
    await expect.poll(() => audit.stats().failedWrites, { timeout: 2000 }).toBe(1);
    audit.emit({ type: 'a', seq: 1 });
    await audit.flush();
    expect((await backend.searchEvents({})).map((e) => e.seq)).toEqual([0, 1]);
  });

  it('resolves flush only once the events emitted before it are written', async () => {
    const backend = new RecordingBackend(new FakeClock(), 1);
    const audit = new AuditLog(backend, { retryDelayMs: 30 });
    audit.emit({ type: 'a' });
    let flushed = false;
    const done = audit.flush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(flushed).toBe(false);
    await done;
    expect(audit.stats().written).toBe(1);
  });

  it('flushes on close, and drops with an error log what is emitted after close', async () => {
    const lines: string[] = [];
    const backend = new RecordingBackend(new FakeClock());
    const audit = new AuditLog(backend, { flushIntervalMs: 60_000, log: recordingLogger(lines) });
    audit.emit({ type: 'user.delete', user: 'bob' });
    await audit.close();
    expect((await backend.searchEvents({})).map((e) => e.code)).toEqual(['T1004I']);
    audit.emit({ type: 'user.delete', user: 'carol' });
    expect(audit.stats()).toMatchObject({ emitted: 1, written: 1 });
    expect(lines).toEqual([expect.stringContaining('audit event emitted after close; dropped')]);
  });

  it('searches its own events right after emitting them', async () => {
    const audit = new AuditLog(new MemoryBackend(), { flushIntervalMs: 60_000 });
    audit.emit({ type: 'role.created', user: 'admin', name: 'dev' });
    audit.emit({ type: 'role.deleted', user: 'admin', name: 'dev' });
    expect((await audit.search({ type: 'role.deleted' })).map((e) => e.code)).toEqual(['T9001I']);
    await audit.close();
  });
});

describe('AuditLog with a write-ahead log', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function walLog(backend: MemoryBackend) {
    const { AuditFileWriter } = await import('../../../src/audit/file-log.js');
    const { LogConsumer, readFrom } = await import('../../../src/audit/tail.js');
    const dir = await mkdtemp(join(tmpdir(), 'xport-auditlog-'));
    dirs.push(dir);
    const writer = new AuditFileWriter({ dir });
    const consumer = new LogConsumer({ dir, offsetFile: join(dir, 'index.offset'), deliver: (es) => backend.appendEvents(es as unknown as AuditEvent[]), pollMs: 10 });
    return { dir, writer, readFrom, log: new AuditLog(backend, { clock: new FakeClock(), wal: { writer, consumer } }) };
  }

  it('gives every event an id and a code in the log, and search sees the events emitted before it', async () => {
    const backend = new RecordingBackend(new FakeClock());
    const { dir, log, readFrom } = await walLog(backend);
    log.emit({ type: 'user.login', user: 'alice', success: false });
    log.emit({ type: 'role.created', user: 'admin', name: 'dev' });
    log.commit();
    const lines = readFrom(dir, { file: '', pos: 0 }).events;
    expect(lines.map((e) => [e.type, e.code])).toEqual([
      ['user.login', 'T1000W'],
      ['role.created', 'T9000I'],
    ]);
    expect(lines.every((e) => typeof e.id === 'string' && /^[0-9a-f]{32}$/.test(e.id))).toBe(true);
    const found = await log.search({});
    expect(found.map((e) => e.id)).toEqual(lines.map((e) => e.id));
    await log.close();
  });

  it('keeps events whose index write failed in the log and indexes them once the backend is back', async () => {
    const backend = new RecordingBackend(new FakeClock(), 2);
    const { log } = await walLog(backend);
    for (let i = 0; i < 5; i++) log.emit({ type: 'x.test', i });
    const found = await log.search({ type: 'x.test' });
    expect(found.map((e) => e.i)).toEqual([0, 1, 2, 3, 4]);
    await log.close();
  });
});
