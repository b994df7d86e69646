/**
 * docgen: man pages and shell completion scripts built from a commander tree.
 *
 * The commander tree that parses `xsh` and `xctl` is the single source of their documentation:
 * `scripts/gen-docs.js` renders `man/*.1` and `completions/*` with the functions here, and
 * `test/unit/docs-current.test.ts` checks that the committed files still match the tree.
 *
 * Pure: takes a `Command`, returns strings. No fs, no process, no clock (a date is passed in, so the
 * output is byte-for-byte reproducible). Imports only `commander`; it must not import cli/xsh or
 * cli/xctl (they import it) nor `CliContext`: the tree is all it needs.
 */
import type { Argument, Command, Help, Option } from 'commander';

// ─── Examples ────────────────────────────────────────────────────────────────────────────────────

// commander keeps `addHelpText` text inside an event listener, which cannot be read back, so the
// examples are also remembered here, keyed by the command object.
const EXAMPLES = new WeakMap<Command, string>();

/**
 * setExamples attaches example invocations to cmd: `--help` shows them after the usage under an
 * `Examples:` heading, and {@link renderMan} copies them into the man page. Returns cmd for chaining.
 */
export function setExamples(cmd: Command, text: string): Command {
  EXAMPLES.set(cmd, text);
  cmd.addHelpText('after', '\nExamples:\n' + text);
  return cmd;
}

/** examplesOf returns the text given to {@link setExamples} for cmd, if any. */
export function examplesOf(cmd: Command): string | undefined {
  return EXAMPLES.get(cmd);
}

// ─── Man page sections outside the tree ─────────────────────────────────────────────────────────

/** ManPageNotes are the ENVIRONMENT and EXIT STATUS entries of a program's man page: [term, meaning]. */
export interface ManPageNotes {
  environment?: readonly (readonly [string, string])[];
  exitStatus?: readonly (readonly [string, string])[];
}

const NOTES = new WeakMap<Command, ManPageNotes>();

/** setManNotes attaches ENVIRONMENT and EXIT STATUS entries to a program for {@link renderMan}. */
export function setManNotes(program: Command, notes: ManPageNotes): Command {
  NOTES.set(program, notes);
  return program;
}

/** EXIT_STATUS_NOTES are the exit codes both binaries share (the README's "Exit codes"). */
export const EXIT_STATUS_NOTES: readonly (readonly [string, string])[] = [
  ['0', 'Success.'],
  ['1', 'An error; the message says what happened and what to do (--debug adds causes and stacks).'],
  ['2', 'Usage error: an unknown flag, a missing or bad argument.'],
  ['4', 'Not logged in, or the certificate expired; the message gives the login command to run.'],
  ['130', 'Interrupted (Ctrl-C).'],
];

// ─── Reading the tree ───────────────────────────────────────────────────────────────────────────

// Compare by code unit, not localeCompare: the order must not depend on the machine's locale.
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The visible subcommands of cmd, without commander's implicit `help` command. */
function subcommandsOf(cmd: Command, help: Help): Command[] {
  // visibleCommands is the public way to drop hidden commands; it appends a placeholder for the
  // implicit help command, which is not in cmd.commands.
  return help.visibleCommands(cmd).filter((c) => cmd.commands.includes(c));
}

/** The visible options declared on cmd itself (no implicit help option). */
function ownOptionsOf(cmd: Command, help: Help): Option[] {
  return help.visibleOptions(cmd).filter((o) => cmd.options.includes(o));
}

function pathOf(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names;
}

function argumentTerm(arg: Argument): string {
  const name = arg.name() + (arg.variadic ? '...' : '');
  return arg.required ? `<${name}>` : `[${name}]`;
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').trim();
}

// ─── roff ───────────────────────────────────────────────────────────────────────────────────────

/**
 * Escapes running text: backslashes, and a `.` or `'` opening a line (roff would read the line as a
 * request). Words that look like flags (`--format`, `-f`) get `\-`, so they print as ASCII hyphens
 * that can be copied and searched.
 */
function roffText(s: string): string {
  return s
    .split('\n')
    .map((line) => {
      let out = line.trimEnd().replace(/\\/g, '\\e');
      out = out.replace(/(^|[\s([{"'`=])(--?[A-Za-z0-9][A-Za-z0-9-]*)/g, (_m, pre: string, flag: string) =>
        pre + flag.replace(/-/g, '\\-'),
      );
      return /^[.']/.test(out) ? '\\&' + out : out;
    })
    .join('\n');
}

/** Escapes literal text (flags, command lines, examples): every hyphen becomes `\-`. */
function roffCode(s: string): string {
  const out = s.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(out) ? '\\&' + out : out;
}

/** A macro argument: quoted, with inner double quotes spelled as `\(dq`. */
function roffArg(escaped: string): string {
  return '"' + escaped.replace(/"/g, '\\(dq') + '"';
}

/** Bold flag names, italic placeholders: `-f, --format <fmt>` → `\fB\-f\fR, \fB\-\-format\fR \fI<fmt>\fR`. */
function roffTerm(term: string): string {
  return term
    .split(/(\s+|,)/)
    .map((tok) => {
      if (tok === '' || /^(\s+|,)$/.test(tok)) return tok;
      if (tok.startsWith('-')) return `\\fB${roffCode(tok)}\\fR`;
      if (/^[<[]/.test(tok)) return `\\fI${roffCode(tok)}\\fR`;
      return roffCode(tok);
    })
    .join('');
}

/** Paragraphs of running text; blank lines become `.PP`. */
function roffParagraphs(text: string): string[] {
  const out: string[] = [];
  for (const para of text.trim().split(/\n\s*\n/)) {
    if (out.length > 0) out.push('.PP');
    out.push(roffText(para));
  }
  return out;
}

/** A block kept as typed (examples), with its common indentation removed. */
function roffLiteral(text: string): string[] {
  const lines = text.replace(/\s+$/, '').split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return ['.PP', '.RS 4', '.nf', ...lines.map((l) => roffCode(l.slice(cut).trimEnd())), '.fi', '.RE'];
}

function roffOptions(options: Option[], help: Help): string[] {
  const out: string[] = [];
  for (const o of options) {
    out.push('.TP', roffTerm(help.optionTerm(o)));
    const desc = help.optionDescription(o);
    if (desc) out.push(roffText(desc));
  }
  return out;
}

/** ManOptions describes the page around the command tree. */
export interface ManOptions {
  /** Program name as installed (`xsh`); the `.TH` title is its upper-case form. */
  name: string;
  /** Manual section, `1` unless told. */
  section?: string;
  /** Version printed in the footer (`xsh 0.1.0`). */
  version: string;
  /** Date printed in the footer; left empty unless given, so the output never depends on today. */
  date?: string;
  /** One-line summary for NAME; defaults to the first line of the program's description. */
  description?: string;
  /** Related pages, e.g. `xctl(1)`. */
  seeAlso?: string[];
}

const MANUALS: Record<string, string> = { '1': 'User Commands', '8': 'System Administration' };

/**
 * renderMan renders program as a roff man page: NAME, SYNOPSIS, DESCRIPTION, GLOBAL OPTIONS, then
 * COMMANDS with every visible command at every depth (its full path, usage, description,
 * arguments, options with defaults and choices, and the examples given to {@link setExamples}),
 * ENVIRONMENT and EXIT STATUS (from {@link setManNotes}), EXAMPLES for the program's own, and SEE ALSO. Hidden commands and options are left out.
 */
export function renderMan(program: Command, opts: ManOptions): string {
  const help = program.createHelp();
  const section = opts.section ?? '1';
  const summary = opts.description ?? firstLine(program.description());
  const lines: string[] = [
    '.\\" Generated from the commander tree by scripts/gen-docs.js (npm run gen:docs). Do not edit.',
    `.TH ${roffCode(opts.name.toUpperCase())} ${section} ${roffArg(opts.date ?? '')} ` +
      `${roffArg(roffCode(`${opts.name} ${opts.version}`))} ${roffArg(MANUALS[section] ?? '')}`,
    '.SH NAME',
    summary ? `${roffCode(opts.name)} \\- ${roffText(summary)}` : roffCode(opts.name),
    '.SH SYNOPSIS',
    `.B ${roffCode(opts.name)}`,
    roffTerm(program.usage()),
  ];
  const description = program.description();
  if (description.trim()) lines.push('.SH DESCRIPTION', ...roffParagraphs(description));

  const globals = help.visibleOptions(program);
  if (globals.length > 0) lines.push('.SH GLOBAL OPTIONS', ...roffOptions(globals, help));

  const commands: string[] = [];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of subcommandsOf(cmd, help)) {
      const subPath = [...path, sub.name()];
      commands.push(...renderManCommand(sub, subPath, help));
      walk(sub, subPath);
    }
  };
  walk(program, [opts.name]);
  if (commands.length > 0) lines.push('.SH COMMANDS', ...commands);

  const notes = NOTES.get(program);
  const entries = (list: readonly (readonly [string, string])[]) => list.flatMap(([term, text]) => ['.TP', `.B ${roffCode(term)}`, roffText(text)]);
  if (notes?.environment?.length) lines.push('.SH ENVIRONMENT', ...entries(notes.environment));
  if (notes?.exitStatus?.length) lines.push('.SH EXIT STATUS', ...entries(notes.exitStatus));

  const examples = examplesOf(program);
  if (examples) lines.push('.SH EXAMPLES', ...roffLiteral(examples).slice(1));

  if (opts.seeAlso && opts.seeAlso.length > 0) {
    lines.push('.SH SEE ALSO');
    opts.seeAlso.forEach((ref, i) => {
      const comma = i < opts.seeAlso!.length - 1 ? ' ,' : '';
      const m = /^(.+)\(([^)]+)\)$/.exec(ref);
      lines.push(m ? `.BR ${roffCode(m[1]!)} (${m[2]})${comma}` : roffText(ref) + comma.trim());
    });
  }
  return lines.join('\n') + '\n';
}

function renderManCommand(cmd: Command, path: string[], help: Help): string[] {
  const full = path.join(' ');
  const out = ['.SS ' + roffArg(roffCode(full)), `.B ${roffCode(full)}`, roffTerm(cmd.usage())];
  if (cmd.aliases().length > 0) out.push('.br', `Aliases: ${cmd.aliases().map((a) => `\\fB${roffCode(a)}\\fR`).join(', ')}`);
  const description = cmd.description();
  if (description.trim()) out.push('.PP', ...roffParagraphs(description));

  const args = cmd.registeredArguments;
  if (args.some((a) => a.description)) {
    out.push('.PP', 'Arguments:', '.RS 4');
    for (const a of args) {
      out.push('.TP', `\\fI${roffCode(argumentTerm(a))}\\fR`);
      const desc = help.argumentDescription(a);
      if (desc) out.push(roffText(desc));
    }
    out.push('.RE');
  }

  const options = ownOptionsOf(cmd, help);
  if (options.length > 0) out.push('.PP', 'Options:', '.RS 4', ...roffOptions(options, help), '.RE');

  const examples = examplesOf(cmd);
  if (examples) out.push('.PP', 'Examples:', ...roffLiteral(examples));
  return out;
}

// ─── Completion model ───────────────────────────────────────────────────────────────────────────

/** Shell names {@link renderCompletion} can write a script for. */
export type CompletionShell = 'bash' | 'zsh' | 'fish';

interface FlagSpec {
  names: string[]; // e.g. ['-f', '--format']
  value: 'none' | 'required' | 'optional';
  choices: readonly string[];
  description: string;
}

interface NodeSpec {
  path: string; // 'demo db ls'
  subcommands: { name: string; aliases: string[]; summary: string }[];
  flags: FlagSpec[];
  args: { choices: readonly string[]; variadic: boolean }[];
}

function flagSpec(o: Option, help: Help): FlagSpec {
  const names = [o.short, o.long].filter((n): n is string => typeof n === 'string');
  return {
    names,
    value: o.required ? 'required' : o.optional ? 'optional' : 'none',
    choices: [...(o.argChoices ?? [])].sort(byCodeUnit),
    description: firstLine(help.optionDescription(o)),
  };
}

/**
 * Flattens the tree into one spec per command path, subcommands and flags sorted. A command's
 * flags include its ancestors': commander reads a parent's options after a subcommand too (unless
 * the program enables positional options, which these scripts do not model).
 */
function completionNodes(program: Command, name: string): NodeSpec[] {
  const help = program.createHelp();
  const nodes: NodeSpec[] = [];
  const visit = (cmd: Command, path: string[], inherited: FlagSpec[]) => {
    const own = help.visibleOptions(cmd).map((o) => flagSpec(o, help));
    const seen = new Set(own.flatMap((f) => f.names));
    const flags = [...own, ...inherited.filter((f) => !f.names.some((n) => seen.has(n)))];
    flags.sort((a, b) => byCodeUnit(a.names.at(-1) ?? '', b.names.at(-1) ?? ''));
    const subs = [...subcommandsOf(cmd, help)].sort((a, b) => byCodeUnit(a.name(), b.name()));
    nodes.push({
      path: path.join(' '),
      subcommands: subs.map((s) => ({
        name: s.name(),
        aliases: [...s.aliases()].sort(byCodeUnit),
        summary: firstLine(s.summary() || s.description()),
      })),
      flags,
      args: cmd.registeredArguments.map((a) => ({
        choices: [...(a.argChoices ?? [])].sort(byCodeUnit),
        variadic: a.variadic,
      })),
    });
    const passDown = [...inherited, ...ownOptionsOf(cmd, help).map((o) => flagSpec(o, help))];
    for (const sub of subs) visit(sub, [...path, sub.name()], passDown);
  };
  visit(program, [name], []);
  return nodes;
}

/** Index (1-based) of a trailing variadic argument, which takes every operand from there on; 0 if none. */
function variadicIndex(node: NodeSpec): number {
  const last = node.args.at(-1);
  return last?.variadic ? node.args.length : 0;
}

/** POSIX shell single quotes (bash and zsh). */
function sq(s: string): string {
  return "'" + s.replace(/'/g, `'\\''`) + "'";
}

/** fish single quotes: only `\` and `'` are special inside them. */
function fq(s: string): string {
  return "'" + s.replace(/[\\']/g, (c) => '\\' + c) + "'";
}

/** A shell identifier derived from the program name (`xsh` → `xsh`, `my-tool` → `my_tool`). */
function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

const HEADER = 'generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.';

/**
 * renderCompletion writes a static completion script for shell: subcommand names at every depth,
 * the long and short flags of the command reached (its own and its parents'), the values of
 * options and arguments declared with `.choices()`, and file names where a value is free-form.
 */
export function renderCompletion(program: Command, shell: CompletionShell, name: string): string {
  const nodes = completionNodes(program, name);
  switch (shell) {
    case 'bash':
      return renderBash(nodes, name);
    case 'zsh':
      return renderZsh(nodes, name);
    case 'fish':
      return renderFish(nodes, name);
  }
}

/** `case` clauses mapping `path|word` to the path the word selects (bash and zsh share them). */
function stepClauses(nodes: NodeSpec[], v: string): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    for (const s of n.subcommands) {
      const keys = [s.name, ...s.aliases].map((w) => sq(`${n.path}|${w}`)).join('|');
      out.push(`    ${keys}) ${v}=${sq(`${n.path} ${s.name}`)} ;;`);
    }
  }
  return out;
}

/** `case` clauses mapping `path|flag` and `path|#N` to a fixed value list (bash and zsh). */
function valueClauses(nodes: NodeSpec[], assign: (words: readonly string[]) => string): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    for (const f of n.flags) {
      if (f.choices.length === 0) continue;
      out.push(`    ${f.names.map((fl) => sq(`${n.path}|${fl}`)).join('|')}) ${assign(f.choices)} ;;`);
    }
    n.args.forEach((a, i) => {
      if (a.choices.length > 0) out.push(`    ${sq(`${n.path}|#${i + 1}`)}) ${assign(a.choices)} ;;`);
    });
  }
  return out;
}

function valuedFlags(n: NodeSpec, kind: 'required' | 'optional'): string[] {
  return n.flags
    .filter((f) => f.value === kind)
    .flatMap((f) => f.names)
    .sort(byCodeUnit);
}

function renderBash(nodes: NodeSpec[], name: string): string {
  const id = ident(name);
  const v = (s: string) => `__${id}_${s}`;
  const lines = [
    `# bash completion for ${name}: ${HEADER}`,
    `# Install: source this file from ~/.bashrc, or copy it to /usr/share/bash-completion/completions/${name}.`,
    '',
    `# ${v('spec')} sets the subcommands, flags and value-taking flags of one command path.`,
    `${v('spec')}() {`,
    '  case "$1" in',
  ];
  for (const n of nodes) {
    lines.push(
      `    ${sq(n.path)})`,
      `      ${v('subs')}=${sq(n.subcommands.flatMap((s) => [s.name, ...s.aliases]).sort(byCodeUnit).join(' '))}`,
      `      ${v('flags')}=${sq(n.flags.flatMap((f) => f.names).sort(byCodeUnit).join(' '))}`,
      `      ${v('req')}=${sq(valuedFlags(n, 'required').join(' '))}`,
      `      ${v('opt')}=${sq(valuedFlags(n, 'optional').join(' '))}`,
      `      ${v('args')}=${n.args.length}`,
      `      ${v('last')}=${variadicIndex(n)}`,
      '      ;;',
    );
  }
  lines.push(
    `    *) ${v('subs')}='' ${v('flags')}='' ${v('req')}='' ${v('opt')}='' ${v('args')}=0 ${v('last')}=0 ;;`,
    '  esac',
    '}',
    '',
    `# ${v('step')} sets ${v('next')} to the path a word selects after a path, or fails.`,
    `${v('step')}() {`,
    '  case "$1|$2" in',
    ...stepClauses(nodes, v('next')),
    '    *) return 1 ;;',
    '  esac',
    '}',
    '',
    `# ${v('values')} sets ${v('vals')} to the fixed values of a flag ("path|--flag") or operand ("path|#N").`,
    `${v('values')}() {`,
    '  case "$1|$2" in',
    ...valueClauses(nodes, (ws) => `${v('vals')}=${sq(ws.join(' '))}`),
    '    *) return 1 ;;',
    '  esac',
    '}',
    '',
    `# _${id}_completions walks COMP_WORDS down the command tree, then completes the current word.`,
    `_${id}_completions() {`,
    `  local cur prev word p=${sq(name)} i=1 nargs=0 n end=0`,
    `  local ${['subs', 'flags', 'req', 'opt', 'args', 'last', 'next', 'vals'].map(v).join(' ')}`,
    '  COMPREPLY=()',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  # COMP_WORDBREAKS splits "--format=js" into "--format" "=" "js".',
    '  if [ "$cur" = "=" ]; then',
    '    cur=""',
    '  elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then',
    '    prev="${COMP_WORDS[COMP_CWORD-2]}"',
    '  fi',
    '  while [ "$i" -lt "$COMP_CWORD" ]; do',
    '    word="${COMP_WORDS[i]}"',
    `    ${v('spec')} "$p"`,
    '    if [ "$end" = 1 ]; then',
    '      nargs=$((nargs + 1))',
    '    else',
    '      case "$word" in',
    '        --) end=1 ;;',
    '        -*=*) ;;',
    '        -*)',
    `          if [[ " $${v('req')} $${v('opt')} " == *" $word "* ]]; then`,
    '            if [ "${COMP_WORDS[i+1]}" = "=" ]; then',
    '              i=$((i + 2))',
    `            elif [[ " $${v('req')} " == *" $word "* ]] || [[ "\${COMP_WORDS[i+1]}" != -* ]]; then`,
    '              i=$((i + 1))',
    '            fi',
    '          fi',
    '          ;;',
    '        *)',
    `          if ${v('step')} "$p" "$word"; then`,
    `            p="$${v('next')}"`,
    '            nargs=0',
    '          else',
    '            nargs=$((nargs + 1))',
    '          fi',
    '          ;;',
    '      esac',
    '    fi',
    '    i=$((i + 1))',
    '  done',
    `  ${v('spec')} "$p"`,
    `  if [ "$end" = 0 ] && [[ " $${v('req')} $${v('opt')} " == *" $prev "* ]]; then`,
    `    if ${v('values')} "$p" "$prev"; then`,
    `      COMPREPLY=($(compgen -W "$${v('vals')}" -- "$cur"))`,
    '      return 0',
    '    fi',
    '    # a free-form value: leave COMPREPLY empty so "-o default" offers file names',
    `    [[ " $${v('req')} " == *" $prev "* ]] && return 0`,
    '  fi',
    '  if [ "$end" = 0 ] && [[ "$cur" == -* ]]; then',
    `    COMPREPLY=($(compgen -W "$${v('flags')}" -- "$cur"))`,
    `  elif [ "$end" = 0 ] && [ -n "$${v('subs')}" ]; then`,
    `    COMPREPLY=($(compgen -W "$${v('subs')}" -- "$cur"))`,
    '  else',
    '    n=$((nargs + 1))',
    `    if [ "$${v('last')}" -gt 0 ] && [ "$n" -gt "$${v('last')}" ]; then n="$${v('last')}"; fi`,
    `    if ${v('values')} "$p" "#$n"; then`,
    `      COMPREPLY=($(compgen -W "$${v('vals')}" -- "$cur"))`,
    `    elif [ "$${v('last')}" = 0 ] && [ "$nargs" -ge "$${v('args')}" ]; then`,
    '      # every operand is there: no file names either (compopt needs bash 4)',
    '      compopt +o default 2>/dev/null',
    '    fi',
    '  fi',
    '  return 0',
    '}',
    '',
    `complete -o default -F _${id}_completions ${name}`,
  );
  return lines.join('\n') + '\n';
}

/** `name:description` entries for zsh's _describe; a colon in the name must be escaped. */
function describeEntry(word: string, description: string): string {
  return sq(word.replace(/:/g, '\\:') + (description ? ':' + description.replace(/\s+/g, ' ') : ''));
}

function renderZsh(nodes: NodeSpec[], name: string): string {
  const id = ident(name);
  const v = (s: string) => `__${id}_${s}`;
  const arr = (items: readonly string[]) => `(${items.join(' ')})`;
  const lines = [
    `#compdef ${name}`,
    `# zsh completion for ${name}: ${HEADER}`,
    `# Install: copy this file as _${name} into a directory on $fpath, or source it after compinit.`,
    '',
    `# ${v('spec')} fills the subcommands and flags (name:description) and the value-taking flags of one path.`,
    `${v('spec')}() {`,
    `  ${v('subs')}=() ${v('flags')}=() ${v('req')}=() ${v('opt')}=() ${v('args')}=0 ${v('last')}=0`,
    '  case "$1" in',
  ];
  for (const n of nodes) {
    const subs = n.subcommands.flatMap((s) => [s.name, ...s.aliases].map((w) => ({ w, d: s.summary })));
    subs.sort((a, b) => byCodeUnit(a.w, b.w));
    const flags = n.flags.flatMap((f) => f.names.map((w) => ({ w, d: f.description })));
    flags.sort((a, b) => byCodeUnit(a.w, b.w));
    lines.push(
      `    ${sq(n.path)})`,
      `      ${v('subs')}=${arr(subs.map((s) => describeEntry(s.w, s.d)))}`,
      `      ${v('flags')}=${arr(flags.map((f) => describeEntry(f.w, f.d)))}`,
      `      ${v('req')}=${arr(valuedFlags(n, 'required').map(sq))}`,
      `      ${v('opt')}=${arr(valuedFlags(n, 'optional').map(sq))}`,
      `      ${v('args')}=${n.args.length}`,
      `      ${v('last')}=${variadicIndex(n)}`,
      '      ;;',
    );
  }
  lines.push(
    '  esac',
    '}',
    '',
    `# ${v('step')} sets ${v('next')} to the path a word selects after a path, or fails.`,
    `${v('step')}() {`,
    '  case "$1|$2" in',
    ...stepClauses(nodes, v('next')),
    '    *) return 1 ;;',
    '  esac',
    '}',
    '',
    `# ${v('values')} sets ${v('vals')} to the fixed values of a flag ("path|--flag") or operand ("path|#N").`,
    `${v('values')}() {`,
    '  case "$1|$2" in',
    ...valueClauses(nodes, (ws) => `${v('vals')}=${arr(ws.map(sq))}`),
    '    *) return 1 ;;',
    '  esac',
    '}',
    '',
    `# _${id} walks $words down the command tree, then completes the current word.`,
    `_${id}() {`,
    // `path` is special in zsh (tied to $PATH), hence `p`.
    `  local p=${sq(name)} word cur prev flag ${v('next')} ${v('args')} ${v('last')}`,
    `  local -a ${['subs', 'flags', 'req', 'opt', 'vals'].map(v).join(' ')}`,
    '  integer i=2 nargs=0 n end=0',
    '  while (( i < CURRENT )); do',
    '    word=${words[i]}',
    `    ${v('spec')} "$p"`,
    '    if (( end )); then',
    '      nargs=$((nargs + 1))',
    '    else',
    '      case $word in',
    '        --) end=1 ;;',
    '        -*=*) ;;',
    '        -*)',
    `          if (( \${${v('req')}[(Ie)$word]} )); then`,
    '            i=$((i + 1))',
    `          elif (( \${${v('opt')}[(Ie)$word]} )) && [[ \${words[i+1]} != -* ]]; then`,
    '            i=$((i + 1))',
    '          fi',
    '          ;;',
    '        *)',
    `          if ${v('step')} "$p" "$word"; then`,
    `            p=$${v('next')}`,
    '            nargs=0',
    '          else',
    '            nargs=$((nargs + 1))',
    '          fi',
    '          ;;',
    '      esac',
    '    fi',
    '    i=$((i + 1))',
    '  done',
    `  ${v('spec')} "$p"`,
    '  cur=${words[CURRENT]}',
    '  prev=${words[CURRENT-1]}',
    '  if (( ! end )) && [[ $cur == -*=* ]]; then',
    '    flag=${cur%%=*}',
    "    compset -P '*='",
    `    if ${v('values')} "$p" "$flag"; then compadd -a ${v('vals')}; else _files; fi`,
    '    return',
    '  fi',
    `  if (( ! end && \${${v('req')}[(Ie)$prev]} + \${${v('opt')}[(Ie)$prev]} )); then`,
    `    if ${v('values')} "$p" "$prev"; then compadd -a ${v('vals')}; return; fi`,
    `    if (( \${${v('req')}[(Ie)$prev]} )); then _files; return; fi`,
    '  fi',
    '  if (( ! end )) && [[ $cur == -* ]]; then',
    `    _describe -t options 'option' ${v('flags')}`,
    `  elif (( ! end && \${#${v('subs')}} )); then`,
    `    _describe -t commands 'command' ${v('subs')}`,
    '  else',
    '    n=$((nargs + 1))',
    `    if (( ${v('last')} > 0 && n > ${v('last')} )); then n=$${v('last')}; fi`,
    `    if ${v('values')} "$p" "#$n"; then`,
    `      compadd -a ${v('vals')}`,
    `    elif (( ${v('last')} > 0 || nargs < ${v('args')} )); then`,
    '      _files',
    '    fi',
    '  fi',
    '}',
    '',
    // Autoloaded from $fpath, this file is the body of _name: define, then run. Sourced: register.
    `if [[ $funcstack[1] == _${id} ]]; then`,
    `  _${id} "$@"`,
    'else',
    `  compdef _${id} ${name}`,
    'fi',
  );
  return lines.join('\n') + '\n';
}

function renderFish(nodes: NodeSpec[], name: string): string {
  const id = ident(name);
  const fn = (s: string) => `__${id}_${s}`;
  const lines = [
    `# fish completion for ${name}: ${HEADER}`,
    `# Install: copy this file to ~/.config/fish/completions/${name}.fish.`,
    '',
    `function ${fn('step')} --description 'Print the command path a word selects after a path'`,
    '    switch "$argv[1]|$argv[2]"',
  ];
  for (const n of nodes) {
    for (const s of n.subcommands) {
      lines.push(`        case ${[s.name, ...s.aliases].map((w) => fq(`${n.path}|${w}`)).join(' ')}`);
      lines.push(`            echo ${fq(`${n.path} ${s.name}`)}`);
    }
  }
  lines.push(
    "        case '*'",
    '            return 1',
    '    end',
    'end',
    '',
    `function ${fn('takes_value')} --description 'Print required or optional when a flag of a path takes a value'`,
    '    switch "$argv[1]|$argv[2]"',
  );
  for (const kind of ['required', 'optional'] as const) {
    const keys = nodes.flatMap((n) => valuedFlags(n, kind).map((f) => fq(`${n.path}|${f}`)));
    if (keys.length > 0) lines.push(`        case ${keys.join(' ')}`, `            echo ${kind}`);
  }
  lines.push(
    "        case '*'",
    '            return 1',
    '    end',
    'end',
    '',
    `function ${fn('state')} --description 'Print the command path the command line has reached, then its operand count'`,
    '    set -l line (commandline -pc)',
    // Every `complete` condition asks for the state; walk the tokens once per command line.
    `    if test "$line" = "$${fn('state_line')}"`,
    `        printf '%s\\n' $${fn('state_value')}`,
    '        return',
    '    end',
    '    set -l tokens (commandline -opc)',
    '    set -e tokens[1]',
    `    set -l p ${fq(name)}`,
    '    set -l n 0',
    '    set -l end 0',
    '    set -l i 1',
    '    set -l next',
    '    set -l kind',
    '    while test $i -le (count $tokens)',
    '        set -l w $tokens[$i]',
    '        if test $end -eq 1',
    '            set n (math $n + 1)',
    '        else if test "$w" = --',
    '            set end 1',
    "        else if string match -q -- '-*=*' $w",
    '            # the value is attached',
    "        else if string match -q -- '-*' $w",
    `            set kind (${fn('takes_value')} $p $w)`,
    '            if test "$kind" = required',
    '                set i (math $i + 1)',
    '            else if test "$kind" = optional',
    '                set next $tokens[(math $i + 1)]',
    "                if test -n \"$next\"; and not string match -q -- '-*' $next",
    '                    set i (math $i + 1)',
    '                end',
    '            end',
    `        else if set next (${fn('step')} $p $w)`,
    '            set p $next',
    '            set n 0',
    '        else',
    '            set n (math $n + 1)',
    '        end',
    '        set i (math $i + 1)',
    '    end',
    `    set -g ${fn('state_line')} $line`,
    `    set -g ${fn('state_value')} $p $n`,
    "    printf '%s\\n' $p $n",
    'end',
    '',
    `function ${fn('at')} --description 'Succeed when the command line has reached a command path'`,
    `    set -l s (${fn('state')})`,
    '    test "$s[1]" = "$argv[1]"',
    'end',
    '',
    `function ${fn('operand')} --description 'Succeed when the current word is operand N (or later, for a variadic one) of a path'`,
    `    set -l s (${fn('state')})`,
    '    test "$s[1]" = "$argv[1]"; or return 1',
    '    set -l k (math $s[2] + 1)',
    '    test $k -eq $argv[2]; or begin; test "$argv[3]" = variadic; and test $k -ge $argv[2]; end',
    'end',
    '',
  );
  for (const n of nodes) {
    const at = fq(`${fn('at')} ${fq(n.path)}`);
    lines.push(`# ${n.path}`);
    // No file names where a subcommand is expected or the command takes no operands.
    if (n.subcommands.length > 0 || n.args.length === 0) lines.push(`complete -c ${name} -n ${at} -f`);
    for (const s of n.subcommands) {
      for (const w of [s.name, ...s.aliases]) {
        lines.push(`complete -c ${name} -n ${at} -f -a ${fq(fq(w))}` + (s.summary ? ` -d ${fq(s.summary)}` : ''));
      }
    }
    for (const f of n.flags) {
      const parts = [`complete -c ${name} -n ${at}`];
      for (const flag of f.names) {
        if (flag.startsWith('--')) parts.push(`-l ${fq(flag.slice(2))}`);
        else if (flag.length === 2) parts.push(`-s ${fq(flag.slice(1))}`);
        else parts.push(`-o ${fq(flag.slice(1))}`);
      }
      if (f.choices.length > 0) parts.push(`-x -a ${fq(f.choices.map(fq).join(' '))}`);
      else if (f.value === 'required') parts.push('-r');
      if (f.description) parts.push(`-d ${fq(f.description)}`);
      lines.push(parts.join(' '));
    }
    n.args.forEach((a, i) => {
      if (a.choices.length === 0) return;
      const cond = fq(`${fn('operand')} ${fq(n.path)} ${i + 1}${a.variadic ? ' variadic' : ''}`);
      lines.push(`complete -c ${name} -n ${cond} -f -a ${fq(a.choices.map(fq).join(' '))}`);
    });
  }
  return lines.join('\n') + '\n';
}
