// bench/findings: a short, data-driven "Findings" section for RESULTS.md. Each sentence is written
// only when this run's figures support it (a missed target, a profile share above a threshold), so
// the section follows the code: once a cause is fixed and its share drops, its sentence goes away.

/** pct formats a share. */
const pct = (x) => `${Math.round(x)} %`;

/** share returns a category's share of a profile's busy time (0 when absent). */
function share(profile, category) {
  return profile?.byCategory.find((c) => c.category === category)?.pct ?? 0;
}

/** findingsSection returns Markdown, or '' when there is nothing to say. */
export function findingsSection(rows, profiles = []) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const prof = (proc, phase) => profiles.find((p) => p.proc === proc && p.phase === phase);
  const out = [];
  const missed = (id) => byId.get(id)?.target && !byId.get(id).target.met;

  const c50 = byId.get('access.c50.xport');
  const p16 = byId.get('access.p16.xport');
  if (missed('access.c50.xport') || missed('access.p16.xport')) {
    const x = prof('xctl', 'unpipelined');
    const t = prof('tunnel', 'unpipelined');
    const busy = (p) => (p ? (100 * p.busyMs) / Math.max(1, p.totalMs) : NaN);
    out.push(
      `* **Throughput.** The full path reaches ${c50?.target?.value ?? '?'} at \`-c 50\` and ${p16?.target?.value ?? '?'} at \`-P 16\`.` +
        (x && t ? ` \`xctl start\` sets the pace: it was busy ${pct(busy(x))} of the unpipelined run against the tunnel's ${pct(busy(t))}.` : ''),
    );
  }
  const c50n = byId.get('access.c50.nodepair');
  const p16n = byId.get('access.p16.nodepair');
  if (c50 && p16 && c50n && p16n) {
    out.push(
      `* **Against Node's own floor.** Two Node processes that only pipe bytes over the same mutual TLS (the Node pipe pair) reach ` +
        `${Math.round(c50n.median).toLocaleString('en-US')} ops/s at \`-c 50\` and ${Math.round(p16n.median).toLocaleString('en-US')} at \`-P 16\`; ` +
        `xport, which also parses, checks and audits every command, reaches ${(c50.median / c50n.median).toFixed(2)}× and ${(p16.median / p16n.median).toFixed(2)}× of that. ` +
        'What separates the Node pair from HAProxy is the cost of a TLS write or read in Node, which every relay written in Node pays.',
    );
  }
  const pip = prof('xctl', 'pipelined');
  const idx = prof('xctl-index', 'pipelined');
  if (pip) {
    const wal = share(pip, 'audit: write-ahead log (serialise, write, read back)');
    const audit = share(pip, 'audit: SQLite writes') + share(pip, 'audit: building events') + wal;
    if (audit >= 15) {
      out.push(
        `* **Pipelined, auditing every command is the largest share of the event loop.** Building one \`db.session.query\` event per command, ` +
          `serialising it and writing it to the log takes ${pct(audit)} of \`xctl start\`'s busy time (building ${pct(share(pip, 'audit: building events'))}, ` +
          `the JSON lines and their write ${pct(wal)}, SQLite on the event loop ${pct(share(pip, 'audit: SQLite writes'))}), plus garbage collection ` +
          `${pct(share(pip, 'garbage collection'))}; socket writes take ${pct(share(pip, 'socket writes (incl. TLS encryption)'))}.`,
      );
    }
    if (idx) {
      out.push(
        `* **The audit index has its own thread.** Under \`-P 16\` the index worker was busy ${pct((100 * idx.busyMs) / Math.max(1, idx.totalMs))} of the time ` +
          `(SQLite ${pct(share(idx, 'audit: SQLite writes'))} of it), off the event loop that relays the commands; on this 2-core machine it still ` +
          'competes with Redis, the load generator and the tunnel for CPU.',
      );
    }
  }
  const unp = prof('xctl', 'unpipelined');
  if (unp && share(unp, 'socket writes (incl. TLS encryption)') >= 30) {
    out.push(
      `* **Unpipelined, socket writes dominate.** ${pct(share(unp, 'socket writes (incl. TLS encryption)'))} of \`xctl start\`'s busy time is in ` +
        '`writeBuffer` (a socket write, including its TLS encryption): fewer TLS hops and fewer, larger writes per request are the lever.',
    );
  }
  for (const [proc, name] of [
    ['tunnel', 'the tunnel'],
    ['xctl', '`xctl start`'],
  ]) {
    const ses = prof(proc, 'sessions');
    const setup = share(ses, 'TLS set-up (contexts, handshakes, peer certificates)');
    if (!ses || setup < 20) continue;
    // Context construction lives in these files; its share growing with sessions means one per connection.
    const ctx = ses.byFile.filter((f) => /tls\/secure-context|_tls_common/.test(f.file)).reduce((a, f) => a + f.pct, 0);
    out.push(
      `* **New sessions are expensive in ${name}.** With 500 sessions, ${pct(setup)} of its busy time is TLS set-up` +
        (ctx >= 10 ? `, ${pct(ctx)} of it building \`SecureContext\`s (\`setKey\`, \`configSecureContext\`) — a context per connection rather than one per certificate` : '') +
        `. Idle sessions open at ${Math.round(byId.get('memory.session.open-rate')?.median ?? NaN)}/s through the tunnel.`,
    );
  }
  const mem = byId.get('memory.session.agent');
  const floor = byId.get('memory.floor.tls');
  if (mem && floor && missed('memory.session.agent')) {
    const clientKiB = Number(/client side ([\d.]+) KiB/.exec(floor.note ?? '')?.[1] ?? NaN);
    out.push(
      `* **Memory per session is the TLS floor.** \`xctl start\` holds ${mem.median.toFixed(0)} KiB per idle session; one idle mutual-TLS ` +
        `connection costs bare Node ${floor.median.toFixed(0)} KiB (server side) and ${clientKiB.toFixed(0)} KiB (client side), and each session ` +
        'holds one of each in that process (from the tunnel, to Redis). 20 KiB per session is below the cost of a single Node TLS connection, ' +
        'so that target needs fewer TLS connections per session, not leaner JavaScript.',
    );
  }
  const lat = byId.get('access.c1.xport.added-p50');
  if (lat && missed('access.c1.xport.added-p50')) {
    const p99 = /p99 ([\d.]+) ms/.exec(byId.get('access.c1.xport.p50')?.note ?? '')?.[1];
    out.push(
      `* **Latency.** xport adds ${lat.target.value} at p50 (${lat.note ?? ''}); its p99 at \`-c 1\` is ${p99 ?? '?'} ms, ` +
        'see the profiles for what holds the event loop.',
    );
  }
  if (out.length === 0) return '';
  return ['## Findings', '', 'Written from this run\'s figures (each line appears only when the data shows it):', '', ...out].join('\n');
}
