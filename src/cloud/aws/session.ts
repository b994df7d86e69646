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
import type { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { MemoryDBClient } from '@aws-sdk/client-memorydb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { sdk } from './sdk.js';
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
  #ambient: AwsCredentialIdentityProvider | undefined;
  readonly #defaultRegion: string;
  readonly #roles = new Map<string, { creds: Promise<AwsCredentialIdentity>; expires: number }>();
  readonly #clients = new Map<string, unknown>();
  readonly #accounts = new Map<string, Promise<string>>();

  /** defaultRegion is where STS and IAM are called (the environment's AWS_REGION, else us-east-1). */
  constructor(opts: { ambient?: AwsCredentialIdentityProvider; defaultRegion?: string | undefined } = {}) {
    this.#ambient = opts.ambient;
    this.#defaultRegion = opts.defaultRegion ?? 'us-east-1';
  }

  async #ambientCredentials(): Promise<AwsCredentialIdentity> {
    this.#ambient ??= (await sdk()).creds.fromNodeProviderChain();
    return this.#ambient();
  }

  /** credentials resolves the identity to act as: the ambient chain, or the assumed role. */
  credentials(role: RoleRef = {}): Promise<AwsCredentialIdentity> {
    if (!role.assumeRoleArn) return this.#ambientCredentials().catch((err: unknown) => Promise.reject(awsError(err, { action: 'credentials' })));
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
    const { sts: m } = await sdk();
    const sts = await this.sts(this.#defaultRegion, {});
    try {
      const out = await sts.send(
        new m.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'xport-db-agent', ...(externalId ? { ExternalId: externalId } : {}), DurationSeconds: 3600 }),
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
      p = Promise.all([sdk(), this.sts(region, role)]).then(([m, sts]) => sts.send(new m.sts.GetCallerIdentityCommand({}))).then(
        (r) => r.Account ?? '',
        (err: unknown) => Promise.reject(awsError(err, { action: 'sts:GetCallerIdentity' })),
      );
      this.#accounts.set(key, p);
      p.catch(() => this.#accounts.delete(key));
    }
    return p;
  }

  async elasticache(region: string, role: RoleRef = {}): Promise<ElastiCacheClient> {
    const m = (await sdk()).ec;
    return this.#client('elasticache', region, role, (o) => new m.ElastiCacheClient(o));
  }

  async memorydb(region: string, role: RoleRef = {}): Promise<MemoryDBClient> {
    const m = (await sdk()).mdb;
    return this.#client('memorydb', region, role, (o) => new m.MemoryDBClient(o));
  }

  async secrets(region: string, role: RoleRef = {}): Promise<SecretsManagerClient> {
    const m = (await sdk()).sm;
    return this.#client('secretsmanager', region, role, (o) => new m.SecretsManagerClient(o));
  }

  async sts(region: string, role: RoleRef = {}): Promise<STSClient> {
    const m = (await sdk()).sts;
    return this.#client('sts', region, role, (o) => new m.STSClient(o));
  }

  async iam(role: RoleRef = {}): Promise<IAMClient> {
    const m = (await sdk()).iam;
    return this.#client('iam', this.#defaultRegion, role, (o) => new m.IAMClient(o));
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
