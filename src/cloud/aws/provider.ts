/**
 * cloud/aws/provider: the CredentialProvider for ElastiCache, ElastiCache Serverless and MemoryDB
 * (registered in service/providers.ts, loaded lazily). For a session as db user U it decides:
 *
 *  1. U is an IAM-enabled user (DescribeUsers, cached) → `AUTH U <IAM token>`, tokens cached until
 *     a third of their life is left (the engine re-authenticates live connections before expiry);
 *  2. U is a managed user (tagged, in the database's user groups / ACL) → `AUTH U <password>` from
 *     Secrets Manager, rotated by {@link ManagedUsers};
 *  3. the database has a legacy AUTH token secret (`auth_token_secret`) → `AUTH <token>`;
 *  4. otherwise no AUTH: the client authenticates itself (as the routed db user only).
 *
 * IAM and managed users' own `AUTH` from the client is answered OK locally (`localAuth`).
 * Clear errors for the cases of issue 9 §4 (not IAM-enabled, not in the user group, engine < 7).
 */
import type { CredentialOptions, CredentialProvider, UpstreamCredentials } from '../../db/credentials.js';
import { serverTls } from '../../db/credentials.js';
import type { DatabaseSpec } from '../../db/database.js';
import { accessDenied, badParameter } from '../../errors.js';
import type { Logger } from '../../util/log.js';
import { Directory, engineMajor, isManagedTagged, roleOf, serviceOf, type AwsUser } from './directory.js';
import { awsError } from './errors.js';
import { sdk } from './sdk.js';
import { IAM_TOKEN_TTL_SECONDS, iamAuthToken } from './iam-token.js';
import { ManagedUsers } from './managed.js';
import { AwsSession } from './session.js';

/** AwsProviderOptions tune the provider (the tests shorten lifetimes to watch renewals happen). */
export interface AwsProviderOptions {
  log: Logger;
  session?: AwsSession;
  /** IAM token lifetime in seconds (default 900, AWS's maximum). */
  tokenTtlSeconds?: number;
  /** Managed-user rotation period (default 15 min). */
  rotationIntervalMs?: number;
  clusterName?: string;
}

interface CachedToken {
  creds: UpstreamCredentials;
  /** Reuse until then. */
  freshUntil: number;
}

/** AwsCredentials implements {@link CredentialProvider} for AWS-hosted Redis. */
export class AwsCredentials implements CredentialProvider {
  readonly session: AwsSession;
  readonly directory: Directory;
  readonly managed: ManagedUsers;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #ttl: number;
  readonly #log: Logger;

  constructor(o: AwsProviderOptions) {
    this.session = o.session ?? new AwsSession();
    this.directory = new Directory(this.session);
    this.managed = new ManagedUsers(this.session, { log: o.log, ...(o.rotationIntervalMs ? { intervalMs: o.rotationIntervalMs } : {}), ...(o.clusterName ? { clusterName: o.clusterName } : {}) });
    this.#ttl = o.tokenTtlSeconds ?? IAM_TOKEN_TTL_SECONDS;
    this.#log = o.log;
  }

  async credentials(db: DatabaseSpec, dbUser: string, _opts: CredentialOptions): Promise<UpstreamCredentials> {
    const aws = db.aws;
    if (!aws) throw badParameter(`database "${db.name}" is of type ${db.type} but has no aws block`);
    const tls = serverTls(db);
    const user = await this.directory.user(db, dbUser);
    if (user?.authType === 'iam') return this.#iam(db, user, tls);
    if (user && isManagedTagged(user.tags)) {
      const meta = await this.directory.meta(db);
      if (user.groups.some((g) => meta.groups.includes(g))) {
        const password = await this.managed.password(aws, user);
        return { username: user.name, password, tls, localAuth: true };
      }
      this.#log.debug('user is tagged as managed but not in the database user groups/ACL; not managing it for this database', { user: user.name, database: db.name });
    }
    if (aws.authTokenSecret) {
      const token = await this.#authToken(db);
      return { password: token, tls, localAuth: true };
    }
    return { tls };
  }

  invalidate(db: DatabaseSpec, dbUser: string): void {
    for (const k of this.#tokens.keys()) if (k.startsWith(`${db.name}|${dbUser}|`)) this.#tokens.delete(k);
    void this.directory
      .user(db, dbUser)
      .then((u) => {
        if (u && db.aws) this.managed.refused(db.aws, u);
      })
      .catch(() => {});
    this.directory.forget();
  }

  /** stop ends background rotation. */
  stop(): void {
    this.managed.stop();
  }

  async #iam(db: DatabaseSpec, user: AwsUser, tls: UpstreamCredentials['tls']): Promise<UpstreamCredentials> {
    const aws = db.aws!;
    const key = `${db.name}|${user.name}|`;
    const hit = this.#tokens.get(key);
    if (hit && hit.freshUntil > Date.now()) return hit.creds;
    const meta = await this.directory.meta(db);
    if (!aws.elasticacheServerless && !user.groups.some((g) => meta.groups.includes(g))) {
      throw accessDenied(
        `${serviceOf(aws) === 'memorydb' ? 'MemoryDB' : 'ElastiCache'} user "${user.name}" is IAM-enabled but not in ${aws.memorydb ? 'the ACL' : 'a user group'} of database "${db.name}" (${meta.groups.join(', ') || 'none'}); add it, e.g. ${
          aws.memorydb ? `aws memorydb update-acl --acl-name ${meta.groups[0] ?? '<acl>'} --user-names-to-add ${user.name}` : `aws elasticache modify-user-group --user-group-id ${meta.groups[0] ?? '<group>'} --user-ids-to-add ${user.name}`
        }`,
      );
    }
    const major = engineMajor(meta.engineVersion);
    if (meta.engine !== 'valkey' && major !== undefined && major < 7) {
      throw badParameter(`IAM authentication needs Redis 7.0 or later, and database "${db.name}" runs ${meta.engineVersion}; upgrade the engine or use a managed user (tag the user xport.dev/managed=true)`);
    }
    const credentials = await this.session.credentials(roleOf(aws));
    const now = Date.now();
    const target = aws.memorydb?.clusterName ?? aws.elasticacheServerless?.cacheName ?? aws.elasticache!.replicationGroupId;
    const token = await iamAuthToken({
      service: serviceOf(aws),
      region: aws.region,
      target,
      user: user.name,
      serverless: aws.elasticacheServerless !== undefined,
      credentials,
      expiresIn: this.#ttl,
      now: new Date(now),
    });
    const creds: UpstreamCredentials = { username: user.name, password: token, tls, expiresAt: new Date(now + this.#ttl * 1000), localAuth: true };
    // Reuse while at least a third of the lifetime is left: sessions starting later still get time.
    this.#tokens.set(key, { creds, freshUntil: now + Math.floor((this.#ttl * 1000 * 2) / 3) });
    return creds;
  }

  async #authToken(db: DatabaseSpec): Promise<string> {
    const aws = db.aws!;
    const id = aws.authTokenSecret!;
    try {
      const v = await (await this.session.secrets(aws.region, roleOf(aws))).send(new (await sdk()).sm.GetSecretValueCommand({ SecretId: id }));
      const s = v.SecretString ?? (v.SecretBinary ? Buffer.from(v.SecretBinary).toString('utf8') : '');
      if (!s) throw new Error('the secret is empty');
      return s;
    } catch (err) {
      throw awsError(err, { action: 'secretsmanager:GetSecretValue', resource: id });
    }
  }
}

/**
 * createProvider builds the provider (the lazy registration calls it). Two environment knobs
 * exist for tests and demos that must watch renewals happen: XPORT_AWS_IAM_TOKEN_TTL (seconds,
 * 5–900) and XPORT_AWS_ROTATION_INTERVAL_MS (≥ 1000).
 */
export function createProvider(o: { log: Logger; clusterName?: string; env?: Readonly<Record<string, string | undefined>> }): AwsCredentials {
  const ttl = Number(o.env?.XPORT_AWS_IAM_TOKEN_TTL ?? '');
  const rot = Number(o.env?.XPORT_AWS_ROTATION_INTERVAL_MS ?? '');
  return new AwsCredentials({
    log: o.log,
    session: new AwsSession({ defaultRegion: o.env?.AWS_REGION }),
    ...(ttl >= 5 && ttl <= IAM_TOKEN_TTL_SECONDS ? { tokenTtlSeconds: ttl } : {}),
    ...(rot >= 1000 ? { rotationIntervalMs: rot } : {}),
    ...(o.clusterName ? { clusterName: o.clusterName } : {}),
  });
}
