// bench/scenario-memory: resident memory of the xport processes and whether the audit log keeps up.
//
//   idle          VmRSS of `xctl start` (auth + proxy + in-process agent: the agent's process in
//                 the all-in-one mode) and of `xsh proxy db --tunnel`, from /proc/PID/status
//   idle sessions 1,000 raw TCP connections to the tunnel, each sends AUTH + PING and then idles;
//                 (RSS after − RSS before) / 1,000 per process, both read right after a full GC
//                 forced through the inspector (the processes run with --inspect=127.0.0.1:0), so
//                 garbage from the handshakes does not count as session memory; the raw delta
//                 without the forced GC is reported beside it. Each session holds a client socket
//                 and a TLS connection in the tunnel, a TLS connection + mux stream in the proxy and
//                 a session + TLS connection to Redis in the agent (the last three in xctl start).
//   load          back-to-back `redis-benchmark -t set,get -c 50` through the tunnel for 2 minutes
//                 (20 s with --quick); RSS sampled every 5 s; audit rows written per second from the
//                 SQLite file (read-only); afterwards the SET/GET audit events are counted and
//                 compared with the SET/GET calls Redis itself executed (INFO commandstats).
import { connect } from 'node:net';
import { join } from 'node:path';
import { AuditCounter } from './audit-counter.js';
import { REDIS_PASSWORD } from './fixture.js';
import { collectGarbage, inspectorUrl } from './inspector.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { rssKiB, rssParts, sleep } from './processes.js';
import { linearSlope, round, summary } from './stats.js';
import { accessTargets } from './scenario-access.js';

/** rssOf samples the RSS (KiB) of the fixture's processes. */
export function rssOf(fx) {
  const r = { svc: rssKiB(fx.svc.pid), redis: rssKiB(fx.redis.pid) };
  if (fx.tunnel) r.tunnel = rssKiB(fx.tunnel.pid);
  return r;
}

/** openIdleSession connects to the tunnel, authenticates, pings and resolves with the idle socket. */
function openIdleSession(port) {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`an idle session did not answer AUTH + PING within 60 s (got ${JSON.stringify(buf)})`));
    }, 60_000);
    s.setNoDelay(true);
    s.on('connect', () => s.write(`*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$${REDIS_PASSWORD.length}\r\n${REDIS_PASSWORD}\r\n*1\r\n$4\r\nPING\r\n`));
    const onData = (d) => {
      buf += d;
      if (!buf.includes('+PONG\r\n')) return;
      clearTimeout(timer);
      s.off('data', onData);
      if (!buf.startsWith('+OK\r\n')) {
        s.destroy();
        reject(new Error(`AUTH through the tunnel failed: ${JSON.stringify(buf)}`));
      } else resolve(s);
    };
    s.on('data', onData);
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** openIdleSessions opens count sessions, width at a time. */
async function openIdleSessions(port, count, width = 50) {
  const sockets = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        next++;
        sockets.push(await openIdleSession(port));
      }
    }),
  );
  return sockets;
}

/** closeAll destroys the sockets and gives the processes time to tear the sessions down. */
async function closeAll(sockets) {
  for (const s of sockets) s.destroy();
  await sleep(3000);
}

/** redisCalls reads SET and GET call counts from Redis's INFO commandstats (plain port). */
async function redisCalls(group, fx) {
  const r = await group.run('redis-cli', ['-h', '127.0.0.1', '-p', String(fx.redisPlainPort), '--user', 'alice', '--pass', REDIS_PASSWORD, '--no-auth-warning', 'INFO', 'commandstats']);
  if (r.code !== 0) throw new Error(`redis-cli INFO failed: ${r.stderr}`);
  const calls = (cmd) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(r.stdout)?.[1] ?? 0);
  return { set: calls('set'), get: calls('get') };
}

/**
 * runMemory restarts xctl start and the tunnel (so earlier scenarios' heap growth does not blur the
 * figures), then measures idle RSS, the idle sessions and the sustained load.
 */
export async function runMemory({ group, root, fx, quick, reps, log }) {
  // The floor first, while nothing else is busy: one idle mutual-TLS connection in bare Node.
  const floorRun = await group.run(process.execPath, ['--expose-gc', join(root, 'bench', 'tls-floor.js'), '--json'], { timeoutMs: 120_000 });
  if (floorRun.code !== 0) throw new Error(`tls-floor.js failed: ${floorRun.stderr}`);
  const floor = JSON.parse(floorRun.stdout);
  log(`memory: bare Node ${floor.protocol} connection: server ${floor.serverKiB.toFixed(1)} KiB, client ${floor.clientKiB.toFixed(1)} KiB`);

  // Each round runs on freshly started processes: memory freed when the previous round's sessions
  // closed stays resident and would be reused, hiding most of the next round's cost.
  const count = 1000;
  const rounds = quick ? 1 : Math.min(reps, 3);
  const rows = [];
  const raw = { floor, rounds: [] };
  const mib = (k) => k / 1024;
  const per = { svc: [], tunnel: [], redis: [], svcRaw: [], tunnelRaw: [], openRate: [] };
  const idle = { svc: [], tunnel: [] };
  let gc;
  for (let round = 0; round < rounds; round++) {
    log(`memory: round ${round + 1}/${rounds}: restarting redis-server, xctl start and the tunnel …`);
    await fx.stopTunnel();
    await fx.stopService();
    await fx.restartRedis();
    const inspect = ['--inspect=127.0.0.1:0'];
    const svcUrl = await inspectorUrl(await fx.startService(inspect));
    await fx.waitOnline();
    const tunnelUrl = await inspectorUrl(await fx.startTunnel(inspect));
    gc = () => Promise.all([collectGarbage(group, svcUrl), collectGarbage(group, tunnelUrl)]);
    await sleep(3000);
    const fresh = rssOf(fx);
    idle.svc.push(mib(fresh.svc));
    idle.tunnel.push(mib(fresh.tunnel));
    // A few sessions first, so code paths, pools and caches that every session shares exist.
    await closeAll(await openIdleSessions(fx.tunnelPort, 100));
    await gc();
    const before = rssOf(fx);
    const t0 = Date.now();
    const sockets = await openIdleSessions(fx.tunnelPort, count);
    const openMs = Date.now() - t0;
    await sleep(2000);
    const afterRaw = rssOf(fx);
    await gc();
    const after = rssOf(fx);
    per.svc.push((after.svc - before.svc) / count);
    per.tunnel.push((after.tunnel - before.tunnel) / count);
    per.redis.push((after.redis - before.redis) / count);
    per.svcRaw.push((afterRaw.svc - before.svc) / count);
    per.tunnelRaw.push((afterRaw.tunnel - before.tunnel) / count);
    per.openRate.push(count / (openMs / 1000));
    raw.rounds.push({ fresh, before, afterRaw, after, openMs });
    log(
      `memory: ${count} idle sessions opened in ${(openMs / 1000).toFixed(1)} s; per session after GC: agent ${per.svc.at(-1).toFixed(1)} KiB, ` +
        `tunnel ${per.tunnel.at(-1).toFixed(1)} KiB, redis ${per.redis.at(-1).toFixed(1)} KiB (without GC: agent ${per.svcRaw.at(-1).toFixed(1)}, tunnel ${per.tunnelRaw.at(-1).toFixed(1)})`,
    );
    await closeAll(sockets);
  }
  rows.push({
    id: 'memory.idle.agent',
    scenario: 'Agent process RSS idle (`xctl start`, all-in-one: auth + proxy + agent; database online, 3 s after start)',
    unit: 'MiB',
    lowerIsBetter: true,
    ...summary(idle.svc),
  });
  rows.push({ id: 'memory.idle.tunnel', scenario: '`xsh proxy db --tunnel` RSS idle', unit: 'MiB', lowerIsBetter: true, ...summary(idle.tunnel) });
  const a = summary(per.svc);
  const aRaw = summary(per.svcRaw);
  rows.push({
    id: 'memory.session.agent',
    scenario: `Agent process (\`xctl start\`) RSS per idle session (${count} sessions, AUTH + PING, then idle; after a forced GC)`,
    unit: 'KiB',
    lowerIsBetter: true,
    ...a,
    target: { text: '≤ 20 KiB per idle session', value: `${a.median.toFixed(1)} KiB`, met: a.median <= 20 },
    note:
      `includes the proxy side of each session (same process), which holds two TLS connections per session (from the tunnel, to Redis): ` +
      `the bare-Node floor for those is ≈ ${(floor.serverKiB + floor.clientKiB).toFixed(0)} KiB; without the forced GC ${aRaw.median.toFixed(1)} KiB (${aRaw.min.toFixed(1)}–${aRaw.max.toFixed(1)})`,
  });
  const t = summary(per.tunnel);
  const tRaw = summary(per.tunnelRaw);
  rows.push({
    id: 'memory.session.tunnel',
    scenario: `\`xsh proxy db\` tunnel RSS per idle session (${count} sessions, after a forced GC)`,
    unit: 'KiB',
    lowerIsBetter: true,
    ...t,
    note: `without the forced GC ${tRaw.median.toFixed(1)} KiB (${tRaw.min.toFixed(1)}–${tRaw.max.toFixed(1)})`,
  });
  rows.push({
    id: 'memory.floor.tls',
    scenario: `Floor: one idle mutual-TLS connection in bare Node (${floor.protocol}, ECDSA P-256, shared SecureContext, after GC), server side`,
    unit: 'KiB',
    lowerIsBetter: true,
    median: floor.serverKiB,
    note: `client side ${floor.clientKiB.toFixed(1)} KiB (it also keeps the server's session tickets); measured by bench/tls-floor.js`,
  });
  rows.push({ id: 'memory.session.redis', scenario: `redis-server RSS per idle session, for comparison (${count} sessions)`, unit: 'KiB', lowerIsBetter: true, ...summary(per.redis) });
  rows.push({
    id: 'memory.session.open-rate',
    scenario: `Idle sessions opened per second through the tunnel (50 connecting at a time, each AUTH + PING)`,
    unit: 'sessions/s',
    ...summary(per.openRate),
  });

  // --- sustained load ---
  const durationS = quick ? 20 : 120;
  const n = quick ? 20_000 : 100_000;
  const target = accessTargets(fx).xport;
  const audit = new AuditCounter(fx.dataDir);
  try {
    log('memory: waiting for the audit log to flush before the load …');
    const startRow = (await audit.settle()).rows;
    await gc();
    const rssBeforeGc = rssOf(fx);
    const partsBefore = { svc: rssParts(fx.svc.pid), tunnel: rssParts(fx.tunnel.pid) };
    const callsBefore = await redisCalls(group, fx);
    const rssBefore = rssOf(fx);
    log(`memory: ${durationS} s of back-to-back redis-benchmark -t set,get -c 50 -n ${n} through the tunnel …`);
    const samples = [];
    const t0 = Date.now();
    let prevRows = startRow;
    let prevCalls = callsBefore;
    let prevT = t0;
    let sampling = Promise.resolve();
    const sample = async () => {
      const t = Date.now();
      const rss = rssOf(fx);
      const auditRows = audit.rows();
      const calls = await redisCalls(group, fx);
      const dt = (t - prevT) / 1000;
      samples.push({
        t: round((t - t0) / 1000, 1),
        svcMiB: round(mib(rss.svc), 1),
        tunnelMiB: round(mib(rss.tunnel), 1),
        auditPerS: dt > 0 ? Math.round((auditRows - prevRows) / dt) : 0,
        redisCmdPerS: dt > 0 ? Math.round((calls.set + calls.get - prevCalls.set - prevCalls.get) / dt) : 0,
        auditBacklog: calls.set + calls.get - callsBefore.set - callsBefore.get - (auditRows - startRow),
      });
      prevRows = auditRows;
      prevCalls = calls;
      prevT = t;
    };
    // The trend is judged on RSS read right after a forced GC at each quarter of the load and at its
    // end (the GC pauses the process for a few ms, under load): raw RSS also holds garbage.
    const gcSamples = [];
    const gcSample = async () => {
      await gc();
      gcSamples.push({ t: round((Date.now() - t0) / 1000, 1), svc: rssParts(fx.svc.pid), tunnel: rssParts(fx.tunnel.pid) });
    };
    await sample();
    const timer = setInterval(() => {
      sampling = sampling.then(sample).catch((err) => log(`memory: sample failed: ${err.message}`));
    }, 5000);
    const gcTimers = [1, 2, 3].map((q) =>
      setTimeout(() => {
        sampling = sampling.then(gcSample).catch((err) => log(`memory: GC sample failed: ${err.message}`));
      }, (q * durationS * 1000) / 4),
    );
    let invocations = 0;
    try {
      while (Date.now() - t0 < durationS * 1000) {
        await runRedisBenchmark(group, target, ['-t', 'set,get', '-c', '50', '-n', String(n)]);
        invocations++;
      }
    } finally {
      clearInterval(timer);
      for (const t of gcTimers) clearTimeout(t);
      await sampling;
    }
    await sample();
    await gcSample();
    const loadS = (Date.now() - t0) / 1000;
    log('memory: load done; waiting for the audit log to flush …');
    const flushS = (await audit.settle()).waitedMs / 1000;
    const callsAfter = await redisCalls(group, fx);
    const audited = audit.commandsSince(startRow);
    const sent = 2 * n * invocations;
    const executed = callsAfter.set - callsBefore.set + callsAfter.get - callsBefore.get;
    const auditedSetGet = (audited.set ?? 0) + (audited.get ?? 0);
    const settleS = quick ? 3 : 10;
    await sleep(settleS * 1000);
    const rssAfter = rssOf(fx);
    await gc();
    const rssAfterGc = rssOf(fx);
    const partsAfter = { svc: rssParts(fx.svc.pid), tunnel: rssParts(fx.tunnel.pid) };
    const retained = (k) => mib(rssAfterGc[k] - rssBeforeGc[k]);

    const peakAudit = Math.max(...samples.map((s) => s.auditPerS));
    raw.load = { durationS: loadS, invocations, n, samples, gcSamples, rssBefore, rssAfter, rssBeforeGc, rssAfterGc, partsBefore, partsAfter, sent, executed, audited, flushS };

    // Verdict: the least-squares slope of RSS after a forced GC, from the first quarter of the load
    // to its end, extrapolated over that window. A one-off step while the load warms up (buffers,
    // caches, allocator arenas) is not a trend; it is reported in the notes with the idle retention.
    const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    const trendRow = (id, label, key, samplesKey) => {
      const pts = gcSamples.map((g) => [g.t / 60, mib(g[key].rss)]);
      const windowMinGc = (gcSamples.at(-1).t - gcSamples[0].t) / 60;
      const growth = linearSlope(pts) * windowMinGc;
      const base = mib(gcSamples[0][key].rss);
      const step = base - mib(rssBeforeGc[key]);
      const anon = mib(gcSamples.at(-1)[key].anon - gcSamples[0][key].anon);
      return {
        id,
        scenario: `${label}: RSS trend after forced GCs at ¼, ½, ¾ and the end of ${Math.round(loadS)} s of load (fitted growth over that window)`,
        unit: 'MiB',
        lowerIsBetter: true,
        median: growth,
        target: {
          text: 'no growth trend (< 5 % of RSS)',
          value: `${signed(growth)} MiB on ${base.toFixed(0)} MiB`,
          met: growth < 0.05 * base,
        },
        note:
          `after-GC RSS ${gcSamples.map((g) => mib(g[key].rss).toFixed(0)).join(' → ')} MiB (anonymous ${signed(anon)} MiB over the window); ` +
          `step from idle to ¼ load ${signed(step)} MiB; ${settleS} s after the load, after GC, ${signed(retained(key))} MiB vs before it ` +
          `(anonymous ${signed(mib(partsAfter[key].anon - partsBefore[key].anon))}); raw RSS peak ${Math.max(...samples.map((x) => x[samplesKey])).toFixed(0)} MiB`,
      };
    };
    rows.push(trendRow('memory.load.agent-trend', 'Agent process (`xctl start`)', 'svc', 'svcMiB'));
    rows.push(trendRow('memory.load.tunnel-trend', 'Tunnel (`xsh proxy db`)', 'tunnel', 'tunnelMiB'));
    rows.push({
      id: 'memory.load.audit-peak',
      scenario: 'Audit events written per second at peak (5 s windows, SQLite rows)',
      unit: 'events/s',
      median: peakAudit,
      note: `Redis executed ${Math.max(...samples.map((s) => s.redisCmdPerS)).toLocaleString('en-US')} SET+GET/s at peak; backlog drained ${flushS.toFixed(0)} s after the load`,
    });
    const dropped = executed - auditedSetGet;
    rows.push({
      id: 'memory.load.audit-dropped',
      scenario: 'Audit events dropped under load (SET+GET executed by Redis − SET+GET db.session.query events)',
      unit: 'events',
      lowerIsBetter: true,
      median: dropped,
      target: { text: 'none dropped', value: `${auditedSetGet.toLocaleString('en-US')} audited / ${executed.toLocaleString('en-US')} executed`, met: dropped <= 0 },
      note: `redis-benchmark sent ${sent.toLocaleString('en-US')} SET+GET in ${invocations} runs`,
    });
    log(`memory: load ${invocations} runs, ${executed} executed, ${auditedSetGet} audited, peak audit ${peakAudit}/s, agent retained ${retained('svc').toFixed(1)} MiB, tunnel retained ${retained('tunnel').toFixed(1)} MiB`);
    return { rows, raw, samples };
  } finally {
    audit.close();
  }
}

/** memorySection renders the load's samples as a Markdown table for RESULTS.md. */
export function memorySection(samples) {
  if (!samples?.length) return '';
  return [
    '## Memory and audit during the load',
    '',
    'Sampled every 5 s while back-to-back `redis-benchmark -t set,get -c 50` runs went through the tunnel',
    '("audit backlog" = SET+GET executed by Redis so far − audit rows written so far; it drains after the load).',
    '',
    '| t (s) | xctl start RSS (MiB) | tunnel RSS (MiB) | Redis SET+GET/s | audit rows/s | audit backlog |',
    '|---|---|---|---|---|---|',
    ...samples.map((s) => `| ${s.t} | ${s.svcMiB} | ${s.tunnelMiB} | ${s.redisCmdPerS.toLocaleString('en-US')} | ${s.auditPerS.toLocaleString('en-US')} | ${s.auditBacklog.toLocaleString('en-US')} |`),
  ].join('\n');
}
