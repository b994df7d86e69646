// bench/scenario-cluster: a real Redis Cluster through xport against redis-benchmark's own
// cluster mode, both over mutual TLS and both as ACL user alice:
//
//   direct   redis-benchmark --cluster --tls → the six nodes (it reads CLUSTER NODES and opens
//            its connections straight to the masters)
//   xport    redis-benchmark → xsh proxy db --tunnel → proxy → agent → the masters (the agent
//            routes by slot; audit on, values redacted; role rule "deny FLUSHALL" active)
//
// The cluster: 6 redis-server on 127.0.0.1 (3 masters + 3 replicas), TLS only (`port 0`,
// tls-cluster, tls-replication, tls-auth-clients), one node certificate from a bench-only node CA
// made with dist/pki (SAN IP:127.0.0.1 + DNS:localhost, serverAuth + clientAuth: nodes are clients
// of each other), trusting the node CA, xport's db_client CA (the agent) and the fixture's bench
// client CA (redis-benchmark, redis-cli). Replicas authenticate as ACL user `replicator`; `default`
// is off. Everything here is stopped by PID when the scenario ends (and by run.js's finally).
// Must not import from test/ or src/; uses only dist/ and node:*.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority, generateKeyPair } from '../dist/pki/index.js';
import { AuditCounter } from './audit-counter.js';
import { REDIS_PASSWORD } from './fixture.js';
import { freePort, sleep, waitForPort } from './processes.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { round, summary } from './stats.js';

/** CLUSTER_DB is the name of the cluster's `kind: db` resource. */
export const CLUSTER_DB = 'cache-cluster';
/** REPLICATOR_PASSWORD is the replicas' ACL password on their masters (loopback-only throwaway). */
const REPLICATOR_PASSWORD = 'bench-replicator-pw';
/** TESTS are the redis-benchmark tests measured, as its CSV names them. */
const TESTS = ['SET', 'GET', 'MSET'];

/**
 * clusterLoad is the redis-benchmark load. `-r` spreads the keys over the key space: without it
 * every request through xport would hit the one key `key:__rand_int__` (one slot, one master)
 * while `--cluster` tags keys per node, so the two paths would not do the same work. n is the
 * request count per test through xport; direct gets `scale`× more so its runs are not over in a
 * blink (rates are per second, so the counts need not match).
 */
export function clusterLoad(quick) {
  return {
    label: '-t set,get,mset -c 50 -r 100000',
    args: (n) => ['-t', 'set,get,mset', '-c', '50', '-r', '100000', '-n', String(n)],
    n: quick ? 6_000 : 30_000,
    warmN: quick ? 3_000 : 10_000,
    scale: { direct: 4, xport: 1 },
  };
}

/**
 * startRedisCluster starts six TLS nodes under dir, creates the cluster with one replica per
 * master and waits until every node is healthy. trustedClientPems are the client CAs the nodes
 * accept besides their own. Returns { nodes, masterPorts, files, cli, stop }.
 */
export async function startRedisCluster(group, dir, { clientCert, clientKey, trustedClientPems }, log = () => {}) {
  mkdirSync(dir, { recursive: true });
  const nodeCa = CertificateAuthority.create({ type: 'db', clusterName: 'bench-redis-nodes' });
  const keys = generateKeyPair('ecdsa-p256');
  const now = Date.now();
  const nodeCert = nodeCa.issue({
    publicKey: keys.publicKey,
    commonName: 'redis-node',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  const file = (name, body) => {
    const p = join(dir, name);
    writeFileSync(p, body, { mode: 0o600 });
    return p;
  };
  const files = {
    nodeCaPem: nodeCa.certPem,
    nodeCa: file('node-ca.pem', nodeCa.certPem),
    nodeCert: file('node.crt', nodeCert.certPem),
    nodeKey: file('node.key', keys.privateKeyPem),
    trusted: file('trusted-cas.pem', [nodeCa.certPem, ...trustedClientPems].map((p) => p.trimEnd() + '\n').join('')),
    acl: file(
      'users.acl',
      [
        `user alice on >${REDIS_PASSWORD} ~* &* +@all`,
        // What a replica needs on its master, and nothing else.
        `user replicator on >${REPLICATOR_PASSWORD} +psync +replconf +ping`,
        'user default off',
        '',
      ].join('\n'),
    ),
  };

  const used = new Set();
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  const nodes = [];
  for (let i = 0; i < 6; i++) nodes.push({ port: await pick(), busPort: await pick() });
  const stop = async () => {
    await Promise.all(nodes.filter((n) => n.proc).map((n) => n.proc.stop(15_000)));
  };
  try {
    for (const [i, n] of nodes.entries()) {
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      const conf = [
        'bind 127.0.0.1',
        'port 0',
        `tls-port ${n.port}`,
        `cluster-port ${n.busPort}`,
        `dir ${nodeDir}`,
        'save ""',
        'appendonly no',
        'daemonize no',
        'loglevel warning',
        'maxclients 10000',
        `tls-cert-file ${files.nodeCert}`,
        `tls-key-file ${files.nodeKey}`,
        `tls-ca-cert-file ${files.trusted}`,
        'tls-auth-clients yes',
        'tls-protocols "TLSv1.2 TLSv1.3"',
        'tls-cluster yes',
        'tls-replication yes',
        'cluster-enabled yes',
        'cluster-config-file nodes.conf',
        'cluster-node-timeout 5000',
        'repl-diskless-sync-delay 0',
        'masteruser replicator',
        `masterauth ${REPLICATOR_PASSWORD}`,
        `aclfile ${files.acl}`,
      ];
      writeFileSync(join(nodeDir, 'redis.conf'), conf.join('\n') + '\n');
      n.proc = group.start(`redis-server (cluster node ${i})`, 'redis-server', [join(nodeDir, 'redis.conf')]);
    }
    for (const n of nodes) await waitForPort(n.port, 'redis cluster node', 10_000, n.proc);

    const tlsArgs = ['--tls', '--cacert', files.nodeCa, '--cert', clientCert, '--key', clientKey, '--user', 'alice', '--pass', REDIS_PASSWORD, '--no-auth-warning'];
    const cli = (port, args, timeoutMs = 20_000) => group.run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...tlsArgs, ...args], { timeoutMs });

    log(`cluster: creating the cluster (3 masters + 3 replicas) on ports ${nodes.map((n) => n.port).join(', ')} …`);
    const create = await group.run(
      'redis-cli',
      [...tlsArgs, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeoutMs: 60_000 },
    );
    if (create.code !== 0 || !/All 16384 slots covered/.test(create.stdout)) {
      throw new Error(`redis-cli --cluster create failed (${create.code}):\n${create.stdout}\n${create.stderr}`);
    }
    await waitHealthy(nodes, cli);

    // The masters as the cluster itself reports them (redis-cli decides who replicates whom).
    const out = await cli(nodes[0].port, ['CLUSTER', 'NODES']);
    const masterPorts = out.stdout
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 9 && /master/.test(f[2]) && !/fail/.test(f[2]))
      .map((f) => Number(f[1].split('@')[0].split(':')[1]))
      .sort((a, b) => a - b);
    if (masterPorts.length !== 3) throw new Error(`expected 3 masters, CLUSTER NODES says:\n${out.stdout}`);
    return { nodes, masterPorts, files, cli, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * waitHealthy polls every node until it reports cluster_state:ok with all slots and six known
 * nodes, and every replica's link to its master is up.
 */
async function waitHealthy(nodes, cli, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let ok = true;
    for (const n of nodes) {
      const info = await cli(n.port, ['CLUSTER', 'INFO']);
      last = `${n.port}: ${info.stdout}${info.stderr}`;
      if (!/cluster_state:ok/.test(info.stdout) || !/cluster_slots_ok:16384/.test(info.stdout) || !/cluster_known_nodes:6/.test(info.stdout)) {
        ok = false;
        break;
      }
      const repl = await cli(n.port, ['INFO', 'replication']);
      last = `${n.port}: ${repl.stdout}`;
      if (/role:slave/.test(repl.stdout) && !/master_link_status:up/.test(repl.stdout)) {
        ok = false;
        break;
      }
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become healthy within ${timeoutMs} ms; last answer:\n${last}`);
    await sleep(250);
  }
}

/** registerDatabase creates the cluster's `kind: db` resource (env=dev, so alice's role allows it). */
async function registerDatabase(fx, work, masterPort, nodeCaPem) {
  const ca = nodeCaPem
    .trim()
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');
  const yaml = [
    'kind: db',
    'version: v1',
    'metadata:',
    `  name: ${CLUSTER_DB}`,
    '  description: bench redis cluster',
    '  labels: { env: dev }',
    'spec:',
    '  protocol: redis',
    `  uri: rediss://127.0.0.1:${masterPort}?mode=cluster`,
    '  tls:',
    '    ca_cert: |',
    ca,
    '',
  ].join('\n');
  const path = join(work, `${CLUSTER_DB}.yaml`);
  writeFileSync(path, yaml);
  await fx.xctl(['create', '-f', path]);
}

/** waitOnline polls `xctl db ls` until the cluster database is online. */
async function waitOnline(fx, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fx.xctl(['db', 'ls', '--format=json'], { allowFail: true });
    if (r.code === 0 && JSON.parse(r.stdout).some((d) => d.name === CLUSTER_DB && d.status === 'online')) return;
    if (Date.now() > deadline) throw new Error(`database ${CLUSTER_DB} did not come online:\n${r.stdout}${r.stderr}`);
    await sleep(250);
  }
}

/** startTunnel starts `xsh proxy db cache-cluster --tunnel --port P --db-user alice`; returns { proc, port }. */
async function startTunnel(fx) {
  const port = await freePort();
  const proc = fx.group.start(
    'xsh proxy db (cluster)',
    process.execPath,
    [fx.bin('xsh'), 'proxy', 'db', CLUSTER_DB, '--tunnel', '--port', String(port), '--db-user', 'alice'],
    { env: fx.env },
  );
  await proc.waitFor(/Started authenticated tunnel/);
  await waitForPort(port, 'xsh proxy db (cluster)', 10_000, proc);
  return { proc, port };
}

/**
 * runCluster brings up the Redis Cluster next to the fixture's xport, measures both paths in
 * reps interleaved rounds and tears the cluster down again (tunnel, database resource, nodes), so
 * the groups after it run on the same fixture as without it. Returns { rows, raw }.
 */
export async function runCluster({ group, fx, work, quick, reps, log }) {
  const load = clusterLoad(quick);
  const dbClientCa = (await fx.xctl(['auth', 'export', '--type=db-client'])).stdout;
  const benchClientCaPem = readFileSync(fx.files.benchClientCa, 'utf8');
  const t0 = Date.now();
  const cluster = await startRedisCluster(
    group,
    join(work, 'redis-cluster'),
    { clientCert: fx.files.benchClientCert, clientKey: fx.files.benchClientKey, trustedClientPems: [dbClientCa, benchClientCaPem] },
    log,
  );
  let tunnel;
  let registered = false;
  try {
    log(`cluster: healthy after ${((Date.now() - t0) / 1000).toFixed(1)} s; masters ${cluster.masterPorts.join(', ')}`);
    await registerDatabase(fx, work, cluster.masterPorts[0], cluster.files.nodeCaPem);
    registered = true;
    await waitOnline(fx);
    tunnel = await startTunnel(fx);
    log(`cluster: database ${CLUSTER_DB} online, tunnel on ${tunnel.port}`);

    const auth = { user: 'alice', password: REDIS_PASSWORD };
    const targets = {
      direct: {
        label: 'direct Redis Cluster (redis-benchmark --cluster, mTLS)',
        port: cluster.masterPorts[0],
        tls: { cert: fx.files.benchClientCert, key: fx.files.benchClientKey, ca: cluster.files.nodeCa },
        extra: ['--cluster'],
        ...auth,
      },
      xport: { label: 'Redis Cluster through xport (xsh tunnel → proxy → agent → masters)', port: tunnel.port, extra: [], ...auth },
    };
    const paths = ['direct', 'xport'];
    const bench = (p, n) => runRedisBenchmark(group, targets[p], [...targets[p].extra, ...load.args(n)]);

    log('cluster: warm-up round …');
    for (const p of paths) await bench(p, load.warmN);

    const audit = new AuditCounter(fx.dataDir);
    const raw = { load: load.label, masters: cluster.masterPorts, runs: { direct: [], xport: [] } };
    let drain;
    try {
      // The warm-up's events first, so they neither count below nor slow the first round.
      const firstRow = (await audit.settle()).rows;
      for (let rep = 0; rep < reps; rep++) {
        for (const p of paths) {
          const n = load.n * load.scale[p];
          const { rows, ms } = await bench(p, n);
          const run = { n, ms: round(ms, 1) };
          for (const t of TESTS) {
            // redis-benchmark names the MSET row "MSET (10 keys)".
            const row = rows[t] ?? Object.values(rows).find((r) => r.test.startsWith(`${t} `));
            if (!(row?.rps > 0)) throw new Error(`redis-benchmark row ${t} missing or zero on the ${p} path: ${Object.keys(rows).join(', ')}`);
            run[t] = { rps: row.rps, p50: row.p50_latency_ms, p99: row.p99_latency_ms };
          }
          raw.runs[p].push(run);
          log(`cluster ${p.padEnd(6)} rep ${rep + 1}/${reps}: ` + TESTS.map((t) => `${t} ${Math.round(run[t].rps)}/s`).join(', ') + ` (${(ms / 1000).toFixed(1)} s)`);
        }
      }
      // The audit log may still be writing: later groups must not measure that backlog.
      const settled = await audit.settle();
      drain = { waitedMs: settled.waitedMs, events: settled.rows - firstRow, mset: audit.commandsSince(firstRow).mset ?? 0 };
      raw.audit = drain;
      log(`cluster: audit flushed ${(drain.waitedMs / 1000).toFixed(1)} s after the last run`);
    } finally {
      audit.close();
    }
    return { rows: clusterRows(load, targets, raw, drain), raw };
  } finally {
    // Leave the fixture as it was: no cluster tunnel, no cluster database for the agent to watch.
    await tunnel?.proc.stop(15_000);
    if (registered) await fx.xctl(['rm', `db/${CLUSTER_DB}`], { allowFail: true });
    await cluster.stop();
  }
}

/** clusterRows turns the raw runs into report rows (per test, each path, xport/direct ratio). */
function clusterRows(load, targets, raw, drain) {
  const rows = [];
  for (const t of TESTS) {
    const s = {
      direct: summary(raw.runs.direct.map((r) => r[t].rps)),
      xport: summary(raw.runs.xport.map((r) => r[t].rps)),
    };
    const p50 = (p) => round(summary(raw.runs[p].map((r) => r[t].p50)).median, 3);
    for (const p of ['direct', 'xport']) {
      const row = {
        id: `cluster.${t.toLowerCase()}.${p}`,
        scenario: `${targets[p].label}: ${load.label}, ${t} ops/s`,
        unit: 'ops/s',
        ...s[p],
        n: load.n * load.scale[p],
        baseline: { id: `cluster.${t.toLowerCase()}.direct`, label: 'direct cluster', ratio: s[p].median / s.direct.median },
        note: `p50 ${p50(p)} ms`,
      };
      if (t === 'MSET') {
        row.note +=
          p === 'direct'
            ? '; `--cluster` tags the 10 keys of each MSET into one slot: one node per MSET'
            : '; the 10 random keys of each MSET are split by slot over the 3 masters and sent in parallel (not atomic)';
      }
      rows.push(row);
    }
  }
  if (drain) {
    rows.push({
      id: 'cluster.audit-drain',
      scenario: 'Audit backlog still being written after the last cluster run (time until no new rows for 1 s)',
      unit: 's',
      lowerIsBetter: true,
      median: drain.waitedMs / 1000,
      note: `${drain.events.toLocaleString('en-US')} audit rows written in the measured rounds (${drain.mset.toLocaleString('en-US')} MSET: one event per client command)`,
    });
  }
  return rows;
}
