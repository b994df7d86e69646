/**
 * cloud/azure/discovery: one `db_service.azure` matcher as a {@link DatabaseDiscovery} source. It
 * lists subscriptions (`*`: all the identity sees, `Deleted` ones skipped), then per subscription the
 * Microsoft.Cache/redis caches and the Microsoft.Cache/redisEnterprise clusters' databases (by
 * subscription, or by each named resource group), following ARM's `nextLink` pages through the SDK.
 * A subscription or resource group that answers AccessDenied/NotFound is logged and skipped; any
 * other failure fails the round, so the agent keeps serving the previous answer.
 */
import type { AzureMatcher } from '../../db/cloud.js';
import type { DatabaseSpec } from '../../db/database.js';
import type { DatabaseDiscovery } from '../../db/discovery.js';
import { connectionProblem, isXError, limitExceeded, messageOf } from '../../errors.js';
import type { Logger } from '../../util/log.js';
import { resourceGroupOf } from './arm-id.js';
import { specOf, type FoundCache } from './discovered.js';
import { armError, isAccessDeniedOrNotFound } from './errors.js';
import type { AzureClients } from './sdk.js';

/** DISCOVERY_ACTIONS name the Azure RBAC action each listing needs (for error messages and bootstrap). */
export const DISCOVERY_ACTIONS = {
  subscriptions: 'Microsoft.Resources/subscriptions/read',
  redis: 'Microsoft.Cache/redis/read',
  enterprise: 'Microsoft.Cache/redisEnterprise/read',
  enterpriseDatabases: 'Microsoft.Cache/redisEnterprise/databases/read',
} as const;

/** ROUND_TIMEOUT_MS bounds one discovery round, so a hung ARM call cannot stall the source. */
export const ROUND_TIMEOUT_MS = 120_000;
/** MAX_LISTED bounds what one round reads from ARM (subscriptions, caches, clusters and databases together). */
export const MAX_LISTED = 20_000;

/** Report logs a skipped subject unless the previous round logged it for the same reason. */
type Report = (subject: string, reason: string, log: () => void) => void;

/** Budget is what is left of one round's {@link MAX_LISTED}. */
interface Budget {
  left: number;
}

/** count bounds a round: an endless or enormous listing (a nextLink loop) fails it instead of growing memory. */
function count(budget: Budget): void {
  if (--budget.left < 0) throw limitExceeded(`Azure discovery listed more than ${MAX_LISTED} resources in one round; narrow the matcher (regions, subscriptions, resource_groups)`);
}

/** AzureRedisDiscovery discovers the caches one matcher selects. */
export class AzureRedisDiscovery implements DatabaseDiscovery {
  readonly name: string;
  /** What the last round reported as skipped (subject → reason), so each round logs only news. */
  #reported = new Map<string, string>();

  constructor(
    private readonly clients: AzureClients,
    private readonly matcher: AzureMatcher,
    private readonly log: Logger,
  ) {
    this.name = `azure ${matcher.types.join('+')} regions=${matcher.regions.join(',')} subscriptions=${matcher.subscriptions.join(',')}`;
  }

  async discover(stop: AbortSignal): Promise<DatabaseSpec[]> {
    const signal = AbortSignal.any([stop, AbortSignal.timeout(ROUND_TIMEOUT_MS)]);
    const budget = { left: MAX_LISTED };
    try {
      return await this.#discover(signal, budget);
    } catch (err) {
      if (signal.aborted && !stop.aborted) throw connectionProblem(`Azure discovery took longer than ${ROUND_TIMEOUT_MS / 1000} s; keeping the previous answer`);
      // The loop logs the message; what to do about it (the variables to set, the role to grant) is here.
      if (isXError(err) && err.hint && !signal.aborted) this.log.warn(err.message, { hint: err.hint });
      throw err;
    }
  }

  async #discover(signal: AbortSignal, budget: Budget): Promise<DatabaseSpec[]> {
    const out: DatabaseSpec[] = [];
    const reported = new Map<string, string>();
    const report: Report = (subject, reason, log) => {
      reported.set(subject, reason);
      if (this.#reported.get(subject) !== reason) log();
    };
    for (const sub of await this.#subscriptions(signal, budget, report)) {
      for (const rg of this.matcher.resourceGroups.includes('*') ? [undefined] : this.matcher.resourceGroups) {
        let found: FoundCache[];
        try {
          found = await this.#list(sub, rg, signal, budget);
        } catch (err) {
          if (signal.aborted) throw err;
          if (isAccessDeniedOrNotFound(err)) {
            const why = messageOf(err).split('\n')[0]!;
            report(`${sub}/${rg ?? '*'}`, why, () => this.log.warn('skipping a subscription or resource group the agent cannot list', { subscription: sub, resource_group: rg, err: why }));
            continue;
          }
          throw armError(err, `listing Azure caches in subscription ${sub}`, DISCOVERY_ACTIONS.redis);
        }
        for (const c of found) {
          const r = specOf(c, this.matcher);
          if ('spec' in r) out.push(r.spec);
          // A cache the matcher does not select is not news; one it selects but cannot serve is.
          else if (r.unselected) this.log.debug('the matcher does not select an Azure cache', { id: c.id, reason: r.skipped });
          else report(c.id, r.skipped, () => this.log.info('skipping an Azure cache', { id: c.id, reason: r.skipped }));
        }
      }
    }
    this.#reported = reported;
    return out;
  }

  async #subscriptions(signal: AbortSignal, budget: Budget, report: Report): Promise<string[]> {
    if (!this.matcher.subscriptions.includes('*')) return this.matcher.subscriptions;
    const subs: string[] = [];
    try {
      for await (const s of this.clients.subscriptions().subscriptions.list({ abortSignal: signal })) {
        count(budget);
        if (!s.subscriptionId) continue;
        if (s.state === 'Deleted') {
          const id = s.subscriptionId;
          report(id, 'deleted', () => this.log.info('skipping a deleted subscription', { subscription: id }));
          continue;
        }
        subs.push(s.subscriptionId);
      }
    } catch (err) {
      throw armError(err, 'listing Azure subscriptions', DISCOVERY_ACTIONS.subscriptions);
    }
    return subs;
  }

  async #list(sub: string, rg: string | undefined, signal: AbortSignal, budget: Budget): Promise<FoundCache[]> {
    const opts = { abortSignal: signal };
    const out: FoundCache[] = [];
    if (this.matcher.types.includes('redis')) {
      const redis = this.clients.redis(sub).redis;
      for await (const c of rg === undefined ? redis.listBySubscription(opts) : redis.listByResourceGroup(rg, opts)) {
        count(budget);
        if (!c.id || !c.name) continue;
        out.push({
          kind: 'redis',
          id: c.id,
          name: c.name,
          location: c.location,
          tags: c.tags ?? {},
          ...(c.hostName ? { hostName: c.hostName } : {}),
          ...(c.sslPort ? { port: c.sslPort } : {}),
          ...(c.provisioningState ? { provisioningState: c.provisioningState } : {}),
          ...(c.redisVersion ? { engineVersion: c.redisVersion } : {}),
          ...(c.disableAccessKeyAuthentication ? { disableAccessKeyAuthentication: true } : {}),
        });
      }
    }
    if (this.matcher.types.includes('redis-enterprise')) {
      const client = this.clients.enterprise(sub);
      const clusters = rg === undefined ? client.redisEnterprise.list(opts) : client.redisEnterprise.listByResourceGroup(rg, opts);
      for await (const cl of clusters) {
        count(budget);
        const clusterRg = resourceGroupOf(cl.id);
        if (!cl.id || !cl.name || !clusterRg) continue;
        for await (const db of client.databases.listByCluster(clusterRg, cl.name, opts)) {
          count(budget);
          if (!db.id || !db.name) continue;
          out.push({
            kind: 'redis-enterprise',
            id: db.id,
            name: cl.name,
            database: db.name,
            location: cl.location,
            tags: cl.tags ?? {},
            ...(cl.hostName ? { hostName: cl.hostName } : {}),
            ...(db.port ? { port: db.port } : {}),
            ...(db.provisioningState ? { provisioningState: db.provisioningState } : {}),
            ...(cl.provisioningState ? { clusterProvisioningState: cl.provisioningState } : {}),
            ...(cl.redisVersion ? { engineVersion: cl.redisVersion } : {}),
            ...(db.clusteringPolicy ? { clusteringPolicy: db.clusteringPolicy } : {}),
            ...(db.clientProtocol ? { clientProtocol: db.clientProtocol } : {}),
          });
        }
      }
    }
    return out;
  }
}

/** createAzureDiscoveries builds one source per matcher, sharing the process's clients for the cloud. */
export async function createAzureDiscoveries(matchers: readonly AzureMatcher[], clients: AzureClients, log: Logger): Promise<DatabaseDiscovery[]> {
  return matchers.map((m) => new AzureRedisDiscovery(clients, m, log));
}
