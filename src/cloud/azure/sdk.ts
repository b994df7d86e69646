/**
 * cloud/azure/sdk: the one place the Azure SDKs are loaded (dynamic `import()`, so only an agent
 * that serves or discovers Azure caches pays their ~0.5 s cold load, and xsh never does) and the
 * credential and ARM clients are built for the configured cloud.
 */
import type { TokenCredential } from '@azure/identity';
import type { RedisManagementClient } from '@azure/arm-rediscache';
import type { RedisEnterpriseManagementClient } from '@azure/arm-redisenterprisecache';
import type { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { AzureCloud } from '../../db/cloud.js';
import { azureEnvironment, type AzureEnvironment } from './environment.js';

/**
 * ENTERPRISE_API_VERSION is asked of Microsoft.Cache/redisEnterprise instead of the SDK's
 * 2022-01-01, so Azure Managed Redis clusters (GA in 2025-04-01) are listed too. The SDK's models
 * drop fields newer than 2022-01-01; none of those is needed here.
 */
export const ENTERPRISE_API_VERSION = '2025-04-01';

type Identity = typeof import('@azure/identity');
type RedisSdk = typeof import('@azure/arm-rediscache');
type EnterpriseSdk = typeof import('@azure/arm-redisenterprisecache');
type SubscriptionsSdk = typeof import('@azure/arm-resources-subscriptions');

/** AzureSdk holds the loaded SDK modules. */
export interface AzureSdk {
  identity: Identity;
  redis: RedisSdk;
  enterprise: EnterpriseSdk;
  subscriptions: SubscriptionsSdk;
}

/** loadAzureSdk imports the SDKs (once per process; Node caches modules). */
export async function loadAzureSdk(): Promise<AzureSdk> {
  const [identity, redis, enterprise, subscriptions] = await Promise.all([
    import('@azure/identity'),
    import('@azure/arm-rediscache'),
    import('@azure/arm-redisenterprisecache'),
    import('@azure/arm-resources-subscriptions'),
  ]);
  // The Enterprise SDK is CommonJS: Node exposes its exports as named ones when its lexer finds them, else as default.
  const e = enterprise as Partial<EnterpriseSdk> & { default?: EnterpriseSdk };
  return { identity, redis, enterprise: e.RedisEnterpriseManagementClient ? (e as EnterpriseSdk) : e.default!, subscriptions };
}

/**
 * AzureClients builds and caches the SDK clients an agent uses: one management credential
 * (DefaultAzureCredential: environment service principal, workload identity, managed identity, …),
 * one credential per user-assigned managed identity named in `azure.identities`, and ARM clients
 * per subscription.
 */
export class AzureClients {
  readonly #credentials = new Map<string, TokenCredential>();
  readonly #redis = new Map<string, RedisManagementClient>();
  readonly #enterprise = new Map<string, RedisEnterpriseManagementClient>();
  #subscriptions: SubscriptionClient | undefined;

  constructor(
    readonly sdk: AzureSdk,
    readonly env: AzureEnvironment,
  ) {}

  /**
   * credential is the agent's own identity (no clientId) or a user-assigned managed identity (by
   * client id). A named identity must not fall back to the environment's service principal, which
   * DefaultAzureCredential would try first: that would give every db user the agent's rights. On
   * AKS the same client id is federated through workload identity (its token file), elsewhere it is
   * a managed identity attached to the VM.
   */
  credential(clientId?: string): TokenCredential {
    const key = clientId ?? '';
    let c = this.#credentials.get(key);
    if (c === undefined) {
      const { identity } = this.sdk;
      const common = { authorityHost: this.env.authorityHost, disableInstanceDiscovery: this.env.disableInstanceDiscovery };
      if (clientId === undefined) {
        c = new identity.DefaultAzureCredential(common);
      } else {
        const managed = new identity.ManagedIdentityCredential({ clientId });
        try {
          // Throws (CredentialUnavailableError) unless AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are set.
          c = new identity.ChainedTokenCredential(new identity.WorkloadIdentityCredential({ ...common, clientId }), managed);
        } catch {
          c = managed;
        }
      }
      this.#credentials.set(key, c);
    }
    return c;
  }

  #armOptions() {
    return {
      endpoint: this.env.resourceManagerEndpoint,
      credentialScopes: [this.env.armScope],
      userAgentOptions: { userAgentPrefix: 'xport' },
    };
  }

  /** redis is the Microsoft.Cache/redis client of a subscription. */
  redis(subscription: string): RedisManagementClient {
    let c = this.#redis.get(subscription);
    if (c === undefined) {
      c = new this.sdk.redis.RedisManagementClient(this.credential(), subscription, this.#armOptions());
      this.#redis.set(subscription, c);
    }
    return c;
  }

  /** enterprise is the Microsoft.Cache/redisEnterprise client of a subscription. */
  enterprise(subscription: string): RedisEnterpriseManagementClient {
    let c = this.#enterprise.get(subscription);
    if (c === undefined) {
      c = new this.sdk.enterprise.RedisEnterpriseManagementClient(this.credential(), subscription, { ...this.#armOptions(), apiVersion: ENTERPRISE_API_VERSION });
      this.#enterprise.set(subscription, c);
    }
    return c;
  }

  /** subscriptions lists the subscriptions the agent's identity can see. */
  subscriptions(): SubscriptionClient {
    this.#subscriptions ??= new this.sdk.subscriptions.SubscriptionClient(this.credential(), this.#armOptions());
    return this.#subscriptions;
  }
}

const shared = new Map<string, Promise<AzureClients>>();

/**
 * azureClientsFor returns the process's clients for a cloud, so the credential provider and
 * discovery share one credential (one token cache) and one set of ARM clients.
 */
export function azureClientsFor(cloud: AzureCloud): Promise<AzureClients> {
  const env = azureEnvironment(cloud);
  const key = JSON.stringify(env);
  let p = shared.get(key);
  if (p === undefined) {
    p = loadAzureSdk().then((sdk) => new AzureClients(sdk, env));
    shared.set(key, p);
    p.catch(() => shared.delete(key));
  }
  return p;
}
