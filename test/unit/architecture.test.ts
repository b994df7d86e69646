/**
 * The import rules of ARCHITECTURE.md §2, checked on every src/**\/*.ts file: layers only import
 * downward, no import cycle anywhere (inside a folder included, type-only and dynamic imports
 * counted), a few named areas never meet, third-party packages stay in the folder that owns them,
 * and only the entry points touch process/console. Import specifiers are found with regular
 * expressions on the source with its comments blanked out. Every rule is data at the top of this
 * file: change the data (with a reason) rather than the checks. Every file and folder the data
 * names must exist, so a rule cannot outlive the code it was written for.
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
  if (fromArea === toArea) return undefined;
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

/** An import edge between two source files. */
interface Edge {
  to: string;
  ref: ImportRef;
}

/**
 * importGraph maps each file to the source files it imports, with every kind of import: a
 * type-only import still ties two modules together (one cannot change or move without the
 * other), and a dynamic import() is a dependency that is merely loaded later.
 */
function importGraph(files: SourceFile[]): Map<string, Edge[]> {
  const known = new Set(files.map((f) => f.rel));
  const graph = new Map<string, Edge[]>();
  for (const file of files) {
    const edges: Edge[] = [];
    for (const ref of importsOf(file)) {
      const to = target(file, ref.spec);
      if (to !== undefined && known.has(to)) edges.push({ to, ref });
    }
    graph.set(file.rel, edges);
  }
  return graph;
}

/**
 * importCycles finds the strongly connected components of the graph (Tarjan) and describes each
 * one that is a cycle as one concrete loop through it, e.g.
 * `cli/xsh/program.ts:40 → cli/xsh/login.ts:12 (type) → cli/xsh/program.ts`, plus the other
 * files caught in the same knot.
 */
function importCycles(graph: Map<string, Edge[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(v, Math.min(low.get(v)!, index.get(to)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    const selfImport = (graph.get(v) ?? []).some((e) => e.to === v);
    if (component.length > 1 || selfImport) components.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  return components.map((component) => {
    // One loop: breadth-first from the first file back to itself, staying inside the component.
    const members = new Set(component);
    const start = component[0]!;
    const via = new Map<string, { from: string; edge: Edge }>();
    const queue = [start];
    let closing: { from: string; edge: Edge } | undefined;
    while (queue.length > 0 && !closing) {
      const v = queue.shift()!;
      for (const edge of graph.get(v) ?? []) {
        if (!members.has(edge.to)) continue;
        if (edge.to === start) {
          closing = { from: v, edge };
          break;
        }
        if (!via.has(edge.to)) {
          via.set(edge.to, { from: v, edge });
          queue.push(edge.to);
        }
      }
    }
    const steps: { from: string; edge: Edge }[] = [closing!];
    for (let v = closing!.from; v !== start; v = via.get(v)!.from) steps.unshift(via.get(v)!);
    const loop = steps.map((s) => `src/${s.from}:${s.edge.ref.line}${s.edge.ref.kind === 'static' ? '' : ` (${s.edge.ref.kind})`}`);
    const onLoop = new Set(steps.map((s) => s.from));
    const others = component.filter((f) => !onLoop.has(f));
    const rest = others.length > 0 ? `; the same cycle also holds ${others.map((f) => `src/${f}`).join(', ')}` : '';
    return `import cycle: ${loop.join(' → ')} → src/${start}${rest}`;
  });
}

/**
 * missingPaths lists the entries of the rule tables above that name no existing source: a file
 * entry (`service/start.ts`) must be a file, a folder entry (`proxy/`) must hold at least one.
 */
function missingPaths(files: SourceFile[]): string[] {
  const named: { path: string; where: string }[] = [
    ...Object.keys(LAYERS).map((path) => ({ path, where: 'LAYERS' })),
    ...SIDEWAYS.flatMap((r) => [r.from, r.to].map((path) => ({ path, where: 'SIDEWAYS' }))),
    ...FORBIDDEN.flatMap((r) => [r.from, r.to].map((path) => ({ path, where: 'FORBIDDEN' }))),
    ...PACKAGE_OWNERS.flatMap((o) => o.owners.map((path) => ({ path, where: `PACKAGE_OWNERS (${o.pkg.source})` }))),
    ...PROCESS_ALLOWED.map((path) => ({ path, where: 'PROCESS_ALLOWED' })),
  ];
  const rels = files.map((f) => f.rel);
  return named
    .filter(({ path }) => !rels.some((rel) => within(rel, path)))
    .map(({ path, where }) => `${where} names src/${path}, which ${path.endsWith('/') ? 'holds no .ts file' : 'does not exist'}`);
}

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

  it('has no import cycle, inside a folder or across folders, type-only and dynamic imports included', () => {
    expect(importCycles(importGraph(FILES))).toEqual([]);
  });

  it('names only files and folders that exist in its rule tables', () => {
    expect(missingPaths(FILES)).toEqual([]);
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

  it('finds a cycle of type-only and dynamic imports inside a folder and shows one loop through it', () => {
    const files = [
      file('cli/x/program.ts', "const run = await import('./login.js');\nexport interface Globals { a?: string }"),
      file('cli/x/login.ts', "import type { Globals } from './program.js';\nimport { helper } from './helper.js';"),
      file('cli/x/helper.ts', "export const helper = 1;"),
      file('cli/x/globals.ts', 'export interface Globals { a?: string }'),
      file('cli/x/status.ts', "import type { Globals } from './globals.js';"),
    ];
    expect(importCycles(importGraph(files))).toEqual([
      'import cycle: src/cli/x/login.ts:1 (type) → src/cli/x/program.ts:1 (dynamic) → src/cli/x/login.ts',
    ]);
    // The cure used for cli/xsh: the shared type moves to a module both sides import.
    const fixed = [files[1]!, files[2]!, files[3]!, files[4]!].map((f) => (f.rel === 'cli/x/login.ts' ? file(f.rel, "import type { Globals } from './globals.js';") : f));
    expect(importCycles(importGraph([file('cli/x/program.ts', "const run = await import('./login.js');"), ...fixed]))).toEqual([]);
  });

  it('finds a cycle across folders and a file that imports itself', () => {
    const files = [
      file('a/one.ts', "import { two } from '../b/two.js';"),
      file('b/two.ts', "import { three } from './three.js';"),
      file('b/three.ts', "export { one } from '../a/one.js';"),
      file('c/self.ts', "import type { X } from './self.js';"),
    ];
    expect(importCycles(importGraph(files))).toEqual([
      'import cycle: src/a/one.ts:1 → src/b/two.ts:1 → src/b/three.ts:1 → src/a/one.ts',
      'import cycle: src/c/self.ts:1 (type) → src/c/self.ts',
    ]);
  });

  it('reports rule-table entries that name a missing file or an empty folder', () => {
    const tree = [file('errors.ts', ''), file('util/log.ts', '')];
    const missing = missingPaths(tree);
    expect(missing).toContain('PROCESS_ALLOWED names src/service/start.ts, which does not exist');
    expect(missing).toContain('LAYERS names src/proxy/, which holds no .ts file');
    expect(missing).not.toContain('LAYERS names src/util/, which holds no .ts file');
    expect(missing.some((m) => m.includes('src/errors.ts'))).toBe(false);
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
