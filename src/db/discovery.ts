/**
 * db/discovery: the contract for finding databases in a cloud account (ElastiCache, MemoryDB,
 * Azure Cache for Redis, …). Each source answers with the databases it sees now; the agent polls
 * the sources and serves what they found, so a vanished resource disappears on the next round.
 * Implementations live in cloud/aws and cloud/azure.
 */
import type { DatabaseSpec } from './database.js';

/** DatabaseDiscovery is one source of discovered databases (one matcher, one region or subscription). */
export interface DatabaseDiscovery {
  /** name identifies the source in logs, e.g. `aws elasticache us-east-1`. */
  readonly name: string;
  /** discover lists the databases the source sees now. A rejection leaves the previous answer in place. */
  discover(signal: AbortSignal): Promise<DatabaseSpec[]>;
}
