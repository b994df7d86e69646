/**
 * The import rules of ARCHITECTURE.md §2, checked on every src/**\/*.ts file: layers only import
 * downward, a few named areas never meet, third-party packages stay in the folder that owns them,
 * and only the entry points touch process/console. Import specifiers are found with regular
 * expressions on the source with its comments blanked out. Every rule is data at the top of this
 * file: change the data (with a reason) rather than the checks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// ─── The rules ─────────────────────────────────────────────────────────────────────────────────

/**
 * Areas and their layers. A file belongs to the longest area that prefixes its path under src/
 * (`redis/resp/x.ts` is in `redis/resp/`, `redis/engine.ts` in `redis/`). A file in no area fails
 * the test: give it one here.
 */
const LAYERS: Record<string, number> = {
  'errors.ts': 0,
  'util/': 0,
  'db/': 1,
  'pki/': 1,
  'store/': 1,
  'audit/': 1, // the write-ahead audit log files: writer and tailer, no domain knowledge
  'redis/resp/': 1,
  'mux/': 1, // the tunnel's stream multiplexer: frames, streams, the connection; no domain knowledge
  'auth/': 2,
  'redis/': 2,
  'cloud/': 2, // cloud/provider.ts: the interface both clouds implement
  'cloud/aws/': 2,
  'cloud/azure/': 2,
  'proxy/': 3,
  'tunnel/': 3,
  'client/': 3,
  // The database agent's runtime: it dials the proxy (tunnel protocol, ALPN names), calls the web
  // API with the same client xsh uses, and serves sessions with redis/, db/ and auth/ (RBAC). It
  // sits above those and below service/, which composes it into `xctl start`.
  'agent/': 4,
  'service/': 5,
  'cli/shared/': 6,
  'cli/xsh/': 7,
  'cli/xctl/': 7,
  'index.ts': 8, // the public library API: re-exports from anywhere
};

/** Imports between different areas of one layer, each with its reason. Everything else sideways fails. */
const SIDEWAYS: { from: string; to: string; why: string }[] = [
  { from: 'util/', to: 'errors.ts', why: 'helpers throw XErrors' },
  { from: 'tunnel/', to: 'client/', why: "the local tunnel dials with the client's profile" },
  { from: 'cloud/aws/', to: 'cloud/', why: 'implements the shared CredentialProvider contract' },
  { from: 'cloud/azure/', to: 'cloud/', why: 'implements the shared CredentialProvider contract' },
];

/** Imports that the layers would allow but the design forbids. */
const FORBIDDEN: { from: string; to: string; why: string }[] = [
  { from: 'redis/', to: 'auth/', why: 'redis gets RBAC through the db/ Session contract' },
  { from: 'redis/', to: 'cloud/', why: 'redis gets credentials through the db/ CredentialProvider contract' },
  { from: 'cloud/aws/', to: 'cloud/azure/', why: 'the clouds are independent' },
  { from: 'cloud/azure/', to: 'cloud/aws/', why: 'the clouds are independent' },
  { from: 'client/', to: 'auth/', why: 'xsh must stay light: no server logic in the client' },
  { from: 'client/', to: 'store/', why: 'xsh must stay light: no server storage in the client' },
  { from: 'client/', to: 'service/', why: 'xsh must stay light: no service wiring in the client' },
  { from: 'agent/', to: 'proxy/web-api.ts', why: 'the agent dials the proxy; it never runs proxy server code' },
  { from: 'agent/', to: 'proxy/tunnel-server.ts', why: 'the agent dials the proxy; it never runs proxy server code' },
  { from: 'agent/', to: 'proxy/db-proxy.ts', why: 'the agent dials the proxy; it never runs proxy server code' },
  { from: 'agent/', to: 'tunnel/', why: "the local tunnel is xsh's, not the agent's" },
];

/**
 * Third-party packages and the folders that own them (path prefixes under src/). Packages not
 * listed (yaml, zod) may be used anywhere. `dynamicOnly` packages must be loaded with `import()`
 * so that commands which do not need them start fast; `import type` is erased and allowed.
 */
const PACKAGE_OWNERS: { pkg: RegExp; owners: string[]; dynamicOnly?: boolean }[] = [
  { pkg: /^@aws-sdk\//, owners: ['cloud/aws/'], dynamicOnly: true },
  { pkg: /^@smithy\//, owners: ['cloud/aws/'] },
  { pkg: /^@azure\//, owners: ['cloud/azure/'], dynamicOnly: true },
  { pkg: /^@peculiar\//, owners: ['pki/'] },
  { pkg: /^better-sqlite3$/, owners: ['store/'] },
  { pkg: /^pg$/, owners: ['store/'], dynamicOnly: true },
  { pkg: /^commander$/, owners: ['cli/'] },
  { pkg: /^cli-table3$/, owners: ['cli/'] },
  { pkg: /^ioredis$/, owners: ['redis/'] }, // and test/, which this test does not scan
  { pkg: /^otpauth$/, owners: ['auth/'] },
  { pkg: /^@napi-rs\/keyring$/, owners: ['client/'] },
];

/**
 * The only files that may use `process.*` or `console.*` (or import node:process): everything
 * else receives streams, env and paths from its caller.
 */
const PROCESS_ALLOWED: string[] = [
  'cli/xsh/main.ts',
  'cli/xctl/main.ts',
  'cli/shared/context.ts',
  'service/process.ts',
  'service/start.ts', // the composition root (style-anchors §7): records its pid for `xctl status`
  'store/lock.ts', // process.pid and process.kill(pid, 0) for the data-dir lock
];

// ─── Reading the sources ───────────────────────────────────────────────────────────────────────

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = posix.join(ROOT.replace(/\\/g, '/'), 'src');

interface SourceFile {
  rel: string; // path under src/, e.g. 'redis/resp/decoder.ts'
  text: string;
  code: string; // comments blanked
  bare: string; // comments and the insides of string and template literals blanked
}

interface ImportRef {
  spec: string;
  kind: 'static' | 'type' | 'dynamic';
  line: number;
}

function listTs(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listTs(posix.join(dir, e.name), rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out.sort();
}

/**
 * Blanks comments (and, for `bare`, string contents) with spaces, keeping offsets and line breaks,
 * so the regular expressions below neither match an import in a TSDoc example nor `process.` in
 * a message string. Regex literals are recognised by the token before the slash, which is enough
 * for our sources.
 */
function blank(text: string): { code: string; bare: string } {
  const code = text.split('');
  const bare = text.split('');
  const clear = (arr: string[], from: number, to: number) => {
    for (let k = from; k < to; k++) if (arr[k] !== '\n') arr[k] = ' ';
  };
  const templateDepths: number[] = []; // brace depth at which each open `${` closes
  let depth = 0;
  let prev = ''; // last significant character outside literals
  let i = 0;
  const n = text.length;

  const skipTemplate = (start: number): number => {
    // start is just after a backtick or a closing `}` of an expression; returns the next index to lex
    let k = start;
    while (k < n) {
      if (text[k] === '\\') k += 2;
      else if (text[k] === '`') {
        clear(bare, start, k);
        return k + 1;
      } else if (text[k] === '$' && text[k + 1] === '{') {
        clear(bare, start, k);
        templateDepths.push(depth);
        depth++;
        return k + 2;
      } else k++;
    }
    clear(bare, start, n);
    return n;
  };

  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const to = end < 0 ? n : end;
      clear(code, i, to);
      clear(bare, i, to);
      i = to;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const to = end < 0 ? n : end + 2;
      clear(code, i, to);
      clear(bare, i, to);
      i = to;
    } else if (c === '"' || c === "'") {
      let k = i + 1;
      while (k < n && text[k] !== c && text[k] !== '\n') k += text[k] === '\\' ? 2 : 1;
      clear(bare, i + 1, k);
      i = k + 1;
      prev = 'a';
    } else if (c === '`') {
      i = skipTemplate(i + 1);
      prev = 'a';
    } else if (c === '/' && (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev))) {
      let k = i + 1;
      let inClass = false;
      while (k < n && text[k] !== '\n') {
        if (text[k] === '\\') k++;
        else if (text[k] === '[') inClass = true;
        else if (text[k] === ']') inClass = false;
        else if (text[k] === '/' && !inClass) break;
        k++;
      }
      clear(bare, i + 1, k);
      i = k + 1;
      prev = 'a';
    } else {
      if (c === '{') depth++;
      if (c === '}') {
        depth--;
        if (templateDepths.length > 0 && templateDepths.at(-1) === depth) {
          templateDepths.pop();
          i = skipTemplate(i + 1);
          prev = 'a';
          continue;
        }
      }
      if (!/\s/.test(c)) prev = /[\w$]/.test(c) ? 'a' : c;
      i++;
    }
  }
  return { code: code.join(''), bare: bare.join('') };
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let k = 0; k < index; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

const STATIC_FROM =
  /\b(import|export)\s+(type\s+)?((?:[\w$]+\s*,\s*)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\}|[\w$]+))\s*from\s*(['"])([^'"\n]+)\4/g;
const SIDE_EFFECT = /\bimport\s*(['"])([^'"\n]+)\1/g;
const DYNAMIC = /\bimport\s*\(\s*(['"`])([^'"`\n]+)\1\s*\)/g;

/** importsOf lists the import specifiers of one file: static, type-only, and dynamic `import()`. */
function importsOf(file: SourceFile): ImportRef[] {
  const refs: ImportRef[] = [];
  // The keyword must be code (not inside a string) for the match to count.
  const isCode = (index: number) => file.bare[index] === file.code[index];
  for (const m of file.code.matchAll(STATIC_FROM)) {
    if (!isCode(m.index)) continue;
    refs.push({ spec: m[5]!, kind: m[2] ? 'type' : 'static', line: lineOf(file.text, m.index) });
  }
  for (const m of file.code.matchAll(SIDE_EFFECT)) {
    if (isCode(m.index)) refs.push({ spec: m[2]!, kind: 'static', line: lineOf(file.text, m.index) });
  }
  for (const m of file.code.matchAll(DYNAMIC)) {
    if (isCode(m.index)) refs.push({ spec: m[2]!, kind: 'dynamic', line: lineOf(file.text, m.index) });
  }
  return refs;
}

function areaOf(rel: string): string | undefined {
  let best: string | undefined;
  for (const area of Object.keys(LAYERS)) {
    const hit = area.endsWith('/') ? rel.startsWith(area) : rel === area;
    if (hit && (!best || area.length > best.length)) best = area;
  }
  return best;
}

function within(rel: string, prefix: string): boolean {
  return prefix.endsWith('/') ? rel.startsWith(prefix) : rel === prefix;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const BUILTINS = new Set(builtinModules);
function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(packageName(spec));
}

const FILES: SourceFile[] = listTs(SRC).map((rel) => {
  const text = readFileSync(posix.join(SRC, rel), 'utf8');
  return { rel, text, ...blank(text) };
});

const PKG = JSON.parse(readFileSync(posix.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const RUNTIME_DEPS = new Set([...Object.keys(PKG.dependencies ?? {}), ...Object.keys(PKG.optionalDependencies ?? {})]);

// ─── The checks ────────────────────────────────────────────────────────────────────────────────

type Check = (file: SourceFile, ref: ImportRef) => string | undefined;

/** The src-relative path a relative import points to, or undefined for a package. */
function target(file: SourceFile, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return posix.normalize(posix.join(posix.dirname(file.rel), spec)).replace(/\.js$/, '.ts');
}

const checkLayers: Check = (file, ref) => {
  const to = target(file, ref.spec);
  if (to === undefined) return undefined;
  if (to.startsWith('../')) return `imports '${ref.spec}', which is outside src/`;
  const fromArea = areaOf(file.rel)!;
  const toArea = areaOf(to);
  if (!toArea) return `imports '${ref.spec}' (${to}), which is in no layer: add its area to LAYERS`;
  if (fromArea === toArea || fromArea === 'index.ts') return undefined;
  const [lf, lt] = [LAYERS[fromArea]!, LAYERS[toArea]!];
  if (lt > lf) return `imports '${ref.spec}': ${fromArea} (layer ${lf}) must not import ${toArea} (layer ${lt}); imports go downward only`;
  if (lt === lf && !SIDEWAYS.some((s) => s.from === fromArea && s.to === toArea)) {
    return `imports '${ref.spec}': ${fromArea} and ${toArea} are both layer ${lf}, and this sideways import is not in SIDEWAYS`;
  }
  return undefined;
};

const checkForbidden: Check = (file, ref) => {
  const to = target(file, ref.spec);
  if (to === undefined) return undefined;
  for (const rule of FORBIDDEN) {
    if (!within(file.rel, rule.from) || !within(to, rule.to)) continue;
    return `imports '${ref.spec}': ${rule.from} must not import ${rule.to} (${rule.why})`;
  }
  return undefined;
};

const checkPackages: Check = (file, ref) => {
  if (ref.spec.startsWith('.') || isBuiltin(ref.spec)) return undefined;
  const name = packageName(ref.spec);
  const owner = PACKAGE_OWNERS.find((o) => o.pkg.test(name));
  if (owner && !owner.owners.some((prefix) => file.rel.startsWith(prefix))) {
    return `imports '${ref.spec}', which belongs to ${owner.owners.join(' or ')} only`;
  }
  if (owner?.dynamicOnly && ref.kind === 'static') {
    return `imports '${ref.spec}' statically: load it with await import() so commands that do not need it start fast`;
  }
  // A type-only import is erased; anything else must be installed for users, not just for us.
  if (ref.kind !== 'type' && !RUNTIME_DEPS.has(name)) {
    return `imports '${ref.spec}', but ${name} is not in package.json dependencies or optionalDependencies`;
  }
  return undefined;
};

const checkProcessImport: Check = (file, ref) => {
  if ((ref.spec === 'node:process' || ref.spec === 'process') && !PROCESS_ALLOWED.includes(file.rel)) {
    return `imports '${ref.spec}': only ${PROCESS_ALLOWED.join(', ')} may touch the process`;
  }
  return undefined;
};

function violations(checks: Check[]): string[] {
  const out: string[] = [];
  for (const file of FILES) {
    for (const ref of importsOf(file)) {
      for (const check of checks) {
        const problem = check(file, ref);
        if (problem) out.push(`src/${file.rel}:${ref.line} ${problem}`);
      }
    }
  }
  return out;
}

describe('architecture', () => {
  it('finds the sources and their imports', () => {
    expect(FILES.map((f) => f.rel)).toContain('errors.ts');
    const util = FILES.filter((f) => f.rel.startsWith('util/'));
    expect(util.length).toBeGreaterThan(0);
    expect(FILES.flatMap(importsOf).length).toBeGreaterThan(0);
  });

  it('places every source file in a layer', () => {
    const homeless = FILES.filter((f) => !areaOf(f.rel)).map((f) => `src/${f.rel} is in no layer: add its area to LAYERS`);
    expect(homeless).toEqual([]);
  });

  it('imports only downward, or sideways where SIDEWAYS allows', () => {
    expect(violations([checkLayers])).toEqual([]);
  });

  it('keeps redis away from auth and cloud, the clouds apart, the client light and the agent out of proxy server code', () => {
    expect(violations([checkForbidden])).toEqual([]);
  });

  it('uses third-party packages only in the folders that own them', () => {
    expect(violations([checkPackages])).toEqual([]);
  });

  it('touches process and console only in the entry points', () => {
    const found = violations([checkProcessImport]);
    const USE = /(?<![\w$.])(process|console)\s*\./g;
    for (const file of FILES) {
      if (PROCESS_ALLOWED.includes(file.rel)) continue;
      for (const m of file.bare.matchAll(USE)) {
        found.push(`src/${file.rel}:${lineOf(file.text, m.index)} uses ${m[1]}.: only ${PROCESS_ALLOWED.join(', ')} may touch the process`);
      }
    }
    expect(found).toEqual([]);
  });
});

describe('architecture test helpers', () => {
  const file = (rel: string, text: string): SourceFile => ({ rel, text, ...blank(text) });

  it('extracts static, type-only, re-export, side-effect and dynamic imports', () => {
    const f = file(
      'x/a.ts',
      [
        "import a from 'p1';",
        "import b, { c, type d } from 'p2';",
        "import * as e from 'p3';",
        "import type { F } from 'p4';",
        "export * from './p5.js';",
        "export { g } from './p6.js';",
        "export type { H } from './p7.js';",
        "import './p8.js';",
        "const m = await import('p9');",
        'import {\n  multi,\n  line,\n} from "p10";',
      ].join('\n'),
    );
    expect(importsOf(f).map((r) => `${r.kind}:${r.spec}@${r.line}`).sort()).toEqual(
      [
        'static:p1@1',
        'static:p2@2',
        'static:p3@3',
        'type:p4@4',
        'static:./p5.js@5',
        'static:./p6.js@6',
        'type:./p7.js@7',
        'static:./p8.js@8',
        'dynamic:p9@9',
        'static:p10@10',
      ].sort(),
    );
  });

  it('ignores imports and process uses in comments and strings', () => {
    const f = file(
      'x/a.ts',
      [
        "/** Example: import { Command } from 'commander'; process.exit(1) */",
        "// const x = await import('@aws-sdk/client-sts');",
        "const msg = 'run process.exit or import x from \"y\"';",
        'const t = `console.log ${1 + 1} import z from "w"`;',
        'const re = /\'process\\./;',
        "export const ok = 'done';",
      ].join('\n'),
    );
    expect(importsOf(f)).toEqual([]);
    expect(f.bare).not.toMatch(/process|console/);
    expect(f.bare).toContain('export const ok');
  });

  it('keeps code inside template expressions', () => {
    const f = file('x/a.ts', 'const a = `pid ${process.pid} and ${`${console.x}`}`; const b = 1;');
    expect(f.bare).toContain('process.pid');
    expect(f.bare).toContain('console.x');
    expect(f.bare).toContain('const b = 1;');
  });

  it('assigns files to the longest matching area', () => {
    expect(areaOf('redis/resp/decoder.ts')).toBe('redis/resp/');
    expect(areaOf('redis/engine.ts')).toBe('redis/');
    expect(areaOf('cloud/aws/iam.ts')).toBe('cloud/aws/');
    expect(areaOf('cloud/provider.ts')).toBe('cloud/');
    expect(areaOf('errors.ts')).toBe('errors.ts');
    expect(areaOf('stray.ts')).toBeUndefined();
  });

  it('reports a layer break, a forbidden pair and a misplaced package with file and rule', () => {
    const up = checkLayers(file('db/spec.ts', ''), { spec: '../auth/rbac.js', kind: 'static', line: 3 });
    expect(up).toContain('db/ (layer 1) must not import auth/ (layer 2)');
    const sideways = checkLayers(file('proxy/x.ts', ''), { spec: '../tunnel/local-tunnel.js', kind: 'static', line: 1 });
    expect(sideways).toContain('not in SIDEWAYS');
    const agentUp = checkLayers(file('agent/x.ts', ''), { spec: '../service/start.js', kind: 'static', line: 1 });
    expect(agentUp).toContain('agent/ (layer 4) must not import service/ (layer 5)');
    const serverCode = checkForbidden(file('agent/x.ts', ''), { spec: '../proxy/web-api.js', kind: 'static', line: 1 });
    expect(serverCode).toContain('agent/ must not import proxy/web-api.ts');
    expect(checkLayers(file('service/x.ts', ''), { spec: '../proxy/listener.js', kind: 'static', line: 1 })).toBeUndefined();
    const forbidden = checkForbidden(file('redis/engine.ts', ''), { spec: '../auth/rbac.js', kind: 'static', line: 1 });
    expect(forbidden).toContain('redis/ must not import auth/');
    const sdk = checkPackages(file('cloud/aws/iam.ts', ''), { spec: '@aws-sdk/client-sts', kind: 'static', line: 1 });
    expect(sdk).toContain('statically: load it with await import()');
    const misplaced = checkPackages(file('auth/x.ts', ''), { spec: 'commander', kind: 'static', line: 1 });
    expect(misplaced).toContain('belongs to cli/ only');
  });
});
