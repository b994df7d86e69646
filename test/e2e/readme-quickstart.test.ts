/**
 * docs e2e: README items of issue 11 that are about the text itself — step 4 (CI identity files)
 * runs as written against a real `xctl start`, links stay inside the repository, and the man
 * pages carry ENVIRONMENT and EXIT STATUS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ROOT, runProcess, startXport, tmpDir, type XportService } from '../helpers/cli.js';

async function readme(): Promise<string> {
  return readFile(join(ROOT, 'README.md'), 'utf8');
}

/** section returns the README text under a heading, up to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}"`);
  const level = heading.match(/^#+/)![0].length;
  const rest = text.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return next < 0 ? rest : rest.slice(0, next);
}

describe('README quick start', () => {
  let svc: XportService;
  let work: string;
  beforeAll(async () => {
    svc = await startXport();
    work = await tmpDir('xport-readme-qs-');
  });
  afterAll(async () => {
    await svc?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('step 4 runs as written: ci-bot is created before its identity file is signed and used', async () => {
    const block = [...section(await readme(), '### 4. CI jobs: identity files').matchAll(/^```sh\n([\s\S]*?)^```$/gm)][0]![1]!;
    expect(block.indexOf('users add ci-bot')).toBeGreaterThanOrEqual(0);
    expect(block.indexOf('users add ci-bot')).toBeLessThan(block.indexOf('--user=ci-bot'));
    // The README's host name becomes this service; xctl finds it through XCTL_CONFIG (as -c would).
    const cfg = join(work, 'xport.yaml');
    await writeFile(cfg, `version: v1\ndata_dir: ${svc.dataDir}\n`);
    const bin = join(work, '.bin');
    await mkdir(bin);
    for (const tool of ['xctl', 'xsh']) {
      await writeFile(join(bin, tool), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', `${tool}.js`)}" "$@"\n`);
      await chmod(join(bin, tool), 0o755);
    }
    const script = `cd '${work}'\n${block.replaceAll('xport.example.com:3080', svc.addr)}`;
    const r = await runProcess('bash', ['-e', '-o', 'pipefail', '-c', script], {
      env: { PATH: `${bin}:${process.env.PATH}`, XCTL_CONFIG: cfg, XSH_HOME: join(work, 'xsh') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Logged in as:       ci-bot');
    expect((await stat(join(work, 'ci.pem'))).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('links only to files inside the repository', async () => {
    const text = await readme();
    const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      const target = resolve(ROOT, l);
      expect(target.startsWith(ROOT + '/'), `${l} points outside the repository`).toBe(true);
      await expect(stat(target), `${l} does not exist`).resolves.toBeDefined();
    }
  });

  it('the man pages have ENVIRONMENT and EXIT STATUS sections that match the README', async () => {
    const exit = section(await readme(), '## Exit codes');
    for (const tool of ['xsh', 'xctl']) {
      const man = await readFile(join(ROOT, 'man', `${tool}.1`), 'utf8');
      expect(man).toContain('.SH ENVIRONMENT');
      expect(man).toContain('.SH EXIT STATUS');
      for (const code of ['0', '1', '2', '4', '130']) {
        expect(exit).toMatch(new RegExp(`(^|· )${code}\\b`, 'm'));
        expect(man).toContain(`.B ${code}\n`);
      }
    }
    const xsh = await readFile(join(ROOT, 'man', 'xsh.1'), 'utf8');
    for (const v of ['XSH_HOME', 'XSH_PROXY', 'XSH_IDENTITY', 'XSH_KEY_STORAGE']) expect(xsh).toContain(`.B ${v}\n`);
    const manXsh = await runProcess('man', ['-l', join(ROOT, 'man', 'xsh.1')], { env: { MANPAGER: 'cat', PAGER: 'cat', COLUMNS: '100' } });
    expect(manXsh.stdout).toMatch(/EXIT STATUS\n\s+0\s+Success\./);
  });
});
