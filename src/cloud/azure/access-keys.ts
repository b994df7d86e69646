/**
 * cloud/azure/access-keys: the access key of a cache (`listKeys` on a Microsoft.Cache/Redis cache,
 * on the database of a Redis Enterprise / Managed Redis cluster), primary else secondary, as
 * Teleport does. Keys are cached per cache; a WRONGPASS from Redis (a rotated key) makes the
 * engine call {@link AccessKeys.invalidate}, and the next session fetches the new key.
 */
import { badParameter } from '../../errors.js';
import type { CacheRef } from './arm-id.js';
import { armError } from './errors.js';
import type { AzureClients } from './sdk.js';

/** LIST_KEYS_ACTIONS are the Azure RBAC actions listKeys needs, by cache kind. */
export const LIST_KEYS_ACTIONS = {
  redis: 'Microsoft.Cache/redis/listKeys/action',
  'redis-enterprise': 'Microsoft.Cache/redisEnterprise/databases/listKeys/action',
} as const;

/** AccessKeys fetches and caches access keys. */
export class AccessKeys {
  readonly #cache = new Map<string, Promise<string>>();

  constructor(private readonly clients: AzureClients) {}

  /** key returns the cache's access key; `label` names the database in errors. */
  key(ref: CacheRef, label: string): Promise<string> {
    const id = refKey(ref);
    let p = this.#cache.get(id);
    if (p === undefined) {
      p = this.#fetch(ref, label);
      this.#cache.set(id, p);
      // A failure is not cached: a permission granted a minute later must work on the next try.
      p.catch(() => this.#cache.get(id) === p && this.#cache.delete(id));
    }
    return p;
  }

  /** invalidate forgets the cached key of ref. */
  invalidate(ref: CacheRef): void {
    this.#cache.delete(refKey(ref));
  }

  async #fetch(ref: CacheRef, label: string): Promise<string> {
    const what = `failed to get the access key of Azure Redis "${label}"`;
    let keys: { primaryKey?: string; secondaryKey?: string };
    try {
      keys =
        ref.kind === 'redis'
          ? await this.clients.redis(ref.subscription).redis.listKeys(ref.resourceGroup, ref.name)
          : await this.clients.enterprise(ref.subscription).databases.listKeys(ref.resourceGroup, ref.cluster, ref.database);
    } catch (err) {
      throw armError(err, what, LIST_KEYS_ACTIONS[ref.kind]);
    }
    const key = keys.primaryKey || keys.secondaryKey;
    if (!key) {
      throw badParameter(`${what}: the cache has neither a primary nor a secondary key`, {
        hint: 'Make sure either the primary key or the secondary key is generated (Azure portal: Authentication → Access keys), or use azure.auth: entra_id.',
      });
    }
    return key;
  }
}

function refKey(ref: CacheRef): string {
  return ref.kind === 'redis'
    ? `redis|${ref.subscription}|${ref.resourceGroup}|${ref.name}`.toLowerCase()
    : `enterprise|${ref.subscription}|${ref.resourceGroup}|${ref.cluster}|${ref.database}`.toLowerCase();
}
