import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../../../src/cli/shared/context.js';
import { parseDbSecretSet, readSecretStdin } from '../../../../src/cli/xctl/db-secret.js';

function withStdin(chunks: (string | Buffer)[]): CliContext {
  const stdin = new PassThrough();
  for (const c of chunks) stdin.write(c);
  stdin.end();
  return { io: { stdin, stdout: new PassThrough(), stderr: new PassThrough(), isTTY: false } } as unknown as CliContext;
}

describe('xctl db secret set', () => {
  it('needs --password-stdin, so a value never sits on the command line', () => {
    expect(() => parseDbSecretSet('cache-admin', {})).toThrow(/reads the value from standard input: add --password-stdin/);
  });

  it('lets agents of the databases given with --db read it, by default the database named like the secret', () => {
    expect(parseDbSecretSet('cache', { passwordStdin: true })).toEqual({ name: 'cache', databases: ['cache'] });
    expect(parseDbSecretSet('redis-admin', { passwordStdin: true, db: ['cache', 'sessions', 'cache'] })).toEqual({ name: 'redis-admin', databases: ['cache', 'sessions'] });
  });

  it('reads the value from standard input without its final newline, keeping inner spaces', async () => {
    expect(await readSecretStdin(withStdin(['pa ss', 'word\n']))).toBe('pa ssword');
    expect(await readSecretStdin(withStdin(['pw\r\n']))).toBe('pw');
  });

  it('refuses empty and oversized input without echoing it', async () => {
    await expect(readSecretStdin(withStdin(['\n']))).rejects.toThrow(/standard input was empty/);
    const big = 'x'.repeat(9000);
    const err = await readSecretStdin(withStdin([big])).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/longer than 8192 bytes/);
    expect((err as Error).message).not.toContain('xxxx');
  });
});
