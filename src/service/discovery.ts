/**
 * service/discovery: runs the agent's discovery sources on an interval and keeps what each one
 * found last. A source that fails keeps its previous answer (one region's or subscription's error
 * is logged, the rest are still served); a resource that vanishes from a successful answer
 * disappears. Names that collide across sources keep the first source's database, with a warning.
 */
import type { DatabaseSpec } from '../db/database.js';
import type { DatabaseDiscovery } from '../db/discovery.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../util/log.js';
import type { ServiceConfig } from './config.js';

/** DiscoveryLoop is a running set of sources. */
export interface DiscoveryLoop {
  /** databases returns what the sources found at their last successful round. */
  databases(): DatabaseSpec[];
  /** refresh runs every source once now and resolves when all have answered. */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * createDiscoveries builds the sources the config's matchers ask for. Cloud modules are imported
 * only when a matcher names their cloud.
 */
export async function createDiscoveries(config: ServiceConfig, log: Logger, env: Readonly<Record<string, string | undefined>> = {}): Promise<DatabaseDiscovery[]> {
  const sources: DatabaseDiscovery[] = [];
  if (config.db.aws.length > 0) {
    const [{ createAwsDiscoveries }, { AwsSession }] = await Promise.all([import('../cloud/aws/discovery.js'), import('../cloud/aws/session.js')]);
    sources.push(...createAwsDiscoveries(config.db.aws, log.child('aws'), new AwsSession({ defaultRegion: env.AWS_REGION })));
  }
  if (config.db.azure.length > 0) {
    const [{ azureClientsFor }, { createAzureDiscoveries }] = await Promise.all([import('../cloud/azure/sdk.js'), import('../cloud/azure/discovery.js')]);
    sources.push(...(await createAzureDiscoveries(config.db.azure, await azureClientsFor(config.db.azureCloud), log.child('azure'))));
  }
  return sources;
}

/** startDiscovery runs sources now and then every intervalMs. */
export function startDiscovery(sources: readonly DatabaseDiscovery[], o: { intervalMs: number; log: Logger }): DiscoveryLoop {
  const found = new Map<DatabaseDiscovery, DatabaseSpec[]>();
  const ac = new AbortController();
  let merged: DatabaseSpec[] = [];
  const merge = () => {
    const byName = new Map<string, DatabaseSpec>();
    for (const s of sources) {
      for (const d of found.get(s) ?? []) {
        const seen = byName.get(d.name);
        if (seen) {
          if (seen.uri !== d.uri) o.log.warn('two discovered databases share a name; keeping the first', { name: d.name, source: s.name });
          continue;
        }
        byName.set(d.name, d);
      }
    }
    merged = [...byName.values()];
  };
  const round = async (s: DatabaseDiscovery) => {
    try {
      const dbs = await s.discover(ac.signal);
      found.set(s, dbs);
    } catch (err) {
      if (!ac.signal.aborted) o.log.warn('discovery failed; keeping what this source found before', { source: s.name, err: messageOf(err) });
    }
  };
  const refresh = async () => {
    await Promise.all(sources.map(round));
    merge();
  };
  const timer = sources.length ? setInterval(() => void refresh(), o.intervalMs) : undefined;
  timer?.unref();
  return {
    databases: () => merged,
    refresh,
    stop() {
      if (timer) clearInterval(timer);
      ac.abort();
    },
  };
}
