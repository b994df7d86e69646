/**
 * redis/cluster/rules: what the agent does with each command when the database is a Redis
 * Cluster presented as one Redis — as data, so the README is generated from (and checked
 * against) the same table the relay routes by.
 *
 * Commands not listed here are routed by their keys: every key in one slot → the master
 * serving it; keys in several slots → `-CROSSSLOT Keys in request don't hash to the same slot`
 * (as Redis answers); no keys → the master serving slot 0 (the "default node").
 *
 * Pure: no imports.
 */

/** ClusterHandling is how a command is served in cluster mode. */
export type ClusterHandling =
  /** Sent to every master; the replies are merged by {@link ClusterCommandRule.merge}. */
  | 'fan-out'
  /** Keys grouped by slot, one command per slot, pipelined per node, replies merged. */
  | 'split-by-slot'
  /** Answered by the agent itself. */
  | 'local'
  /** Sent to the default node first; after it succeeds, to every other node connection of the session and replayed on new ones. */
  | 'every-connection'
  /** Routed to the master serving the slot given as an argument. */
  | 'slot-argument'
  /** Served with one cluster-wide cursor over every master. */
  | 'scan'
  /** A random master; another one when it has no keys. */
  | 'random-master'
  /** Transactions: on the master of the transaction's slot. */
  | 'transaction'
  /** Pub/sub on dedicated node connections. */
  | 'pubsub'
  /** Keyless, served by the master serving slot 0. */
  | 'default-node'
  /** Refused with `-ERR xport: command not supported in cluster mode: <name>`. */
  | 'unsupported';

/** ClusterMerge is how a fan-out or split command's replies become one. */
export type ClusterMerge =
  /** Integers added up. */
  | 'sum'
  /** Arrays concatenated in shard order. */
  | 'concat'
  /** The first error, else the first node's reply. */
  | 'all-ok'
  /** The first success, else the first error. */
  | 'any-ok'
  /** 0/1 arrays ANDed element by element. */
  | 'all-true'
  /** The smallest integer. */
  | 'min'
  /** Array elements put back in the client's key order. */
  | 'key-order'
  /** INFO aggregation (see info.ts). */
  | 'info';

/** ClusterCommandRule is one command's handling in cluster mode. */
export interface ClusterCommandRule {
  /** Lower-case name; subcommands as `container|sub`. */
  command: string;
  handling: ClusterHandling;
  merge?: ClusterMerge;
  /** One line for the README. */
  description: string;
}

const rule = (command: string, handling: ClusterHandling, description: string, merge?: ClusterMerge): ClusterCommandRule =>
  merge === undefined ? { command, handling, description } : { command, handling, merge, description };

const unsupported = (command: string, description: string): ClusterCommandRule => rule(command, 'unsupported', description);

const TOPOLOGY_CHANGE = 'changes the cluster topology; run it on the nodes directly';
const TOPOLOGY_VIEW = 'would reveal the real nodes; the agent presents the cluster as one node';

/** CLUSTER_COMMAND_RULES lists every command with a handling of its own in cluster mode. */
export const CLUSTER_COMMAND_RULES: readonly ClusterCommandRule[] = Object.freeze([
  // Fan-out to every master.
  rule('dbsize', 'fan-out', 'number of keys in the whole cluster', 'sum'),
  rule('keys', 'fan-out', 'keys of every master, shard by shard', 'concat'),
  rule('flushdb', 'fan-out', 'every master; the first error, else OK', 'all-ok'),
  rule('flushall', 'fan-out', 'every master; the first error, else OK', 'all-ok'),
  rule('script|load', 'fan-out', 'loaded on every master; the sha', 'all-ok'),
  rule('script|flush', 'fan-out', 'every master (ASYNC/SYNC passed on)', 'all-ok'),
  rule('script|exists', 'fan-out', '1 only where every master has the script', 'all-true'),
  rule('script|kill', 'fan-out', 'every master; OK if one was running a script, else NOTBUSY', 'any-ok'),
  rule('function|load', 'fan-out', 'loaded on every master', 'all-ok'),
  rule('function|delete', 'fan-out', 'every master', 'all-ok'),
  rule('function|flush', 'fan-out', 'every master', 'all-ok'),
  rule('function|restore', 'fan-out', 'every master', 'all-ok'),
  rule('function|kill', 'fan-out', 'every master; OK if one was running a function', 'any-ok'),
  rule('save', 'fan-out', 'every master', 'all-ok'),
  rule('bgsave', 'fan-out', 'every master', 'all-ok'),
  rule('bgrewriteaof', 'fan-out', 'every master', 'all-ok'),
  rule('info', 'fan-out', 'the slot-0 master\'s INFO with keyspace, clients, memory and traffic counters summed; cluster hidden', 'info'),
  rule('wait', 'fan-out', "every node connection the session has open; the smallest replica count", 'min'),
  // Split by slot.
  rule('mget', 'split-by-slot', 'one MGET per slot, values returned in the client\'s key order', 'key-order'),
  rule('mset', 'split-by-slot', 'one MSET per slot; OK when all succeed (not atomic across slots)', 'all-ok'),
  rule('del', 'split-by-slot', 'one DEL per slot; counts summed', 'sum'),
  rule('unlink', 'split-by-slot', 'one UNLINK per slot; counts summed', 'sum'),
  rule('exists', 'split-by-slot', 'one EXISTS per slot; counts summed', 'sum'),
  rule('touch', 'split-by-slot', 'one TOUCH per slot; counts summed', 'sum'),
  // Cluster-wide iteration.
  rule('scan', 'scan', 'every master in turn behind one cursor (shard index in the low 10 bits); MATCH/COUNT/TYPE passed on'),
  rule('randomkey', 'random-master', 'a random master; another one while the answer is nil'),
  // Answered locally.
  rule('ping', 'local', 'answered by the agent'),
  rule('echo', 'local', 'answered by the agent'),
  rule('quit', 'local', 'answered by the agent, then the session ends'),
  rule('reset', 'local', 'answered by the agent: node connections are closed and reopened as new'),
  rule('select', 'local', 'SELECT 0 only (a cluster has one database); other numbers are not supported'),
  rule('client|reply', 'local', 'kept by the agent: replies Redis would not send are not sent'),
  rule('cluster|keyslot', 'local', 'computed by the agent'),
  rule('cluster|info', 'local', 'a single virtual node; cluster_state is the real cluster\'s'),
  rule('cluster|slots', 'local', 'a single virtual node at an unknown address ("?", port 0) owning 0-16383'),
  rule('cluster|shards', 'local', 'a single virtual node at an unknown address ("?", port 0) owning 0-16383'),
  rule('cluster|nodes', 'local', 'a single virtual node at an unknown address owning 0-16383'),
  rule('cluster|myid', 'local', 'the virtual node\'s id'),
  rule('cluster|myshardid', 'local', 'the virtual node\'s id'),
  // Connection state.
  rule('auth', 'every-connection', 'checked against the routed db user, then applied to every node connection'),
  rule('hello', 'every-connection', 'protocol (RESP2/RESP3), AUTH and SETNAME applied to every node connection'),
  rule('client|setname', 'every-connection', 'applied to every node connection'),
  rule('client|no-evict', 'every-connection', 'applied to every node connection'),
  rule('client|no-touch', 'every-connection', 'applied to every node connection'),
  // Routed by an argument.
  rule('cluster|countkeysinslot', 'slot-argument', 'the master serving that slot'),
  rule('cluster|getkeysinslot', 'slot-argument', 'the master serving that slot'),
  // Transactions.
  rule('multi', 'transaction', 'queued on the master of the first key\'s slot; all keys must share that slot (else CROSSSLOT, EXECABORT)'),
  rule('exec', 'transaction', 'on the transaction\'s master'),
  rule('discard', 'transaction', 'on the transaction\'s master'),
  rule('watch', 'transaction', 'pins the transaction to the watched keys\' slot'),
  rule('unwatch', 'transaction', 'on the transaction\'s master'),
  // Pub/sub.
  rule('subscribe', 'pubsub', 'one dedicated connection to the default node (the cluster bus carries every PUBLISH there)'),
  rule('psubscribe', 'pubsub', 'the same dedicated connection'),
  rule('unsubscribe', 'pubsub', 'the same dedicated connection'),
  rule('punsubscribe', 'pubsub', 'the same dedicated connection'),
  rule('ssubscribe', 'pubsub', 'a dedicated connection to the shard serving the channel\'s slot'),
  rule('sunsubscribe', 'pubsub', 'the shard connections holding the channels'),
  rule('publish', 'default-node', 'the default node; the cluster bus delivers it everywhere'),
  rule('pubsub|channels', 'default-node', 'the default node\'s view'),
  rule('pubsub|numsub', 'default-node', 'the default node\'s view'),
  rule('pubsub|numpat', 'default-node', 'the default node\'s view'),
  rule('client|list', 'default-node', 'the agent\'s connections to the default node'),
  rule('client|info', 'default-node', 'the agent\'s connection to the default node'),
  rule('config|get', 'default-node', 'the default node\'s configuration'),
  // Not supported.
  ...['addslots', 'addslotsrange', 'bumpepoch', 'delslots', 'delslotsrange', 'failover', 'flushslots', 'forget', 'meet', 'replicate', 'reset', 'saveconfig', 'set-config-epoch', 'setslot'].map(
    (s) => unsupported(`cluster|${s}`, TOPOLOGY_CHANGE),
  ),
  ...['count-failure-reports', 'links', 'replicas', 'slaves'].map((s) => unsupported(`cluster|${s}`, TOPOLOGY_VIEW)),
  unsupported('migrate', TOPOLOGY_CHANGE),
  unsupported('replicaof', TOPOLOGY_CHANGE),
  unsupported('slaveof', TOPOLOGY_CHANGE),
  unsupported('failover', TOPOLOGY_CHANGE),
  unsupported('readonly', 'the agent always reads from masters'),
  unsupported('readwrite', 'the agent always reads from masters'),
  unsupported('asking', 'redirects are followed by the agent'),
  unsupported('role', TOPOLOGY_VIEW),
  unsupported('monitor', 'would watch one node only'),
  unsupported('debug', 'node diagnostics; run it on the nodes directly'),
  unsupported('shutdown', 'would stop one node'),
  unsupported('swapdb', 'a cluster has one database'),
  unsupported('move', 'a cluster has one database'),
  unsupported('sync', 'replication protocol'),
  unsupported('psync', 'replication protocol'),
  unsupported('replconf', 'replication protocol'),
  unsupported('waitaof', 'would wait on one node connection only'),
  unsupported('client|kill', 'would act on one node only'),
  unsupported('client|pause', 'would pause one node only'),
  unsupported('client|unpause', 'would unpause one node only'),
  unsupported('client|tracking', 'client-side caching across several node connections is not supported'),
  unsupported('client|caching', 'client-side caching across several node connections is not supported'),
  unsupported('client|getredir', 'client-side caching across several node connections is not supported'),
  unsupported('client|trackinginfo', 'client-side caching across several node connections is not supported'),
  unsupported('config|set', 'would change one node only; configure the nodes directly'),
  unsupported('config|rewrite', 'would change one node only'),
  unsupported('config|resetstat', 'would change one node only'),
  unsupported('acl|setuser', 'ACL changes are not propagated between cluster nodes; change every node directly'),
  unsupported('acl|deluser', 'ACL changes are not propagated between cluster nodes'),
  unsupported('acl|load', 'would act on one node only'),
  unsupported('acl|save', 'would act on one node only'),
  unsupported('module|load', 'would load on one node only'),
  unsupported('module|loadex', 'would load on one node only'),
  unsupported('module|unload', 'would unload on one node only'),
  unsupported('script|debug', 'the Lua debugger needs one node connection'),
]);

const BY_NAME: ReadonlyMap<string, ClusterCommandRule> = new Map(CLUSTER_COMMAND_RULES.map((r) => [r.command, r]));
const UNKNOWN_CLUSTER_SUBCOMMAND: ClusterCommandRule = Object.freeze(
  unsupported('cluster|*', 'any other CLUSTER subcommand: the agent presents the cluster as one node'),
);

/**
 * clusterRule returns a command's rule by resolved name (`get`, `cluster|info`), or undefined
 * for a command routed by its keys. Every CLUSTER subcommand not listed is unsupported.
 */
export function clusterRule(name: string): ClusterCommandRule | undefined {
  const r = BY_NAME.get(name);
  if (r !== undefined) return r;
  const bar = name.indexOf('|');
  const base = bar < 0 ? name : name.slice(0, bar);
  if (base === 'cluster') return UNKNOWN_CLUSTER_SUBCOMMAND;
  // A refused container (DEBUG) refuses every subcommand.
  const container = bar < 0 ? undefined : BY_NAME.get(base);
  return container?.handling === 'unsupported' ? container : undefined;
}

/**
 * refusedName is the name an unsupported-command error shows: the rule's command (`debug` for
 * `DEBUG SLEEP 0`), or the resolved name for an unlisted CLUSTER subcommand.
 */
export function refusedName(rule: ClusterCommandRule, resolved: string): string {
  return rule.command.endsWith('*') ? resolved : rule.command;
}

/** UNSUPPORTED_IN_CLUSTER lists the commands refused in cluster mode (plus any unlisted CLUSTER subcommand). */
export const UNSUPPORTED_IN_CLUSTER: readonly string[] = Object.freeze(
  CLUSTER_COMMAND_RULES.filter((r) => r.handling === 'unsupported').map((r) => r.command),
);

/** commandLabel renders `cluster|info` as `CLUSTER INFO` for documentation. */
export function commandLabel(name: string): string {
  return name.split('|').join(' ').toUpperCase();
}

/**
 * clusterRulesMarkdown renders the rules as the README's "Redis Cluster" tables: what is
 * handled specially, and what is refused.
 */
export function clusterRulesMarkdown(): string {
  const handled = CLUSTER_COMMAND_RULES.filter((r) => r.handling !== 'unsupported');
  const refused = [...CLUSTER_COMMAND_RULES.filter((r) => r.handling === 'unsupported'), UNKNOWN_CLUSTER_SUBCOMMAND];
  const lines = ['| Command | Handling | Merge | Notes |', '|---|---|---|---|'];
  for (const r of handled) lines.push(`| \`${commandLabel(r.command)}\` | ${r.handling} | ${r.merge ?? ''} | ${r.description} |`);
  lines.push('', '| Refused command | Why |', '|---|---|');
  for (const r of refused) lines.push(`| \`${commandLabel(r.command)}\` | ${r.description} |`);
  return lines.join('\n') + '\n';
}
