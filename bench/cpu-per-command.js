// bench/cpu-per-command: the CPU that `xctl start` spends per command at `redis-benchmark -t set
// -P 16 -c 50`, read from /proc/<pid>/stat (utime+stime) around each run, so two builds can be
// compared (it measured the write-ahead audit log's cost: +4.5–5.8 µs per command). Not part of
// `npm run bench`.
//
//   node bench/cpu-per-command.js [ROOT] [ROUNDS]
//
// ROOT is a built checkout (bin/, dist/) to measure; default: this one. Must not import from
// test/ or src/.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixture } from './fixture.js';
import { ProcessGroup } from './processes.js';
import { runRedisBenchmark } from './redis-benchmark.js';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(process.argv[2] ?? here);
const rounds = Number(process.argv[3] ?? 5);
const N = 400_000;
const TICK_MS = 1000 / 100; // USER_HZ

/** cpuMs reads a process's user+system CPU time in ms. */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const group = new ProcessGroup();
const work = mkdtempSync(join(tmpdir(), 'xport-walcost-'));
try {
  const fx = await startFixture(group, root, work, (m) => process.stderr.write(`${m}\n`));
  if (process.env.WAL_PROFILE_DIR) {
    // Restart xctl start under the V8 profiler (written at its clean exit).
    await fx.stopService();
    await fx.startService(['--cpu-prof', `--cpu-prof-dir=${process.env.WAL_PROFILE_DIR}`]);
    await fx.waitOnline();
  }
  await fx.startTunnel();
  const target = { port: fx.tunnelPort, user: 'alice', password: 'alice-redis-pw' };
  await runRedisBenchmark(group, target, ['-t', 'set', '-P', '16', '-c', '50', '-n', '50000']); // warm-up
  if (process.env.WAL_STRACE) {
    // Count the write syscalls of xctl start during one round (strace slows it: no timing here).
    const st = group.start('strace', 'strace', ['-c', '-f', '-e', 'trace=write,writev,pwrite64,fsync,fdatasync', '-p', String(fx.svc.pid)]);
    await new Promise((r) => setTimeout(r, 1000));
    await runRedisBenchmark(group, target, ['-t', 'set', '-P', '16', '-c', '50', '-n', '100000']);
    process.kill(st.pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 1000));
    process.stderr.write(st.output());
  }
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    const before = cpuMs(fx.svc.pid);
    const r = await runRedisBenchmark(group, target, ['-t', 'set', '-P', '16', '-c', '50', '-n', String(N)]);
    const used = cpuMs(fx.svc.pid) - before;
    rows.push({ rps: r.rows.SET.rps, usPerCmd: (used * 1000) / N });
    process.stderr.write(`round ${i + 1}: ${r.rows.SET.rps.toFixed(0)} SET/s, xctl start ${((used * 1000) / N).toFixed(2)} µs CPU per command\n`);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(JSON.stringify({ root, rounds, n: N, medianRps: med(rows.map((r) => r.rps)), medianUsPerCmd: med(rows.map((r) => r.usPerCmd)), rows }));
} finally {
  await group.stopAll?.();
  group.killAllNow?.();
}
