#!/usr/bin/env node
// npm run demo: start an embedded xport cluster in a temp dir, add a user, complete the invite
// non-interactively, log in, print `xsh status`, then stop everything it started (by PID).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'xport-demo-'));
const dataDir = join(work, 'data');
const env = { ...process.env, XSH_HOME: join(work, 'xsh'), XSH_KEY_STORAGE: 'file' };
const bin = (name) => join(root, 'bin', `${name}.js`);

function show(title) {
  process.stdout.write(`\n\x1b[1m$ ${title}\x1b[0m\n`);
}
function run(name, args, input) {
  show(`${name} ${args.join(' ')}${input ? '   (password on stdin)' : ''}`);
  const r = spawnSync(process.execPath, [bin(name), ...args], { env, input: input ?? '', encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`${name} ${args[0]} exited with ${r.status}`);
  return r.stdout;
}

show(`xctl start --data-dir ${dataDir} --listen-addr 127.0.0.1:0 &`);
const svc = spawn(process.execPath, [bin('xctl'), 'start', '--data-dir', dataDir, '--listen-addr', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
svc.stdout.on('data', (d) => (out += d));
svc.stderr.on('data', (d) => (out += d));
const stop = async () => {
  if (svc.exitCode === null) {
    process.kill(svc.pid, 'SIGTERM');
    await new Promise((r) => svc.once('exit', r));
  }
};

try {
  const ready = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`xctl start did not become ready:\n${out}`)), 30_000);
    const check = () => {
      const m = /Proxy listening on (\S+) .*CA pin (sha256:[0-9a-f]{64})/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    svc.stdout.on('data', check);
    svc.stderr.on('data', check);
    svc.once('exit', (c) => reject(new Error(`xctl start exited with ${c}:\n${out}`)));
  });
  process.stdout.write(out.split('\n').filter((l) => l.startsWith('xport') || l.startsWith('Proxy')).join('\n') + '\n');
  const [, addr, pin] = ready;

  run('xctl', ['--data-dir', dataDir, 'status']);
  const add = run('xctl', ['--data-dir', dataDir, 'users', 'add', 'alice', '--roles=access,auditor', '--db-users=alice']);
  const token = /--invite=([0-9a-f]+)/.exec(add)[1];
  run('xsh', ['login', `--proxy=${addr}`, '--user=alice', `--invite=${token}`, `--ca-pin=${pin}`, '--password-stdin'], 'a-long-demo-password\n');
  run('xsh', ['status']);
  run('xctl', ['--data-dir', dataDir, 'audit', 'ls']);
  show('kill -TERM <xctl start pid>');
  await stop();
  process.stdout.write(out.split('\n').filter((l) => l.startsWith('xport stopped')).join('\n') + '\n');
  process.stdout.write(`\nDemo finished; files were in ${work} (removed).\n`);
} catch (err) {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  await stop();
  rmSync(work, { recursive: true, force: true });
}
