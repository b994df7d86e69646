// bench/cpu-per-command: the CPU that `xctl start` (all threads, and its main thread alone) and
// the `xsh proxy db` tunnel spend per command, read from /proc/<pid>/stat and
// /proc/<pid>/task/<pid>/stat (utime+stime) around each run, so two builds can be compared on a
// machine that is busy with other work (CPU time per command barely moves with load; ops/s does).
// It measured the write-ahead audit log's cost (+4.5–5.8 µs per command) and the data-path
// changes of issue 12 (bench/RESULTS.md). Not part of `npm run bench`.
//
//   node bench/cpu-per-command.js [ROOT] [ROUNDS] [LOADS]
//
// ROOT is a built checkout (bin/, dist/) to measure; default: this one. LOADS is a comma list of
// p16 (`-t set -P 16 -c 50`, the default) and c50 (`-t set -c 50`). Must not import from test/
// or src/.
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
const LOADS = { p16: { args: ['-t', 'set', '-P', '16', '-c', '50'], n: 400_000 }, c50: { args: ['-t', 'set', '-c', '50'], n: 100_000 } };
const loads = (process.argv[4] ?? 'p16').split(',').filter(Boolean);
for (const l of loads) if (!LOADS[l]) throw new Error(`unknown load ${l} (p16, c50)`);
const TICK_MS = 1000 / 100; // USER_HZ

/** cpuMs reads a process's user+system CPU time in ms. */
function cpuMs(pid, mainThreadOnly = false) {
  const f = readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
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
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tunnelPid = fx.tunnel.pid;
  for (const load of loads) {
    const { args, n: N } = LOADS[load];
    const rows = [];
    for (let i = 0; i < rounds; i++) {
      const before = [cpuMs(fx.svc.pid), cpuMs(fx.svc.pid, true), cpuMs(tunnelPid)];
      const r = await runRedisBenchmark(group, target, [...args, '-n', String(N)]);
      const after = [cpuMs(fx.svc.pid), cpuMs(fx.svc.pid, true), cpuMs(tunnelPid)];
      const [svc, main, tunnel] = after.map((a, k) => ((a - before[k]) * 1000) / N);
      rows.push({ rps: r.rows.SET.rps, usPerCmd: svc, mainUsPerCmd: main, tunnelUsPerCmd: tunnel });
      process.stderr.write(`${load} round ${i + 1}: ${r.rows.SET.rps.toFixed(0)} SET/s; µs CPU per command: xctl start ${svc.toFixed(2)} (main thread ${main.toFixed(2)}), tunnel ${tunnel.toFixed(2)}\n`);
    }
    console.log(JSON.stringify({ root, load, rounds, n: N, medianRps: med(rows.map((r) => r.rps)), medianUsPerCmd: med(rows.map((r) => r.usPerCmd)), medianMainUsPerCmd: med(rows.map((r) => r.mainUsPerCmd)), medianTunnelUsPerCmd: med(rows.map((r) => r.tunnelUsPerCmd)), rows }));
  }
} finally {
  await group.stopAll?.();
  group.killAllNow?.();
}
