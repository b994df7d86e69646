/**
 * cli/xctl/auth: `xctl auth export` (CA certificates, PEM) and `xctl auth sign` (Redis server
 * certificates, CI identity files). Keys are generated here, on the machine that will use them;
 * only public keys go to the auth service.
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { alreadyExists, badParameter, usage } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { writeFileAtomic, writeSecretFile } from '../../util/fs.js';
import { CertificateAuthority, generateKeyPair } from '../../pki/index.js';
import type { CertResponse } from '../../client/api.js';
import { formatIdentityFile } from '../../client/identity-file.js';
import type { CliContext } from '../shared/context.js';
import { connectAdmin, type XctlGlobals } from './admin.js';

/** EXPORT_TYPES maps `--type` values to CAs (no SSH here, so `user`/`host` mean the TLS CAs). */
export const EXPORT_TYPES: Record<string, 'user' | 'host' | 'db' | 'db_client'> = {
  user: 'user',
  'tls-user': 'user',
  host: 'host',
  'tls-host': 'host',
  tls: 'host',
  db: 'db',
  'db-client': 'db_client',
};

/** runAuthExport prints one CA certificate (or all, with no --type). */
export async function runAuthExport(ctx: CliContext, o: XctlGlobals & { type?: string }): Promise<void> {
  const types = o.type ? [o.type] : ['tls-host', 'tls-user', 'db', 'db-client'];
  for (const t of types) {
    if (!EXPORT_TYPES[t]) throw usage(`unknown --type "${t}"; use one of: ${Object.keys(EXPORT_TYPES).join(', ')}`);
  }
  const conn = await connectAdmin(ctx, o);
  for (const t of types) {
    const r = await conn.api.request<{ cert_pem: string }>('GET', `/v1/cas/${EXPORT_TYPES[t]}`);
    ctx.io.stdout.write(r.cert_pem);
  }
}

/** AuthSignOptions are `xctl auth sign`'s flags. */
export interface AuthSignOptions extends XctlGlobals {
  format: string;
  host?: string;
  user?: string;
  out?: string;
  ttl?: string;
  overwrite?: boolean;
  cluster?: boolean;
  clusterCa?: string;
}

async function refuseExisting(paths: string[], overwrite: boolean | undefined): Promise<void> {
  if (overwrite) return;
  for (const p of paths) {
    try {
      await access(p);
    } catch {
      continue;
    }
    throw alreadyExists(`${p} already exists`, { hint: 'Pass --overwrite to replace it, or choose another --out.' });
  }
}

/** runAuthSign issues Redis server credentials or a user identity file. */
export async function runAuthSign(ctx: CliContext, o: AuthSignOptions): Promise<void> {
  if (!o.out) throw usage('--out is required');
  const ttlMs = o.ttl ? parseDuration(o.ttl, '--ttl', 'h') : 12 * 3_600_000;
  if (o.format === 'redis') {
    const hosts = (o.host ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    if (hosts.length === 0) throw usage('at least one hostname must be specified', { hint: 'Pass --host=redis.example.com[,10.0.0.5]' });
    const files = { key: `${o.out}.key`, crt: `${o.out}.crt`, cas: `${o.out}.cas` };
    await refuseExisting(Object.values(files), o.overwrite);
    if (o.cluster) return signClusterNode(ctx, o, hosts, files, ttlMs);
    if (o.clusterCa) throw usage('--cluster-ca goes with --cluster');
    const conn = await connectAdmin(ctx, o);
    const kp = generateKeyPair('ecdsa-p256');
    const r = await conn.api.request<{ cert: string; cas: string }>('POST', '/v1/certs/db-server', { hosts, public_key: kp.publicKeyPem, ttl_ms: ttlMs });
    await writeSecretFile(files.key, kp.privateKeyPem);
    await writeFileAtomic(files.crt, r.cert);
    await writeFileAtomic(files.cas, r.cas);
    ctx.io.stdout.write(
      `Database credentials have been written to ${files.key}, ${files.crt}, ${files.cas}.\n\n` +
        `To enable mutual TLS on your Redis server, add the following to your redis.conf:\n\n` +
        `tls-ca-cert-file ${files.cas}\ntls-cert-file ${files.crt}\ntls-key-file ${files.key}\ntls-protocols "TLSv1.2 TLSv1.3"\n`,
    );
    return;
  }
  if (o.format === 'file') {
    if (o.cluster || o.clusterCa) throw usage('--cluster and --cluster-ca go with --format=redis', { hint: 'Example: xctl auth sign --format=redis --cluster --host=10.0.0.1 --out=node1' });
    if (!o.user) throw usage('--user is required with --format=file');
    await refuseExisting([o.out], o.overwrite);
    const conn = await connectAdmin(ctx, o);
    const kp = generateKeyPair('ecdsa-p256');
    const r = await conn.api.request<CertResponse>('POST', '/v1/certs/user', { user: o.user, public_key: kp.publicKeyPem, ttl_ms: ttlMs });
    await writeSecretFile(o.out, formatIdentityFile({ keyPem: kp.privateKeyPem, certPem: r.cert, caPems: [r.host_ca, r.user_ca] }));
    ctx.io.stdout.write(`The credentials have been written to ${o.out}\n`);
    ctx.io.stderr.write(`Use it from CI with: xsh -i ${o.out} --proxy=${conn.publicAddr} status\n`);
    return;
  }
  throw usage(`unsupported --format "${o.format}"; use redis or file`);
}

/** NodeFiles are the three files written for one Redis server or cluster node. */
interface NodeFiles {
  key: string;
  crt: string;
  cas: string;
}

/** isIp tells an IP address from a host name for the certificate's SANs. */
function isIp(h: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');
}

/**
 * loadOrCreateClusterCa reads the cluster CA at prefix, or creates it (key 0600) when neither
 * file exists. One CA per Redis Cluster: nodes trust each other through it on the cluster bus,
 * so sharing it between clusters would let one cluster's nodes join another's bus.
 */
async function loadOrCreateClusterCa(prefix: string): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const crt = `${prefix}.crt`;
  const key = `${prefix}.key`;
  const read = async (p: string) => readFile(p, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  const [certPem, keyPem] = await Promise.all([read(crt), read(key)]);
  if (certPem !== undefined && keyPem !== undefined) {
    try {
      return { ca: CertificateAuthority.fromMaterial({ type: 'db', certPem, keyPem }), created: false };
    } catch (err) {
      throw badParameter(`${crt} and ${key} are not a usable CA (${(err as Error).message})`, { hint: 'Pass --cluster-ca=PREFIX naming the cluster CA files this command wrote.' });
    }
  }
  if (certPem !== undefined || keyPem !== undefined) {
    throw badParameter(`only one of ${crt} and ${key} exists`, { hint: 'The cluster CA needs both files; restore the missing one or choose another --cluster-ca.' });
  }
  const ca = CertificateAuthority.create({ type: 'db', clusterName: 'redis-cluster' });
  await writeSecretFile(key, ca.material().keyPem);
  await writeFileAtomic(crt, ca.certPem);
  return { ca, created: true };
}

/**
 * signClusterNode writes a Redis Cluster node's credentials. Nodes are servers AND clients of each
 * other (cluster bus, replication), which xport's db CA must not sign for (it would make every
 * xport-signed Redis server a trusted client of every other): so the node certificate comes from
 * the cluster's own CA, as Teleport's Redis Cluster guide asks, only created here for the admin.
 * The key is generated here; the .cas bundle is that CA plus xport's db_client CA, so a node
 * accepts its peers and the agent's short-lived client certificates and nothing else.
 */
async function signClusterNode(ctx: CliContext, o: AuthSignOptions, hosts: string[], files: NodeFiles, ttlMs: number): Promise<void> {
  const prefix = o.clusterCa ?? join(dirname(o.out!), 'cluster-ca');
  const conn = await connectAdmin(ctx, o);
  const dbClientCa = (await conn.api.request<{ cert_pem: string }>('GET', '/v1/cas/db_client')).cert_pem;
  const { ca, created } = await loadOrCreateClusterCa(prefix);
  const kp = generateKeyPair('ecdsa-p256');
  const now = ctx.clock.now();
  const cert = ca.issue({
    publicKey: kp.publicKey,
    commonName: hosts[0]!,
    dnsNames: hosts.filter((h) => !isIp(h)),
    ipAddresses: hosts.filter(isIp),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + ttlMs),
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  await writeSecretFile(files.key, kp.privateKeyPem);
  await writeFileAtomic(files.crt, cert.certPem);
  await writeFileAtomic(files.cas, ca.certPem + dbClientCa);
  ctx.io.stdout.write(
    `Redis Cluster node credentials have been written to ${files.key}, ${files.crt}, ${files.cas}.\n` +
      (created
        ? `The cluster CA has been created in ${prefix}.crt and ${prefix}.key (keep the key private; sign the other nodes with --cluster-ca=${prefix}).\n`
        : `Signed with the cluster CA ${prefix}.crt.\n`) +
      `\nTo enable mutual TLS on this node, add the following to its redis.conf:\n\n` +
      `port 0\ntls-port 6379\ntls-cert-file ${files.crt}\ntls-key-file ${files.key}\ntls-ca-cert-file ${files.cas}\n` +
      `tls-auth-clients yes\ntls-cluster yes\ntls-replication yes\ntls-protocols "TLSv1.2 TLSv1.3"\ncluster-enabled yes\n` +
      `\nCreate the cluster from any host that holds a node certificate:\n\n` +
      `  redis-cli --tls --cacert ${prefix}.crt --cert ${files.crt} --key ${files.key} --user <admin> --pass <password> \\\n` +
      `    --cluster create HOST1:6379 HOST2:6379 … --cluster-replicas 1\n` +
      `\nThe agent verifies the nodes with the cluster CA: tls.ca_cert_file: ${prefix}.crt in its config, or the PEM of ${prefix}.crt in the database resource's spec.tls.ca_cert.\n`,
  );
}
