/**
 * service/providers: the one place credential providers are registered, by database type. A
 * cloud provider is loaded lazily (dynamic `import()` inside {@link lazyProvider}), so an agent that
 * serves only self-hosted Redis never loads a cloud SDK.
 */
import { CredentialRegistry, lazyProvider } from '../db/credentials.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { ServiceConfig } from './config.js';
import type { AgentAuth } from '../agent/auth.js';
import { SelfHostedCredentials, serverTls } from '../agent/credentials.js';
import { ManagedUsers, readManagedAdmins } from './managed-users.js';

/** ProviderDeps is what providers may need from the service. */
export interface ProviderDeps {
  config: ServiceConfig;
  agentAuth: AgentAuth;
  clock: Clock;
  log: Logger;
  /** The process environment (AWS_REGION and the AWS provider's test knobs). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * createCredentialProviders builds the registry an agent's engines authenticate through, and the
 * managed-users provider (self-hosted `users: managed`), which the agent also tells about role
 * changes. Throws bad-parameter for a managed database without a usable admin credential.
 */
export function createCredentialProviders(deps: ProviderDeps): CredentialRegistry & { managed: ManagedUsers } {
  const registry = new CredentialRegistry();
  const managed = new ManagedUsers(
    new SelfHostedCredentials(deps.agentAuth, deps.clock),
    readManagedAdmins(deps.config.db.databases),
    deps.clock,
    deps.log.child('managed-users'),
    (e, s) => deps.agentAuth.emit(e, s),
    deps.config.dataDir,
    { fetch: (req) => deps.agentAuth.dbAdminAccess(req), serverTls: (db) => serverTls(db, deps.agentAuth.dbCaPem) },
  );
  managed.watchSyncRequests();
  registry.register('self-hosted', managed);
  registry.register(['elasticache', 'elasticache-serverless', 'memorydb'], lazyProvider(async () => (await import('../cloud/aws/provider.js')).createProvider({ log: deps.log.child('aws'), clusterName: deps.config.clusterName, ...(deps.env ? { env: deps.env } : {}) })));
  // Azure: one provider (one key and token cache) for both cache kinds; the SDKs load on first use.
  registry.register(
    ['azure-redis', 'azure-redis-enterprise'],
    lazyProvider(async () => (await import('../cloud/azure/provider.js')).createAzureCredentials(deps.config.db.azureCloud, deps.log.child('azure'))),
  );
  return Object.assign(registry, { managed });
}
