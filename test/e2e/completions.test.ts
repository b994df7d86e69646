/**
 * The generated completion scripts run in the real shells: each test writes the script for a
 * small program to a temp file, sources it in bash, zsh or fish, and asks for completions.
 * zsh and fish are optional on a developer machine; their tests skip, saying so, when missing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCompletion, type CompletionShell } from '../../src/cli/shared/docgen.js';

function demoProgram(): Command {
  const program = new Command('demo').version('1.0.0').option('--debug', 'print debug output');
  program.command('login').description('log in').option('--proxy <addr>', 'proxy address').option('--ttl [duration]', 'lifetime');
  const db = program.command('db').alias('database').description('database commands');
  db.command('ls').description('list databases').addOption(new Option('-f, --format <fmt>', 'output format').choices(['text', 'json', 'yaml']));
  db.command('connect').description('connect to a database').argument('<name>').option('--db-user <user>', 'database user');
  program.command('internal', { hidden: true });
  const mode = program.command('mode').argument('<speed>', 'how fast');
  mode.registeredArguments[0]!.choices(['fast', 'slow']);
  return program;
}

const dir = mkdtempSync(join(tmpdir(), 'xport-completions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scriptFile(shell: CompletionShell): string {
  const file = join(dir, `demo.${shell}`);
  writeFileSync(file, renderCompletion(demoProgram(), shell, 'demo'));
  return file;
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function run(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', cwd: dir, timeout: 20_000 });
  expect(res.stderr, `${cmd} wrote to stderr`).toBe('');
  expect(res.status).toBe(0);
  return res.stdout;
}

describe('bash completion', () => {
  const file = scriptFile('bash');

  /** Completes the last word of words (an array literal body) and returns COMPREPLY sorted. */
  function complete(words: string): string[] {
    const out = run('bash', [
      '--norc',
      '-c',
      `source ${JSON.stringify(file)}; COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); ` +
        '_demo_completions; printf "%s\\n" "${COMPREPLY[@]}"',
    ]);
    return out.split('\n').filter((w) => w !== '').sort();
  }

  it('completes subcommands at every depth, through aliases and global flags', () => {
    expect(complete('demo ""')).toEqual(['database', 'db', 'login', 'mode']);
    expect(complete('demo db ""')).toEqual(['connect', 'ls']);
    expect(complete('demo database l')).toEqual(['ls']);
    expect(complete('demo --debug db c')).toEqual(['connect']);
  });

  it("completes the current command's flags, its parents' included", () => {
    expect(complete('demo db ls --')).toEqual(['--debug', '--format', '--help', '--version']);
    expect(complete('demo login --p')).toEqual(['--proxy']);
  });

  it('completes declared choices after a flag, also in the --flag=value form', () => {
    expect(complete('demo db ls --format ""')).toEqual(['json', 'text', 'yaml']);
    expect(complete('demo db ls -f j')).toEqual(['json']);
    expect(complete('demo db ls --format = t')).toEqual(['text']);
    expect(complete('demo mode ""')).toEqual(['fast', 'slow']);
  });

  it('offers nothing of its own for a free-form value, leaving files to -o default', () => {
    expect(complete('demo login --proxy ""')).toEqual([]);
    expect(complete('demo db connect --db-user ""')).toEqual([]);
    expect(complete('demo login --ttl db ""')).toEqual([]); // --ttl took "db" as its value
  });
});

/** A shell the CI run must have: missing there is a failure, not a skip (.ci/run installs it). */
function shell(name: string): boolean {
  const ok = has(name);
  if (!ok && process.env.CI) throw new Error(`${name} is missing in CI: .ci/run must install it`);
  return ok;
}
const ZSH = shell('zsh');
const FISH = shell('fish');

describe('zsh completion', () => {
  it.skipIf(!ZSH)(`walks the tree in real zsh${ZSH ? '' : ' (skipped: zsh is not installed)'}`, () => {
    const file = scriptFile('zsh');
    // Outside a completion widget the completion builtins do nothing; stand-ins print what the
    // script asked for, so the walk and the choice of candidates run in real zsh.
    const complete = (words: string) =>
      run('zsh', [
        '-f',
        '-c',
        'compdef() { :; }; compset() { :; }; _files() { print -r -- "<files>"; }; ' +
          '_describe() { local e; for e in "${(@P)${@[-1]}}"; do print -r -- "${e%%:*}"; done; }; ' +
          'compadd() { [[ $1 == -a ]] && print -rl -- "${(@P)2}"; }; ' +
          `source ${JSON.stringify(file)}; words=(${words}); CURRENT=\${#words}; _demo`,
      ])
        .split('\n')
        .filter((w) => w !== '')
        .sort();
    expect(complete('demo ""')).toEqual(['database', 'db', 'login', 'mode']);
    expect(complete('demo db ""')).toEqual(['connect', 'ls']);
    expect(complete('demo --debug database ls --')).toEqual(['--debug', '--format', '--help', '--version', '-V', '-f', '-h']);
    expect(complete('demo db ls --format ""')).toEqual(['json', 'text', 'yaml']);
    expect(complete('demo db ls --format=j')).toEqual(['json', 'text', 'yaml']);
    expect(complete('demo mode ""')).toEqual(['fast', 'slow']);
    expect(complete('demo login --proxy ""')).toEqual(['<files>']);
    expect(complete('demo db connect ""')).toEqual(['<files>']);
    expect(complete('demo db ls ""')).toEqual([]); // no operands: no file names
  });
});

describe('fish completion', () => {
  it.skipIf(!FISH)(`completes with complete -C in real fish${FISH ? '' : ' (skipped: fish is not installed)'}`, () => {
    const file = scriptFile('fish');
    const complete = (line: string) =>
      run('fish', ['--no-config', '-c', `source ${JSON.stringify(file)}; complete -C ${JSON.stringify(line)}`])
        .split('\n')
        .filter((w) => w !== '')
        .map((w) => w.split('\t')[0]!)
        .sort();
    expect(complete('demo ')).toEqual(['database', 'db', 'login', 'mode']);
    expect(complete('demo db ')).toEqual(['connect', 'ls']);
    expect(complete('demo --debug database l')).toEqual(['ls']);
    expect(complete('demo db ls --format ')).toEqual(['json', 'text', 'yaml']);
    expect(complete('demo db ls --format=')).toEqual(['--format=json', '--format=text', '--format=yaml']);
    expect(complete('demo mode ')).toEqual(['fast', 'slow']);
    expect(complete('demo login --')).toEqual(['--debug', '--help', '--proxy', '--ttl', '--version']);
    expect(complete('demo db ls ')).toEqual([]); // no operands: no file names
    expect(complete('demo db connect ').length).toBeGreaterThan(0); // <name> may be anything: files offered
  });
});
