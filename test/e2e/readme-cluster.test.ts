/**
 * docs e2e: the README's "Redis Cluster" section, run as a newcomer would paste it — every ```sh
 * block of the section, in order, in one empty directory, with the real `xctl`/`xsh` (small
 * wrappers on PATH), real redis-server and redis-cli. Only the addresses change: the README's
 * 127.0.0.1:3080 and 7001–7006 become free loopback ports, so parallel runs do not collide.
 *
 * It also checks what the section promises on the way: `auth sign --cluster` prints the
 * redis.conf lines with tls-cluster/tls-replication and writes private keys 0600, and the cluster
 * reached through xport is one virtual node (issue 11, items 2 and 10).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, runProcess, tmpDir, type CliResult } from '../helpers/cli.js';
import { hasRedis } from '../helpers/redis-server.js';

/** clusterSection returns the README text from `## Redis Cluster` to the next `## ` heading. */
async function clusterSection(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Redis Cluster\n');
  if (start < 0) throw new Error('README.md has no "## Redis Cluster" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** shellBlocks returns the bodies of the ```sh blocks of text, in order. */
function shellBlocks(text: string): string[] {
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** isFree tells whether a loopback port can be listened on now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** nodePorts picks six ports whose cluster bus ports (port + 10000, as the README sets) are free too. */
async function nodePorts(): Promise<number[]> {
  const picked: number[] = [];
  for (let tries = 0; picked.length < 6 && tries < 2000; tries++) {
    const p = 10_000 + Math.floor(Math.random() * 12_000); // p and p + 10000 stay below the ephemeral range (32768+)
    if (picked.includes(p) || picked.includes(p + 10_000) || picked.some((q) => q + 10_000 === p)) continue;
    if ((await isFree(p)) && (await isFree(p + 10_000))) picked.push(p);
  }
  if (picked.length < 6) throw new Error('could not find six free port pairs on 127.0.0.1');
  return picked;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('README: Redis Cluster, step by step', () => {
  let work: string;
  let blocks: string[];
  let run: (script: string, timeoutMs?: number) => Promise<CliResult>;
  let proxyPort: number;
  let ports: number[];

  beforeAll(async () => {
    if (!hasRedis()) throw new Error('redis-server and redis-cli are required for this docs test (apt-get install redis-server redis-tools)');
    const raw = shellBlocks(await clusterSection());
    expect(raw.length).toBeGreaterThanOrEqual(6);
    ports = await nodePorts();
    proxyPort = 0;
    for (let tries = 0; proxyPort === 0 && tries < 2000; tries++) {
      const p = 10_000 + Math.floor(Math.random() * 12_000); // p and p + 10000 stay below the ephemeral range (32768+)
      if (!ports.includes(p) && !ports.includes(p - 10_000) && (await isFree(p))) proxyPort = p;
    }
    blocks = raw.map((b) => b.replaceAll('127.0.0.1:3080', `127.0.0.1:${proxyPort}`).replace(/\b700([1-6])\b/g, (_m, n: string) => String(ports[Number(n) - 1])));

    work = await tmpDir('xport-readme-cluster-');
    const bin = join(work, '.bin');
    await mkdir(join(work, 'run'), { recursive: true });
    await mkdir(bin);
    for (const tool of ['xctl', 'xsh']) {
      await writeFile(join(bin, tool), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', `${tool}.js`)}" "$@"\n`);
      await chmod(join(bin, tool), 0o755);
    }
    const env = { PATH: `${bin}:${process.env.PATH}`, XSH_HOME: join(work, 'xsh') };
    run = (script, timeoutMs = 120_000) =>
      // Each block as pasted into one shell: stop at the first failing command.
      runProcess('bash', ['-e', '-o', 'pipefail', '-c', script], { env, timeoutMs });
    // runProcess runs in ROOT; every block runs in the empty work dir instead.
    const inWork = run;
    run = (script, timeoutMs) => inWork(`cd '${join(work, 'run')}'\n${script}`, timeoutMs);
  }, 60_000);

  afterAll(async () => {
    if (!work) return;
    const dir = join(work, 'run');
    // Whatever the blocks started and did not stop (a failed run): by the PIDs they recorded.
    const pidFiles = [join(dir, 'xport.pid'), ...(await readdir(dir).catch(() => [])).filter((d) => d.startsWith('node-')).map((d) => join(dir, d, 'redis.pid'))];
    for (const f of pidFiles) {
      const pid = Number((await readFile(f, 'utf8').catch(() => '')).trim());
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(work, { recursive: true, force: true });
  });

  it('takes a newcomer from nothing to redis-cli through xport, with every block as written', async () => {
    const dir = join(work, 'run');
    const outputs: string[] = [];
    let lastStdout = '';
    const last = blocks.length - 1;
    for (const [i, block] of blocks.entries()) {
      if (i === last) break; // the clean-up block runs after the checks below
      const r = await run(block, 180_000);
      outputs.push(r.stdout + r.stderr);
      lastStdout = r.stdout;
      expect(r.code, `README Redis Cluster block ${i + 1} failed:\n${block}\n--- output:\n${r.stdout}${r.stderr}\n--- xport.log:\n${await readFile(join(dir, 'xport.log'), 'utf8').catch(() => '')}`).toBe(0);
    }
    const all = outputs.join('\n');

    // Step 2: the recipe, as printed.
    for (const line of ['tls-cluster yes', 'tls-replication yes', 'tls-auth-clients yes', `tls-ca-cert-file node.cas`, 'tls-cert-file node.crt']) expect(all).toContain(line);
    expect(all).toContain('The cluster CA has been created in cluster-ca.crt and cluster-ca.key');
    for (const key of ['node.key', 'cluster-ca.key']) expect((await stat(join(dir, key))).mode & 0o777).toBe(0o600);
    const cas = await readFile(join(dir, 'node.cas'), 'utf8');
    expect(cas.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    // The cluster formed over TLS with those certificates (nodes trusted each other).
    expect(all).toContain('[OK] All 16384 slots covered');
    // Step 6: SET, then GET through xport.
    expect(lastStdout.trim().split('\n').slice(-2)).toEqual(['OK', 'hello']);
  }, 600_000);

  it('shows the cluster as one virtual node: INFO, CLIENT LIST and CONFIG GET name no node', async () => {
    const connect = `xsh -i alice.pem --proxy=127.0.0.1:${proxyPort} db connect redis-cluster --db-user=alice -- --user alice --pass alice-redis-password --no-auth-warning`;
    const info = await run(`${connect} INFO server`);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^tcp_port:0\r?$/m);
    expect(info.stdout).toMatch(/^config_file:\r?$/m);
    expect(info.stdout).toMatch(/^executable:\r?$/m);
    const clients = await run(`${connect} CLIENT LIST`);
    expect(clients.code, clients.stderr).toBe(0);
    expect(clients.stdout).toContain('laddr=?:0');
    const config = await run(`${connect} CONFIG GET '*port*'`);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toMatch(/^tls-port\n0$/m);
    const dirs = await run(`${connect} CONFIG GET dir`);
    expect(dirs.stdout).toMatch(/^dir\n$/m);
    const both = info.stdout + clients.stdout + config.stdout + dirs.stdout;
    for (const p of ports) expect(both).not.toContain(String(p));
    // The same INFO from a node directly does show its port: the rewrite is what hides it.
    const direct = await run(`redis-cli --tls --cacert cluster-ca.crt --cert node.crt --key node.key --user alice --pass alice-redis-password --no-auth-warning -p ${ports[0]} INFO server`);
    expect(direct.stdout).toContain(`tcp_port:${ports[0]}`);
  }, 120_000);

  it('stops everything with the last block', async () => {
    const dir = join(work, 'run');
    const pids = [Number((await readFile(join(dir, 'xport.pid'), 'utf8')).trim())];
    for (const d of (await readdir(dir)).filter((n) => n.startsWith('node-'))) pids.push(Number((await readFile(join(dir, d, 'redis.pid'), 'utf8')).trim()));
    expect(pids).toHaveLength(7);
    const r = await run(blocks.at(-1)!);
    expect(r.code, r.stderr).toBe(0);
    const deadline = Date.now() + 20_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});
