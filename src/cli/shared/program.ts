/**
 * cli/shared/program: what both binaries' entry points share — commander wiring to our streams
 * and error reporting, and small option parsers.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ExitCode } from '../../errors.js';
import type { CliContext } from './context.js';
import { reportError } from './errors.js';

/** runProgram parses argv with program and maps the outcome to an exit code. */
export async function runProgram(ctx: CliContext, program: Command, argv: string[]): Promise<number> {
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => ctx.io.stdout.write(s),
    writeErr: (s) => ctx.io.stderr.write(s),
    outputError: (s, write) => write(s.replace(/^error:/, 'ERROR:')),
  });
  // Subcommands inherit the override and output settings.
  const walk = (c: Command) => {
    c.exitOverride();
    c.configureOutput(program.configureOutput());
    c.commands.forEach(walk);
  };
  program.commands.forEach(walk);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof ctx.exitCode === 'number' ? ctx.exitCode : ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode !== 0 && err.code !== 'commander.helpDisplayed' && err.code !== 'commander.version') {
      return ExitCode.USAGE;
    }
    if ((err as { interrupted?: boolean }).interrupted) return ExitCode.INTERRUPTED;
    return reportError(ctx, err);
  }
}

/** commaList parses `a,b,c` into a list without empty items. */
export function commaList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** labelMap parses `k=v,k2=v2`. */
export function labelMap(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of commaList(v)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`labels must look like key=value, got "${part}"`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}
