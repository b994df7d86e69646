/**
 * service/databases: turn `db_service.databases` config entries into {@link DatabaseSpec}s.
 * The CA file named by tls.ca_cert_file is read here, once, so engines receive PEM, not paths.
 */
import { readFile } from 'node:fs/promises';
import { badParameter } from '../errors.js';
import { parseRedisUri, type DatabaseSpec } from '../db/database.js';
import { awsClusterMode, cloudFields } from '../db/cloud.js';
import type { DatabaseConfig } from './config.js';

/** specFromConfig builds a spec from a static `db_service.databases` entry. */
export async function specFromConfig(c: DatabaseConfig): Promise<DatabaseSpec> {
  const { host, port, mode } = parseRedisUri(c.uri);
  const cloud = cloudFields(c, `database "${c.name}"`, host);
  let caCertPem: string | undefined;
  if (c.tls?.ca_cert_file) {
    try {
      caCertPem = await readFile(c.tls.ca_cert_file, 'utf8');
    } catch (err) {
      throw badParameter(`database "${c.name}": cannot read tls.ca_cert_file ${c.tls.ca_cert_file} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  if (c.users === 'managed' && (c.aws || c.azure)) {
    throw badParameter(`database "${c.name}": users: managed is for self-hosted Redis; cloud databases authenticate with their own managed users or tokens`);
  }
  return {
    name: c.name,
    ...(c.users ? { users: c.users } : {}),
    ...(c.description ? { description: c.description } : {}),
    protocol: 'redis',
    uri: c.uri,
    host,
    port,
    // An ElastiCache configuration endpoint or a MemoryDB endpoint is a cluster even without ?mode=.
    mode: mode === 'standalone' && !/[?&]mode=/.test(c.uri) && !c.aws && awsClusterMode(host) ? 'cluster' : mode,
    labels: c.static_labels ?? {},
    ...cloud,
    tls: {
      mode: c.tls?.mode ?? 'verify-full',
      ...(caCertPem ? { caCertPem } : {}),
      ...(c.tls?.server_name ? { serverName: c.tls.server_name } : {}),
    },
  };
}

