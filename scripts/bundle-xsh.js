#!/usr/bin/env node
// Bundle xsh (after tsc) into dist/xsh/ with esbuild: one entry plus lazily loaded chunks per
// command. Measured on this project: `xsh status` 131 ms from ~70 tsc output files vs 101 ms
// bundled (node -e 0: 55 ms), because module resolution and file reads dominate a short run.
// xctl stays on plain tsc output: its start-up time does not matter the same way.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist', 'xsh'), { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'dist', 'cli', 'xsh', 'main.js') },
  outdir: join(root, 'dist', 'xsh'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native or optional modules stay outside the bundle and load from node_modules.
  external: ['better-sqlite3', '@napi-rs/keyring'],
  // commander is CommonJS and calls require(); give the ESM bundle a real one.
  banner: { js: "import { createRequire as __xportRequire } from 'node:module'; const require = __xportRequire(import.meta.url);" },
  logLevel: 'warning',
});
