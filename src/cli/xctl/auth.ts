/**
 * cli/xctl/auth: `xctl auth export` (CA certificates, PEM) and `xctl auth sign` (Redis server
 * certificates, CI identity files). Keys are generated here, on the machine that will use them;
 * only public keys go to the auth service.
 */
import { access } from 'node:fs/promises';
import { alreadyExists, usage } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { writeFileAtomic, writeSecretFile } from '../../util/fs.js';
import { generateKeyPair } from '../../pki/index.js';
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
