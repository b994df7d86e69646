/**
 * gen-docs: writes man/{xsh,xctl}.1 and completions/{xsh,xctl}.{bash,zsh,fish} from the commander
 * trees (`npm run gen:docs` builds first). Commit the result: test/unit/docs-current.test.ts fails
 * while the committed files differ from what this writes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAllDocs } from './docs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docs = await renderAllDocs(root);
for (const [rel, content] of Object.entries(docs)) {
  const file = join(root, rel);
  const before = await readFile(file, 'utf8').catch(() => undefined);
  if (before === content) {
    console.log(`unchanged ${rel}`);
    continue;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  console.log(`wrote     ${rel}`);
}
