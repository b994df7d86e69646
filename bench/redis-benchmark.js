// bench/redis-benchmark: run redis-benchmark with --csv against one target and parse its rows.
// A target says how to reach Redis: plain (host/port), TLS (port + the bench client certificate)
// and optionally an ACL user and password (--user/-a), so every path authenticates the same way.
// Must not import from test/ or src/.

/** parseCsv turns redis-benchmark --csv output into rows keyed by test name (SET, GET, …). */
export function parseCsv(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.startsWith('"'));
  if (lines.length < 2) throw new Error(`redis-benchmark printed no CSV rows:\n${text}`);
  const cells = (l) => [...l.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  const header = cells(lines[0]);
  const rows = {};
  for (const l of lines.slice(1)) {
    const c = cells(l);
    const row = {};
    header.forEach((h, i) => {
      row[h] = h === 'test' ? c[i] : Number(c[i]);
    });
    rows[row.test] = row;
  }
  return rows;
}

/** targetArgs are the connection flags for a target. */
export function targetArgs(t) {
  const a = ['-h', '127.0.0.1', '-p', String(t.port)];
  if (t.tls) a.push('--tls', '--cert', t.tls.cert, '--key', t.tls.key, '--cacert', t.tls.ca);
  if (t.user) a.push('--user', t.user, '-a', t.password);
  return a;
}

/**
 * runRedisBenchmark runs one redis-benchmark and returns its parsed rows plus wall time.
 * args are the load flags (-t, -c, -n, -P, …). Throws when it fails or reports errors.
 */
export async function runRedisBenchmark(group, target, args, timeoutMs = 300_000) {
  const full = [...targetArgs(target), '--csv', ...args];
  const r = await group.run('redis-benchmark', full, { timeoutMs });
  // redis-benchmark exits 0 even when every request failed; an error line or no rows means failure.
  if (r.code !== 0 || /error|Error|ERR/.test(r.stderr.replace(/WARNING.*\n?/g, ''))) {
    throw new Error(`redis-benchmark ${full.join(' ').replace(/-a \S+/, '-a ***')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  }
  return { rows: parseCsv(r.stdout), ms: r.ms };
}

/**
 * combinedOps is the throughput of a SET+GET run as total operations over total time (the
 * harmonic mean of the two rates, since both tests send the same number of requests).
 */
export function combinedOps(rows, tests = ['SET', 'GET']) {
  let inv = 0;
  for (const t of tests) {
    const r = rows[t];
    if (!r || !(r.rps > 0)) throw new Error(`redis-benchmark row ${t} missing or zero`);
    inv += 1 / r.rps;
  }
  return tests.length / inv;
}
