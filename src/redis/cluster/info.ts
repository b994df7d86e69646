/**
 * redis/cluster/info: INFO for a whole cluster presented as one Redis. Every master answers the
 * client's INFO; the text of the master serving slot 0 is the base, and:
 *
 *  - the fields in {@link INFO_SUMMED_FIELDS} are replaced by their sum over all masters (with
 *    `used_memory_human` and `used_memory_rss_human` recomputed);
 *  - the `# Keyspace` section is summed per database (`keys`, `expires`; `avg_ttl` weighted by
 *    `expires`);
 *  - the cluster is hidden: `redis_mode:cluster` becomes `standalone`, `cluster_enabled:1`
 *    becomes `0`, and the `slaveN:` lines (replica addresses) are dropped (`connected_slaves:0`);
 *  - one node's own whereabouts are hidden, as the virtual node has none: `tcp_port:0` (the port
 *    CLUSTER SLOTS reports), empty `config_file` and `executable`, no `listenerN:` lines (7.2+);
 *  - everything else (server version, uptime, config, CPU…) is the slot-0 master's own.
 *
 * Pure: no imports.
 */

/** INFO_SUMMED_FIELDS are the INFO fields summed over all masters. */
export const INFO_SUMMED_FIELDS: readonly string[] = Object.freeze([
  'connected_clients',
  'blocked_clients',
  'used_memory',
  'used_memory_rss',
  'used_memory_dataset',
  'total_connections_received',
  'total_commands_processed',
  'instantaneous_ops_per_sec',
  'total_net_input_bytes',
  'total_net_output_bytes',
  'expired_keys',
  'evicted_keys',
  'keyspace_hits',
  'keyspace_misses',
  'total_error_replies',
]);

const SUMMED = new Set(INFO_SUMMED_FIELDS);
/**
 * NODE_LOCAL are fields that would tell where one node runs (its port, files), with what the
 * virtual node reports instead; replicas are hidden, so none is connected.
 */
const NODE_LOCAL: Record<string, string> = { tcp_port: '0', config_file: '', executable: '', connected_slaves: '0' };
/** Human-readable companions recomputed from their summed field. */
const HUMAN: Record<string, string> = { used_memory_human: 'used_memory', used_memory_rss_human: 'used_memory_rss' };

/** bytesToHuman formats bytes like Redis's INFO does (`943.75K`, `6.43M`, `512B`). */
export function bytesToHuman(n: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  if (n < 1024) return `${n}B`;
  let v = n / 1024;
  for (const u of units) {
    if (v < 1024 || u === 'P') return `${v.toFixed(2)}${u}`;
    v /= 1024;
  }
  return `${n}B`;
}

interface KeyspaceLine {
  keys: number;
  expires: number;
  ttlWeighted: number;
}

/** fieldsOf reads `key:value` lines of an INFO text. */
function fieldsOf(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) m.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return m;
}

function keyspaceOf(fields: Map<string, string>, into: Map<string, KeyspaceLine>): void {
  for (const [k, v] of fields) {
    if (!/^db\d+$/.test(k)) continue;
    const kv = new Map(v.split(',').map((p) => p.split('=') as [string, string]));
    const keys = Number(kv.get('keys') ?? 0);
    const expires = Number(kv.get('expires') ?? 0);
    const ttl = Number(kv.get('avg_ttl') ?? 0);
    const acc = into.get(k) ?? { keys: 0, expires: 0, ttlWeighted: 0 };
    acc.keys += keys;
    acc.expires += expires;
    acc.ttlWeighted += ttl * expires;
    into.set(k, acc);
  }
}

function keyspaceText(db: string, k: KeyspaceLine): string {
  const avg = k.expires > 0 ? Math.round(k.ttlWeighted / k.expires) : 0;
  return `${db}:keys=${k.keys},expires=${k.expires},avg_ttl=${avg}`;
}

/**
 * aggregateInfo merges the INFO texts of all masters; texts[0] is the slot-0 master's and gives
 * the layout. Fields that are not numbers on some node keep the base's value.
 */
export function aggregateInfo(texts: readonly string[]): string {
  const all = texts.map(fieldsOf);
  const sums = new Map<string, number>();
  for (const name of SUMMED) {
    let total = 0;
    let ok = true;
    for (const f of all) {
      const v = f.get(name);
      if (v === undefined) continue;
      const n = Number(v);
      if (!Number.isFinite(n)) ok = false;
      else total += n;
    }
    if (ok) sums.set(name, total);
  }
  const keyspace = new Map<string, KeyspaceLine>();
  for (const f of all) keyspaceOf(f, keyspace);
  const dbs = [...keyspace.keys()].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));

  const out: string[] = [];
  let inKeyspace = false;
  let keyspaceWritten = false;
  const writeKeyspace = () => {
    if (keyspaceWritten) return;
    keyspaceWritten = true;
    for (const db of dbs) out.push(keyspaceText(db, keyspace.get(db)!));
  };
  const base = texts[0] ?? '';
  const lines = base.split('\r\n');
  // A trailing CRLF leaves an empty last element; keep it so the text ends as the node's did.
  for (const line of lines) {
    if (line.startsWith('#')) {
      if (inKeyspace) writeKeyspace();
      inKeyspace = line.trim() === '# Keyspace';
      out.push(line);
      continue;
    }
    if (inKeyspace && /^db\d+:/.test(line)) continue;
    if (inKeyspace && line === '') {
      writeKeyspace();
      inKeyspace = false;
      out.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      out.push(line);
      continue;
    }
    const key = line.slice(0, colon);
    if (/^slave\d+$/.test(key) || /^listener\d+$/.test(key)) continue;
    if (NODE_LOCAL[key] !== undefined) {
      out.push(`${key}:${NODE_LOCAL[key]}`);
      continue;
    }
    if (key === 'redis_mode' && line.slice(colon + 1) === 'cluster') {
      out.push('redis_mode:standalone');
    } else if (key === 'cluster_enabled') {
      out.push('cluster_enabled:0');
    } else if (sums.has(key)) {
      out.push(`${key}:${sums.get(key)!}`);
    } else if (HUMAN[key] !== undefined && sums.has(HUMAN[key]!)) {
      out.push(`${key}:${bytesToHuman(sums.get(HUMAN[key]!)!)}`);
    } else {
      out.push(line);
    }
  }
  if (inKeyspace) writeKeyspace();
  return out.join('\r\n');
}

/**
 * infoText reads the text out of an INFO reply: a bulk string (`$`), or in RESP3 a verbatim
 * string (`=`, with its `txt:` prefix removed). Undefined for anything else.
 */
export function infoText(raw: Buffer): string | undefined {
  const t = raw[0];
  if (t !== 0x24 && t !== 0x3d) return undefined;
  const eol = raw.indexOf(0x0d);
  const len = Number(raw.toString('latin1', 1, eol));
  if (!Number.isSafeInteger(len) || len < 0) return undefined;
  const body = raw.toString('utf8', eol + 2, eol + 2 + len);
  return t === 0x3d ? body.slice(4) : body;
}

/** infoReply encodes INFO text the way the base node sent it: a bulk string, or a RESP3 verbatim string. */
export function infoReply(text: string, verbatim: boolean): Buffer {
  const body = Buffer.from(verbatim ? `txt:${text}` : text, 'utf8');
  return Buffer.concat([Buffer.from(`${verbatim ? '=' : '$'}${body.length}\r\n`), body, Buffer.from('\r\n')]);
}
