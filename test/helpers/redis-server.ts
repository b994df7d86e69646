/**
 * test/helpers/redis-server: start a real redis-server on a free loopback port, wait until it
 * accepts connections, and stop it by PID. TLS material comes from xport's own CA in the tests.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from './cli.js';

/** freePort asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** hasRedis tells whether redis-server and redis-cli are installed. In CI they must be. */
/**
 * requireRedis fails the test file loudly when redis-server or redis-cli is missing: a test that
 * needs a tool never skips silently (.ci/run installs them).
 */
export function requireRedis(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('redis-server/redis-cli are missing: install them (apt-get install redis-server redis-tools)');
  }
}

export function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI) throw new Error('redis-server/redis-cli are missing in CI: .ci/run must install redis-server and redis-tools');
    return false;
  }
}

/** RedisServer is a running redis-server. */
export interface RedisServer {
  port: number;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/** startRedis starts redis-server with the given extra config lines. */
export async function startRedis(configLines: string[], opts: { tlsPort?: boolean; port?: number } = {}): Promise<RedisServer> {
  const dir = await tmpDir('xport-redis-');
  const port = opts.port ?? (await freePort());
  const conf = [
    'bind 127.0.0.1',
    opts.tlsPort ? 'port 0' : `port ${port}`,
    ...(opts.tlsPort ? [`tls-port ${port}`] : []),
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'loglevel warning',
    ...configLines,
  ];
  const confPath = join(dir, 'redis.conf');
  await writeFile(confPath, conf.join('\n') + '\n');
  const child = spawn('redis-server', [confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  // Wait until the port accepts TCP connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited:\n${out}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = require_net().connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid!;
  return {
    port,
    dir,
    pid,
    async stop() {
      if (child.exitCode === null) {
        process.kill(pid, 'SIGTERM');
        await exited;
      }
    },
  };
}

import * as netModule from 'node:net';
function require_net() {
  return netModule;
}
