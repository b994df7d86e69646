/**
 * cloud/aws/managed: managed users — ElastiCache / MemoryDB users tagged `xport.dev/managed`
 * (or Teleport's `teleport.dev/managed`) whose passwords the agent owns (reference §4.2):
 *
 *  - the password is 128 random hex characters, kept in Secrets Manager under
 *    `<key_prefix>elasticache|memorydb/<region>/<account>/user/<name>` (optional KMS key);
 *  - every 15 min plus jitter a new one is written with PutSecretValue whose ClientRequestToken is
 *    derived from the current version id, so two agents rotating at once cannot both win; then
 *    the user gets `Passwords=[previous, new]` (ElastiCache ModifyUser, MemoryDB UpdateUser), so
 *    both stay valid during the rotation;
 *  - sessions log in with AWSPREVIOUS (valid on the user at every moment of a rotation), falling
 *    back to AWSCURRENT, and after a refusal with AWSCURRENT.
 *
 * Rotation of a user starts the first time a session needs it and runs while the agent runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AwsDatabase } from '../../db/cloud.js';
import type { Logger } from '../../util/log.js';
import { awsError } from './errors.js';
import { sdk } from './sdk.js';
import { roleOf, serviceOf, type AwsUser } from './directory.js';
import type { AwsSession, RoleRef } from './session.js';

/** ROTATION_INTERVAL_MS is the base rotation period (Secrets Manager allows ~100 versions a day). */
export const ROTATION_INTERVAL_MS = 15 * 60_000;

/** ManagedUserStatus is what `xctl db users ls` shows. */
export interface ManagedUserStatus {
  user: string;
  service: 'elasticache' | 'memorydb';
  region: string;
  secretName: string;
  lastRotation?: Date;
}

/** secretNameFor names the secret of a user: `<prefix><service>/<region>/<account>/user/<name>`. */
export function secretNameFor(aws: AwsDatabase, user: AwsUser): string {
  const account = /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(user.arn)?.[1] ?? aws.accountId ?? 'unknown';
  return `${aws.secretStore?.keyPrefix ?? 'xport/'}${serviceOf(aws)}/${aws.region}/${account}/user/${user.name}`;
}

/** uuidFrom makes a UUID (v5 layout) from text: the same input gives the same ClientRequestToken. */
export function uuidFrom(text: string): string {
  const h = createHash('sha1').update('xport.dev/rotation\0').update(text).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** newPassword is 128 hex characters from the CSPRNG. */
export function newPassword(): string {
  return randomBytes(64).toString('hex');
}

interface Rotating {
  aws: AwsDatabase;
  user: AwsUser;
  secretName: string;
  timer?: NodeJS.Timeout;
  ready: Promise<void>;
  lastRotation?: Date;
  /** After a refusal, log in with AWSCURRENT rather than AWSPREVIOUS once. */
  preferCurrent: boolean;
}

/** ManagedUsers rotates the passwords of managed users and hands them to sessions. */
export class ManagedUsers {
  readonly #users = new Map<string, Rotating>();

  constructor(
    private readonly session: AwsSession,
    private readonly opts: { log: Logger; intervalMs?: number; clusterName?: string },
  ) {}

  /** password returns the password a session logs in with, starting rotation of the user if needed. */
  async password(aws: AwsDatabase, user: AwsUser): Promise<string> {
    const r = this.#ensure(aws, user);
    await r.ready;
    const stages = r.preferCurrent ? ['AWSCURRENT'] : ['AWSPREVIOUS', 'AWSCURRENT'];
    r.preferCurrent = false;
    for (const stage of stages) {
      const v = await this.#read(r, stage);
      if (v !== undefined) return v.value;
    }
    throw awsError(new Error('the secret has no value'), { action: 'secretsmanager:GetSecretValue', resource: r.secretName });
  }

  /** refused notes that Redis refused a password: the next login reads AWSCURRENT. */
  refused(aws: AwsDatabase, user: AwsUser): void {
    const r = this.#users.get(secretNameFor(aws, user));
    if (r) r.preferCurrent = true;
  }

  /** status lists the users being rotated. */
  status(): ManagedUserStatus[] {
    return [...this.#users.values()].map((r) => ({
      user: r.user.name,
      service: serviceOf(r.aws),
      region: r.aws.region,
      secretName: r.secretName,
      ...(r.lastRotation ? { lastRotation: r.lastRotation } : {}),
    }));
  }

  /** stop ends every rotation timer. */
  stop(): void {
    for (const r of this.#users.values()) if (r.timer) clearTimeout(r.timer);
  }

  #ensure(aws: AwsDatabase, user: AwsUser): Rotating {
    const name = secretNameFor(aws, user);
    let r = this.#users.get(name);
    if (r) return r;
    const entry: Rotating = { aws, user, secretName: name, ready: Promise.resolve(), preferCurrent: false };
    entry.ready = this.#initialise(entry).then(
      () => this.#schedule(entry),
      (err: unknown) => {
        this.#users.delete(name);
        throw err;
      },
    );
    this.#users.set(name, entry);
    return entry;
  }

  #schedule(r: Rotating): void {
    const base = this.opts.intervalMs ?? ROTATION_INTERVAL_MS;
    // Jitter spreads rotations of many users and agents: [base, base × 1.167).
    const delay = base + Math.floor(Math.random() * (base / 6));
    r.timer = setTimeout(() => {
      this.rotate(r).then(
        () => this.#schedule(r),
        (err: unknown) => {
          this.opts.log.warn('password rotation of a managed user failed; will try again', { user: r.user.name, secret: r.secretName, error: (err as Error).message });
          this.#schedule(r);
        },
      );
    }, delay);
    r.timer.unref?.();
  }

  /** initialise creates the secret (and sets the user's password to it) when it does not exist yet. */
  async #initialise(r: Rotating): Promise<void> {
    const existing = await this.#read(r, 'AWSCURRENT');
    if (existing !== undefined) {
      // The secret exists (another agent, or an earlier run): make sure the user accepts it.
      await this.#setUserPasswords(r, [existing.value]);
      return;
    }
    const pw = newPassword();
    const sm = (await this.session.secrets(r.aws.region, roleOf(r.aws)));
    try {
      await sm.send(
        new (await sdk()).sm.CreateSecretCommand({
          Name: r.secretName,
          Description: 'Created by xport: password of a managed ElastiCache/MemoryDB user, rotated by the database agent.',
          SecretString: pw,
          ClientRequestToken: uuidFrom(`${r.secretName}|create`),
          ...(r.aws.secretStore?.kmsKeyId ? { KmsKeyId: r.aws.secretStore.kmsKeyId } : {}),
          Tags: [
            { Key: 'xport.dev/created', Value: 'true' },
            ...(this.opts.clusterName ? [{ Key: 'xport.dev/cluster', Value: this.opts.clusterName }] : []),
          ],
        }),
      );
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (name !== 'ResourceExistsException') throw awsError(err, { action: 'secretsmanager:CreateSecret', resource: r.secretName });
    }
    const now = await this.#read(r, 'AWSCURRENT');
    await this.#setUserPasswords(r, [now!.value]);
    r.lastRotation = new Date();
  }

  /** rotate writes a new password and lets the user accept both the previous and the new one. */
  async rotate(r: Rotating): Promise<void> {
    const current = await this.#read(r, 'AWSCURRENT');
    if (current === undefined) throw awsError(new Error('the secret has no current version'), { action: 'secretsmanager:GetSecretValue', resource: r.secretName });
    const next = newPassword();
    const sm = (await this.session.secrets(r.aws.region, roleOf(r.aws)));
    try {
      await sm.send(new (await sdk()).sm.PutSecretValueCommand({ SecretId: r.secretName, SecretString: next, ClientRequestToken: uuidFrom(current.versionId) }));
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (name === 'ResourceExistsException') {
        // Another agent rotated from the same version first: its password stands, and it updates the user.
        this.opts.log.debug('another agent rotated this managed user first', { user: r.user.name });
        return;
      }
      throw awsError(err, { action: 'secretsmanager:PutSecretValue', resource: r.secretName });
    }
    await this.#setUserPasswords(r, [current.value, next]);
    r.lastRotation = new Date();
    this.opts.log.info('rotated the password of a managed user', { user: r.user.name, service: serviceOf(r.aws), region: r.aws.region });
  }

  async #read(r: Rotating, stage: string): Promise<{ value: string; versionId: string } | undefined> {
    const sm = (await this.session.secrets(r.aws.region, roleOf(r.aws)));
    try {
      const v = await sm.send(new (await sdk()).sm.GetSecretValueCommand({ SecretId: r.secretName, VersionStage: stage }));
      const value = v.SecretString ?? (v.SecretBinary ? Buffer.from(v.SecretBinary).toString('utf8') : undefined);
      return value !== undefined && v.VersionId ? { value, versionId: v.VersionId } : undefined;
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (name === 'ResourceNotFoundException') return undefined;
      throw awsError(err, { action: 'secretsmanager:GetSecretValue', resource: r.secretName });
    }
  }

  async #setUserPasswords(r: Rotating, passwords: string[]): Promise<void> {
    const role: RoleRef = roleOf(r.aws);
    if (serviceOf(r.aws) === 'memorydb') {
      await (await this.session.memorydb(r.aws.region, role))
        .send(new (await sdk()).mdb.UpdateUserCommand({ UserName: r.user.name, AuthenticationMode: { Type: 'password', Passwords: passwords } }))
        .catch((err: unknown) => {
          throw awsError(err, { action: 'memorydb:UpdateUser', resource: r.user.arn });
        });
      return;
    }
    await (await this.session.elasticache(r.aws.region, role))
      .send(new (await sdk()).ec.ModifyUserCommand({ UserId: r.user.name, Passwords: passwords }))
      .catch((err: unknown) => {
        throw awsError(err, { action: 'elasticache:ModifyUser', resource: r.user.arn });
      });
  }
}
