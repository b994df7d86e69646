/**
 * test/helpers/redis-cluster: a real 6-node Redis Cluster (3 masters, 3 replicas) on loopback,
 * TLS only, set up the way the Redis Cluster guide tells admins to:
 *
 *  - the operator's own CA (`nodeCa`) signs one node certificate (SAN IP:127.0.0.1 + DNS:localhost,
 *    EKU serverAuth AND clientAuth: nodes are clients of each other on the bus and for replication);
 *  - every node trusts that CA plus the db_client CA (`tls-ca-cert-file`, concatenated) and
 *    requires client certificates (`tls-auth-clients yes`), with `tls-cluster` and
 *    `tls-replication` on and no plaintext port;
 *  - an ACL file: alice (+@all), bob (+@read), a `replicator` user the replicas authenticate as
 *    (`masteruser`/`masterauth`), and `default` off;
 *  - `redis-cli --cluster create … --cluster-replicas 1`, then wait until every node says
 *    `cluster_state:ok`, knows all six nodes, and every replica's link to its master is up.
 *
 * Processes are started by startRedis and stopped (or SIGKILLed) by PID; stop() removes their
 * directories and the certificates.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority, generateKeyPair } from '../../src/pki/index.js';
import { runProcess, tmpDir, type CliResult } from './cli.js';
import { freePort, startRedis, type RedisServer } from './redis-server.js';

/** CLUSTER_ACL are the ACL file lines every node loads. */
export const CLUSTER_ACL = [
  'user alice on >alice-pw ~* &* +@all',
  'user bob on >bob-pw ~* &* +@read +@connection',
  'user replicator on >repl-pw +psync +replconf +ping',
  'user default off',
];

/** CLUSTER_PASSWORDS are the ACL users' passwords. */
export const CLUSTER_PASSWORDS: Record<string, string> = { alice: 'alice-pw', bob: 'bob-pw' };

/** ClusterNodeProcess is one redis-server of the cluster. */
export interface ClusterNodeProcess {
  /** The TLS port clients (and the agent) connect to. */
  port: number;
  /** The cluster bus port (TLS too). */
  busPort: number;
  server: RedisServer;
  /** killed is true after {@link RedisClusterFixture.kill}. */
  killed: boolean;
}

/** RedisClusterFixture is a running TLS Redis Cluster and the CAs around it. */
export interface RedisClusterFixture {
  nodes: ClusterNodeProcess[];
  /** The operator's CA: signed the node certificate; the agent verifies nodes with it. */
  nodeCa: CertificateAuthority;
  /** The db_client CA the nodes accept client certificates from. */
  clientCa: CertificateAuthority;
  /** Files for redis-cli / redis-benchmark `--tls`: the node CA and the node certificate (trusted as a client too). */
  files: { ca: string; cert: string; key: string };
  /** issueClient signs a db_client certificate for cn (what the agent presents). */
  issueClient(cn: string, notAfter?: Date): { certPem: string; keyPem: string };
  /** cli runs redis-cli as alice against one node (`-c` is not added). */
  cli(port: number, args: string[], opts?: { timeoutMs?: number }): Promise<CliResult>;
  /** waitHealthy waits until every live node reports cluster_state:ok and the expected node count. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** masterPorts lists the ports of the current masters (from CLUSTER SHARDS of a live node). */
  masterPorts(): Promise<number[]>;
  /** addReplica starts a seventh (eighth…) node and joins it as a replica (`--cluster add-node --cluster-slave`). */
  addReplica(): Promise<ClusterNodeProcess>;
  /** kill SIGKILLs one node by PID. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** RedisClusterOptions tune {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** cluster-node-timeout in ms (default 2000: failovers within a few seconds). */
  nodeTimeoutMs?: number;
  /** Also trust client certificates from this CA (PEM): xport's db_client CA for full-path tests. */
  trustClientCaPem?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** startRedisCluster starts six TLS nodes and creates a cluster with one replica per master. */
export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterFixture> {
  const nodeCa = CertificateAuthority.create({ type: 'db', clusterName: 'redis-nodes' });
  const clientCa = CertificateAuthority.create({ type: 'db_client', clusterName: 'test' });
  const now = Date.now();
  const nodeKeys = generateKeyPair();
  const nodeCert = nodeCa.issue({
    publicKey: nodeKeys.publicKey,
    commonName: 'redis-node',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  const certDir = await tmpDir('xport-redis-cluster-');
  const file = async (name: string, body: string) => {
    const p = join(certDir, name);
    await writeFile(p, body, { mode: 0o600 });
    return p;
  };
  const files = {
    ca: await file('node-ca.crt', nodeCa.certPem),
    cert: await file('node.crt', nodeCert.certPem),
    key: await file('node.key', nodeKeys.privateKeyPem),
  };
  const bundle = await file('pem-bundle.cas', nodeCa.certPem + clientCa.certPem + (opts.trustClientCaPem ?? ''));
  const aclFile = await file('users.acl', CLUSTER_ACL.join('\n') + '\n');
  const nodeTimeout = opts.nodeTimeoutMs ?? 2000;

  const nodes: ClusterNodeProcess[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.filter((n) => !n.killed).map((n) => n.server.stop()));
    // Nodes' dirs (nodes.conf, logs) and the certificates: nothing is left behind.
    await Promise.all([certDir, ...nodes.map((n) => n.server.dir)].map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    const ports = new Set<number>();
    const pick = async () => {
      for (;;) {
        const p = await freePort();
        if (!ports.has(p)) {
          ports.add(p);
          return p;
        }
      }
    };
    const plan: Array<{ port: number; busPort: number }> = [];
    for (let i = 0; i < 6; i++) plan.push({ port: await pick(), busPort: await pick() });
    const nodeLines = (busPort: number) => [
      `tls-cert-file ${files.cert}`,
      `tls-key-file ${files.key}`,
      `tls-ca-cert-file ${bundle}`,
      'tls-auth-clients yes',
      'tls-protocols "TLSv1.2 TLSv1.3"',
      'tls-cluster yes',
      'tls-replication yes',
      'cluster-enabled yes',
      'cluster-config-file nodes.conf',
      `cluster-port ${busPort}`,
      `cluster-node-timeout ${nodeTimeout}`,
      'cluster-replica-validity-factor 0',
      'repl-diskless-sync-delay 0',
      'masteruser replicator',
      'masterauth repl-pw',
      `aclfile ${aclFile}`,
    ];
    const started = await Promise.all(
      plan.map(({ port, busPort }) =>
        startRedis(nodeLines(busPort), { tlsPort: true, port }).then((server) => {
          const node: ClusterNodeProcess = { port, busPort, server, killed: false };
          nodes.push(node);
          return node;
        }),
      ),
    );
    // Keep the plan's order (the first three become masters).
    nodes.sort((a, b) => plan.findIndex((p) => p.port === a.port) - plan.findIndex((p) => p.port === b.port));
    const tlsArgs = ['--tls', '--cacert', files.ca, '--cert', files.cert, '--key', files.key, '--user', 'alice', '--pass', 'alice-pw', '--no-auth-warning'];
    const cli = (port: number, args: string[], o: { timeoutMs?: number } = {}) =>
      runProcess('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...tlsArgs, ...args], { timeoutMs: o.timeoutMs ?? 20_000 });

    const create = await runProcess(
      'redis-cli',
      [...tlsArgs, '--cluster', 'create', ...started.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeoutMs: 60_000 },
    );
    if (create.code !== 0 || !/All 16384 slots covered/.test(create.stdout)) {
      throw new Error(`redis-cli --cluster create failed (${create.code}):\n${create.stdout}\n${create.stderr}`);
    }

    const live = () => nodes.filter((n) => !n.killed);
    const waitHealthy = async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        let ok = true;
        for (const n of live()) {
          const info = await cli(n.port, ['CLUSTER', 'INFO']);
          last = `${n.port}: ${info.stdout}${info.stderr}`;
          if (!/cluster_state:ok/.test(info.stdout) || !/cluster_slots_ok:16384/.test(info.stdout)) {
            ok = false;
            break;
          }
          const repl = await cli(n.port, ['INFO', 'replication']);
          last = `${n.port}: ${repl.stdout}`;
          if (/role:slave/.test(repl.stdout) && !/master_link_status:up/.test(repl.stdout)) {
            ok = false;
            break;
          }
          // Every node agrees on the roles: each live node it knows is a replica or serves slots.
          const nodesOut = await cli(n.port, ['CLUSTER', 'NODES']);
          last = `${n.port}: ${nodesOut.stdout}`;
          const entries = nodesOut.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(' '));
          if (entries.some((f) => !/fail/.test(f[2]!) && !/slave/.test(f[2]!) && f.length < 9)) {
            ok = false;
            break;
          }
        }
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become healthy in ${timeoutMs} ms; last: ${last}`);
        await sleep(200);
      }
    };
    await waitHealthy(60_000);

    const masterPorts = async () => {
      for (const n of live()) {
        const out = await cli(n.port, ['CLUSTER', 'NODES']);
        if (out.code !== 0) continue;
        const ports: number[] = [];
        for (const line of out.stdout.split('\n')) {
          const f = line.split(' ');
          if (f.length < 9 || !/master/.test(f[2]!) || /fail/.test(f[2]!)) continue;
          ports.push(Number(f[1]!.split('@')[0]!.split(':')[1]));
        }
        return ports.sort((a, b) => a - b);
      }
      throw new Error('no live node answered CLUSTER NODES');
    };

    return {
      nodes,
      nodeCa,
      clientCa,
      files,
      issueClient(cn, notAfter = new Date(Date.now() + 3600_000)) {
        const keys = generateKeyPair();
        const cert = clientCa.issue({
          publicKey: keys.publicKey,
          commonName: cn,
          notBefore: new Date(Date.now() - 60_000),
          notAfter,
          extKeyUsage: ['clientAuth'],
        });
        return { certPem: cert.certPem, keyPem: keys.privateKeyPem };
      },
      cli,
      waitHealthy,
      masterPorts,
      async addReplica() {
        const port = await pick();
        const busPort = await pick();
        const server = await startRedis(nodeLines(busPort), { tlsPort: true, port });
        const node: ClusterNodeProcess = { port, busPort, server, killed: false };
        nodes.push(node);
        const seed = live()[0]!.port;
        const add = await runProcess('redis-cli', [...tlsArgs, '--cluster', 'add-node', `127.0.0.1:${port}`, `127.0.0.1:${seed}`, '--cluster-slave'], { timeoutMs: 60_000 });
        if (add.code !== 0) throw new Error(`redis-cli --cluster add-node failed (${add.code}):\n${add.stdout}\n${add.stderr}`);
        await waitHealthy(60_000);
        return node;
      },
      async kill(port) {
        const n = nodes.find((x) => x.port === port);
        if (n === undefined || n.killed) return;
        n.killed = true;
        process.kill(n.server.pid, 'SIGKILL');
        // stop() would SIGTERM a process that is already gone: wait for the PID to disappear instead.
        for (let i = 0; i < 200; i++) {
          try {
            process.kill(n.server.pid, 0);
          } catch {
            return;
          }
          await sleep(25);
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
