import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { examplesOf, renderCompletion, renderMan, setExamples } from '../../../../src/cli/shared/docgen.js';

/** A small program shaped like xsh: nested commands, a choice option, examples, a hidden command. */
function demoProgram(): Command {
  const program = new Command('demo')
    .description('Demo client for the docgen tests.\n\nSecond paragraph.')
    .version('1.2.3')
    .option('-d, --debug', 'print debug output');
  program.command('login').description('log in to a proxy').option('--proxy <addr>', 'proxy address', '127.0.0.1:3080');
  const db = program.command('db').alias('database').description('database commands');
  db.command('ls')
    .description('list databases')
    .addOption(new Option('-f, --format <fmt>', 'output format').choices(['text', 'json', 'yaml']).default('text'));
  setExamples(
    db.command('connect').description('connect to a database').argument('<name>', 'database name'),
    '  $ demo db connect cache\n  $ demo db connect --db-user=alice cache',
  );
  program.command('internal-debug', { hidden: true }).description('not for users').option('--secret-flag', 'hidden too');
  program.command('mode').argument('<speed>', 'how fast').addOption(new Option('--hidden-opt').hideHelp());
  program.commands.find((c) => c.name() === 'mode')!.registeredArguments[0]!.choices(['fast', 'slow']);
  return program;
}

function man(program = demoProgram()): string {
  return renderMan(program, { name: 'demo', version: '1.2.3', seeAlso: ['xctl(1)', 'redis-cli(1)'] });
}

/** The body of one bash `case` branch of the generated spec function, e.g. for 'demo db'. */
function bashSpec(script: string, path: string): string {
  const start = script.indexOf(`    '${path}')\n`);
  expect(start, `no spec for ${path}`).toBeGreaterThanOrEqual(0);
  return script.slice(start, script.indexOf(';;', start));
}

describe('setExamples', () => {
  it('remembers the examples and shows them in --help', () => {
    const cmd = new Command('x');
    expect(setExamples(cmd, '  $ x run')).toBe(cmd);
    expect(examplesOf(cmd)).toBe('  $ x run');
    let help = '';
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    expect(help).toContain('Examples:\n  $ x run');
  });
});

describe('renderMan', () => {
  it('opens with .TH and the standard sections', () => {
    const page = man();
    expect(page).toMatch(/^\.\\" .*Do not edit\.\n\.TH DEMO 1 "" "demo 1\.2\.3" "User Commands"\n/);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'GLOBAL OPTIONS', 'COMMANDS', 'SEE ALSO']) {
      expect(page).toContain(`\n.SH ${section}\n`);
    }
    expect(page).toContain('demo \\- Demo client for the docgen tests.');
    expect(page).toContain('.BR xctl (1) ,\n.BR redis\\-cli (1)\n');
  });

  it('lists every visible command by its full path', () => {
    const page = man();
    for (const path of ['demo login', 'demo db', 'demo db ls', 'demo db connect', 'demo mode']) {
      expect(page).toContain(`.SS "${path}"`);
    }
    expect(page).toContain('Aliases: \\fBdatabase\\fR');
  });

  it('escapes hyphens in flags and shows defaults and choices', () => {
    const page = man();
    expect(page).toContain('\\fB\\-\\-proxy\\fR \\fI<addr>\\fR\nproxy address (default: "127.0.0.1:3080")');
    expect(page).toContain('\\fB\\-f\\fR, \\fB\\-\\-format\\fR \\fI<fmt>\\fR');
    expect(page).toContain('(choices: "text", "json", "yaml", default: "text")');
    expect(page).toContain('\\fB\\-d\\fR, \\fB\\-\\-debug\\fR'); // a global option
    expect(page).not.toMatch(/\\fB-/); // no unescaped flag anywhere
  });

  it('shows arguments and the examples given to setExamples', () => {
    const page = man();
    expect(page).toContain('.B demo db connect\n\\fI[options]\\fR \\fI<name>\\fR');
    expect(page).toContain('.TP\n\\fI<name>\\fR\ndatabase name');
    expect(page).toContain('Examples:\n.PP\n.RS 4\n.nf\n$ demo db connect cache\n$ demo db connect \\-\\-db\\-user=alice cache\n.fi\n.RE');
  });

  it('leaves out hidden commands and options', () => {
    const page = man();
    expect(page).not.toContain('internal');
    expect(page).not.toContain('secret');
    expect(page).not.toContain('hidden');
  });

  it('escapes roff control characters in text', () => {
    const program = new Command('esc').description('first line\n.dangerous request\n\'quoted\nback\\slash');
    const page = renderMan(program, { name: 'esc', version: '0' });
    expect(page).toContain('\n\\&.dangerous request\n');
    expect(page).toContain("\n\\&'quoted\n");
    expect(page).toContain('back\\eslash');
    expect(page.split('\n').filter((l) => /^[.']/.test(l) && !/^\.(\\"|TH|SH|SS|PP|TP|RS|RE|BR|B|nf|fi|br)( |$)/.test(l))).toEqual([]);
  });

  it('uses the section, date and summary it is given', () => {
    const page = renderMan(demoProgram(), { name: 'demo', version: '1.2.3', section: '8', date: '2025-01-31', description: 'short summary' });
    expect(page).toContain('.TH DEMO 8 "2025-01-31" "demo 1.2.3"');
    expect(page).toContain('.SH NAME\ndemo \\- short summary\n');
  });

  it('renders the same page twice', () => {
    expect(man()).toBe(man());
  });
});

describe('renderCompletion for bash', () => {
  const script = renderCompletion(demoProgram(), 'bash', 'demo');

  it('registers a completion function for the program', () => {
    expect(script).toContain('_demo_completions() {');
    expect(script.trimEnd().endsWith('complete -o default -F _demo_completions demo')).toBe(true);
  });

  it('knows the subcommands of every level, aliases included, hidden ones excluded', () => {
    expect(bashSpec(script, 'demo')).toContain("__demo_subs='database db login mode'");
    expect(bashSpec(script, 'demo db')).toContain("__demo_subs='connect ls'");
    expect(bashSpec(script, 'demo db ls')).toContain("__demo_subs=''");
    expect(script).toContain("'demo|db'|'demo|database') __demo_next='demo db' ;;");
    expect(script).not.toContain('internal-debug');
    expect(script).not.toContain('hidden-opt');
  });

  it("offers each command's flags with its parents' flags", () => {
    expect(bashSpec(script, 'demo login')).toContain("__demo_flags='--debug --help --proxy --version -V -d -h'");
    expect(bashSpec(script, 'demo login')).toContain("__demo_req='--proxy'");
    expect(bashSpec(script, 'demo db ls')).toContain("__demo_flags='--debug --format --help --version -V -d -f -h'");
  });

  it('completes declared choices of options and arguments', () => {
    expect(script).toContain("'demo db ls|-f'|'demo db ls|--format') __demo_vals='json text yaml' ;;");
    expect(script).toContain("'demo mode|#1') __demo_vals='fast slow' ;;");
  });

  it('renders the same script twice', () => {
    expect(renderCompletion(demoProgram(), 'bash', 'demo')).toBe(script);
  });
});

describe('renderCompletion for zsh', () => {
  const script = renderCompletion(demoProgram(), 'zsh', 'demo');

  it('is a #compdef script that works autoloaded or sourced', () => {
    expect(script.startsWith('#compdef demo\n')).toBe(true);
    expect(script).toContain('_demo() {');
    expect(script).toContain('compdef _demo demo');
  });

  it('describes subcommands and flags per level', () => {
    expect(script).toContain("__demo_subs=('connect:connect to a database' 'ls:list databases')");
    expect(script).toContain("'--format:output format (choices: \"text\", \"json\", \"yaml\", default: \"text\")'");
    expect(script).toContain("'demo db ls|-f'|'demo db ls|--format') __demo_vals=('json' 'text' 'yaml') ;;");
    expect(script).not.toContain('internal-debug');
  });

  it('renders the same script twice', () => {
    expect(renderCompletion(demoProgram(), 'zsh', 'demo')).toBe(script);
  });
});

describe('renderCompletion for fish', () => {
  const script = renderCompletion(demoProgram(), 'fish', 'demo');

  it('adds subcommands under a condition on the command path', () => {
    expect(script).toContain("complete -c demo -n '__demo_at \\'demo\\'' -f -a '\\'db\\'' -d 'database commands'");
    expect(script).toContain("complete -c demo -n '__demo_at \\'demo db\\'' -f -a '\\'connect\\'' -d 'connect to a database'");
    expect(script).toContain("case 'demo|db' 'demo|database'\n            echo 'demo db'");
  });

  it('adds flags with their choices', () => {
    expect(script).toContain(
      "complete -c demo -n '__demo_at \\'demo db ls\\'' -s 'f' -l 'format' -x -a '\\'json\\' \\'text\\' \\'yaml\\''",
    );
    expect(script).toContain("complete -c demo -n '__demo_at \\'demo login\\'' -l 'proxy' -r -d 'proxy address (default: \"127.0.0.1:3080\")'");
    expect(script).not.toContain('internal-debug');
  });

  it('renders the same script twice', () => {
    expect(renderCompletion(demoProgram(), 'fish', 'demo')).toBe(script);
  });
});
