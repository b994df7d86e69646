// bench/scenario-access: the access path under redis-benchmark. Four paths to the same
// redis-server, all authenticating as ACL user alice (--user alice -a …):
//
//   plain      redis-benchmark → Redis plain port                       (reference only)
//   tls        redis-benchmark --tls (mutual TLS) → Redis TLS port      (the baseline)
//   stunnel    redis-benchmark → stunnel client → TLS → stunnel server → Redis plain port
//   haproxy    redis-benchmark → HAProxy client → TLS → HAProxy server → Redis plain port (mode tcp)
//   nodepair   redis-benchmark → Node client → TLS → Node server → Redis plain port: two Node
//              processes that only pipe bytes (bench/node-pair.js), the floor of any Node relay
//   xport      redis-benchmark → xsh proxy db --tunnel → proxy → agent → TLS Redis
//              (audit on, values redacted; role rule "deny FLUSHALL" active)
//
// Runs are interleaved (every path once per round), so noise on the shared 2-core machine spreads
// over all paths alike; ratios within one run are the contract.
import { combinedOps, runRedisBenchmark } from './redis-benchmark.js';
import { round, summary } from './stats.js';
import { REDIS_PASSWORD } from './fixture.js';

/** targets describes the four paths for redis-benchmark. */
export function accessTargets(fx) {
  const auth = { user: 'alice', password: REDIS_PASSWORD };
  return {
    plain: { label: 'direct plain Redis', port: fx.redisPlainPort, ...auth },
    tls: {
      label: 'direct TLS Redis (mTLS)',
      port: fx.redisTlsPort,
      tls: { cert: fx.files.benchClientCert, key: fx.files.benchClientKey, ca: fx.files.dbCa },
      ...auth,
    },
    stunnel: { label: 'stunnel pair (plain→TLS→plain)', port: fx.stunnelPort, ...auth },
    haproxy: { label: 'HAProxy pair (plain→TLS→plain, mode tcp)', port: fx.haproxyPort, ...auth },
    nodepair: { label: 'Node pipe pair (plain→TLS→plain, bytes only)', port: fx.nodePairPort, ...auth },
    xport: { label: 'xport full path (xsh tunnel → proxy → agent → TLS Redis)', port: fx.tunnelPort, ...auth },
  };
}

/**
 * accessLoads are the redis-benchmark configurations. n is the request count per test on the
 * xport path; the faster paths get `scale`× more so their runs are not over in a blink (rates are
 * per second, so the counts need not match). --quick shrinks everything.
 */
export function accessLoads(quick) {
  const q = (full, small) => (quick ? small : full);
  return [
    { id: 'c50', label: '-t set,get -c 50', args: (n) => ['-t', 'set,get', '-c', '50', '-n', String(n)], n: q(50_000, 10_000), scale: { plain: 2, tls: 2 }, metric: 'ops', paths: ['plain', 'tls', 'haproxy', 'stunnel', 'nodepair', 'xport'] },
    { id: 'p16', label: '-t set,get -P 16 -c 50', args: (n) => ['-t', 'set,get', '-P', '16', '-c', '50', '-n', String(n)], n: q(160_000, 48_000), scale: { plain: 4, tls: 4, haproxy: 4, stunnel: 2, nodepair: 2 }, metric: 'ops', paths: ['plain', 'tls', 'haproxy', 'stunnel', 'nodepair', 'xport'] },
    { id: 'c1', label: '-t get -c 1', args: (n) => ['-t', 'get', '-c', '1', '-n', String(n)], n: q(10_000, 2_000), scale: {}, metric: 'latency', paths: ['plain', 'tls', 'haproxy', 'stunnel', 'nodepair', 'xport'] },
    // 500 sessions: mostly session set-up at these counts, so --quick runs it once.
    { id: 'c500', label: '-t set,get -c 500', args: (n) => ['-t', 'set,get', '-c', '500', '-n', String(n)], n: q(12_000, 5_000), scale: { tls: 2 }, metric: 'ops', paths: ['tls', 'haproxy', 'stunnel', 'nodepair', 'xport'], maxQuickReps: 1 },
  ];
}

/**
 * runAccess measures every load on every path, reps rounds each, and returns result rows plus the
 * raw per-run data. log(msg) reports progress.
 */
export async function runAccess({ group, fx, quick, reps, log, onlyLoads }) {
  const targets = accessTargets(fx);
  const loads = accessLoads(quick).filter((l) => !onlyLoads || onlyLoads.some((p) => l.id.startsWith(p) || p.startsWith(`${l.id}.`)));
  const raw = {};

  // Warm every path once (JIT in the Node processes, session set-up paths) before timing anything.
  log('access: warm-up round …');
  for (const p of ['plain', 'tls', 'haproxy', 'stunnel', 'nodepair', 'xport']) await runRedisBenchmark(group, targets[p], ['-t', 'set,get', '-c', '50', '-n', quick ? '5000' : '20000']);

  for (const load of loads) {
    raw[load.id] = Object.fromEntries(load.paths.map((p) => [p, []]));
    const loadReps = quick && load.maxQuickReps ? Math.min(reps, load.maxQuickReps) : reps;
    for (let rep = 0; rep < loadReps; rep++) {
      for (const p of load.paths) {
        const n = load.n * (load.scale[p] ?? 1);
        const { rows, ms } = await runRedisBenchmark(group, targets[p], load.args(n));
        const run = { n, ms: round(ms, 1), rows };
        if (load.metric === 'ops') run.ops = combinedOps(rows);
        else {
          run.p50 = rows.GET.p50_latency_ms;
          run.p99 = rows.GET.p99_latency_ms;
          run.ops = rows.GET.rps;
        }
        raw[load.id][p].push(run);
        log(
          `access ${load.id} ${p.padEnd(7)} rep ${rep + 1}/${loadReps}: ` +
            (load.metric === 'ops' ? `${Math.round(run.ops)} ops/s` : `p50 ${run.p50} ms, p99 ${run.p99} ms`) +
            ` (${(ms / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
  return { rows: accessRows(loads, targets, raw), raw };
}

/** accessRows turns the raw runs into report rows with ratios and the targets. */
function accessRows(loads, targets, raw) {
  const rows = [];
  for (const load of loads) {
    const per = raw[load.id];
    if (load.metric === 'ops') {
      const s = Object.fromEntries(Object.entries(per).map(([p, runs]) => [p, summary(runs.map((r) => r.ops))]));
      for (const p of load.paths) {
        const row = {
          id: `access.${load.id}.${p}`,
          scenario: `${targets[p].label}: ${load.label} (SET+GET ops/s)`,
          unit: 'ops/s',
          ...s[p],
          n: load.n * (load.scale[p] ?? 1),
          baseline: { id: `access.${load.id}.tls`, label: 'direct TLS', ratio: s[p].median / s.tls.median },
        };
        const vsHaproxy = s.xport.median / s.haproxy.median;
        const vsStunnel = s.xport.median / s.stunnel.median;
        const vsNode = s.xport.median / s.nodepair.median;
        // The data-path issue's targets: -c 50 at least the HAProxy pair; -P 16 at least the stunnel
        // pair and half the HAProxy pair (HAProxy coalesces pipelined bytes in C with no parsing).
        if (p === 'xport' && load.id === 'c50') {
          row.target = { text: '≥ 1.00× HAProxy pair', value: `${vsHaproxy.toFixed(2)}× HAProxy`, met: vsHaproxy >= 1.0 };
          row.note = `${vsStunnel.toFixed(2)}× stunnel pair, ${vsNode.toFixed(2)}× Node pipe pair`;
        }
        if (p === 'xport' && load.id === 'p16') {
          row.target = { text: '≥ 1.00× stunnel and ≥ 0.50× HAProxy', value: `${vsStunnel.toFixed(2)}× stunnel, ${vsHaproxy.toFixed(2)}× HAProxy`, met: vsStunnel >= 1.0 && vsHaproxy >= 0.5 };
          row.note = `${vsNode.toFixed(2)}× Node pipe pair`;
        }
        if (p === 'xport' && load.id === 'c500') {
          row.note = `${vsStunnel.toFixed(2)}× stunnel pair, ${vsHaproxy.toFixed(2)}× HAProxy pair, ${vsNode.toFixed(2)}× Node pipe pair; many sessions (no target)`;
        }
        rows.push(row);
      }
    } else {
      const p50 = Object.fromEntries(Object.entries(per).map(([p, runs]) => [p, summary(runs.map((r) => r.p50))]));
      const p99 = Object.fromEntries(Object.entries(per).map(([p, runs]) => [p, summary(runs.map((r) => r.p99))]));
      for (const p of load.paths) {
        rows.push({
          id: `access.${load.id}.${p}.p50`,
          scenario: `${targets[p].label}: ${load.label} GET p50 latency`,
          unit: 'ms',
          lowerIsBetter: true,
          ...p50[p],
          n: load.n * (load.scale[p] ?? 1),
          baseline: { id: `access.${load.id}.tls.p50`, label: 'direct TLS', ratio: p50[p].median / p50.tls.median },
          note: `p99 ${p99[p].median} ms (${p99[p].min}–${p99[p].max})`,
        });
      }
      // Added latency, paired within each round (xport and direct TLS ran back to back).
      const added = per.xport.map((r, i) => r.p50 - per.tls[i].p50);
      const s = summary(added);
      rows.push({
        id: `access.${load.id}.xport.added-p50`,
        scenario: `xport full path: added GET p50 latency over direct TLS at -c 1`,
        unit: 'ms',
        lowerIsBetter: true,
        ...s,
        target: { text: '≤ 0.10 ms', value: `+${s.median.toFixed(3)} ms`, met: s.median <= 0.1 },
        note: `stunnel pair adds ${round(p50.stunnel.median - p50.tls.median, 3)} ms, HAProxy pair ${round(p50.haproxy.median - p50.tls.median, 3)} ms, Node pipe pair ${round(p50.nodepair.median - p50.tls.median, 3)} ms`,
      });
    }
  }
  return rows;
}
