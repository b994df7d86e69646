import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFileWriter, AuditUnavailableError, logFiles } from '../../../src/audit/file-log.js';
import { LogConsumer, loadPosition, readFrom } from '../../../src/audit/tail.js';
import { FakeClock } from '../../../src/util/clock.js';

let dir: string;
const writers: AuditFileWriter[] = [];
const open = (o: Partial<ConstructorParameters<typeof AuditFileWriter>[0]> = {}) => {
  const w = new AuditFileWriter({ dir, fsyncIntervalMs: 1000, ...o });
  writers.push(w);
  return w;
};
const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const readAll = () => readFrom(dir, { file: '', pos: 0 }, 1_000_000).events;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xport-audit-'));
});
afterEach(() => {
  for (const w of writers.splice(0)) w.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('AuditFileWriter', () => {
  it('buffers appends and writes them as JSON lines on commit, in order, into a private file', () => {
    const w = open();
    w.append({ type: 'a', n: 1 });
    w.append({ type: 'b', n: 2 });
    const file = w.position.file;
    expect(statSync(join(dir, file)).size).toBe(0);
    w.commit();
    expect(lines(file)).toEqual([{ type: 'a', n: 1 }, { type: 'b', n: 2 }]);
    expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    expect(w.position).toEqual({ file, pos: statSync(join(dir, file)).size });
  });

  it('commits on its own on the next turn of the event loop when nobody else does', async () => {
    const w = open();
    w.append({ type: 'later' });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(lines(w.position.file)).toEqual([{ type: 'later' }]);
  });

  it('rotates by size: a commit that finds the file full starts the next one', () => {
    const w = open({ maxFileBytes: 100 });
    for (let i = 0; i < 10; i++) {
      w.append({ type: 'x', i, pad: 'p'.repeat(40) });
      w.commit();
    }
    const files = logFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files.map((f) => f.seq)).toEqual(files.map((_, i) => i + 1));
    expect(readAll().map((e) => e.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('rotates daily: the first commit after UTC midnight goes to a file named for the new day', () => {
    const clock = new FakeClock(new Date('2026-03-01T23:59:59.000Z'));
    const w = open({ clock });
    w.append({ type: 'before' });
    w.commit();
    clock.advance(2000);
    w.append({ type: 'after' });
    w.commit();
    expect(logFiles(dir).map((f) => f.name)).toEqual(['2026-03-01.000001.jsonl', '2026-03-02.000002.jsonl']);
    expect(readAll().map((e) => e.type)).toEqual(['before', 'after']);
  });

  it('never appends to an existing file: a restarted writer starts the next file', () => {
    const a = open();
    a.append({ type: 'one' });
    a.close();
    const b = open();
    b.append({ type: 'two' });
    b.commit();
    expect(logFiles(dir).map((f) => f.seq)).toEqual([1, 2]);
    expect(readAll().map((e) => e.type)).toEqual(['one', 'two']);
  });

  it('throws AuditUnavailableError when the log cannot be written, and recovers once it can', () => {
    const w = open({ maxFileBytes: 10 });
    w.append({ type: 'first', pad: 'xxxxxxxxxxxx' });
    w.commit();
    // The directory is replaced by a file: the rotation cannot create the next log file.
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    w.append({ type: 'refused' });
    expect(() => w.commit()).toThrow(AuditUnavailableError);
    expect(() => w.commit()).toThrow(/cannot write to|permission denied|no space/);
    rmSync(dir);
    // A new session is refused too while nothing is pending: the next commit must open a file.
    expect(() => w.commit()).toThrow(AuditUnavailableError);
    mkdirSync(dir);
    w.append({ type: 'back' });
    w.commit();
    expect(readAll().map((e) => e.type)).toEqual(['back']);
  });

});

describe('readFrom', () => {
  it('leaves an incomplete last line of the newest file for a later read', () => {
    const w = open();
    w.append({ type: 'whole' });
    w.commit();
    appendFileSync(join(dir, w.position.file), '{"type":"ha');
    const r = readFrom(dir, { file: '', pos: 0 });
    expect(r.events.map((e) => e.type)).toEqual(['whole']);
    expect(r.skipped).toBe(0);
    appendFileSync(join(dir, w.position.file), 'lf"}\n');
    expect(readFrom(dir, r.next).events.map((e) => e.type)).toEqual(['half']);
  });

  it('skips the torn last line a crashed writer left, and goes on with the next file', () => {
    const a = open();
    a.append({ type: 'before-crash' });
    a.commit();
    // SIGKILL in the middle of a write: part of a line, no newline, and the writer is gone.
    appendFileSync(join(dir, a.position.file), '{"type":"torn","qu');
    writers.splice(0);
    const b = open();
    b.append({ type: 'after-restart' });
    b.commit();
    const r = readFrom(dir, { file: '', pos: 0 });
    expect(r.events.map((e) => e.type)).toEqual(['before-crash', 'after-restart']);
    expect(r.skipped).toBe(1);
  });

  it('skips a line that is not a JSON object and reads the ones after it', () => {
    const w = open();
    w.append({ type: 'a' });
    w.commit();
    appendFileSync(join(dir, w.position.file), 'garbage\n[1]\n');
    w.append({ type: 'b' });
    w.commit();
    const r = readFrom(dir, { file: '', pos: 0 });
    expect(r.events.map((e) => e.type)).toEqual(['a', 'b']);
    expect(r.skipped).toBe(2);
  });

  it('reads at most maxEvents and resumes exactly after them', () => {
    const w = open({ maxFileBytes: 200 });
    for (let i = 0; i < 50; i++) {
      w.append({ type: 'n', i });
      if (i % 7 === 0) w.commit();
    }
    w.commit();
    const got: unknown[] = [];
    let at = { file: '', pos: 0 };
    for (let k = 0; k < 100; k++) {
      const r = readFrom(dir, at, 6);
      expect(r.events.length).toBeLessThanOrEqual(6);
      got.push(...r.events.map((e) => e.i));
      if (r.events.length === 0) break;
      at = r.next;
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('readFrom byte budget', () => {
  it('stops at about maxBytes of whole lines across files, says there is more, and resumes after them', () => {
    const w = open({ maxFileBytes: 2000 });
    for (let i = 0; i < 100; i++) {
      w.append({ type: 'big', i, pad: 'x'.repeat(200) });
      w.commit();
    }
    const first = readFrom(dir, { file: '', pos: 0 }, 10_000, 3000);
    expect(first.more).toBe(true);
    expect(first.bytes).toBeGreaterThanOrEqual(3000);
    expect(first.bytes).toBeLessThan(3000 + 2300);
    const rest = readFrom(dir, first.next, 10_000, 1_000_000);
    expect([...first.events, ...rest.events].map((e) => e.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('LogConsumer', () => {
  it('delivers every line once, saves its position after each delivery, and a new consumer resumes there', async () => {
    const w = open({ maxFileBytes: 300 });
    const sink: number[] = [];
    const consumer = (deliver: (e: Record<string, unknown>[]) => Promise<void>) =>
      new LogConsumer({ dir, offsetFile: join(dir, 'test.offset'), deliver, maxBatch: 7, pollMs: 10 });
    const c1 = consumer(async (es) => void sink.push(...es.map((e) => e.i as number)));
    for (let i = 0; i < 40; i++) w.append({ type: 'n', i });
    w.commit();
    c1.start();
    await c1.waitFor(w.position);
    await c1.stop();
    expect(sink).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(loadPosition(join(dir, 'test.offset'))).toEqual(w.position);

    for (let i = 40; i < 60; i++) w.append({ type: 'n', i });
    w.commit();
    const c2 = consumer(async (es) => void sink.push(...es.map((e) => e.i as number)));
    c2.start();
    await c2.waitFor(w.position);
    await c2.stop();
    expect(sink).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('retries a failed delivery from the same position and loses nothing', async () => {
    const w = open();
    for (let i = 0; i < 10; i++) w.append({ type: 'n', i });
    w.commit();
    const sink: number[] = [];
    let failures = 3;
    const c = new LogConsumer({
      dir,
      offsetFile: join(dir, 'retry.offset'),
      maxBatch: 4,
      pollMs: 10,
      retryDelayMs: 5,
      deliver: async (es) => {
        if (failures-- > 0) throw new Error('sink down');
        sink.push(...es.map((e) => e.i as number));
      },
    });
    c.start();
    await c.waitFor(w.position);
    await c.stop();
    expect(sink).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
