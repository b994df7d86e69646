/**
 * The write-ahead rule in both relays, against fake Redis servers and a real write-ahead log: no
 * command reaches Redis before its event is in the log file, and a log that cannot be written
 * forwards nothing and ends the session with the reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFileWriter } from '../../../src/audit/file-log.js';
import { readFrom } from '../../../src/audit/tail.js';
import { enc } from '../../helpers/engine-front.js';
import { clusterRig, rig, type ClusterRig, type Rig } from '../../helpers/fake-redis-rig.js';
import { memoryRedis } from '../../helpers/resp-server.js';

let dir: string;
let writer: AuditFileWriter;
let r: Rig | ClusterRig | undefined;

/** logged lists the commands of the query events in the log file now, as `name:success`. */
const logged = () =>
  readFrom(dir, { file: '', pos: 0 }, 1_000_000)
    .events.filter((e) => e.type === 'db.session.query')
    .map((e) => `${String(e.command)}:${String(e.success)}`);

/** rotatingEveryWrite opens a new file at each write, so removing the dir makes the next write fail. */
function rotatingEveryWrite(): AuditFileWriter {
  writer.close();
  return new AuditFileWriter({ dir, fsyncIntervalMs: 1000, maxFileBytes: 1 });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xport-audit-first-'));
  writer = new AuditFileWriter({ dir, fsyncIntervalMs: 1000 });
});
afterEach(async () => {
  await r?.close();
  r = undefined;
  writer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit before forward, standalone relay', () => {
  it('lets a command reach Redis only once its event is in the log file', async () => {
    const inner = memoryRedis();
    const seenAt: string[][] = [];
    r = await rig({
      auditWriter: writer,
      handler: (args, conn) => {
        // What the log holds at the moment Redis receives the command.
        if (args[0]!.toString().toLowerCase() === 'set') seenAt.push(logged());
        return inner(args, conn);
      },
    });
    const c = await r.connect();
    expect(await c.call('SET', 'k1', 'v1')).toBe('+OK\r\n');
    c.send(enc('SET', 'k2', 'v2'), enc('SET', 'k3', 'v3'));
    await c.take(2);
    expect(seenAt.length).toBe(3);
    expect(seenAt[0]).toContain('set:true');
    // The pipelined pair (one read) was logged by one write before either reached Redis.
    expect(seenAt[1]!.filter((x) => x === 'set:true').length).toBe(3);
    expect(seenAt[2]!.filter((x) => x === 'set:true').length).toBe(3);
  });

  it('forwards nothing and ends the session with the reason when the log cannot be written', async () => {
    writer = rotatingEveryWrite();
    r = await rig({ auditWriter: writer });
    const c = await r.connect();
    expect(await c.call('SET', 'before', '1')).toBe('+OK\r\n');
    // The log dir becomes a file: the next write must open a new log file and cannot.
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    c.send(enc('SET', 'after', '2'));
    const [reply] = await c.take(1);
    expect(reply).toMatch(/^-ERR xport: audit log unavailable: /);
    await c.closed;
    const srv = (r as Rig).server;
    expect(srv.conns.flatMap((x) => x.received).map((a) => a.join(' '))).not.toContain('SET after 2');
    rmSync(dir);
  });

});

describe('audit before forward, cluster relay', () => {
  it('lets commands reach each master only once their events are in the log file', async () => {
    const seen: { node: number; logged: number }[] = [];
    r = await clusterRig({ auditWriter: writer });
    const cr = r as ClusterRig;
    cr.cluster.nodes.forEach((n, i) => {
      const h = n.handler;
      n.handler = (args, conn) => {
        if (args[0]!.toString().toLowerCase() === 'set') seen.push({ node: i, logged: logged().filter((x) => x === 'set:true').length });
        return h(args, conn);
      };
    });
    const c = await r.connect();
    const keys = [cr.cluster.keysOn(0, 1, 'a')[0]!, cr.cluster.keysOn(1, 1, 'b')[0]!, cr.cluster.keysOn(2, 1, 'c')[0]!];
    c.send(...keys.map((k) => enc('SET', k, 'v')));
    expect(await c.take(3)).toEqual(['+OK\r\n', '+OK\r\n', '+OK\r\n']);
    expect(seen.map((s) => s.node).sort()).toEqual([0, 1, 2]);
    // All three (one read) were logged by one write before any master got its SET.
    for (const s of seen) expect(s.logged).toBe(3);
  });

  it('sends nothing to any master when the log cannot be written', async () => {
    writer = rotatingEveryWrite();
    r = await clusterRig({ auditWriter: writer });
    const cr = r as ClusterRig;
    const c = await r.connect();
    const [k0] = cr.cluster.keysOn(0, 1, 'x');
    expect(await c.call('SET', k0!, '1')).toBe('+OK\r\n');
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    const keys = [cr.cluster.keysOn(0, 1, 'y')[0]!, cr.cluster.keysOn(1, 1, 'z')[0]!];
    c.send(...keys.map((k) => enc('SET', k, '2')));
    const [reply] = await c.take(1);
    expect(reply).toMatch(/^-ERR xport: audit log unavailable: /);
    await c.closed;
    for (const k of keys) expect(cr.cluster.nodes.flatMap((n) => n.conns.flatMap((x) => x.received)).map((a) => a.join(' '))).not.toContain(`SET ${k} 2`);
    rmSync(dir);
  });
});
