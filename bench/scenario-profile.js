// bench/scenario-profile: where the CPU goes on the xport path. Restarts `xctl start` and the
// tunnel as `node --cpu-prof …` (the flag is not allowed in NODE_OPTIONS), runs one load through
// the tunnel, stops both with SIGTERM (a clean exit writes the .cpuprofile) and summarises the
// top self-time functions. Two phases, so the unpipelined and the pipelined costs are told apart.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { profileSection, summariseProfile } from './cpu-profile.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { accessTargets } from './scenario-access.js';

/** PHASES are the profiled loads, each sized to run roughly 5–10 s on the xport path. */
const PHASES = [
  { id: 'unpipelined', label: 'unpipelined: -t set,get -c 50, then -t get -c 1', loads: [['-t', 'set,get', '-c', '50', '-n', '30000'], ['-t', 'get', '-c', '1', '-n', '5000']] },
  { id: 'pipelined', label: 'pipelined: -t set,get -P 16 -c 50', loads: [['-t', 'set,get', '-P', '16', '-c', '50', '-n', '128000']] },
  // Mostly session set-up: 500 new sessions, each a TLS dial from the tunnel and an upstream TLS connection.
  { id: 'sessions', label: 'many sessions: -t set,get -c 500', loads: [['-t', 'set,get', '-c', '500', '-n', '10000']] },
];

/**
 * runProfiles profiles each phase and returns a Markdown section and the summaries. It leaves
 * xctl start running again (unprofiled) for anything that follows.
 */
export async function runProfiles({ group, fx, work, missed, log }) {
  const summaries = [];
  const achieved = [];
  for (const phase of PHASES) {
    const dir = join(work, 'profiles', phase.id);
    mkdirSync(dir, { recursive: true });
    log(`profile (${phase.id}): restarting xctl start and the tunnel under --cpu-prof …`);
    await fx.stopTunnel();
    await fx.stopService();
    // No --cpu-prof-name: xctl start has a second thread (the audit index worker), and each thread
    // writes its own profile; Node's default names carry the thread id (…<pid>.<tid>.<seq>.cpuprofile).
    const xctlDir = join(dir, 'xctl-start');
    mkdirSync(xctlDir, { recursive: true });
    await fx.startService(['--cpu-prof', `--cpu-prof-dir=${xctlDir}`]);
    await fx.waitOnline();
    await fx.startTunnel(['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-name=xsh-proxy-db.cpuprofile']);
    const target = accessTargets(fx).xport;
    for (const l of phase.loads) {
      const r = await runRedisBenchmark(group, target, l);
      const text = `${l.join(' ')}: ${Object.values(r.rows).map((x) => `${x.test} ${Math.round(x.rps).toLocaleString('en-US')}/s`).join(', ')}`;
      achieved.push(text);
      log(`profile (${phase.id}): ${text}`);
    }
    await fx.stopTunnel();
    await fx.stopService();
    const files = readdirSync(dir);
    // Thread 0 is xctl start's event loop; any other thread of it is the audit index worker.
    const threads = readdirSync(xctlDir).filter((f) => f.endsWith('.cpuprofile'));
    const mainThread = threads.find((f) => /\.0\.\d+\.cpuprofile$/.test(f));
    const worker = threads.find((f) => f !== mainThread);
    for (const [file, proc, label] of [
      [mainThread && join('xctl-start', mainThread), 'xctl', `\`xctl start\` (proxy + agent + auth, one process; its event loop) — ${phase.label}`],
      [worker && join('xctl-start', worker), 'xctl-index', `\`xctl start\`'s audit index worker thread (SQLite) — ${phase.label}`],
      ['xsh-proxy-db.cpuprofile', 'tunnel', `\`xsh proxy db --tunnel\` — ${phase.label}`],
    ]) {
      if (!file || (!file.includes('/') && !files.includes(file))) {
        log(`profile (${phase.id}): no ${proc} profile was written`);
        continue;
      }
      summaries.push({ label, phase: phase.id, proc, summary: summariseProfile(join(dir, file), 15) });
    }
  }
  await fx.startService();
  await fx.waitOnline();
  const intro =
    `Both xport processes were restarted as \`node --cpu-prof …\` for each phase below, with \`redis-benchmark\` going through the tunnel ` +
    `(achieved while profiled: ${achieved.join('; ')}). Profiled because these targets were missed: ${missed.map((r) => r.id).join(', ') || '(forced with --profile)'}. ` +
    'Self time is where the CPU was when sampled, by function; profiling slows the processes, so read the shares, not the absolute times.';
  return { section: profileSection(intro, summaries), summaries: summaries.map(({ label, phase, proc, summary }) => ({ label, phase, proc, ...summary })) };
}
