#!/usr/bin/env node
// bench/run: `npm run bench` — builds nothing itself (npm runs `npm run build` first), starts what
// it needs on 127.0.0.1 in a temp dir, measures, stops every process it started (by PID, in a
// finally and on SIGINT/SIGTERM) and writes bench/RESULTS.md and bench/results.json.
//
//   node bench/run.js [--quick] [--only PREFIX[,PREFIX…]] [--reps N] [--profile | --no-profile] [--keep]
//
// Scenario groups (PREFIX matches their names, or a sub-scenario such as access.c1):
//   certs    in-process issuance, login and db-cert round trips over HTTPS, xctl auth sign
//   access   redis-benchmark: direct plain, direct TLS, HAProxy pair, stunnel pair, xport full path
//   cluster  a 6-node TLS Redis Cluster: redis-benchmark through xport vs redis-benchmark --cluster
//   startup  xsh --version / status / db ls against node -e 0 (hyperfine)
//   memory   RSS idle, per idle session, during a sustained load; audit throughput and drops
//   ha       PostgreSQL + 3 replicas behind HAProxy + a remote agent: logins/s and new sessions/s
//            through 1 vs 3 replicas, and the fail-over when one replica is SIGKILLed
//   profile  CPU profiles of xctl start and the tunnel under load (automatic when an
//            access-path or memory target is missed in a full run; --profile forces it)
// Must not import from test/ (plain ESM over dist/ and node:*).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ProcessGroup, openFilesLimit } from './processes.js';
import { startFixture } from './fixture.js';
import { runAccess } from './scenario-access.js';
import { runCluster } from './scenario-cluster.js';
import { runCertRate, runCertsOverHttps } from './scenario-certs.js';
import { runStartup } from './scenario-startup.js';
import { runMemory, memorySection } from './scenario-memory.js';
import { runProfiles } from './scenario-profile.js';
import { runHa } from './scenario-ha.js';
import { AuditCounter } from './audit-counter.js';
import { writeResults } from './report.js';
import { findingsSection } from './findings.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = ['certs', 'access', 'cluster', 'startup', 'memory', 'ha', 'profile'];

function parseArgs(argv) {
  const o = { quick: false, only: undefined, reps: undefined, profile: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = argv[++i];
    else if (a.startsWith('--only=')) o.only = a.slice(7);
    else if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node bench/run.js [--quick] [--only PREFIX[,PREFIX…]] [--reps N] [--profile|--no-profile] [--keep]\ngroups: ' + GROUPS.join(', '));
      process.exit(0);
    } else {
      console.error(`unknown option ${a} (try --help)`);
      process.exit(2);
    }
  }
  if (o.only === undefined && argv.includes('--only')) {
    console.error('--only needs a scenario prefix');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const prefixes = opts.only ? opts.only.split(',').filter(Boolean) : undefined;
/** selected tells whether a group (or a sub-scenario id like access.c1) runs. */
const selected = (name) => !prefixes || prefixes.some((p) => name.startsWith(p) || p.startsWith(`${name}.`));
const reps = opts.reps ?? (opts.quick ? 2 : 3);
const t0 = Date.now();
const log = (msg) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

const group = new ProcessGroup();
const work = mkdtempSync(join(tmpdir(), 'xport-bench-'));
let interrupted = 0;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    interrupted++;
    if (interrupted > 1) {
      group.killAllNow();
      process.exit(130);
    }
    log(`${sig}: stopping every process the benchmark started …`);
    void group.stopAll().finally(() => {
      if (!opts.keep) rmSync(work, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

const rows = [];
const raw = {};
const sections = [];
let fx;

try {
  log(`work dir ${work}; ${opts.quick ? 'quick' : 'full'} run, ${reps} rounds${prefixes ? `, only ${prefixes.join(',')}` : ''}`);

  // 1. In-process certificate issuance first, while nothing else runs on the machine.
  if (selected('certs')) {
    const r = await runCertRate({ group, root, quick: opts.quick, log });
    rows.push(...r.rows);
    raw.certRate = r.raw;
  }

  const needFixture = ['access', 'cluster', 'certs', 'startup', 'memory', 'profile'].some(selected);
  if (needFixture) {
    fx = await startFixture(group, root, work, log);
    if (['access', 'memory', 'profile'].some(selected)) await fx.startTunnel();
    if (selected('access')) {
      await fx.startStunnelPair();
      await fx.startHaproxyPair();
      await fx.startNodePair();
    }
    log(`fixture up: proxy ${fx.proxyAddr}, redis tls ${fx.redisTlsPort}/plain ${fx.redisPlainPort}, tunnel ${fx.tunnelPort ?? '-'}, stunnel ${fx.stunnelPort ?? '-'}, haproxy ${fx.haproxyPort ?? '-'}, node pair ${fx.nodePairPort ?? '-'}`);
  }

  // 2. The access path.
  if (selected('access')) {
    const onlyLoads = prefixes?.filter((p) => p.startsWith('access.')).map((p) => p.slice('access.'.length));
    const r = await runAccess({ group, fx, quick: opts.quick, reps, log, onlyLoads: onlyLoads?.length ? onlyLoads : undefined });
    rows.push(...r.rows);
    raw.access = r.raw;
    // The audit log may still be writing the access runs' events; measuring certificates or
    // start-up meanwhile would measure that backlog. How long it takes is a finding too.
    const audit = new AuditCounter(fx.dataDir);
    try {
      log('access: waiting for the audit log to flush …');
      const { waitedMs, rows: written } = await audit.settle();
      rows.push({
        id: 'access.audit-drain',
        scenario: 'Audit backlog still being written after the last access-path run (time until no new rows for 1 s)',
        unit: 's',
        lowerIsBetter: true,
        median: waitedMs / 1000,
        note: `${written.toLocaleString('en-US')} audit rows in the store`,
      });
      log(`access: audit flushed ${(waitedMs / 1000).toFixed(1)} s after the last run`);
    } finally {
      audit.close();
    }
  }
  // 2b. A real 6-node TLS Redis Cluster through xport vs redis-benchmark --cluster (torn down after).
  if (selected('cluster')) {
    const r = await runCluster({ group, fx, work, quick: opts.quick, reps, log });
    rows.push(...r.rows);
    raw.cluster = r.raw;
  }

  // 3. Certificates over HTTPS and xctl auth sign.
  if (selected('certs')) {
    const r = await runCertsOverHttps({ group, fx, quick: opts.quick, log });
    rows.push(...r.rows);
    raw.certsHttps = r.raw;
  }

  // 4. Start-up.
  if (selected('startup')) {
    const r = await runStartup({ group, fx, quick: opts.quick, log });
    rows.push(...r.rows);
    raw.startup = r.raw;
  }

  // 5. Memory (last of the measured groups: it leaves the most state behind).
  if (selected('memory')) {
    const r = await runMemory({ group, root, fx, quick: opts.quick, reps, log });
    rows.push(...r.rows);
    raw.memory = r.raw;
    sections.push(memorySection(r.samples));
  }

  // 5b. High availability: its own PostgreSQL, replicas, balancer and agent, torn down after.
  if (selected('ha')) {
    const r = await runHa({ group, root, work, quick: opts.quick, reps, log });
    rows.push(...r.rows);
    raw.ha = r.raw;
  }

  // 6. Profiles when a throughput, latency or memory target was missed (or when asked).
  const missed = rows.filter((r) => r.target && !r.target.met && /^(access|memory)\./.test(r.id));
  const wantProfile = opts.profile ?? (prefixes ? selected('profile') && prefixes.some((p) => p.startsWith('profile')) : !opts.quick && missed.length > 0);
  if (wantProfile && fx) {
    const r = await runProfiles({ group, fx, work, missed, log });
    sections.push(r.section);
    raw.profiles = r.summaries;
  }

  sections.unshift(findingsSection(rows, raw.profiles));
  sections.push(methodSection());
  const info = environment();
  writeResults({ mdPath: join(root, 'bench', 'RESULTS.md'), jsonPath: join(root, 'bench', 'results.json'), info, rows, sections: sections.filter(Boolean), raw });
  log(`wrote bench/RESULTS.md and bench/results.json (${rows.length} rows)`);
  printSummary(rows);
} catch (err) {
  log(`FAILED: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await group.stopAll();
  if (!opts.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}

/** environment describes the machine and the run for RESULTS.md and results.json. */
function environment() {
  const version = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0];
    } catch {
      return `${cmd}: not found`;
    }
  };
  let commit = version('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  try {
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'bin', 'scripts', 'package.json'], { encoding: 'utf8' }).trim();
    if (dirty) commit += ' + uncommitted changes';
  } catch {
    // Not a git checkout: the commit line says so already.
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
    durationS: (Date.now() - t0) / 1000,
    options: { quick: opts.quick, only: opts.only ?? null, reps },
    node: process.version,
    redis: version('redis-server', ['--version']).replace(/ sha=.*/, ''),
    redisBenchmark: version('redis-benchmark', ['--version']),
    stunnel: version('stunnel4', ['-version']),
    haproxy: version('haproxy', ['-v']),
    hyperfine: version('hyperfine', ['--version']),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    openFiles: openFilesLimit(),
  };
}

/** methodSection explains how the fixture was built (so the numbers can be judged). */
function methodSection() {
  return [
    '## How this was measured',
    '',
    '* Everything ran on 127.0.0.1 in a temp dir: `xctl start` (all-in-one: auth, proxy and the in-process agent), one',
    '  `redis-server` 7 with a plain port and a mutual-TLS port (`tls-auth-clients yes`, ACL user alice, `default` off), the',
    '  stunnel pair, the HAProxy pair (Debian `haproxy`, `mode tcp`, same certificates), the Node pipe pair (two',
    '  `bench/node-pair.js` processes that only pipe bytes: the floor of any relay written in Node here) and',
    '  `xsh proxy db cache --tunnel --db-user alice`. Every TLS hop is mutual TLS with ECDSA P-256 keys.',
    '* Redis trusts two client CAs: xport\'s db_client CA (`server.cas` from `xctl auth sign --format=redis`, used by the',
    '  agent) and a bench-only CA made with xport\'s own pki (`dist/pki`), which signs the client certificate that',
    '  `redis-benchmark --tls` and the client-side stunnel and HAProxy present. xport cannot issue a bare db_client certificate (the',
    '  CA key stays in its store), and a second Redis without client-certificate checks would not be the same baseline.',
    '* Every path authenticates as the ACL user: `redis-benchmark --user alice -a …`. On the xport path the AUTH goes',
    '  through the agent\'s checks; alice\'s role `bench-dev` allows env=dev as alice and denies FLUSHALL (one rule active);',
    '  every command is audited as `db.session.query` with values redacted (the default).',
    ...(selected('cluster')
      ? [
          '* The cluster group adds six `redis-server` (3 masters + 3 replicas, TLS only: tls-cluster, tls-replication, mutual',
          '  TLS for clients) whose node certificate comes from a bench-only node CA; the database is registered with',
          '  `?mode=cluster`. `redis-benchmark --cluster` (direct) talks to the masters itself; through xport the agent routes',
          '  each command by slot. Both use `-r 100000` so keys spread over the slots; its rows are per test (SET, GET, MSET).',
        ]
      : []),
    '* Throughput rows are SET+GET: total requests / total time of the two tests (the harmonic mean of their rates).',
    '  Latency rows are redis-benchmark\'s own GET percentiles (`--csv`). Loads run in rounds, each path once per round,',
    '  after one warm-up run per path. Session set-up (TLS handshakes, AUTH) is inside the timed run, as for any client.',
    '* Start-up and `xctl auth sign` times are hyperfine medians (`-N`, no shell, warm-up runs first) with the logged-in',
    '  XSH_HOME. Memory is VmRSS from /proc/PID/status. Audit counts are read from the SQLite file read-only and compared',
    '  with Redis\'s own `INFO commandstats`.',
  ].join('\n');
}

/** printSummary prints the target rows to the terminal. */
function printSummary(all) {
  for (const r of all) {
    if (!r.target || r.skipped) continue;
    process.stdout.write(`${r.target.met ? 'met   ' : 'MISSED'}  ${r.id.padEnd(36)} ${r.target.value}  (target ${r.target.text})\n`);
  }
}
