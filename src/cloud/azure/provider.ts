/**
 * cloud/azure/provider: the credential provider for Azure Cache for Redis (`azure-redis`) and
 * Redis Enterprise / Azure Managed Redis (`azure-redis-enterprise`) databases.
 *
 * - `azure.auth: access_key` (default, as Teleport): `AUTH <key>` as the default user. Only the db
 *   user `default` can be served: a key grants nothing else.
 * - `azure.auth: entra_id`: `AUTH <object id> <token>`. With `azure.identities`, each xport db user
 *   maps to its own user-assigned managed identity (least privilege per db user: a reader identity
 *   with the Data Reader access policy, a writer with Data Contributor); db users not in the map are
 *   refused. Without it, every db user authenticates as the agent's own identity.
 *
 * TLS: the system CA store (plus NODE_EXTRA_CA_CERTS), server name = the URI host (Azure's OSS
 * cluster redirects point at IPs, so the name is pinned), as Teleport.
 */
import { accessDenied, badParameter } from '../../errors.js';
import type { AzureCloud } from '../../db/cloud.js';
import type { CredentialOptions, CredentialProvider, UpstreamCredentials } from '../../db/credentials.js';
import type { DatabaseSpec } from '../../db/database.js';
import type { Logger } from '../../util/log.js';
import { AccessKeys } from './access-keys.js';
import { parseCacheId } from './arm-id.js';
import { EntraTokens } from './entra.js';
import { azureClientsFor, type AzureClients } from './sdk.js';

/** AzureRedisCredentials implements {@link CredentialProvider} for Azure caches. */
export class AzureRedisCredentials implements CredentialProvider {
  readonly keys: AccessKeys;
  readonly tokens: EntraTokens;

  constructor(readonly clients: AzureClients, private readonly log: Logger) {
    this.keys = new AccessKeys(clients);
    this.tokens = new EntraTokens(clients);
  }

  async credentials(db: DatabaseSpec, dbUser: string, opts: CredentialOptions): Promise<UpstreamCredentials> {
    const azure = db.azure;
    if (!azure) throw badParameter(`database "${db.name}" is of type ${db.type} but has no azure block`, { hint: 'Add azure: { resource_id: … } to the database.' });
    const tls = tlsFor(db);
    if (azure.auth === 'access_key') {
      if (dbUser !== 'default') {
        throw accessDenied(`database "${db.name}" authenticates with an access key, which only logs in as the Redis user "default", not "${dbUser}"`, {
          hint: 'Connect with --db-user=default, or set azure.auth: entra_id with azure.identities for per-user identities.',
        });
      }
      const key = await this.keys.key(parseCacheId(azure.resourceId), db.name);
      return { password: key, tls };
    }
    const clientId = identityOf(db, dbUser);
    try {
      const t = await this.tokens.token(clientId, opts.signal);
      return { username: t.objectId, password: t.token, tls, expiresAt: t.replaceAt };
    } catch (err) {
      this.log.warn('could not get an Entra ID token for Redis', { database: db.name, db_user: dbUser, err: (err as Error).message, hint: (err as { hint?: string }).hint });
      throw err;
    }
  }

  invalidate(db: DatabaseSpec, dbUser: string): void {
    const azure = db.azure;
    if (!azure) return;
    if (azure.auth === 'access_key') {
      this.keys.invalidate(parseCacheId(azure.resourceId));
      this.log.info('dropped the cached access key; the next connection fetches it again', { database: db.name });
    } else {
      try {
        this.tokens.invalidate(identityOf(db, dbUser));
      } catch {
        // A db user with no identity has no token to drop.
      }
    }
  }
}

/** identityOf is the managed identity client id a db user maps to (undefined: the agent's own). */
export function identityOf(db: DatabaseSpec, dbUser: string): string | undefined {
  const ids = db.azure?.identities;
  if (!ids) return undefined;
  const id = ids[dbUser];
  if (!id) {
    throw accessDenied(`database "${db.name}" maps no Entra ID identity to db user "${dbUser}"`, {
      hint: `Connect as one of: ${Object.keys(ids).join(', ')}, or add ${dbUser} to azure.identities.`,
    });
  }
  return id.clientId;
}

function tlsFor(db: DatabaseSpec): UpstreamCredentials['tls'] {
  return {
    ...(db.tls.caCertPem ? { caPem: db.tls.caCertPem } : {}),
    serverName: db.tls.serverName ?? db.host,
    rejectUnauthorized: db.tls.mode !== 'insecure',
    checkServerName: db.tls.mode === 'verify-full',
  };
}

/** createAzureCredentials loads the SDKs and builds the provider for the configured cloud. */
export async function createAzureCredentials(cloud: AzureCloud, log: Logger): Promise<AzureRedisCredentials> {
  return new AzureRedisCredentials(await azureClientsFor(cloud), log);
}
