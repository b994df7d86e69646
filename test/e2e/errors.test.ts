/**
 * e2e: bad input gets one clear line, the right exit code, and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, writeFile, access } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { runCli, startXport, tmpDir, type XportService } from '../helpers/cli.js';

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('bad input to xsh and xctl', () => {
  let svc: XportService;
  beforeAll(async () => {
    svc = await startXport();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('exits 2 on an unknown flag, naming it', async () => {
    const a = await runCli('xsh', ['login', '--bogus']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("unknown option '--bogus'");
    const b = await runCli('xctl', ['users', 'ls', '--nope']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("unknown option '--nope'");
    const c = await runCli('xctl', ['frobnicate']);
    expect(c.code).toBe(2);
    noStack(a.stderr + b.stderr + c.stderr);
  });

  it('rejects a bad --ttl before contacting anything', async () => {
    const home = await tmpDir();
    const r = await runCli('xsh', ['login', `--proxy=${svc.addr}`, '--user=x', '--ttl=soon', '--password-stdin'], { env: { XSH_HOME: home }, input: 'x\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERROR: invalid --ttl "soon"');
    expect(r.stderr).toContain('Use a number of minutes or a duration such as 30m, 12h or 1h30m.');
    expect(await readdir(home)).toEqual([]);
    const x = await svc.xctl(['users', 'add', 'ttl-user', '--roles=access', '--ttl=100h']);
    expect(x.code).toBe(2);
    expect(x.stderr).toContain('--ttl must be at most 48h');
    noStack(r.stderr + x.stderr);
  });

  it('explains an unreachable proxy', async () => {
    const r = await runCli('xsh', ['login', '--proxy=127.0.0.1:1', '--user=a', '--password-stdin'], { env: { XSH_HOME: await tmpDir() }, input: 'x\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERROR: cannot connect to the proxy at 127.0.0.1:1: connection refused');
    expect(r.stderr).toContain('Make sure `xctl start` is running there');
  });

  it('refuses a second auth service on the same data dir', async () => {
    const r = await runCli('xctl', ['start', '--data-dir', svc.dataDir, '--listen-addr', '127.0.0.1:0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR: data dir .* is in use by another auth service \(pid \d+/);
    noStack(r.stderr);
    // The first one is unharmed.
    expect((await svc.xctl(['status'])).code).toBe(0);
  });

  it('refuses a data dir that is not writable', async () => {
    const dir = await tmpDir();
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await runCli('xctl', ['start', '--data-dir', join(file, 'data'), '--listen-addr', '127.0.0.1:0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR: data dir .*a-file\/data is not writable/);
    expect(r.stderr).toContain('--data-dir');
    noStack(r.stderr);
  });

  it('refuses a port in use and releases the data dir', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = join(await tmpDir(), 'data');
    try {
      const r = await runCli('xctl', ['start', '--data-dir', dataDir, '--listen-addr', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`ERROR: cannot listen on 127.0.0.1:${port}: the address is already in use`);
      noStack(r.stderr);
      await expect(access(join(dataDir, 'xport.lock'))).rejects.toThrow();
    } finally {
      blocker.close();
    }
  });

  it('names the line and key of an unknown config key', async () => {
    const dir = await tmpDir();
    const cfg = join(dir, 'xport.yaml');
    await writeFile(cfg, `version: v1\ndata_dir: ${dir}/data\nproxy_service:\n  listen_adr: 127.0.0.1:0\n`);
    const r = await runCli('xctl', ['start', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ERROR: ${cfg}:4: proxy_service.listen_adr: unknown key`);
    noStack(r.stderr);
    await expect(access(join(dir, 'data'))).rejects.toThrow();
    const missing = await runCli('xctl', ['start', '-c', join(dir, 'nope.yaml')]);
    expect(missing.stderr).toContain('does not exist');
  });

  it('stops cleanly on SIGTERM, releasing the lock for the next start', async () => {
    const dataDir = join(await tmpDir(), 'data');
    const one = await startXport({ dataDir });
    expect(await one.stop()).toBe(0);
    expect(one.output()).toContain('xport stopped.');
    const two = await startXport({ dataDir });
    expect(two.pin).toBe(one.pin);
    await two.stop();
  });

  it('prints stacks only with --debug', async () => {
    const plain = await runCli('xsh', ['status', '-i', '/nonexistent/id.pem', '--proxy=127.0.0.1:1']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe('ERROR: identity file /nonexistent/id.pem does not exist\n');
    const dbg = await runCli('xsh', ['status', '-i', '/nonexistent/id.pem', '--proxy=127.0.0.1:1', '--debug']);
    expect(dbg.stderr).toMatch(/\n\s+at .+/);
  });
});
