/**
 * cloud/aws/managed-list: what `xctl db users ls` shows — the managed users of a config's AWS
 * databases (static and discovered), the databases each belongs to, and when its password last
 * rotated (the secret's LastChangedDate in Secrets Manager). Read with the caller's AWS identity.
 */
import type { DatabaseSpec } from '../../db/database.js';
import { Directory, isManagedTagged, roleOf, serviceOf } from './directory.js';
import { awsError } from './errors.js';
import { sdk } from './sdk.js';
import { secretNameFor } from './managed.js';
import type { AwsSession } from './session.js';

/** ManagedUserRow is one managed user. */
export interface ManagedUserRow {
  user: string;
  service: 'elasticache' | 'memorydb';
  region: string;
  databases: string[];
  secret: string;
  /** ISO time of the last rotation, or undefined when the agent has not set a password yet. */
  lastRotation?: string;
}

/** listManagedUsers finds the managed users of the given AWS databases. */
export async function listManagedUsers(session: AwsSession, dbs: readonly DatabaseSpec[]): Promise<ManagedUserRow[]> {
  const dir = new Directory(session);
  const rows = new Map<string, ManagedUserRow>();
  for (const db of dbs) {
    const aws = db.aws;
    if (!aws) continue;
    const [users, meta] = await Promise.all([dir.users(aws), dir.meta(db)]);
    for (const u of users.values()) {
      if (u.authType === 'iam' || !isManagedTagged(u.tags) || !u.groups.some((g) => meta.groups.includes(g))) continue;
      const secret = secretNameFor(aws, u);
      let row = rows.get(secret);
      if (!row) {
        let lastRotation: string | undefined;
        try {
          const d = await (await session.secrets(aws.region, roleOf(aws))).send(new (await sdk()).sm.DescribeSecretCommand({ SecretId: secret }));
          lastRotation = (d.LastChangedDate ?? d.CreatedDate)?.toISOString();
        } catch (err) {
          if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw awsError(err, { action: 'secretsmanager:DescribeSecret', resource: secret });
        }
        row = { user: u.name, service: serviceOf(aws), region: aws.region, databases: [], secret, ...(lastRotation ? { lastRotation } : {}) };
        rows.set(secret, row);
      }
      row.databases.push(db.name);
    }
  }
  return [...rows.values()].sort((a, b) => a.user.localeCompare(b.user) || a.region.localeCompare(b.region));
}
