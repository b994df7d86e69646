// bench/cpu-profile: summarise a V8 .cpuprofile (written by `node --cpu-prof`) as the functions
// with the most self time, and self time grouped by source file. Also usable by hand:
//   node bench/cpu-profile.js FILE.cpuprofile [top]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** shortUrl trims a file URL to the part a reader needs (dist/…, node:…, node_modules/…). */
function shortUrl(url) {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const i = u.search(/\/(dist|node_modules|bench)\//);
  return i >= 0 ? u.slice(i + 1) : u;
}

/**
 * CATEGORIES group self time into what a reader can act on; the first match wins. Names are
 * V8's (native bindings show as their C++ method name, e.g. writeBuffer = a socket write, which
 * for a TLS socket includes the encryption).
 */
const CATEGORIES = [
  ['socket writes (incl. TLS encryption)', (name, url) => !url && /^(writeBuffer|writev|writeUtf8String|writeLatin1String)$/.test(name)],
  ['garbage collection', (name) => name === '(garbage collector)'],
  ['audit: SQLite writes', (name, url) => /better-sqlite3|store\/sqlite\.js/.test(url)],
  [
    'audit: building events',
    (name, url) => /auth\/audit\.js|redis\/audit-format\.js|redis\/audit-event\.js|agent\/auth\.js|store\/event-sequence\.js|store\/event-id\.js/.test(url) || (/agent\/agent\.js/.test(url) && name === 'emit'),
  ],
  ['audit: write-ahead log (serialise, write, read back)', (name, url) => /audit\/file-log\.js|audit\/tail\.js|auth\/audit-index/.test(url) || (!url && name === 'writeString')],
  [
    'TLS set-up (contexts, handshakes, peer certificates)',
    (name, url) => /tls\/secure-context|_tls_common|crypto\/sig|crypto\/keys/.test(url) || /^(TLSSocket\.getPeerCertificate|TLSSocket\._start|onConnectSecure|SecureContext|verifyOneShot)$/.test(name),
  ],
  ['RESP engine, RBAC (dist/redis, dist/auth/rbac)', (name, url) => /dist\/redis\/|auth\/rbac\.js/.test(url)],
  ['proxy, mux, tunnel (dist/proxy, dist/mux, dist/tunnel, dist/agent/tunnel)', (name, url) => /dist\/proxy\/|dist\/mux\/|dist\/tunnel\/|dist\/agent\/tunnel\.js/.test(url)],
  ['Node streams, sockets, buffers (JS side)', (name, url) => /^node:(internal\/streams|net|_tls_wrap|internal\/stream_base_commons|events|buffer|internal\/buffer)/.test(url)],
];

/** categoryOf names the category of a call frame. */
function categoryOf(name, url) {
  for (const [label, test] of CATEGORIES) if (test(name, url ?? '')) return label;
  return 'other';
}

/**
 * summariseProfile returns { totalMs, idleMs, gcMs, top: [{ name, where, selfMs, pct }], byFile }
 * where pct is the share of busy (non-idle) time.
 */
export function summariseProfile(path, top = 15) {
  const p = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const files = new Map();
  const cats = new Map();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, ms] of self) {
    const cf = byId.get(id).callFrame;
    total += ms;
    if (cf.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    if (cf.functionName === '(garbage collector)') gc += ms;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}\u0000${where}`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
    const file = cf.url ? shortUrl(cf.url) : cf.functionName || '(native)';
    files.set(file, (files.get(file) ?? 0) + ms);
    const cat = categoryOf(cf.functionName, cf.url);
    cats.set(cat, (cats.get(cat) ?? 0) + ms);
  }
  const busy = total - idle;
  const pct = (ms) => (busy > 0 ? (100 * ms) / busy : 0);
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total,
    idleMs: idle,
    busyMs: busy,
    gcMs: gc,
    top: sorted(fns)
      .slice(0, top)
      .map(([k, ms]) => {
        const [name, where] = k.split('\u0000');
        return { name, where, selfMs: Math.round(ms), pct: Math.round(pct(ms) * 10) / 10 };
      }),
    byFile: sorted(files)
      .slice(0, top)
      .map(([file, ms]) => ({ file, selfMs: Math.round(ms), pct: Math.round(pct(ms) * 10) / 10 })),
    byCategory: sorted(cats).map(([category, ms]) => ({ category, selfMs: Math.round(ms), pct: Math.round(pct(ms) * 10) / 10 })),
  };
}

/** profileSection renders summaries ({ label, summary }) as Markdown: categories first, then details. */
export function profileSection(intro, profiles) {
  const out = ['## CPU profiles during the load', '', intro, ''];
  out.push('### Where the busy time went', '', 'Share of each process\'s busy (non-idle) CPU time, by category (first match wins; see bench/cpu-profile.js):', '');
  for (const { label, summary: s } of profiles) {
    out.push(`* ${label} — busy ${(100 * s.busyMs / Math.max(1, s.totalMs)).toFixed(0)} % of the time: ` + s.byCategory.slice(0, 5).map((c) => `${c.category} **${c.pct.toFixed(0)} %**`).join(', '));
  }
  out.push('');
  for (const { label, summary: s } of profiles) {
    out.push(
      `### ${label}`,
      '',
      `Busy ${(s.busyMs / 1000).toFixed(1)} s of ${(s.totalMs / 1000).toFixed(1)} s sampled (idle ${((100 * s.idleMs) / s.totalMs).toFixed(0)} %), GC ${((100 * s.gcMs) / Math.max(1, s.busyMs)).toFixed(1)} % of busy time.`,
      '',
      '| Self time | % of busy | Function | Where |',
      '|---|---|---|---|',
      ...s.top.map((f) => `| ${f.selfMs} ms | ${f.pct} % | \`${f.name}\` | ${f.where ? `\`${f.where}\`` : '(native/V8)'} |`),
      '',
      'By file: ' + s.byFile.slice(0, 8).map((f) => `\`${f.file}\` ${f.pct} %`).join(', '),
      '',
    );
  }
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = summariseProfile(process.argv[2], Number(process.argv[3] ?? 25));
  console.log(profileSection(`Profile ${process.argv[2]}`, [{ label: process.argv[2], summary: s }]));
}
