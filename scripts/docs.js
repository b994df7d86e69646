/**
 * docs: renders the man pages and shell completion scripts of xsh and xctl from their commander
 * trees. Shared by scripts/gen-docs.js, which writes the files, and test/unit/docs-current.test.ts,
 * which checks that the committed files are current. Reads the compiled tree from dist/, so run
 * `npm run build` first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** SHELLS are the shells a completion script is written for. */
export const SHELLS = ['bash', 'zsh', 'fish'];

/**
 * TOOLS lists each program: its builder in dist/, and the other pages its man page points to.
 * buildXsh/buildXctl only read their context when an action runs, so an empty one is enough here.
 */
export const TOOLS = [
  { name: 'xsh', module: 'dist/cli/xsh/program.js', build: 'buildXsh', seeAlso: ['xctl(1)', 'redis-cli(1)'] },
  { name: 'xctl', module: 'dist/cli/xctl/program.js', build: 'buildXctl', seeAlso: ['xsh(1)'] },
];

/** DOC_FILES are the generated files, relative to the repository root. */
export const DOC_FILES = TOOLS.flatMap((t) => [`man/${t.name}.1`, ...SHELLS.map((s) => `completions/${t.name}.${s}`)]);

async function importFromRoot(root, relPath) {
  try {
    return await import(pathToFileURL(join(root, relPath)).href);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`${relPath} is missing: run npm run build first`, { cause: err });
    }
    throw err;
  }
}

/**
 * renderAllDocs returns `{ 'man/xsh.1': text, 'completions/xsh.bash': text, ... }` for the
 * repository at root, with the version from its package.json. The output depends only on the
 * command trees and that version: no dates, no paths of this machine.
 */
export async function renderAllDocs(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const { renderMan, renderCompletion } = await importFromRoot(root, 'dist/cli/shared/docgen.js');
  const out = {};
  for (const tool of TOOLS) {
    const mod = await importFromRoot(root, tool.module);
    const build = () => mod[tool.build]({});
    out[`man/${tool.name}.1`] = renderMan(build(), { name: tool.name, version: pkg.version, seeAlso: tool.seeAlso });
    for (const shell of SHELLS) {
      out[`completions/${tool.name}.${shell}`] = renderCompletion(build(), shell, tool.name);
    }
  }
  return out;
}
