// bench/scenario-startup: wall time of short xsh commands against `node -e 0` (hyperfine, no
// shell, warm-up runs first), with the fixture's logged-in XSH_HOME:
//   xsh --version   answered before commander loads (target ≤ 1.5× node -e 0)
//   xsh status      reads only local files
//   xsh db ls       one HTTPS round trip to the proxy (target ≤ 150 ms median)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** shellWord quotes one argument for hyperfine's whitespace splitting (-N). */
const shellWord = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * runHyperfine benchmarks argv lists with hyperfine -N and returns its per-command results
 * ({ command, median, min, max, mean, times, exit_codes } in seconds). Failed runs do not stop
 * hyperfine (-i); each result gets `failures`, the number of runs that exited non-zero.
 */
export async function runHyperfine(group, fx, commands, { runs, warmup }) {
  const out = join(fx.work, `hyperfine-${Date.now()}.json`);
  const args = ['-N', '-i', '--style', 'basic', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, ...commands.map((c) => c.map(shellWord).join(' '))];
  const r = await group.run('hyperfine', args, { env: fx.env, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`hyperfine failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  const results = JSON.parse(readFileSync(out, 'utf8')).results;
  for (const res of results) res.failures = (res.exit_codes ?? []).filter((c) => c !== 0).length;
  return results;
}

/** runStartup measures the start-up scenarios and returns report rows. */
export async function runStartup({ group, fx, quick, log }) {
  const node = process.execPath;
  const xsh = fx.bin('xsh');
  const commands = [
    { id: 'node', label: '`node -e 0`', argv: [node, '-e', '0'] },
    { id: 'xsh-version', label: '`xsh --version`', argv: [node, xsh, '--version'] },
    { id: 'xsh-status', label: '`xsh status` (local files only)', argv: [node, xsh, 'status'] },
    { id: 'xsh-db-ls', label: '`xsh db ls` (one HTTPS call to the proxy)', argv: [node, xsh, 'db', 'ls'] },
  ];
  // One checked run first: hyperfine only says "non-zero exit code", this shows the error.
  await fx.xsh(['db', 'ls']);
  log('startup: hyperfine …');
  const res = await runHyperfine(
    group,
    fx,
    commands.map((c) => c.argv),
    { runs: quick ? 10 : 40, warmup: 3 },
  );
  const ms = (x) => x * 1000;
  const base = ms(res[0].median);
  const rows = commands.map((c, i) => {
    const h = res[i];
    const row = {
      id: `startup.${c.id}`,
      scenario: `${c.label} wall time`,
      unit: 'ms',
      lowerIsBetter: true,
      median: ms(h.median),
      min: ms(h.min),
      max: ms(h.max),
      runs: h.times.map((t) => Math.round(t * 1e5) / 100),
    };
    if (i > 0) row.baseline = { id: 'startup.node', label: 'node -e 0', ratio: ms(h.median) / base };
    if (c.id === 'xsh-version') {
      const ratio = ms(h.median) / base;
      row.target = { text: '≤ 1.5× node -e 0', value: `${ratio.toFixed(2)}×`, met: ratio <= 1.5 };
    }
    if (c.id === 'xsh-db-ls') row.target = { text: '≤ 150 ms median', value: `${ms(h.median).toFixed(0)} ms`, met: ms(h.median) <= 150 };
    if (h.failures > 0) {
      row.note = `${h.failures} of ${h.times.length} runs exited non-zero`;
      if (row.target) row.target.met = false;
    }
    return row;
  });
  // A failed run is a finding in itself: capture what it printed.
  for (const [i, c] of commands.entries()) {
    if (res[i].failures === 0) continue;
    const r = await group.run(c.argv[0], c.argv.slice(1), { env: fx.env });
    log(`startup: ${c.id} failed ${res[i].failures} time(s); a rerun exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
    rows[i].failureOutput = (r.stderr || r.stdout).trim().slice(0, 2000);
  }
  log(`startup: ${rows.map((r) => `${r.id} ${r.median.toFixed(1)} ms`).join(', ')}`);
  return { rows, raw: res };
}
