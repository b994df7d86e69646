/**
 * The committed man pages and completion scripts must match what the commander trees generate
 * today: a new flag without `npm run gen:docs` fails here. Renders from dist/ (`npm test` builds
 * first), the same way scripts/gen-docs.js does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface DocsModule {
  DOC_FILES: string[];
  renderAllDocs(root: string): Promise<Record<string, string>>;
}

// A plain-JS script shared with gen-docs.js; imported by URL because tsconfig does not check JS.
const docs = (await import(pathToFileURL(join(ROOT, 'scripts', 'docs.js')).href)) as DocsModule;

/** The first line where two texts differ, for a failure message that points somewhere. */
function firstDifference(committed: string, expected: string): string {
  const a = committed.split('\n');
  const b = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return `line ${i + 1}: committed ${JSON.stringify(a[i] ?? '<end of file>')}, generated ${JSON.stringify(b[i] ?? '<end of file>')}`;
    }
  }
  return 'no difference';
}

describe('generated docs', () => {
  let expected: Record<string, string> = {};
  beforeAll(async () => {
    expected = await docs.renderAllDocs(ROOT);
  });

  it('covers the man page and three completion scripts of both tools', () => {
    expect(Object.keys(expected).sort()).toEqual([...docs.DOC_FILES].sort());
    expect(docs.DOC_FILES).toHaveLength(8);
  });

  it.each(docs.DOC_FILES)('%s is current', async (rel) => {
    const committed = await readFile(join(ROOT, rel), 'utf8').catch(() => undefined);
    expect(committed, `${rel} is missing: run npm run gen:docs and commit the result`).toBeDefined();
    const want = expected[rel];
    expect(want, `${rel} was not generated`).toBeDefined();
    expect(
      committed === want,
      `${rel} is stale: run npm run gen:docs and commit the result (${firstDifference(committed!, want!)})`,
    ).toBe(true);
  });
});
