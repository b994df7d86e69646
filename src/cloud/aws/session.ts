/**
 * cloud/aws/session: AWS credentials and SDK clients for the agent, per region and per assumed
 * role. Credentials come from the SDK's default chain (environment, shared files and AWS_PROFILE,
 * web identity, IMDS); a database or matcher may name `assume_role_arn` (+ `external_id`), which
 * is assumed through STS with the ambient credentials and cached until shortly before it expires.
 *
 * Endpoints are the SDK's own resolution, so `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`
 * keep working (VPC endpoints, LocalStack-style setups, the tests' moto server).
 *
 * The only module that constructs SDK clients; loaded with dynamic import() only.
 */
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { IAMClient } from '@aws-sdk/client-iam';
import { MemoryDBClient } from '@aws-sdk/client-memorydb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { awsError } from './errors.js';

/** RoleRef names a role to assume (or none: the ambient identity). */
export interface RoleRef {
  assumeRoleArn?: string | undefined;
  externalId?: string | undefined;
}

/** Refresh assumed-role credentials this long before they expire. */
const ROLE_REFRESH_MS = 5 * 60_000;
/** Fail fast instead of retrying for minutes: a caller retries on its own schedule. */
const MAX_ATTEMPTS = 2;

/** AwsSession hands out credentials and clients; one per agent. */
export class AwsSession {
  readonly #ambient: AwsCredentialIdentityProvider;
  readonly #roles = new Map<string, { creds: Promise<AwsCredentialIdentity>; expires: number }>();
  readonly #clients = new Map<string, unknown>();
  readonly #accounts = new Map<string, Promise<string>>();

  constructor(opts: { ambient?: AwsCredentialIdentityProvider } = {}) {
    this.#ambient = opts.ambient ?? fromNodeProviderChain();
  }

  /** credentials resolves the identity to act as: the ambient chain, or the assumed role. */
  credentials(role: RoleRef = {}): Promise<AwsCredentialIdentity> {
    if (!role.assumeRoleArn) return this.#ambient().catch((err: unknown) => Promise.reject(awsError(err, { action: 'credentials' })));
    const key = `${role.assumeRoleArn}|${role.externalId ?? ''}`;
    const hit = this.#roles.get(key);
    if (hit && hit.expires - ROLE_REFRESH_MS > Date.now()) return hit.creds;
    const creds = this.#assume(role.assumeRoleArn, role.externalId);
    const entry = { creds, expires: Number.MAX_SAFE_INTEGER };
    this.#roles.set(key, entry);
    creds.then(
      (c) => (entry.expires = c.expiration?.getTime() ?? Date.now() + 15 * 60_000),
      () => this.#roles.delete(key),
    );
    return creds;
  }

  async #assume(roleArn: string, externalId: string | undefined): Promise<AwsCredentialIdentity> {
    const sts = this.#client('sts', process.env.AWS_REGION ?? 'us-east-1', {}, (o) => new STSClient(o));
    try {
      const out = await sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'xport-db-agent', ...(externalId ? { ExternalId: externalId } : {}), DurationSeconds: 3600 }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS AssumeRole returned no credentials');
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: c.Expiration } : {}) };
    } catch (err) {
      throw awsError(err, { action: 'sts:AssumeRole', resource: roleArn, externalId });
    }
  }

  /** accountId is the account of the identity (the role's, when one is assumed), from STS GetCallerIdentity. */
  accountId(region: string, role: RoleRef = {}): Promise<string> {
    const key = `${role.assumeRoleArn ?? ''}|${role.externalId ?? ''}`;
    let p = this.#accounts.get(key);
    if (!p) {
      const sts = this.#client('sts', region, role, (o) => new STSClient(o));
      p = sts.send(new GetCallerIdentityCommand({})).then(
        (r) => r.Account ?? '',
        (err: unknown) => Promise.reject(awsError(err, { action: 'sts:GetCallerIdentity' })),
      );
      this.#accounts.set(key, p);
      p.catch(() => this.#accounts.delete(key));
    }
    return p;
  }

  elasticache(region: string, role: RoleRef = {}): ElastiCacheClient {
    return this.#client('elasticache', region, role, (o) => new ElastiCacheClient(o));
  }

  memorydb(region: string, role: RoleRef = {}): MemoryDBClient {
    return this.#client('memorydb', region, role, (o) => new MemoryDBClient(o));
  }

  secrets(region: string, role: RoleRef = {}): SecretsManagerClient {
    return this.#client('secretsmanager', region, role, (o) => new SecretsManagerClient(o));
  }

  iam(role: RoleRef = {}): IAMClient {
    return this.#client('iam', process.env.AWS_REGION ?? 'us-east-1', role, (o) => new IAMClient(o));
  }

  #client<T>(service: string, region: string, role: RoleRef, make: (o: { region: string; credentials: AwsCredentialIdentityProvider; maxAttempts: number }) => T): T {
    const key = `${service}|${region}|${role.assumeRoleArn ?? ''}|${role.externalId ?? ''}`;
    let c = this.#clients.get(key) as T | undefined;
    if (c === undefined) {
      c = make({ region, credentials: () => this.credentials(role), maxAttempts: MAX_ATTEMPTS });
      this.#clients.set(key, c);
    }
    return c;
  }
}
